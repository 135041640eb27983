"""The check page of "See the math": the backward pass's gradients for one sample compared
with central finite differences, in float64 on a copy of the explained model (in the same
mode and with the same dropout mask as the explained pass).

A finite difference is only the slope where the loss is smooth between w − ε and w + ε. ReLU
has a kink at z = 0, and on images with a blank background many units sit exactly there
(z = b = 0 where every input of the unit is 0): nudging a bias by ±ε switches them on on one
side only, so (L(w + ε) − L(w − ε)) / 2ε averages two different slopes and matches neither.
The check sees such a nudge (a unit's z changes sign between w − ε and w + ε), compares
backprop with the slopes from the left and from the right instead, and never calls that
weight a mismatch."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nnstudio.engine import activations as act
from nnstudio.engine.layers import Activation, MaxPool2D
from nnstudio.engine.layers.base import WeightedLayer
from nnstudio.engine.model import Sequential
from nnstudio.project.explain_layers import restore_random_states
from nnstudio.project.explain_loss import target_batch
from nnstudio.project.explain_steps import Explanation, format_number

#: Backprop and a finite difference "agree" below this relative error.
AGREE_TOLERANCE = 1e-4


@dataclass
class GradientCheck:
    # parameter, index, shown (float32), analytic, numeric, relative_error, verdict ("agree",
    # "differ" or "kink"); rows at a kink also: left, right (the one-sided slopes), matches
    # ("left", "right" or None) and kinks (the kinks crossed: layer, kink, count)
    rows: list[dict]
    max_relative_error: float  # over the rows that are not at a kink
    epsilon: float

    @property
    def at_kinks(self) -> int:
        """How many weights sit at a kink, where a central difference is not the slope."""
        return sum(row["verdict"] == "kink" for row in self.rows)

    @property
    def verdict(self) -> str:
        """ "differ" if backprop disagrees with a smooth loss's slope anywhere, "unclear" if
        at some kink it is neither one-sided slope, else "agree"."""
        if any(row["verdict"] == "differ" for row in self.rows):
            return "differ"
        kinks = [row for row in self.rows if row["verdict"] == "kink"]
        return "unclear" if any(row["matches"] is None for row in kinks) else "agree"

    def summary(self) -> str:
        """One line: the largest relative error, the kinks, and the verdict."""
        compared = len(self.rows) - self.at_kinks
        text = f"max relative error {self.max_relative_error:.2e} over {compared} weights"
        if self.at_kinks:
            text += f" (and {self.at_kinks} at a kink, checked against one-sided slopes)"
        words = {
            "agree": "they agree",
            "differ": "they differ",
            "unclear": "at a kink, backprop is neither one-sided slope",
        }
        return f"{text}: {words[self.verdict]}"


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


# -- kinks -------------------------------------------------------------------------------------


def _kinked_function(layer):
    """The layer's activation if its slope jumps at z = 0 (relu, leaky_relu, elu unless
    α = 1), else None."""
    if isinstance(layer, WeightedLayer):
        function = layer._activation
    elif isinstance(layer, Activation):
        function = layer._function
    else:
        return None
    if isinstance(function, (act.ReLU, act.LeakyReLU)):
        return function
    if isinstance(function, act.ELU) and function.alpha != 1.0:
        return function
    return None


def _kink_side(layer, inputs, outputs) -> tuple[str, np.ndarray] | None:
    """Which side of its kinks the layer is on, just after its forward pass: the
    pre-activation z of an activation with a kink at 0 (its name, z), or which input wins
    each window of a max pool ("max-pool", a mask)."""
    if isinstance(layer, MaxPool2D):
        return "max-pool", layer.backward(np.ones_like(outputs)) != 0
    function = _kinked_function(layer)
    if function is None:
        return None
    z = layer.recorded_z if isinstance(layer, WeightedLayer) else inputs
    return function.name, np.array(z, copy=True)


def _objective_and_kink_sides(model, explanation, x, targets) -> tuple[float, dict]:
    """The objective (as ``_objective``), run layer by layer as the explained pass ran, and
    {layer index: _kink_side} of every layer that has kinks."""
    restore_random_states(model, explanation._dropout_states)
    sides = {}
    for index, layer in enumerate(model.layers):
        inputs = x
        x = layer.forward(inputs, explanation.training)
        side = _kink_side(layer, inputs, x)
        if side is not None:
            sides[index] = side
    return explanation._loss.value(x, targets) + model.penalty(), sides


def _kinks_crossed(minus: dict, plus: dict, explanation: Explanation) -> list[dict]:
    """The kinks the nudge from w − ε to w + ε crosses: per layer, the units whose z reaches or
    crosses 0, or the max-pool windows whose largest input changes."""
    crossed = []
    for index, (kink, before) in minus.items():
        after = plus[index][1]
        if kink == "max-pool":
            count = (int(np.count_nonzero(before != after)) + 1) // 2
        else:
            count = int(np.count_nonzero((after != before) & (after * before <= 0)))
        if count:
            crossed.append({"layer": explanation.layers[index].name, "kink": kink, "count": count})
    return crossed


def _one_sided_slopes(evaluate, weight, index, h: float, at_w: float) -> tuple[float, float]:
    """The slopes from the left and from the right of w, each from points on its own side
    only (second-order one-sided differences with step h, reaching w ± 2h)."""
    original = weight[index]
    values = {}
    for step in (-2 * h, -h, h, 2 * h):
        weight[index] = original + step
        values[step] = evaluate()
    weight[index] = original
    left = (3 * at_w - 4 * values[-h] + values[-2 * h]) / (2 * h)
    right = (-3 * at_w + 4 * values[h] - values[2 * h]) / (2 * h)
    return float(left), float(right)


def _kink_words(kink: dict) -> str:
    layer, count = kink["layer"], kink["count"]
    if kink["kink"] == "max-pool":
        return f"layer {layer}: {_count(count, 'window')} change their largest input"
    return f"layer {layer}: {_count(count, 'unit')} cross {kink['kink']}'s kink at z = 0"


def _count(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def kink_note(row: dict) -> str:
    """In words, for a row at a kink: why the finite difference is not the slope there and
    which one-sided slope backprop matches."""
    text = "At a kink: the loss bends sharply within ±ε of this weight"
    if row["kinks"]:
        text += f" ({'; '.join(_kink_words(kink) for kink in row['kinks'])})"
    text += ", so the finite difference is not the slope here"
    left, right = format_number(row["left"]), format_number(row["right"])
    if row["matches"] is None:
        return f"{text}; backprop is neither slope, from the left ({left}) or the right ({right})."
    value = left if row["matches"] == "left" else right
    return f"{text}. Backprop matches the slope from the {row['matches']} ({value})."


def row_verdict(row: dict) -> str:
    """A row's verdict in a few words, for a table cell."""
    if row["verdict"] != "kink":
        return row["verdict"]
    if row["matches"] is None:
        return "at a kink: neither slope"
    return f"at a kink: {row['matches']} slope agrees"


def kinks_explained(check: GradientCheck) -> str:
    """Why some weights are checked against one-sided slopes, in words ("" when none are)."""
    if not check.at_kinks:
        return ""
    sits, them = ("sits", "it") if check.at_kinks == 1 else ("sit", "them")
    return (
        f"{_count(check.at_kinks, 'weight')} {sits} at a kink: nudging {them} by ±ε switches "
        "units on or off (ReLU units at z = 0, as on a blank background, or a max-pool "
        "window changing its largest input), "
        "so (L(w + ε) − L(w − ε)) / 2ε averages two different slopes and is not the "
        "derivative there. Backprop is compared with the slope from each side instead; hover "
        "the verdict for details."
    )


# -- the check ---------------------------------------------------------------------------------


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


def _recording_model(explanation: Explanation) -> Sequential:
    """The float64 copy, with every weighted layer keeping its pre-activation z."""
    model = _double_model(explanation)
    for layer in model.layers:
        if isinstance(layer, WeightedLayer):
            layer.record_internals = True
    return model


def _backprop(model, explanation, x, targets) -> dict[str, np.ndarray]:
    """The float64 backward pass's gradients for this sample."""
    restore_random_states(model, explanation._dropout_states)
    outputs = model.forward(x, explanation.training)
    _, grad = explanation._loss.value_and_grad(outputs, targets)
    model.backward(grad)
    return model.gradients()


def check_gradients(
    explanation: Explanation, entries: dict | None = None, per_parameter: int = 4, epsilon=1e-5
) -> GradientCheck:
    """Compare the backward pass's gradients with central finite differences
    (L(w + ε) − L(w − ε)) / 2ε, in float64 on a copy of the model: ``entries`` maps parameter
    names to index tuples (default: the largest gradients of every weight). Where the two
    disagree, the slopes from the left and from the right tell a kink (they differ: backprop
    is compared with them instead) from a real mismatch (they agree with each other)."""
    model = _recording_model(explanation)
    x = explanation.input[None].astype(np.float64)
    targets = target_batch(explanation._loss, explanation.target)
    analytic, params = _backprop(model, explanation, x, targets), model.parameters()

    def evaluate():
        return _objective_and_kink_sides(model, explanation, x, targets)

    at_w = evaluate()[0]
    entries = entries or _default_entries(explanation.gradients, per_parameter)
    rows = []
    for name, indices in entries.items():
        for index in indices:
            index = tuple(int(i) for i in index)
            row = {
                "parameter": name,
                "index": list(index),
                "shown": float(explanation.gradients[name][index]),
                "analytic": float(analytic[name][index]),
            }
            minus, plus = _nudge(evaluate, params[name], index, epsilon)
            row["numeric"] = float((plus[0] - minus[0]) / (2 * epsilon))
            row["relative_error"] = _relative_error(row["analytic"], row["numeric"])
            row["verdict"] = "agree"
            if row["relative_error"] >= AGREE_TOLERANCE:
                weight = params[name]

                def slopes(h, weight=weight, index=index):
                    return _one_sided_slopes(lambda: evaluate()[0], weight, index, h, at_w)

                kinks = _kinks_crossed(minus[1], plus[1], explanation)
                _judge_disagreement(row, slopes, epsilon, kinks)
            rows.append(row)
    comparable = [row["relative_error"] for row in rows if row["verdict"] != "kink"]
    return GradientCheck(rows, max(comparable, default=0.0), epsilon)


def _nudge(evaluate, weight, index, epsilon) -> tuple:
    """``evaluate()`` at w − ε and at w + ε."""
    original = weight[index]
    weight[index] = original - epsilon
    minus = evaluate()
    weight[index] = original + epsilon
    plus = evaluate()
    weight[index] = original
    return minus, plus


def _judge_disagreement(row: dict, slopes, epsilon: float, kinks: list[dict]) -> None:
    """Backprop and the central difference disagree: "differ" where the loss is smooth (its
    slopes from the left and the right of w agree), else "kink", with the kinks crossed and
    the one-sided slope backprop matches (None: neither). A second kink a hair from w (a
    max-pool window whose largest inputs nearly tie) can spoil the slopes at step ε/2: then
    steps 10, 100 and 1000 times smaller look closer."""
    left, right = slopes(epsilon / 2)
    if _relative_error(left, right) < AGREE_TOLERANCE:
        row["verdict"] = "differ"
        return
    row.update(verdict="kink", kinks=kinks, left=left, right=right, matches=None)
    for step in (epsilon / 2, epsilon / 20, epsilon / 200, epsilon / 2000):
        left, right = (row["left"], row["right"]) if step == epsilon / 2 else slopes(step)
        for side, slope in (("left", left), ("right", right)):
            if _relative_error(row["analytic"], slope) < AGREE_TOLERANCE:
                row.update(left=left, right=right, matches=side)
                return
