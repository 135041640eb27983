"""The arrays ``fit`` trains and validates on: checked once before training, not per batch."""

from __future__ import annotations

import numpy as np


def model_dtype(model) -> np.dtype:
    """The dtype of the model's weights (float32 for a model without any)."""
    params = model.parameters()
    return next(iter(params.values())).dtype if params else np.dtype(np.float32)


def prepare_inputs(x, y, dtype, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Arrays in the model's dtype, checked for length and NaN/inf; ``what`` names them in
    errors ("training data", "validation data")."""
    x = np.ascontiguousarray(x, dtype=dtype)
    y = np.asarray(y)
    if y.dtype.kind == "f" and y.dtype != dtype:
        y = y.astype(dtype)
    if len(x) != len(y):
        raise ValueError(f"{what}: x has {len(x)} samples but y has {len(y)}; they must match")
    if len(x) == 0:
        raise ValueError(f"{what}: there are no samples to train on")
    for name, array in (("x", x), ("y", y)):
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            bad = int(np.argwhere(~np.isfinite(array.reshape(len(array), -1)))[0, 0])
            raise ValueError(
                f"{what}: {name} contains NaN or infinite values (first at sample {bad}); "
                "clean or impute the data before training"
            )
    return x, y


def split_validation(x, y, fraction: float, seed: int):
    """``(x_train, y_train, x_val, y_val)``: a seeded random split, in the data's order within
    each part (a file sorted by class would otherwise validate on one class only)."""
    n_val = int(round(len(x) * fraction))
    if n_val < 1 or n_val >= len(x):
        raise ValueError(
            f"validation_split={fraction} leaves {len(x) - n_val} training and {n_val} "
            f"validation samples out of {len(x)}; choose a split that keeps both non-empty"
        )
    order = np.random.default_rng([seed, 0x5EED]).permutation(len(x))
    val, train = np.sort(order[:n_val]), np.sort(order[n_val:])
    return x[train], y[train], x[val], y[val]
