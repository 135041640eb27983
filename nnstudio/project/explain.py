"""One sample's math: the forward pass, the loss, the backward pass and one optimizer step,
with the real numbers of a real model (the "See the math" inspector and `nnstudio explain`).

Every number comes from the engine's own code: the model's layers run their ``forward`` and
``backward`` on a copy of the model (so the weights a run trains are never touched), the
project's loss gives the value and the output gradient, and the update is what the real
optimizer does to copies of the weights and of its state. Nothing here re-implements a layer.

>>> import numpy as np
>>> from nnstudio.engine.layers import Dense
>>> from nnstudio.engine.model import Sequential
>>> model = Sequential([Dense(3, activation="relu"), Dense(2)], input_shape=(2,))
>>> math = explain_sample(model, "softmax_crossentropy", np.array([0.5, -1.0]), 1)
>>> [step.name for step in math.layers], sorted(math.gradients)
(['0 Dense', '1 Dense'], ['0.W', '0.b', '1.W', '1.b'])
>>> check_gradients(math).max_relative_error < 1e-5
True
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from nnstudio.engine import activations as act
from nnstudio.engine.layers.base import WeightedLayer
from nnstudio.engine.losses import get_loss
from nnstudio.engine.model import Sequential


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


# -- what the walk-through holds --------------------------------------------------------------


@dataclass
class LayerStep:
    """One layer of the pass, for one sample (arrays without the batch axis)."""

    index: int
    kind: str  # "Dense", "Conv2D", ...
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
    terms: dict[str, np.ndarray]  # "gradient", "L2 term", "velocity", "m̂", ...


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


# -- formulas ---------------------------------------------------------------------------------


def _layer_formula(layer) -> str:
    kind = type(layer).__name__
    if kind == "Dense":
        bias = " + b" if layer.use_bias else ""
        return f"z = x·W{bias},  a = {layer.activation}(z)"
    if kind == "Conv2D":
        bias = " + b" if layer.use_bias else ""
        k = layer.kernel_size
        return f"z = W ∗ x{bias} ({k}×{k} filters),  a = {layer.activation}(z)"
    if kind in ("MaxPool2D", "AvgPool2D"):
        p = layer.pool_size
        how = "the largest value" if kind == "MaxPool2D" else "the mean"
        return f"a = {how} of each {p}×{p} window; dL/dx goes to " + (
            "the window's maximum" if kind == "MaxPool2D" else f"every value, divided by {p * p}"
        )
    if kind == "BatchNorm":
        return "a = γ · (x − μ) / √(σ² + ε) + β"
    if kind == "Dropout":
        return f"a = x · mask, mask = 0 (rate {layer.rate}) or 1/(1 − rate); dL/dx = dL/da · mask"
    if kind in ("Flatten", "Reshape"):
        return "a = x with a new shape; dL/dx = dL/da reshaped"
    if hasattr(layer, "function"):
        return f"a = {layer.function}(x)"
    if kind == "Rescale":
        return "a = x · scale + offset (back to the targets' units)"
    return kind


LOSS_FORMULAS = {
    "softmax_crossentropy": (
        "p = softmax(z), p_k = exp(z_k) / Σ_j exp(z_j);  L = −log p_true",
        "dL/dz = p − onehot(true class)",
    ),
    "binary_crossentropy": (
        "p = sigmoid(z);  L = mean(−t·log p − (1 − t)·log(1 − p))",
        "dL/dz = (p − t) / n",
    ),
    "mse": ("L = mean((y − t)²)", "dL/dy = 2·(y − t) / n"),
    "mae": ("L = mean(|y − t|)", "dL/dy = sign(y − t) / n"),
    "huber": (
        "L = mean(½(y − t)² where |y − t| ≤ δ, else δ·(|y − t| − ½δ))",
        "dL/dy = clip(y − t, −δ, δ) / n",
    ),
}


def _loss_lines(loss, outputs, target, value, probabilities) -> list[str]:
    """The loss formula with this sample's numbers filled in."""
    f = format_number
    if loss.name == "softmax_crossentropy":
        true = int(np.ravel(target)[0])
        p = float(probabilities[true])
        shown = ", ".join(f"{k}: {f(v)}" for k, v in enumerate(probabilities[:10]))
        more = " …" if len(probabilities) > 10 else ""
        return [
            f"z = [{', '.join(f(v) for v in outputs[:10])}{more}]",
            f"p = softmax(z) = [{shown}{more}]",
            f"L = −log p_{true} = −log({f(p)}) = {f(value)}",
        ]
    y, t = np.ravel(outputs), np.ravel(target).astype(np.float64)
    n = len(y)
    terms = y - t
    if loss.name == "mse":
        parts = " + ".join(f"({f(a)} − {f(b)})²" for a, b in zip(y[:6], t[:6], strict=False))
        more = " + …" if n > 6 else ""
        return [f"L = ({parts}{more}) / {n} = {f(value)}"]
    if loss.name == "mae":
        parts = " + ".join(f"|{f(a)} − {f(b)}|" for a, b in zip(y[:6], t[:6], strict=False))
        return [f"L = ({parts}{' + …' if n > 6 else ''}) / {n} = {f(value)}"]
    if loss.name == "binary_crossentropy":
        p = act.sigmoid(y.astype(np.float64))
        return [
            f"p = sigmoid(z) = [{', '.join(f(v) for v in p[:6])}]",
            f"t = [{', '.join(f(v) for v in t[:6])}]   L = {f(value)}",
        ]
    return [f"y − t = [{', '.join(f(v) for v in terms[:6])}]   L = {f(value)}"]


# -- the pass ---------------------------------------------------------------------------------


def _one_sample(model: Sequential, x) -> np.ndarray:
    x = np.asarray(x, dtype=model.dtype)
    if x.shape == tuple(model.input_shape):
        x = x[None]
    if x.shape[1:] != tuple(model.input_shape) or len(x) != 1:
        raise ValueError(
            f"explain takes one sample of shape {tuple(model.input_shape)}; got {x.shape}"
        )
    return x


def _target_batch(loss, target) -> np.ndarray:
    target = np.asarray(target)
    if loss.name == "softmax_crossentropy" and target.ndim == 0:
        return target.reshape(1).astype(np.intp)
    return target.reshape((1, *target.shape)) if target.ndim else target.reshape(1, 1)


def _dropout_states(model) -> dict:
    """The random generators of the Dropout layers, so a second pass draws the same mask."""
    return {
        index: copy.deepcopy(layer.rng.bit_generator.state)
        for index, layer in enumerate(model.layers)
        if type(layer).__name__ == "Dropout"
    }


def _restore_dropout(model, states: dict) -> None:
    for index, state in states.items():
        model.layers[index].rng.bit_generator.state = copy.deepcopy(state)


def _layer_note(layer, training: bool, input_shape: tuple) -> str:
    kind = type(layer).__name__
    if kind == "BatchNorm":
        if not training:
            return "inference mode: μ and σ² are the running averages kept during training"
        if len(input_shape) == 1:
            return (
                "training mode: μ and σ² of this batch — one sample, so x − μ = 0, a = β and "
                "no gradient flows back through the layer (a real batch has many samples)"
            )
        return "training mode: μ and σ² of each channel over this sample's positions"
    if kind == "Dropout":
        return (
            "training mode: a random mask (shown) drops values"
            if training
            else "inference mode: Dropout passes x through unchanged"
        )
    return ""


def _activation_of(layer) -> str | None:
    if isinstance(layer, WeightedLayer):
        return layer.activation
    return getattr(layer, "function", None)


def _forward(work: Sequential, x: np.ndarray, training: bool) -> tuple[list[LayerStep], object]:
    steps = []
    for index, layer in enumerate(work.layers):
        inputs = x
        x = layer.forward(x, training)
        step = LayerStep(
            index=index,
            kind=type(layer).__name__,
            formula=_layer_formula(layer),
            input=np.array(inputs[0]),
            output=np.array(x[0]),
            activation=_activation_of(layer),
            params={k: v.copy() for k, v in layer.params.items()},
            settings=layer.get_config(),
            note=_layer_note(layer, training, inputs.shape[1:]),
        )
        if isinstance(layer, WeightedLayer):
            step.z = np.array(layer.recorded_z[0])
        elif step.activation is not None:  # an Activation layer: z is its input
            step.z = step.input
        mask = getattr(layer, "_mask", None)
        if step.kind == "Dropout" and mask is not None:
            step.mask = np.array(mask[0])
        steps.append(step)
    return steps, x


def _backward(work: Sequential, steps: list[LayerStep], grad: np.ndarray) -> None:
    g = np.array(grad, dtype=work.dtype)
    for index in range(len(work.layers) - 1, -1, -1):
        layer, step = work.layers[index], steps[index]
        step.grad_output = np.array(g[0])
        g = layer.backward(g, need_input_grad=True)
        step.grad_input = np.array(g[0])
        step.grads = {k: v.copy() for k, v in layer.grads.items()}
        if isinstance(layer, WeightedLayer):
            step.grad_z = np.array(layer.recorded_grad_z[0])
        elif step.activation is not None:
            step.grad_z = step.grad_input


def _working_copy(model: Sequential) -> Sequential:
    work = copy.deepcopy(model)
    for layer in work.layers:
        if isinstance(layer, WeightedLayer):
            layer.record_internals = True
    return work


def explain_sample(model, loss, x, target, *, optimizer=None, training=False) -> Explanation:
    """The whole pass for one sample ``x`` (shape ``model.input_shape``) with ``target`` (a
    class label, or the regression targets). ``training=True`` runs the layers as training does
    (Dropout draws a mask, BatchNorm uses this sample's statistics). ``optimizer``: the
    project's optimizer (with its state); its step is previewed on copies. The model itself is
    never changed."""
    if not getattr(model, "built", False):
        raise ValueError("the model is not built; build it for the dataset first")
    loss = get_loss(loss)
    x = _one_sample(model, x)
    state = model.state_dict()
    work = _working_copy(model)
    dropout_states = _dropout_states(work)
    steps, outputs = _forward(work, x, training)
    targets = _target_batch(loss, target)
    value, grad = loss.value_and_grad(outputs, targets)
    _backward(work, steps, grad)
    probabilities = None
    if loss.task == "classification":
        probabilities = np.asarray(loss.output_activation(outputs)[0], dtype=np.float64)
    formula, grad_formula = LOSS_FORMULAS.get(loss.name, (loss.label, "dL/dy"))
    loss_step = LossStep(
        name=loss.name,
        label=loss.label,
        value=float(value),
        formula=formula,
        lines=_loss_lines(loss, outputs[0], targets[0], value, probabilities),
        outputs=np.array(outputs[0]),
        target=np.array(targets[0]),
        grad_outputs=np.array(grad[0]),
        grad_formula=grad_formula,
        probabilities=probabilities,
        penalty=float(work.penalty()),
    )
    gradients = {name: g.copy() for name, g in work.gradients().items()}
    explanation = Explanation(
        input=np.array(x[0]),
        target=np.array(targets[0]),
        training=bool(training),
        layers=steps,
        loss=loss_step,
        gradients=gradients,
        updates={},
        _model_state=state,
        _model_config=model.config(),
        _loss=loss,
        _dropout_states=dropout_states,
    )
    if optimizer is not None:
        explanation.optimizer = getattr(optimizer, "label", type(optimizer).__name__)
        explanation.updates = preview_update(optimizer, model, gradients)
    return explanation


# -- one optimizer step ----------------------------------------------------------------------


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
    updates = {}
    for name, weight in before.items():
        step = stepped.step_terms(name, weight)  # the optimizer's own account of its step
        all_terms = {"gradient g": gradients[name], **_penalty_terms(model, name, weight)}
        all_terms.update(step.terms)
        all_terms["step Δw"] = after[name] - weight
        where = f"(lr = {format_number(stepped.lr)}, step {stepped.iterations})"
        updates[name] = ParameterUpdate(
            name=name,
            formula=f"{step.formula}   {where}",
            before=weight,
            after=after[name],
            change=after[name] - weight,
            terms=all_terms,
        )
    return updates


# -- a chosen unit -----------------------------------------------------------------------------


def top_contributions(step: LayerStep, unit: int, count: int | None = 10) -> dict:
    """For a Dense unit: the terms w_ij·x_i of z_j, largest first (``count=None``: all)."""
    if step.kind != "Dense":
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


def activation_derivative(step: LayerStep) -> np.ndarray | None:
    """f'(z) elementwise, from the engine's activation (None for softmax, whose Jacobian is
    not diagonal, and for layers without an activation)."""
    if step.activation is None or step.z is None or step.activation == "softmax":
        return None
    settings = {}
    if step.settings.get("alpha") is not None:
        settings["alpha"] = step.settings["alpha"]
    function = act.get_activation(step.activation, **settings)
    z = step.z[None].astype(np.float64)
    return function.backward(z, function.forward(z.copy()), np.ones_like(z))[0]


def chain_rule(step: LayerStep, unit: int) -> dict:
    """dL/dz = dL/da · f'(z) for one unit (a flat index into the layer's output)."""
    derivative = activation_derivative(step)
    grad_a = float(np.ravel(step.grad_output)[unit])
    result = {"unit": unit, "dL/da": grad_a, "a": float(np.ravel(step.output)[unit])}
    if step.z is not None:
        result["z"] = float(np.ravel(step.z)[unit])
        result["dL/dz"] = float(np.ravel(step.grad_z)[unit])
    if derivative is not None:
        slope = float(np.ravel(derivative)[unit])
        result["f'(z)"] = slope
        result["text"] = (
            f"dL/dz = dL/da · {step.activation}'(z) = {format_number(grad_a)} · "
            f"{format_number(slope)} = {format_number(result['dL/dz'])}"
        )
    elif step.activation == "softmax":
        result["text"] = f"dL/dz = a ⊙ (dL/da − Σ a·dL/da) = {format_number(result['dL/dz'])}"
    else:
        result["text"] = f"dL/da = {format_number(grad_a)}"
    return result


def unit_parameter_entries(step: LayerStep, unit: int, count: int = 8) -> dict[str, list]:
    """The weights of one unit with the largest gradients (and its bias), for the check."""
    entries = {}
    if step.kind == "Dense":
        column = step.grads["W"][:, unit]
        rows = np.argsort(-np.abs(column), kind="stable")[:count]
        entries[step.parameter_name("W")] = [(int(r), unit) for r in rows]
        if "b" in step.grads:
            entries[step.parameter_name("b")] = [(unit,)]
    elif step.kind == "Conv2D":
        channel = unit % step.grads["W"].shape[0]
        flat = np.abs(step.grads["W"][channel]).ravel()
        for position in np.argsort(-flat, kind="stable")[:count]:
            index = (channel, *np.unravel_index(position, step.grads["W"].shape[1:]))
            entries.setdefault(step.parameter_name("W"), []).append(tuple(map(int, index)))
        if "b" in step.grads:
            entries[step.parameter_name("b")] = [(channel,)]
    else:
        for key, grad in step.grads.items():
            entries[step.parameter_name(key)] = [np.unravel_index(unit % grad.size, grad.shape)]
    return entries


# -- the gradient check ------------------------------------------------------------------------


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
    targets = _target_batch(explanation._loss, explanation.target)
    return model, lambda: _objective(model, explanation, x, targets)


def _double_model(explanation: Explanation) -> Sequential:
    model = Sequential.from_config(explanation._model_config, dtype=np.float64)
    model.load_state_dict(explanation._model_state)
    return model


def _objective(model, explanation, x, targets) -> float:
    """The loss the optimizer minimises for this sample (with the L1/L2 penalty), in the
    same mode and with the same dropout mask as the explained pass."""
    _restore_dropout(model, explanation._dropout_states)
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
    targets = _target_batch(explanation._loss, explanation.target)
    _restore_dropout(model, explanation._dropout_states)
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
