"""A folder of the user's own pictures as a dataset: one sub-folder per class.

    shapes/
      circles/  a.png b.jpg …
      squares/  c.png d.webp …

The sub-folder names are the class names (sorted, so the same folder always gives the same
class numbers). PNG, JPEG, BMP, GIF (its first frame) and WebP are read through Pillow; other
files, and images Pillow cannot decode, are skipped and counted (``skipped_message``).

Every image becomes the same size — by default the most common size among the files, scaled
down to at most 64 pixels a side — keeping its aspect ratio and padding the rest with the
colour of its border, so a picture is never stretched. Colour is ``rgb`` (3 channels) or
``gray`` (1); by default rgb as soon as one file is in colour. Arrays are float32
(N, channels, height, width) in [0, 1].

Reading is bounded as every reader is (safe_read): each file's size is checked before it is
opened, each image's pixel count is read from its header and checked before it is decoded
(Pillow's decompression-bomb threshold), and the number of files is capped. The decoded arrays
are kept in a cache in the user's data folder (image_cache.py), so opening the same folder
again is fast. NumPy and Pillow only; no Qt.
"""

from __future__ import annotations

import itertools
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nnstudio.safe_read import FileReadError, open_file

from . import image_cache
from .dataset import DatasetError, DatasetNotFound

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
COLORS = ("rgb", "gray")
DEFAULT_MAX_SIDE = 64  # the default image size is capped here: bigger trains too slowly in NumPy
MAX_IMAGE_SIDE = 512  # --image-size above this would need gigabytes for a few thousand images
MAX_FILES = 200_000  # a folder with more is refused before anything is decoded
# Pillow's own decompression-bomb threshold (~89 million pixels, a 9500 × 9500 image), checked
# from the header before decoding so the message can say the size.
MAX_PIXELS = 89_478_485
# Modes whose pixels carry no colour; every other mode (RGB, palette, CMYK…) counts as colour.
_GRAY_MODES = ("1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "F")
_LISTED_SKIPS = 5  # the skipped files named in the message; the rest are counted


class ImageReadError(DatasetError):
    """One image that cannot be read; the message says which and why, ``reason`` says it in
    two or three words (for the list of skipped files)."""

    def __init__(self, message: str, reason: str = "not an image"):
        super().__init__(message)
        self.reason = reason


@dataclass
class ImageFolder:
    """What `read_image_folder` found: images (N, C, H, W), labels and the files it skipped."""

    images: np.ndarray
    labels: np.ndarray
    class_names: list[str]
    color: str
    size: tuple[int, int]  # (height, width)
    skipped: list[str] = field(default_factory=list)  # "broken.png (not an image)", "notes.txt"


# -- one image ------------------------------------------------------------------------------------


def open_image(path):
    """The image in ``path`` through Pillow, decoded whole (GIF: its first frame) and checked:
    the file's size before it is opened, the pixel count from its header before decoding.
    Raises ImageReadError."""
    return _checked_image(Path(path), decode=True)


def read_header(path) -> tuple[tuple[int, int], bool]:
    """((width, height), in colour?) from the image's header, nothing decoded; the file's size
    and the pixel count checked. Raises ImageReadError."""
    image = _checked_image(Path(path), decode=False)
    return image.size, is_colour(image)


# What Pillow raises for a file that is not an image or is damaged.
_PILLOW_ERRORS = (OSError, SyntaxError, ValueError, EOFError)  # UnidentifiedImageError: OSError


def _checked_image(path: Path, decode: bool):
    from PIL import Image

    try:
        # Decoded while the file is open (a truncated file fails here), so the file is closed
        # whatever happens; the pixels (or the header's size and mode) stay in memory.
        with open_file(path, "an image") as file:
            image = _open_header(Image, file)
            check_pixels(path, image.width, image.height)
            if decode:
                image.load()
            return image
    except ImageReadError:
        raise
    except FileReadError as error:
        raise ImageReadError(str(error), "cannot be read") from None
    except Image.DecompressionBombError:
        raise ImageReadError(f"{path}: the image has too many pixels to read", "too big") from None
    except _PILLOW_ERRORS:
        raise ImageReadError(f"{path}: not an image nnstudio can read (use PNG or JPG)") from None


def _open_header(Image, file):
    """Image.open (the header only) without Pillow's bomb check, which would refuse a huge
    image without saying its size; check_pixels says it before anything is decoded."""
    limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
    try:
        return Image.open(file)
    finally:
        Image.MAX_IMAGE_PIXELS = limit


def check_pixels(path, width: int, height: int) -> None:
    if width * height > MAX_PIXELS:
        raise ImageReadError(
            f"{path}: the image is {width:,} × {height:,} pixels ({width * height / 1e6:,.0f} "
            f"million), more than the {MAX_PIXELS / 1e6:.0f} million nnstudio reads; scale it "
            "down first",
            "too big",
        )


def is_colour(image) -> bool:
    return image.mode not in _GRAY_MODES


def _flattened(image, color: str):
    """``image`` as Pillow "RGB" or "L": transparent parts over white (a cut-out icon shows
    its shape, not whatever colour hides under the transparent pixels)."""
    from PIL import Image

    if image.mode.startswith("I") or image.mode == "F":  # 16-bit or float grey: scale to 8 bits
        levels = np.asarray(image.convert("F"), np.float32)
        top = 65535.0 if levels.max(initial=0) > 255 else 255.0
        image = Image.fromarray(np.clip(levels * (255.0 / top), 0, 255).astype(np.uint8), "L")
    if "A" in image.mode or "transparency" in image.info:
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
    return image.convert("RGB" if color == "rgb" else "L")


def _border_colour(pixels: np.ndarray) -> np.ndarray:
    """The median colour of an (H, W, C) uint8 image's outer pixels, a whole 8-bit value: what
    the padding is filled with, so it blends into the picture's background instead of framing
    it in black. (Whole values keep every prepared pixel a multiple of 1/255, which the cache
    of decoded folders stores exactly as bytes.)"""
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    return np.round(np.median(border, axis=0))


def fit_image(image, size: tuple[int, int], color: str) -> np.ndarray:
    """A Pillow image as float32 (C, H, W) in [0, 1] at ``size`` (height, width): scaled to
    fit with its aspect ratio kept, the rest padded with its border colour."""
    from PIL import Image

    image = _flattened(image, color)
    height, width = size
    scale = min(width / image.width, height / image.height)
    new_width = max(1, min(width, round(image.width * scale)))
    new_height = max(1, min(height, round(image.height * scale)))
    if (new_width, new_height) != image.size:
        shrinks = scale < 1
        method = Image.Resampling.LANCZOS if shrinks else Image.Resampling.BILINEAR
        image = image.resize((new_width, new_height), method)
    pixels = np.asarray(image, np.uint8).reshape(new_height, new_width, -1)
    canvas = np.empty((height, width, pixels.shape[2]), np.uint8)
    canvas[:] = _border_colour(pixels)
    top, left = (height - new_height) // 2, (width - new_width) // 2
    canvas[top : top + new_height, left : left + new_width] = pixels
    return np.ascontiguousarray(canvas.transpose(2, 0, 1)).astype(np.float32) / 255.0


def read_image(path, size: tuple[int, int], color: str) -> np.ndarray:
    """One image file as float32 (C, H, W), prepared exactly as `read_image_folder` does."""
    return fit_image(open_image(path), size, color)


# -- the folder -----------------------------------------------------------------------------------


def _visible(path: Path) -> bool:
    return not path.name.startswith(".")


def class_folders(folder: Path) -> tuple[list[Path], list[Path]]:
    """(class sub-folders sorted by name, loose files beside them)."""
    try:
        entries = sorted((p for p in folder.iterdir() if _visible(p)), key=lambda p: p.name)
    except OSError as error:
        raise DatasetError(f"{folder} cannot be read ({error.strerror or error}).") from None
    return [p for p in entries if p.is_dir()], [p for p in entries if not p.is_dir()]


def _class_files(class_folder: Path) -> list[Path]:
    """Every visible file under a class folder (sub-folders included), sorted."""
    files = []
    for root, dirs, names in os.walk(class_folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        files += [Path(root) / n for n in sorted(names) if not n.startswith(".")]
        if len(files) > MAX_FILES:
            break
    return files


def _list_files(folder: Path) -> tuple[list[str], list[list[Path]], list[Path]]:
    """(class names, the files of each class, loose files), checked: at least two classes,
    not too many files."""
    classes, loose = class_folders(folder)
    if len(classes) < 2:
        found = f"only {classes[0].name!r}" if classes else "none"
        raise DatasetError(
            f"{folder}: an image folder needs one sub-folder per class, at least two (found "
            f"{found}). Put each class's pictures in a sub-folder named after the class, e.g. "
            "cats/ and dogs/."
        )
    files = [_class_files(c) for c in classes]
    total = sum(len(f) for f in files)
    if total > MAX_FILES:
        raise DatasetError(
            f"{folder} holds more than {MAX_FILES:,} files; nnstudio reads at most that many "
            "images. Use a sample of them."
        )
    return [c.name for c in classes], files, loose


def _headers(files, root: Path, skipped: list[str], progress):
    """Open each image's header (cheap: nothing is decoded): [(path, label, (w, h), colour)].
    Files that are not images are added to ``skipped``."""
    found, total = [], sum(len(f) for f in files)
    done = 0
    for label, paths in enumerate(files):
        for path in paths:
            done += 1
            if progress is not None and done % 200 == 0:
                progress(done, 2 * total, f"Looking at {done:,} of {total:,} files")
            name = path.relative_to(root).as_posix()
            if path.suffix.lower() not in IMAGE_SUFFIXES:
                skipped.append(name)
                continue
            try:
                size, colour = read_header(path)
            except ImageReadError as error:
                skipped.append(f"{name} ({error.reason})")
                continue
            found.append((path, label, size, colour))
    return found


def _loose_file(path: Path) -> str:
    """How a file beside the class folders is listed among the skipped ones: a picture there
    belongs to no class, which is worth saying; anything else is just named."""
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return f"{path.name} (not in a class folder)"
    return path.name


def default_size(sizes) -> tuple[int, int]:
    """The most common (width, height) as (height, width), scaled down to at most 64 a side.

    >>> default_size([(200, 100), (200, 100), (30, 30)])
    (32, 64)
    """
    width, height = Counter(sizes).most_common(1)[0][0]
    scale = min(1.0, DEFAULT_MAX_SIDE / max(width, height))
    return max(1, round(height * scale)), max(1, round(width * scale))


def check_image_size(image_size) -> None:
    if image_size is None:
        return
    if isinstance(image_size, bool) or not isinstance(image_size, int):
        raise DatasetError(f"The image size must be a whole number of pixels, not {image_size!r}.")
    if not 4 <= image_size <= MAX_IMAGE_SIDE:
        raise DatasetError(
            f"The image size must be between 4 and {MAX_IMAGE_SIDE} pixels, not {image_size}."
        )


def check_color(color) -> None:
    if color is not None and color not in COLORS:
        raise DatasetError(f"Unknown colour {color!r}: choose rgb or gray.")


def _decode_all(found, size, color, skipped, root, progress):
    """The images at ``size``; one that fails to decode (a damaged body behind a good header)
    joins ``skipped``."""
    channels = 3 if color == "rgb" else 1
    images = np.empty((len(found), channels, *size), np.float32)
    labels, kept = np.empty(len(found), np.int64), 0
    for number, (path, label, _, _) in enumerate(found, start=1):
        if progress is not None and number % 100 == 0:
            progress(len(found) + number, 2 * len(found), f"Reading image {number:,}")
        try:
            images[kept] = read_image(path, size, color)
        except ImageReadError as error:
            skipped.append(f"{path.relative_to(root).as_posix()} ({error.reason})")
            continue
        labels[kept] = label
        kept += 1
    return images[:kept], labels[:kept]


def _check_every_class_has_images(folder, class_names, labels) -> None:
    counts = np.bincount(labels, minlength=len(class_names))
    empty = [name for name, count in zip(class_names, counts, strict=True) if count == 0]
    if empty:
        raise DatasetError(
            f"{folder}: the class folder{'s' if len(empty) > 1 else ''} "
            f"{', '.join(repr(n) for n in empty)} holds no image nnstudio can read. Add "
            "pictures (PNG, JPEG, BMP, GIF or WebP) or remove the folder."
        )


def read_image_folder(folder, image_size=None, color=None, progress=None) -> ImageFolder:
    """The images of ``folder`` (one sub-folder per class), all at one size and colour.

    image_size: N for N × N images (default: the most common size, at most 64 a side).
    color: "rgb" or "gray" (default: rgb when any file is in colour). progress(done, total,
    message) is called now and then. Raises DatasetNotFound / DatasetError.
    """
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise DatasetNotFound(
            f"{folder} is not a folder. Choose a folder holding one sub-folder of pictures per "
            "class.",
            name=f"images:{folder}",
        )
    check_image_size(image_size)
    check_color(color)
    class_names, files, loose = _list_files(folder)
    key = image_cache.cache_key(folder, [*loose, *itertools.chain(*files)], image_size, color)
    cached = image_cache.load(key)
    if cached is not None and cached[2] == class_names:
        return ImageFolder(*cached)
    skipped = [_loose_file(p) for p in loose]
    found = _headers(files, folder, skipped, progress)
    _check_every_class_has_images(folder, class_names, np.array([f[1] for f in found], np.int64))
    size = (image_size, image_size) if image_size else default_size([f[2] for f in found])
    color = color or ("rgb" if any(f[3] for f in found) else "gray")
    images, labels = _decode_all(found, size, color, skipped, folder, progress)
    _check_every_class_has_images(folder, class_names, labels)
    image_cache.store(key, images, labels, class_names, color, size, skipped)
    return ImageFolder(images, labels, class_names, color, size, skipped)


def skipped_message(skipped: list[str]) -> str | None:
    """One line naming what was skipped, or None.

    >>> skipped_message(["broken.png (not an image)", "notes.txt"])
    'skipped 2 files: broken.png (not an image), notes.txt'
    """
    if not skipped:
        return None
    listed = ", ".join(skipped[:_LISTED_SKIPS])
    more = f" and {len(skipped) - _LISTED_SKIPS:,} more" if len(skipped) > _LISTED_SKIPS else ""
    noun = "file" if len(skipped) == 1 else "files"
    return f"skipped {len(skipped):,} {noun}: {listed}{more}"
