"""What the "See the math" walk-through holds for one sample — the layers' steps, the loss,
the gradients and the previewed update — and how its numbers are written.

nnstudio.project.explain fills these in from a real model; the inspector, `nnstudio explain`
and the node-by-node view only read them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


def signed_term(value) -> str:
    """A value as a term of a sum: "+ 0.5" or "− 0.5".

    >>> signed_term(-0.25), signed_term(2)
    ('− 0.25', '+ 2')
    """
    text = format_number(value)
    return f"− {text[1:]}" if text.startswith("-") else f"+ {text}"


def format_number(value) -> str:
    """4 significant digits; scientific only for very small or very large values.

    >>> format_number(0.123456), format_number(-2.0), format_number(1.5e-7), format_number(0)
    ('0.1235', '-2', '1.500e-07', '0')
    """
    value = float(value)
    if value == 0 or not math.isfinite(value):
        return "0" if value == 0 else str(value)
    if 1e-3 <= abs(value) < 1e4:
        return f"{value:.4g}"
    return f"{value:.3e}"


@dataclass
class LayerStep:
    """One layer of the pass, for one sample (arrays without the batch axis). ``explainer``
    is its layer class's entry in nnstudio.project.explain_layers: what a unit of it is and
    how the inspector shows it."""

    index: int
    kind: str  # the layer's class name: "Dense", "Conv2D", ...
    formula: str
    input: np.ndarray
    output: np.ndarray
    z: np.ndarray | None = None  # pre-activation of Dense/Conv2D/Activation layers
    activation: str | None = None
    grad_output: np.ndarray | None = None  # dL/da
    grad_z: np.ndarray | None = None  # dL/dz
    grad_input: np.ndarray | None = None  # dL/dx, handed to the layer before
    params: dict[str, np.ndarray] = field(default_factory=dict)  # "W", "b", "gamma", ...
    grads: dict[str, np.ndarray] = field(default_factory=dict)
    mask: np.ndarray | None = None  # Dropout in training mode: 0 or 1/(1-rate) per value
    settings: dict = field(default_factory=dict)
    note: str = ""  # what this mode means for the layer, in words
    explainer: object = field(default=None, repr=False)  # a LayerExplainer

    @property
    def name(self) -> str:
        return f"{self.index} {self.kind}"

    def parameter_name(self, key: str) -> str:
        """The engine's name of one of this layer's weights ("1.W")."""
        return f"{self.index}.{key}"


@dataclass
class LossStep:
    name: str
    label: str
    value: float
    formula: str
    lines: list[str]  # the formula with this sample's numbers
    outputs: np.ndarray  # the network's raw outputs (logits for classification)
    target: np.ndarray
    grad_outputs: np.ndarray  # dL/d outputs
    grad_formula: str
    probabilities: np.ndarray | None = None
    penalty: float = 0.0  # L1/L2 added to the loss the optimizer minimises


@dataclass
class ParameterUpdate:
    """What one optimizer step on this sample alone would do to one weight array."""

    name: str
    formula: str
    before: np.ndarray
    after: np.ndarray
    change: np.ndarray
    terms: dict[str, np.ndarray]  # "gradient g", "L2 term", "velocity v", "m̂", ...
    meanings: dict[str, str] = field(default_factory=dict)  # each term's, in a line


@dataclass
class Explanation:
    input: np.ndarray
    target: np.ndarray
    training: bool
    layers: list[LayerStep]
    loss: LossStep
    gradients: dict[str, np.ndarray]  # "0.W" → d loss / d weight, same shape as the weight
    updates: dict[str, ParameterUpdate]
    optimizer: str = ""
    # What the gradient check needs to run the same pass again.
    _model_state: dict = field(default_factory=dict, repr=False)
    _model_config: dict = field(default_factory=dict, repr=False)
    _loss: object = field(default=None, repr=False)
    _dropout_states: dict = field(default_factory=dict, repr=False)

    def layer(self, index: int) -> LayerStep:
        return self.layers[index]

    @property
    def dropout_drew_a_mask(self) -> bool:
        """Whether a Dropout layer dropped units in this pass (training mode only)."""
        return self.training and bool(self._dropout_states)
