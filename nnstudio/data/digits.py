"""Turn a drawing into the 28×28 input an MNIST model expects, and keep corrected drawings.

MNIST was made from binary NIST digits in two steps (LeCun, Cortes, Burges): each digit was
size-normalised to fit a 20×20 box keeping its aspect ratio, with anti-aliasing (hence the grey
levels), then placed in a 28×28 field so that its centre of mass sits at the centre. The real
test set has its centre of mass at index (14.0, 14.0) ± 0.29 — the spread of an integer shift —
so :func:`prepare_drawing` does the same steps and puts the centre of mass at index 14.0 (with a
sub-pixel shift folded into the resampling, so no extra blur).

Resampling is an exact box filter (area averaging): every output pixel is the mean of the input
area it covers. It is written as two small matrices (28 × H and 28 × W), so a 280×280 canvas
takes well under a millisecond.

The personal dataset ("That's wrong — it was a 7") lives in ``<user data dir>/drawings/
drawings.npz`` with arrays ``X`` (N, 1, 28, 28) float32 and ``y`` (N,) int64, the layout the
``npz:PATH`` dataset reads, so the user can train on their own corrected drawings.

NumPy only: never imports Qt.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from nnstudio.atomic_file import write_atomically
from nnstudio.paths import user_data_dir

FIELD = 28  # MNIST image side
BOX = 20  # the longer side of the digit after size normalisation
CENTRE = 14.0  # MNIST's centre of mass, in index coordinates (pixel i has its centre at i)
# Pixels fainter than this fraction of the brightest one are antialiasing fringe or noise: they
# do not extend the bounding box (they still count in the image).
INK_THRESHOLD = 0.1


def prepare_drawing(image: np.ndarray) -> np.ndarray | None:
    """Return the MNIST-style (28, 28) float32 image in [0, 1] of a drawing, or None if empty.

    ``image`` is (H, W), ink = high values (any scale; white-on-black polarity).

    >>> canvas = np.zeros((280, 280)); canvas[40:240, 130:150] = 1.0   # a tall bar: "1"
    >>> digit = prepare_drawing(canvas)
    >>> rows = digit.sum(axis=1)
    >>> digit.shape, float(digit.max()), round(float(rows @ np.arange(28) / rows.sum()), 2)
    ((28, 28), 1.0, 14.0)
    """
    ink = _as_ink(image)
    if ink is None:
        return None
    crop = _crop_to_ink(ink)
    height, width = crop.shape
    scale = BOX / max(height, width)
    centre_y, centre_x = _centre_of_mass(crop)
    # Continuous coordinates (pixel i spans [i, i+1)): the input's centre of mass lands on the
    # centre of output pixel 14, i.e. 14.5.
    rows = area_resample_matrix(height, scale, CENTRE + 0.5 - centre_y * scale, FIELD)
    cols = area_resample_matrix(width, scale, CENTRE + 0.5 - centre_x * scale, FIELD)
    digit = rows @ crop @ cols.T
    peak = float(digit.max())
    if peak <= 0.0:
        return None
    # MNIST digits all reach full intensity; a thin pen must not come out as a faint grey.
    digit = np.clip(digit / peak, 0.0, 1.0)
    return digit.astype(np.float32)


def area_resample_matrix(n_in: int, scale: float, offset: float, n_out: int) -> np.ndarray:
    """(n_out, n_in) weights of a box-filter resampling: input pixel i, which spans [i, i+1),
    lands on [i*scale + offset, (i+1)*scale + offset) in output coordinates; output pixel j is
    the mean of the input over [j, j+1) (parts outside the input count as 0)."""
    starts = np.arange(n_in, dtype=np.float64) * scale + offset
    ends = starts + scale
    out_starts = np.arange(n_out, dtype=np.float64)[:, None]
    overlap = np.minimum(out_starts + 1.0, ends[None, :]) - np.maximum(out_starts, starts[None, :])
    # Upsampling (scale > 1) keeps values: a weight is the fraction of output pixel covered.
    return np.clip(overlap, 0.0, None).astype(np.float32)


def _as_ink(image: np.ndarray) -> np.ndarray | None:
    """The image as float32 (H, W) with ink in [0, 1], or None when there is no ink."""
    ink = np.asarray(image, dtype=np.float32)
    if ink.ndim == 3 and ink.shape[0] == 1:
        ink = ink[0]
    if ink.ndim != 2:
        raise ValueError(
            f"prepare_drawing needs a 2-D image (height, width); it got shape {ink.shape}. "
            "Pass one grey-level image with ink as high values."
        )
    ink = np.nan_to_num(ink, nan=0.0, posinf=0.0, neginf=0.0)
    ink = np.clip(ink, 0.0, None)
    peak = float(ink.max()) if ink.size else 0.0
    if peak <= 1e-6:
        return None
    return ink / peak


def _crop_to_ink(ink: np.ndarray) -> np.ndarray:
    """The bounding box of the pixels that carry ink."""
    mask = ink > INK_THRESHOLD
    row_any = mask.any(axis=1)
    col_any = mask.any(axis=0)
    top, bottom = np.argmax(row_any), len(row_any) - np.argmax(row_any[::-1])
    left, right = np.argmax(col_any), len(col_any) - np.argmax(col_any[::-1])
    return ink[top:bottom, left:right]


def _centre_of_mass(ink: np.ndarray) -> tuple[float, float]:
    """Centre of mass in continuous coordinates (pixel i has its centre at i + 0.5)."""
    total = float(ink.sum())
    rows = ink.sum(axis=1)
    cols = ink.sum(axis=0)
    centre_y = float(rows @ (np.arange(len(rows)) + 0.5)) / total
    centre_x = float(cols @ (np.arange(len(cols)) + 0.5)) / total
    return centre_y, centre_x


# --- The personal dataset: drawings the user corrected -------------------------------------

DRAWINGS_FILE = "drawings.npz"


def drawings_path() -> Path:
    """Where corrected drawings are kept: ``<user data dir>/drawings/drawings.npz``."""
    return Path(user_data_dir()) / "drawings" / DRAWINGS_FILE


def drawings_dataset_name(path: str | os.PathLike | None = None) -> str:
    """The dataset name under which the drawings can be picked for training (``npz:PATH``)."""
    return f"npz:{Path(path) if path is not None else drawings_path()}"


def load_drawings(path: str | os.PathLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The saved drawings as ``X`` (N, 1, 28, 28) float32 and ``y`` (N,) int64 (N may be 0)."""
    path = Path(path) if path is not None else drawings_path()
    if not path.exists():
        return np.zeros((0, 1, FIELD, FIELD), np.float32), np.zeros(0, np.int64)
    try:
        with np.load(path, allow_pickle=False) as data:
            images, labels = data["X"], data["y"]
    except (OSError, KeyError, ValueError) as error:
        raise ValueError(
            f"Could not read the saved drawings in {path}: {error}. Move the file away to start "
            "a new collection."
        ) from error
    if images.shape[1:] != (1, FIELD, FIELD) or labels.shape != (images.shape[0],):
        raise ValueError(
            f"The saved drawings in {path} have shapes X {images.shape} and y {labels.shape}; "
            "expected (N, 1, 28, 28) and (N,). Move the file away to start a new collection."
        )
    return images.astype(np.float32), labels.astype(np.int64)


def add_drawing(image: np.ndarray, label: int, path: str | os.PathLike | None = None) -> int:
    """Append one prepared 28×28 drawing with its correct label; return the new count.

    The file is rewritten through a temporary file and ``os.replace``, so a crash or a full disk
    never leaves a half-written collection behind.
    """
    image = np.asarray(image, dtype=np.float32).reshape(-1)
    if image.size != FIELD * FIELD:
        raise ValueError(f"A drawing must be 28×28 pixels; this one has {image.size} pixels.")
    if not 0 <= int(label) <= 9:
        raise ValueError(f"A digit label must be 0–9; got {label}.")
    path = Path(path) if path is not None else drawings_path()
    images, labels = load_drawings(path)
    images = np.concatenate([images, image.reshape(1, 1, FIELD, FIELD)])
    labels = np.concatenate([labels, np.array([int(label)], np.int64)])
    _write_atomically(path, images, labels)
    return len(labels)


def _write_atomically(path: Path, images: np.ndarray, labels: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, lambda stream: np.savez_compressed(stream, X=images, y=labels))
