"""``nnstudio evaluate`` and ``nnstudio predict``: use a saved model on a dataset or on files."""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np

from nnstudio.data.preprocessing import apply_scaling, saved_scaling, undo_scaling
from nnstudio.engine.io import json_plain

EXIT_OK = 0
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".pgm", ".ppm"}


class InputError(ValueError):
    """A file given to predict/evaluate that cannot be used; says which and why."""


# -- shared -------------------------------------------------------------------------------------


def _model_input_shape(bundle) -> tuple[int, ...]:
    shape = getattr(bundle.model, "input_shape", None)
    if shape is None:
        shape = (bundle.preprocessing or {}).get("input_shape")
    if shape is None:
        raise InputError("the model file does not record its input shape; save it again")
    return tuple(int(n) for n in shape)


def _scaling(bundle) -> dict:
    return saved_scaling(bundle.preprocessing)


def _same_scaling(a: dict, b: dict) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


# -- evaluate -----------------------------------------------------------------------------------


def _dataset_for(args: argparse.Namespace, bundle):
    from nnstudio.data.catalog import load_dataset

    recorded = (bundle.metadata or {}).get("dataset") or {}
    name = args.dataset or recorded.get("name")
    if not name:
        raise InputError(
            f"{args.model} does not say which dataset it was trained on; give --dataset NAME"
        )
    options = dict(recorded.get("options") or {}) if name == recorded.get("name") else {}
    for key in ("samples", "noise", "classes", "target", "columns"):
        if getattr(args, key, None) is not None:
            options[key] = getattr(args, key)
    from nnstudio.cli.train import load_with_hint

    return load_with_hint(load_dataset, name=name, download=args.download, **options)


def _split(dataset, split: str) -> tuple[np.ndarray, np.ndarray]:
    x, y = getattr(dataset, f"x_{split}"), getattr(dataset, f"y_{split}")
    if not len(x):
        raise InputError(
            f"dataset {dataset.name!r} has an empty {split} split; pick another with --split"
        )
    return x, y


def _check_fits(bundle, dataset, model_path: str) -> None:
    """The model's input shape, loss and outputs against the dataset, as the Evaluate tab
    checks them."""
    from nnstudio.project.evaluation import fit_problem

    _model_input_shape(bundle)  # a model file without its input shape cannot be checked
    problem = fit_problem(bundle.model, bundle.loss, dataset)
    if problem is not None:
        raise InputError(f"{model_path} {problem[0]}")


def _fit_inputs(x: np.ndarray, dataset, bundle) -> np.ndarray:
    """The dataset's inputs as the model was trained on them: the model's own scaling when it
    differs from the one fitted on this dataset."""
    model_scaling = _scaling(bundle)
    if _same_scaling(model_scaling, dataset.scaling):
        return x
    return apply_scaling(undo_scaling(x, dataset.scaling), model_scaling)


def _report_text(report: dict, dataset, split: str, model_path: str, samples: int) -> str:
    lines = [f"{model_path} on {dataset.name} ({split} split, {samples} samples)"]
    if "accuracy" not in report:
        lines.append(
            "  ".join(
                f"{k} {report[k]:.4g}"
                for k in ("loss", "mse", "rmse", "mae", "r2")
                if report.get(k) is not None
            )
        )
        return "\n".join(lines)
    lines.append(
        f"loss {report.get('loss', float('nan')):.4f}  accuracy {100 * report['accuracy']:.2f}%"
    )
    names = dataset.class_names or [str(i) for i in range(dataset.n_classes)]
    width = max(len("weighted avg"), *(len(n) for n in names))
    lines.append(f"{'class':<{width}}  precision  recall     f1  support")
    for row, name in zip(report["per_class"], names, strict=False):
        lines.append(
            f"{name:<{width}}  {row['precision']:9.4f}  {row['recall']:6.4f}  "
            f"{row['f1']:.4f}  {row['support']:7d}"
        )
    for label in ("macro", "weighted"):
        avg = report[label]
        lines.append(
            f"{label + ' avg':<{width}}  {avg['precision']:9.4f}  {avg['recall']:6.4f}  "
            f"{avg['f1']:.4f}"
        )
    lines.append("confusion matrix (rows: true class, columns: predicted class)")
    matrix = report["confusion_matrix"]
    biggest = max((max(row) for row in matrix), default=0)
    cell = max(5, len(str(biggest)) + 2, *(len(n) + 2 for n in names))
    lines.append(" " * width + "".join(f"{n:>{cell}}" for n in names))
    for name, row in zip(names, matrix, strict=False):
        lines.append(f"{name:<{width}}" + "".join(f"{v:>{cell}}" for v in row))
    return "\n".join(lines)


def run_evaluate(args: argparse.Namespace) -> int:
    from nnstudio.engine.io import load_model
    from nnstudio.project.evaluation import evaluate

    bundle = load_model(args.model)
    dataset = _dataset_for(args, bundle)
    x, y = _split(dataset, args.split)
    _check_fits(bundle, dataset, args.model)
    x = _fit_inputs(x, dataset, bundle)
    report = evaluate(bundle.model, bundle.loss, x, y)["report"]
    if dataset.task == "classification" and dataset.class_names:
        report["class_names"] = list(dataset.class_names)
    if args.json:
        header = {
            "model": str(args.model),
            "dataset": dataset.name,
            "split": args.split,
            "samples": len(x),
        }
        print(json.dumps(json_plain({**header, **report}), allow_nan=False))
    else:
        print(_report_text(report, dataset, args.split, args.model, len(x)))
    return EXIT_OK


# -- predict: reading inputs --------------------------------------------------------------------


def _open_image(path: Path):
    """The image in ``path`` through Pillow (no Qt: the command line runs without it)."""
    from PIL import Image, UnidentifiedImageError

    try:
        # Decoded whole while the file is open (a truncated file fails here), so the file is
        # closed whatever happens; the pixels stay in memory.
        with open(path, "rb") as file:
            image = Image.open(file)
            image.load()
    except Image.DecompressionBombError:
        raise InputError(f"{path}: the image is too large to read") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise InputError(f"{path}: not an image nnstudio can read (use PNG or JPG)") from None
    return image


def _resized(image, height: int | None, width: int | None):
    """``image`` at (height, width). Bilinear when it grows and a Hamming window when it
    shrinks: of Pillow's filters, the ones closest to the smooth scaling of Qt's QImage that
    earlier versions used, so models see the same inputs as before."""
    if height is None or (image.height, image.width) == (height, width):
        return image
    from PIL import Image

    shrinks = height < image.height or width < image.width
    method = Image.Resampling.HAMMING if shrinks else Image.Resampling.BILINEAR
    return image.resize((width, height), method)


def _luminance(rgb: np.ndarray) -> np.ndarray:
    """Grey levels of 8-bit sRGB colours (H, W, 3) in [0, 1]: the luminance of the linear
    values, encoded back to sRGB and rounded to 8 bits, as QImage's Grayscale8 conversion does
    (a weighted sum of the encoded values would darken saturated colours)."""
    values = rgb.astype(np.float64) / 255.0
    linear = np.where(values <= 0.04045, values / 12.92, ((values + 0.055) / 1.055) ** 2.4)
    y = linear @ np.array([0.2126, 0.7152, 0.0722])
    encoded = np.where(y <= 0.0031308, 12.92 * y, 1.055 * y ** (1 / 2.4) - 0.055)
    return (np.round(encoded * 255.0) / 255.0).astype(np.float32)


def _gray_levels(image, height: int | None, width: int | None) -> np.ndarray:
    """(H, W) float32 grey levels in [0, 1]; 16-bit grey images keep their precision."""
    if image.mode.startswith("I"):  # 16-bit grey ("I;16", or "I" in some Pillow versions)
        return np.asarray(_resized(image.convert("F"), height, width), np.float32) / 65535.0
    if image.mode in ("1", "L", "LA"):
        gray = _resized(image.convert("L"), height, width)
        return np.asarray(gray, np.float32) / 255.0
    return _luminance(np.asarray(_resized(image.convert("RGB"), height, width)))


def read_image_gray(path: Path, height: int | None = None, width: int | None = None):
    """A PNG/JPG/BMP/GIF/PGM/PPM as float32 (H, W) grey levels in [0, 1] (resized when a size
    is given). Transparency is ignored, as the colour values are read."""
    return _gray_levels(_open_image(path), height, width)


def read_image_rgb(path: Path, height: int, width: int) -> np.ndarray:
    """An image resized to (height, width) as float32 (3, H, W) in [0, 1]."""
    image = _open_image(path)
    if image.mode.startswith("I"):  # 16-bit grey: Pillow's RGB conversion would clip it
        return np.repeat(_gray_levels(image, height, width)[None], 3, axis=0)
    rgb = np.asarray(_resized(image.convert("RGB"), height, width), np.float32) / 255.0
    return np.ascontiguousarray(rgb.transpose(2, 0, 1))


def _as_ink(gray: np.ndarray) -> np.ndarray:
    """MNIST digits are light ink on black; a scan or drawing is usually dark on white. The
    border tells the background: a light border means dark ink, so invert."""
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    return 1.0 - gray if float(np.median(border)) > 0.5 else gray


def _prepare_digit(path: Path, gray: np.ndarray) -> np.ndarray:
    """The drawing canvas's MNIST-style preparation: crop to the ink, 20 px box, centre of
    mass at the centre."""
    from nnstudio.data.digits import prepare_drawing

    digit = prepare_drawing(_as_ink(gray))
    if digit is None:
        raise InputError(f"{path}: the image is blank (no digit found)")
    return digit


def image_input(path: Path, shape: tuple[int, ...]) -> np.ndarray:
    """One image file as one model input of `shape` (channels, height, width)."""
    if len(shape) != 3 or shape[0] not in (1, 3):
        raise InputError(
            f"{path}: the model takes inputs of shape {shape}, not images; give CSV rows instead"
        )
    channels, height, width = shape
    if channels == 3:
        return read_image_rgb(path, height, width)
    if (height, width) == (28, 28):
        # A digit model: the same MNIST-style preparation as the drawing canvas.
        return _prepare_digit(path, read_image_gray(path))[None]
    return read_image_gray(path, height, width)[None]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def csv_inputs(path: Path, bundle) -> tuple[np.ndarray, list[str]]:
    """Rows of a CSV file as model inputs, with labels "file:line" for the output. A header row
    is optional; with one, the model's feature columns are picked by name."""
    shape = _model_input_shape(bundle)
    encoding = (bundle.preprocessing or {}).get("encoding")
    if encoding:
        # A model trained on a CSV file: encode the new rows exactly as its training rows
        # (column order, categories one-hot, fill values).
        from nnstudio.data.tabular import read_csv_features

        x = read_csv_features(path, encoding)
        return x.reshape((len(x), *shape)), [f"{path} row {i}" for i in range(1, len(x) + 1)]
    n_features = int(np.prod(shape))
    try:
        with open(path, newline="", encoding="utf-8-sig") as file:
            rows = [row for row in csv.reader(file) if any(cell.strip() for cell in row)]
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: cannot read the file ({error})") from None
    if not rows:
        raise InputError(f"{path}: the file has no rows")
    first_line = 1
    columns = None
    if not any(_is_number(cell) for cell in rows[0]):  # a header: names, no numbers
        header, rows, first_line = [c.strip() for c in rows[0]], rows[1:], 2
        columns = _pick_columns(path, header, bundle, n_features)
        if not rows:
            raise InputError(f"{path}: a header line but no rows to predict")
    values, labels = [], []
    for offset, row in enumerate(rows):
        line = first_line + offset
        cells = [row[i] for i in columns] if columns is not None else row
        if len(cells) != n_features:
            raise InputError(
                f"{path} line {line}: {len(cells)} values, the model needs {n_features}"
            )
        for column, cell in enumerate(cells, start=1):
            if not _is_number(cell):
                raise InputError(f"{path} line {line}, column {column}: {cell!r} is not a number")
        values.append([float(cell) for cell in cells])
        labels.append(f"{path}:{line}")
    x = np.asarray(values, dtype=np.float32).reshape((len(values), *shape))
    return x, labels


def _pick_columns(path: Path, header: list[str], bundle, n_features: int) -> list[int] | None:
    names = (bundle.preprocessing or {}).get("feature_names")
    if names and all(name in header for name in names):
        return [header.index(name) for name in names]
    if len(header) == n_features:
        return None
    wanted = ", ".join(names) if names else f"{n_features} numeric columns"
    raise InputError(f"{path}: the header does not have the model's features ({wanted})")


def collect_inputs(files: list[str], bundle) -> tuple[np.ndarray, list[str]]:
    shape = _model_input_shape(bundle)
    batches, labels = [], []
    for name in files:
        path = Path(name)
        if not path.is_file():
            raise InputError(f"{path}: no such file")
        suffix = path.suffix.lower()
        if suffix == ".csv":
            x, row_labels = csv_inputs(path, bundle)
            batches.append(x)
            labels += row_labels
        elif suffix in IMAGE_SUFFIXES:
            batches.append(image_input(path, shape)[None])
            labels.append(str(path))
        else:
            raise InputError(f"{path}: unknown kind of file; give PNG/JPG images or CSV rows")
    return np.concatenate(batches).astype(np.float32), labels


# -- predict: output ----------------------------------------------------------------------------


def _class_name(bundle, index: int) -> str:
    names = bundle.class_names
    return str(names[index]) if names and index < len(names) else str(index)


def _classification_rows(bundle, probabilities: np.ndarray, top: int) -> list[dict]:
    rows = []
    for probs in probabilities:
        order = np.argsort(-probs, kind="stable")[:top]
        ranked = [
            {"class": _class_name(bundle, int(i)), "index": int(i), "probability": float(probs[i])}
            for i in order
        ]
        rows.append({**ranked[0], "top": ranked})
    return rows


def run_predict(args: argparse.Namespace) -> int:
    from nnstudio.engine.io import load_model
    from nnstudio.engine.losses import get_loss
    from nnstudio.engine.metrics import class_probabilities

    bundle = load_model(args.model)
    x, labels = collect_inputs(args.files, bundle)
    x = apply_scaling(x, _scaling(bundle))
    loss = get_loss(bundle.loss)
    outputs = bundle.model.predict(x)
    if loss.task != "classification":
        predictions = loss.output_activation(outputs)
        for label, values in zip(labels, np.atleast_2d(predictions), strict=True):
            record = {"input": label, "prediction": [float(v) for v in np.ravel(values)]}
            print(
                json.dumps(json_plain(record))
                if args.json
                else f"{label}: {', '.join(f'{v:.6g}' for v in record['prediction'])}"
            )
        return EXIT_OK
    probabilities = class_probabilities(outputs, loss)
    for label, row in zip(
        labels, _classification_rows(bundle, probabilities, args.top), strict=True
    ):
        if args.json:
            print(json.dumps(json_plain({"input": label, **row})))
            continue
        others = ", ".join(f"{r['class']} {100 * r['probability']:.1f}%" for r in row["top"][1:])
        print(
            f"{label}: {row['class']} ({100 * row['probability']:.1f}%)"
            + (f"  then {others}" if others else "")
        )
    return EXIT_OK
