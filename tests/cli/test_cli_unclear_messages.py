"""Damaged files and odd numbers on the command line are named in words (issue 38, item 17):
exit 2 with one line that names the file and the field, never Python's or numpy's own words
("dictionary update sequence element #0", "unhashable type", "Maximum allowed size
exceeded", "expected non-negative integer") and never exit 1. Found by mutating every JSON
value of a project, a model file and a checkpoint in turn."""

import json
import zipfile
from pathlib import Path

import pytest

from nnstudio.cli import main
from tests.cli.test_cli_hostile_files import one_line

TRAIN = ["train", "--dataset", "moons", "--samples", "60", "--epochs", "1", "--json"]


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> dict[str, Path]:
    """A one-epoch moons run's model and checkpoint (two epochs: a history to damage)."""
    folder = tmp_path_factory.mktemp("saved")
    paths = {"model": folder / "run.nnz", "checkpoint": folder / "run.ckpt"}
    argv = [*TRAIN[:-2], "2", "--json", "--out", str(paths["model"])]
    assert main([*argv, "--checkpoint", str(paths["checkpoint"])]) == 0
    return paths


def edited(source: Path, folder: Path, member: str, path: list, value) -> Path:
    """A copy of ``source`` whose JSON ``member`` has ``value`` at ``path`` (keys and
    indexes)."""
    with zipfile.ZipFile(source) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    data = json.loads(members[member])
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    members[member] = json.dumps(data).encode()
    copy = folder / f"edited{source.suffix}"
    with zipfile.ZipFile(copy, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return copy


@pytest.mark.parametrize(
    ("path", "value", "words"),
    [
        # dict() said "dictionary update sequence element #0 has length 1; 2 is required"
        (["fit_config", "schedule_settings"], [[1]], "schedule_settings must be an object"),
        (["fit_config", "validation_split"], [2], "validation_split must be a number"),
        (["fit_config", "schedule"], [2], "schedule must be a schedule's name"),
        # ZeroDivisionError, exit 1: Adam divides by 1 - beta ** iterations
        (["optimizer", "iterations"], -1, "iterations must be 0 or more"),
        (["optimizer", "iterations"], "x", "iterations must be a whole number"),
        # AttributeError / TypeError, exit 1, when the history was shown again
        (["history", 1, "warnings"], [2], "warnings are not a list of objects"),
        (["history", 1, "warnings"], -1, "warnings are not a list of objects"),
    ],
)
def test_a_damaged_training_state_is_named_in_one_line(saved, tmp_path, capsys, path, value, words):
    checkpoint = edited(saved["checkpoint"], tmp_path, "training.json", path, value)
    capsys.readouterr()
    assert main(["train", "--resume", str(checkpoint), "--epochs", "3"]) == 2
    line = one_line(capsys, "edited.ckpt", words)
    assert "sequence" not in line and "float()" not in line


@pytest.mark.parametrize(
    ("command", "path", "value", "words"),
    [
        # 'float' object has no attribute 'get', exit 1
        (["export", "--format", "python"], ["preprocessing", "scaling"], 0.5, "scaling"),
        # unhashable type: 'list', exit 1
        (["lr-find"], ["preprocessing", "scaling", "method"], [0], "scaling"),
        (["evaluate"], ["preprocessing", "feature_names"], 3, "feature_names"),
        # "unhashable type: 'list'"
        (["evaluate"], ["config", "layers", 0, "type"], [1], "needs a 'type'"),
    ],
)
def test_a_damaged_model_file_is_named_in_one_line(
    saved, tmp_path, capsys, command, path, value, words
):
    model = edited(saved["model"], tmp_path, "model.json", path, value)
    extra = ["--out", str(tmp_path / "out.py")] if command[0] == "export" else []
    dataset = [] if command[0] == "export" else ["--dataset", "moons"]
    capsys.readouterr()
    assert main([command[0], str(model), *command[1:], *dataset, *extra]) == 2
    line = one_line(capsys, "edited.nnz", words)
    assert "unhashable" not in line and "attribute" not in line
    assert not (tmp_path / "out.py").exists()


@pytest.mark.parametrize("command", [["export", "--format", "onnx"], ["explain", "--index", "0"]])
def test_damaged_scaling_statistics_name_their_model_file(saved, tmp_path, capsys, command):
    """They said "the model file's …": which one, when a command reads two?"""
    path = ["preprocessing", "scaling"]
    scaling = {"method": "standardize", "mean": [0.0, 0.0, 0.0], "std": [1.0, 1.0]}
    model = edited(saved["model"], tmp_path, "model.json", path, scaling)
    extra = ["--out", str(tmp_path / "out.onnx")] if command[0] == "export" else []
    dataset = [] if command[0] == "export" else ["--dataset", "moons"]
    capsys.readouterr()
    assert main([command[0], str(model), *command[1:], *dataset, *extra]) == 2
    one_line(capsys, str(model), "scaling", "damaged")


def test_a_negative_seed_recorded_in_a_model_is_named(saved, tmp_path, capsys):
    """lr-find takes the dataset's settings the model recorded: numpy said "expected
    non-negative integer"."""
    path = ["metadata", "dataset", "options", "seed"]
    model = edited(saved["model"], tmp_path, "model.json", path, -1)
    capsys.readouterr()
    assert main(["lr-find", str(model), "--dataset", "moons", "--steps", "10"]) == 2
    one_line(capsys, "seed must be >= 0", "-1")


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["lr-find", "--dataset", "moons", "--steps", str(2**64)], "steps (batches) must be"),
        (["train", "--dataset", "moons", "--samples", str(2**64)], "samples must be"),
    ],
)
def test_counts_too_large_to_allocate_are_named(capsys, argv, words):
    """numpy said only "Maximum allowed size exceeded"."""
    assert main(argv) == 2
    line = one_line(capsys, words)
    assert "Maximum allowed size" not in line
