"""The update page of "See the math": what one step of the project's optimizer would do to
each weight with one sample's gradients, run by the real optimizer on copies, and the terms
of that step as the optimizer itself names them (``Optimizer.step_terms``)."""

from __future__ import annotations

import copy

import numpy as np

from nnstudio.engine.layers.base import WeightedLayer
from nnstudio.project.explain_steps import ParameterUpdate, format_number

#: The terms of every step, whatever the optimizer (its own come with their meanings).
MEANINGS = {
    "gradient g": "g: this sample's gradient (penalty terms included)",
    "L1 term l1·sign(W)": "l1·sign(W): the L1 penalty's part of g",
    "L2 term 2·l2·W": "2·l2·W: the L2 penalty's part of g",
    "step Δw": "Δw: what the step adds to the weight",
}


def _penalty_terms(model, name: str, weight: np.ndarray) -> dict[str, np.ndarray]:
    """The L1 and L2 parts of a weight's gradient (already inside it), shown separately."""
    index, _, key = name.partition(".")
    layer = model.layers[int(index)]
    terms = {}
    if key == "W" and isinstance(layer, WeightedLayer):
        if layer.l1:
            terms["L1 term l1·sign(W)"] = layer.l1 * np.sign(weight)
        if layer.l2:
            terms["L2 term 2·l2·W"] = 2.0 * layer.l2 * weight
    return terms


def _fresh_like(optimizer):
    return type(optimizer)(**optimizer.settings())


def _stepped_copy(optimizer, params, grads):
    """Run the real optimizer's step on copies; a state made for another model (other
    shapes) gives way to a fresh state with the same settings."""
    for candidate in (copy.deepcopy(optimizer), _fresh_like(optimizer)):
        after = {name: p.copy() for name, p in params.items()}
        try:
            candidate.step(after, {name: g.copy() for name, g in grads.items()})
        except ValueError:
            continue
        return candidate, after
    raise ValueError("the optimizer cannot step these weights")


def preview_update(optimizer, model, gradients: dict) -> dict[str, ParameterUpdate]:
    """Per weight: what one step of ``optimizer`` (settings and state as they are now) would
    change with these gradients, and the terms of that step."""
    params = model.parameters()
    before = {name: params[name].copy() for name in gradients}
    stepped, after = _stepped_copy(optimizer, before, gradients)
    where = f"(lr = {format_number(stepped.lr)}, step {stepped.iterations})"
    updates = {}
    for name, weight in before.items():
        step = stepped.step_terms(name, weight)  # the optimizer's own account of its step
        all_terms = {"gradient g": gradients[name], **_penalty_terms(model, name, weight)}
        all_terms.update(step.terms)
        all_terms["step Δw"] = after[name] - weight
        updates[name] = ParameterUpdate(
            name=name,
            formula=f"{step.formula}   {where}",
            before=weight,
            after=after[name],
            change=after[name] - weight,
            terms=all_terms,
            meanings={**MEANINGS, **step.meanings},
        )
    return updates
