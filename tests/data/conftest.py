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


SHAPE_FORMATS = ("png", "jpg", "bmp", "gif", "webp")


def write_shapes_folder(folder, per_class=12, side=16, seed=0, extras=True):
    """An image folder of generated colour shapes: red-squares/ and blue-circles/, one file
    format after another (PNG, JPEG, BMP, GIF, WebP); with ``extras`` also a broken .png in
    red-squares/ and a notes.txt beside the class folders (both to be skipped)."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    for name, colour in (("red-squares", (220, 30, 30)), ("blue-circles", (30, 30, 220))):
        (folder / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            image = Image.new("RGB", (side, side), "white")
            x, y = rng.integers(side // 4, 3 * side // 4, 2)
            r = int(rng.integers(side // 8, side // 4 + 1))
            box = [x - r, y - r, x + r, y + r]
            draw = ImageDraw.Draw(image)
            (draw.rectangle if name == "red-squares" else draw.ellipse)(box, fill=colour)
            image.save(folder / name / f"{i}.{SHAPE_FORMATS[i % len(SHAPE_FORMATS)]}")
    if extras:
        (folder / "red-squares" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
        (folder / "notes.txt").write_text("generated shapes\n")
    return folder
