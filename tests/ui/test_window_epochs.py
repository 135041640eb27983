"""One meaning of "Epochs" (issue 31): Train trains that many more epochs, on a new run, on a
finished or stopped run, on a branch and on a reopened project, and says so before it does."""

from __future__ import annotations

from tests.ui.conftest import wait_until_ready


def _train(qtbot, window, epochs=None):
    if epochs is not None:
        window.hyperparameters.epochs_box.setValue(epochs)
    with qtbot.waitSignal(window.training_finished, timeout=30_000):
        window.actionTrain.trigger()


def test_train_says_what_it_will_do_and_does_it(qtbot, window):
    window.hyperparameters.epochs_box.setValue(3)
    assert window.actionTrain.text() == "Train"
    assert window.status.next_train.text() == "Next: Train 3 epochs"
    _train(qtbot, window)
    assert len(window.current_run.history) == 3
    assert window.actionTrain.text() == "Train 3 more"
    assert "Train 3 more epochs (to 6)" in window.actionTrain.toolTip()
    assert window.status.next_train.text() == "Next: Train 3 more epochs (to 6)"
    window.hyperparameters.epochs_box.setValue(2)
    assert window.status.next_train.text() == "Next: Train 2 more epochs (to 5)"
    _train(qtbot, window)
    assert len(window.current_run.history) == 5


def test_a_branch_trains_the_epochs_setting_from_its_epoch(qtbot, window):
    window.show()
    _train(qtbot, window, 4)
    window.training_tab.timeline.slider.setValue(1)
    window.actionBranchRun.trigger()
    window.hyperparameters.epochs_box.setValue(2)
    assert window.status.next_train.text() == "Next: Train 2 more epochs (to 3)"
    _train(qtbot, window)
    assert len(window.current_run.history) == 3  # from epoch 1, 2 more


def test_the_branch_has_a_button_beside_the_timeline(qtbot, window):
    window.show()
    _train(qtbot, window, 3)
    button = window.training_tab.timeline.branch_button
    assert button.defaultAction() is window.actionBranchRun
    window.training_tab.timeline.slider.setValue(1)
    assert button.isEnabled() and "epoch 1" in button.text()
    button.click()
    assert window.current_run.branched_from == {"run": 1, "epoch": 1}


def test_a_dataset_switch_starts_afresh_train_and_the_timeline_say_so(qtbot, window):
    """The switch rebuilds the model: Train reads as for a fresh model and nothing branches."""
    window.show()
    _train(qtbot, window, 2)
    assert window.actionTrain.text() == "Train 2 more"
    assert window.actionBranchRun.isEnabled()
    window.data_panel.set_spec("gaussian", {"samples": 300, "classes": 3})
    wait_until_ready(qtbot, window, "gaussian")
    assert window.current_run is None
    assert window.actionTrain.text() == "Train"
    assert window.status.next_train.text() == "Next: Train 2 epochs"
    assert not window.actionBranchRun.isEnabled()
    assert window.training_tab.timeline.slider.epochs == []
