"""Autosave: the open project is written to the user data folder every so often, and removed on
a clean exit. A file left behind by a process that is no longer running means that nnstudio
crashed (or was killed), so the next launch offers to restore it.

Files are named ``autosave-<pid>.nnsproj`` so two windows open at once never overwrite each
other's autosave and never offer to restore a file that is still in use.
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


class Autosave:
    """Where this process autosaves, and what earlier crashed processes left behind."""

    def __init__(self, folder: str | os.PathLike | None = None, pid: int | None = None):
        self.folder = Path(folder) if folder is not None else default_folder()
        self.pid = os.getpid() if pid is None else pid

    @property
    def path(self) -> Path:
        return self.folder / f"{PREFIX}{self.pid}{SUFFIX}"

    @property
    def weights_path(self) -> Path:
        return self.path.with_suffix(".nnz")

    def save(self, project, model=None, save_weights=None) -> Path:
        """Write the project (and, with ``save_weights(path)``, its weights) atomically."""
        from nnstudio.project import save_project

        self.folder.mkdir(parents=True, exist_ok=True)
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
            try:
                pid = int(path.stem[len(PREFIX) :])
            except ValueError:
                continue
            if not _pid_alive(pid):
                found.append(path)
        return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)

    @staticmethod
    def discard(path: str | os.PathLike) -> None:
        """Remove an autosave and its weights file."""
        path = Path(path)
        path.unlink(missing_ok=True)
        path.with_suffix(".nnz").unlink(missing_ok=True)

    def clear(self) -> None:
        """A clean exit: this process's autosave is no longer needed."""
        self.discard(self.path)
