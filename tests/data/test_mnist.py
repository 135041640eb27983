"""The real MNIST from ../shared/data/mnist (skipped where it is absent)."""

import numpy as np
import pytest

from nnstudio.data import find_mnist, load_dataset
from nnstudio.data.idx import read_idx_folder

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


@pytest.mark.slow
def test_full_mnist_sizes_and_label_counts(mnist_path):
    x_train, y_train, x_test, y_test = read_idx_folder(mnist_path, n_classes=10)
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert np.bincount(y_train, minlength=10).tolist() == TRAIN_COUNTS
    assert len(y_test) == 10000


@pytest.mark.slow
def test_mnist_dataset_by_name(mnist_path, monkeypatch):
    monkeypatch.setenv("NNSTUDIO_MNIST_DIR", str(mnist_path))
    assert find_mnist("mnist") == mnist_path
    ds = load_dataset("mnist", val_fraction=0.1, seed=0)
    assert ds.input_shape == (1, 28, 28) and ds.x_train.dtype == np.float32
    assert (len(ds.x_train), len(ds.x_val), len(ds.x_test)) == (54000, 6000, 10000)
    counts = np.array(ds.class_counts("train")) + np.array(ds.class_counts("val"))
    assert counts.tolist() == TRAIN_COUNTS
    assert ds.x_train.min() == 0.0 and ds.x_train.max() == 1.0
    assert ds.class_names == [str(d) for d in range(10)]
    assert ds.scaling == {"method": "none"}
