"""Test configuration shared by every test folder."""

import gc
import os
import threading
from pathlib import Path

# Qt must render offscreen in tests: set before any Qt module is imported.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Keep QSettings, autosaves and downloads of the tests out of the user's real folders.
_TEST_HOME = Path(__file__).resolve().parent.parent / ".pytest-home"
os.environ.setdefault("NNSTUDIO_DATA_DIR", str(_TEST_HOME / "data"))
os.environ.setdefault("XDG_CONFIG_HOME", str(_TEST_HOME / "config"))

import pytest  # noqa: E402

PROJECT_ROOT = Path(__file__).resolve().parent.parent


#: A test still running after this long has hung (the slowest take about two minutes). pytest's
#: faulthandler_timeout (pyproject.toml, the same figure) prints every thread's stack then, and
#: this ends the run 30 s later, so a hang shows where it is within minutes instead of holding
#: CI until its time limit. NNSTUDIO_TEST_HANG_SECONDS changes it (with -o faulthandler_timeout).
HANG_SECONDS = float(os.environ.get("NNSTUDIO_TEST_HANG_SECONDS", "600"))


def _end_the_hung_run() -> None:
    os._exit(3)  # no cleanup: it could wait on whatever hung


@pytest.fixture(autouse=True)
def _end_the_run_if_a_test_hangs():
    watchdog = threading.Timer(HANG_SECONDS + 30, _end_the_hung_run)
    watchdog.daemon = True
    watchdog.start()
    yield
    watchdog.cancel()


@pytest.fixture(autouse=True)
def _collect_garbage_on_the_gui_thread(request):
    """As in the app (nnstudio.ui.app.collect_garbage_on_gui_thread): a window test trains
    and loads on worker threads, and a cycle collection there would delete Qt objects (the
    windows of earlier tests) off the GUI thread, crashing or hanging the run. So no automatic
    collection during a Qt test; a full one on the GUI thread after it."""
    if "qapp" not in request.fixturenames:
        yield
        return
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.collect()
        gc.enable()


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
