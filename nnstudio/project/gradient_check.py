"""The check page of "See the math": the backward pass's gradients for one sample compared
with central finite differences, in float64 on a copy of the explained model (in the same
mode and with the same dropout mask as the explained pass)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nnstudio.engine.model import Sequential
from nnstudio.project.explain_layers import restore_random_states
from nnstudio.project.explain_loss import target_batch
from nnstudio.project.explain_steps import Explanation


@dataclass
class GradientCheck:
    rows: list[dict]  # parameter, index, shown (float32), analytic, numeric, relative_error
    max_relative_error: float
    epsilon: float


def _relative_error(a: float, b: float) -> float:
    """|a − b| / max(|a|, |b|); below 1e-5 the floor keeps the rounding noise of a gradient
    that is exactly 0 (a bias before BatchNorm) from reading as a large relative error."""
    return abs(a - b) / max(abs(a), abs(b), 1e-5)


def sample_objective(explanation: Explanation) -> tuple[Sequential, Callable[[], float]]:
    """A float64 copy of the explained model and a function that gives this sample's objective
    on it (the loss plus the L1/L2 penalty, in the same mode and with the same dropout mask as
    the explained pass): change the copy's parameters in place and call it again."""
    model = _double_model(explanation)
    x = explanation.input[None].astype(np.float64)
    targets = target_batch(explanation._loss, explanation.target)
    return model, lambda: _objective(model, explanation, x, targets)


def _double_model(explanation: Explanation) -> Sequential:
    model = Sequential.from_config(explanation._model_config, dtype=np.float64)
    model.load_state_dict(explanation._model_state)
    return model


def _objective(model, explanation, x, targets) -> float:
    """The loss the optimizer minimises for this sample (with the L1/L2 penalty), in the
    same mode and with the same dropout mask as the explained pass."""
    restore_random_states(model, explanation._dropout_states)
    outputs = model.forward(x, explanation.training)
    return explanation._loss.value(outputs, targets) + model.penalty()


def _default_entries(gradients: dict, per_parameter: int, seed: int = 0) -> dict[str, list]:
    """Per weight: its largest gradients plus two random entries (zeros are checked too)."""
    rng = np.random.default_rng(seed)
    entries = {}
    for name, grad in gradients.items():
        flat = np.abs(grad).ravel()
        picks = list(np.argsort(-flat, kind="stable")[:per_parameter])
        picks += list(rng.integers(0, flat.size, size=min(2, flat.size)))
        entries[name] = [np.unravel_index(int(p), grad.shape) for p in dict.fromkeys(picks)]
    return entries


def check_gradients(
    explanation: Explanation, entries: dict | None = None, per_parameter: int = 4, epsilon=1e-5
) -> GradientCheck:
    """Compare the backward pass's gradients with central finite differences
    (L(w + ε) − L(w − ε)) / 2ε, in float64 on a copy of the model: ``entries`` maps parameter
    names to index tuples (default: the largest gradients of every weight)."""
    model = _double_model(explanation)
    x = explanation.input[None].astype(np.float64)
    targets = target_batch(explanation._loss, explanation.target)
    restore_random_states(model, explanation._dropout_states)
    outputs = model.forward(x, explanation.training)
    _, grad = explanation._loss.value_and_grad(outputs, targets)
    model.backward(grad)
    analytic, params = model.gradients(), model.parameters()
    entries = entries or _default_entries(explanation.gradients, per_parameter)
    rows = []
    for name, indices in entries.items():
        for index in indices:
            index = tuple(int(i) for i in index)
            weight = params[name]
            original = weight[index]
            weight[index] = original + epsilon
            plus = _objective(model, explanation, x, targets)
            weight[index] = original - epsilon
            minus = _objective(model, explanation, x, targets)
            weight[index] = original
            numeric = (plus - minus) / (2 * epsilon)
            exact = float(analytic[name][index])
            rows.append(
                {
                    "parameter": name,
                    "index": list(index),
                    "shown": float(explanation.gradients[name][index]),
                    "analytic": exact,
                    "numeric": float(numeric),
                    "relative_error": _relative_error(exact, numeric),
                }
            )
    worst = max((row["relative_error"] for row in rows), default=0.0)
    return GradientCheck(rows, worst, epsilon)
