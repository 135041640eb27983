"""One sample's math: the forward pass, the loss, the backward pass and one optimizer step,
with the real numbers of a real model (the "See the math" inspector and `nnstudio explain`).

Every number comes from the engine's own code: the model's layers run their ``forward`` and
``backward`` on a copy of the model (so the weights a run trains are never touched), the
project's loss gives the value and the output gradient, and the update is what the real
optimizer does to copies of the weights and of its state. Nothing here re-implements a layer.

The walk-through's pages each have a module: explain_steps (what it holds, how numbers are
written), explain_layers (how each layer class is explained and inspected), explain_loss,
explain_update and gradient_check; this one runs the pass and says the chain rule of a unit.

>>> import numpy as np
>>> from nnstudio.engine.layers import Dense
>>> from nnstudio.engine.model import Sequential
>>> from nnstudio.project.gradient_check import check_gradients
>>> model = Sequential([Dense(3, activation="relu"), Dense(2)], input_shape=(2,))
>>> math = explain_sample(model, "softmax_crossentropy", np.array([0.5, -1.0]), 1)
>>> [step.name for step in math.layers], sorted(math.gradients)
(['0 Dense', '1 Dense'], ['0.W', '0.b', '1.W', '1.b'])
>>> check_gradients(math).max_relative_error < 1e-5
True
"""

from __future__ import annotations

import copy

import numpy as np

from nnstudio.engine import activations as act
from nnstudio.engine.layers.base import WeightedLayer
from nnstudio.engine.losses import get_loss
from nnstudio.engine.model import Sequential
from nnstudio.project.explain_layers import explainer_for, random_states
from nnstudio.project.explain_loss import loss_lines, target_batch
from nnstudio.project.explain_steps import Explanation, LayerStep, LossStep, format_number
from nnstudio.project.explain_update import preview_update

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


def _activation_of(layer) -> str | None:
    if isinstance(layer, WeightedLayer):
        return layer.activation
    return getattr(layer, "function", None)


def _forward(work: Sequential, x: np.ndarray, training: bool) -> tuple[list[LayerStep], object]:
    steps = []
    for index, layer in enumerate(work.layers):
        inputs = x
        x = layer.forward(x, training)
        explainer = explainer_for(layer)
        step = LayerStep(
            index=index,
            kind=type(layer).__name__,
            formula=explainer.formula(layer),
            input=np.array(inputs[0]),
            output=np.array(x[0]),
            activation=_activation_of(layer),
            params={k: v.copy() for k, v in layer.params.items()},
            settings=layer.get_config(),
            note=explainer.note(layer, training, inputs.shape[1:]),
            explainer=explainer,
        )
        if isinstance(layer, WeightedLayer):
            step.z = np.array(layer.recorded_z[0])
        elif step.activation is not None:  # an Activation layer: z is its input
            step.z = step.input
        mask = explainer.mask(layer)
        if mask is not None:
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
    dropout_states = random_states(work)
    steps, outputs = _forward(work, x, training)
    targets = target_batch(loss, target)
    value, grad = loss.value_and_grad(outputs, targets)
    _backward(work, steps, grad)
    probabilities = None
    if loss.task == "classification":
        probabilities = np.asarray(loss.output_activation(outputs)[0], dtype=np.float64)
    formula, grad_formula = loss.FORMULA or loss.label, loss.GRADIENT_FORMULA
    loss_step = LossStep(
        name=loss.name,
        label=loss.label,
        value=float(value),
        formula=formula,
        lines=loss_lines(loss, outputs[0], targets[0], value, probabilities),
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


# -- a chosen unit's chain rule ---------------------------------------------------------------


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
