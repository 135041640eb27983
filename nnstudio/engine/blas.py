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
import math
import os
import statistics
import threading
import time
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


@functools.lru_cache(maxsize=64)  # a few batch sizes and class counts
def ones(length: int, dtype) -> np.ndarray:
    """A read-only vector of ``length`` ones, made once per length and dtype: a sum over a
    batch as a product with it (``ones(n, g.dtype) @ g``) is one BLAS call, 2-4x faster than
    ``g.sum(axis=0)`` for a batch's gradients."""
    vector = np.ones(length, dtype)
    vector.flags.writeable = False
    return vector


def _set_threads(count: int) -> None:
    for library in _blas_libraries():
        _set_library_threads(library, count)


def _set_library_threads(library, count: int) -> None:
    """Set ``library``'s threads from whichever thread calls.

    threadpoolctl (3.6 and later) lets only the first Python thread that set OpenBLAS's
    threads change them again while it lives, and silently ignores every other thread. The
    window's GUI thread sets them first (a unit map on one core), so the training thread's
    choice never took: under load its products ran on two BLAS threads and the window trained
    at 13-44 % of headless speed. This module serialises its changes itself (the lock and
    counter below), so it calls the setter underneath that rule where there is one."""
    real = getattr(library, "_real_set_num_threads", None)
    (real if callable(real) else library.set_num_threads)(count)


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
                    _set_library_threads(library, count)


# -- threads for the load on the machine ------------------------------------------------------
#
# A BLAS thread that waits for its partner spins instead of sleeping, so a product split over
# more threads than there are free cores waits for a thread the system has not scheduled: on a
# 2-core machine with other programs busy, the MNIST MLP's epoch took 20 s on two BLAS threads
# and 1.1-1.5 s on one. The fit loop therefore gives BLAS only the cores that are free.

#: NNSTUDIO_BLAS_THREADS=N fixes the number (no look at the load); e.g. to compare.
THREADS_SETTING = "NNSTUDIO_BLAS_THREADS"
_RUN_QUEUE_SAMPLES = 3
#: Looks at the load at most this often (a look takes about a millisecond, and the epochs of
#: a small network on a toy set take a few).
RECHECK_SECONDS = 1.0


def cores_for_this_process() -> int:
    """The cores this process may run on (its affinity; all of them where it cannot be told)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def busy_elsewhere() -> float:
    """How many cores other programs keep busy now: the run queue of /proc/loadavg (threads
    running or ready to run, a median of a few looks half a millisecond apart) minus this process's
    own running threads; elsewhere the one-minute load average."""
    samples = []
    for number in range(_RUN_QUEUE_SAMPLES):
        if number:
            time.sleep(0.0005)
        running = _machine_running_threads()
        if running is None:
            return _load_average()
        samples.append(max(0, running - _own_running_threads()))
    return float(statistics.median(samples))


def _machine_running_threads() -> int | None:
    try:
        with open("/proc/loadavg", encoding="ascii") as file:
            return int(file.read().split()[3].split("/")[0])
    except (OSError, IndexError, ValueError):
        return None


def _own_running_threads() -> int:
    """This process's threads in state R (the one reading, and BLAS threads still spinning)."""
    count = 0
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return 1
    for task in tasks:
        try:
            with open(f"/proc/self/task/{task}/stat", encoding="ascii", errors="replace") as file:
                state = file.read().rpartition(")")[2].split()[0]
        except (OSError, IndexError):
            continue
        count += state == "R"
    return max(count, 1)


def _load_average() -> float:
    try:
        return max(0.0, os.getloadavg()[0] - 1.0)  # this process is part of the load
    except (AttributeError, OSError):  # not on Windows
        return 0.0


def threads_for_the_load() -> int:
    """BLAS threads for the free cores: at least 1, at most this process's cores."""
    fixed = os.environ.get(THREADS_SETTING, "").strip()
    if fixed.isdigit() and int(fixed) > 0:
        return int(fixed)
    cores = cores_for_this_process()
    return max(1, min(cores, int(cores - busy_elsewhere() + 0.5)))


class LoadAwareThreads:
    """Sets the BLAS threads to the free cores at each :meth:`update` (the fit loop calls it
    before every epoch; the load is looked at again once RECHECK_SECONDS have passed), and
    puts the count of before back at :meth:`restore`. Changes
    nothing inside single_threaded_blas (sweeps, lessons: one thread is their choice) or where
    the BLAS cannot be controlled."""

    def __init__(self):
        self.before = blas_threads()
        self.chosen: int | None = None
        self.checked_at = -math.inf

    def update(self) -> int | None:
        """Choose again; returns the threads now used (None when left alone)."""
        if self.before is None or _single_threaded_users:
            return None
        now = time.perf_counter()
        if now - self.checked_at < RECHECK_SECONDS:
            return self.chosen
        self.checked_at = now
        threads = threads_for_the_load()
        if not os.environ.get(THREADS_SETTING, "").strip():
            # Never more than the process started with: OPENBLAS_NUM_THREADS=1 (a test
            # worker's, or the user's) is a choice, not a lack of free cores.
            threads = min(threads, self.before)
        if threads != self.chosen:
            with _single_threaded_lock:
                if _single_threaded_users:
                    return None
                _set_threads(threads)
            self.chosen = threads
        return threads

    def restore(self) -> None:
        if self.chosen is not None and self.before is not None:
            with _single_threaded_lock:
                if not _single_threaded_users:
                    _set_threads(self.before)
            self.chosen = None
