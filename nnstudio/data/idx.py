"""IDX files (the MNIST format): reader, writer, and the four-file MNIST folder layout.

An IDX file is a 4-byte magic number — two zero bytes, a data type code, the number of
dimensions — then one big-endian 32-bit size per dimension, then the values, big-endian, in C
order. Files may be gzip-compressed (recognised by their first bytes, not their name).

>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "a-idx2-ubyte.gz")
>>> write_idx(path, np.arange(6, dtype=np.uint8).reshape(2, 3))
>>> read_idx(path).tolist()
[[0, 1, 2], [3, 4, 5]]
"""

from __future__ import annotations

import gzip
import zlib
from math import prod
from pathlib import Path

import numpy as np

from nnstudio.atomic_file import write_atomically
from nnstudio.safe_read import FileReadError, limit_hint, max_file_bytes, read_bytes

from .dataset import DatasetError, check_data_file

# Type code -> big-endian dtype, all the codes the format defines.
IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dtype.newbyteorder("="): code for code, dtype in IDX_DTYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"

# The four files of MNIST and Fashion-MNIST: role -> base name.
MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


class IdxError(DatasetError):
    """A file that is not a valid IDX file, or IDX files that do not belong together."""


def _decompress(raw: bytes, path: Path, limit: int | None = None) -> bytes:
    """gunzip, stopping at ``limit`` bytes: a small .gz can expand a thousandfold."""
    limit = max_file_bytes() if limit is None else limit
    try:
        inflater = zlib.decompressobj(wbits=31)
        data = inflater.decompress(raw, limit + 1)
        while inflater.eof and inflater.unused_data and len(data) <= limit:
            rest = inflater.unused_data  # a file of several gzip members, as gzip allows
            inflater = zlib.decompressobj(wbits=31)
            data += inflater.decompress(rest, limit + 1 - len(data))
    except (OSError, EOFError, zlib.error) as error:
        raise IdxError(
            f"{path} is a damaged gzip file ({error}); it is probably truncated by an "
            "interrupted download. Get the file again."
        ) from None
    if len(data) > limit:
        raise IdxError(f"{path} expands to more than {limit_hint(limit)}.")
    if not inflater.eof:
        raise IdxError(
            f"{path} is a damaged gzip file (it ends early); it is probably truncated by an "
            "interrupted download. Get the file again."
        )
    return data


def _parse_header(head: bytes, path: Path) -> tuple[np.dtype, tuple[int, ...]]:
    """Data type and shape from the first bytes; strict, with the reason in the message."""
    if len(head) < 4:
        raise IdxError(
            f"{path} is truncated: it holds {len(head)} bytes, fewer than the "
            "4 of an IDX magic number."
        )
    if head[0] != 0 or head[1] != 0 or head[2] not in IDX_DTYPES or head[3] == 0:
        magic = int.from_bytes(head[:4], "big")
        raise IdxError(
            f"{path} has the wrong magic number 0x{magic:08X}: it is not an IDX file. An IDX "
            "file starts with 00 00, a type code (08 = unsigned bytes … 0E = float64) and the "
            "number of dimensions, e.g. 0x00000803 (2051) for images, 0x00000801 (2049) for "
            "labels."
        )
    ndim = head[3]
    if len(head) < 4 + 4 * ndim:
        raise IdxError(
            f"{path} is truncated inside its header: {ndim} dimensions need "
            f"{4 + 4 * ndim} bytes, the file has {len(head)}."
        )
    shape = tuple(int(n) for n in np.frombuffer(head, ">u4", ndim, 4))
    return IDX_DTYPES[head[2]], shape


def _describe(shape, dtype) -> str:
    return " × ".join(str(n) for n in shape) + f" {dtype.newbyteorder('=').name}"


def _decode(raw: bytes, path: Path) -> np.ndarray:
    """Read-only array viewing `raw` (no copy), after strict checks of its size."""
    dtype, shape = _parse_header(raw[: 4 + 4 * 255], path)
    start = 4 + 4 * len(shape)
    expected = prod(shape) * dtype.itemsize
    present = len(raw) - start
    if present < expected:
        raise IdxError(
            f"{path} is truncated: its header promises {_describe(shape, dtype)} "
            f"({expected:,} bytes of data) but it holds {present:,}. The file is incomplete "
            "(an interrupted download?); get it again."
        )
    if present > expected:
        raise IdxError(
            f"{path} has {present - expected:,} bytes more than its header describes "
            f"({_describe(shape, dtype)}): it is not a valid IDX file."
        )
    return np.frombuffer(raw, dtype, prod(shape), start).reshape(shape)


def read_idx_bytes(raw: bytes, path="<bytes>", max_bytes: int | None = None) -> np.ndarray:
    """Decode IDX data held in memory (gzip or raw) into a read-only array in file byte order.

    The download code uses it to check a file's structure before keeping it.
    """
    path = Path(path)
    if raw[:2] == _GZIP_MAGIC:
        raw = _decompress(raw, path, max_bytes)
    return _decode(raw, path)


def read_idx(path, max_bytes: int | None = None) -> np.ndarray:
    """Read an IDX file (gzip or raw) into a writable array in native byte order.

    Raises IdxError for a wrong magic number, a truncated file or extra bytes, naming the
    file; refuses files larger than `max_bytes` before reading them.
    """
    path = Path(path)
    check_data_file(path, max_bytes)
    array = read_idx_bytes(_read(path, max_bytes), path, max_bytes)
    return array.astype(array.dtype.newbyteorder("="))  # copies: writable and native


def write_idx(path, array, compress: bool | None = None) -> None:
    """Write an array as IDX (gzip when `compress`, default: when the name ends in .gz).

    Supported dtypes: uint8, int8, int16, int32, float32, float64. The file is written to a
    temporary file first and renamed, so it is never left half-written.
    """
    path = Path(path)
    array = np.asarray(array)
    native = array.dtype.newbyteorder("=")
    if native not in _CODES:
        raise IdxError(
            f"IDX cannot store {array.dtype}; convert to uint8, int8, int16, int32, "
            "float32 or float64 first."
        )
    if not 1 <= array.ndim <= 255:
        raise IdxError(f"IDX stores 1 to 255 dimensions, not {array.ndim}.")
    header = bytes([0, 0, _CODES[native], array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    data = header + np.ascontiguousarray(array, native.newbyteorder(">")).tobytes()
    if path.name.endswith(".gz") if compress is None else compress:
        data = gzip.compress(data, mtime=0)
    write_atomically(path, data)


def _read_view(path, max_bytes=None) -> np.ndarray:
    path = Path(path)
    check_data_file(path, max_bytes)
    return read_idx_bytes(_read(path, max_bytes), path, max_bytes)


def _read(path: Path, max_bytes: int | None) -> bytes:
    try:
        return read_bytes(path, "an IDX file", max_bytes)
    except FileReadError as error:
        raise IdxError(str(error)) from None


def read_labelled_images(
    images_path, labels_path, n_classes: int | None = None, max_bytes: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(images (N, H, W), int64 labels (N,)) from a pair of IDX files, checked together.

    Raises IdxError when the images are not 3-D, the labels not 1-D, the counts differ (the
    labels file belongs to another set) or a label is outside 0..n_classes-1. The images are
    a read-only array (callers convert them anyway).
    """
    images = _read_view(images_path, max_bytes)
    labels = _read_view(labels_path, max_bytes)
    if images.ndim != 3:
        raise IdxError(
            f"{images_path} holds {images.ndim}-D data {images.shape}; an images "
            "file holds 3-D data (count, height, width). Is it a labels file?"
        )
    if labels.ndim != 1:
        raise IdxError(
            f"{labels_path} holds {labels.ndim}-D data {labels.shape}; a labels "
            "file holds one label per image (1-D). Is it an images file?"
        )
    if len(images) != len(labels):
        raise IdxError(
            f"{labels_path} holds {len(labels):,} labels but {images_path} holds "
            f"{len(images):,} images: the labels file belongs to another set. Use the labels "
            "that came with these images (train-… with train-…, t10k-… with t10k-…)."
        )
    if labels.dtype.kind not in "iu":
        raise IdxError(f"{labels_path} holds {labels.dtype} values; labels must be integers.")
    labels = labels.astype(np.int64)
    upper = n_classes if n_classes is not None else np.iinfo(np.int64).max
    bad = np.flatnonzero((labels < 0) | (labels >= upper))
    if len(bad):
        allowed = f"0..{n_classes - 1}" if n_classes is not None else "0 or more"
        raise IdxError(
            f"{labels_path}: label {labels[bad[0]]} at position {bad[0]} is outside "
            f"the class range {allowed} ({len(bad)} labels are out of range)."
        )
    return images, labels


def find_idx_files(folder) -> tuple[dict[str, Path], list[str]]:
    """The four MNIST-named files in `folder`: ({role: path}, [missing base names]).

    Accepts each file gzip-compressed (.gz) or raw, named with a hyphen or a dot before
    "idx" (train-images-idx3-ubyte or train-images.idx3-ubyte, as some copies are).
    """
    folder = Path(folder)
    found, missing = {}, []
    for role, base in MNIST_FILES.items():
        dotted = base.replace("-idx", ".idx")
        names = [base + ".gz", base, dotted + ".gz", dotted]
        path = next((folder / n for n in names if (folder / n).is_file()), None)
        if path is None:
            missing.append(base + ".gz")
        else:
            found[role] = path
    return found, missing


def read_idx_folder(folder, n_classes: int | None = None, max_bytes: int | None = None):
    """(x_train, y_train, x_test, y_test) from a folder of the four MNIST-named IDX files.

    Images come back as stored (read-only, usually uint8 (N, H, W)); labels as int64.
    """
    found, missing = find_idx_files(folder)
    if missing:
        raise IdxError(
            f"{folder} lacks {', '.join(missing)}. An IDX folder holds the four "
            f"MNIST-named files: {', '.join(n + '.gz' for n in MNIST_FILES.values())}"
            " (gzip or not)."
        )
    x_train, y_train = read_labelled_images(
        found["train_images"], found["train_labels"], n_classes, max_bytes
    )
    x_test, y_test = read_labelled_images(
        found["test_images"], found["test_labels"], n_classes, max_bytes
    )
    if x_train.shape[1:] != x_test.shape[1:]:
        raise IdxError(
            f"{folder}: training images are {x_train.shape[1:]} but test images are "
            f"{x_test.shape[1:]}; both sets must have the same image size."
        )
    return x_train, y_train, x_test, y_test
