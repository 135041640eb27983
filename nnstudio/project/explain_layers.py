"""How each layer class is explained and inspected, in one place: its formula, what its
mode means, what one "unit" of it is (a convolution's is a whole channel), which of its
weights the update page and the gradient check show for a unit, and what the inspector's
forward and backward pages say about it.

:data:`EXPLAINERS` has one entry per layer class, looked up along the class's bases (ReLU
finds Activation's): a new layer type is explained by adding its entry here.

>>> from nnstudio.engine.layers import Conv2D, ReLU
>>> explainer_for(Conv2D).unit_word, explainer_for(ReLU) is EXPLAINERS[Activation]
('channel', True)
"""

from __future__ import annotations

import copy

import numpy as np

from nnstudio.engine.layers import (
    Activation,
    AvgPool2D,
    BatchNorm,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    MaxPool2D,
    Rescale,
    Reshape,
)
from nnstudio.project.explain_steps import LayerStep, format_number, signed_term

fmt = format_number


class LayerExplainer:
    """The plain case, for layers that pass values on: each output value is a unit, and the
    formula is the layer's name. Entries for other layer classes override what differs."""

    unit_word = "unit"  # what the inspector's unit box picks
    #: z is a weighted sum of the inputs, worth showing beside a = f(z) (an Activation
    #: layer's z is just its input).
    weighted_sum = False
    #: Each unit sums every input with its own weight (z_j = Σ_i w_ij·x_i + b_j): the
    #: inspector lists those terms, and shows W[:, j] as the unit's incoming weights.
    fully_connected = False
    #: In the node-by-node view: "column" (a column of units), "skipped" (values pass on
    #: unchanged), or "unsupported" (the view cannot draw networks with this layer).
    node_by_node = "unsupported"

    def formula(self, layer) -> str:
        return type(layer).__name__

    def note(self, layer, training: bool, input_shape: tuple) -> str:
        """What the mode (training or inference) means for this layer, in words."""
        return ""

    def random_state(self, layer):
        """The state of the random draws the layer makes in a pass (None: it makes none), so
        the gradient check can draw the same again."""
        return None

    def mask(self, layer) -> np.ndarray | None:
        """The random mask of the last pass, for the whole batch (None: no mask)."""
        return None

    # -- one unit, for the inspector ----------------------------------------------------------

    def unit_count(self, step: LayerStep) -> int:
        return int(step.output.size)

    def busiest_unit(self, step: LayerStep) -> int:
        """The unit shown first: the most active one."""
        return int(np.argmax(np.ravel(step.output)))

    def flat_unit(self, step: LayerStep, unit: int) -> int:
        """The flat output index the chain rule is shown for."""
        return unit

    def unit_of_flat(self, step: LayerStep, flat: int) -> int:
        """The unit a flat output index belongs to."""
        return flat

    def cells_of(self, values: np.ndarray, unit: int):
        """The flat indices of ``values`` (the layer's output or z) that belong to ``unit``."""
        return unit

    def unit_entries(self, step: LayerStep, unit: int, count: int) -> dict[str, list]:
        """The weight entries the update page and the gradient check show for ``unit``."""
        return {
            step.parameter_name(key): [np.unravel_index(unit % grad.size, grad.shape)]
            for key, grad in step.grads.items()
        }

    def backward_lines(self, step: LayerStep, unit: int) -> list[str]:
        """How the weights' gradients follow from dL/dz, in words (after the chain rule)."""
        return []

    def describe_unit(self, step: LayerStep, unit: int) -> str:
        """One unit's forward pass in a line or two, with its numbers."""
        flat_in, flat_out = np.ravel(step.input), np.ravel(step.output)
        if flat_in.size == flat_out.size:
            return f"value {unit}: x = {fmt(flat_in[unit])} → a = {fmt(flat_out[unit])}"
        return f"{flat_in.size} values in, {flat_out.size} out; a[{unit}] = {fmt(flat_out[unit])}"


class DenseExplainer(LayerExplainer):
    weighted_sum = True
    fully_connected = True
    node_by_node = "column"

    def formula(self, layer) -> str:
        bias = " + b" if layer.use_bias else ""
        return f"z = x·W{bias},  a = {layer.activation}(z)"

    def unit_entries(self, step, unit, count):
        column = step.grads["W"][:, unit]
        rows = np.argsort(-np.abs(column), kind="stable")[:count]
        entries = {step.parameter_name("W"): [(int(r), unit) for r in rows]}
        if "b" in step.grads:
            entries[step.parameter_name("b")] = [(unit,)]
        return entries

    def backward_lines(self, step, unit):
        return [
            f"dL/dW_i,{unit} = x_i · dL/dz_{unit}   dL/db_{unit} = dL/dz_{unit}",
            "dL/dx_i = Σ_j W_i,j · dL/dz_j  (handed to the layer before)",
        ]

    def describe_unit(self, step, unit):
        c = top_contributions(step, unit, 0)
        a = float(step.output[unit])
        return (
            f"unit {unit}:  z_{unit} = Σ_i w_i,{unit}·x_i + b_{unit} = {fmt(c['sum'])} "
            f"{signed_term(c['bias'])} = {fmt(c['z'])}\n"
            f"          a_{unit} = {step.activation}(z_{unit}) = {step.activation}"
            f"({fmt(c['z'])}) = {fmt(a)}"
        )


class ConvExplainer(LayerExplainer):
    """A convolution's unit is a channel: one filter and its whole feature map."""

    unit_word = "channel"
    weighted_sum = True

    def formula(self, layer) -> str:
        bias = " + b" if layer.use_bias else ""
        k = layer.kernel_size
        return f"z = W ∗ x{bias} ({k}×{k} filters),  a = {layer.activation}(z)"

    def unit_count(self, step):
        return step.output.shape[0]

    def busiest_unit(self, step):
        return int(np.argmax(np.abs(step.output).reshape(step.output.shape[0], -1).sum(1)))

    def flat_unit(self, step, unit):
        """The channel's position with the largest gradient."""
        channel = step.grad_z[unit] if step.grad_z is not None else step.output[unit]
        return unit * channel.size + int(np.argmax(np.abs(channel)))

    def unit_of_flat(self, step, flat):
        return flat // max(step.output[0].size, 1)

    def cells_of(self, values, unit):
        size = values[0].size
        return range(unit * size, (unit + 1) * size)

    def unit_entries(self, step, unit, count):
        entries: dict[str, list] = {}
        channel = unit % step.grads["W"].shape[0]
        flat = np.abs(step.grads["W"][channel]).ravel()
        for position in np.argsort(-flat, kind="stable")[:count]:
            index = (channel, *np.unravel_index(position, step.grads["W"].shape[1:]))
            entries.setdefault(step.parameter_name("W"), []).append(tuple(map(int, index)))
        if "b" in step.grads:
            entries[step.parameter_name("b")] = [(channel,)]
        return entries

    def backward_lines(self, step, unit):
        return ["dL/dW = Σ over positions of dL/dz · the input patch;  dL/db = Σ dL/dz"]

    def describe_unit(self, step, unit):
        z, a = step.z[unit], step.output[unit]
        return (
            f"channel {unit}: z = W_{unit} ∗ x + b_{unit} over {z.size} positions, "
            f"z from {fmt(z.min())} to {fmt(z.max())}; a = {step.activation}(z) from "
            f"{fmt(a.min())} to {fmt(a.max())}"
        )


class PoolExplainer(LayerExplainer):
    def __init__(self, takes: str, gradient_goes_to: str):
        self.takes, self.gradient_goes_to = takes, gradient_goes_to

    def formula(self, layer) -> str:
        p = layer.pool_size
        to = self.gradient_goes_to.format(area=p * p)
        return f"a = {self.takes} of each {p}×{p} window; dL/dx goes to {to}"


class BatchNormExplainer(LayerExplainer):
    def formula(self, layer) -> str:
        return "a = γ · (x − μ) / √(σ² + ε) + β"

    def note(self, layer, training, input_shape):
        if not training:
            return "inference mode: μ and σ² are the running averages kept during training"
        if len(input_shape) == 1:
            return (
                "training mode: μ and σ² of this batch — one sample, so x − μ = 0, a = β and "
                "no gradient flows back through the layer (a real batch has many samples)"
            )
        return "training mode: μ and σ² of each channel over this sample's positions"


class DropoutExplainer(LayerExplainer):
    def formula(self, layer) -> str:
        return f"a = x · mask, mask = 0 (rate {layer.rate}) or 1/(1 − rate); dL/dx = dL/da · mask"

    def note(self, layer, training, input_shape):
        if training:
            return "training mode: a random mask (shown) drops values"
        return "inference mode: Dropout passes x through unchanged"

    def random_state(self, layer):
        return copy.deepcopy(layer.rng.bit_generator.state)

    def mask(self, layer):
        return getattr(layer, "_mask", None)  # set by a pass in training mode only

    def describe_unit(self, step, unit):
        if step.mask is None:
            return super().describe_unit(step, unit)
        dropped = int((step.mask == 0).sum())
        return f"mask drops {dropped} of {step.mask.size} values in this pass"


class ReshapeExplainer(LayerExplainer):
    def __init__(self, node_by_node: str = "unsupported"):
        self.node_by_node = node_by_node

    def formula(self, layer) -> str:
        return "a = x with a new shape; dL/dx = dL/da reshaped"


class ActivationExplainer(LayerExplainer):
    def formula(self, layer) -> str:
        return f"a = {layer.function}(x)"


class RescaleExplainer(LayerExplainer):
    def formula(self, layer) -> str:
        return "a = x · scale + offset (back to the targets' units)"


EXPLAINERS: dict[type, LayerExplainer] = {
    Dense: DenseExplainer(),
    Conv2D: ConvExplainer(),
    MaxPool2D: PoolExplainer("the largest value", "the window's maximum"),
    AvgPool2D: PoolExplainer("the mean", "every value, divided by {area}"),
    BatchNorm: BatchNormExplainer(),
    Dropout: DropoutExplainer(),
    Flatten: ReshapeExplainer(node_by_node="skipped"),
    Reshape: ReshapeExplainer(),
    Activation: ActivationExplainer(),  # and ReLU, Tanh, ... (its subclasses)
    Rescale: RescaleExplainer(),
}
#: A layer class with no entry (one added to the engine but not here) is still shown: by name.
UNKNOWN = LayerExplainer()


def explainer_for(layer) -> LayerExplainer:
    """The entry of a layer (or layer class): its own class's, else its nearest base's."""
    cls = layer if isinstance(layer, type) else type(layer)
    return next((EXPLAINERS[base] for base in cls.__mro__ if base in EXPLAINERS), UNKNOWN)


def random_states(model) -> dict:
    """The random generators of the layers that draw (Dropout), so a second pass draws the
    same mask."""
    states = {
        index: explainer_for(layer).random_state(layer) for index, layer in enumerate(model.layers)
    }
    return {index: state for index, state in states.items() if state is not None}


def restore_random_states(model, states: dict) -> None:
    for index, state in states.items():
        model.layers[index].rng.bit_generator.state = copy.deepcopy(state)


# -- a chosen unit -----------------------------------------------------------------------------


def top_contributions(step: LayerStep, unit: int, count: int | None = 10) -> dict:
    """For a fully connected unit: the terms w_ij·x_i of z_j, largest first (``count=None``:
    all)."""
    if not step.explainer.fully_connected:
        raise ValueError(f"contributions are shown for Dense layers; layer {step.name} is not")
    x = np.ravel(step.input).astype(np.float64)
    w = step.params["W"][:, unit].astype(np.float64)
    products = w * x
    order = np.argsort(-np.abs(products), kind="stable")
    if count is not None:
        order = order[:count]
    bias = float(step.params["b"][unit]) if "b" in step.params else 0.0
    return {
        "rows": [(int(i), float(x[i]), float(w[i]), float(products[i])) for i in order],
        "sum": float(products.sum()),
        "bias": bias,
        "z": float(np.ravel(step.z)[unit]),
        "count": len(x),
    }


def unit_parameter_entries(step: LayerStep, unit: int, count: int = 8) -> dict[str, list]:
    """The weights of one unit with the largest gradients (and its bias), for the check."""
    return step.explainer.unit_entries(step, unit, count)
