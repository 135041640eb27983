"""Fixtures shared by the data-layer tests."""

import numpy as np
import pytest

from nnstudio.data.idx import write_idx


def write_mnist_like(folder, n_train=30, n_test=10, n_classes=10, side=6, seed=0):
    """The four MNIST-named IDX files with random images and balanced labels."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, side, side), dtype=np.uint8)
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", images)
        labels = (np.arange(n) % n_classes).astype(np.uint8)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", labels)
    return folder


@pytest.fixture
def mnist_like():
    """Factory: mnist_like(folder, n_train=30, n_test=10, n_classes=10, side=6) -> folder."""
    return write_mnist_like
