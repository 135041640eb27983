"""Step, Stop and the epoch counter say what happened (issue 21, item 8), Train pressed on
the Model tab shows the run (item 6), and a run the doctor stops leaves the toolbar as any
finished run does."""

from __future__ import annotations

from PySide6.QtCore import Qt


def test_step_shows_the_batch_and_its_loss(make_window, qtbot):
    window = make_window()
    window.hyperparameters.epochs_box.setValue(300)
    window.actionStep.trigger()
    qtbot.waitUntil(lambda: "batch 1 of" in window.status.state_label.text(), timeout=10_000)
    assert "loss" in window.status.state_label.text()
    assert window.status.epoch_label.text() == "Epoch 0 / 300"  # none finished yet
    assert window.status.epoch_progress.value() > 0  # but a batch of the first is done
    assert window.runs_panel.table.item(0, 1).text() == "paused"


def test_stop_keeps_the_epoch_counter(make_window, qtbot):
    window = make_window()
    window.hyperparameters.epochs_box.setValue(300)
    window.actionTrain.trigger()
    qtbot.waitUntil(lambda: len(window.current_run.history) >= 2, timeout=10_000)
    with qtbot.waitSignal(window.training_finished, timeout=10_000):
        window.actionStop.trigger()
    done = len(window.current_run.history)
    assert window.status.epoch_label.text() == f"Epoch {done} / 300"
    assert window.runs_panel.table.item(0, 1).text() == "stopped"


def run_actions(window) -> dict:
    """What Train, Pause, Step and Stop read, and whether they show and can be pressed."""
    actions = {
        "train": window.actionTrain,
        "pause": window.actionPause,
        "step": window.actionStep,
        "stop": window.actionStop,
    }
    return {name: (a.text(), a.isVisible(), a.isEnabled()) for name, a in actions.items()}


def test_a_blow_up_in_the_first_epoch_leaves_the_toolbar_as_any_finished_run(make_window, qtbot):
    window = make_window()
    dock = window.hyperparameters
    dock.optimizer_box.setCurrentIndex(dock.optimizer_box.findData("adam"))
    dock.learning_rate_box.setValue(10.0)
    not_trained = run_actions(window)
    assert not_trained["train"] == ("Train", True, True) and not not_trained["stop"][2]
    with qtbot.waitSignal(window.training_finished, timeout=20_000) as finished:
        window.actionTrain.trigger()
    assert finished.args[0]["stopped_reason"] == "nan"
    assert window.current_run.history == []  # it blew up in epoch 1: nothing trained
    # Train (not "Resume"), and no Stop for a run that is over, as before it started
    assert run_actions(window) == not_trained
    assert window.state == "idle"
    assert "blew up" in window.status.state_label.text()
    status = window.runs_panel.table.item(0, 1)
    assert status.text() == "blew up"  # not "paused"
    assert status.toolTip().startswith("Stopped: the loss blew up")
    assert "Training stopped" in window.message_bar.text()
    # Train trains again, and Stop can stop that
    window.actionTrain.trigger()
    assert window.state == "training" and window.actionStop.isEnabled()
    with qtbot.waitSignal(window.training_finished, timeout=20_000):
        window.actionStop.trigger()


def test_typing_epochs_updates_the_counter(make_window, qtbot):
    window = make_window()
    box = window.hyperparameters.epochs_box
    box.setFocus()
    box.lineEdit().selectAll()
    qtbot.keyClicks(box.lineEdit(), "3000")
    qtbot.keyClick(box.lineEdit(), Qt.Key.Key_Return)
    assert window.status.epoch_label.text() == "Epoch 0 / 3000"


def test_new_epochs_after_a_stop_plan_that_many_more(make_window, qtbot):
    window = make_window()
    window.hyperparameters.epochs_box.setValue(300)
    window.actionTrain.trigger()
    qtbot.waitUntil(lambda: len(window.current_run.history) >= 1, timeout=10_000)
    with qtbot.waitSignal(window.training_finished, timeout=10_000):
        window.actionStop.trigger()
    done = len(window.current_run.history)
    window.hyperparameters.epochs_box.setValue(2)
    assert window.status.epoch_label.text() == f"Epoch {done} / {done + 2}"
    assert window.status.next_train.text() == f"Next: Train 2 more epochs (to {done + 2})"
    with qtbot.waitSignal(window.training_finished, timeout=20_000):
        window.actionTrain.trigger()
    assert len(window.current_run.history) == done + 2


def test_train_from_the_model_tab_shows_the_training_tab(make_window, qtbot):
    window = make_window()
    window.tabs.setCurrentWidget(window.builder)
    window.hyperparameters.epochs_box.setValue(2)
    with qtbot.waitSignal(window.training_finished, timeout=20_000):
        window.actionTrain.trigger()
    assert window.tabs.currentWidget() is window.training_tab
