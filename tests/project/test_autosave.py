"""Autosave: written per process, found again only when its process is gone."""

from __future__ import annotations

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
