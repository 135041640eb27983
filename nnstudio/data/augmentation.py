"""Random image augmentation, applied per batch while training, vectorised over the batch.

Each image gets its own random shift, rotation and scale (one affine map, bilinear sampling)
and a random change of stroke thickness (a blend towards a 3×3 grey dilation or erosion).
Digits drawn on the canvas are off-centre, tilted, large or small, thick or thin in ways MNIST
digits rarely are; training on such variations lets a digit model read them.

Colour pictures (photos, the user's own image folders, CIFAR-10) get `augment_photos`
instead: the same shift, rotation and scale, a random brightness, and mirror images where a
mirrored picture is still of its class (CIFAR-10) — but no stroke thickness, which means
nothing for a photo.

>>> rng = np.random.default_rng(0)
>>> batch = np.zeros((128, 1, 28, 28), np.float32)
>>> augment_images(batch, rng).shape
(128, 1, 28, 28)
>>> fit_augment = make_augmenter(max_rotation=8)   # for engine.training.fit(augment=...)
"""

from __future__ import annotations

from functools import partial

import numpy as np

# Erosion thins MNIST strokes (2-3 px wide) fast; blending at most halfway keeps them visible.
MAX_THINNING = 0.5


def _as_nchw(x: np.ndarray) -> np.ndarray:
    """View (N, H, W) or square flat (N, H*W) images as (N, C, H, W)."""
    if x.ndim == 4:
        return x
    if x.ndim == 3:
        return x[:, None]
    side = int(round(np.sqrt(x.shape[1]))) if x.ndim == 2 else 0
    if x.ndim != 2 or side * side != x.shape[1]:
        raise ValueError(
            f"augment_images needs images (N, C, H, W), (N, H, W) or square flat "
            f"images (N, H*W); got shape {x.shape}."
        )
    return x.reshape(len(x), 1, side, side)


def _zero_padded(x: np.ndarray, before: int, after: int) -> np.ndarray:
    """x with zero rows and columns around each image (faster than np.pad)."""
    n, c, h, w = x.shape
    out = np.zeros((n, c, h + before + after, w + before + after), x.dtype)
    out[:, :, before : before + h, before : before + w] = x
    return out


def _change_thickness(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Blend each image towards its 3×3 dilation (thicker) or erosion (thinner)."""
    padded = _zero_padded(x, 1, 1)
    left, middle, right = padded[..., :-2], padded[..., 1:-1], padded[..., 2:]
    # Separable 3×3 max and min: along rows first, then along columns. In-place operations:
    # fewer temporary arrays matter more than arithmetic at this size.
    rows_max = np.maximum(left, middle)
    np.maximum(rows_max, right, out=rows_max)
    rows_min = np.minimum(left, middle)
    np.minimum(rows_min, right, out=rows_min)
    dilated = np.maximum(rows_max[..., :-2, :], rows_max[..., 1:-1, :])
    np.maximum(dilated, rows_max[..., 2:, :], out=dilated)
    eroded = np.minimum(rows_min[..., :-2, :], rows_min[..., 1:-1, :])
    np.minimum(eroded, rows_min[..., 2:, :], out=eroded)
    strength = rng.uniform(-1.0, 1.0, (len(x), 1, 1, 1)).astype(x.dtype)
    dilated -= x
    dilated *= np.maximum(strength, 0)
    eroded -= x
    eroded *= np.maximum(-strength, 0) * x.dtype.type(MAX_THINNING)
    dilated += eroded
    dilated += x
    return dilated


def _source_coordinates(n, h, w, dtype, rng, max_shift, max_rotation, scale):
    """For every output pixel, where it comes from in the input (the inverse of a random
    rotation, scale and shift per image): (rows, columns), each (n, h, w)."""
    angle = np.deg2rad(rng.uniform(-max_rotation, max_rotation, n)).astype(dtype)
    zoom = rng.uniform(scale[0], scale[1], n).astype(dtype)
    shift = rng.uniform(-max_shift, max_shift, (2, n)).astype(dtype)
    cos = (np.cos(angle) / zoom)[:, None, None]
    sin = (np.sin(angle) / zoom)[:, None, None]
    cy, cx = dtype.type((h - 1) / 2), dtype.type((w - 1) / 2)
    dy = (np.arange(h, dtype=dtype) - cy)[None, :, None] - shift[0][:, None, None]
    dx = (np.arange(w, dtype=dtype) - cx)[None, None, :] - shift[1][:, None, None]
    # The small (n, h, 1) and (n, 1, w) terms are combined first: one full-size operation.
    rows = (cos * dy + cy) + sin * dx
    columns = (cx - sin * dy) + cos * dx
    # Clipping the coordinates onto a zero border (1 pixel before, 2 after) keeps every
    # index of the 2×2 neighbourhood inside the padded image without clipping indices.
    np.clip(rows, -1, h, out=rows)
    np.clip(columns, -1, w, out=columns)
    return rows, columns


def _affine_sample(x: np.ndarray, rng, max_shift, max_rotation, scale) -> np.ndarray:
    """Rotate by ±max_rotation degrees, scale by `scale`, shift by ±max_shift pixels (each
    image its own draw) with bilinear interpolation; outside the image counts as 0."""
    n, c, h, w = x.shape
    wy, wx = _source_coordinates(n, h, w, x.dtype, rng, max_shift, max_rotation, scale)
    top_row, left_column = np.floor(wy), np.floor(wx)
    wy -= top_row  # now the weights of the lower and right neighbours
    wx -= left_column
    stride = w + 3
    plane = (h + 3) * stride
    # Offsets within one padded image are small enough to be exact in float32; the image's
    # start is added in integers (a large batch would overflow float32's exact range).
    top_row *= stride
    top_row += left_column
    index = top_row.astype(np.intp)
    index += (np.arange(n, dtype=np.intp) * (c * plane))[:, None, None] + (stride + 1)
    padded = _zero_padded(x, 1, 2).reshape(-1)
    out = np.empty_like(x)
    for channel in range(c):
        at = index + channel * plane if c > 1 else index
        # take() with mode="clip" skips the bounds check that fancy indexing makes; moving
        # `at` in place around the 2×2 neighbourhood saves a temporary index array each.
        top_left = padded.take(at, mode="clip")
        at += 1
        top_right = padded.take(at, mode="clip")
        at += stride
        bottom_right = padded.take(at, mode="clip")
        at -= 1
        bottom_left = padded.take(at, mode="clip")
        top = _lerp(top_left, top_right, wx)
        bottom = _lerp(bottom_left, bottom_right, wx)
        out[:, channel] = _lerp(top, bottom, wy)
    return out


def _lerp(start: np.ndarray, end: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """start + weight * (end - start), computed in `end`'s memory."""
    end -= start
    end *= weight
    end += start
    return end


def augment_images(
    x, rng: np.random.Generator, max_shift=2, max_rotation=12, scale=(0.9, 1.1), thickness=True
) -> np.ndarray:
    """A randomly shifted, rotated, scaled and thickened/thinned copy of a batch of images.

    x: float images (N, C, H, W), (N, H, W) or square flat (N, H*W); returns the same shape
    and dtype (the input is not changed). max_shift in pixels, max_rotation in degrees,
    scale as (smallest, largest) factor; thickness toggles the stroke-width change.
    """
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float32)
    images = _as_nchw(x)
    if thickness:
        images = _change_thickness(images, rng)
    images = _affine_sample(images, rng, max_shift, max_rotation, scale)
    return images.reshape(x.shape)


MAX_BRIGHTNESS_CHANGE = 0.2  # each picture 20 % darker to 20 % brighter, at most


def augment_photos(
    x, rng: np.random.Generator, max_shift=2, max_rotation=10, scale=(0.9, 1.1), flip=False
) -> np.ndarray:
    """A randomly shifted, rotated, scaled and brightened/darkened copy of a batch of colour
    images (N, C, H, W); with ``flip``, half of them mirrored left to right as well."""
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float32)
    images = _affine_sample(_as_nchw(x), rng, max_shift, max_rotation, scale)
    if flip:
        mirrored = rng.random(len(images)) < 0.5
        images[mirrored] = images[mirrored, :, :, ::-1]
    change = MAX_BRIGHTNESS_CHANGE
    images *= rng.uniform(1 - change, 1 + change, (len(images), 1, 1, 1)).astype(images.dtype)
    return images.reshape(x.shape)


def make_augmenter(max_shift=2, max_rotation=12, scale=(0.9, 1.1), thickness=True):
    """`augment(x, rng)` with these settings, checked now (for `fit(..., augment=...)`)."""
    if max_shift < 0 or max_rotation < 0:
        raise ValueError(
            f"max_shift and max_rotation must be 0 or more (got {max_shift}, {max_rotation})."
        )
    if not 0 < scale[0] <= scale[1]:
        raise ValueError(
            f"scale must be (smallest, largest) with 0 < smallest <= largest; got {scale}."
        )
    return partial(
        augment_images,
        max_shift=max_shift,
        max_rotation=max_rotation,
        scale=tuple(scale),
        thickness=thickness,
    )
