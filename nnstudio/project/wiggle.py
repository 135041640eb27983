"""Wiggle a weight: move one weight of an explained sample's model by Δ and see the loss
follow the curve L(w + Δ), next to the tangent line L + g·Δ that the gradient g promises.

It works on a float64 copy of the explained model
(nnstudio.project.gradient_check.sample_objective), so the model itself never changes::

    wiggle = wiggle_weight(explanation, "0.W", (1, 3))
    wiggle.losses[i]          # L(w + wiggle.deltas[i]), this sample's objective
    wiggle.tangent(delta)     # L + g·Δ with the backward pass's gradient g
    wiggle.numeric_slope      # (L(w + ε) − L(w − ε)) / 2ε, beside wiggle.gradient
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nnstudio.project.explain_steps import Explanation
from nnstudio.project.gradient_check import sample_objective

DEFAULT_STEPS = 41


@dataclass
class Wiggle:
    parameter: str
    index: tuple[int, ...]
    weight: float  # the weight as the model has it
    deltas: list[float]
    losses: list[float]  # L(w + Δ) for each Δ
    loss: float  # L at Δ = 0
    gradient: float  # dL/dw from the backward pass that See the math shows
    numeric_slope: float  # the central finite difference at Δ = 0
    epsilon: float

    def tangent(self, delta: float) -> float:
        return self.loss + self.gradient * delta

    def loss_at(self, delta: float) -> float:
        """L(w + Δ) between the computed points (linear in between)."""
        return float(np.interp(delta, self.deltas, self.losses))


def default_span(weight: float) -> float:
    """Wide enough to see the curve bend away from its tangent: four times the weight's
    size, at least 2."""
    return max(2.0, 4 * abs(weight))


def wiggle_weight(
    explanation: Explanation,
    parameter: str,
    index: tuple[int, ...],
    span: float | None = None,
    steps: int = DEFAULT_STEPS,
    epsilon: float = 1e-5,
) -> Wiggle:
    """The loss of the explained sample with ``parameter[index]`` moved over [-span, span]."""
    model, objective = sample_objective(explanation)
    parameters = model.parameters()
    if parameter not in parameters:
        raise ValueError(f"the model has no parameter {parameter!r}")
    weights = parameters[parameter]
    index = tuple(int(i) for i in index)
    original = float(weights[index])
    span = default_span(original) if span is None else float(span)
    deltas = [float(d) for d in np.linspace(-span, span, steps)]

    def loss_with(delta: float) -> float:
        weights[index] = original + delta
        return float(objective())

    try:
        losses = [loss_with(delta) for delta in deltas]
        centre = loss_with(0.0)
        slope = (loss_with(epsilon) - loss_with(-epsilon)) / (2 * epsilon)
    finally:
        weights[index] = original
    gradient = float(explanation.gradients[parameter][index])
    return Wiggle(parameter, index, original, deltas, losses, centre, gradient, slope, epsilon)
