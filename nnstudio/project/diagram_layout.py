"""Which columns the network diagram draws (their neurons' maps over a 2-D plane: neuron_maps).

Qt-free. A column is a layer that changes the representation (Dense, Conv2D, a pooling,
Flatten, Reshape); activation, dropout and normalization layers are folded into the column
before them as tags ("relu", "dropout 0.5"), the way people draw networks on a whiteboard.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from nnstudio.project import layer_meta
from nnstudio.project.network_checks import ShapeCache, infer

MAX_NEURONS = 16  # wider layers are drawn as one block with their shape, or:
WIDE_SHOWN = 12  # with a 2-D input: at most the first 12 neurons of a layer, and "+k more"


@dataclass
class Column:
    title: str
    shape: tuple | None
    category: str
    layer_index: int | None = None  # the layer that makes this column (None: the input)
    last_index: int | None = None  # the last layer folded into it (its output is shown)
    tags: list[str] = field(default_factory=list)
    # A network of 2-D inputs shows every unit's map over the plane: a layer then shows its
    # first ``unit_limit`` units (and "+k more") rather than a block without pictures. The
    # diagram lowers the limit to what its height holds with pictures large enough to read.
    unit_limit: int | None = None

    @property
    def neurons(self) -> int | None:
        """How many neurons to draw, or None when the column is drawn as a block."""
        if self.shape is None or len(self.shape) != 1:
            return None
        if self.unit_limit is not None:
            return min(int(self.shape[0]), self.unit_limit)
        return int(self.shape[0]) if self.shape[0] <= MAX_NEURONS else None

    @property
    def more(self) -> int:
        """How many of the column's neurons are not drawn (the "+k more")."""
        return int(self.shape[0]) - self.neurons if self.neurons is not None else 0


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
        column.unit_limit = WIDE_SHOWN if input_shape == (2,) else None
        activation = layer.get("activation")
        if activation and activation != "linear":
            column.tags.append(str(activation))
        if folded:
            column.tags.append(_tag(layer))
        columns.append(column)
    return columns


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
