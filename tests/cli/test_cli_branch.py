"""`nnstudio train --resume CHECKPOINT --from-epoch K` (issue 19): a new run from epoch K of
the checkpoint's timeline; a bad K is one line and exit 2."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nnstudio.cli import main
from nnstudio.engine.io import load_checkpoint, load_model, save_checkpoint
from nnstudio.project.timeline import timelines_from_files

TOY = ["--dataset", "spiral", "--samples", "120", "--seed", "1", "--json"]


def _records(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


@pytest.fixture
def checkpoint(tmp_path, capsys):
    """Six epochs with a checkpoint (and its timeline); the records of those epochs."""
    path = tmp_path / "run.ckpt"
    assert main(["train", *TOY, "--epochs", "6", "--checkpoint", str(path)]) == 0
    return path, _records(capsys)[:-1]


def test_the_checkpoint_keeps_a_timeline_of_every_epoch(checkpoint):
    path, _records_ = checkpoint
    saved = load_checkpoint(path)
    timeline = timelines_from_files(*saved.timeline)[1]
    assert timeline.epochs() == list(range(7))
    for name, value in saved.model.state_dict().items():
        assert np.array_equal(timeline.get(6).weights[name], value)


def test_branching_from_epoch_k_repeats_the_epochs_after_it(checkpoint, tmp_path, capsys):
    path, original = checkpoint
    branch = tmp_path / "branch.nnz"
    argv = ["train", "--resume", str(path), "--from-epoch", "3", "--epochs", "3"]
    argv += ["--out", str(branch), "--json"]
    assert main(argv) == 0
    records = _records(capsys)
    assert [r["epoch"] for r in records[:-1]] == [4, 5, 6]
    for before, after in zip(original[3:], records[:-1], strict=True):
        assert after["loss"] == before["loss"]  # same weights, moments and shuffles
    final = load_checkpoint(path).model.state_dict()
    for name, value in load_model(branch).model.state_dict().items():
        assert np.array_equal(value, final[name])


def test_a_branch_with_another_rate_differs_and_leaves_the_checkpoint(checkpoint, capsys):
    path, original = checkpoint
    before = path.read_bytes()
    argv = ["train", "--resume", str(path), "--from-epoch", "2", "--lr", "0.3", "--epochs", "2"]
    assert main([*argv, "--json"]) == 0
    records = _records(capsys)
    assert [r["epoch"] for r in records[:-1]] == [3, 4]
    assert records[0]["lr"] == pytest.approx(0.3)
    assert records[0]["loss"] != original[2]["loss"]
    assert path.read_bytes() == before  # no --checkpoint: the original run stays untouched


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--from-epoch", "9"], ["--from-epoch 9", "no epoch 9", "0..6"]),
        (["--from-epoch", "x"], ["--from-epoch", "not a whole number"]),
        (["--from-epoch", "-1"], ["--from-epoch"]),
    ],
)
def test_a_bad_epoch_is_one_line_and_exit_2(checkpoint, capsys, extra, words):
    path, _records_ = checkpoint
    assert main(["train", "--resume", str(path), *extra]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in lines[0], lines
    assert "error" in lines[0]
    for word in words:
        assert word in lines[0], lines[0]


def test_from_epoch_needs_resume_and_a_timeline(checkpoint, tmp_path, capsys):
    assert main(["train", *TOY, "--from-epoch", "2"]) == 2
    assert "--from-epoch needs --resume" in capsys.readouterr().err
    path, _records_ = checkpoint
    saved = load_checkpoint(path)
    old = tmp_path / "old.ckpt"  # a checkpoint from before timelines
    save_checkpoint(
        old,
        saved.model,
        saved.optimizer,
        epoch=saved.epoch,
        history=saved.history,
        fit_config=saved.fit_config,
        metadata=saved.metadata,
    )
    assert main(["train", "--resume", str(old), "--from-epoch", "2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "holds no timeline" in err[0]
    assert main(["train", "--resume", str(old), "--epochs", "1", "--json"]) == 0  # still resumes


def test_epochs_with_resume_means_that_many_more(checkpoint, capsys):
    """One meaning of Epochs (issue 31): --resume --epochs 2 on a 6-epoch checkpoint trains
    epochs 7 and 8, as Train in the window would."""
    path, _records_ = checkpoint
    assert main(["train", "--resume", str(path), "--epochs", "2", "--json"]) == 0
    assert [r["epoch"] for r in _records(capsys)[:-1]] == [7, 8]
