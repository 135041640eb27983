"""``nnstudio train``'s options and --help come from the project's settings (issue 33)."""

from __future__ import annotations

import pytest

from nnstudio.cli.main import main
from nnstudio.engine.registry import LOSSES, OPTIMIZERS, SCHEDULES


def test_train_help_lists_the_registry_and_each_settings_default_and_range(capsys):
    assert main(["train", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    for name in (*LOSSES, *OPTIMIZERS, *SCHEDULES):
        assert name in text
    assert "(default 20; 1 to 100,000)" in text  # --epochs
    assert "(default 500; 20 to 100,000)" in text  # --samples


@pytest.mark.parametrize(
    ("option", "value", "words"),
    [
        ("--epochs", "0", "epochs must be >= 1 and <= 100000; got 0"),
        ("--val-split", "0.95", "validation_split must be >= 0.0 and <= 0.9"),
        ("--samples", "10", "samples must be >= 20"),
        ("--lr", "abc", "'abc' is not a number"),
    ],
)
def test_train_refuses_an_option_as_a_project_file_would(capsys, option, value, words):
    assert main(["train", "--dataset", "spiral", option, value]) == 2
    assert words in capsys.readouterr().err


def test_train_refuses_a_project_the_window_would_not_open(tmp_path, capsys):
    from nnstudio.project import load_preset, save_project

    project = load_preset("spiral-mlp")
    project.dataset.options["samples"] = 500_000  # trained by the CLI, refused by the window
    path = save_project(project, tmp_path / "big.nnsproj")
    assert main(["train", str(path), "--epochs", "1"]) == 2
    assert "samples must be >= 20 and <= 100000; got 500000" in capsys.readouterr().err
