"""Train pressed before the project is ready counts (issue 31): training starts as soon as the
dataset has loaded and the model is built, never on the previous project's model."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest


def test_train_pressed_at_launch_starts_once_the_dataset_is_in(
    qtbot, isolated_settings, monkeypatch
):
    from PySide6.QtWidgets import QMessageBox

    from nnstudio.ui.window.files import FileController
    from nnstudio.ui.window.main_window import MainWindow

    discard = QMessageBox.StandardButton.Discard  # closing at the end asks nothing
    monkeypatch.setattr(FileController, "ask_save_changes", lambda self: discard)
    window = MainWindow()  # its dataset loads on a worker thread: not in yet
    qtbot.addWidget(window)
    assert window.document.awaiting_dataset and window.model is None
    window.actionTrain.trigger()
    assert "as soon as the dataset has loaded" in window.status.state_label.text()
    window.hyperparameters.epochs_box.setValue(2)
    with qtbot.waitSignal(window.training_finished, timeout=30_000) as blocker:
        pass
    assert blocker.args[0].get("stopped_reason") in (None, "completed")
    assert len(window.current_run.history) == 2
    window.training.shutdown()


def test_space_right_after_new_trains_the_new_project(qtbot, window, ready):
    window.show()
    window.files.new_project()
    assert window.document.awaiting_dataset
    window.hyperparameters.epochs_box.setValue(2)
    old_model = window.model
    QTest.keyClick(window, Qt.Key.Key_Space)
    assert window.session is None  # not the old project's model
    with qtbot.waitSignal(window.training_finished, timeout=30_000):
        pass
    assert window.model is not old_model and window.document.runs[0].number == 1
    assert len(window.current_run.history) == 2
