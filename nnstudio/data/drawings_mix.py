"""The user's corrected drawings mixed into MNIST, so that they teach a model something.

A few dozen drawings among 51,000 MNIST training images would change almost nothing: each is
seen once an epoch, like any other image. So the drawings are *oversampled*: each is repeated
until the drawings make up about ``DRAWING_SHARE`` (5 %) of the training images — with 20
drawings and 51,000 MNIST images, each drawing is seen about 134 times an epoch. They go into
the training split only: validation and test stay pure MNIST, so the numbers there still say
how the model reads MNIST.

The dataset is ``"mnist+drawings"`` in the catalog ("MNIST + my drawings" in the picker).
Fine-tuning (project/fine_tune.py) uses :func:`fine_tune_set`: the drawings, repeated, with a
sample of MNIST training images so the model does not forget the digits it knew.

NumPy only: never imports Qt.

>>> x, y = np.zeros((1000, 1, 28, 28), np.float32), np.arange(1000) % 10
>>> drawings = np.ones((4, 1, 28, 28), np.float32), np.array([7, 7, 1, 1])
>>> mixed_x, mixed_y, repeats = mix_drawings(x, y, *drawings, seed=0)
>>> repeats, len(mixed_y), int((mixed_x.max(axis=(1, 2, 3)) == 1).sum())
(13, 1052, 52)
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from nnstudio.data.dataset import DatasetError, apply_scaling
from nnstudio.data.digits import load_drawings

MIX_NAME = "mnist+drawings"
MIX_TITLE = "MNIST + my drawings"
DRAWING_SHARE = 0.05  # the part of the training images that are the user's drawings
MAX_REPEATS = 1000  # one drawing never stands for more than this many images
ALONE_SAMPLES = 256  # fine-tuning without MNIST: the drawings repeated to about this many
MIX_DESCRIPTION = (
    "MNIST with the digits you corrected on the Draw tab mixed into its training images. "
    f"Each drawing is repeated so that they make up about {DRAWING_SHARE:.0%} of the training "
    "images; validation and test stay MNIST."
)


def drawing_repeats(n_drawings: int, n_images: int, share: float = DRAWING_SHARE) -> int:
    """How many times each drawing is repeated so the drawings are ``share`` of the mix.

    >>> drawing_repeats(20, 51_000), drawing_repeats(1, 10), drawing_repeats(0, 100)
    (134, 1, 0)
    """
    if not 0.0 < share < 1.0:
        raise ValueError(f"The drawings' share must be between 0 and 1; got {share!r}.")
    if n_drawings <= 0:
        return 0
    wanted = share / (1.0 - share) * n_images / n_drawings
    return int(min(max(round(wanted), 1), MAX_REPEATS))


def mix_drawings(x, y, drawings_x, drawings_y, *, seed: int = 0, share: float = DRAWING_SHARE):
    """``(x, y)`` with the drawings repeated into them and the whole shuffled (seeded).

    Returns ``(mixed_x, mixed_y, repeats)``. The drawings must have the images' shape.
    """
    drawings_x = np.asarray(drawings_x, dtype=np.float32)
    drawings_y = np.asarray(drawings_y, dtype=np.int64)
    _check_drawings(drawings_x, drawings_y, np.shape(x)[1:])
    repeats = drawing_repeats(len(drawings_y), len(y), share)
    mixed_x = np.concatenate([np.asarray(x, np.float32), np.repeat(drawings_x, repeats, axis=0)])
    mixed_y = np.concatenate([np.asarray(y, np.int64), np.repeat(drawings_y, repeats)])
    order = np.random.default_rng(seed).permutation(len(mixed_y))
    return mixed_x[order], mixed_y[order], repeats


def mix_into_dataset(dataset, drawings_x, drawings_y, *, share: float = DRAWING_SHARE):
    """An MNIST ``Dataset`` with the drawings mixed into its training split (see above).

    The drawings go through the dataset's scaling, as its training images did."""
    if len(drawings_y) == 0:
        raise DatasetError(
            f"{MIX_TITLE}: no drawings kept yet. On the Draw tab, draw a digit the model reads "
            "wrong, pick the right digit and press Keep drawing; then pick this set again."
        )
    scaled = apply_scaling(np.asarray(drawings_x, np.float32), dataset.scaling)
    seed = int(dataset.options.get("seed", 0))
    x_train, y_train, repeats = mix_drawings(
        dataset.x_train, dataset.y_train, scaled, drawings_y, seed=seed, share=share
    )
    mixed = replace(dataset, name=MIX_NAME, x_train=x_train, y_train=y_train)
    # Read by the Data dock's summary ("20 drawings × 134"); not an option: recreating the set
    # reads the drawings kept by then.
    mixed.drawing_count, mixed.drawing_repeats = len(drawings_y), repeats
    return mixed


def load_mnist_with_drawings(load_mnist, drawings_path=None):
    """``load_mnist()`` (the catalog's MNIST loader, with its options bound) with the saved
    drawings mixed in; the drawings are read first, so a missing collection fails at once."""
    drawings_x, drawings_y = load_drawings(drawings_path)
    if len(drawings_y) == 0:
        return mix_into_dataset(None, drawings_x, drawings_y)  # the message: none kept yet
    return mix_into_dataset(load_mnist(), drawings_x, drawings_y)


def fine_tune_set(
    drawings_x,
    drawings_y,
    mnist_x=None,
    mnist_y=None,
    *,
    mnist_samples: int = 1000,
    share: float = 0.25,
    seed: int = 0,
):
    """What fine-tuning trains on: a seeded sample of ``mnist_samples`` MNIST training images
    (so the model keeps what it knew) with the drawings repeated to be ``share`` of the set.
    Without MNIST, the drawings alone (repeated to about ``ALONE_SAMPLES``). Returns
    ``(x, y, repeats)``."""
    drawings_x = np.asarray(drawings_x, dtype=np.float32)
    drawings_y = np.asarray(drawings_y, dtype=np.int64)
    if mnist_x is None or len(mnist_x) == 0:
        # The drawings alone, repeated so that an epoch is still several batches.
        _check_drawings(drawings_x, drawings_y, drawings_x.shape[1:])
        repeats = int(min(max(-(-ALONE_SAMPLES // len(drawings_y)), 1), MAX_REPEATS))
        order = np.random.default_rng(seed).permutation(len(drawings_y) * repeats)
        return (
            np.repeat(drawings_x, repeats, axis=0)[order],
            np.repeat(drawings_y, repeats)[order],
            repeats,
        )
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(mnist_x), size=min(mnist_samples, len(mnist_x)), replace=False)
    return mix_drawings(
        mnist_x[pick], mnist_y[pick], drawings_x, drawings_y, seed=seed, share=share
    )


def _check_drawings(drawings_x, drawings_y, image_shape) -> None:
    if len(drawings_y) == 0:
        raise ValueError("No drawings kept yet: keep a corrected drawing on the Draw tab first.")
    if drawings_x.shape[1:] != tuple(image_shape) or drawings_y.shape != (len(drawings_x),):
        raise ValueError(
            f"The drawings have shape {drawings_x.shape[1:]} but the images {tuple(image_shape)}; "
            "both must be 28×28 grey images (1, 28, 28)."
        )
