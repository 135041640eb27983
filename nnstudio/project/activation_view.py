"""An activation function and its derivative, with a batch's pre-activations on them.

For the layer chosen: f and f' over a range of z, and where this batch's z fall on them, so a
learner sees why a ReLU whose z are all below 0 is dead (f' = 0 there: no gradient passes) and
why a sigmoid whose z sit at the flat ends learns slowly (f' ≈ 0). Computed on a copy of the
model, in evaluation mode::

    view = activation_view(model, 0, x_batch)
    view.z              # the pre-activations of the batch (a sample of them)
    view.no_gradient    # the share of them where f' is (almost) 0
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from nnstudio.engine.activations import get_activation
from nnstudio.engine.layers.base import WeightedLayer

MAX_POINTS = 3000
FLAT = 0.05  # f' below this share of its largest value counts as (almost) no gradient


@dataclass
class ActivationView:
    layer: int
    label: str  # "0 Dense relu"
    activation: str
    z: np.ndarray
    grid: np.ndarray
    f: np.ndarray
    derivative: np.ndarray
    f_at_z: np.ndarray
    derivative_at_z: np.ndarray  # exact, not read off the grid (ReLU's step is at 0)
    no_gradient: float  # share of z where f'(z) < FLAT · max f'


def activation_layers(model) -> list[tuple[int, str]]:
    """(index, label) of the layers that apply a non-linear activation."""
    found = []
    for index, layer in enumerate(model.layers):
        name = _activation_name(layer)
        if name and name not in ("linear", "softmax"):
            found.append((index, f"{index} {type(layer).__name__} {name}"))
    return found


def _activation_name(layer) -> str | None:
    if isinstance(layer, WeightedLayer):
        return layer.activation
    return getattr(layer, "function", None)


def activation_view(model, layer_index: int, x: np.ndarray, seed: int = 0) -> ActivationView:
    """The activation of ``model.layers[layer_index]`` with the pre-activations of ``x``."""
    layers = dict(activation_layers(model))
    if layer_index not in layers:
        raise ValueError(f"layer {layer_index} applies no non-linear activation")
    work = copy.deepcopy(model)
    target = work.layers[layer_index]
    if isinstance(target, WeightedLayer):
        target.record_internals = True
    h = np.asarray(x, dtype=work.dtype)
    for index, layer in enumerate(work.layers[: layer_index + 1]):
        inputs, h = h, layer.forward(h, False)
        if index == layer_index:
            z = target.recorded_z if isinstance(target, WeightedLayer) else inputs
    z = np.ravel(np.asarray(z, dtype=np.float64))
    if z.size > MAX_POINTS:
        z = np.random.default_rng(seed).choice(z, MAX_POINTS, replace=False)
    name = _activation_name(target)
    function = get_activation(name)
    low, high = min(float(z.min()), -4.0), max(float(z.max()), 4.0)
    grid = np.linspace(low, high, 400)
    values, derivative = _curve(function, grid)
    values_at_z, derivative_at_z = _curve(function, z)
    share = float(np.mean(derivative_at_z < float(derivative.max()) * FLAT))
    label = layers[layer_index]
    return ActivationView(
        layer_index, label, name, z, grid, values, derivative, values_at_z, derivative_at_z, share
    )


def _curve(function, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """f(z) and f'(z), through the engine's own forward and backward."""
    values = function.forward(z.copy())
    return values, function.backward(z.copy(), values.copy(), np.ones_like(z))
