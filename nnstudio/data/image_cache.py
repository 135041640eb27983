"""A cache of decoded image folders in the user's data folder: the second open of the same
folder (same files, same size and colour) reads one .npz instead of decoding every picture.

The key is a hash of the folder's path, the options and every file's name, size and
modification time, so adding, removing or editing a picture makes a new entry. Pixels are
stored as bytes (every prepared pixel is a multiple of 1/255, so nothing is lost) and read
back through safe_read.load_npz (never unpickled). Only the most recently used entries are
kept, and none above 512 MB. The cache is only ever a speed-up: one that cannot be read or
written is ignored.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

import numpy as np

from nnstudio.atomic_file import write_atomically
from nnstudio.paths import user_data_dir
from nnstudio.safe_read import FileReadError, load_npz

CACHE_VERSION = 1  # raise when what is stored, or how pictures are prepared, changes
MAX_ENTRIES = 8
MAX_ENTRY_BYTES = 512 * 2**20  # a bigger folder is decoded each time rather than fill the disk


def cache_dir() -> Path:
    return user_data_dir() / "cache" / "image-folders"


def cache_key(folder: Path, files: list[Path], image_size, color) -> str:
    """A hash of everything the decoded arrays depend on."""
    digest = hashlib.sha256()
    digest.update(json.dumps([CACHE_VERSION, str(folder.resolve()), image_size, color]).encode())
    for path in files:
        try:
            info = path.stat()
        except OSError:
            continue  # vanished meanwhile: reading it will say so
        digest.update(f"{path.relative_to(folder)}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:32]


def load(key: str):
    """(images, labels, class_names, color, size, skipped) from the cache, or None."""
    path = cache_dir() / f"{key}.npz"
    if not path.is_file():
        return None
    try:
        arrays = load_npz(path, "a cached image folder")
        images = arrays["images"].astype(np.float32) / 255.0
        entry = (
            images,
            arrays["labels"].astype(np.int64),
            [str(name) for name in arrays["class_names"]],
            str(arrays["color"]),
            tuple(int(n) for n in arrays["size"]),
            [str(name) for name in arrays["skipped"]],
        )
        os.utime(path)  # recently used: kept when older entries are pruned
    except (FileReadError, KeyError, ValueError, TypeError, OSError):
        return None
    return entry


def store(key: str, images, labels, class_names, color, size, skipped) -> None:
    """Keep the decoded folder for next time; prune the least recently used entries."""
    if images.size > MAX_ENTRY_BYTES:  # one byte per stored pixel value
        return
    buffer = io.BytesIO()
    np.savez(
        buffer,
        images=np.round(images * 255).astype(np.uint8),
        labels=labels,
        class_names=np.array(class_names, dtype=str),
        color=np.array(color),
        size=np.array(size),
        skipped=np.array(skipped, dtype=str),
    )
    try:
        folder = cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        write_atomically(folder / f"{key}.npz", buffer.getvalue())
        entries = sorted(folder.glob("*.npz"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in entries[MAX_ENTRIES:]:
            old.unlink(missing_ok=True)
    except (OSError, ValueError):
        pass  # a read-only data folder costs only speed
