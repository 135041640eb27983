"""Test configuration shared by every test folder.

Two runs, one suite:
- ``pytest`` (the default, for every change): the tests not marked ``slow``, in parallel on
  every core (pytest-xdist's ``-n auto`` in pyproject.toml).
- ``CI=true pytest`` (what .ci/run sets) or ``pytest -m ""``: everything, the slow tests too
  (real MNIST training, the packaging checks, long fuzz runs, Dask clusters). Benchmarks stay
  opt-in (NNSTUDIO_BENCH=1, tests/benchmarks/conftest.py).
"""

import faulthandler
import gc
import os
import sys
from pathlib import Path

# Qt must render offscreen in tests: set before any Qt module is imported.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Keep QSettings, autosaves and downloads of the tests out of the user's real folders, and
# out of each other's: every xdist worker has a home of its own.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
_TEST_HOME = Path(__file__).resolve().parent.parent / ".pytest-home" / _WORKER
os.environ.setdefault("NNSTUDIO_DATA_DIR", str(_TEST_HOME / "data"))
os.environ.setdefault("XDG_CONFIG_HOME", str(_TEST_HOME / "config"))

# xdist runs one worker per core: a BLAS that also starts a thread per core in each of them
# fights for the cores (a small training test took 2.4 s instead of 0.4 s). One BLAS thread a
# worker, here and in the command-line runs the tests start. Set before NumPy loads its BLAS.
if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1:
    for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_variable, "1")

import pytest  # noqa: E402

PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: CI runs every test; a developer's default run leaves out the ones marked slow.
RUN_SLOW_TESTS = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

#: A test still running after this long has hung: every thread's stack is printed and its
#: process ends (under xdist the worker is replaced, the test fails and the run goes on).
#: The longest default test takes a few seconds; slow ones (real MNIST) up to two minutes.
HANG_SECONDS = float(os.environ.get("NNSTUDIO_TEST_HANG_SECONDS", "60"))
SLOW_HANG_SECONDS = 600.0


def pytest_configure(config):
    # pytest captures fd 2 during a test; the stacks of a hung test must reach the terminal,
    # so the watchdog writes to a copy of the real stderr taken while capture is suspended.
    config._nnstudio_real_stderr = os.fdopen(os.dup(sys.stderr.fileno()), "w")


def pytest_collection_modifyitems(config, items):
    """Deselect the slow tests unless CI=true or the command line chose markers itself."""
    for item in items:
        if "mnist_path" in getattr(item, "fixturenames", ()):  # reads the real MNIST
            item.add_marker(pytest.mark.slow)
    if RUN_SLOW_TESTS or config.getoption("markexpr"):
        return
    slow = [item for item in items if item.get_closest_marker("slow")]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if not item.get_closest_marker("slow")]


def pytest_report_header(config):
    if RUN_SLOW_TESTS:
        return "nnstudio: CI=true, every test runs (slow ones included)"
    return "nnstudio: slow tests deselected; CI=true (or -m '') runs them too"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """Arm a watchdog over setup, call and teardown: faulthandler's own thread prints every
    thread's stack and ends the process even when the hung code holds the GIL."""
    long_test = item.get_closest_marker("slow") or item.get_closest_marker("benchmark")
    seconds = SLOW_HANG_SECONDS if long_test else HANG_SECONDS
    faulthandler.dump_traceback_later(seconds, exit=True, file=item.config._nnstudio_real_stderr)
    qt_test = "qapp" in getattr(item, "fixturenames", ())
    if qt_test:
        gc.disable()
    try:
        yield
    finally:
        if qt_test:
            _collect_qt_garbage_on_the_gui_thread()
        faulthandler.cancel_dump_traceback_later()


def _collect_qt_garbage_on_the_gui_thread() -> None:
    """As in the app (nnstudio.ui.app.collect_garbage_on_gui_thread): a window test trains
    and loads on worker threads, and a cycle collection there would delete Qt objects (the
    windows of earlier tests) off the GUI thread, crashing or hanging the run. So no automatic
    collection during a Qt test (from its setup to its teardown); a full one on the GUI thread
    after it, once pytest has let go of its fixtures.

    pytest-qt closes a test's widgets with deleteLater, which only an event loop at the outer
    level carries out, and tests run none: every window stayed alive (13,000 widgets after
    fifty window tests) and each style change or search of the widget tree went through all of
    them. Those deletions are carried out here. A full collection then walked every object of
    the process after every window test (a quarter of their time): what survives it is frozen
    (gc.freeze), so the next one walks only what later tests made."""
    from PySide6.QtCore import QCoreApplication, QEvent

    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()
    gc.freeze()
    gc.enable()


def pytest_sessionfinish(session):
    # Closing the last windows, threads and clusters must not hang either.
    faulthandler.dump_traceback_later(
        SLOW_HANG_SECONDS, exit=True, file=session.config._nnstudio_real_stderr
    )


@pytest.fixture
def settled_while_parked():
    """``settled_while_parked(session)`` waits until the session's training loop blocks in
    its pause, then delivers what it sent before. From then on nothing can arrive until it
    is resumed, so a test checks that nothing happens without sleeping and hoping."""
    from PySide6.QtCore import QCoreApplication

    def settle(session) -> None:
        assert session.control.wait_until_parked(timeout=10), "the loop never paused"
        QCoreApplication.processEvents()

    return settle


def mnist_dir() -> Path | None:
    """The real MNIST for tests: NNSTUDIO_MNIST_DIR, else ../shared/data/mnist, else None."""
    candidates = [os.environ.get("NNSTUDIO_MNIST_DIR"), PROJECT_ROOT.parent / "shared/data/mnist"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "t10k-labels-idx1-ubyte.gz").exists():
            return Path(candidate)
    return None


@pytest.fixture
def mnist_path() -> Path:
    """Folder of the real MNIST IDX files; skips the test when they are not on this machine."""
    path = mnist_dir()
    if path is None:
        pytest.skip("real MNIST not found (set NNSTUDIO_MNIST_DIR or provide ../shared/data/mnist)")
    return path


@pytest.fixture
def read_only_folder(tmp_path, monkeypatch) -> Path:
    """An empty folder no file can be created in. Root writes into any folder, so for root
    the temporary files every save starts with are refused there, as the kernel would."""
    import errno
    import tempfile

    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o500)
    real_mkstemp = tempfile.mkstemp

    def mkstemp(*args, dir=None, **kwargs):
        if dir is not None and Path(dir).resolve() == folder.resolve():
            raise PermissionError(errno.EACCES, "Permission denied", str(dir))
        return real_mkstemp(*args, dir=dir, **kwargs)

    if hasattr(os, "geteuid") and os.geteuid() == 0:
        monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    yield folder
    folder.chmod(0o700)
