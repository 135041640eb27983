"""Drawing preparation as MNIST was made, and the personal dataset of corrected drawings."""

import numpy as np
import pytest

from nnstudio.data.digits import (
    add_drawing,
    area_resample_matrix,
    drawings_dataset_name,
    drawings_path,
    load_drawings,
    prepare_drawing,
)


def centre_of_mass(image):
    total = image.sum()
    rows, cols = image.sum(axis=1), image.sum(axis=0)
    return rows @ np.arange(28) / total, cols @ np.arange(28) / total


def blow_up(digit, factor=10):
    """A 28×28 digit as a (28·factor)² canvas drawing (box upsampling)."""
    matrix = area_resample_matrix(28, float(factor), 0.0, 28 * factor)
    return matrix @ digit @ matrix.T


def test_empty_drawing_gives_none():
    assert prepare_drawing(np.zeros((280, 280))) is None
    assert prepare_drawing(np.full((50, 40), np.nan)) is None


def test_wrong_shape_is_a_clear_error():
    with pytest.raises(ValueError, match="2-D image"):
        prepare_drawing(np.zeros((3, 280, 280)))


def test_longer_side_becomes_20_pixels_and_centre_of_mass_the_centre():
    canvas = np.zeros((280, 280), np.float32)
    canvas[30:130, 200:250] = 1.0  # a small, off-centre, 2:1 block
    digit = prepare_drawing(canvas)
    assert digit.shape == (28, 28) and digit.dtype == np.float32
    assert digit.min() >= 0.0 and digit.max() == pytest.approx(1.0)
    assert np.allclose(centre_of_mass(digit), (14.0, 14.0), atol=0.05)
    # 100 × 50 ink pixels → 20 × 10 model pixels: the area (sum of intensities) follows.
    assert digit.sum() == pytest.approx(200.0, rel=0.02)
    rows, cols = digit.sum(axis=1), digit.sum(axis=0)
    assert rows.sum() / rows.max() == pytest.approx(20.0, rel=0.01)  # height in full rows
    assert cols.sum() / cols.max() == pytest.approx(10.0, rel=0.01)
    assert (rows > 0).sum() <= 21  # a sub-pixel centring shift may split the end rows


def test_size_and_position_on_the_canvas_do_not_matter():
    big = np.zeros((280, 280))
    big[40:240, 60:200] = 1.0
    big[100:180, 100:160] = 0.0  # a ring
    small = np.zeros((280, 280))
    small[200:250, 10:45] = big[40:240:4, 60:200:4]
    assert np.abs(prepare_drawing(big) - prepare_drawing(small)).max() < 0.15


def test_mnist_digit_blown_up_and_drawn_back_comes_back_close(mnist_path):
    from nnstudio.data.idx import read_idx

    images = read_idx(mnist_path / "t10k-images-idx3-ubyte.gz")[:300].astype(np.float32) / 255
    correlations = []
    for original in images:
        redrawn = prepare_drawing(blow_up(original))
        assert np.abs(redrawn - original).mean() < 0.08
        correlations.append(np.corrcoef(redrawn.ravel(), original.ravel())[0, 1])
    assert np.mean(correlations) > 0.95
    assert np.min(correlations) > 0.8


def test_preparation_keeps_ink_polarity_and_range():
    canvas = np.zeros((280, 280))
    canvas[50:230, 120:160] = 255.0  # uint8-style scale is accepted
    digit = prepare_drawing(canvas)
    assert digit[14, 14] == pytest.approx(1.0)
    assert digit[0, 0] == 0.0


def test_corrected_drawings_are_appended_and_read_back(tmp_path):
    path = tmp_path / "drawings" / "drawings.npz"
    first, second = np.zeros((28, 28), np.float32), np.ones((28, 28), np.float32) * 0.5
    assert add_drawing(first, 7, path) == 1
    assert add_drawing(second, 1, path) == 2
    images, labels = load_drawings(path)
    assert images.shape == (2, 1, 28, 28) and images.dtype == np.float32
    assert labels.tolist() == [7, 1] and labels.dtype == np.int64
    assert np.array_equal(images[1, 0], second)
    assert [p.name for p in path.parent.iterdir()] == ["drawings.npz"]  # no temporary left


def test_corrected_drawings_refuse_bad_labels_and_sizes(tmp_path):
    path = tmp_path / "drawings.npz"
    with pytest.raises(ValueError, match="0–9"):
        add_drawing(np.zeros((28, 28)), 10, path)
    with pytest.raises(ValueError, match="28×28"):
        add_drawing(np.zeros((20, 20)), 3, path)
    assert not path.exists()


def test_drawings_live_in_the_user_data_dir_and_load_as_an_npz_dataset(tmp_path, monkeypatch):
    monkeypatch.setenv("NNSTUDIO_DATA_DIR", str(tmp_path))
    assert drawings_path() == tmp_path / "drawings" / "drawings.npz"
    rng = np.random.default_rng(0)
    for label in [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] * 3:
        add_drawing(rng.random((28, 28)).astype(np.float32), label)
    name = drawings_dataset_name()
    assert name == f"npz:{tmp_path / 'drawings' / 'drawings.npz'}"
    from nnstudio.data.catalog import load_dataset

    dataset = load_dataset(name, val_fraction=0.0, test_fraction=0.0)
    assert dataset.input_shape == (1, 28, 28)
    assert len(dataset.x_train) == 30
    assert sorted(set(dataset.y_train.tolist())) == list(range(10))
