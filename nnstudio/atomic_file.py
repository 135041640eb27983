"""Write a file so that it is either wholly new or wholly old — never half-written.

Every file nnstudio saves for the user (models, projects, histories, datasets, drawings) goes
through :func:`write_atomically`: the data goes to a temporary file in the same folder, is
flushed to disk, and only then replaces the destination with ``os.replace``. A crash or a full
disk leaves the previous file as it was. NumPy and the standard library only: the engine and
the data layer use it.

What a save may replace is decided here, once for every caller:

- a symlink is written through: its target is replaced and the link stays a link;
- only a regular file is ever replaced: ``/dev/null``, a FIFO or a folder is refused
  (:class:`SaveTargetError`), never turned into a regular file;
- a read-only file is refused, not silently replaced (the user made it read-only);
- :func:`check_writable` asks all of this before the work that produces the file starts.

Temporary files are named ``.NAME.nnstudio-PID-XXXXXXXX.tmp``. They are removed when the
write fails, on SIGINT and, on the main thread, on SIGTERM; a process killed outright (kill -9,
power loss) leaves one behind, which the next save into the same folder (or the next
``check_writable`` of a file there, e.g. when ``nnstudio train`` starts) removes once its
process is gone (:func:`remove_stale_temporaries`).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import stat
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

# mkstemp creates private (0600) files; a saved model or project should be readable like any
# other document the user saves.
DEFAULT_MODE = 0o644
TEMPORARY_TAG = "nnstudio"
_TEMPORARY = re.compile(rf"^\..+\.{TEMPORARY_TAG}-(\d+)-[^.]+\.tmp$")


class SaveTargetError(OSError, ValueError):
    """A path that must not be written (not a regular file, read-only, no folder).

    Both an ``OSError`` (code that handles failed saves catches it) and a ``ValueError`` (the
    command line reports bad input with exit 2), like ``io.UnsupportedOperation``.
    """

    def __init__(self, message: str, path=None):
        super().__init__(message)
        self.path = None if path is None else Path(path)

    def __str__(self) -> str:
        return self.args[0]


def _kind(mode: int) -> str:
    """What a non-regular file is, in words a user recognises."""
    for test, name in (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def save_target(path: str | os.PathLike) -> Path:
    """The file a save to ``path`` replaces: ``path`` itself, or a symlink's final target.

    Raises :class:`SaveTargetError` when that file exists and is not a regular, writable file.
    """
    path = Path(path).expanduser()
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    shown = path if target == path else f"{path} (a link to {target})"
    try:
        info = target.stat()
    except FileNotFoundError:
        return target
    except OSError as error:  # a symlink loop, a folder that cannot be searched
        raise SaveTargetError(
            f"Cannot save to {shown}: {error.strerror or error}. Choose another file name.", path
        ) from error
    if not stat.S_ISREG(info.st_mode):
        raise SaveTargetError(
            f"Cannot save to {shown}: it is {_kind(info.st_mode)}, not a regular file. "
            "Choose a file name instead.",
            path,
        )
    # The mode bit also answers for root, whom os.access always lets write.
    if not info.st_mode & stat.S_IWUSR or not os.access(target, os.W_OK):
        raise SaveTargetError(
            f"Cannot save to {shown}: the file is read-only. Make it writable "
            f"(chmod u+w {target}) or choose another name.",
            path,
        )
    return target


def check_writable(path: str | os.PathLike) -> Path:
    """Before the work starts: can a save to ``path`` succeed? Returns the file it would replace.

    The folder must exist and accept a new file (tried with a real temporary file, which also
    answers for root, read-only mounts and ACLs); an existing target must be a regular,
    writable file. Raises :class:`SaveTargetError` with a message that says what to do.
    """
    target = save_target(path)
    folder = _folder(target)
    remove_stale_temporaries(folder)
    if not folder.is_dir():
        raise SaveTargetError(
            f"Cannot save to {path}: the folder {folder} does not exist. "
            "Create it or choose another folder.",
            path,
        )
    try:
        handle, probe = tempfile.mkstemp(dir=folder, prefix=_prefix(target), suffix=".tmp")
    except OSError as error:
        raise SaveTargetError(
            f"Cannot save to {path}: the folder {folder} is not writable "
            f"({error.strerror or error}). Choose another folder.",
            path,
        ) from error
    os.close(handle)
    os.unlink(probe)
    return target


def refuse_same_file(source: str | os.PathLike, target: str | os.PathLike, option: str) -> None:
    """Refuse writing ``target`` when it is ``source`` itself (by name, link or hard link):
    a command never writes over its own input."""
    try:
        same = os.path.samefile(source, target)
    except OSError:  # one of them does not exist (yet): not the same file
        same = False
    if same:
        raise SaveTargetError(
            f"{option} {target} is the input file itself; writing it would destroy what is "
            "being read. Choose another name."
        )


@contextlib.contextmanager
def exclusive_output(path: str | os.PathLike, option: str) -> Iterator[None]:
    """Hold ``path`` for this process while it produces the file: a second process that wants
    to write it (two ``train --out same.nnz``) is refused at once rather than mixing its
    files with ours. A lock on ``.NAME.nnstudio-lock`` beside it (released by the system
    when the process ends, however it ends); without ``fcntl`` (Windows) nothing is locked.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    target = Path(os.path.realpath(path))
    lock_path = target.with_name(f".{target.name}.{TEMPORARY_TAG}-lock")
    handle = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise SaveTargetError(
                f"{option} {path}: another nnstudio is writing that file now; wait for it to "
                "finish or choose another name",
                path,
            ) from None
        yield
        with contextlib.suppress(OSError):
            os.unlink(lock_path)  # while still held: a waiting process was refused already
    finally:
        os.close(handle)


def write_atomically(
    path: str | os.PathLike, content: bytes | str | Callable[[BinaryIO], None]
) -> Path:
    """Write ``content`` (bytes, text as UTF-8, or a function that writes to a binary file).

    Returns ``path``; through a symlink, the link's target is what gets replaced.

    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "notes.txt"
    >>> write_atomically(target, "hello").read_text()
    'hello'
    """
    path = Path(path)
    target = save_target(path)
    folder = _folder(target)
    remove_stale_temporaries(folder)
    mode = stat.S_IMODE(target.stat().st_mode) if target.exists() else DEFAULT_MODE
    with _removed_on_sigterm():
        temporary = None
        try:
            handle, temporary = tempfile.mkstemp(dir=folder, prefix=_prefix(target), suffix=".tmp")
            with os.fdopen(handle, "wb") as file:
                if callable(content):
                    content(file)
                else:
                    file.write(content.encode("utf-8") if isinstance(content, str) else content)
                file.flush()
                os.fsync(file.fileno())
            os.chmod(temporary, mode)
            os.replace(temporary, target)
        except BaseException:  # also KeyboardInterrupt and the SIGTERM below: never a leftover
            if temporary is not None:
                Path(temporary).unlink(missing_ok=True)
            raise
    _sync_folder(folder)
    return path


def remove_stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Remove nnstudio's temporary files in ``folder`` whose process is no longer running.

    Those are what a save killed outright leaves; a live process's file (another save in
    progress) is left alone. Returns the files removed.
    """
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        match = _TEMPORARY.match(name)
        if match is None or _running(int(match.group(1))):
            continue
        leftover = Path(folder) / name
        with contextlib.suppress(OSError):
            leftover.unlink()
            removed.append(leftover)
    return removed


def _folder(target: Path) -> Path:
    return target.parent if str(target.parent) else Path(".")


def _prefix(target: Path) -> str:
    # The pid lets a later run tell a dead process's leftover from a save in progress.
    return f".{target.name}.{TEMPORARY_TAG}-{os.getpid()}-"


def _running(pid: int) -> bool:
    # On Windows os.kill(pid, 0) would end that process: never clean up there.
    if pid == os.getpid() or os.name == "nt":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # exists but belongs to someone else, or cannot tell: leave it
    return True


class _Terminated(BaseException):
    """SIGTERM during a save: unwinds like an exception, so the temporary file is removed."""


@contextlib.contextmanager
def _removed_on_sigterm() -> Iterator[None]:
    """SIGTERM's default action ends the process at once, leaving the temporary file. While a
    save runs with that default, SIGTERM unwinds the save first (removing the file), then
    ends the process by the same default action — not an exception a GUI slot could swallow.
    A caller that handles SIGTERM itself (``nnstudio train``) keeps its own handler."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    try:
        previous = signal.getsignal(signal.SIGTERM)
    except (ValueError, OSError):
        previous = None
    if previous is not signal.SIG_DFL:
        yield
        return

    def terminate(signum, frame):
        raise _Terminated

    signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    except _Terminated:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
        raise  # only where the signal cannot end the process
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


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
