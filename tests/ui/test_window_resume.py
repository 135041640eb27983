"""Reopening a saved project resumes it for real: curves, Runs list, epoch counter and the
optimizer's state, so the next epoch's loss is the one it would have been (issue 21, item 5)."""

from __future__ import annotations

import pytest


def _train(qtbot, window, epochs):
    window.hyperparameters.epochs_box.setValue(epochs)
    with qtbot.waitSignal(window.training_finished, timeout=30_000):
        window.actionTrain.trigger()


def test_reopened_project_continues_its_run(qtbot, make_window, ready, tmp_path):
    first = make_window()
    _train(qtbot, first, 3)
    path = tmp_path / "resume.nnsproj"
    assert first.files.write_project(path)
    _train(qtbot, first, 1)  # what continuing without the save gives
    expected = first.current_run.history[-1]

    second = make_window(load_default=False)
    assert second.open_project(path)
    ready(second)
    run = second.current_run
    assert run is not None and run.label == "Run 1" and len(run.history) == 3
    assert second.runs_panel.table.rowCount() == 1
    assert len(second.training_tab.plots.epochs) == 3  # the curves are back
    assert second.status.epoch_label.text() == "Epoch 3 / 3"
    caption = second.training_tab.caption.text()
    assert caption.startswith("Run 1 — spiral, epoch 3") and "Press Train" not in caption

    _train(qtbot, second, 1)
    assert second.current_run is run and len(run.history) == 4
    resumed = run.history[-1]
    assert resumed["epoch"] == expected["epoch"] == 4
    # Adam's moments came back from the checkpoint: a fresh optimizer gives another loss.
    assert resumed["loss"] == pytest.approx(expected["loss"], rel=1e-5)
