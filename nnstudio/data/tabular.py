"""CSV and NPZ files: a user's own tables, with clear errors for everything that goes wrong.

CSV (standard library `csv`, no pandas): the header and the delimiter are detected, the target
column is chosen by name or index (default: the last), and so are the feature columns (default:
all the others). Numeric features become float32 and text features are one-hot encoded with
their categories remembered (`Table.encoding`), so new rows can be encoded the same way at
prediction time (`read_csv_features`). How single columns are parsed and encoded lives in
`columns.py`; this module reads the files.

>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "pets.csv")
>>> _ = Path(path).write_text("weight;colour;kind\\n4.0;black;cat\\n30;brown;dog\\n")
>>> table = read_csv(path)
>>> table.feature_names, table.class_names, table.y.tolist()
(['weight', 'colour=black', 'colour=brown'], ['cat', 'dog'], [0, 1])
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnstudio.safe_read import FileReadError, format_size, limit_hint, load_npz, max_file_bytes
from nnstudio.safe_read import open_file as _open_checked

from .columns import (
    IMPUTE_METHODS,
    MAX_CATEGORIES,
    MAX_INTEGER_CLASSES,
    MISSING,
    TYPO_SHARE,
    check_missing,
    checked_encoding,
    classify_column,
    encode_features,
    encode_rows,
    encode_target,
    feature_indices,
    is_number,
    rows_kept,
    stripped,
)
from .dataset import DatasetError, check_data_file

__all__ = [
    "IMPUTE_METHODS",
    "MAX_CATEGORIES",
    "MAX_INTEGER_CLASSES",
    "MISSING",
    "TYPO_SHARE",
    "Table",
    "encode_rows",
    "encode_target",
    "read_csv",
    "read_csv_features",
    "read_npz",
]


@dataclass
class Table:
    """Inputs and targets read from a file, before splitting and scaling."""

    x: np.ndarray
    y: np.ndarray
    task: str
    feature_names: list[str] | None = None
    class_names: list[str] | None = None
    encoding: dict | None = None


# ---------------------------------------------------------------------------------------------
# Reading rows

# What parsing costs per cell: a str object (~50 bytes + text), its pointer in the row list,
# and the column's object array. Checking the estimate before reading keeps a 100k × 500 CSV
# (a 400 MB file) from taking 5 GB; the file-size limit alone would let it.
BYTES_PER_CELL = 80


def _open(path: Path):
    """``path`` for binary reading: regular files only (a FIFO would block forever)."""
    try:
        return _open_checked(path, "a CSV file", 2**63)
    except FileReadError as error:
        raise DatasetError(str(error)) from None


def _open_text(path: Path, encoding: str):
    import io

    return io.TextIOWrapper(_open(path), encoding=encoding, newline="")


def check_parse_cost(path, size: int, max_bytes: int | None = None) -> None:
    """Refuse a CSV whose parsing would need more memory than the limit, estimated from the
    cells in its first 64 KB before anything else is read."""
    limit = max_file_bytes() if max_bytes is None else max_bytes
    with _open(Path(path)) as file:
        sample = file.read(1 << 16)
    lines = sample[: sample.rfind(b"\n") + 1] or sample
    separators = max(lines.count(sep) for sep in (b",", b";", b"\t", b"|"))
    cells = separators + max(lines.count(b"\n"), 1)
    estimate = size / max(len(lines), 1) * cells * BYTES_PER_CELL
    if estimate > limit:
        raise DatasetError(
            f"{path} holds about {size / max(len(lines), 1) * cells:,.0f} values; parsing them "
            f"needs about {format_size(estimate)} of memory, more than {limit_hint(limit)}. "
            "Use a smaller sample of the file."
        )


def _encoding_of(path: Path) -> str:
    """utf-8 (with or without BOM), else latin-1; refuses binary files."""
    with _open(path) as file:
        head = file.read(1 << 16)
    if b"\x00" in head:
        raise DatasetError(
            f"{path} is a binary file, not CSV text. Choose a .csv file "
            "(Excel: File → Save As → CSV UTF-8)."
        )
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with _open(path) as file:
            while chunk := file.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        return "utf-8-sig"
    except UnicodeDecodeError:
        return "latin-1"  # old Excel exports; every byte decodes, so no error mid-file


def _sniff_delimiter(path: Path, encoding: str) -> str:
    with _open_text(path, encoding) as file:
        sample = file.read(1 << 16)
    sample = sample[: sample.rfind("\n") + 1] or sample  # whole lines only
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","  # one column, or nothing the sniffer can tell apart


def _counting_lines(file, total: int, progress: Callable | None, label: str) -> Iterator[str]:
    """Lines of `file`, reporting progress every ~1 MB of text read."""
    done = reported = 0
    for line in file:
        yield line
        done += len(line)
        if progress is not None and done - reported > 1 << 20:
            progress(done, total, label)
            reported = done
    if progress is not None:
        progress(total, total, label)


def _read_rows(path: Path, delimiter: str | None, progress) -> tuple[list, list[int], str]:
    """(rows of str, line number of every row, delimiter); blank lines skipped, ragged rows
    refused with their line number."""
    size = path.stat().st_size
    encoding = _encoding_of(path)
    delimiter = delimiter or _sniff_delimiter(path, encoding)
    rows, lines = [], []
    with _open_text(path, encoding) as file:
        reader = csv.reader(
            _counting_lines(file, size, progress, f"Reading {path.name}"), delimiter=delimiter
        )
        try:
            for row in reader:
                # Blank lines and lines of delimiters only (Excel leaves those) are skipped;
                # testing the first cell first keeps this cheap for ordinary rows.
                if not row or (not row[0].strip() and all(not c.strip() for c in row)):
                    continue
                if rows and len(row) != len(rows[0]):
                    raise DatasetError(
                        f"{path}, line {reader.line_num}: {len(row)} fields, but line "
                        f"{lines[0]} has {len(rows[0])} (delimiter {delimiter!r}). Fix that "
                        "line (a missing or extra delimiter, or an unquoted text with one)."
                    )
                rows.append(row)
                lines.append(reader.line_num)
        except csv.Error as error:
            raise DatasetError(f"{path}, line {reader.line_num}: {error}.") from None
    if not rows:
        raise DatasetError(
            f"{path} holds no data (only blank lines). Choose a CSV file with "
            "a header line and one line per sample."
        )
    return rows, lines, delimiter


def _has_header(rows: list[list[str]]) -> bool:
    """A first row of text over columns of numbers is a header; a row with a number is not."""
    first, rest = rows[0], rows[1:101]
    if any(is_number(cell) for cell in first if cell.strip()):
        return False
    if not rest:
        return True
    for column, name in enumerate(first):
        values = [row[column] for row in rest if row[column].strip()]
        if values and all(is_number(v) for v in values):
            return True
        if name.strip() and name not in values:
            continue
        return False  # the "name" repeats as a value: it is data
    return True


# ---------------------------------------------------------------------------------------------
# CSV


def _refuse_duplicates(names: list[str], path) -> None:
    """Columns are chosen by name, so two columns of one name would make the second
    unreachable (and the first used twice at prediction time)."""
    seen: dict[str, int] = {}
    for index, name in enumerate(names):
        if name in seen:
            raise DatasetError(
                f"{path}: the header names column {name!r} twice (columns {seen[name] + 1} "
                f"and {index + 1}). Rename one of them so every column name is unique."
            )
        seen[name] = index


def _target_index(target, names: list[str], path) -> int:
    if target is None:
        return len(names) - 1
    if isinstance(target, str) and target in names:
        return names.index(target)
    if isinstance(target, str) and target.lstrip("-").isdigit():
        target = int(target)
    if isinstance(target, (int, np.integer)) and -len(names) <= target < len(names):
        return int(target) % len(names)
    raise DatasetError(
        f"{path} has no column {target!r}. Its columns are: "
        f"{', '.join(names)} (or an index from 0 to {len(names) - 1})."
    )


def _header_and_names(rows, lines, header, path) -> tuple[list[str], list, list[int], bool]:
    """(column names, data rows, their line numbers, whether line 1 was a header)."""
    has_header = _has_header(rows) if header is None else bool(header)
    if has_header:
        names = [n.strip() or f"column {i + 1}" for i, n in enumerate(rows[0])]
        _refuse_duplicates(names, path)
        rows, lines = rows[1:], lines[1:]
    else:
        names = [f"column {i + 1}" for i in range(len(rows[0]))]
    if not rows:
        raise DatasetError(f"{path} has a header line but no data lines.")
    if len(names) < 2:
        raise DatasetError(
            f"{path} has a single column ({names[0]!r}): it needs features and a target. "
            "Check the delimiter."
        )
    return names, rows, lines, has_header


def read_csv(
    path,
    target=None,
    *,
    columns=None,
    task=None,
    impute=None,
    delimiter=None,
    header=None,
    categorical: Iterable[str] = (),
    progress: Callable | None = None,
    max_bytes: int | None = None,
) -> Table:
    """Read a CSV file into a Table: float32 features (N, F) and targets.

    target: column name or index (negative counts from the end); default: the last column.
    columns: the feature columns, names or indices (kept in file order); default: all but the
    target. Columns left out are not parsed, so their gaps and odd values do not matter.
    task: "classification" or "regression"; default: text or few integers → classification.
    impute: None (missing values are an error naming line and column), "mean", "median",
    "most_frequent" or "drop" (skip rows with a missing value).
    header / delimiter: detected unless given. categorical: numeric columns to one-hot anyway
    (codes such as postcodes). progress(done, total, message) is called while reading.
    Files above max_bytes (default: 1 GB, NNSTUDIO_MAX_FILE_MB) are refused before reading.
    """
    path = Path(path)
    check_parse_cost(path, check_data_file(path, max_bytes), max_bytes)
    rows, lines, delimiter = _read_rows(path, delimiter, progress)
    names, rows, lines, has_header = _header_and_names(rows, lines, header, path)
    target_at = _target_index(target, names, path)
    unknown = set(categorical) - set(names)
    if unknown:
        raise DatasetError(
            f"{path} has no column {sorted(unknown)[0]!r} (categorical). "
            f"Its columns are: {', '.join(names)}."
        )
    used = feature_indices(columns, names, target_at, path)
    # One column at a time: a (rows × columns) array of str would need far more memory.
    parsed = {
        i: classify_column(
            names[i],
            np.array([row[i] for row in rows], dtype=object),
            lines,
            path,
            delimiter != ",",
            names[i] in set(categorical),
        )
        for i in [*used, target_at]
    }
    del rows
    target_column = parsed[target_at]
    features = [parsed[i] for i in used]
    keep = check_missing(features, target_column, lines, impute, path)
    if not keep.any():
        raise DatasetError(
            f"{path}: every row has a missing value, so impute='drop' leaves "
            "nothing. Choose impute='mean' instead."
        )
    x, feature_names, entries = encode_features(
        [rows_kept(c, keep) for c in features], impute, path
    )
    target_column = rows_kept(target_column, keep)
    values = (
        target_column.numbers if target_column.numbers is not None else stripped(target_column.raw)
    )
    y, task, class_names = encode_target(
        values, task, f"{path}, target column {target_column.name!r}"
    )
    encoding = {
        "format": "csv",
        "delimiter": delimiter,
        "header": has_header,
        "columns": names,
        "target": target_column.name,
        "feature_columns": [names[i] for i in used],
        "features": entries,
    }
    return Table(x, y, task, feature_names, class_names, encoding)


def read_csv_features(path, encoding: dict) -> np.ndarray:
    """Features of a CSV file of new samples, encoded as at training time (prediction).

    Only the training's feature columns are read. With a header they are found by name; without
    one the file holds all the training file's columns, those without the target, or only the
    feature columns, in the training file's order.
    """
    path = Path(path)
    encoding = checked_encoding(encoding)
    check_parse_cost(path, check_data_file(path))
    rows, _, _ = _read_rows(path, encoding["delimiter"], None)
    if _has_header(rows):
        names, rows = [n.strip() for n in rows[0]], rows[1:]
        _refuse_duplicates(names, path)
    else:
        names = list(encoding["columns"])
        features = encoding.get("feature_columns") or [e["column"] for e in encoding["features"]]
        if len(rows[0]) == len(names) - 1:  # no target column in the file
            names.remove(encoding["target"])
        elif len(rows[0]) == len(features) and len(features) != len(names):
            names = list(features)  # only the columns the model uses
    if not rows:
        raise DatasetError(f"{path} has a header line but no data lines.")
    return encode_rows(rows, names, encoding, str(path))


# ---------------------------------------------------------------------------------------------
# NPZ


def _first(arrays: dict, names):
    return next((arrays[name] for name in names if name in arrays), None)


def read_npz(path, task=None, max_bytes: int | None = None) -> Table:
    """Read arrays X (inputs) and y (targets) from a .npz file (never unpickles).

    X may be (N, F) features, (N, H, W) or (N, C, H, W) images (uint8 images are divided by 255).
    y may be labels, one-hot rows, text class names, or numbers for regression. Optional
    arrays `class_names` and `feature_names` (text) name the classes and features.
    """
    path = Path(path)
    check_data_file(path, max_bytes)
    try:
        arrays = load_npz(path, "a NumPy .npz archive", max_bytes)
    except FileReadError as error:
        if "Python objects" in str(error):
            raise DatasetError(
                f"{error} Save numeric arrays (np.savez(path, X=..., y=...))."
            ) from None
        raise DatasetError(
            f"{path} is not a NumPy .npz archive ({error}). Save one with "
            "np.savez(path, X=inputs, y=targets)."
        ) from None
    x, y = _first(arrays, ("X", "x")), _first(arrays, ("y", "Y"))
    if x is None or y is None:
        raise DatasetError(
            f"{path} has arrays {', '.join(arrays) or 'none'}; it needs X (inputs) and y (targets)."
        )
    class_names = arrays.get("class_names")
    feature_names = arrays.get("feature_names")
    return _table_from_arrays(x, y, task, class_names, feature_names, path)


def _npz_inputs(x: np.ndarray, path) -> np.ndarray:
    if x.dtype.kind not in "iufb":
        raise DatasetError(f"{path}: X holds {x.dtype} values; inputs must be numbers.")
    if x.ndim not in (1, 2, 3, 4):
        raise DatasetError(
            f"{path}: X has shape {x.shape}; use (N, features), (N, H, W) or (N, channels, H, W)."
        )
    images = x.ndim >= 3
    scale = np.float32(1 / 255) if images and x.dtype == np.uint8 else np.float32(1)
    x = x.astype(np.float32) * scale
    if not np.isfinite(x).all():
        where = np.argwhere(~np.isfinite(x))[0]
        raise DatasetError(
            f"{path}: X[{', '.join(map(str, where))}] is {x[tuple(where)]}; inputs must be finite "
            "numbers. Fill or remove missing values before saving."
        )
    if x.ndim in (1, 3):  # one feature per sample, or one channel per image
        x = x[:, None]
    return x


def _table_from_arrays(x, y, task, class_names, feature_names, path) -> Table:
    x = _npz_inputs(x, path)
    if len(x) != len(y):
        raise DatasetError(f"{path}: X has {len(x)} samples but y has {len(y)}; they must match.")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    one_hot = (
        y.ndim == 2
        and y.dtype.kind in "iufb"
        and task != "regression"
        and np.isin(y, (0, 1)).all()
        and (y.sum(axis=1) == 1).all()
    )
    if one_hot:
        y, task = y.argmax(axis=1).astype(np.int64), "classification"
        names = [str(k) for k in range(y.max() + 1)]
    elif class_names is not None and y.ndim == 1 and y.dtype.kind in "iu":
        # Named classes: y holds their indices already, even if some class has no sample.
        y, task, names = y.astype(np.int64), "classification", None
        if y.min() < 0:
            raise DatasetError(f"{path}: y holds the label {y.min()}; labels start at 0.")
    elif y.ndim == 2 and task != "classification":
        y, task, names = encode_target(y, "regression", f"{path}: y")
    elif y.ndim == 1:
        y, task, names = encode_target(y, task, f"{path}: y")
    else:
        raise DatasetError(
            f"{path}: y has shape {y.shape}; use labels (N,), one-hot rows "
            "(N, classes) or regression targets (N, outputs)."
        )
    if class_names is not None and task == "classification":
        names = [str(n) for n in class_names.reshape(-1)]
        if len(names) <= y.max():
            raise DatasetError(
                f"{path}: class_names has {len(names)} names but y has {y.max() + 1} classes."
            )
    features = None if feature_names is None else [str(n) for n in feature_names.reshape(-1)]
    return Table(x, y, task, features, names, None)
