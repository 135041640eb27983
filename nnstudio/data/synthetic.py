"""Toy 2-D datasets, after the TensorFlow Playground sets (plus moons and 3+ class variants).

Every generator takes (samples, noise, seed) and returns (x, y): x float32 (N, 2) with points
in about [-1, 1] (no further scaling needed), y int64 labels (N,) for classification or float32
(N, 1) in about [-1, 1] for regression. `noise` is the standard deviation of Gaussian jitter as
a fraction of the plot's width (2): noise 0.1 moves points (regression: targets) by about 0.05,
close to the Playground's noise slider at 10-20 %; 0 gives clean sets. Same seed, same data.

>>> x, y = make_spiral(300, noise=0.05, seed=1, classes=3)
>>> x.shape, x.dtype, sorted(set(y.tolist()))
((300, 2), dtype('float32'), [0, 1, 2])
"""

from __future__ import annotations

import numpy as np

from .dataset import DatasetError

DEFAULT_SAMPLES = 500
DEFAULT_NOISE = 0.1
# At noise 2 the jitter's spread is the plot's half-width: every set is a cloud already.
MAX_NOISE = 2.0
# 80 MB of points, far more than a toy set needs; numpy's own limit said only "Maximum allowed
# size exceeded".
MAX_SAMPLES = 10_000_000


def _check(samples: int, noise: float, classes: int = 2) -> None:
    if int(classes) != classes or not 2 <= classes <= MAX_SAMPLES // 2:
        raise DatasetError(
            f"classes must be a whole number from 2 to {MAX_SAMPLES // 2:,} (got {classes})."
        )
    if int(samples) != samples or not 2 * classes <= samples <= MAX_SAMPLES:
        raise DatasetError(
            f"samples must be a whole number from {2 * classes} to {MAX_SAMPLES:,} (got {samples})."
        )
    if not 0 <= noise <= MAX_NOISE:
        raise DatasetError(
            f"noise must be between 0 and {MAX_NOISE:g} (got {noise}); try {DEFAULT_NOISE}."
        )


def _start(samples, noise, seed, classes=2) -> tuple[np.random.Generator, np.ndarray]:
    """Check the settings; the seeded generator and the class of every sample, as balanced
    as the sample count allows."""
    _check(samples, noise, classes)
    return np.random.default_rng(seed), np.arange(samples) % classes


def _jitter(values, noise, rng):
    """Gaussian noise with standard deviation `noise` times half the plot's width of 2."""
    return values + rng.normal(0.0, noise / 2, values.shape) if noise else values


def _finish(points, labels, noise, rng) -> tuple[np.ndarray, np.ndarray]:
    """Jitter the points, shuffle, and return the documented dtypes."""
    points = _jitter(points, noise, rng)
    order = rng.permutation(len(points))
    return points[order].astype(np.float32), np.asarray(labels)[order].astype(np.int64)


def make_circle(samples=DEFAULT_SAMPLES, noise=DEFAULT_NOISE, seed=0):
    """A disc of class 1 (radius < 0.5) inside a ring of class 0 (radius 0.7 to 1)."""
    rng, labels = _start(samples, noise, seed)
    radius = np.where(labels == 1, rng.uniform(0.0, 0.5, samples), rng.uniform(0.7, 1.0, samples))
    angle = rng.uniform(0.0, 2 * np.pi, samples)
    points = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    return _finish(points, labels, noise, rng)


def make_xor(samples=DEFAULT_SAMPLES, noise=DEFAULT_NOISE, seed=0):
    """Points in the four quadrants; class 1 where x1 * x2 > 0 (the XOR of the signs)."""
    rng, labels = _start(samples, noise, seed)
    # Magnitudes start a little away from the axes (the Playground's padding), so a clean set
    # (noise 0) is separable with a margin; the signs make the classes exactly balanced.
    magnitude = rng.uniform(0.05, 1.0, (samples, 2))
    sign_x1 = rng.choice([-1.0, 1.0], samples)
    sign_x2 = np.where(labels == 1, sign_x1, -sign_x1)
    points = magnitude * np.stack([sign_x1, sign_x2], axis=1)
    return _finish(points, labels, noise, rng)


def make_gaussian(samples=DEFAULT_SAMPLES, noise=DEFAULT_NOISE, seed=0, classes=2):
    """Gaussian blobs (standard deviation 0.2) centred on a circle of radius 0.6.

    Two classes sit at (-0.42, -0.42) and (0.42, 0.42), as in the Playground.
    """
    rng, labels = _start(samples, noise, seed, classes)
    angle = np.pi / 4 + np.pi + 2 * np.pi * labels / classes
    centres = 0.6 * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    points = centres + rng.normal(0.0, 0.2, (samples, 2))
    return _finish(points, labels, noise, rng)


def make_spiral(samples=DEFAULT_SAMPLES, noise=DEFAULT_NOISE, seed=0, classes=2):
    """Interleaved spiral arms, one per class (two arms turn 1.75 times around the centre).

    With more classes the arms turn less (3.5 / classes turns), so neighbouring arms stay as
    far apart as in the two-class set and the set stays learnable at the same noise.
    """
    rng, labels = _start(samples, noise, seed, classes)
    t = rng.uniform(0.0, 1.0, samples)
    angle = 3.5 / classes * 2 * np.pi * t + 2 * np.pi * labels / classes
    points = np.stack([t * np.sin(angle), t * np.cos(angle)], axis=1)
    return _finish(points, labels, noise, rng)


def make_moons(samples=DEFAULT_SAMPLES, noise=DEFAULT_NOISE, seed=0):
    """Two interleaving half circles (scikit-learn's moons), centred and scaled to [-1, 1]."""
    rng, labels = _start(samples, noise, seed)
    t = rng.uniform(0.0, np.pi, samples)
    upper = np.stack([np.cos(t), np.sin(t)], axis=1)
    lower = np.stack([1 - np.cos(t), 0.5 - np.sin(t)], axis=1)
    points = np.where(labels[:, None] == 0, upper, lower)
    points = (points - [0.5, 0.25]) / 1.5
    return _finish(points, labels, noise, rng)


def _finish_regression(points, targets, noise, rng):
    targets = _jitter(targets, noise, rng)
    return points.astype(np.float32), targets.reshape(-1, 1).astype(np.float32)


def make_plane(samples=DEFAULT_SAMPLES, noise=DEFAULT_NOISE, seed=0):
    """Regression on a tilted plane: target = (x1 + x2) / 2, noise added to the target."""
    _check(samples, noise)
    rng = np.random.default_rng(seed)
    points = rng.uniform(-1.0, 1.0, (samples, 2))
    return _finish_regression(points, points.sum(axis=1) / 2, noise, rng)


# (x, y, sign) of the Playground's six bumps, in units of its [-6, 6] plot divided by 6.
_BUMPS = np.array(
    [[-4, 2.5, 1], [0, 2.5, -1], [4, 2.5, 1], [-4, -2.5, -1], [0, -2.5, 1], [4, -2.5, -1]]
) / [6, 6, 1]


def make_gaussians_regression(samples=DEFAULT_SAMPLES, noise=DEFAULT_NOISE, seed=0):
    """Regression on six signed bumps: the target is the strongest bump at each point."""
    _check(samples, noise)
    rng = np.random.default_rng(seed)
    points = rng.uniform(-1.0, 1.0, (samples, 2))
    distance = np.linalg.norm(points[:, None, :] - _BUMPS[None, :, :2], axis=2)
    height = _BUMPS[:, 2] * np.clip(1 - distance / (2 / 6), 0, 1)
    strongest = np.abs(height).argmax(axis=1)
    return _finish_regression(points, height[np.arange(samples), strongest], noise, rng)


# name -> (generator, task, class names for 2 classes or None, takes `classes`)
TOY_SETS = {
    "circle": (make_circle, "classification", ["outer ring", "inner disc"], False),
    "xor": (make_xor, "classification", ["opposite signs", "same signs"], False),
    "gaussian": (make_gaussian, "classification", None, True),
    "spiral": (make_spiral, "classification", None, True),
    "moons": (make_moons, "classification", ["upper moon", "lower moon"], False),
    "plane": (make_plane, "regression", None, False),
    "gaussians-regression": (make_gaussians_regression, "regression", None, False),
}

DESCRIPTIONS = {
    "circle": "2-D points: a disc inside a ring (2 classes)",
    "xor": "2-D points: class by the sign of x1 * x2 (2 classes)",
    "gaussian": "2-D points: Gaussian blobs, one per class (2 or more classes)",
    "spiral": "2-D points: interleaved spiral arms (2 or more classes)",
    "moons": "2-D points: two interleaving half moons (2 classes)",
    "plane": "2-D regression: target (x1 + x2) / 2",
    "gaussians-regression": "2-D regression: six positive and negative bumps",
}


def make_toy(name: str, samples=DEFAULT_SAMPLES, noise=DEFAULT_NOISE, seed=0, classes=None):
    """(x, y, task, class_names) of a toy set by name.

    >>> x, y, task, names = make_toy("xor", 100)
    >>> task, names
    ('classification', ['opposite signs', 'same signs'])
    """
    if name not in TOY_SETS:
        raise DatasetError(f"Unknown toy dataset {name!r}. Known: {', '.join(TOY_SETS)}.")
    make, task, names, takes_classes = TOY_SETS[name]
    if classes is not None and not takes_classes and classes != 2:
        task_words = "has 2 classes" if task == "classification" else "is a regression set"
        raise DatasetError(
            f"{name} {task_words}; classes={classes} works only for spiral and gaussian."
        )
    if takes_classes:
        classes = 2 if classes is None else classes
        x, y = make(samples, noise, seed, classes)
        names = [f"{'arm' if name == 'spiral' else 'blob'} {k}" for k in range(classes)]
    else:
        x, y = make(samples, noise, seed)
    return x, y, task, names
