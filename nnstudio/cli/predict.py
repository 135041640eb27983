"""``nnstudio evaluate`` and ``nnstudio predict``: use a saved model on a dataset or on files."""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
from pathlib import Path

import numpy as np

from nnstudio.cli.images import (  # re-exported: the image readers moved there
    IMAGE_SUFFIXES,
    InputError,
    image_input,
    read_image_gray,
    read_image_rgb,
)
from nnstudio.data.catalog import FILE_PREFIXES
from nnstudio.data.preprocessing import apply_scaling, saved_scaling, undo_scaling
from nnstudio.engine.io import json_plain
from nnstudio.safe_read import FileReadError, check_file, open_file, shorten

# Inputs are float32: a larger value would turn infinite and every output NaN.
FLOAT32_MAX = float(np.finfo(np.float32).max)

EXIT_OK = 0

__all__ = ["InputError", "csv_inputs", "image_input", "read_image_gray", "read_image_rgb"]


# -- shared -------------------------------------------------------------------------------------


def _model_input_shape(bundle) -> tuple[int, ...]:
    shape = getattr(bundle.model, "input_shape", None)
    if shape is None:
        shape = (bundle.preprocessing or {}).get("input_shape")
    if shape is None:
        raise InputError("the model file does not record its input shape; save it again")
    return tuple(int(n) for n in shape)


_SCALING_KEYS = {"none": (), "standardize": ("mean", "std"), "minmax": ("min", "max")}


def _scaling_problem(scaling) -> str | None:
    if not isinstance(scaling, dict) or scaling.get("method", "none") not in _SCALING_KEYS:
        return "has an unknown method"
    keys = _SCALING_KEYS[scaling.get("method", "none")]
    arrays = []
    for key in keys:
        try:
            arrays.append(np.asarray(scaling[key], dtype=np.float64))
        except (KeyError, TypeError, ValueError):
            return f"has no list of numbers {key!r}"
        if arrays[-1].ndim > 1 or not np.isfinite(arrays[-1]).all():
            return f"{key!r} is not a list of finite numbers"
    if arrays and (arrays[0].shape != arrays[1].shape):
        return "has lists of different lengths"
    divisor = arrays[1] if keys == ("mean", "std") else arrays[1] - arrays[0] if arrays else None
    if divisor is not None and not (np.abs(divisor) > 0).all():
        return "would divide by zero"
    return None


def _scaling_width_problem(scaling: dict, model) -> str | None:
    """Statistics per feature (per channel for images) must match the model's inputs, else
    scaling fails as "operands could not be broadcast"."""
    keys = _SCALING_KEYS[scaling.get("method", "none")]
    if not keys:
        return None
    size = np.asarray(scaling[keys[0]]).size
    width = int(tuple(model.input_shape)[0])
    if size in (1, width):
        return None
    return f"has {size} values per statistic for a model whose inputs have {width}"


def _scaling(bundle) -> dict:
    """The model's scaling statistics, checked: a damaged file is one clear line, not a
    KeyError or a division by zero while predicting."""
    scaling = saved_scaling(bundle.preprocessing)
    problem = _scaling_problem(scaling) or _scaling_width_problem(scaling, bundle.model)
    if problem:
        raise InputError(
            f"{bundle.path}: its preprocessing scaling {problem}; the file is damaged. "
            "Save the model again."
        )
    return scaling


def _same_scaling(a: dict, b: dict) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


# -- evaluate -----------------------------------------------------------------------------------


def _recorded_dataset(args, bundle) -> tuple[str | None, dict]:
    """(name, options) the model's metadata records, checked: wrong types are refused naming
    the field, unknown options are dropped."""
    recorded = (bundle.metadata or {}).get("dataset") or {}
    if not isinstance(recorded, dict):
        raise InputError(f"{args.model}: metadata.dataset must be an object; give --dataset NAME")
    name, options = recorded.get("name"), recorded.get("options") or {}
    if name is not None and not isinstance(name, str):
        raise InputError(f"{args.model}: metadata.dataset.name is not a name; give --dataset")
    if not isinstance(options, dict):
        raise InputError(f"{args.model}: metadata.dataset.options must be an object")
    from nnstudio.project.settings import DATASET_OPTION_NAMES, check_dataset_options

    known = {k: v for k, v in options.items() if k in DATASET_OPTION_NAMES and v is not None}
    try:  # the ranges a project file has: samples=10**12 in a model file is never tried
        return name, check_dataset_options(known, "metadata.dataset.options.")
    except ValueError as error:
        raise InputError(
            f"{args.model}: {shorten(str(error), 120)}; give the dataset's options yourself"
        ) from None


def _dataset_for(args: argparse.Namespace, bundle):
    """The dataset to evaluate on. Only the user's arguments choose a file: a model file
    that names one (csv:/etc/shadow) is not followed — that would let a downloaded model read
    any local file and echo it in an error."""
    from nnstudio.data.catalog import load_dataset

    recorded, recorded_options = _recorded_dataset(args, bundle)
    name = args.dataset or recorded
    if not name:
        raise InputError(
            f"{args.model} does not say which dataset it was trained on; give --dataset NAME"
        )
    if args.dataset is None and name.lower().startswith(FILE_PREFIXES):
        raise InputError(
            f"{args.model} was trained on the file {shorten(name, 80)}; nnstudio reads only "
            f"files you name: give --dataset {name.split(':', 1)[0]}:PATH"
        )
    from nnstudio.cli.train_options import DATASET_OPTION_KEYS

    options = recorded_options if name == recorded else {}
    for key in DATASET_OPTION_KEYS:
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


def _number(path: Path, line: int, column: int, cell: str) -> float:
    """A cell as a finite float32-sized number, or an InputError naming line and column."""
    try:
        value = float(cell)
    except ValueError:
        raise InputError(
            f"{path} line {line}, column {column}: {shorten(repr(cell), 40)} is not a number"
        ) from None
    if not abs(value) <= FLOAT32_MAX:  # NaN, inf, 1e309, and 1e300 (inf as float32)
        raise InputError(
            f"{path} line {line}, column {column}: {shorten(repr(cell), 40)} is not a finite "
            "number the model can use (float32 holds up to ±3.4e38); replace it"
        )
    return value


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _csv_rows(path: Path) -> list[list[str]]:
    """The non-blank rows, read within the size and parsing-cost limits."""
    from nnstudio.data.tabular import check_parse_cost

    try:
        check_parse_cost(path, check_file(path, "a CSV file"))
        with open_file(path, "a CSV file") as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
            return [row for row in csv.reader(text) if any(cell.strip() for cell in row)]
    except FileReadError as error:
        raise InputError(str(error)) from None
    except csv.Error as error:
        raise InputError(f"{path}: {error}") from None
    except UnicodeDecodeError as error:
        raise InputError(f"{path}: cannot read the file ({error})") from None


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
    rows = _csv_rows(path)
    if not rows:
        raise InputError(f"{path}: the file has no rows")
    first_line = 1
    columns = None
    if not any(_is_number(cell) for cell in rows[0]):  # a header: names, no numbers
        header, rows, first_line = [c.strip() for c in rows[0]], rows[1:], 2
        columns = _pick_columns(path, header, bundle, n_features)
        if not rows:
            raise InputError(f"{path}: a header line but no rows to predict")
    width = len(header) if columns is not None else None
    values, labels = [], []
    for offset, row in enumerate(rows):
        line = first_line + offset
        if width is not None and len(row) != width:
            raise InputError(f"{path} line {line}: {len(row)} values, the header has {width}")
        cells = [row[i] for i in columns] if columns is not None else row
        if len(cells) != n_features:
            raise InputError(
                f"{path} line {line}: {len(cells)} values, the model needs {n_features}"
            )
        values.append([_number(path, line, i, cell) for i, cell in enumerate(cells, start=1)])
        labels.append(f"{path}:{line}")
    x = np.asarray(values, dtype=np.float32).reshape((len(values), *shape))
    return x, labels


def _pick_columns(path: Path, header: list[str], bundle, n_features: int) -> list[int] | None:
    names = (bundle.preprocessing or {}).get("feature_names")
    if names is not None and not (
        isinstance(names, list) and all(isinstance(name, str) for name in names)
    ):
        raise InputError("the model file's preprocessing.feature_names is not a list of names")
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if names and all(name in header for name in names):
        used = [name for name in duplicates if name in names]
        if used:
            raise InputError(
                f"{path}: the header names column {used[0]!r} twice, so which one the model "
                "reads is unclear; rename one of them"
            )
        return [header.index(name) for name in names]
    if len(header) == n_features:
        return None
    wanted = ", ".join(names) if names else f"{n_features} numeric columns"
    raise InputError(
        f"{path}: the header does not have the model's features ({shorten(wanted, 150)})"
    )


def _folder_images(folder: Path) -> list[Path]:
    """The image files in a folder and its sub-folders, sorted (hidden ones left out)."""
    found = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [
            Path(root) / name
            for name in sorted(names)
            if not name.startswith(".") and Path(name).suffix.lower() in IMAGE_SUFFIXES
        ]
    if not found:
        raise InputError(f"{folder}: the folder holds no images (PNG, JPEG, BMP, GIF or WebP)")
    return found


def _folder_inputs(folder: Path, shape, reading) -> tuple[list[np.ndarray], list[str]]:
    """Every image of a folder as inputs; one that cannot be read is skipped and said on
    stderr (a folder of pictures often holds a broken one), not the end of the run."""
    from nnstudio.data.image_folder import skipped_message

    inputs, labels, skipped = [], [], []
    for path in _folder_images(folder):
        try:
            inputs.append(image_input(path, shape, reading)[None])
        except InputError:
            skipped.append(f"{path.relative_to(folder).as_posix()} (not an image)")
            continue
        labels.append(str(path))
    if not inputs:  # one line, as every refusal: what was skipped is its reason
        raise InputError(f"{folder}: none of its images could be read; {skipped_message(skipped)}")
    if skipped:
        print(f"nnstudio: {folder}: {skipped_message(skipped)}", file=sys.stderr)
    return inputs, labels


def collect_inputs(files: list[str], bundle) -> tuple[np.ndarray, list[str]]:
    shape = _model_input_shape(bundle)
    reading = (bundle.preprocessing or {}).get("image_reading")
    batches, labels = [], []
    for name in files:
        path = Path(name)
        if path.is_dir():
            inputs, names = _folder_inputs(path, shape, reading)
            batches += inputs
            labels += names
            continue
        try:  # a FIFO or /dev/zero is named for what it is (and never opened)
            check_file(path, "an image, a folder of images or a CSV file")
        except FileReadError as error:
            raise InputError(str(error)) from None
        suffix = path.suffix.lower()
        if suffix == ".csv":
            x, row_labels = csv_inputs(path, bundle)
            batches.append(x)
            labels += row_labels
        elif suffix in IMAGE_SUFFIXES:
            batches.append(image_input(path, shape, reading)[None])
            labels.append(str(path))
        else:
            raise InputError(
                f"{path}: unknown kind of file; give images (PNG, JPEG, BMP, GIF, WebP), a "
                "folder of images or CSV rows"
            )
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


def _finite_outputs(model, x: np.ndarray, model_path) -> np.ndarray:
    """Weights that blew up in training give NaN for every input: say so, not "nan%"."""
    with np.errstate(all="ignore"):  # the overflow is what the error below reports
        outputs = model.predict(x)
    bad = ~np.isfinite(outputs.reshape(len(outputs), -1)).all(axis=1)
    if bad.any():
        raise InputError(
            f"{model_path} gives NaN or infinite outputs for {int(bad.sum())} of {len(bad)} "
            "inputs: its weights are not usable (training probably diverged); train it again "
            "with a smaller learning rate"
        )
    return outputs


def _write_predictions_csv(path, header: list[str], rows: list[list]) -> None:
    """The predictions as a CSV file, written atomically (never half a file)."""
    from nnstudio.atomic_file import write_atomically

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    write_atomically(Path(path), buffer.getvalue())


def _print_regression(args, labels, predictions) -> list[list]:
    rows = []
    for label, values in zip(labels, np.atleast_2d(predictions), strict=True):
        record = {"input": label, "prediction": [float(v) for v in np.ravel(values)]}
        rows.append([label, *record["prediction"]])
        print(
            json.dumps(json_plain(record))
            if args.json
            else f"{label}: {', '.join(f'{v:.6g}' for v in record['prediction'])}"
        )
    return rows


def _print_classes(args, labels, bundle, probabilities) -> list[list]:
    rows = []
    for label, row in zip(
        labels, _classification_rows(bundle, probabilities, args.top), strict=True
    ):
        rows.append([label, row["class"], f"{row['probability']:.6f}"])
        if args.json:
            print(json.dumps(json_plain({"input": label, **row})))
            continue
        others = ", ".join(f"{r['class']} {100 * r['probability']:.1f}%" for r in row["top"][1:])
        print(
            f"{label}: {row['class']} ({100 * row['probability']:.1f}%)"
            + (f"  then {others}" if others else "")
        )
    return rows


def run_predict(args: argparse.Namespace) -> int:
    from nnstudio.engine.io import load_model
    from nnstudio.engine.losses import get_loss
    from nnstudio.engine.metrics import class_probabilities

    csv_out = getattr(args, "csv", None)
    if csv_out:  # a folder that cannot be written fails before the work, not after
        from nnstudio.atomic_file import SaveTargetError, check_writable

        try:
            check_writable(csv_out)
        except SaveTargetError as error:
            raise InputError(f"--csv: {error}") from None
    bundle = load_model(args.model)
    x, labels = collect_inputs(args.files, bundle)
    x = apply_scaling(x, _scaling(bundle))
    loss = get_loss(bundle.loss)
    outputs = _finite_outputs(bundle.model, x, args.model)
    if loss.task != "classification":
        predictions = loss.output_activation(outputs)
        rows = _print_regression(args, labels, predictions)
        width = len(rows[0]) - 1 if rows else 1
        header = ["input", *(f"prediction_{k}" for k in range(1, width + 1))]
    else:
        rows = _print_classes(args, labels, bundle, class_probabilities(outputs, loss))
        header = ["input", "class", "probability"]
    if csv_out:
        _write_predictions_csv(csv_out, header, rows)
    return EXIT_OK
