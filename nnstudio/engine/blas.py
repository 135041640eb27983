"""The BLAS library under NumPy's matrix products: which one, and on how many threads.

NumPy gives no way to change the number of threads its BLAS uses once loaded; threadpoolctl
does, for OpenBLAS (the one NumPy's wheels bundle), MKL, BLIS and FlexiBLAS, on Linux, macOS
and Windows. Where the BLAS cannot be controlled (Apple's Accelerate, say) the functions here
say so and change nothing.

>>> blas_threads() is None or blas_threads() >= 1
True
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
from threadpoolctl import ThreadpoolController


@functools.cache
def _blas_libraries() -> tuple:
    """threadpoolctl's controllers of the BLAS libraries loaded into this process (usually
    one). Looked up once: NumPy loads its BLAS on import, and the lookup walks every library
    loaded into the process."""
    np.dot(np.ones(2), np.ones(2))  # make sure NumPy's BLAS is loaded
    return tuple(ThreadpoolController().select(user_api="blas").lib_controllers)


def blas_controllable() -> bool:
    """True when the number of BLAS threads can be changed at run time."""
    return bool(_blas_libraries())


def blas_threads() -> int | None:
    """The threads NumPy's BLAS runs a product on, or None when it cannot be told."""
    libraries = _blas_libraries()
    return max(library.num_threads for library in libraries) if libraries else None


def describe_blas() -> str | None:
    """The BLAS in use, e.g. "openblas 0.3.31 kernel Haswell, 2 threads"; None when it cannot
    be found (the kernel is the processor-specific code OpenBLAS and BLIS chose)."""
    libraries = _blas_libraries()
    if not libraries:
        return None
    parts = []
    for library in libraries:
        info = library.info()
        text = f"{info['internal_api']} {info.get('version') or '(unknown version)'}"
        if info.get("architecture"):
            text += f" kernel {info['architecture']}"
        parts.append(f"{text}, {library.num_threads} threads")
    return "; ".join(parts)


def _set_threads(count: int) -> None:
    for library in _blas_libraries():
        library.set_num_threads(count)


_single_threaded_users = 0
_single_threaded_lock = threading.Lock()
_threads_before: dict = {}


@contextmanager
def single_threaded_blas() -> Iterator[bool]:
    """Run NumPy's matrix products on one thread inside the block; yields False (and changes
    nothing) when the BLAS cannot be controlled.

    For code that runs several products at the same time on its own threads, one per core:
    each product then stays on its own core instead of every product asking for all cores.
    The setting is process-wide, so nested and concurrent blocks are counted and the thread
    counts are restored when the last one ends.
    """
    global _single_threaded_users
    if not blas_controllable():
        yield False
        return
    with _single_threaded_lock:
        if _single_threaded_users == 0:
            _threads_before.clear()
            _threads_before.update({lib: lib.num_threads for lib in _blas_libraries()})
            _set_threads(1)
        _single_threaded_users += 1
    try:
        yield True
    finally:
        with _single_threaded_lock:
            _single_threaded_users -= 1
            if _single_threaded_users == 0:
                for library, count in _threads_before.items():
                    library.set_num_threads(count)
