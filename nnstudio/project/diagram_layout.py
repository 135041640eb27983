"""Which columns the network diagram draws, and each hidden neuron's output over a 2-D plane.

Qt-free. A column is a layer that changes the representation (Dense, Conv2D, a pooling,
Flatten, Reshape); activation, dropout and normalization layers are folded into the column
before them as tags ("relu", "dropout 0.5"), the way people draw networks on a whiteboard.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from nnstudio.project import layer_meta
from nnstudio.project.network_checks import ShapeCache, infer

MAX_NEURONS = 16  # wider layers are drawn as one block with their shape


@dataclass
class Column:
    title: str
    shape: tuple | None
    category: str
    layer_index: int | None = None  # the layer that makes this column (None: the input)
    last_index: int | None = None  # the last layer folded into it (its output is shown)
    tags: list[str] = field(default_factory=list)

    @property
    def neurons(self) -> int | None:
        """How many neurons to draw, or None when the column is drawn as a block."""
        if self.shape is not None and len(self.shape) == 1 and self.shape[0] <= MAX_NEURONS:
            return int(self.shape[0])
        return None


def _tag(config: dict) -> str:
    type_name = config.get("type", "?")
    if type_name == "Dropout":
        return f"dropout {float(config.get('rate', 0.5)):g}"
    if type_name == "Activation":
        return str(config.get("function", "activation"))
    if type_name == "BatchNorm":
        return "batch norm"
    return type_name.lower()


def columns_for(config: dict, cache: ShapeCache | None = None) -> list[Column]:
    """The diagram's columns for a Sequential config (shapes inferred; unknown after an error)."""
    layers = list(config.get("layers", []))
    input_shape = config.get("input_shape")
    input_shape = tuple(input_shape) if input_shape is not None else None
    results = infer(layers, input_shape, cache or ShapeCache())
    columns = [Column("Input", input_shape, "Input")]
    for index, (layer, (output, _params, _message)) in enumerate(zip(layers, results, strict=True)):
        type_name = layer.get("type", "?")
        category = layer_meta.category_of(type_name)
        folded = layer_meta.keeps_shape(type_name)  # a tag on the column before
        if folded and index > 0:
            columns[-1].tags.append(_tag(layer))
            columns[-1].last_index = index
            continue
        column = Column(type_name, output, category, index, index)
        activation = layer.get("activation")
        if activation and activation != "linear":
            column.tags.append(str(activation))
        if folded:
            column.tags.append(_tag(layer))
        columns.append(column)
    return columns


def plane_grid(extent: tuple, size: int) -> np.ndarray:
    """``size``×``size`` points over ``extent`` = (x_min, x_max, y_min, y_max), row = y (top
    row is the largest y, as it is drawn), as float32 (size*size, 2)."""
    x_min, x_max, y_min, y_max = extent
    xs = np.linspace(x_min, x_max, size, dtype=np.float32)
    ys = np.linspace(y_max, y_min, size, dtype=np.float32)
    gx, gy = np.meshgrid(xs, ys)
    return np.stack([gx.ravel(), gy.ravel()], axis=1)


class NeuronProbe:
    """A copy of the model, with the latest weights, that reports each layer's output.

    Used for the neuron pictures of 2-D inputs: everything runs on a small grid in the GUI
    thread (a few hundred points through a small network takes well under a millisecond).
    """

    def __init__(self, config: dict):
        from nnstudio.engine.model import Sequential

        self.model = Sequential.from_config(config)

    def load(self, weights: dict) -> None:
        live = self.model.parameters()
        for name, value in weights.items():
            target = live.get(name)
            if target is not None and np.shape(value) == target.shape:
                np.copyto(target, np.asarray(value), casting="same_kind")

    def weights(self) -> dict:
        return {name: value.copy() for name, value in self.model.parameters().items()}

    def outputs(self, x: np.ndarray) -> list[np.ndarray]:
        """Each layer's output for the batch ``x`` (evaluation mode)."""
        results = []
        with np.errstate(all="ignore"):
            for layer in self.model.layers:
                x = layer.forward(x, training=False)
                results.append(x)
        return results

    def neuron_maps(self, columns: list[Column], extent: tuple, size: int) -> dict:
        """(column, neuron) → size×size float32 map of that neuron's output over the plane."""
        grid = plane_grid(extent, size)
        outputs = self.outputs(grid.astype(self.model.dtype))
        maps = {}
        for number, column in enumerate(columns):
            if column.last_index is None or column.neurons is None:
                continue
            values = outputs[column.last_index]
            for neuron in range(column.neurons):
                image = np.nan_to_num(values[:, neuron].reshape(size, size).astype(np.float32))
                maps[(number, neuron)] = image
        return maps


def small_enough_to_probe(columns: list[Column], limit: int = 200_000) -> bool:
    """Whether building a copy of the model for the diagram is cheap (few parameters)."""
    total = 0
    previous = None
    for column in columns:
        size = math.prod(column.shape) if column.shape else 0
        if previous is not None:
            total += previous * size
        previous = size
    return total <= limit
