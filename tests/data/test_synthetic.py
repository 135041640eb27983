"""Toy 2-D sets: shapes, seeds, the geometry each promises, and that they can be learned."""

import numpy as np
import pytest

from nnstudio.data import DatasetError
from nnstudio.data.synthetic import (
    TOY_SETS,
    make_circle,
    make_gaussians_regression,
    make_plane,
    make_toy,
    make_xor,
)


@pytest.mark.parametrize("name", list(TOY_SETS))
def test_shapes_dtypes_and_range(name):
    x, y, task, _ = make_toy(name, samples=301, noise=0.1, seed=0)
    assert x.shape == (301, 2) and x.dtype == np.float32
    assert np.abs(x).max() < 1.6  # about [-1, 1]: no scaling needed
    if task == "classification":
        assert y.dtype == np.int64 and y.shape == (301,)
        assert np.bincount(y).min() >= 150  # balanced
    else:
        assert y.dtype == np.float32 and y.shape == (301, 1)
        assert np.abs(y).max() < 1.6


@pytest.mark.parametrize("name", list(TOY_SETS))
def test_seeded(name):
    first = make_toy(name, 100, 0.1, seed=4)
    again = make_toy(name, 100, 0.1, seed=4)
    other = make_toy(name, 100, 0.1, seed=5)
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.array_equal(first[0], other[0])


def one_nn_accuracy(x, y, seed=0):
    """Accuracy of a 1-nearest-neighbour rule on a held-out half: is the set learnable?"""
    order = np.random.default_rng(seed).permutation(len(x))
    train, test = order[: len(x) // 2], order[len(x) // 2 :]
    distance = ((x[test, None, :] - x[None, train, :]) ** 2).sum(axis=2)
    return float((y[train][distance.argmin(axis=1)] == y[test]).mean())


@pytest.mark.parametrize("name", ["circle", "xor", "gaussian", "spiral", "moons"])
def test_classification_sets_are_learnable_at_default_noise(name):
    x, y, _, _ = make_toy(name, samples=600, noise=0.1, seed=0)
    assert one_nn_accuracy(x, y) > 0.85


@pytest.mark.parametrize("name", ["spiral", "gaussian"])
def test_three_and_more_classes(name):
    x, y, _, names = make_toy(name, samples=400, noise=0.05, seed=0, classes=4)
    assert np.bincount(y).tolist() == [100, 100, 100, 100]
    assert len(names) == 4
    assert one_nn_accuracy(x, y) > 0.85


def test_clean_sets_follow_their_rules():
    x, y = make_circle(400, noise=0.0)
    radius = np.linalg.norm(x, axis=1)
    assert (radius[y == 1] <= 0.5 + 1e-6).all() and (radius[y == 0] >= 0.7 - 1e-6).all()
    x, y = make_xor(400, noise=0.0)
    np.testing.assert_array_equal(y, (x[:, 0] * x[:, 1] > 0).astype(np.int64))
    x, y = make_plane(100, noise=0.0)
    np.testing.assert_allclose(y[:, 0], x.sum(axis=1) / 2, atol=1e-6)
    x, y = make_gaussians_regression(2000, noise=0.0)
    near = np.linalg.norm(x - [0, 2.5 / 6], axis=1) < 0.05  # the negative bump at (0, 2.5)
    assert near.any() and (y[near, 0] < -0.8).all()


def test_noise_spreads_points():
    clean, _ = make_circle(500, noise=0.0, seed=1)
    noisy, _ = make_circle(500, noise=0.3, seed=1)
    assert np.linalg.norm(noisy, axis=1).max() > np.linalg.norm(clean, axis=1).max() + 0.2


def test_bad_settings_are_refused():
    with pytest.raises(DatasetError, match="classes=3 works only for spiral and gaussian"):
        make_toy("circle", classes=3)
    with pytest.raises(DatasetError, match="samples must be a whole number from 4 to 10,000,000"):
        make_toy("xor", samples=1)
    with pytest.raises(DatasetError, match="noise must be between 0 and 2 "):
        make_toy("moons", noise=-1)
    with pytest.raises(DatasetError, match="classes must be a whole number from 2 to"):
        make_toy("spiral", classes=1)
    # numpy's own limit said only "Maximum allowed size exceeded"
    with pytest.raises(DatasetError, match="samples must be a whole number from 4 to"):
        make_toy("moons", samples=2**64 + 1)
    with pytest.raises(DatasetError, match="Unknown toy dataset 'spirals'"):
        make_toy("spirals")
