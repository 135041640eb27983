"""The bounded reader: regular files only, limits checked before reading (file size, zip
entries and members' declared sizes, .npy headers), JSON nesting refused, never blocking."""

import io
import os
import sys
import zipfile

import numpy as np
import pytest

from nnstudio import safe_read
from nnstudio.safe_read import FileReadError, MissingFile, ZipReader

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "fuzz"))
from hostile_corpus import GB, Member, deflated_zeros, npy_claiming, stored, write_zip  # noqa: E402

fifo_only = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")


@fifo_only
def test_a_fifo_is_named_and_never_opened(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(FileReadError, match="named pipe"):
        safe_read.read_bytes(fifo, "a model file")  # before the fix: blocks forever


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_dev_zero_is_named_a_device():
    with pytest.raises(FileReadError, match="character device.*not a project file"):
        safe_read.read_bytes("/dev/zero", "a project file")


def test_a_folder_and_a_missing_file_are_named(tmp_path):
    with pytest.raises(FileReadError, match="is a folder"):
        safe_read.check_file(tmp_path)
    with pytest.raises(MissingFile, match="does not exist"):
        safe_read.check_file(tmp_path / "nothing")


def test_the_size_limit_comes_before_reading_and_can_be_raised(tmp_path, monkeypatch):
    path = tmp_path / "big.bin"
    with open(path, "wb") as file:
        file.truncate(3 * 2**20)
    with pytest.raises(FileReadError, match="3.0 MB, more than the 1.0 MB limit.*NNSTUDIO_MAX"):
        safe_read.read_bytes(path, max_bytes=2**20)
    monkeypatch.setenv("NNSTUDIO_MAX_FILE_MB", "2")
    with pytest.raises(FileReadError, match="2.0 MB limit"):
        safe_read.read_bytes(path)
    monkeypatch.setenv("NNSTUDIO_MAX_FILE_MB", "4")
    assert len(safe_read.read_bytes(path)) == 3 * 2**20


def test_deep_json_is_a_clear_error_not_a_recursion_error():
    for depth in (65, 100_000):
        with pytest.raises(FileReadError, match="nested deeper than the 64 levels"):
            safe_read.parse_json("[" * depth + "]" * depth, "f.json")
    assert safe_read.parse_json("[" * 64 + "]" * 64, "f.json") is not None


def test_a_member_declaring_gigabytes_is_refused_unread_and_others_are_read(tmp_path):
    bomb = Member("bomb", deflated_zeros(3 * GB), 3 * GB, True)
    path = write_zip(tmp_path / "a.zip", [stored("small", b"hello"), bomb])
    with ZipReader(path, "an archive", max_bytes=64 * 2**20) as archive:
        assert archive.read("small") == b"hello"
        with pytest.raises(FileReadError, match="bomb declares 3.0 GB"):
            archive.read("bomb")


def test_a_zip_declaring_too_many_entries_is_refused(tmp_path):
    path = write_zip(tmp_path / "many.zip", [stored("a", b"x")], entries=65535)
    with pytest.raises(FileReadError, match="65,535 archive members"):
        ZipReader(path)


def test_npy_header_claiming_more_than_its_bytes_is_refused_before_allocating(tmp_path):
    inner = write_zip(tmp_path / "w.npz", [stored("w.npy", npy_claiming((10**14,), bytes(64)))])
    with pytest.raises(FileReadError, match=r"declares shape \(100000000000000,\).*damaged"):
        safe_read.load_npz(inner)  # before the fix: MemoryError for 364 TiB


def test_npz_round_trips_and_refuses_objects():
    buffer = io.BytesIO()
    arrays = {"a": np.arange(6.0).reshape(2, 3), "f": np.asfortranarray(np.eye(3, 2))}
    np.savez(buffer, **arrays)
    loaded = safe_read.load_npz(buffer.getvalue())
    assert set(loaded) == {"a", "f"}
    for name, array in arrays.items():
        np.testing.assert_array_equal(loaded[name], array)
    buffer = io.BytesIO()
    np.savez(buffer, o=np.array([{}], dtype=object))
    with pytest.raises(FileReadError, match="Python objects"):
        safe_read.load_npz(buffer.getvalue())


def test_a_corrupt_archive_is_a_file_read_error(tmp_path):
    path = tmp_path / "x.npz"
    path.write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(FileReadError):
        safe_read.load_npz(path)
    assert zipfile.is_zipfile(path) is False


def test_shorten_keeps_messages_to_one_short_line():
    assert safe_read.shorten("a\nb  c") == "a b c"
    assert len(safe_read.shorten("x" * 10**6)) == safe_read.MAX_MESSAGE
