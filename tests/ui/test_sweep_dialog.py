"""Training → Sweep… in the window: the grid runs on a worker thread while the window keeps
going, each trial becomes a run in the Runs dock, the parallel-coordinates plot draws one
line per trial, and "Open best" puts the best trial's settings into the project."""

from __future__ import annotations

from nnstudio.ui.plots.parallel_coordinates import ParallelCoordinatesPlot


def set_grid(dialog, rows: list[tuple[str, str]]) -> None:
    dialog.grid_table.setRowCount(0)
    for name, values in rows:
        dialog._add_row(dialog.grid_table, name, values)


def test_a_sweep_fills_the_runs_dock_and_open_best_takes_its_settings(qtbot, window):
    window.hyperparameters.epochs_box.setValue(3)
    assert window.actionSweep in window.training_menu.actions()
    runs_before = len(window.document.runs)
    dialog = window.sweeps.open_dialog(workers=2)
    set_grid(dialog, [("learning_rate", "0.003, 0.1"), ("layers.0.units", "4, 16")])
    with qtbot.waitSignal(dialog.finished, timeout=60_000) as blocker:
        dialog.run_button.click()
        assert not dialog.run_button.isEnabled()  # running, and the window went on at once
    records = blocker.args[0]
    assert sorted(r["trial"] for r in records) == [1, 2, 3, 4]
    runs = window.document.runs[runs_before:]
    assert len(runs) == 4
    assert all(len(run.history) == 3 and run.status == "completed" for run in runs)
    assert {run.settings["learning_rate"] for run in runs} == {0.003, 0.1}
    assert window.runs_panel.table.rowCount() == len(window.document.runs)  # the Runs dock
    assert dialog.results.rowCount() == 4
    assert len(dialog.plot.lines) == 4 and dialog.plot.best_line is not None
    best = dialog.best()
    assert dialog.best_button.isEnabled()
    dialog.best_button.click()
    assert window.document.training.learning_rate == best["settings"]["learning_rate"]
    units = best["settings"]["layers.0.units"]
    assert window.builder.config()["layers"][0]["units"] == units
    dialog.reject()


def test_a_bad_grid_is_said_in_the_dialog_and_nothing_runs(qtbot, window):
    dialog = window.sweeps.open_dialog(workers=1)
    set_grid(dialog, [("colour", "red, blue")])
    dialog.run_button.click()
    assert "unknown setting 'colour'" in dialog.message.text()
    assert dialog.run_button.isEnabled() and not dialog.stop_button.isEnabled()
    dialog.reject()


def test_parallel_coordinates_draw_a_line_per_trial_and_mark_the_best(qtbot):
    plot = ParallelCoordinatesPlot()
    qtbot.addWidget(plot)
    records = [
        {"trial": 1, "settings": {"lr": 0.001, "opt": "adam"}, "metrics": {"val_loss": 0.5}},
        {"trial": 2, "settings": {"lr": 0.1, "opt": "sgd"}, "metrics": {"val_loss": 0.2}},
        {"trial": 3, "settings": {"lr": 0.01, "opt": "adam"}, "error": "no such file"},
    ]
    plot.set_trials(["lr", "opt"], records, "val_loss")
    assert len(plot.lines) == 2  # the failed trial has no metric to draw
    assert plot.best_line is plot.lines[1]
    xs, ys = plot.best_line.getData()
    assert list(xs) == [0.0, 1.0, 2.0]
    assert list(ys) == [1.0, 1.0, 0.0]  # highest rate, the second word, the lowest loss
    ticks = plot.getAxis("bottom")._tickLevels[0]
    assert [label for _, label in ticks] == ["lr", "opt", "val_loss"]
