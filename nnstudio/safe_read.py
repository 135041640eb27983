"""Read a user's file without letting the file decide how much is read, or whether we block.

Every file nnstudio reads for the user (models, checkpoints, projects, CSV/NPZ/IDX data,
images) goes through here. A path must name a regular file: a folder, a FIFO, ``/dev/zero``
or a socket is refused with a message naming what it is, before it is opened (and it is opened
with ``O_NONBLOCK``, so a path swapped for a FIFO meanwhile cannot hang us either). Sizes are
checked before reading: the file's size, a zip archive's entry count and each member's
declared size from the central directory (members are read only when asked for), and an
``.npy`` header's shape × dtype against the bytes that really follow it. NumPy and the
standard library only: the engine, the data layer and the project layer all use it.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "note.json"
>>> _ = path.write_text('{"a": [1, 2]}')
>>> parse_json(read_bytes(path, "a note"), str(path))
{'a': [1, 2]}

The limits can be raised (or lowered) with the environment variable ``NNSTUDIO_MAX_FILE_MB``;
every message about a limit says so.
"""

from __future__ import annotations

import io
import json
import math
import os
import stat
import zipfile
import zlib
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

__all__ = [
    "ENV_LIMIT",
    "MAX_JSON_DEPTH",
    "FileReadError",
    "MissingFile",
    "ZipReader",
    "check_file",
    "format_size",
    "json_max_bytes",
    "limit_hint",
    "load_npz",
    "max_file_bytes",
    "open_file",
    "parse_json",
    "read_bytes",
    "read_text",
    "shorten",
]

ENV_LIMIT = "NNSTUDIO_MAX_FILE_MB"
DEFAULT_MAX_MB = 1024
# JSON documents (projects, model.json) are small; a 2 GB one is an accident or an attack,
# and parsing JSON costs several times its size in memory.
DEFAULT_JSON_MAX_MB = 64
MAX_JSON_DEPTH = 64  # nnstudio writes at most ~6 levels; deeper would only exhaust the stack
MAX_ZIP_MEMBERS = 10_000
MAX_MESSAGE = 300


class FileReadError(ValueError):
    """A file that cannot be read safely; the message names it and says why and what to do."""

    def __init__(self, message: str, path=None):
        super().__init__(message)
        self.path = None if path is None else Path(path)


class MissingFile(FileReadError):
    """The path names nothing."""


def shorten(text: str, limit: int = MAX_MESSAGE) -> str:
    """``text`` on one line and at most ``limit`` characters (a 100,000-layer config echoed
    in an error must not print megabytes).

    >>> shorten("a" * 400, 10)
    'aaaaaaaaa…'
    """
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def format_size(n_bytes: float) -> str:
    """2147483648 -> '2.0 GB'."""
    size = float(n_bytes)
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{int(size)} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"  # pragma: no cover


def max_file_bytes(default_mb: float = DEFAULT_MAX_MB) -> int:
    """The size limit in bytes: ``NNSTUDIO_MAX_FILE_MB`` when set, else ``default_mb``."""
    try:
        return int(float(os.environ[ENV_LIMIT]) * 2**20)
    except (KeyError, ValueError):
        return int(default_mb * 2**20)


def json_max_bytes() -> int:
    """The limit for JSON documents (projects, model.json): 64 MB unless the variable is set."""
    return max_file_bytes(DEFAULT_JSON_MAX_MB)


def limit_hint(limit: int) -> str:
    """How messages name a limit and the way to raise it."""
    return (
        f"the {format_size(limit)} limit; raise it with the environment variable "
        f"{ENV_LIMIT} (in MB) if the file is genuine"
    )


def _kind(mode: int) -> str | None:
    """What a non-regular file is, in words."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode):
        return "a character device (like /dev/zero)"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return None if stat.S_ISREG(mode) else "not a regular file"


def _check_stat(path: Path, info: os.stat_result, what: str, max_bytes: int | None) -> int:
    kind = _kind(info.st_mode)
    if kind is not None:
        raise FileReadError(f"{path} is {kind}, not {what}. Choose a regular file.", path)
    limit = max_file_bytes() if max_bytes is None else max_bytes
    if info.st_size > limit:
        raise FileReadError(
            f"{path} is {format_size(info.st_size)}, more than {limit_hint(limit)}.", path
        )
    return info.st_size


def check_file(path, what: str = "a file", max_bytes: int | None = None) -> int:
    """The size of ``path`` after checking, without opening it, that it is a regular file no
    larger than ``max_bytes`` (default: ``max_file_bytes()``). ``what`` names what it should
    be ("a model file"). Raises MissingFile / FileReadError."""
    path = Path(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise MissingFile(f"{path} does not exist. Check the file name and folder.", path) from None
    except OSError as error:
        raise FileReadError(f"{path} cannot be read ({error.strerror or error}).", path) from None
    return _check_stat(path, info, what, max_bytes)


def open_file(path, what: str = "a file", max_bytes: int | None = None) -> BinaryIO:
    """``path`` opened for binary reading, checked as ``check_file`` does before and after
    opening (``O_NONBLOCK``: opening a FIFO that appeared meanwhile returns at once)."""
    path = Path(path)
    check_file(path, what, max_bytes)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        handle = os.open(path, flags)
    except OSError as error:
        raise FileReadError(f"{path} cannot be read ({error.strerror or error}).", path) from None
    try:
        _check_stat(path, os.fstat(handle), what, max_bytes)
        if hasattr(os, "set_blocking"):
            os.set_blocking(handle, True)
        return os.fdopen(handle, "rb")
    except BaseException:
        os.close(handle)
        raise


def read_bytes(path, what: str = "a file", max_bytes: int | None = None) -> bytes:
    """The whole file, at most ``max_bytes`` (a file that grows while read is cut off)."""
    limit = max_file_bytes() if max_bytes is None else max_bytes
    with open_file(path, what, limit) as file:
        data = file.read(limit + 1)
    if len(data) > limit:
        raise FileReadError(f"{path} grew past {limit_hint(limit)} while being read.", path)
    return data


def read_text(path, what: str = "a file", max_bytes: int | None = None, encoding="utf-8") -> str:
    data = read_bytes(path, what, max_bytes)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        raise FileReadError(
            f"{path} is not {encoding} text (byte {error.start}); it is not {what}.", path
        ) from None


# -- JSON ---------------------------------------------------------------------------------------


_CONTAINERS = (dict, list)


def _depth(value: Any) -> int:
    """Nesting depth of lists and dicts, without recursion. Only containers are stacked: a
    project of 100,000 runs holds millions of numbers, and each costs a check, not a push."""
    if not isinstance(value, _CONTAINERS):
        return 0
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_JSON_DEPTH:
            continue
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, _CONTAINERS))
    return deepest


def _no_constant(name: str):
    raise ValueError(f"it holds {name}, which JSON does not allow (write null or a number)")


def parse_json(
    data: bytes | str, where: str, max_depth: int = MAX_JSON_DEPTH, allow_nan: bool = True
) -> Any:
    """Parse JSON; raises FileReadError naming ``where`` (the file, or "file: member") with
    line and column, and for nesting deeper than ``max_depth`` (instead of a RecursionError
    here or in whatever walks the result). ``allow_nan=False`` refuses the NaN and Infinity
    Python's json reads but no JSON writer accepts (saving the file again would fail)."""
    try:
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
        value = json.loads(text, parse_constant=None if allow_nan else _no_constant)
    except UnicodeDecodeError as error:
        raise FileReadError(f"{where} is not UTF-8 text (byte {error.start}).") from None
    except json.JSONDecodeError as error:
        raise FileReadError(
            f"{where} is not valid JSON at line {error.lineno}, column {error.colno} ({error.msg})."
        ) from None
    except RecursionError:
        raise FileReadError(
            f"{where} is nested deeper than the {max_depth} levels nnstudio reads."
        ) from None
    except ValueError as error:  # e.g. an integer of more than 4300 digits
        raise FileReadError(f"{where} is not usable JSON ({shorten(error, 120)}).") from None
    if _depth(value) > max_depth:
        raise FileReadError(f"{where} is nested deeper than the {max_depth} levels nnstudio reads.")
    return value


# -- zip archives ---------------------------------------------------------------------------------


def _zip_entry_count(file: BinaryIO, size: int) -> int | None:
    """Entries the end-of-central-directory record declares (zip64 too), or None when there
    is none (then zipfile itself says the file is not a zip)."""
    tail_length = min(size, 22 + 65535)
    file.seek(size - tail_length)
    tail = file.read(tail_length)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        return None
    entries = int.from_bytes(tail[at + 10 : at + 12], "little")
    if entries == 0xFFFF and at >= 20 and tail[at - 20 : at - 16] == b"PK\x06\x07":
        file.seek(int.from_bytes(tail[at - 12 : at - 4], "little"))
        record = file.read(56)
        if record[:4] == b"PK\x06\x06" and len(record) == 56:
            entries = int.from_bytes(record[32:40], "little")
    file.seek(0)
    return entries


_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    EOFError,
    OSError,
    ValueError,
    zlib.error,
    NotImplementedError,  # an unknown compression method
    RuntimeError,  # an encrypted member
    KeyError,
    IndexError,
    OverflowError,
)


class ZipReader:
    """A zip archive whose members are read one at a time, each only after its declared size
    passed the limit. Use as a context manager::

        with ZipReader(path, "a model file") as archive:
            text = archive.read("model.json", max_bytes=2**20)
    """

    def __init__(self, source, what: str = "a zip archive", max_bytes: int | None = None):
        self.limit = max_file_bytes() if max_bytes is None else max_bytes
        self.spent = 0  # bytes of arrays taken out so far: the limit holds for the whole file
        if isinstance(source, (bytes, bytearray)):
            self.where, self._file, size = "archive", io.BytesIO(source), len(source)
        else:
            self.where = str(source)
            self._file = open_file(source, what, self.limit)
            size = os.fstat(self._file.fileno()).st_size
        try:
            entries = _zip_entry_count(self._file, size)
            if entries is not None and entries > MAX_ZIP_MEMBERS:
                raise FileReadError(
                    f"{self.where} declares {entries:,} archive members; nnstudio reads at "
                    f"most {MAX_ZIP_MEMBERS:,}. It is not {what}."
                )
            self._zip = zipfile.ZipFile(self._file)
        except BaseException:
            self._file.close()
            raise

    def __enter__(self) -> ZipReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._zip.close()
        self._file.close()

    def names(self) -> list[str]:
        return self._zip.namelist()

    def remaining(self) -> int:
        """What the limit leaves for the members still to be read."""
        return max(self.limit - self.spent, 0)

    def charge(self, n_bytes: int) -> None:
        """Count ``n_bytes`` taken out of the archive against the limit for the whole file
        (three members of 1 GB each are 3 GB, whatever the limit of each)."""
        self.spent += n_bytes
        if self.spent > self.limit:
            raise FileReadError(
                f"{self.where} holds {format_size(self.spent)} or more in all, more than "
                f"{limit_hint(self.limit)}."
            )

    def __contains__(self, name: str) -> bool:
        return name in self._zip.NameToInfo

    def size(self, name: str) -> int:
        """The member's declared (uncompressed) size."""
        return int(self._zip.getinfo(name).file_size)

    def check_size(self, name: str, max_bytes: int | None = None) -> int:
        limit = self.limit if max_bytes is None else max_bytes
        size = self.size(name)
        if size > limit:
            raise FileReadError(
                f"{self.where}: its member {name} declares {format_size(size)}, more than "
                f"{limit_hint(limit)}."
            )
        return size

    def open(self, name: str, max_bytes: int | None = None):
        self.check_size(name, max_bytes)
        return self._zip.open(name)

    def read(self, name: str, max_bytes: int | None = None) -> bytes:
        """The member's bytes; its declared size is checked first, and zipfile stops at the
        declared size (and checks the CRC), so a member cannot expand past it."""
        size = self.check_size(name, max_bytes)
        try:
            with self._zip.open(name) as member:
                return member.read(size + 1)
        except _ZIP_ERRORS as error:
            raise FileReadError(
                f"{self.where}: its member {name} is damaged ({shorten(error, 120)})."
            ) from None


# -- .npz ---------------------------------------------------------------------------------------


def _npy_header(member, where: str):
    fmt = np.lib.format
    version = fmt.read_magic(member)
    if version == (1, 0):
        return fmt.read_array_header_1_0(member)
    if version == (2, 0):
        return fmt.read_array_header_2_0(member)
    return fmt._read_array_header(member, version)  # (3, 0): no public reader exists


def _read_npy(archive: ZipReader, name: str, budget: int) -> np.ndarray:
    where = f"{archive.where}: {name}"
    size = archive.check_size(name, budget)
    with archive.open(name, budget) as member:
        shape, fortran, dtype = _npy_header(member, where)
        if dtype.hasobject:
            raise FileReadError(
                f"{where} stores Python objects, which nnstudio never loads (unsafe)."
            )
        count = math.prod(shape)
        needed = count * dtype.itemsize
        available = size - member.tell()
        if needed > available:
            raise FileReadError(
                f"{where} declares shape {shorten(shape, 80)} of {dtype} "
                f"({format_size(needed)}) but holds {format_size(max(available, 0))}: the "
                "file is damaged."
            )
        array = np.empty(count, dtype)
        if needed and member.readinto(memoryview(array.view(np.uint8))) != needed:
            raise FileReadError(f"{where} is truncated.")
    return array.reshape(shape, order="F" if fortran else "C")


def load_npz(source, what: str = "an .npz archive", max_bytes: int | None = None):
    """The arrays of an ``.npz`` (a path, or its bytes) as name → array; never unpickles, and
    allocates an array only after its header's shape × dtype fit in the bytes behind it and
    all arrays together stay within ``max_bytes``. Members that are not ``.npy`` are skipped.
    """
    try:
        return _load_npz(source, what, max_bytes)
    except FileReadError:
        raise
    except _ZIP_ERRORS as error:
        where = "archive" if isinstance(source, (bytes, bytearray)) else str(source)
        raise FileReadError(
            f"{where} is not a readable .npz archive ({shorten(error, 120)}).", None
        ) from None


def _load_npz(source, what, max_bytes):
    arrays = {}
    with ZipReader(source, what, max_bytes) as archive:
        budget = archive.limit
        for name in archive.names():
            if name.endswith(".npy"):
                arrays[name[: -len(".npy")]] = array = _read_npy(archive, name, budget)
                budget -= array.nbytes
    return arrays
