"""Saving is all or nothing, and saved files are readable like other documents."""

import errno
import stat

import pytest

from nnstudio import atomic_file
from nnstudio.atomic_file import write_atomically


def test_writes_bytes_text_and_through_a_function(tmp_path):
    assert write_atomically(tmp_path / "a.bin", b"\x00\x01").read_bytes() == b"\x00\x01"
    assert write_atomically(tmp_path / "b.txt", "é").read_text(encoding="utf-8") == "é"
    written = write_atomically(tmp_path / "c.bin", lambda file: file.write(b"xyz"))
    assert written.read_bytes() == b"xyz"


def test_new_files_are_not_private(tmp_path):
    path = write_atomically(tmp_path / "model.nnz", b"data")
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_replacing_keeps_the_files_permissions(tmp_path):
    path = tmp_path / "project.nnsproj"
    path.write_text("old")
    path.chmod(0o600)
    write_atomically(path, "new")
    assert path.read_text() == "new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text("old")

    def full_disk(file):
        file.write(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        write_atomically(path, full_disk)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["history.csv"]


def test_a_failed_rename_leaves_no_temporary(tmp_path, monkeypatch):
    def refuse(source, target):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(atomic_file.os, "replace", refuse)
    with pytest.raises(PermissionError):
        write_atomically(tmp_path / "x.txt", "data")
    assert list(tmp_path.iterdir()) == []
