"""MNIST + my drawings: the kept drawings oversampled into MNIST's training split only, so
that they matter (issue 21, item 4)."""

from __future__ import annotations

import numpy as np
import pytest

from nnstudio.data import load_dataset
from nnstudio.data.dataset import DatasetError
from nnstudio.data.digits import add_drawing
from nnstudio.data.drawings_mix import (
    DRAWING_SHARE,
    MIX_NAME,
    drawing_repeats,
    fine_tune_set,
    mix_drawings,
)


def _drawings(n, label=7, value=1.0):
    return np.full((n, 1, 28, 28), value, np.float32), np.full(n, label, np.int64)


def test_repeats_make_the_drawings_about_their_share():
    for n_drawings, n_images in [(1, 51_000), (20, 51_000), (300, 51_000), (5, 1000)]:
        repeats = drawing_repeats(n_drawings, n_images)
        share = n_drawings * repeats / (n_images + n_drawings * repeats)
        assert share == pytest.approx(DRAWING_SHARE, abs=0.005) or repeats in (1, 1000)
    assert drawing_repeats(20, 51_000) == 134
    assert drawing_repeats(0, 100) == 0
    with pytest.raises(ValueError, match="share"):
        drawing_repeats(3, 100, share=1.5)


def test_mixing_keeps_every_image_and_repeats_each_drawing():
    x = np.zeros((200, 1, 28, 28), np.float32)
    y = np.arange(200) % 10
    mixed_x, mixed_y, repeats = mix_drawings(x, y, *_drawings(2), seed=3)
    assert repeats == drawing_repeats(2, 200)
    assert len(mixed_y) == 200 + 2 * repeats and mixed_x.dtype == np.float32
    drawn = mixed_x.reshape(len(mixed_x), -1).max(axis=1) == 1.0
    assert drawn.sum() == 2 * repeats and set(mixed_y[drawn]) == {7}
    assert not drawn[-2 * repeats :].all()  # shuffled in, not appended at the end
    again = mix_drawings(x, y, *_drawings(2), seed=3)
    np.testing.assert_array_equal(again[1], mixed_y)  # the seed gives the same order


def test_drawings_of_another_shape_are_refused():
    with pytest.raises(ValueError, match="28×28"):
        mix_drawings(np.zeros((10, 1, 8, 8)), np.zeros(10, int), *_drawings(2))


def test_fine_tune_set_samples_mnist_and_works_without_it():
    mnist_x, mnist_y = np.zeros((5000, 1, 28, 28), np.float32), np.arange(5000) % 10
    x, y, repeats = fine_tune_set(*_drawings(4), mnist_x, mnist_y, mnist_samples=300, share=0.25)
    assert len(y) == 300 + 4 * repeats and repeats == drawing_repeats(4, 300, 0.25)
    alone_x, alone_y, alone_repeats = fine_tune_set(*_drawings(4))
    assert alone_repeats == 64 and len(alone_y) == 256 and set(alone_y) == {7}
    with pytest.raises(ValueError, match="No drawings"):
        fine_tune_set(*_drawings(0))


def test_the_catalog_mixes_drawings_into_mnist_training_only(tmp_path, monkeypatch, mnist_like):
    monkeypatch.setenv("NNSTUDIO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NNSTUDIO_MNIST_DIR", str(mnist_like(tmp_path / "mnist", 200, 50, side=28)))
    with pytest.raises(DatasetError, match="no drawings kept yet"):
        load_dataset(MIX_NAME)
    for label in (3, 8):
        add_drawing(np.ones((28, 28), np.float32), label)
    plain = load_dataset("mnist")
    mixed = load_dataset(MIX_NAME)
    assert mixed.name == MIX_NAME and mixed.drawing_count == 2
    repeats = mixed.drawing_repeats
    assert repeats == drawing_repeats(2, len(plain.y_train)) and repeats > 1
    assert len(mixed.y_train) == len(plain.y_train) + 2 * repeats
    np.testing.assert_array_equal(mixed.y_val, plain.y_val)
    np.testing.assert_array_equal(mixed.x_test, plain.x_test)
    again = load_dataset(mixed.name, **mixed.options)
    np.testing.assert_array_equal(again.y_train, mixed.y_train)
