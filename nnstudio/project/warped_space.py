"""The input plane as each hidden layer sees it: a grid of lines and the data points pushed
through the network, layer by layer (colah's "neural networks bend the plane").

Qt-free. For a network whose input is a point (x1, x2), each stage is one hidden column of the
diagram (a Dense layer with what is folded into it: its activation, dropout, normalization),
and shows where that layer puts every point of the grid lines and of the data::

    space = warped_space(model, columns_for(model.config()), x, classes)
    space.stages[0]              # the input plane itself
    space.stages[1].lines        # (lines, points per line, 2): the grid after the first layer

A layer of two units is drawn as it is; a wider one is projected to 2-D on its two principal
components (PCA of the data points there: ``projected`` and ``kept``, the share of the spread
the picture keeps); a layer of one unit on a line. Each stage's axes are turned to follow the
one before (a principal component's sign is arbitrary), so the animation moves smoothly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nnstudio.project.diagram_layout import Column
from nnstudio.project.neuron_maps import data_extent, layer_outputs

LINES = 15  # grid lines each way
LINE_POINTS = 60  # points along each line: enough for a bent line to look bent
MAX_POINTS = 1000  # data points drawn (an even sample of bigger sets)


@dataclass
class Stage:
    title: str  # "Input", "Dense 0 · tanh"
    units: int
    lines: np.ndarray  # (lines, points per line, 2): the shown coordinates
    points: np.ndarray  # (samples, 2)
    projected: bool = False  # wider than 2 units: its two principal components
    kept: float = 1.0  # the share of the data's spread the two shown axes keep

    def describe(self) -> str:
        """What the picture is, in a sentence."""
        if self.title == "Input":
            return "The input plane: the grid and the data as they go in."
        if self.projected:
            return (
                f"{self.title}: {self.units} units, projected to 2-D by PCA on its two "
                f"principal components (they keep {self.kept:.0%} of the data's spread)."
            )
        if self.units == 1:
            return f"{self.title}: 1 unit, drawn on a line (its value across)."
        return f"{self.title}: 2 units, drawn as they are (unit 0 across, unit 1 up)."


@dataclass
class WarpedSpace:
    stages: list[Stage]
    classes: np.ndarray | None  # each data point's class (None: not a classification)
    extent: tuple


def grid_lines(extent: tuple, lines: int = LINES, points: int = LINE_POINTS) -> np.ndarray:
    """``lines`` vertical and ``lines`` horizontal lines over ``extent``, as (2·lines,
    points, 2)."""
    x_min, x_max, y_min, y_max = extent
    along = np.linspace(0.0, 1.0, points)
    result = []
    for x in np.linspace(x_min, x_max, lines):
        result.append(np.stack([np.full(points, x), y_min + along * (y_max - y_min)], axis=1))
    for y in np.linspace(y_min, y_max, lines):
        result.append(np.stack([x_min + along * (x_max - x_min), np.full(points, y)], axis=1))
    return np.array(result)


def hidden_columns(columns: list[Column]) -> list[int]:
    """The diagram columns that are hidden layers with a flat output (not the input, not the
    output layer)."""
    last = len(columns) - 1
    return [
        number
        for number, column in enumerate(columns)
        if 0 < number < last and column.shape is not None and len(column.shape) == 1
    ]


def _sample(x: np.ndarray, y, limit: int):
    if len(x) <= limit:
        return x, y
    keep = np.linspace(0, len(x) - 1, limit).astype(int)
    return x[keep], (y[keep] if y is not None else None)


def warped_space(model, columns: list[Column], x, classes=None, extent=None) -> WarpedSpace:
    """Every hidden layer's picture of the plane for ``model`` (2-D input) and data ``x``,
    with each point's class number in ``classes`` (None: one colour)."""
    x = np.asarray(x, dtype=np.float64).reshape(-1, 2)
    if classes is not None:  # class numbers, or one-hot rows
        classes = np.asarray(classes).reshape(len(x), -1)
        classes = classes.argmax(axis=1) if classes.shape[1] > 1 else classes[:, 0].astype(int)
    x, classes = _sample(x, classes, MAX_POINTS)
    extent = tuple(extent) if extent is not None else data_extent(x)
    lines = grid_lines(extent)
    flat_lines = lines.reshape(-1, 2)
    outputs = layer_outputs(model, np.concatenate([flat_lines, x]))
    stages = [Stage("Input", 2, lines, x)]
    for number in hidden_columns(columns):
        column = columns[number]
        values = outputs[column.last_index].astype(np.float64)
        values = np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)
        title = " · ".join([f"{column.title} {column.layer_index}", *column.tags])
        on_lines, on_points = values[: len(flat_lines)], values[len(flat_lines) :]
        stage = _stage(title, on_lines, on_points, lines.shape)
        stages.append(_follow(stages[-1], stage))
    return WarpedSpace(stages, classes, extent)


def _stage(title: str, on_lines: np.ndarray, on_points: np.ndarray, shape) -> Stage:
    units = on_lines.shape[1]
    if units == 1:
        zeros = np.zeros((len(on_lines), 1)), np.zeros((len(on_points), 1))
        on_lines, on_points = np.hstack([on_lines, zeros[0]]), np.hstack([on_points, zeros[1]])
        return Stage(title, 1, on_lines.reshape(shape), on_points)
    if units == 2:
        return Stage(title, 2, on_lines.reshape(shape), on_points)
    basis, mean, kept = principal_axes(on_points if len(on_points) >= 2 else on_lines)
    lines, points = (on_lines - mean) @ basis, (on_points - mean) @ basis
    return Stage(title, units, lines.reshape(shape), points, True, kept)


def principal_axes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """The two principal directions of ``values`` (units × 2), their mean, and the share of
    the total variance those two keep."""
    mean = values.mean(axis=0)
    _, singular, directions = np.linalg.svd(values - mean, full_matrices=False)
    variance = singular**2
    total = float(variance.sum())
    kept = float(variance[:2].sum() / total) if total > 0 else 1.0
    return directions[:2].T, mean, kept


def _follow(previous: Stage, stage: Stage) -> Stage:
    """Flip a projected stage's axes that point against the previous stage's (a principal
    component's sign is arbitrary): the animation then bends the picture instead of
    mirroring it."""
    if not stage.projected:
        return stage
    for axis in range(2):
        a = previous.points[:, axis] - previous.points[:, axis].mean()
        b = stage.points[:, axis] - stage.points[:, axis].mean()
        if float(a @ b) < 0:
            stage.points[:, axis] *= -1
            stage.lines[..., axis] *= -1
    return stage


def blend(first: Stage, second: Stage, t: float) -> tuple[np.ndarray, np.ndarray]:
    """The lines and points ``t`` of the way from one stage's picture to the next (0..1)."""
    return (
        (1 - t) * first.lines + t * second.lines,
        (1 - t) * first.points + t * second.points,
    )
