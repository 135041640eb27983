"""The core layers: Dense, Flatten, Reshape, Dropout, Rescale and the activation layers.

``nnstudio.engine.layers`` gathers these and the image and normalisation layers in one
namespace (``from nnstudio.engine.layers import Dense, Conv2D``).

>>> import numpy as np
>>> dense = Dense(3, activation="relu")
>>> dense.build((4,), np.random.default_rng(0))
(3,)
>>> dense.forward(np.ones((2, 4), dtype=np.float32)).shape
(2, 3)
>>> dense
Dense(3, activation='relu')
>>> Dense(10).parameter_count((784,))  # counted without allocating the weights
7850
"""

from __future__ import annotations

import math

import numpy as np

from nnstudio.engine import activations as act
from nnstudio.engine.blas import ones
from nnstudio.engine.layers.base import (
    ACTIVATION_CHOICES,
    ACTIVATION_SETTING,
    INITIALIZER_SETTING,
    L1_SETTING,
    L2_SETTING,
    USE_BIAS_SETTING,
    Layer,
    Setting,
    ShapeError,
    WeightedLayer,
)


class Dense(WeightedLayer):
    """Fully connected layer: y = activation(x @ W + b), W of shape (inputs, units).

    >>> Dense(10, activation="softmax", l2=1e-4)
    Dense(10, activation='softmax', l2=0.0001)
    """

    category = "Core"
    description = "Fully connected: each output is a weighted sum of all inputs plus a bias."
    SETTINGS = [
        Setting(
            "units",
            "int",
            32,
            minimum=1,
            maximum=100_000,
            help="Number of outputs (neurons). 32-256 for hidden layers; the number of "
            "classes (or targets) for the last layer.",
        ),
        ACTIVATION_SETTING,
        INITIALIZER_SETTING,
        USE_BIAS_SETTING,
        L1_SETTING,
        L2_SETTING,
    ]

    def __init__(
        self, units, activation="linear", initializer="auto", use_bias=True, l1=0.0, l2=0.0
    ):
        super().__init__(
            units=units,
            activation=activation or "linear",
            initializer=initializer,
            use_bias=use_bias,
            l1=l1,
            l2=l2,
        )
        self._setup_activation()

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 1:
            raise ShapeError("input (features,)", input_shape, hint="Add Flatten before Dense.")
        return (self.units,)

    def _build(self, input_shape, rng):
        fan_in = input_shape[0]
        self._init_weights((fan_in, self.units), fan_in, self.units, self.units, rng)

    def _parameter_count(self, input_shape):
        """W (inputs × units) and b (units)."""
        return (input_shape[0] + int(self.use_bias)) * self.units

    def forward(self, x, training=False):
        self._x = x
        z = np.matmul(x, self.params["W"])
        if self.use_bias:
            z += self.params["b"]
        return self._activate(z)

    def backward(self, grad_y, need_input_grad=True):
        g = self._activation_grad(grad_y)
        np.matmul(self._x.T, g, out=self.grads["W"])
        if self.use_bias:
            np.matmul(ones(len(g), g.dtype), g, out=self.grads["b"])  # the sum over the batch
        self._add_penalty_grads()
        return np.matmul(g, self.params["W"].T) if need_input_grad else None


class Flatten(Layer):
    """Flattens each sample to one axis: (channels, height, width) → (channels·height·width,)."""

    category = "Core"
    description = "Turns an image (or any shape) into a flat vector, for Dense layers."

    def __init__(self):
        super().__init__()

    def compute_output_shape(self, input_shape):
        return (math.prod(input_shape),)

    def forward(self, x, training=False):
        return x.reshape(len(x), -1)

    def backward(self, grad_y, need_input_grad=True):
        return grad_y.reshape((len(grad_y), *self.input_shape))


class Reshape(Layer):
    """Gives each sample a new shape with the same number of values; one size may be -1.

    >>> Reshape((1, 28, 28)).compute_output_shape((784,))
    (1, 28, 28)
    """

    category = "Core"
    description = "Gives each sample a new shape, e.g. 784 values → 1×28×28 image."
    SETTINGS = [
        Setting(
            "shape",
            "shape",
            (1, 28, 28),
            help="The new shape without the batch, e.g. [1, 28, 28] to turn 784 pixels "
            "into a one-channel image; one size may be -1 (worked out from the rest).",
        ),
    ]

    def __init__(self, shape):
        super().__init__(shape=shape)

    def compute_output_shape(self, input_shape):
        size = math.prod(input_shape)
        known = math.prod(d for d in self.shape if d != -1)
        if -1 in self.shape:
            if size % known:
                raise ShapeError(
                    f"a multiple of {known} values to fill {self.shape}",
                    input_shape,
                    hint="Change the Reshape shape.",
                )
            return tuple(size // known if d == -1 else d for d in self.shape)
        if size != known:
            raise ShapeError(
                f"{known} values to make {self.shape}",
                input_shape,
                hint=f"It has {size} values; change the Reshape shape.",
            )
        return self.shape

    def forward(self, x, training=False):
        return x.reshape((len(x), *self.output_shape))

    def backward(self, grad_y, need_input_grad=True):
        return grad_y.reshape((len(grad_y), *self.input_shape))


class Dropout(Layer):
    """Inverted dropout: in training, zeroes a random fraction ``rate`` of the values and scales
    the rest by 1 / (1 - rate), so nothing changes at evaluation time (identity).
    """

    category = "Regularization"
    description = "Randomly drops values while training, so the network cannot rely on any one."
    SETTINGS = [
        Setting(
            "rate",
            "float",
            0.5,
            minimum=0.0,
            maximum=0.95,
            help="Fraction of values set to zero while training. 0.2-0.5 is typical; "
            "0 disables the layer.",
        ),
    ]

    def __init__(self, rate=0.5):
        super().__init__(rate=rate)
        self.rng = np.random.default_rng(0)
        self._mask = None

    def _build(self, input_shape, rng):
        # Own generator, seeded from the model's: masks differ per layer and per batch but are
        # reproducible for a given model seed.
        self.rng = np.random.default_rng(rng.integers(2**63))

    def forward(self, x, training=False):
        if not training or self.rate == 0.0:
            self._mask = None
            return x
        keep = self.rng.random(x.shape, dtype=np.float32) >= self.rate
        self._mask = np.multiply(keep, 1.0 / (1.0 - self.rate), dtype=x.dtype)
        return x * self._mask

    def backward(self, grad_y, need_input_grad=True):
        if self._mask is None:
            return grad_y
        return np.multiply(grad_y, self._mask, out=grad_y if grad_y.flags.writeable else None)


# --- activation layers -------------------------------------------------------------------


class Activation(Layer):
    """Applies an activation function on its own (the same as Dense's ``activation=``)."""

    category = "Activation"
    description = "Applies an activation function (relu, tanh, softmax, ...) to each value."
    #: Functions with an alpha setting (the others reject one).
    TAKES_ALPHA = ("leaky_relu", "elu")
    SETTINGS = [
        Setting(
            "function",
            "choice",
            "relu",
            choices=ACTIVATION_CHOICES,
            help="The function to apply. relu is a good default for hidden layers.",
        ),
        Setting(
            "alpha",
            "float",
            None,
            minimum=0.0,
            maximum=10.0,
            help="Slope/scale for negative inputs of leaky_relu (default 0.01) and elu "
            "(default 1.0); unused by the others.",
        ),
    ]

    def __init__(self, function="relu", alpha=None):
        super().__init__(function=function, alpha=alpha)
        self._setup_function()

    def _setup_function(self):
        takes_alpha = self.function in self.TAKES_ALPHA
        if self.alpha is not None and not takes_alpha:
            raise ValueError(
                f"activation {self.function!r} takes no alpha; got {self.alpha}. "
                "Only leaky_relu and elu use alpha."
            )
        settings = {"alpha": self.alpha} if takes_alpha and self.alpha is not None else {}
        self._function = act.get_activation(self.function, **settings)

    def forward(self, x, training=False):
        y = self._function.forward(x)
        self._x = x if self._function.needs_input else None
        self._y = y
        return y

    def backward(self, grad_y, need_input_grad=True):
        if not grad_y.flags.writeable:
            grad_y = grad_y.copy()
        return self._function.backward(self._x, self._y, grad_y, out=grad_y)

    def last_activation(self):
        y = getattr(self, "_y", None)
        return None if y is None else (self.function, y)


class _FixedActivation(Activation):
    """Base of the convenience layers (ReLU, Tanh, ...): Activation with the function fixed."""

    function_name = "relu"
    SETTINGS = []

    def __init__(self):
        Layer.__init__(self)
        self._use_fixed_function(alpha=None)

    def _use_fixed_function(self, alpha):
        self.function = self.function_name
        self.alpha = alpha
        self._setup_function()


class ReLU(_FixedActivation):
    """y = max(x, 0)."""

    function_name = "relu"
    description = "ReLU: keeps positive values, zeroes negative ones."


class LeakyReLU(_FixedActivation):
    """y = x for x > 0, alpha * x otherwise."""

    function_name = "leaky_relu"
    description = "Like ReLU with a small slope for negative values."
    SETTINGS = [
        Setting(
            "alpha",
            "float",
            0.01,
            minimum=0.0,
            maximum=0.99,
            help="Slope for negative inputs; 0.01 keeps a small gradient where relu has none.",
        ),
    ]

    def __init__(self, alpha=0.01):
        Layer.__init__(self, alpha=alpha)  # validates alpha against SETTINGS
        self._use_fixed_function(self.alpha)


class ELU(_FixedActivation):
    """y = x for x > 0, alpha * (exp(x) - 1) otherwise."""

    function_name = "elu"
    description = "Smooth ReLU variant with negative outputs."
    SETTINGS = [
        Setting(
            "alpha",
            "float",
            1.0,
            minimum=0.0,
            maximum=10.0,
            exclusive_minimum=True,
            help="Value approached for very negative inputs (-alpha); 1.0 is standard.",
        ),
    ]

    def __init__(self, alpha=1.0):
        Layer.__init__(self, alpha=alpha)  # validates alpha against SETTINGS
        self._use_fixed_function(self.alpha)


class GELU(_FixedActivation):
    """Gaussian error linear unit (tanh approximation)."""

    function_name = "gelu"
    description = "Smooth ReLU variant used in transformers."


class Sigmoid(_FixedActivation):
    """y = 1 / (1 + exp(-x))."""

    function_name = "sigmoid"
    description = "Squashes values into (0, 1)."


class Tanh(_FixedActivation):
    """y = tanh(x)."""

    function_name = "tanh"
    description = "Squashes values into (-1, 1)."


class Softmax(_FixedActivation):
    """Softmax over features (or over channels of an image)."""

    function_name = "softmax"
    description = "Turns scores into probabilities that sum to 1."


class Rescale(Layer):
    """``y = x · scale + offset`` per output value, with fixed numbers (nothing is trained).

    A project puts it after a regression network's last layer, made from the training targets'
    spread and mean (``Rescale.for_targets``). The network then learns outputs of size ~1 in
    any units: Adam moves a weight by about the learning rate per step, so outputs of 50,000
    would take thousands of steps. Outputs, metrics and saved models stay in the data's units.
    Not offered in the layer palette.

    >>> layer = Rescale([2.0], [10.0])
    >>> layer.build((1,))
    (1,)
    >>> layer.forward(np.array([[1.0]], np.float32)).tolist()
    [[12.0]]
    """

    category = "Core"
    description = "Scales the outputs to the units of regression targets (added automatically)."
    SETTINGS = [
        Setting(
            "scale", "numbers", help="Multiplies each output.", minimum=0.0, exclusive_minimum=True
        ),
        Setting("offset", "numbers", help="Is added to each output after the scaling."),
    ]

    def __init__(self, scale, offset):
        super().__init__(scale=scale, offset=offset)
        if len(self.scale) != len(self.offset):
            raise ValueError(
                f"Rescale needs as many offsets as scales; got {len(self.scale)} and "
                f"{len(self.offset)}."
            )

    @classmethod
    def for_targets(cls, y: np.ndarray) -> Rescale:
        """From regression targets (N, k): their spread and mean per column (a constant
        column keeps a scale of 1)."""
        y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
        spread = y.std(axis=0)
        scale = np.where(spread > 1e-12 * np.maximum(np.abs(y.mean(axis=0)), 1.0), spread, 1.0)
        return cls(scale.tolist(), y.mean(axis=0).tolist())

    def compute_output_shape(self, input_shape):
        if tuple(input_shape) != (len(self.scale),):
            raise ShapeError(f"input ({len(self.scale)},)", input_shape)
        return tuple(input_shape)

    def _build(self, input_shape, rng):
        self._scale = np.asarray(self.scale, dtype=self.dtype)
        self._offset = np.asarray(self.offset, dtype=self.dtype)

    def forward(self, x, training=False):
        return x * self._scale + self._offset

    def backward(self, grad_y, need_input_grad=True):
        return grad_y * self._scale if need_input_grad else None
