"""Autosave: the open project is written to the user data folder every so often, and removed on
a clean exit. A file left behind by a process that is no longer running means that nnstudio
crashed (or was killed), so the next launch offers to restore it.

Files are named ``autosave-<pid>-<random>.nnsproj`` so two windows open at once never
overwrite each other's autosave, even in separate PID namespaces sharing a home folder
(containers, NFS homes: both may be pid 1). Whether the writer still runs is asked of a lock
it holds on ``autosave-<pid>-<random>.lock`` while it lives (a pid means nothing across
namespaces), so a file still in use is never offered for restore nor deleted.
"""

from __future__ import annotations

import os
from pathlib import Path

from nnstudio.paths import user_data_dir

PREFIX = "autosave-"
SUFFIX = ".nnsproj"


def default_folder() -> Path:
    """<user data folder>/autosave (NNSTUDIO_DATA_DIR overrides the platform folder)."""
    return Path(user_data_dir()) / "autosave"


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists but belongs to someone else: do not steal its file
    return True


def _lock(path: Path, blocking: bool = False):
    """An open descriptor holding an exclusive lock on ``path``, or None when another process
    holds it (or locks are not available)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: the pid check alone
        return None
    handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
    except OSError:
        os.close(handle)
        return None
    return handle


def _writer_alive(path: Path) -> bool:
    """Whether the process that wrote the autosave ``path`` still runs: its lock is held (or,
    for a file without one, from an older nnstudio, its pid is alive)."""
    lock_path = path.with_suffix(".lock")
    if lock_path.exists():
        handle = _lock(lock_path)
        if handle is None:
            return True
        os.close(handle)
        return False
    try:
        return _pid_alive(int(path.stem[len(PREFIX) :].split("-")[0]))
    except ValueError:
        return True  # not an autosave's name: leave it alone


class Autosave:
    """Where this process autosaves, and what earlier crashed processes left behind.

    ``pid`` given: the autosave of that process (tests, and another process's files);
    without it, this process's own, named uniquely and locked while the process lives."""

    def __init__(self, folder: str | os.PathLike | None = None, pid: int | None = None):
        self.folder = Path(folder) if folder is not None else default_folder()
        self.own = pid is None
        self.pid = os.getpid() if pid is None else pid
        self.name = f"{self.pid}-{os.urandom(4).hex()}" if self.own else str(self.pid)
        self._lock_handle = None

    @property
    def path(self) -> Path:
        return self.folder / f"{PREFIX}{self.name}{SUFFIX}"

    def _hold(self) -> None:
        """Take this process's lock before its first file is written."""
        if self.own and self._lock_handle is None:
            self._lock_handle = _lock(self.path.with_suffix(".lock"))

    @property
    def weights_path(self) -> Path:
        return self.path.with_suffix(".nnz")

    def save(self, project, model=None, save_weights=None) -> Path:
        """Write the project (and, with ``save_weights(path)``, its weights) atomically."""
        from nnstudio.project import save_project

        self.folder.mkdir(parents=True, exist_ok=True)
        self._hold()
        project = project.copy()
        project.weights = None
        if save_weights is not None:
            save_weights(self.weights_path)
            project.weights = self.weights_path.name
        save_project(project, self.path)
        return self.path

    def adopt(self, path: str | os.PathLike) -> Path:
        """Make a crashed process's autosave this process's own (moved, with its weights), so
        it stays until this process ends cleanly; returns the new path. Restoring needs this:
        the weights are read only once the project's dataset has loaded, after the restore."""
        from nnstudio.project import load_project, save_project

        path = Path(path)
        if path == self.path:
            return path
        project = load_project(path)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._hold()
        own_weights = path.with_suffix(".nnz")  # only the autosave's own file ever moves
        self.weights_path.unlink(missing_ok=True)
        keeps_weights = project.weights == own_weights.name and own_weights.is_file()
        project.weights = self.weights_path.name if keeps_weights else None
        if keeps_weights:
            os.replace(own_weights, self.weights_path)
        save_project(project, self.path)
        self.discard(path)
        return self.path

    def leftovers(self) -> list[Path]:
        """Autosaves of processes that are gone, newest first."""
        if not self.folder.is_dir():
            return []
        found = []
        for path in self.folder.glob(f"{PREFIX}*{SUFFIX}"):
            if path != self.path and not _writer_alive(path):
                found.append(path)
        return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)

    @staticmethod
    def discard(path: str | os.PathLike) -> None:
        """Remove an autosave, its weights file and its (released) lock file."""
        path = Path(path)
        for suffix in (SUFFIX, ".nnz", ".lock"):
            path.with_suffix(suffix).unlink(missing_ok=True)

    def clear(self) -> None:
        """A clean exit: this process's autosave is no longer needed."""
        self.discard(self.path)
        if self._lock_handle is not None:
            os.close(self._lock_handle)
            self._lock_handle = None
