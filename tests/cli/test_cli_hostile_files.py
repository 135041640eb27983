"""Hostile files, again (issue 38): a project, a checkpoint or a lesson never makes nnstudio
read a file the user did not name (or that lies outside the folder of the file they named);
sizes are bounded for a whole file; nothing is written over its own input."""

import json
import sys
import zipfile
from pathlib import Path

import pytest

from nnstudio.cli import main

sys.path.insert(0, str(Path(__file__).parent.parent / "fuzz"))
from hostile_corpus import _project  # noqa: E402

SECRET = "SECRET-FIRST-LINE"


def one_line(capsys, *words) -> str:
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in captured.err, captured.err
    for word in words:
        assert word in lines[0], lines[0]
    assert SECRET not in captured.err + captured.out
    return lines[0]


@pytest.fixture
def secret(tmp_path) -> Path:
    """A one-column file outside the user's folder (as /etc/shadow would be)."""
    folder = tmp_path / "private"
    folder.mkdir()
    path = folder / "secret.csv"
    path.write_text(f"{SECRET}\n1\n2\n")
    return path


@pytest.fixture
def work(tmp_path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


def _write_project(folder: Path, dataset: str) -> Path:
    path = folder / "p.nnsproj"
    path.write_text(json.dumps(_project(**{"dataset": {"name": dataset}})))
    return path


@pytest.mark.parametrize("relative", [True, False])
def test_a_project_naming_a_file_outside_its_folder_is_refused(work, secret, capsys, relative):
    name = "../private/secret.csv" if relative else str(secret)
    project = _write_project(work, f"csv:{name}")
    assert main(["train", "--epochs", "1", str(project)]) == 2
    one_line(capsys, "outside the folder", "--dataset")


def test_a_link_beside_the_project_to_a_file_outside_is_refused(work, secret, capsys):
    (work / "data.csv").symlink_to(secret)
    assert main(["train", "--epochs", "1", str(_write_project(work, "csv:data.csv"))]) == 2
    one_line(capsys, "outside the folder")


def test_a_file_beside_the_project_is_read(work, capsys):
    rows = "".join(f"{i % 7 / 7},{i % 3},{i % 2}\n" for i in range(60))
    (work / "data.csv").write_text("a,b,label\n" + rows)
    project = _write_project(work, "csv:data.csv")
    assert main(["train", "--epochs", "1", "--json", str(project)]) == 0


def test_a_dataset_given_on_the_command_line_replaces_the_projects_file(work, secret, capsys):
    project = _write_project(work, f"csv:{secret}")
    assert main(["train", "--epochs", "1", "--json", "--dataset", "moons", str(project)]) == 0


def _checkpoint_naming(folder: Path, dataset: str) -> Path:
    path = folder / "run.ckpt"
    argv = ["train", "--dataset", "moons", "--samples", "60", "--epochs", "1", "--json"]
    assert main([*argv, "--checkpoint", str(path)]) == 0
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    info = json.loads(members["model.json"])
    info["metadata"]["project_file"]["dataset"] = {"name": dataset, "options": {}}
    members["model.json"] = json.dumps(info).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


@pytest.mark.parametrize("relative", [True, False])
def test_resume_never_reads_a_file_the_checkpoint_names_outside_its_folder(
    work, secret, capsys, relative
):
    name = "../private/secret.csv" if relative else str(secret)
    checkpoint = _checkpoint_naming(work, f"csv:{name}")
    capsys.readouterr()
    assert main(["train", "--resume", str(checkpoint), "--epochs", "2", "--json"]) == 2
    one_line(capsys, "--resume", "outside the folder")


def test_resume_of_a_run_on_a_csv_reads_it_again(work, capsys):
    rows = "".join(f"{i % 7 / 7},{i % 3},{i % 2}\n" for i in range(60))
    (work / "data.csv").write_text("a,b,label\n" + rows)
    checkpoint = work / "run.ckpt"
    argv = ["train", "--dataset", f"csv:{work / 'data.csv'}", "--epochs", "1", "--json"]
    assert main([*argv, "--checkpoint", str(checkpoint)]) == 0
    assert main(["train", "--resume", str(checkpoint), "--epochs", "2", "--json"]) == 0
