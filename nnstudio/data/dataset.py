"""The `Dataset` object every part of nnstudio trains on, and the data layer's errors.

A Dataset carries its three splits, the task, the input shape, the names of features and
classes, and the scaling statistics fitted on the training split, so that a saved model can
apply exactly the same scaling to new inputs at prediction time.

>>> import numpy as np
>>> x = np.zeros((4, 2), np.float32); y = np.array([0, 1, 0, 1])
>>> ds = Dataset("demo", "classification", x, y, x[:0], y[:0], x[:0], y[:0], input_shape=(2,))
>>> ds.n_classes, ds.is_image, ds.n_outputs
(2, False, 2)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nnstudio.safe_read import FileReadError, check_file

TASKS = ("classification", "regression")
SCALING_METHODS = ("standardize", "minmax", "none")


class DatasetError(ValueError):
    """Bad or unusable data; the message says what, where, and what to do."""


class DatasetNotFound(DatasetError):
    """A named dataset is not on this machine.

    `can_download` tells the GUI whether to offer a download next to "choose a folder".
    """

    def __init__(self, message: str, name: str, can_download: bool = False):
        super().__init__(message)
        self.name = name
        self.can_download = can_download


# Files are read into memory whole; above this size we refuse before reading rather than
# freeze the window or exhaust memory. NNSTUDIO_MAX_FILE_MB raises (or lowers) the limit.
DEFAULT_MAX_FILE_MB = 1024


def max_file_bytes() -> int:
    """The size limit for data files, in bytes (NNSTUDIO_MAX_FILE_MB, default 1024 MB)."""
    try:
        return int(float(os.environ.get("NNSTUDIO_MAX_FILE_MB", DEFAULT_MAX_FILE_MB)) * 2**20)
    except ValueError:
        return DEFAULT_MAX_FILE_MB * 2**20


def format_size(n_bytes: int) -> str:
    """Human size: 2147483648 -> '2.0 GB'.

    >>> format_size(1536), format_size(2 * 1024**3)
    ('1.5 KB', '2.0 GB')
    """
    size = float(n_bytes)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{int(size)} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"  # pragma: no cover


def check_data_file(path, max_bytes: int | None = None) -> int:
    """Size of a data file after checking it exists, is not empty and is not too large.

    Raises DatasetNotFound / DatasetError with the path and, for a large file, its size —
    before anything is read, so a 2 GB file fails at once instead of freezing.
    """
    path = Path(path)
    if not path.exists():
        raise DatasetNotFound(f"{path} does not exist. Check the path.", name=str(path))
    if path.is_dir():
        raise DatasetError(f"{path} is a folder; choose a file.")
    try:  # a FIFO or /dev/zero is refused before it is opened (reading it never ends)
        size = check_file(path, "a data file", max_bytes=2**63)
    except FileReadError as error:
        raise DatasetError(str(error)) from None
    if size == 0:
        raise DatasetError(f"{path} is empty (0 bytes). Choose a file that holds data.")
    limit = max_file_bytes() if max_bytes is None else max_bytes
    if size > limit:
        raise DatasetError(
            f"{path} is {format_size(size)}, more than the {format_size(limit)} nnstudio "
            "loads into memory. Use a smaller sample of it, or raise the limit with the "
            "environment variable NNSTUDIO_MAX_FILE_MB."
        )
    return size


def apply_scaling(x: np.ndarray, scaling: dict | None) -> np.ndarray:
    """Scale inputs with statistics made by `preprocessing.fit_scaler`; returns float32.

    Statistics are per feature for flat inputs (N, F) and per channel for images (N, C, H, W),
    so the same dict works for a batch of any size, at training or at prediction time. This and
    `undo_scaling` are the only code that reads the statistics: training, the command line and
    the Draw tab scale through them, so they can never disagree.

    >>> scaling = {"method": "standardize", "mean": [1.0], "std": [2.0]}
    >>> apply_scaling(np.array([[3.0]]), scaling).tolist()
    [[1.0]]
    """
    x = _as_float(x)
    terms = _scaling_terms(scaling, x)
    if terms is None:
        return x
    offset, divisor = terms
    return (x - offset) / divisor


def undo_scaling(x: np.ndarray, scaling: dict | None) -> np.ndarray:
    """The inverse of `apply_scaling`: scaled inputs back in the data's own units.

    >>> scaling = {"method": "minmax", "min": [2.0], "max": [4.0]}
    >>> undo_scaling(apply_scaling(np.array([[3.0]]), scaling), scaling).tolist()
    [[3.0]]
    """
    x = _as_float(x)
    terms = _scaling_terms(scaling, x)
    if terms is None:
        return x
    offset, divisor = terms
    return x * divisor + offset


def _as_float(x) -> np.ndarray:
    """float64 stays float64 (gradient checks); everything else becomes float32."""
    x = np.asarray(x)
    return x if x.dtype in (np.float32, np.float64) else x.astype(np.float32)


def _scaling_terms(scaling: dict | None, x: np.ndarray):
    """(offset, divisor) shaped to broadcast over ``x``, or None for no scaling."""
    method = (scaling or {}).get("method", "none")
    if method == "none":
        return None
    if method == "standardize":
        offset, divisor = np.asarray(scaling["mean"]), np.asarray(scaling["std"])
    elif method == "minmax":
        offset = np.asarray(scaling["min"])
        divisor = np.asarray(scaling["max"]) - offset
    else:
        raise DatasetError(
            f"Unknown scaling method {method!r}. Known: {', '.join(SCALING_METHODS)}."
        )
    # Per-channel statistics of images broadcast over height and width.
    shape = (1, -1) + (1,) * (x.ndim - 2) if x.ndim > 2 else (1, -1)
    return offset.astype(x.dtype).reshape(shape), divisor.astype(x.dtype).reshape(shape)


def saved_scaling(preprocessing: dict | None) -> dict:
    """The scaling dict inside what `Dataset.preprocessing` wrote into a model file (a bare
    scaling dict is accepted too); ``{"method": "none"}`` when the model has none.

    >>> saved_scaling({"dataset": "moons", "scaling": {"method": "none"}})
    {'method': 'none'}
    """
    if not isinstance(preprocessing, dict):
        return {"method": "none"}
    if "method" in preprocessing:
        return preprocessing
    return preprocessing.get("scaling") or {"method": "none"}


@dataclass(eq=False)  # arrays have no single truth value: compare datasets by identity
class Dataset:
    """Splits plus everything needed to describe them, preview them and recreate them.

    Classification targets are int64 labels (N,); regression targets are float32 (N, k).
    Images are float32 (N, channels, height, width). `options` holds the keyword arguments of
    `catalog.load_dataset` that recreate this dataset exactly (the project file records them).
    `encoding` (CSV only) says how raw columns became features, for predicting on new rows.
    `image_reading` (image folders only) says how image files became inputs (size, colour,
    padding), so `predict` prepares new pictures the same way. `notes` are lines the user
    should see about how the data was read ("skipped 2 files: …").
    """

    name: str
    task: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    input_shape: tuple
    class_names: list[str] | None = None
    feature_names: list[str] | None = None
    scaling: dict = field(default_factory=lambda: {"method": "none"})
    options: dict = field(default_factory=dict)
    encoding: dict | None = None
    image_reading: dict | None = None
    notes: list[str] = field(default_factory=list)

    def __post_init__(self):
        if self.task not in TASKS:
            raise DatasetError(f"Unknown task {self.task!r}; use one of {', '.join(TASKS)}.")
        self.input_shape = tuple(int(n) for n in self.input_shape)
        for part in ("train", "val", "test"):
            x, y = getattr(self, f"x_{part}"), getattr(self, f"y_{part}")
            if len(x) != len(y):
                raise DatasetError(
                    f"Dataset {self.name!r}: the {part} split has {len(x)} inputs "
                    f"but {len(y)} targets."
                )
            if self.task == "classification" and (y.ndim != 1 or y.dtype.kind not in "iu"):
                raise DatasetError(
                    f"Dataset {self.name!r}: classification targets must be int labels (N,); "
                    f"the {part} split has {y.dtype} {y.shape}. Use preprocessing.from_one_hot "
                    "for one-hot rows."
                )
            if x.shape[1:] != self.input_shape:
                raise DatasetError(
                    f"Dataset {self.name!r}: {part} inputs have shape {x.shape[1:]}, "
                    f"expected {self.input_shape}."
                )

    @property
    def n_classes(self) -> int | None:
        """Number of classes (classification), else None."""
        if self.task != "classification":
            return None
        if self.class_names is not None:
            return len(self.class_names)
        labels = [y for y in (self.y_train, self.y_val, self.y_test) if len(y)]
        return int(max(y.max() for y in labels)) + 1 if labels else 0

    @property
    def is_image(self) -> bool:
        """True for (channels, height, width) inputs."""
        return len(self.input_shape) == 3

    @property
    def n_outputs(self) -> int:
        """Width of the model's last layer: classes, or regression targets."""
        if self.task == "classification":
            return self.n_classes
        return int(self.y_train.shape[1]) if self.y_train.ndim == 2 else 1

    @property
    def n_features(self) -> int:
        """Number of input values per sample (784 for MNIST)."""
        return int(np.prod(self.input_shape))

    @property
    def validation_data(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(x_val, y_val) for `fit`, or None when the validation split is empty."""
        return (self.x_val, self.y_val) if len(self.x_val) else None

    def apply_scaling(self, x: np.ndarray) -> np.ndarray:
        """Scale new inputs exactly as the training inputs were (prediction time)."""
        return apply_scaling(x, self.scaling)

    def preprocessing(self) -> dict:
        """What a saved model needs to prepare new inputs: plain JSON values.

        Pass it to `engine.io.save_model(..., preprocessing=dataset.preprocessing())`.
        """
        return {
            "dataset": self.name,
            "input_shape": list(self.input_shape),
            "scaling": self.scaling,
            "feature_names": self.feature_names,
            "encoding": self.encoding,
            **({"image_reading": self.image_reading} if self.image_reading else {}),
        }

    def class_counts(self, split: str = "train") -> list[int] | None:
        """Samples per class in a split ("train", "val" or "test"); None for regression."""
        if self.task != "classification":
            return None
        labels = getattr(self, f"y_{split}")
        return np.bincount(labels, minlength=self.n_classes).tolist()

    def summary(self) -> dict:
        """Plain values for the GUI's summary and the CLI: sizes, shapes, classes, balance."""
        return {
            "name": self.name,
            "task": self.task,
            "samples": {
                "train": len(self.x_train),
                "validation": len(self.x_val),
                "test": len(self.x_test),
            },
            "input_shape": list(self.input_shape),
            "features": self.n_features,
            "is_image": self.is_image,
            "classes": self.n_classes,
            "class_names": self.class_names,
            "class_counts": self.class_counts("train"),
            "outputs": self.n_outputs,
            "feature_names": self.feature_names,
            "scaling": self.scaling.get("method", "none"),
        }

    def __repr__(self) -> str:
        sizes = f"{len(self.x_train)}/{len(self.x_val)}/{len(self.x_test)}"
        classes = f", {self.n_classes} classes" if self.task == "classification" else ""
        return (
            f"Dataset({self.name!r}, {self.task}, input {self.input_shape}{classes}, "
            f"train/val/test {sizes})"
        )
