"""Each hidden unit's output over a 2-D input plane, and what one unit is made of.

Qt-free. For a network whose input is a point (x1, x2), a grid over the data's range is pushed
through a copy of the model and every diagram column's output is kept per unit: the output
after the column's activation (and after the activation, dropout and normalization layers
folded into it), as TensorFlow Playground draws inside its neurons::

    probe = NeuronProbe(config)
    probe.load(weights)                       # the latest weights, or a past epoch's
    maps = probe.neuron_maps(columns, data_extent(x), 24)
    maps[(1, 0)]                              # unit 0 of the first hidden column, 24×24

``unit_detail`` tells what one unit is made of: its incoming weights and bias, and its share
of the next layer (the sum of its |outgoing weights| over the whole layer's).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nnstudio.engine.blas import single_threaded_blas
from nnstudio.project.diagram_layout import Column

MARGIN = 0.1  # the plane reaches a tenth of the data's range beyond it, as the boundary's grid


def data_extent(points: np.ndarray, margin: float = MARGIN) -> tuple[float, float, float, float]:
    """(x_min, x_max, y_min, y_max) around 2-D ``points``, with a margin on every side."""
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    finite = points[np.isfinite(points).all(axis=1)]
    if len(finite) == 0:
        return (-1.0, 1.0, -1.0, 1.0)
    low, high = finite.min(axis=0), finite.max(axis=0)
    pad = margin * np.maximum(high - low, 1e-3)
    low, high = low - pad, high + pad
    return (float(low[0]), float(high[0]), float(low[1]), float(high[1]))


def plane_grid(extent: tuple, size: int) -> np.ndarray:
    """``size``×``size`` points over ``extent`` = (x_min, x_max, y_min, y_max), row = y (top
    row is the largest y, as it is drawn), as float32 (size*size, 2)."""
    x_min, x_max, y_min, y_max = extent
    xs = np.linspace(x_min, x_max, size, dtype=np.float32)
    ys = np.linspace(y_max, y_min, size, dtype=np.float32)
    gx, gy = np.meshgrid(xs, ys)
    return np.stack([gx.ravel(), gy.ravel()], axis=1)


def layer_outputs(model, x: np.ndarray, last: int | None = None) -> list[np.ndarray]:
    """Each layer's output for the batch ``x`` (up to layer ``last``), in evaluation mode
    (the engine's own layers).

    On one BLAS thread: these products are small, and waking BLAS's other threads for them
    cost 15 times the CPU time on a busy machine (0.7 ms instead of 0.04 ms for 576×64 by
    64×64), taken from a training run on the other thread.
    """
    results = []
    h = np.asarray(x, dtype=model.dtype)
    layers = model.layers if last is None else model.layers[: last + 1]
    with np.errstate(all="ignore"), single_threaded_blas():
        for layer in layers:
            h = layer.forward(h, training=False)
            results.append(h)
    return results


class NeuronProbe:
    """A copy of the model, with the weights it is given, that reports each layer's output.

    Runs in the GUI thread on a small grid: a few hundred points through a small network
    take well under a millisecond.
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
        return layer_outputs(self.model, x)

    def neuron_maps(self, columns: list[Column], extent: tuple, size: int) -> dict:
        """(column, neuron) → size×size float32 map of that neuron's output over the plane,
        for every neuron the diagram draws (the first ones of a wide layer)."""
        outputs = self.outputs(plane_grid(extent, size).astype(self.model.dtype))
        maps = {}
        for number, column in enumerate(columns):
            if column.last_index is None or column.neurons is None:
                continue
            values = outputs[column.last_index]
            for neuron in range(column.neurons):
                image = np.nan_to_num(values[:, neuron].reshape(size, size).astype(np.float32))
                maps[(number, neuron)] = image
        return maps

    def unit_map(self, column: Column, neuron: int, extent: tuple, size: int) -> np.ndarray:
        """One unit's size×size map, any unit of the column (drawn or among the "+k more")."""
        grid = plane_grid(extent, size).astype(self.model.dtype)
        values = layer_outputs(self.model, grid, column.last_index)[-1][:, neuron]
        return np.nan_to_num(values.reshape(size, size).astype(np.float32))


@dataclass
class UnitDetail:
    """One unit of a diagram column: where its inputs come from and where it goes."""

    title: str  # "Dense 0 · relu · unit 3"
    incoming: list[tuple[str, float]]  # (input's name, weight), in input order
    bias: float | None
    next_title: str | None  # the layer it feeds ("Dense 1"), None for the last column
    outgoing_share: float | None  # Σ|its outgoing weights| / Σ|the next layer's weights|


def _column_name(column: Column) -> str:
    return column.title if column.layer_index is None else f"{column.title} {column.layer_index}"


def _dense_matrix(weights: dict, column: Column) -> np.ndarray | None:
    matrix = weights.get(f"{column.layer_index}.W") if column.layer_index is not None else None
    return np.asarray(matrix, dtype=np.float64) if matrix is not None and matrix.ndim == 2 else None


def unit_detail(columns: list[Column], weights: dict, number: int, neuron: int) -> UnitDetail:
    """What unit ``neuron`` of column ``number`` is made of, read from ``weights``."""
    column = columns[number]
    title = " · ".join([_column_name(column), *column.tags, f"unit {neuron}"])
    incoming: list[tuple[str, float]] = []
    matrix = _dense_matrix(weights, column)
    if matrix is not None and neuron < matrix.shape[1]:
        first = number == 1
        source = _column_name(columns[number - 1])
        for i, weight in enumerate(matrix[:, neuron]):
            incoming.append((f"x{i + 1}" if first else f"{source} unit {i}", float(weight)))
    bias_vector = weights.get(f"{column.layer_index}.b")
    bias = None
    if bias_vector is not None and np.ndim(bias_vector) == 1 and neuron < len(bias_vector):
        bias = float(bias_vector[neuron])
    following = columns[number + 1] if number + 1 < len(columns) else None
    share = None
    outgoing = _dense_matrix(weights, following) if following is not None else None
    if outgoing is not None and neuron < outgoing.shape[0]:
        total = float(np.abs(outgoing).sum())
        share = float(np.abs(outgoing[neuron]).sum()) / total if total > 0 else 0.0
    next_title = _column_name(following) if following is not None else None
    return UnitDetail(title, incoming, bias, next_title, share)
