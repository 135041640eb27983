"""Autosave: written per process, found again only when its process is gone."""

from __future__ import annotations

import os

from nnstudio.project import Project, load_project
from nnstudio.project.autosave import Autosave

DEAD_PID = 2**22 + 12345  # above Linux's default pid_max: never a live process


def test_save_then_leftover_only_when_the_process_is_gone(tmp_path):
    project = Project(name="demo", model={"layers": [{"type": "Dense", "units": 2}]})
    crashed = Autosave(tmp_path, pid=DEAD_PID)
    crashed.save(project)
    alive = Autosave(tmp_path)  # this process
    alive.save(project)
    assert alive.leftovers() == [crashed.path]
    restored = load_project(crashed.path)
    assert restored.name == "demo" and restored.model["layers"][0]["units"] == 2


def test_clear_removes_this_process_files_only(tmp_path):
    project = Project(name="demo")
    mine, other = Autosave(tmp_path), Autosave(tmp_path, pid=DEAD_PID)
    mine.save(project, save_weights=lambda path: path.write_bytes(b"weights"))
    other.save(project)
    assert mine.weights_path.exists()
    assert load_project(mine.path).weights == mine.weights_path.name
    mine.clear()
    assert not mine.path.exists() and not mine.weights_path.exists()
    assert other.path.exists()


def test_default_folder_follows_the_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("NNSTUDIO_DATA_DIR", str(tmp_path))
    assert Autosave().folder == tmp_path / "autosave"


def test_adopt_makes_a_leftover_this_process_autosave_with_its_weights(tmp_path):
    project = Project(name="demo", model={"layers": [{"type": "Dense", "units": 2}]})
    crashed = Autosave(tmp_path, pid=DEAD_PID)
    crashed.save(project, save_weights=lambda path: path.write_bytes(b"weights"))
    mine = Autosave(tmp_path)
    adopted = mine.adopt(crashed.path)
    assert adopted == mine.path and not crashed.path.exists()
    assert not crashed.weights_path.exists() and mine.weights_path.read_bytes() == b"weights"
    restored = load_project(mine.path)
    assert restored.weights_path() == mine.weights_path.resolve()
    assert restored.name == "demo" and mine.leftovers() == []


def test_adopt_never_moves_a_file_the_project_names_elsewhere(tmp_path):
    other = tmp_path / "precious.nnz"
    other.write_bytes(b"keep")
    crashed = Autosave(tmp_path / "autosave", pid=DEAD_PID)
    crashed.save(Project(name="demo", weights=str(other)))
    project = load_project(crashed.path)
    project.weights = str(other)
    from nnstudio.project import save_project

    save_project(project, crashed.path)
    mine = Autosave(tmp_path / "autosave")
    assert load_project(mine.adopt(crashed.path)).weights is None
    assert other.read_bytes() == b"keep"


def test_two_windows_with_the_same_pid_keep_their_own_autosaves(tmp_path):
    """Issue 38: two windows in separate PID namespaces sharing a home folder are both pid 1;
    one's clean exit deleted the other's live autosave, and a live one looked crashed."""
    first, second = Autosave(tmp_path), Autosave(tmp_path)  # both of this process
    project = Project()
    first.save(project)
    second.save(project)
    assert first.path != second.path
    assert first.leftovers() == [] and second.leftovers() == []  # each is in use
    first.clear()
    assert second.path.exists() and not first.path.exists()
    assert Autosave(tmp_path).leftovers() == []  # still locked by its living writer
    second.clear()


def test_an_autosave_whose_writer_is_gone_is_a_leftover(tmp_path):
    crashed = Autosave(tmp_path)
    crashed.save(Project())
    os.close(crashed._lock_handle)  # the process ends: the system releases its lock
    crashed._lock_handle = None
    assert Autosave(tmp_path).leftovers() == [crashed.path]
