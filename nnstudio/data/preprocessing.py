"""Splits, scaling and one-hot helpers.

Scaling statistics are fitted on the training split only (fitting them on all the data would
leak the validation and test sets into training) and are plain lists, so they go into the
project file and the model file as JSON. ``apply_scaling`` / ``undo_scaling`` (defined beside
the Dataset that carries the statistics, re-exported here) are the one place that uses them.

>>> import numpy as np
>>> x = np.arange(20, dtype=np.float32).reshape(10, 2); y = np.array([0, 1] * 5)
>>> x_tr, y_tr, x_va, y_va, x_te, y_te = split(x, y, 0.2, 0.2, seed=0)
>>> len(x_tr), len(x_va), len(x_te), sorted(y_va.tolist())
(6, 2, 2, [0, 1])
"""

from __future__ import annotations

import numpy as np

from .dataset import SCALING_METHODS, DatasetError, apply_scaling, saved_scaling, undo_scaling

__all__ = [
    "apply_scaling",
    "check_fractions",
    "fit_scaler",
    "from_one_hot",
    "one_hot",
    "saved_scaling",
    "split",
    "split_indices",
    "undo_scaling",
]


# The shares held out for validation and test when nothing says otherwise (a project's
# dataset settings, project/settings.py, read them from here).
DEFAULT_VAL_FRACTION = 0.15
DEFAULT_TEST_FRACTION = 0.15


def check_fractions(val_fraction: float, test_fraction: float) -> None:
    """Raise DatasetError unless both fractions are in [0, 1) and leave some training data."""
    for label, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0.0 <= value < 1.0:
            raise DatasetError(f"{label} must be between 0 and 1 (got {value}).")
    if val_fraction + test_fraction >= 1.0:
        raise DatasetError(
            f"val_fraction + test_fraction = {val_fraction + test_fraction:g} leaves no "
            f"training data; keep their sum below 1 (e.g. {DEFAULT_VAL_FRACTION} and "
            f"{DEFAULT_TEST_FRACTION})."
        )


def _allocate(counts: np.ndarray, total: int) -> np.ndarray:
    """Split `total` over groups in proportion to `counts` (largest remainder), so the
    stratified split sizes add up to exactly round(N * fraction)."""
    exact = counts * (total / max(counts.sum(), 1))
    share = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - share), kind="stable")
    share[order[: total - share.sum()]] += 1
    return share


def split_indices(
    n_or_labels,
    val_fraction=DEFAULT_VAL_FRACTION,
    test_fraction=DEFAULT_TEST_FRACTION,
    seed=0,
    stratify=None,
):
    """Seeded (train, val, test) index arrays, each sorted.

    `n_or_labels` is a sample count, or int labels (N,) for a stratified split that keeps the
    class balance in every split (default: stratify when labels are given). Every class keeps
    at least one training sample.

    >>> [len(i) for i in split_indices(100, 0.1, 0.2)]
    [70, 10, 20]
    """
    check_fractions(val_fraction, test_fraction)
    labels = None if np.isscalar(n_or_labels) else np.asarray(n_or_labels)
    n = int(n_or_labels) if labels is None else len(labels)
    n_val, n_test = round(n * val_fraction), round(n * test_fraction)
    rng = np.random.default_rng(seed)
    if labels is None or stratify is False:
        order = rng.permutation(n)
        parts = order[n_val + n_test :], order[:n_val], order[n_val : n_val + n_test]
        return tuple(np.sort(p) for p in parts)
    classes, inverse = np.unique(labels, return_inverse=True)
    counts = np.bincount(inverse, minlength=len(classes))
    # Every class keeps one sample for training, so no split takes a class away from it.
    spare = np.maximum(counts - 1, 0)
    val_share = _allocate(spare, min(n_val, spare.sum()))
    test_share = _allocate(spare - val_share, min(n_test, (spare - val_share).sum()))
    train, val, test = [], [], []
    for k in range(len(classes)):
        members = rng.permutation(np.flatnonzero(inverse == k))
        v, t = val_share[k], test_share[k]
        val.append(members[:v])
        test.append(members[v : v + t])
        train.append(members[v + t :])
    return tuple(np.sort(np.concatenate(p)) for p in (train, val, test))


def split(
    x,
    y,
    val_fraction=DEFAULT_VAL_FRACTION,
    test_fraction=DEFAULT_TEST_FRACTION,
    seed=0,
    stratify=None,
):
    """(x_train, y_train, x_val, y_val, x_test, y_test), seeded.

    Stratified by default when y holds int labels (N,) (classification).
    """
    labels = y if (y.ndim == 1 and np.issubdtype(y.dtype, np.integer)) else None
    if labels is None or stratify is False:
        idx = split_indices(len(x), val_fraction, test_fraction, seed)
    else:
        idx = split_indices(labels, val_fraction, test_fraction, seed)
    return tuple(a[i] for i in idx for a in (x, y))


def fit_scaler(x_train: np.ndarray, method: str = "standardize") -> dict:
    """Scaling statistics of the training inputs, as plain lists.

    Per feature for (N, F), per channel for images (N, C, H, W). Constant features get a
    divisor of 1 instead of 0, so they become 0 rather than NaN.

    >>> fit_scaler(np.array([[0.0, 5.0], [2.0, 5.0]]), "minmax")
    {'method': 'minmax', 'min': [0.0, 5.0], 'max': [2.0, 6.0]}
    """
    if method not in SCALING_METHODS:
        raise DatasetError(
            f"Unknown scaling {method!r}. Choose one of: {', '.join(SCALING_METHODS)}."
        )
    if method == "none":
        return {"method": "none"}
    if len(x_train) == 0:
        raise DatasetError("Cannot fit scaling statistics on an empty training split.")
    axes = (0,) + tuple(range(2, x_train.ndim))  # keep axis 1: features or channels
    data = x_train.astype(np.float64, copy=False)
    if method == "standardize":
        mean, std = data.mean(axis=axes), data.std(axis=axes)
        std[std < 1e-12] = 1.0
        return {"method": "standardize", "mean": mean.tolist(), "std": std.tolist()}
    low, high = data.min(axis=axes), data.max(axis=axes)
    high = np.where(high - low < 1e-12, low + 1.0, high)
    return {"method": "minmax", "min": low.tolist(), "max": high.tolist()}


def one_hot(labels, n_classes: int | None = None, dtype=np.float32) -> np.ndarray:
    """(N,) int labels to (N, n_classes) one-hot rows.

    >>> one_hot(np.array([2, 0]), 3).tolist()
    [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise DatasetError(
            f"one_hot needs int labels of shape (N,), got {labels.dtype} {labels.shape}."
        )
    n_classes = int(labels.max()) + 1 if n_classes is None and len(labels) else n_classes or 0
    if len(labels) and (labels.min() < 0 or labels.max() >= n_classes):
        raise DatasetError(
            f"Labels must be in 0..{n_classes - 1}; found {labels.min()}..{labels.max()}."
        )
    out = np.zeros((len(labels), n_classes), dtype=dtype)
    out[np.arange(len(labels)), labels] = 1
    return out


def from_one_hot(rows: np.ndarray) -> np.ndarray:
    """(N, K) one-hot (or probabilities) back to int64 labels (N,).

    >>> from_one_hot(np.array([[0, 1], [1, 0]])).tolist()
    [1, 0]
    """
    return np.asarray(rows).argmax(axis=1).astype(np.int64)
