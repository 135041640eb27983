"""Images as model inputs for ``nnstudio predict``: read with Pillow (no Qt), within size
limits checked before decoding, prepared as the window prepares them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nnstudio.data.image_folder import ImageReadError, open_image, read_image

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".pgm", ".ppm"}


class InputError(ValueError):
    """A file given to predict/evaluate that cannot be used; says which and why."""


def _as_input_error(read, *args):
    """``read(*args)`` with the data layer's ImageReadError said as the command line's."""
    try:
        return read(*args)
    except ImageReadError as error:
        raise InputError(str(error)) from None


def _open_image(path: Path):
    """The image in ``path`` through Pillow (no Qt: the command line runs without it), within
    the data layer's limits (file size, pixels before decoding)."""
    return _as_input_error(open_image, path)


def _resized(image, height: int | None, width: int | None):
    """``image`` at (height, width). Bilinear when it grows and a Hamming window when it
    shrinks: of Pillow's filters, the ones closest to the smooth scaling of Qt's QImage that
    earlier versions used, so models see the same inputs as before."""
    if height is None or (image.height, image.width) == (height, width):
        return image
    from PIL import Image

    shrinks = height < image.height or width < image.width
    method = Image.Resampling.HAMMING if shrinks else Image.Resampling.BILINEAR
    return image.resize((width, height), method)


def _luminance(rgb: np.ndarray) -> np.ndarray:
    """Grey levels of 8-bit sRGB colours (H, W, 3) in [0, 1]: the luminance of the linear
    values, encoded back to sRGB and rounded to 8 bits, as QImage's Grayscale8 conversion does
    (a weighted sum of the encoded values would darken saturated colours)."""
    values = rgb.astype(np.float64) / 255.0
    linear = np.where(values <= 0.04045, values / 12.92, ((values + 0.055) / 1.055) ** 2.4)
    y = linear @ np.array([0.2126, 0.7152, 0.0722])
    encoded = np.where(y <= 0.0031308, 12.92 * y, 1.055 * y ** (1 / 2.4) - 0.055)
    return (np.round(encoded * 255.0) / 255.0).astype(np.float32)


def _gray_levels(image, height: int | None, width: int | None) -> np.ndarray:
    """(H, W) float32 grey levels in [0, 1]; 16-bit grey images keep their precision."""
    if image.mode.startswith("I"):  # 16-bit grey ("I;16", or "I" in some Pillow versions)
        return np.asarray(_resized(image.convert("F"), height, width), np.float32) / 65535.0
    if image.mode in ("1", "L", "LA"):
        gray = _resized(image.convert("L"), height, width)
        return np.asarray(gray, np.float32) / 255.0
    return _luminance(np.asarray(_resized(image.convert("RGB"), height, width)))


def read_image_gray(path: Path, height: int | None = None, width: int | None = None):
    """A PNG/JPG/BMP/GIF/PGM/PPM as float32 (H, W) grey levels in [0, 1] (resized when a size
    is given). Transparency is ignored, as the colour values are read."""
    return _gray_levels(_open_image(path), height, width)


def read_image_rgb(path: Path, height: int, width: int) -> np.ndarray:
    """An image resized to (height, width) as float32 (3, H, W) in [0, 1]."""
    image = _open_image(path)
    if image.mode.startswith("I"):  # 16-bit grey: Pillow's RGB conversion would clip it
        return np.repeat(_gray_levels(image, height, width)[None], 3, axis=0)
    rgb = np.asarray(_resized(image.convert("RGB"), height, width), np.float32) / 255.0
    return np.ascontiguousarray(rgb.transpose(2, 0, 1))


def _as_ink(gray: np.ndarray) -> np.ndarray:
    """MNIST digits are light ink on black; a scan or drawing is usually dark on white. The
    border tells the background: a light border means dark ink, so invert."""
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    return 1.0 - gray if float(np.median(border)) > 0.5 else gray


def _prepare_digit(path: Path, gray: np.ndarray) -> np.ndarray:
    """The drawing canvas's MNIST-style preparation: crop to the ink, 20 px box, centre of
    mass at the centre."""
    from nnstudio.data.digits import prepare_drawing

    digit = prepare_drawing(_as_ink(gray))
    if digit is None:
        raise InputError(f"{path}: the image is blank (no digit found)")
    return digit


def image_input(path: Path, shape: tuple[int, ...], reading: dict | None = None) -> np.ndarray:
    """One image file as one model input of `shape` (channels, height, width). ``reading`` is
    the model's record of how its training pictures were read (an image folder: aspect kept
    and padded); without one, the picture is scaled to the shape."""
    if len(shape) != 3 or shape[0] not in (1, 3):
        raise InputError(
            f"{path}: the model takes inputs of shape {shape}, not images; give CSV rows instead"
        )
    channels, height, width = shape
    if isinstance(reading, dict) and reading.get("fit") == "pad":
        color = "rgb" if channels == 3 else "gray"
        return _as_input_error(read_image, path, (height, width), color)
    if channels == 3:
        return read_image_rgb(path, height, width)
    if (height, width) == (28, 28):
        # A digit model: the same MNIST-style preparation as the drawing canvas.
        return _prepare_digit(path, read_image_gray(path))[None]
    return read_image_gray(path, height, width)[None]
