"""The loss landscape: a 2-D slice of the loss around a model's weights.

Two ways to choose the slice's axes:

- two weights by name, as `explain` names them with an index: ``0.W[1,3]`` (layer 0's weight
  from input 1 to unit 3), ``1.b[0]``. The grid's offsets are added to those two weights;
- two random directions, normalized per unit or filter (Li et al. 2018, "Visualizing the Loss
  Landscape of Neural Nets"): each unit's slice of a direction gets the norm of that unit's
  weights, so a layer with large weights is not over-represented; biases and other 1-D
  parameters stay put. The grid's values are the coefficients of the two directions;
- the two directions a run moved along most (the principal components of its epochs' weights
  minus the final ones, as Li et al. plot optimizer paths): random directions in a space of
  thousands of weights are nearly orthogonal to any path, which then shows as a dot.

Each grid point's loss is the mean loss over the given samples in evaluation mode, computed
as ``nnstudio evaluate`` computes it (nnstudio.project.evaluation.mean_loss). The model is
changed while a point is computed and restored afterwards, bit for bit::

    slice = loss_slice(model, loss, x, y, weight_directions(model, "0.W[0,1]", "1.b[0]"))
    slice.loss[i][j]   # the loss with offsets slice.x[i] and slice.y[j]
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nnstudio.project.evaluation import mean_loss

#: Grid points on each axis and its half-width: 11 × 11 points, offsets from -1 to 1.
DEFAULT_STEPS = 11
DEFAULT_SPAN = 1.0
MAX_STEPS = 101

_WEIGHT_NAME = re.compile(r"^(?P<param>[^\[\]\s]+)\[(?P<index>[\d,\s]*)\]$")


@dataclass
class Directions:
    """Two directions in weight space (parameter name → array, the parameters' shapes) and how
    their axes are described."""

    first: dict[str, np.ndarray]
    second: dict[str, np.ndarray]
    labels: tuple[str, str]


@dataclass
class LossSlice:
    x: list[float]
    y: list[float]
    loss: list[list[float]]  # loss[i][j] at offsets x[i], y[j]
    center_loss: float
    labels: tuple[str, str]

    def to_dict(self) -> dict:
        """Plain JSON values; a loss that overflowed far from the centre is None."""
        return {
            "x": self.x,
            "y": self.y,
            "loss": [[_finite_or_none(value) for value in row] for row in self.loss],
            "center_loss": _finite_or_none(self.center_loss),
            "axes": list(self.labels),
        }


def _finite_or_none(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def parse_weight(name: str, parameters: dict[str, np.ndarray]) -> tuple[str, tuple[int, ...]]:
    """``"0.W[1,3]"`` → ("0.W", (1, 3)), checked against the model's parameters."""
    match = _WEIGHT_NAME.match(name.strip())
    if match is None:
        raise ValueError(
            f"cannot read the weight {name!r}: name a parameter and its index, e.g. 0.W[1,3] "
            "or 1.b[0]"
        )
    param = match["param"]
    if param not in parameters:
        known = ", ".join(sorted(parameters))
        raise ValueError(f"the model has no parameter {param!r}; it has {known}")
    index = tuple(int(part) for part in match["index"].split(",") if part.strip())
    shape = parameters[param].shape
    if len(index) != len(shape) or any(not 0 <= i < n for i, n in zip(index, shape, strict=True)):
        raise ValueError(f"{name}: {param} has shape {shape}; the index {index} is outside it")
    return param, index


def weight_directions(model, first: str, second: str) -> Directions:
    """Unit directions along two single weights (or biases)."""
    parameters = model.parameters()
    picked = [parse_weight(name, parameters) for name in (first, second)]
    if picked[0] == picked[1]:
        raise ValueError(f"{first} and {second} are the same weight; name two different ones")
    directions = []
    for param, index in picked:
        direction = {name: np.zeros_like(value) for name, value in parameters.items()}
        direction[param][index] = 1
        directions.append(direction)
    return Directions(directions[0], directions[1], (first.strip(), second.strip()))


def random_directions(model, seed: int = 0) -> Directions:
    """Two random directions, each unit's (or filter's) part scaled to that unit's weight norm;
    1-D parameters (biases, normalization scales) are left out, as Li et al. do."""
    rng = np.random.default_rng(seed)
    parameters = model.parameters()
    pair = [
        {name: _unit_normalized(rng, value) for name, value in parameters.items()} for _ in "ab"
    ]
    labels = (f"random direction 1 (seed {seed})", f"random direction 2 (seed {seed})")
    return Directions(pair[0], pair[1], labels)


def path_directions(centre: dict[str, np.ndarray], weights_by_epoch) -> Directions:
    """The two principal directions of a run's path (its epochs' weights minus ``centre``),
    each of unit length, labelled with the share of the path's spread it explains."""
    names = sorted(centre)
    moves = np.stack(
        [
            np.concatenate([np.ravel(weights[n]) - np.ravel(centre[n]) for n in names])
            for _epoch, weights in weights_by_epoch
        ]
    ).astype(np.float64)
    if len(moves) < 2 or not moves.any():
        raise ValueError("the run's path needs at least two epochs that moved the weights")
    _u, spread, components = np.linalg.svd(moves, full_matrices=False)
    if len(components) < 2:
        raise ValueError("the run's path needs at least two epochs that moved the weights")
    shares = spread**2 / np.sum(spread**2)
    pair = []
    for component in components[:2]:
        direction, start = {}, 0
        for name in names:
            size = centre[name].size
            part = component[start : start + size].reshape(centre[name].shape)
            direction[name] = part.astype(centre[name].dtype)
            start += size
        pair.append(direction)
    labels = tuple(
        f"path direction {k + 1} ({100 * shares[k]:.0f} % of the path's spread)" for k in (0, 1)
    )
    return Directions(pair[0], pair[1], labels)


def _unit_normalized(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    if weights.ndim < 2:
        return np.zeros_like(weights)
    direction = rng.standard_normal(weights.shape).astype(weights.dtype)
    # Dense weights are (in, out): a unit is a column. Conv weights are (out, in, kh, kw): a
    # filter is the first axis. Either way: move the unit axis first, scale each slice.
    unit_axis = 1 if weights.ndim == 2 else 0
    units_first = np.moveaxis(direction, unit_axis, 0)
    weight_units = np.moveaxis(weights, unit_axis, 0)
    for unit in range(units_first.shape[0]):
        size = np.linalg.norm(units_first[unit])
        units_first[unit] *= np.linalg.norm(weight_units[unit]) / size if size > 0 else 0
    return direction


def project_path(
    centre: dict[str, np.ndarray], directions: Directions, weights_by_epoch
) -> list[tuple[int, float, float]]:
    """Where each epoch's weights lie on the slice: the coefficients (a, b) with
    centre + a·first + b·second closest to them (least squares over every parameter; along
    two single weights, simply their offsets). ``weights_by_epoch``: (epoch, name → array)."""
    names = sorted(centre)
    basis = np.stack(
        [
            np.concatenate([np.ravel(directions.first[n]) for n in names]),
            np.concatenate([np.ravel(directions.second[n]) for n in names]),
        ],
        axis=1,
    ).astype(np.float64)
    origin = np.concatenate([np.ravel(centre[n]) for n in names]).astype(np.float64)
    path = []
    for epoch, weights in weights_by_epoch:
        moved = np.concatenate([np.ravel(weights[n]) for n in names]).astype(np.float64)
        (a, b), *_ = np.linalg.lstsq(basis, moved - origin, rcond=None)
        path.append((int(epoch), float(a), float(b)))
    return path


def grid_offsets(steps: int = DEFAULT_STEPS, span: float = DEFAULT_SPAN) -> list[float]:
    if not 2 <= steps <= MAX_STEPS:
        raise ValueError(f"steps must be between 2 and {MAX_STEPS}; got {steps}")
    if not (np.isfinite(span) and span > 0):
        raise ValueError(f"span must be a positive number; got {span}")
    return [float(v) for v in np.linspace(-span, span, steps)]


def loss_slice(
    model,
    loss,
    x,
    y,
    directions: Directions,
    steps: int = DEFAULT_STEPS,
    span: float = DEFAULT_SPAN,
    progress: Callable[[int, int], None] | None = None,
) -> LossSlice:
    """The loss over ``x``, ``y`` at every grid point; the model's weights are restored after
    each point (and if anything fails). ``progress(done, total)`` after each point."""
    offsets = grid_offsets(steps, span)
    parameters = model.parameters()  # the model's own arrays, changed in place below
    saved = {name: value.copy() for name, value in parameters.items()}
    rows, total = [], len(offsets) ** 2
    try:
        for i, a in enumerate(offsets):
            row = []
            for j, b in enumerate(offsets):
                for name, value in parameters.items():
                    step = a * directions.first[name] + b * directions.second[name]
                    np.add(saved[name], step.astype(value.dtype), out=value)
                row.append(mean_loss(model, loss, x, y))
                if progress is not None:
                    progress(i * len(offsets) + j + 1, total)
            rows.append(row)
    finally:
        for name, value in parameters.items():
            value[...] = saved[name]
    return LossSlice(offsets, offsets, rows, mean_loss(model, loss, x, y), directions.labels)
