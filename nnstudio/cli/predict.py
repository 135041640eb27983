"""``nnstudio evaluate`` and ``nnstudio predict``: use a saved model on a dataset or on files."""

from __future__ import annotations

import argparse
import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

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
    preprocessing = bundle.preprocessing or {}
    if "method" in preprocessing:  # a bare scaling dict, as engine.io's docstring shows
        return preprocessing
    return preprocessing.get("scaling") or {"method": "none"}


def _unscale(x: np.ndarray, scaling: dict) -> np.ndarray:
    """Undo a scaling dict (the inverse of data.dataset.apply_scaling)."""
    method = scaling.get("method", "none")
    if method == "none":
        return x
    shape = (1, -1) + (1,) * (x.ndim - 2) if x.ndim > 2 else (1, -1)
    if method == "standardize":
        scale, offset = scaling["std"], scaling["mean"]
    else:
        offset = np.asarray(scaling["min"])
        scale = np.asarray(scaling["max"]) - offset
    scale = np.asarray(scale, dtype=x.dtype).reshape(shape)
    return x * scale + np.asarray(offset, dtype=x.dtype).reshape(shape)


def _same_scaling(a: dict, b: dict) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, np.ndarray):
        value = value.item()
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


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


def _fit_inputs(x: np.ndarray, dataset, bundle, model_path: str) -> np.ndarray:
    """The dataset's inputs as the model was trained on them: shape check, and the model's own
    scaling when it differs from the one fitted on this dataset."""
    shape = _model_input_shape(bundle)
    if tuple(dataset.input_shape) != shape:
        raise InputError(
            f"{model_path} takes inputs of shape {shape} but dataset "
            f"{dataset.name!r} has {tuple(dataset.input_shape)}"
        )
    model_scaling = _scaling(bundle)
    if _same_scaling(model_scaling, dataset.scaling):
        return x
    from nnstudio.data.dataset import apply_scaling

    return apply_scaling(_unscale(x, dataset.scaling), model_scaling)


def _check_classes(bundle, dataset, model_path: str) -> None:
    if dataset.task != "classification":
        return
    outputs = int(np.prod(bundle.model.output_shape))
    binary = bundle.loss == "binary_crossentropy" and dataset.n_classes == 2
    if outputs != (1 if binary else dataset.n_classes):
        raise InputError(
            f"{model_path} has {outputs} outputs but dataset {dataset.name!r} has "
            f"{dataset.n_classes} classes"
        )


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
    from nnstudio.engine.losses import get_loss
    from nnstudio.engine.metrics import evaluate

    bundle = load_model(args.model)
    dataset = _dataset_for(args, bundle)
    x, y = _split(dataset, args.split)
    x = _fit_inputs(x, dataset, bundle, args.model)
    _check_classes(bundle, dataset, args.model)
    loss = get_loss(bundle.loss)
    report = evaluate(bundle.model, loss, x, y)
    if dataset.task == "classification" and dataset.class_names:
        report["class_names"] = list(dataset.class_names)
    if args.json:
        header = {
            "model": str(args.model),
            "dataset": dataset.name,
            "split": args.split,
            "samples": len(x),
        }
        print(json.dumps(_plain({**header, **report}), allow_nan=False))
    else:
        print(_report_text(report, dataset, args.split, args.model, len(x)))
    return EXIT_OK


# -- predict: reading inputs --------------------------------------------------------------------


def _load_qimage(path: Path):
    from PySide6.QtGui import QImage

    image = QImage(str(path))
    if image.isNull():
        raise InputError(f"{path}: not an image Qt can read (use PNG or JPG)")
    return image


def _scaled(image, height: int | None, width: int | None):
    if height is None or (image.height(), image.width()) == (height, width):
        return image
    from PySide6.QtCore import Qt

    return image.scaled(
        width,
        height,
        Qt.AspectRatioMode.IgnoreAspectRatio,
        Qt.TransformationMode.SmoothTransformation,
    )


def read_image_gray(path: Path, height: int | None = None, width: int | None = None):
    """A PNG/JPG as float32 (H, W) grey levels in [0, 1] (resized when a size is given),
    through Qt's QImage, which reads files without a display or a QApplication."""
    from PySide6.QtGui import QImage

    image = _scaled(_load_qimage(path), height, width)
    return _qimage_to_array(image.convertToFormat(QImage.Format.Format_Grayscale8))[..., 0]


def read_image_rgb(path: Path, height: int, width: int) -> np.ndarray:
    """An image resized to (height, width) as float32 (3, H, W) in [0, 1]."""
    from PySide6.QtGui import QImage

    image = _scaled(_load_qimage(path), height, width)
    rgb = _qimage_to_array(image.convertToFormat(QImage.Format.Format_RGB888))
    return np.ascontiguousarray(rgb.transpose(2, 0, 1))


def _qimage_to_array(image) -> np.ndarray:
    height, width = image.height(), image.width()
    channels = image.depth() // 8
    # Rows are padded to 4 bytes: read bytesPerLine and cut the padding off.
    raw = np.frombuffer(image.constBits(), dtype=np.uint8, count=image.sizeInBytes())
    rows = raw.reshape(height, image.bytesPerLine())[:, : width * channels]
    return rows.reshape(height, width, channels).astype(np.float32) / 255.0


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
    if probabilities.shape[1] == 1:  # one sigmoid output: probability of class 1
        p = probabilities[:, 0]
        probabilities = np.stack([1.0 - p, p], axis=1)
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
    from nnstudio.data.dataset import apply_scaling
    from nnstudio.engine.io import load_model
    from nnstudio.engine.losses import get_loss

    bundle = load_model(args.model)
    x, labels = collect_inputs(args.files, bundle)
    x = apply_scaling(x, _scaling(bundle))
    loss = get_loss(bundle.loss)
    outputs = loss.output_activation(bundle.model.predict(x))
    if loss.task != "classification":
        for label, values in zip(labels, np.atleast_2d(outputs), strict=True):
            record = {"input": label, "prediction": [float(v) for v in np.ravel(values)]}
            print(
                json.dumps(_plain(record))
                if args.json
                else f"{label}: {', '.join(f'{v:.6g}' for v in record['prediction'])}"
            )
        return EXIT_OK
    for label, row in zip(labels, _classification_rows(bundle, outputs, args.top), strict=True):
        if args.json:
            print(json.dumps(_plain({"input": label, **row})))
            continue
        others = ", ".join(f"{r['class']} {100 * r['probability']:.1f}%" for r in row["top"][1:])
        print(
            f"{label}: {row['class']} ({100 * row['probability']:.1f}%)"
            + (f"  then {others}" if others else "")
        )
    return EXIT_OK
