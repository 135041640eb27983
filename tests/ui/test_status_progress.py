"""The status bar's progress bar and labels cost the training run nothing they do not show
(issue 39): QProgressBar.setValue repaints at once, and a label's new text lays the whole
window out again, on the GUI thread that shares the cores."""

from __future__ import annotations

from nnstudio.project.document import RunState
from nnstudio.ui.window.status import LABEL_WIDTH


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


def test_status_labels_hold_their_size_while_a_run_trains_and_show_every_text(window, qtbot):
    window.show()
    qtbot.waitExposed(window)
    status, training = window.status, window.training
    labels = (status.epoch_label, status.status_epoch, status.status_speed, status.status_eta)
    window.document.set_run_state(RunState.TRAINING)
    sizes = [label.size() for label in labels]
    shown = [label for label in labels if label.isVisible()]  # a narrow toolbar hides some
    assert status.status_speed in shown
    assert all(label.minimumSize() == label.maximumSize() for label in shown)  # held
    training.session, training.last_speed = object(), 12_345.0  # as while a run goes on
    try:
        status.refresh()
        assert status.status_speed.text() == "12,345 samples/s"
        assert [label.size() for label in labels] == sizes  # no new layout for a new text
        training.last_speed = 1.5e9  # a text wider than the label: it widens
        status.refresh()
        assert status.status_speed.text() == "1,500,000,000 samples/s"
        speed = status.status_speed
        assert speed.width() >= speed.sizeHint().width() > sizes[2].width()
    finally:
        training.session = None
    window.document.set_run_state(RunState.IDLE)  # free again, as laid out before the run
    assert all(label.minimumWidth() == LABEL_WIDTH for label in labels)
    assert all(label.maximumWidth() > 10_000 for label in labels)
