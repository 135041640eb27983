"""The Layer base class, its Setting metadata and ShapeError.

A layer follows Keras's split: settings in ``__init__`` (validated at once against the class's
``SETTINGS``), weights in ``build(input_shape, rng, dtype) -> output_shape``, then
``forward(x, training)`` and ``backward(grad_y)``. Shapes exclude the batch dimension.

Ownership rules that let layers work in place without surprises:

- ``forward`` never modifies its input ``x`` (the previous layer may keep it for its backward).
- ``backward`` may overwrite ``grad_y`` (it belongs to the backward pass; Sequential hands the
  last layer a copy of the caller's gradient).
"""

from __future__ import annotations

import inspect

import numpy as np

from nnstudio.engine import activations as act
from nnstudio.engine.initializers import get_initializer, initializer_names

# Setting lives in engine/settings.py (optimizers, schedules and losses use it too); layer
# modules and tests keep importing it from here.
from nnstudio.engine.settings import Setting

CATEGORIES = ("Core", "Convolution", "Pooling", "Normalization", "Regularization", "Activation")


class ShapeError(ValueError):
    """A layer cannot take the shape it is given.

    ``layer_index``/``layer_name`` say which layer, ``got`` the shape it got (without the batch
    dimension), ``needs`` what it needs in words. Layers raise it without an index; Sequential
    fills in the position and where the shape came from.
    """

    def __init__(
        self,
        needs: str,
        got: tuple,
        *,
        hint: str = "",
        layer_name: str = "",
        layer_index: int | None = None,
        source: str = "the input",
    ):
        self.needs = needs
        self.got = tuple(got)
        self.hint = hint
        self.layer_name = layer_name
        self.layer_index = layer_index
        self.source = source
        super().__init__(self._message())

    def _message(self) -> str:
        where = self.layer_name or "layer"
        if self.layer_index is not None:
            where = f"layer {self.layer_index} ({self.layer_name})"
        message = f"{where} needs {self.needs}; it got {self.got} from {self.source}."
        return f"{message} {self.hint}" if self.hint else message

    def located(self, layer_index: int, layer_name: str, source: str) -> ShapeError:
        """The same error, placed at a layer of a model."""
        return ShapeError(
            self.needs,
            self.got,
            hint=self.hint,
            layer_name=layer_name,
            layer_index=layer_index,
            source=source,
        )


class Layer:
    """Base class of every layer. Subclasses set the class attributes and override
    ``compute_output_shape``, ``forward``, ``backward`` and, if they have weights, ``_build``.
    """

    category = "Core"
    description = ""
    SETTINGS: list[Setting] = []
    #: True when the layer's weights take L1/L2 penalties (its ``l1``/``l2`` settings): the
    #: project's one regularization setting is applied to exactly these layers.
    has_regularized_weights = False

    def __init__(self, **settings):
        for setting in self.SETTINGS:
            value = settings.pop(setting.name, setting.default)
            setattr(self, setting.name, setting.validate(value, type(self).__name__))
        if settings:
            known = ", ".join(s.name for s in self.SETTINGS) or "none"
            raise ValueError(
                f"{type(self).__name__} has no setting {sorted(settings)[0]!r}. Settings: {known}."
            )
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.buffers: dict[str, np.ndarray] = {}
        self.input_shape: tuple | None = None
        self.output_shape: tuple | None = None
        self.dtype = np.dtype(np.float32)

    # --- shapes and weights -------------------------------------------------------------

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        """Output shape for ``input_shape`` (both without batch); raises ShapeError."""
        return tuple(input_shape)

    def build(self, input_shape, rng: np.random.Generator | None = None, dtype=np.float32):
        """Check the input shape, make the weights, return the output shape."""
        input_shape = tuple(int(d) for d in input_shape)
        self.output_shape = self.compute_output_shape(input_shape)
        self.input_shape = input_shape
        self.dtype = np.dtype(dtype)
        self._build(input_shape, rng if rng is not None else np.random.default_rng(0))
        self.grads = {name: np.zeros_like(value) for name, value in self.params.items()}
        return self.output_shape

    def _build(self, input_shape: tuple, rng: np.random.Generator) -> None:
        """Make ``self.params`` and ``self.buffers`` (layers without weights do nothing)."""

    @property
    def built(self) -> bool:
        return self.output_shape is not None

    # --- computation --------------------------------------------------------------------

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad_y: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """Gradient with respect to the input; fills ``self.grads`` (penalties included).

        With ``need_input_grad=False`` (the first layer of a model in training) it may skip
        that product and return None.
        """
        raise NotImplementedError

    def penalty(self) -> float:
        """The L1/L2 weight penalty this layer adds to the loss (0 without one)."""
        return 0.0

    def last_activation(self) -> tuple[str, np.ndarray] | None:
        """(activation name, output of the last forward) for layers that apply an activation,
        else None. The output is the array the layer keeps for its backward anyway, so the
        training doctor reads it for free (never modify it)."""
        return None

    def count_params(self) -> int:
        return int(sum(value.size for value in self.params.values()))

    def parameter_count(self, input_shape) -> int:
        """The parameters ``build(input_shape)`` would make, counted without making them (the
        builder sizes a 100,000-unit layer this way instead of allocating it). Raises
        ShapeError for an input the layer cannot take, as ``build`` does."""
        input_shape = tuple(int(d) for d in input_shape)
        self.compute_output_shape(input_shape)
        return int(self._parameter_count(input_shape))

    def _parameter_count(self, input_shape: tuple) -> int:
        """``parameter_count`` for an input already checked; layers with weights override it."""
        return 0

    # --- description --------------------------------------------------------------------

    def get_config(self) -> dict:
        """Plain JSON values: {"type": "Dense", "units": 10, ...}."""
        config = {"type": type(self).__name__}
        for setting in self.SETTINGS:
            value = getattr(self, setting.name)
            config[setting.name] = list(value) if isinstance(value, tuple) else value
        return config

    def __repr__(self) -> str:
        required = required_settings(type(self))
        parts = []
        for setting in self.SETTINGS:
            value = getattr(self, setting.name)
            if setting.name in required:
                parts.append(repr(value))
            elif value != setting.default:
                parts.append(f"{setting.name}={value!r}")
        return f"{type(self).__name__}({', '.join(parts)})"


ACTIVATION_CHOICES = tuple(act.ACTIVATIONS)

# Settings shared by Dense and Conv2D.
ACTIVATION_SETTING = Setting(
    "activation",
    "choice",
    "linear",
    choices=ACTIVATION_CHOICES,
    help="Function applied to the outputs. relu for hidden layers; linear for the last layer "
    "(the loss applies softmax/sigmoid itself).",
)
INITIALIZER_SETTING = Setting(
    "initializer",
    "choice",
    "auto",
    choices=tuple(initializer_names()),
    help="How the weights start. auto picks he for the relu family and glorot otherwise; "
    "keep auto unless you are experimenting.",
)
USE_BIAS_SETTING = Setting(
    "use_bias",
    "bool",
    True,
    help="Add a learned offset to each output. Keep it on (turn it off before BatchNorm).",
)
L1_SETTING = Setting(
    "l1",
    "float",
    0.0,
    minimum=0.0,
    maximum=1.0,
    help="L1 penalty on the weights (adds l1 * sum|W| to the loss); pushes weights to exactly "
    "zero. 0 to disable; 1e-5 to 1e-3 is a typical range.",
)
L2_SETTING = Setting(
    "l2",
    "float",
    0.0,
    minimum=0.0,
    maximum=1.0,
    help="L2 penalty on the weights (adds l2 * sum W^2 to the loss); keeps weights small and "
    "curbs overfitting. 0 to disable; 1e-4 is a good start.",
)


class WeightedLayer(Layer):
    """Shared parts of Dense and Conv2D: fused activation, initializer, L1/L2 penalties."""

    has_regularized_weights = True
    #: When True, forward keeps a copy of the pre-activation z (``recorded_z``) and backward a
    #: copy of dL/dz (``recorded_grad_z``). Off in training (the copies cost memory and time);
    #: the one-sample explainer (nnstudio.project.explain) turns it on for its own model copy.
    record_internals = False

    def _setup_activation(self):
        self._activation = act.get_activation(self.activation)

    def _init_weights(self, shape, fan_in, fan_out, n_outputs, rng):
        init = get_initializer(self.initializer, activation=self.activation)
        self.params["W"] = init(shape, fan_in, fan_out, rng, self.dtype)
        if self.use_bias:
            self.params["b"] = np.zeros(n_outputs, self.dtype)

    def _activate(self, z, out=None):
        """Apply the activation, overwriting ``z`` (Dense) or writing ``out`` (Conv2D).

        Functions whose derivative needs only their output (relu, sigmoid, ...) work in place;
        the others (gelu) keep the pre-activation for backward.
        """
        function = self._activation
        if self.record_internals:
            self.recorded_z = np.array(z, copy=True)
        if function.needs_input:
            if out is not None:
                np.copyto(out, z)
                z = out
            self._z = z
            self._y = function.forward(z)
        else:
            self._z = None
            self._y = function.forward(z, out=z if out is None else out)
        return self._y

    def _activation_grad(self, grad_y, out=None):
        """Gradient with respect to the pre-activation, written to ``out`` if given, else
        possibly into grad_y's memory."""
        function, z, y = self._activation, self._z, self._y
        if out is None:
            if isinstance(function, act.Linear):
                grad_z = grad_y
            else:
                out = grad_y if grad_y.flags.writeable else None
                grad_z = function.backward(z, y, grad_y, out=out)
        else:
            if isinstance(function, act.Linear):
                np.copyto(out, grad_y)
            else:
                function.backward(z, y, grad_y, out=out)
            grad_z = out
        if self.record_internals:
            self.recorded_grad_z = np.array(grad_z, copy=True)
        return grad_z

    def last_activation(self) -> tuple[str, np.ndarray] | None:
        y = getattr(self, "_y", None)
        return None if y is None else (self.activation, y)

    def penalty(self) -> float:
        W = self.params.get("W")
        if W is None:
            return 0.0
        total = 0.0
        if self.l1:
            total += self.l1 * float(np.abs(W).sum())
        if self.l2:
            total += self.l2 * float(np.vdot(W, W))
        return total

    def _add_penalty_grads(self):
        W, dW = self.params["W"], self.grads["W"]
        if self.l1:
            dW += self.l1 * np.sign(W)
        if self.l2:
            dW += (2.0 * self.l2) * W


def required_settings(cls) -> set[str]:
    """Constructor parameters without a default, e.g. {"units"} for Dense (repr shows them
    without their name; a config must give them)."""
    parameters = inspect.signature(cls.__init__).parameters.values()
    return {
        p.name
        for p in parameters
        if p.default is inspect.Parameter.empty
        and p.name != "self"
        and p.kind is p.POSITIONAL_OR_KEYWORD
    }
