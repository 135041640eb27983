"""Weight initializers, seeded through a NumPy Generator.

An initializer is called as ``init(shape, fan_in, fan_out, rng, dtype) -> array``:

>>> import numpy as np
>>> w = get_initializer("he")((784, 128), 784, 128, np.random.default_rng(0), np.float32)
>>> w.shape, w.dtype
((784, 128), dtype('float32'))

Names: "he" (Kaiming normal, for the ReLU family), "glorot" (Xavier uniform, for tanh/sigmoid/
linear), "lecun" (LeCun normal), "zeros", and "auto", which picks "he" for ReLU-family
activations and "glorot" otherwise (``get_initializer("auto", activation="relu")``).
"""

from __future__ import annotations

import math

import numpy as np

from .activations import RELU_FAMILY


def he(shape, fan_in, fan_out, rng, dtype=np.float32):
    """Normal with std sqrt(2 / fan_in): keeps activations' scale through ReLU layers."""
    return _normal(shape, math.sqrt(2.0 / fan_in), rng, dtype)


def glorot(shape, fan_in, fan_out, rng, dtype=np.float32):
    """Uniform in ±sqrt(6 / (fan_in + fan_out)): keeps variance for tanh / linear layers."""
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    values = rng.random(shape, dtype=np.dtype(dtype).type)
    values *= 2.0 * limit
    values -= limit
    return values


def lecun(shape, fan_in, fan_out, rng, dtype=np.float32):
    """Normal with std sqrt(1 / fan_in): the choice for SELU-like self-normalising nets."""
    return _normal(shape, math.sqrt(1.0 / fan_in), rng, dtype)


def zeros(shape, fan_in, fan_out, rng, dtype=np.float32):
    """All zeros. Fine for biases; for weights every unit then learns the same thing."""
    return np.zeros(shape, dtype=dtype)


def _normal(shape, std, rng, dtype):
    values = rng.standard_normal(shape, dtype=np.dtype(dtype).type)
    values *= std
    return values


INITIALIZERS = {"he": he, "glorot": glorot, "lecun": lecun, "zeros": zeros}


def initializer_names() -> list[str]:
    """Names accepted by get_initializer(), "auto" first (the default of Dense and Conv2D)."""
    return ["auto", *INITIALIZERS]


def get_initializer(name: str, activation: str | None = None):
    """The initializer called ``name``; "auto" resolves through ``activation``.

    >>> get_initializer("auto", activation="relu").__name__
    'he'
    >>> get_initializer("auto", activation="tanh").__name__
    'glorot'
    """
    if name == "auto":
        name = "he" if activation in RELU_FAMILY else "glorot"
    if name not in INITIALIZERS:
        known = ", ".join(initializer_names())
        raise ValueError(f"Could not interpret initializer {name!r}. Known: {known}")
    return INITIALIZERS[name]
