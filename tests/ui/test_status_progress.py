"""The status bar's progress bar costs the training run nothing it does not show (issue 39):
QProgressBar.setValue repaints at once, on the GUI thread that shares the cores."""

from __future__ import annotations

from nnstudio.project.document import RunState


def test_the_progress_bar_moves_by_whole_pixels_while_a_run_trains(window):
    status, bar = window.status, window.status.epoch_progress
    bar.setFixedWidth(120)
    window.document.set_run_state(RunState.TRAINING)
    status._show_progress(0, 20_000)
    status._show_progress(100, 20_000)  # 0.6 of a pixel: not worth a repaint
    assert bar.value() == 0 and bar.maximum() == 20_000
    status._show_progress(200, 20_000)  # 1.2 pixels
    assert bar.value() == 200
    window.document.set_run_state(RunState.PAUSED)  # not training: exact
    status._show_progress(210, 20_000)
    assert bar.value() == 210
