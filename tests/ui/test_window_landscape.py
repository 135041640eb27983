"""Training → Loss landscape…: the map is the engine's loss around the model's weights (on a
copy), with the run's path over its epochs ending at the star."""

import numpy as np
import pytest

from nnstudio.project.evaluation import mean_loss
from nnstudio.ui.panels.landscape_dialog import MAX_SAMPLES, PATH, WEIGHTS


def _train(qtbot, window, epochs):
    window.hyperparameters.epochs_box.setValue(epochs)
    with qtbot.waitSignal(window.training_finished, timeout=30_000):
        window.actionTrain.trigger()


def test_the_landscape_of_a_trained_run_ends_its_path_at_the_weights(qtbot, window):
    _train(qtbot, window, 4)
    before = {name: value.copy() for name, value in window.model.parameters().items()}
    dialog = window.landscape.open()
    qtbot.addWidget(dialog)
    dialog.steps.setValue(5)
    dialog.compute_button.click()
    assert dialog.wait()
    qtbot.waitUntil(lambda: dialog.result is not None, timeout=10_000)
    result = dialog.result
    assert len(result.loss) == 5 and len(result.loss[0]) == 5
    x, y = dialog.x, dialog.y
    assert len(x) <= MAX_SAMPLES
    assert result.center_loss == pytest.approx(mean_loss(window.model, dialog.loss, x, y))
    assert result.loss[2][2] == result.center_loss  # the middle of the grid is the weights
    epochs = [epoch for epoch, _a, _b in dialog.path]
    assert epochs[0] == 0 and epochs[-1] == 4
    _last, a, b = dialog.path[-1]
    assert (a, b) == (pytest.approx(0, abs=1e-6), pytest.approx(0, abs=1e-6))
    # The default slice is the plane the run moved in: its start lies well inside the map.
    assert dialog.mode.currentText() == PATH and "path direction 1" in result.labels[0]
    _first, a, b = dialog.path[0]
    assert 0.5 * result.x[-1] < max(abs(a), abs(b)) <= result.x[-1]
    assert "path from epoch 0 to 4" in dialog.caption.text()
    for name, value in window.model.parameters().items():  # the window's model is untouched
        np.testing.assert_array_equal(value, before[name])


def test_two_named_weights_and_a_bad_name(qtbot, window):
    dialog = window.landscape.open()
    qtbot.addWidget(dialog)
    dialog.mode.setCurrentText(WEIGHTS)
    dialog.weight_a.setText("0.W[9,0]")
    dialog.compute_button.click()
    assert "outside" in dialog.caption.text() and dialog.result is None
    dialog.weight_a.setText("0.W[1,0]")
    dialog.steps.setValue(3)
    dialog.compute_button.click()
    assert dialog.wait()
    qtbot.waitUntil(lambda: dialog.result is not None, timeout=10_000)
    assert dialog.result.labels == ("0.W[1,0]", "0.W[0,1]")


def test_another_optimizers_run_is_drawn_on_the_same_slice(qtbot, window):
    window.hyperparameters.optimizer_box.setCurrentIndex(
        window.hyperparameters.optimizer_box.findData("sgd")
    )
    _train(qtbot, window, 3)
    window.actionReset.trigger()  # a fresh run from the same seeded start
    window.hyperparameters.optimizer_box.setCurrentIndex(
        window.hyperparameters.optimizer_box.findData("adam")
    )
    _train(qtbot, window, 3)
    dialog = window.landscape.open()
    qtbot.addWidget(dialog)
    ((label, _path),) = dialog.other_runs
    assert label.startswith("Run 1 (sgd")
    dialog.steps.setValue(3)
    dialog.compute_button.click()
    assert dialog.wait()
    qtbot.waitUntil(lambda: dialog.result is not None, timeout=10_000)
    ((_label, other),) = dialog.other_paths
    # Both runs start from the same weights: their paths start at the same point.
    assert other[0][1:] == pytest.approx(dialog.path[0][1:], abs=1e-4)
    assert "Dashed: the paths of Run 1 (sgd" in dialog.caption.text()


def test_the_default_grid_is_what_the_model_affords(qtbot, window, monkeypatch):
    from nnstudio.ui.panels import landscape_dialog

    dialog = window.landscape.open()
    qtbot.addWidget(dialog)
    assert dialog.steps.value() == 21  # a small network: the finest default grid
    slow = landscape_dialog.mean_loss

    def slow_loss(*args):  # as a CNN on MNIST: 0.1 s over the dialog's samples
        import time

        time.sleep(0.1 * len(args[2]) / len(dialog.x))
        return slow(*args)

    monkeypatch.setattr(landscape_dialog, "mean_loss", slow_loss)
    steps = dialog._affordable_steps()
    assert steps % 2 == 1 and 5 <= steps <= 9  # about 8 s at 0.1 s a point


def test_the_dialogs_open_no_larger_than_the_screen(qtbot, window):
    window.hyperparameters.epochs_box.setValue(2)
    dialog = window.landscape.open()
    qtbot.addWidget(dialog)
    room = dialog.screen().availableGeometry()
    assert dialog.width() <= room.width() and dialog.height() <= room.height()
    activations = window.activations.open()
    qtbot.addWidget(activations)
    assert activations.height() <= room.height()
