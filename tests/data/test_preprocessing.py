"""Splits (stratified, seeded), scaling fitted on training data, one-hot helpers."""

import numpy as np
import pytest

from nnstudio.data import DatasetError, apply_scaling, fit_scaler, from_one_hot, one_hot, split
from nnstudio.data.preprocessing import split_indices


def test_split_sizes_are_disjoint_and_cover_everything():
    train, val, test = split_indices(1000, 0.15, 0.15, seed=0)
    assert (len(train), len(val), len(test)) == (700, 150, 150)
    together = np.concatenate([train, val, test])
    assert np.array_equal(np.sort(together), np.arange(1000))


def test_stratified_split_keeps_the_class_balance():
    labels = np.repeat([0, 1, 2], [600, 300, 100])
    train, val, test = split_indices(labels, 0.2, 0.1, seed=0)
    assert np.bincount(labels[val]).tolist() == [120, 60, 20]
    assert np.bincount(labels[test]).tolist() == [60, 30, 10]
    assert np.bincount(labels[train]).tolist() == [420, 210, 70]


def test_every_class_keeps_a_training_sample():
    labels = np.array([0] * 20 + [1])
    train, val, test = split_indices(labels, 0.3, 0.3, seed=0)
    assert 1 in labels[train]


def test_split_is_seeded():
    a = split_indices(np.arange(100) % 3, seed=1)
    b = split_indices(np.arange(100) % 3, seed=1)
    c = split_indices(np.arange(100) % 3, seed=2)
    assert all(np.array_equal(p, q) for p, q in zip(a, b, strict=True))
    assert not np.array_equal(a[1], c[1])


def test_split_arrays_regression_and_classification():
    x = np.arange(40, dtype=np.float32).reshape(20, 2)
    y = np.arange(20, dtype=np.float32).reshape(20, 1)
    x_tr, y_tr, x_va, y_va, x_te, y_te = split(x, y, 0.25, 0.25, seed=0)
    assert (len(x_tr), len(x_va), len(x_te)) == (10, 5, 5)
    np.testing.assert_array_equal(x_va[:, 0] / 2, y_va[:, 0])  # rows stay paired


@pytest.mark.parametrize(
    ("val", "test", "message"),
    [
        (-0.1, 0.1, "val_fraction must be between 0 and 1"),
        (0.1, 1.0, "test_fraction must be between 0 and 1"),
        (0.6, 0.4, "leaves no training data"),
    ],
)
def test_bad_fractions(val, test, message):
    with pytest.raises(DatasetError, match=message):
        split_indices(10, val, test)


def test_standardize_per_feature_and_apply_at_prediction_time():
    rng = np.random.default_rng(0)
    x = rng.normal([3.0, -2.0], [2.0, 0.5], (500, 2)).astype(np.float32)
    stats = fit_scaler(x, "standardize")
    assert stats["method"] == "standardize" and len(stats["mean"]) == 2
    scaled = apply_scaling(x, stats)
    assert scaled.dtype == np.float32
    np.testing.assert_allclose(scaled.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(scaled.std(axis=0), 1, atol=1e-4)
    np.testing.assert_allclose(apply_scaling(x[:3], stats), scaled[:3])  # any batch size


def test_minmax_and_constant_features():
    x = np.array([[0.0, 7.0], [4.0, 7.0], [2.0, 7.0]], dtype=np.float32)
    stats = fit_scaler(x, "minmax")
    np.testing.assert_allclose(apply_scaling(x, stats), [[0, 0], [1, 0], [0.5, 0]])
    standardized = apply_scaling(x, fit_scaler(x, "standardize"))
    assert np.isfinite(standardized).all()


def test_images_are_scaled_per_channel():
    x = np.zeros((4, 2, 3, 3), np.float32)
    x[:, 1] = np.arange(4)[:, None, None]
    stats = fit_scaler(x, "standardize")
    assert len(stats["mean"]) == 2 and stats["mean"][1] == pytest.approx(1.5)
    scaled = apply_scaling(x, stats)
    assert scaled.shape == x.shape
    np.testing.assert_allclose(scaled[:, 1].mean(), 0, atol=1e-6)


@pytest.mark.parametrize("method", ["standardize", "minmax", "none"])
@pytest.mark.parametrize("shape", [(6, 3), (6, 2, 4, 4)])
def test_undo_scaling_gives_the_inputs_back(method, shape):
    from nnstudio.data.preprocessing import undo_scaling

    x = np.random.default_rng(1).normal(5.0, 3.0, shape).astype(np.float32)
    stats = fit_scaler(x, method)
    scaled = apply_scaling(x, stats)
    if method != "none":
        assert not np.allclose(scaled, x)
    restored = undo_scaling(scaled, stats)
    assert restored.dtype == np.float32
    np.testing.assert_allclose(restored, x, rtol=1e-5, atol=1e-5)


def test_a_models_scaling_is_found_in_its_preprocessing():
    from nnstudio.data.preprocessing import saved_scaling

    stats = {"method": "minmax", "min": [0.0], "max": [2.0]}
    assert saved_scaling({"dataset": "moons", "scaling": stats}) == stats
    assert saved_scaling(stats) == stats  # a bare scaling dict
    assert saved_scaling(None) == saved_scaling({"dataset": "moons"}) == {"method": "none"}


def test_statistics_are_plain_json_values():
    import json

    stats = fit_scaler(np.ones((3, 2), np.float32), "standardize")
    assert json.loads(json.dumps(stats)) == stats


def test_unknown_scaling():
    with pytest.raises(DatasetError, match="Unknown scaling 'zscore'"):
        fit_scaler(np.ones((3, 2)), "zscore")
    with pytest.raises(DatasetError, match="Unknown scaling method 'zscore'"):
        apply_scaling(np.ones((3, 2)), {"method": "zscore"})


def test_one_hot_round_trip():
    labels = np.array([2, 0, 1, 2])
    rows = one_hot(labels, 4)
    assert rows.dtype == np.float32 and rows.shape == (4, 4)
    assert rows.sum(axis=1).tolist() == [1, 1, 1, 1]
    assert from_one_hot(rows).tolist() == [2, 0, 1, 2]
    with pytest.raises(DatasetError, match=r"Labels must be in 0..1; found 0..2"):
        one_hot(labels, 2)
