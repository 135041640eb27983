"""Datasets: toy sets, MNIST/IDX, CIFAR-10, folders of pictures, CSV/NPZ, splits, scaling,
augmentation. Never imports Qt.

>>> from nnstudio.data import load_dataset
>>> ds = load_dataset("moons", samples=100, noise=0.05)
>>> ds.task, ds.input_shape, ds.class_names
('classification', (2,), ['upper moon', 'lower moon'])
"""

from .augmentation import augment_images, make_augmenter
from .catalog import (
    DATASET_NAMES,
    DESCRIPTIONS,
    dataset_from_arrays,
    download_mnist,
    find_mnist,
    import_mnist,
    load_dataset,
    user_data_dir,
)
from .cifar import download_cifar10, import_cifar10
from .dataset import Dataset, DatasetError, DatasetNotFound, apply_scaling
from .download import DownloadCancelled, DownloadError, NoNetworkError, TerminalProgress
from .idx import IdxError, read_idx, write_idx
from .preprocessing import fit_scaler, from_one_hot, one_hot, split
from .tabular import read_csv, read_csv_features, read_npz

__all__ = [
    "DATASET_NAMES",
    "DESCRIPTIONS",
    "Dataset",
    "DatasetError",
    "DatasetNotFound",
    "DownloadCancelled",
    "DownloadError",
    "IdxError",
    "NoNetworkError",
    "TerminalProgress",
    "apply_scaling",
    "augment_images",
    "download_cifar10",
    "dataset_from_arrays",
    "download_mnist",
    "find_mnist",
    "fit_scaler",
    "from_one_hot",
    "import_cifar10",
    "import_mnist",
    "load_dataset",
    "make_augmenter",
    "one_hot",
    "read_csv",
    "read_csv_features",
    "read_idx",
    "read_npz",
    "split",
    "user_data_dir",
    "write_idx",
]
