"""Columns of a table: numbers or text, missing values, one-hot features, targets.

`tabular.read_csv` turns each chosen column into a `Column` (numbers, or text), checks its
missing values, and encodes it into float32 features; the encoding entries it returns are
replayed by `encode_rows` on new rows at prediction time. `encode_target` also serves NPZ files.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nnstudio.safe_read import shorten

from .dataset import DatasetError

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
# Features are float32: a larger value would become infinite (with a RuntimeWarning).
FLOAT32_MAX = float(np.finfo(np.float32).max)


def is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def missing_mask(values: np.ndarray) -> np.ndarray:
    return np.fromiter((v.strip().lower() in MISSING for v in values), bool, len(values))


def stripped(values) -> np.ndarray:
    """The values without surrounding spaces, as a NumPy str array."""
    return np.array([v.strip() for v in values], dtype=str)


def to_float(values, decimal_comma: bool) -> np.ndarray | None:
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
class Column:
    name: str
    raw: np.ndarray  # the str values (object array: cheap to make, fast to parse)
    missing: np.ndarray  # bool mask
    numbers: np.ndarray | None  # float64 (NaN where missing) for numeric columns


def _not_numbers(values: np.ndarray) -> list[int]:
    return [i for i, v in enumerate(values) if not is_number(v.strip().replace(",", "."))]


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


def classify_column(name, raw, lines, path, decimal_comma, force_text) -> Column:
    """A numeric column (float64 numbers, NaN where missing) or a text column."""
    numbers = None if force_text else to_float(raw, decimal_comma)
    if numbers is not None and not np.isnan(numbers).any():  # the common case, fast
        missing = np.zeros(len(raw), bool)
    else:
        missing = missing_mask(raw)  # "NA", "?", "nan", empty, ...
        numbers = None if force_text else to_float(raw[~missing], decimal_comma)
        if numbers is None:
            if not force_text and (~missing).any():
                _check_typos(name, raw, missing, lines, path)
            return Column(name, raw, missing, None)
        full = np.full(len(raw), np.nan)
        full[~missing] = numbers
        numbers = full
    infinite = np.abs(numbers) > FLOAT32_MAX  # inf, 1e309, and 1e300 (inf as float32)
    if infinite.any():
        row = np.flatnonzero(infinite)[0]
        raise DatasetError(
            f"{path}, line {lines[row]}, column {name!r}: {str(raw[row]).strip()!r} is "
            "not a finite number nnstudio can use (float32 holds up to ±3.4e38). Replace "
            "it, or leave it empty and choose an imputation."
        )
    return Column(name, raw, missing, numbers)


def _fill_value(column: Column, impute: str):
    """The value that replaces missing entries: mean/median for numbers, else most frequent."""
    if column.numbers is not None:
        present = column.numbers[~column.missing]
        if impute == "mean":
            return float(present.mean())
        if impute == "median":
            return float(np.median(present))
        values, counts = np.unique(present, return_counts=True)
        return float(values[counts.argmax()])
    values, counts = np.unique(stripped(column.raw[~column.missing]), return_counts=True)
    return str(values[counts.argmax()])


def _encode_feature(column: Column, impute, path) -> tuple[np.ndarray, list[str], dict]:
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
    text = stripped(column.raw)
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
# A table's columns together


def feature_indices(columns, names: list[str], target_at: int, path) -> list[int]:
    """Indices (file order) of the feature columns: `columns` (names or indices, negative
    counting from the end) or, when None, every column but the target.

    >>> feature_indices(["c", 0], ["a", "b", "c", "y"], 3, "f.csv")
    [0, 2]
    """
    if columns is None:
        return [i for i in range(len(names)) if i != target_at]
    if isinstance(columns, (str, int, np.integer)):
        columns = [columns]
    chosen = set()
    for column in columns:
        if isinstance(column, str) and column in names:
            chosen.add(names.index(column))
            continue
        index = int(column) if isinstance(column, str) and column.lstrip("-").isdigit() else column
        if isinstance(index, (int, np.integer)) and -len(names) <= index < len(names):
            chosen.add(int(index) % len(names))
            continue
        raise DatasetError(
            f"{path} has no column {column!r} (feature columns). Its columns are: "
            f"{', '.join(names)} (or an index from 0 to {len(names) - 1})."
        )
    if target_at in chosen:
        raise DatasetError(
            f"{path}: the target column {names[target_at]!r} is also among the feature "
            "columns; a model cannot take its own answer as an input. Remove it from the "
            "feature columns, or choose another target."
        )
    if not chosen:
        raise DatasetError(
            f"{path}: no feature columns chosen. Choose at least one of: "
            f"{', '.join(n for i, n in enumerate(names) if i != target_at)}."
        )
    return sorted(chosen)


def check_missing(columns, target_column, lines, impute, path) -> np.ndarray:
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


def encode_features(columns, impute, path) -> tuple[np.ndarray, list[str], list[dict]]:
    blocks, names, entries = [], [], []
    for column in columns:
        block, block_names, entry = _encode_feature(column, impute, path)
        blocks.append(block)
        names += block_names
        entries.append(entry)
    return np.concatenate(blocks, axis=1), names, entries


def rows_kept(column: Column, keep: np.ndarray) -> Column:
    numbers = None if column.numbers is None else column.numbers[keep]
    return Column(column.name, column.raw[keep], column.missing[keep], numbers)


def encode_rows(rows: list[list[str]], names: list[str], encoding: dict, where="") -> np.ndarray:
    """Encode raw rows (lists of str, columns named `names`) exactly as `encoding` says.

    Used at prediction time; unknown categories encode as all zeros, missing values take the
    training fill value (or are an error when training had none).
    """
    if rows and len(rows[0]) != len(names):
        raise DatasetError(
            f"{where} has {len(rows[0])} columns, but the model was trained on "
            f"{len(names)} ({shorten(', '.join(names), 120)}). Give the same columns."
        )
    raw = np.array(rows, dtype=object).reshape(len(rows), len(names)).T
    blocks = []
    for entry in encoding["features"]:
        if entry["column"] not in names:
            raise DatasetError(
                f"{where} lacks the column {entry['column']!r} the model was "
                f"trained with. Its columns are: {shorten(', '.join(names), 200)}."
            )
        values = raw[names.index(entry["column"])]
        missing = missing_mask(values)
        if missing.any() and entry["fill"] is None:
            raise DatasetError(
                f"{where}: column {entry['column']!r} has a missing value in row "
                f"{np.flatnonzero(missing)[0] + 1}; the model has no fill value "
                "for it. Fill it in."
            )
        if entry["kind"] == "numeric":
            blocks.append(_numeric_block(values, missing, entry, encoding, where))
        else:
            text = np.where(missing, entry["fill"] or "", stripped(values))
            blocks.append(text[:, None] == np.array(entry["categories"], dtype=str)[None, :])
    return np.concatenate(blocks, axis=1).astype(np.float32)


def _numeric_block(values, missing, entry: dict, encoding: dict, where: str) -> np.ndarray:
    numbers = np.full(len(values), entry["fill"] or 0.0)
    present = to_float(values[~missing], encoding["delimiter"] != ",")
    if present is None:
        raise DatasetError(
            f"{where}: column {entry['column']!r} holds text, but the "
            "model was trained on numbers there."
        )
    numbers[~missing] = present
    bad = ~(np.abs(numbers) <= FLOAT32_MAX)  # NaN, inf, 1e309, 1e300
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DatasetError(
            f"{where} row {row + 1}, column {entry['column']!r}: {str(values[row]).strip()!r} "
            "is not a finite number nnstudio can use (float32 holds up to ±3.4e38). "
            "Replace it."
        )
    return numbers[:, None]


def _encoding_problem(encoding) -> str | None:
    """What is wrong with a model file's CSV encoding, as "field: problem", or None."""
    if not isinstance(encoding, dict):
        return "must be an object"
    if not isinstance(encoding.get("delimiter"), str) or len(encoding["delimiter"]) != 1:
        return "delimiter: must be one character"
    for key in ("columns", "feature_columns"):
        value = encoding.get(key)
        if value is not None and not (
            isinstance(value, list) and all(isinstance(n, str) for n in value)
        ):
            return f"{key}: must be a list of column names"
    if not isinstance(encoding.get("columns"), list):
        return "columns: is missing"
    if encoding.get("target") is not None and not isinstance(encoding["target"], str):
        return "target: must be a column name"
    features = encoding.get("features")
    if not isinstance(features, list) or not features:
        return "features: must be a non-empty list"
    for index, entry in enumerate(features):
        problem = _entry_problem(entry)
        if problem:
            return f"features[{index}]{problem}"
    return None


def _entry_problem(entry) -> str | None:
    if not isinstance(entry, dict) or not isinstance(entry.get("column"), str):
        return ": must be an object with a column name"
    fill = entry.get("fill")
    if entry.get("kind") == "numeric":
        ok = fill is None or (isinstance(fill, (int, float)) and not isinstance(fill, bool))
        return None if ok and (fill is None or abs(fill) <= FLOAT32_MAX) else ".fill: not a number"
    if entry.get("kind") != "categorical":
        return ".kind: must be numeric or categorical"
    categories = entry.get("categories")
    if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
        return ".categories: must be a list of text"
    return None if fill is None or isinstance(fill, str) else ".fill: must be text"


def checked_encoding(encoding) -> dict:
    """A model file's CSV encoding, after checking every field `encode_rows` reads: a wrong
    type is a DatasetError naming the field, not a TypeError deep inside the encoding."""
    problem = _encoding_problem(encoding)
    if problem:
        raise DatasetError(
            f"The model file's preprocessing.encoding.{problem}; the file is damaged. "
            "Save the model again."
        )
    return encoding
