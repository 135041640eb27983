"""Write a file so that it is either wholly new or wholly old — never half-written.

Every file nnstudio saves for the user (models, projects, histories, datasets, drawings) goes
through :func:`write_atomically`: the data goes to a temporary file in the same folder, is
flushed to disk, and only then replaces the destination with ``os.replace``. A crash or a full
disk leaves the previous file as it was and no temporary file behind. NumPy and the standard
library only: the engine and the data layer use it.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

# mkstemp creates private (0600) files; a saved model or project should be readable like any
# other document the user saves.
DEFAULT_MODE = 0o644


def write_atomically(
    path: str | os.PathLike, content: bytes | str | Callable[[BinaryIO], None]
) -> Path:
    """Write ``content`` (bytes, text as UTF-8, or a function that writes to a binary file).

    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "notes.txt"
    >>> write_atomically(target, "hello").read_text()
    'hello'
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else DEFAULT_MODE
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            if callable(content):
                content(file)
            else:
                file.write(content.encode("utf-8") if isinstance(content, str) else content)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _sync_folder(folder)
    return path


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); not possible on Windows, harmless to skip."""
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)
