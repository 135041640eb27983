"""The BLAS library under NumPy's matrix products: which kernel it runs and on how many threads.

NumPy gives no way to change the number of threads its BLAS uses once loaded. The OpenBLAS that
NumPy's wheels bundle does, through its own C functions; they are found here in the library
that is loaded into this process (Linux: listed in /proc/self/maps). Elsewhere, or with another
BLAS, :func:`openblas` returns None and callers keep the BLAS as it is.

>>> library = openblas()
>>> library is None or library.threads() >= 1
True
"""

from __future__ import annotations

import ctypes
import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

# Symbol names differ between NumPy's bundled build (scipy_openblas, 64-bit integers) and a
# system OpenBLAS.
_SYMBOL_STYLES = (("scipy_openblas", "64_"), ("openblas", ""), ("scipy_openblas", ""))


class OpenBLAS:
    """The run-time controls of one loaded OpenBLAS library."""

    def __init__(self, library: ctypes.CDLL, prefix: str, suffix: str):
        self._corename = getattr(library, f"{prefix}_get_corename{suffix}")
        self._corename.restype = ctypes.c_char_p
        self._get_threads = getattr(library, f"{prefix}_get_num_threads{suffix}")
        self._set_threads = getattr(library, f"{prefix}_set_num_threads{suffix}")

    def kernel(self) -> str:
        """The processor kernel OpenBLAS chose, e.g. "SkylakeX" (OPENBLAS_CORETYPE decides)."""
        return self._corename().decode()

    def threads(self) -> int:
        return int(self._get_threads())

    def set_threads(self, count: int) -> None:
        self._set_threads(int(count))


def _loaded_library_paths() -> list[str]:
    np.dot(np.ones(2), np.ones(2))  # make sure NumPy's BLAS is loaded
    try:
        with open("/proc/self/maps", encoding="utf-8") as maps:
            return sorted({line.split()[-1] for line in maps if "openblas" in line.lower()})
    except OSError:  # not Linux
        return []


@functools.cache
def openblas() -> OpenBLAS | None:
    """The OpenBLAS NumPy uses, or None when it cannot be found or controlled."""
    for path in _loaded_library_paths():
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix, suffix in _SYMBOL_STYLES:
            try:
                return OpenBLAS(library, prefix, suffix)
            except AttributeError:
                continue
    return None


_single_threaded_users = 0
_single_threaded_lock = threading.Lock()
_threads_before = 1


@contextmanager
def single_threaded_blas() -> Iterator[bool]:
    """Run NumPy's matrix products on one thread inside the block; yields False (and changes
    nothing) when the BLAS cannot be controlled.

    For code that runs several products at the same time on its own threads, one per core:
    each product then stays on its own core instead of every product asking for all cores.
    The setting is process-wide, so nested and concurrent blocks are counted and the thread
    count is restored when the last one ends.
    """
    global _single_threaded_users, _threads_before
    library = openblas()
    if library is None:
        yield False
        return
    with _single_threaded_lock:
        if _single_threaded_users == 0:
            _threads_before = library.threads()
            library.set_threads(1)
        _single_threaded_users += 1
    try:
        yield True
    finally:
        with _single_threaded_lock:
            _single_threaded_users -= 1
            if _single_threaded_users == 0:
                library.set_threads(_threads_before)
