"""CSV and NPZ files: a user's own tables, with clear errors for everything that goes wrong.

CSV (standard library `csv`, no pandas): the header and the delimiter are detected, the target
column is chosen by name or index (default: the last), numeric features become float32 and text
features are one-hot encoded with their categories remembered (`Table.encoding`), so new rows
can be encoded the same way at prediction time (`read_csv_features`).

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
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .dataset import DatasetError, check_data_file

MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "?"})
IMPUTE_METHODS = ("mean", "median", "most_frequent", "drop")
# A text column with more distinct values than this is an identifier (a name, an id), not a
# category: one-hot encoding it would make thousands of useless features.
MAX_CATEGORIES = 100
# Integer targets with at most this many distinct values are class labels; more are numbers.
MAX_INTEGER_CLASSES = 20
# A column is numeric with a few bad values (an error to report) rather than a text column
# when at most this share of its values is not a number.
TYPO_SHARE = 0.1


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


def _encoding_of(path: Path) -> str:
    """utf-8 (with or without BOM), else latin-1; refuses binary files."""
    with path.open("rb") as file:
        head = file.read(1 << 16)
    if b"\x00" in head:
        raise DatasetError(
            f"{path} is a binary file, not CSV text. Choose a .csv file "
            "(Excel: File → Save As → CSV UTF-8)."
        )
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as file:
            while chunk := file.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        return "utf-8-sig"
    except UnicodeDecodeError:
        return "latin-1"  # old Excel exports; every byte decodes, so no error mid-file


def _sniff_delimiter(path: Path, encoding: str) -> str:
    with path.open(encoding=encoding, newline="") as file:
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
    with path.open(encoding=encoding, newline="") as file:
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


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _has_header(rows: list[list[str]]) -> bool:
    """A first row of text over columns of numbers is a header; a row with a number is not."""
    first, rest = rows[0], rows[1:101]
    if any(_is_number(cell) for cell in first if cell.strip()):
        return False
    if not rest:
        return True
    for column, name in enumerate(first):
        values = [row[column] for row in rest if row[column].strip()]
        if values and all(_is_number(v) for v in values):
            return True
        if name.strip() and name not in values:
            continue
        return False  # the "name" repeats as a value: it is data
    return True


# ---------------------------------------------------------------------------------------------
# Columns


def _missing_mask(values: np.ndarray) -> np.ndarray:
    return np.fromiter((v.strip().lower() in MISSING for v in values), bool, len(values))


def _stripped(values) -> np.ndarray:
    """The values without surrounding spaces, as a NumPy str array."""
    return np.array([v.strip() for v in values], dtype=str)


def _to_float(values, decimal_comma: bool) -> np.ndarray | None:
    """float64 of all values (surrounding spaces allowed), or None if any is not a number.

    Python's float() over the str objects is several times faster than NumPy's str→float
    conversion, and parsing is most of the time spent reading a CSV.
    """
    try:
        return np.fromiter(map(float, values), np.float64, len(values))
    except ValueError:
        pass
    if decimal_comma:  # "3,5" in files that use ';' between fields
        try:
            comma = (float(v.replace(",", ".")) for v in values)
            return np.fromiter(comma, np.float64, len(values))
        except ValueError:
            pass
    return None


@dataclass
class _Column:
    name: str
    raw: np.ndarray  # the str values (object array: cheap to make, fast to parse)
    missing: np.ndarray  # bool mask
    numbers: np.ndarray | None  # float64 (NaN where missing) for numeric columns


def _not_numbers(values: np.ndarray) -> list[int]:
    return [i for i, v in enumerate(values) if not _is_number(v.strip().replace(",", "."))]


def _check_typos(name, raw, missing, lines, path) -> None:
    """A column of numbers with a few text values is an error naming the first bad value, its
    line and its column; a column with many text values is a text column (returns)."""
    present = raw[~missing]
    sample = present[:1000]  # decide cheaply for clear text columns
    if len(_not_numbers(sample)) > TYPO_SHARE * len(sample):
        return
    bad = _not_numbers(present)
    if len(bad) <= TYPO_SHARE * len(present):
        row = np.flatnonzero(~missing)[bad[0]]
        raise DatasetError(
            f"{path}, line {lines[row]}, column {name!r}: {str(raw[row])!r} is not a number, "
            f"but the other values of this column are numbers ({len(bad)} such "
            f"value{'s' if len(bad) > 1 else ''}). Fix the value, or leave it empty and choose "
            "an imputation."
        )


def _classify_column(name, raw, lines, path, decimal_comma, force_text) -> _Column:
    """A numeric column (float64 numbers, NaN where missing) or a text column."""
    numbers = None if force_text else _to_float(raw, decimal_comma)
    if numbers is not None and not np.isnan(numbers).any():  # the common case, fast
        missing = np.zeros(len(raw), bool)
    else:
        missing = _missing_mask(raw)  # "NA", "?", "nan", empty, ...
        numbers = None if force_text else _to_float(raw[~missing], decimal_comma)
        if numbers is None:
            if not force_text and (~missing).any():
                _check_typos(name, raw, missing, lines, path)
            return _Column(name, raw, missing, None)
        full = np.full(len(raw), np.nan)
        full[~missing] = numbers
        numbers = full
    infinite = np.isinf(numbers)
    if infinite.any():
        row = np.flatnonzero(infinite)[0]
        raise DatasetError(
            f"{path}, line {lines[row]}, column {name!r}: {str(raw[row])!r} is "
            "not a finite number. Replace it, or leave it empty and choose an "
            "imputation."
        )
    return _Column(name, raw, missing, numbers)


def _fill_value(column: _Column, impute: str):
    """The value that replaces missing entries: mean/median for numbers, else most frequent."""
    if column.numbers is not None:
        present = column.numbers[~column.missing]
        if impute == "mean":
            return float(present.mean())
        if impute == "median":
            return float(np.median(present))
        values, counts = np.unique(present, return_counts=True)
        return float(values[counts.argmax()])
    values, counts = np.unique(_stripped(column.raw[~column.missing]), return_counts=True)
    return str(values[counts.argmax()])


def _encode_feature(column: _Column, impute, path) -> tuple[np.ndarray, list[str], dict]:
    """(float32 block (N, k), feature names, encoding entry) of one feature column."""
    fill = None
    if column.missing.all():
        raise DatasetError(f"{path}: column {column.name!r} is empty in every row; remove it.")
    if column.missing.any():
        fill = _fill_value(column, impute)
    if column.numbers is not None:
        values = np.where(column.missing, fill if fill is not None else 0.0, column.numbers)
        entry = {"column": column.name, "kind": "numeric", "fill": fill}
        return values.astype(np.float32)[:, None], [column.name], entry
    text = _stripped(column.raw)
    if fill is not None:
        text = np.where(column.missing, fill, text)
    categories = np.unique(text)
    if len(categories) > MAX_CATEGORIES:
        raise DatasetError(
            f"{path}: column {column.name!r} has {len(categories):,} different text values; "
            f"that is an identifier (a name or an id), not a category (at most "
            f"{MAX_CATEGORIES}). Remove the column, or give it numbers."
        )
    block = (text[:, None] == categories[None, :]).astype(np.float32)
    names = [f"{column.name}={c}" for c in categories]
    entry = {
        "column": column.name,
        "kind": "categorical",
        "categories": categories.tolist(),
        "fill": fill,
    }
    return block, names, entry


def _number_name(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def encode_target(values: np.ndarray, task: str | None, where: str):
    """(y, task, class_names) from target values (numbers, or text for classes).

    Text → classes in sorted order. Integers with at most MAX_INTEGER_CLASSES distinct values →
    classes named by the integers. Other numbers → regression, float32 (N, 1).

    >>> encode_target(np.array(["b", "a", "b"]), None, "t")
    (array([1, 0, 1]), 'classification', ['a', 'b'])
    """
    numeric = values.dtype.kind in "iufb"
    if task is None:
        integral = numeric and np.array_equal(values, np.round(values))
        few = numeric and len(np.unique(values)) <= MAX_INTEGER_CLASSES
        task = "classification" if not numeric or (integral and few) else "regression"
    if task == "regression":
        if not numeric:
            raise DatasetError(
                f"{where} holds text ({str(values[0])!r}), but regression needs "
                "numbers. Choose classification, or another target."
            )
        y = values.astype(np.float32)
        return (y[:, None] if y.ndim == 1 else y), task, None
    if task != "classification":
        raise DatasetError(f"Unknown task {task!r}; use 'classification' or 'regression'.")
    classes, labels = np.unique(values, return_inverse=True)
    names = [_number_name(c) for c in classes] if numeric else [str(c) for c in classes]
    return labels.reshape(-1).astype(np.int64), task, names


# ---------------------------------------------------------------------------------------------
# CSV


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


def _check_missing(columns, target_column, lines, impute, path) -> np.ndarray:
    """Rows to keep. Without `impute`, any missing value is an error naming line and column."""
    if impute is not None and impute not in IMPUTE_METHODS:
        raise DatasetError(
            f"Unknown impute {impute!r}. Choose one of: {', '.join(IMPUTE_METHODS)}."
        )
    keep = np.ones(len(lines), bool)
    if impute == "drop":
        for column in [*columns, target_column]:
            keep &= ~column.missing
        return keep
    if target_column.missing.any():
        line = lines[np.flatnonzero(target_column.missing)[0]]
        raise DatasetError(
            f"{path}, line {line}: the target column {target_column.name!r} is "
            "empty. Fill it in, or choose impute='drop' to skip such rows."
        )
    if impute is None:
        for column in columns:
            if column.missing.any():
                line = lines[np.flatnonzero(column.missing)[0]]
                raise DatasetError(
                    f"{path}, line {line}, column {column.name!r}: missing value "
                    f"({column.missing.sum()} in this column). Fill it in, or choose an "
                    "imputation: mean, median, most_frequent, or drop (skip such rows)."
                )
    return keep


def _header_and_names(rows, lines, header, path) -> tuple[list[str], list, list[int], bool]:
    """(column names, data rows, their line numbers, whether line 1 was a header)."""
    has_header = _has_header(rows) if header is None else bool(header)
    if has_header:
        names = [n.strip() or f"column {i + 1}" for i, n in enumerate(rows[0])]
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


def _encode_features(columns, impute, path) -> tuple[np.ndarray, list[str], list[dict]]:
    blocks, names, entries = [], [], []
    for column in columns:
        block, block_names, entry = _encode_feature(column, impute, path)
        blocks.append(block)
        names += block_names
        entries.append(entry)
    return np.concatenate(blocks, axis=1), names, entries


def _rows_kept(column: _Column, keep: np.ndarray) -> _Column:
    numbers = None if column.numbers is None else column.numbers[keep]
    return _Column(column.name, column.raw[keep], column.missing[keep], numbers)


def read_csv(
    path,
    target=None,
    *,
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
    task: "classification" or "regression"; default: text or few integers → classification.
    impute: None (missing values are an error naming line and column), "mean", "median",
    "most_frequent" or "drop" (skip rows with a missing value).
    header / delimiter: detected unless given. categorical: numeric columns to one-hot anyway
    (codes such as postcodes). progress(done, total, message) is called while reading.
    Files above max_bytes (default: 1 GB, NNSTUDIO_MAX_FILE_MB) are refused before reading.
    """
    path = Path(path)
    check_data_file(path, max_bytes)
    rows, lines, delimiter = _read_rows(path, delimiter, progress)
    names, rows, lines, has_header = _header_and_names(rows, lines, header, path)
    target_at = _target_index(target, names, path)
    unknown = set(categorical) - set(names)
    if unknown:
        raise DatasetError(
            f"{path} has no column {sorted(unknown)[0]!r} (categorical). "
            f"Its columns are: {', '.join(names)}."
        )
    # One column at a time: a (rows × columns) array of str would need far more memory.
    columns = [
        _classify_column(
            name,
            np.array(values, dtype=object),
            lines,
            path,
            delimiter != ",",
            name in set(categorical),
        )
        for name, values in zip(names, zip(*rows, strict=True), strict=True)
    ]
    del rows
    target_column = columns.pop(target_at)
    keep = _check_missing(columns, target_column, lines, impute, path)
    if not keep.any():
        raise DatasetError(
            f"{path}: every row has a missing value, so impute='drop' leaves "
            "nothing. Choose impute='mean' instead."
        )
    x, feature_names, entries = _encode_features(
        [_rows_kept(c, keep) for c in columns], impute, path
    )
    target_column = _rows_kept(target_column, keep)
    values = (
        target_column.numbers if target_column.numbers is not None else _stripped(target_column.raw)
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
        "features": entries,
    }
    return Table(x, y, task, feature_names, class_names, encoding)


def encode_rows(rows: list[list[str]], names: list[str], encoding: dict, where="") -> np.ndarray:
    """Encode raw rows (lists of str, columns named `names`) exactly as `encoding` says.

    Used at prediction time; unknown categories encode as all zeros, missing values take the
    training fill value (or are an error when training had none).
    """
    raw = np.array(rows, dtype=object).reshape(len(rows), len(names)).T
    blocks = []
    for entry in encoding["features"]:
        if entry["column"] not in names:
            raise DatasetError(
                f"{where} lacks the column {entry['column']!r} the model was "
                f"trained with. Its columns are: {', '.join(names)}."
            )
        values = raw[names.index(entry["column"])]
        missing = _missing_mask(values)
        if missing.any() and entry["fill"] is None:
            raise DatasetError(
                f"{where}: column {entry['column']!r} has a missing value in row "
                f"{np.flatnonzero(missing)[0] + 1}; the model has no fill value "
                "for it. Fill it in."
            )
        if entry["kind"] == "numeric":
            numbers = np.full(len(values), entry["fill"] or 0.0)
            present = _to_float(values[~missing], encoding["delimiter"] != ",")
            if present is None:
                raise DatasetError(
                    f"{where}: column {entry['column']!r} holds text, but the "
                    "model was trained on numbers there."
                )
            numbers[~missing] = present
            blocks.append(numbers[:, None])
        else:
            text = np.where(missing, entry["fill"] or "", _stripped(values))
            blocks.append(text[:, None] == np.array(entry["categories"], dtype=str)[None, :])
    return np.concatenate(blocks, axis=1).astype(np.float32)


def read_csv_features(path, encoding: dict) -> np.ndarray:
    """Features of a CSV file of new samples, encoded as at training time (prediction)."""
    path = Path(path)
    check_data_file(path)
    rows, _, _ = _read_rows(path, encoding["delimiter"], None)
    if _has_header(rows):
        names, rows = [n.strip() for n in rows[0]], rows[1:]
    else:
        names = list(encoding["columns"])
        if len(rows[0]) == len(names) - 1:  # no target column in the file
            names.remove(encoding["target"])
    if not rows:
        raise DatasetError(f"{path} has a header line but no data lines.")
    return encode_rows(rows, names, encoding, str(path))


# ---------------------------------------------------------------------------------------------
# NPZ


def _npz_array(archive, names, path):
    for name in names:
        if name in archive.files:
            try:
                return archive[name]
            except ValueError:
                raise DatasetError(
                    f"{path}: array {name!r} stores Python objects, which nnstudio never "
                    "loads (unsafe). Save numeric arrays (np.savez(path, X=..., y=...))."
                ) from None
    return None


def read_npz(path, task=None, max_bytes: int | None = None) -> Table:
    """Read arrays X (inputs) and y (targets) from a .npz file (never unpickles).

    X may be (N, F) features, (N, H, W) or (N, C, H, W) images (uint8 images are divided by 255).
    y may be labels, one-hot rows, text class names, or numbers for regression. Optional
    arrays `class_names` and `feature_names` (text) name the classes and features.
    """
    path = Path(path)
    check_data_file(path, max_bytes)
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as error:
        raise DatasetError(
            f"{path} is not a NumPy .npz archive ({error}). Save one with "
            "np.savez(path, X=inputs, y=targets)."
        ) from None
    with archive:
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise DatasetError(
                f"{path} holds a single array; nnstudio needs an .npz with "
                "arrays X and y (np.savez(path, X=inputs, y=targets))."
            )
        x = _npz_array(archive, ("X", "x"), path)
        y = _npz_array(archive, ("y", "Y"), path)
        if x is None or y is None:
            raise DatasetError(
                f"{path} has arrays {', '.join(archive.files) or 'none'}; it "
                "needs X (inputs) and y (targets)."
            )
        class_names = _npz_array(archive, ("class_names",), path)
        feature_names = _npz_array(archive, ("feature_names",), path)
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
