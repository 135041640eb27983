"""The one safe writer: what a save may replace, checks before work, temporary files on signals.

Never the real /dev/null: a FIFO and a folder in tmp_path stand for the non-regular targets.
Saves killed mid-write run in a child process that writes slowly and says when it is inside
the write; each wait is bounded by a timeout.
"""

import errno
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from nnstudio import atomic_file
from nnstudio.atomic_file import (
    SaveTargetError,
    check_writable,
    remove_stale_temporaries,
    write_atomically,
)
from nnstudio.cli import main
from nnstudio.engine.io import ModelFileError, load_model, save_model
from nnstudio.engine.layers import Dense
from nnstudio.engine.model import Sequential
from nnstudio.project import Project, save_project

TIMEOUT = 60
TRAIN = ["train", "--dataset", "spiral", "--samples", "120", "--epochs", "2", "--seed", "1"]
root_only = pytest.mark.skipif(os.geteuid() == 0, reason="root may write into any folder")


def tiny_model() -> Sequential:
    return Sequential([Dense(2)], input_shape=(2,))


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# -- symlinks --------------------------------------------------------------------------------------


def test_a_symlink_is_written_through_and_stays_a_link(tmp_path):
    real_folder, link_folder = tmp_path / "real", tmp_path / "links"
    real_folder.mkdir()
    link_folder.mkdir()
    target = real_folder / "model-v3.nnz"
    target.write_text("old")
    link = link_folder / "latest.nnz"
    link.symlink_to(os.path.relpath(target, link_folder))
    write_atomically(link, "new")
    assert link.is_symlink() and target.read_text() == "new"
    assert leftovers(real_folder) == [] and leftovers(link_folder) == []


def test_a_model_saved_through_a_symlink_replaces_its_target(tmp_path):
    target = tmp_path / "model-v3.nnz"
    save_model(target, tiny_model(), class_names=["old", "names"])
    link = tmp_path / "latest.nnz"
    link.symlink_to(target.name)
    save_model(link, tiny_model(), class_names=["new", "names"])
    assert link.is_symlink()
    assert load_model(target).class_names == ["new", "names"]


def test_a_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "latest.nnz"
    link.symlink_to("future.nnz")
    write_atomically(link, "first")
    assert link.is_symlink() and (tmp_path / "future.nnz").read_text() == "first"


# -- what is never replaced -----------------------------------------------------------------------


def test_a_fifo_is_refused_and_stays_a_fifo(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(SaveTargetError, match=r"pipe: it is a FIFO \(named pipe\), not a regular"):
        write_atomically(fifo, "data")
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert leftovers(tmp_path) == []


def test_a_folder_is_refused(tmp_path):
    folder = tmp_path / "model.nnz"
    folder.mkdir()
    with pytest.raises(SaveTargetError, match="model.nnz: it is a folder, not a regular file"):
        write_atomically(folder, b"data")
    assert folder.is_dir()


def test_a_symlink_to_a_fifo_is_refused_naming_both(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    link = tmp_path / "out.nnz"
    link.symlink_to(fifo)
    with pytest.raises(ModelFileError, match=r"out.nnz \(a link to .*pipe\): it is a FIFO"):
        save_model(link, tiny_model())
    assert link.is_symlink() and stat.S_ISFIFO(fifo.stat().st_mode)


def test_a_read_only_file_is_refused_not_replaced(tmp_path):
    path = tmp_path / "keep.nnsproj"
    path.write_text("precious")
    path.chmod(0o444)
    with pytest.raises(SaveTargetError, match="keep.nnsproj: the file is read-only") as error:
        write_atomically(path, "replacement")
    assert "chmod u+w" in str(error.value)
    assert path.read_text() == "precious"
    with pytest.raises(SaveTargetError, match="read-only"):
        save_project(Project(name="x"), path)
    assert path.read_text() == "precious"


def test_check_writable_answers_before_any_work(tmp_path):
    assert check_writable(tmp_path / "new.nnz") == tmp_path / "new.nnz"
    with pytest.raises(SaveTargetError, match="the folder .*missing does not exist"):
        check_writable(tmp_path / "missing" / "m.nnz")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(SaveTargetError, match="FIFO"):
        check_writable(fifo)
    assert leftovers(tmp_path) == []  # its probe file is gone


def test_check_writable_refuses_a_folder_that_takes_no_new_file(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(atomic_file.tempfile, "mkstemp", refuse)
    with pytest.raises(SaveTargetError, match="folder .* is not writable .*Permission denied"):
        check_writable(tmp_path / "m.nnz")


@root_only
def test_check_writable_refuses_a_read_only_folder(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(SaveTargetError, match="is not writable"):
            check_writable(folder / "m.nnz")
    finally:
        folder.chmod(0o755)


# -- nnstudio train checks its outputs before training (item 14) ----------------------------------


def assert_refused_before_training(capsys, *words):
    captured = capsys.readouterr()
    assert "epoch 1/" not in captured.out  # not one epoch was trained
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nnstudio: error:"), captured.err
    for word in words:
        assert word in lines[0]


def test_train_refuses_a_fifo_as_out_before_training(tmp_path, capsys):
    fifo = tmp_path / "pipe.nnz"
    os.mkfifo(fifo)
    assert main([*TRAIN, "--out", str(fifo)]) == 2
    assert_refused_before_training(capsys, "--out", "FIFO")
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_train_refuses_a_read_only_checkpoint_before_training(tmp_path, capsys):
    checkpoint = tmp_path / "run.ckpt"
    checkpoint.write_bytes(b"an older checkpoint")
    checkpoint.chmod(0o444)
    assert main([*TRAIN, "--checkpoint", str(checkpoint)]) == 2
    assert_refused_before_training(capsys, "--checkpoint", "read-only")
    assert checkpoint.read_bytes() == b"an older checkpoint"


def test_train_refuses_a_read_only_history_beside_out(tmp_path, capsys):
    history = tmp_path / "m-history.csv"
    history.write_text("epoch\n")
    history.chmod(0o444)
    assert main([*TRAIN, "--out", str(tmp_path / "m.nnz")]) == 2
    assert_refused_before_training(capsys, "history", "read-only")
    assert not (tmp_path / "m.nnz").exists()


def test_train_refuses_an_unwritable_folder_before_training(tmp_path, capsys, monkeypatch):
    real_mkstemp = atomic_file.tempfile.mkstemp

    def read_only_folder(*args, dir=None, **kwargs):
        if Path(dir) == tmp_path / "locked":
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_mkstemp(*args, dir=dir, **kwargs)

    (tmp_path / "locked").mkdir()
    monkeypatch.setattr(atomic_file.tempfile, "mkstemp", read_only_folder)
    assert main([*TRAIN, "--out", str(tmp_path / "locked" / "m.nnz")]) == 2
    assert_refused_before_training(capsys, "--out", "not writable")


# -- temporary files ------------------------------------------------------------------------------


def dead_pid() -> int:
    """The pid of a process that has ended (and was reaped), so surely not running now."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(timeout=TIMEOUT)
    return child.pid


def test_temporary_files_carry_the_pid(tmp_path):
    seen = []

    def look(file):
        seen.extend(leftovers(tmp_path))
        file.write(b"data")

    write_atomically(tmp_path / "m.nnz", look)
    assert len(seen) == 1 and seen[0].startswith(f".m.nnz.nnstudio-{os.getpid()}-")
    assert leftovers(tmp_path) == []


def test_a_dead_process_leftover_is_removed_on_the_next_save(tmp_path):
    dead = tmp_path / f".m.nnz.nnstudio-{dead_pid()}-abc123.tmp"
    alive = tmp_path / f".m.nnz.nnstudio-{os.getpid()}-def456.tmp"  # a save in progress
    someone_elses = tmp_path / ".notes.txt.tmp"
    for path in (dead, alive, someone_elses):
        path.write_bytes(b"half a model")
    write_atomically(tmp_path / "other.csv", "a,b\n")
    assert not dead.exists()
    assert alive.exists() and someone_elses.exists()
    assert remove_stale_temporaries(tmp_path) == []


SLOW_SAVE = """
import pathlib, sys, time
from nnstudio.atomic_file import write_atomically

target, inside = sys.argv[1], pathlib.Path(sys.argv[2])

def slow(file):
    file.write(b"x" * 100_000)
    file.flush()
    inside.write_text("writing")  # the parent may signal now
    time.sleep(60)

write_atomically(target, slow)
"""


def save_and_signal(tmp_path: Path, signum: int) -> subprocess.CompletedProcess:
    """A child saves ``tmp_path/m.nnz`` slowly; it gets ``signum`` while inside the write."""
    target, inside = tmp_path / "m.nnz", tmp_path.parent / f"{tmp_path.name}-inside"
    target.write_text("old")
    child = subprocess.Popen(
        [sys.executable, "-c", SLOW_SAVE, str(target), str(inside)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + TIMEOUT
        while not inside.exists():
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline, "the child never started writing"
            time.sleep(0.01)
        assert len(leftovers(tmp_path)) == 1  # the signal lands in the middle of the save
        child.send_signal(signum)
        stdout, stderr = child.communicate(timeout=TIMEOUT)
    finally:
        child.kill()
    assert target.read_text() == "old"
    return subprocess.CompletedProcess(child.args, child.returncode, stdout, stderr)


def test_sigterm_during_a_save_leaves_no_temporary(tmp_path):
    result = save_and_signal(tmp_path, signal.SIGTERM)
    assert result.returncode == -signal.SIGTERM, result.stderr  # still ended by the signal
    assert "Traceback" not in result.stderr
    assert leftovers(tmp_path) == []


def test_ctrl_c_during_a_save_leaves_no_temporary(tmp_path):
    result = save_and_signal(tmp_path, signal.SIGINT)
    assert result.returncode != 0 and "KeyboardInterrupt" in result.stderr
    assert leftovers(tmp_path) == []


def test_kill_9_leftover_is_removed_when_the_next_run_checks_its_outputs(tmp_path):
    save_and_signal(tmp_path, signal.SIGKILL)
    assert len(leftovers(tmp_path)) == 1
    check_writable(tmp_path / "m.nnz")  # what `nnstudio train` does first
    assert leftovers(tmp_path) == []


def test_kill_9_leftover_is_removed_by_the_next_save(tmp_path):
    save_and_signal(tmp_path, signal.SIGKILL)
    assert len(leftovers(tmp_path)) == 1  # nothing can clean up after kill -9 ...
    save_model(tmp_path / "next.nnz", tiny_model())
    assert leftovers(tmp_path) == []  # ... but the next save into the folder does
    assert np.isfinite(load_model(tmp_path / "next.nnz").model.predict(np.ones((1, 2)))).all()
