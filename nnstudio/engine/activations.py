"""Activation functions: value and derivative, numerically stable, dtype-preserving.

Every activation is a small object with

- ``forward(x, out=None) -> y``: the value. Pass ``out=x`` to compute in place (layers do this
  to save a pass over memory when they own ``x``).
- ``backward(x, y, grad_y, out=None) -> grad_x``: the chain rule through the function. ``x`` may
  be ``None`` when ``needs_input`` is False (the derivative is computed from ``y`` alone), which
  lets a layer overwrite its pre-activation with the activation.
- ``name``, ``SETTINGS`` (leaky_relu's and elu's ``alpha``) and ``get_config()``.

>>> import numpy as np
>>> relu = get_activation("relu")
>>> relu.forward(np.array([-1.0, 2.0]))
array([0., 2.])
>>> get_activation("leaky_relu", alpha=0.1)
LeakyReLU(alpha=0.1)
>>> get_activation("elu").get_config()
{'type': 'elu', 'alpha': 1.0}

All functions stay finite and warning-free for inputs as large as ±1e4 (and beyond): the
exponentials only ever see non-positive arguments.
"""

from __future__ import annotations

import math

import numpy as np

from .settings import Configurable, Setting

# sqrt(2 / pi) as a Python float, so float32 arrays stay float32 (NumPy scalars would upcast).
_GELU_C = math.sqrt(2.0 / math.pi)
_GELU_K = 0.044715
# tanh(_GELU_C * (x + _GELU_K x^3)) is exactly ±1 in float64 well before |x| = 20, so clipping
# the cubic term there changes nothing and keeps x^3 from overflowing for huge inputs.
_GELU_CLIP = 20.0


class ActivationFunction(Configurable):
    """Base class: an elementwise (or row-wise, for softmax) function and its derivative."""

    name = "base"
    #: True when backward() needs the pre-activation x (False: y alone is enough).
    needs_input = False

    @classmethod
    def config_type(cls) -> str:
        return cls.name

    def forward(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        raise NotImplementedError

    def backward(
        self, x: np.ndarray | None, y: np.ndarray, grad_y: np.ndarray, out=None
    ) -> np.ndarray:
        raise NotImplementedError

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and self.get_config() == other.get_config()

    def __hash__(self) -> int:
        return hash((type(self).__name__, tuple(sorted(self.get_config().items()))))


class Linear(ActivationFunction):
    """The identity: y = x. Use it for the last layer of a regression or logit output."""

    name = "linear"

    def forward(self, x, out=None):
        if out is None or out is x:
            return x
        np.copyto(out, x)
        return out

    def backward(self, x, y, grad_y, out=None):
        return grad_y


class ReLU(ActivationFunction):
    """y = max(x, 0). The default for hidden layers: cheap and does not saturate for x > 0."""

    name = "relu"

    def forward(self, x, out=None):
        return np.maximum(x, 0.0, out=out)

    def backward(self, x, y, grad_y, out=None):
        # y > 0 exactly where x > 0, so the output alone decides the derivative.
        return np.multiply(grad_y, y > 0.0, out=out)


class LeakyReLU(ActivationFunction):
    """y = x for x > 0, alpha * x otherwise. Keeps a small gradient for negative inputs.

    ``alpha`` must be in [0, 1): then y > 0 exactly where x > 0.
    """

    name = "leaky_relu"
    SETTINGS = (
        Setting(
            "alpha",
            "float",
            0.01,
            minimum=0,
            maximum=1,
            exclusive_maximum=True,
            label="α",
            help="Slope for negative inputs; 0.01 keeps a small gradient where relu has none.",
        ),
    )

    def forward(self, x, out=None):
        # max(x, alpha x) equals x for x > 0 and alpha x otherwise when 0 <= alpha < 1.
        return np.maximum(x, x * self.alpha, out=out)

    def backward(self, x, y, grad_y, out=None):
        slope = np.where(y > 0.0, 1.0, self.alpha).astype(grad_y.dtype, copy=False)
        return np.multiply(grad_y, slope, out=out)


class ELU(ActivationFunction):
    """y = x for x > 0, alpha * (exp(x) - 1) otherwise. Smooth, with negative outputs."""

    name = "elu"
    SETTINGS = (
        Setting(
            "alpha",
            "float",
            1.0,
            minimum=0,
            exclusive_minimum=True,
            label="α",
            help="The value approached for very negative inputs (-alpha); 1.0 is standard.",
        ),
    )

    def forward(self, x, out=None):
        # expm1 of min(x, 0): never overflows, and is accurate near 0.
        negative = np.expm1(np.minimum(x, 0.0))
        negative *= self.alpha
        y = np.where(x > 0.0, x, negative)
        if out is None:
            return y
        np.copyto(out, y)
        return out

    def backward(self, x, y, grad_y, out=None):
        # For x <= 0: d/dx alpha (e^x - 1) = alpha e^x = y + alpha. y > 0 exactly where x > 0.
        slope = np.where(y > 0.0, 1.0, y + self.alpha).astype(grad_y.dtype, copy=False)
        return np.multiply(grad_y, slope, out=out)


class GELU(ActivationFunction):
    """Gaussian error linear unit, tanh approximation (as in BERT and GPT-2):

    y = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
    """

    name = "gelu"
    needs_input = True

    def _inner_tanh(self, x):
        clipped = np.clip(x, -_GELU_CLIP, _GELU_CLIP)
        return np.tanh(_GELU_C * (clipped + _GELU_K * clipped**3))

    def forward(self, x, out=None):
        t = self._inner_tanh(x)
        t += 1.0
        t *= x
        return np.multiply(t, 0.5, out=out)

    def backward(self, x, y, grad_y, out=None):
        clipped = np.clip(x, -_GELU_CLIP, _GELU_CLIP)
        t = np.tanh(_GELU_C * (clipped + _GELU_K * clipped**3))
        # d/dx = 0.5 (1 + t) + 0.5 x (1 - t^2) c (1 + 3k x^2); outside the clip the second
        # term is 0 because 1 - t^2 is 0 there (and clipped x keeps x^2 finite).
        inner_slope = _GELU_C * (1.0 + 3.0 * _GELU_K * clipped**2)
        slope = 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * inner_slope
        return np.multiply(grad_y, slope, out=out)


class Sigmoid(ActivationFunction):
    """y = 1 / (1 + exp(-x)), in (0, 1). For a probability output (or use a from-logits loss)."""

    name = "sigmoid"

    def forward(self, x, out=None):
        return sigmoid(x, out=out)

    def backward(self, x, y, grad_y, out=None):
        return np.multiply(grad_y, y * (1.0 - y), out=out)


class Tanh(ActivationFunction):
    """y = tanh(x), in (-1, 1). Zero-centred; saturates for large |x|."""

    name = "tanh"

    def forward(self, x, out=None):
        return np.tanh(x, out=out)

    def backward(self, x, y, grad_y, out=None):
        return np.multiply(grad_y, 1.0 - y * y, out=out)


class Softmax(ActivationFunction):
    """y_i = exp(x_i) / sum_j exp(x_j) along axis 1 (features, or channels of an image).

    Turns scores into probabilities that sum to 1. For training a classifier prefer a linear
    output with the ``softmax_crossentropy`` loss, which fuses the two stably.
    """

    name = "softmax"

    def forward(self, x, out=None):
        return softmax(x, axis=1, out=out)

    def backward(self, x, y, grad_y, out=None):
        # Jacobian-vector product: y * (g - sum(g * y)).
        dot = np.sum(grad_y * y, axis=1, keepdims=True)
        result = np.subtract(grad_y, dot, out=out)
        result *= y
        return result


def sigmoid(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Logistic function without overflow: exp only ever sees -|x|.

    >>> sigmoid(np.array([-1e4, 0.0, 1e4]))
    array([0. , 0.5, 1. ])
    """
    e = np.exp(-np.abs(x))
    denominator = 1.0 + e
    numerator = np.where(x >= 0, 1.0, e).astype(e.dtype, copy=False)
    return np.divide(numerator, denominator, out=out)


def softmax(x: np.ndarray, axis: int = -1, out: np.ndarray | None = None) -> np.ndarray:
    """Softmax along ``axis``, shifted by the maximum so exp never overflows.

    >>> softmax(np.array([[1e4, 0.0]]))
    array([[1., 0.]])
    """
    shifted = np.subtract(x, np.max(x, axis=axis, keepdims=True), out=out)
    np.exp(shifted, out=shifted)
    shifted /= np.sum(shifted, axis=axis, keepdims=True)
    return shifted


ACTIVATIONS: dict[str, type[ActivationFunction]] = {
    cls.name: cls for cls in (Linear, ReLU, LeakyReLU, ELU, GELU, Sigmoid, Tanh, Softmax)
}
#: The names of the ReLU family; "auto" initialization picks He initialization for these.
RELU_FAMILY = frozenset({"relu", "leaky_relu", "elu", "gelu"})


def activation_names() -> list[str]:
    """All activation names, in a stable order (for menus and error messages)."""
    return list(ACTIVATIONS)


def get_activation(name, **settings) -> ActivationFunction:
    """Look up an activation by name (``None`` means linear); instances pass through.

    >>> get_activation("tanh")
    Tanh()
    >>> get_activation("rleu")
    Traceback (most recent call last):
    ...
    ValueError: Could not interpret activation 'rleu'. Known: linear, relu, leaky_relu, elu, gelu, sigmoid, tanh, softmax
    """  # noqa: E501
    if isinstance(name, ActivationFunction):
        return name
    if name is None:
        name = "linear"
    key = str(name).lower() if isinstance(name, str) else name
    if key not in ACTIVATIONS:
        known = ", ".join(ACTIVATIONS)
        raise ValueError(f"Could not interpret activation {name!r}. Known: {known}")
    cls = ACTIVATIONS[key]
    if settings and not cls.SETTINGS:
        configurable = ", ".join(name for name, other in ACTIVATIONS.items() if other.SETTINGS)
        raise ValueError(
            f"activation {key!r} takes no settings; got {sorted(settings)}. "
            f"Only {configurable} take settings."
        )
    return cls(**settings)
