"""The training doctor in the window: the health panel fed by real runs, warnings with their
one-click fixes (undoable builder edits, the Hyperparameters dock), and the LR finder dialog."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from tests.ui.conftest import wait_until_ready

SIGMOID_8 = [{"type": "Dense", "units": 32, "activation": "sigmoid"}] * 8


def train_to_the_end(qtbot, window, timeout=30_000) -> dict:
    with qtbot.waitSignal(window.training_finished, timeout=timeout) as blocker:
        window.training.train()
    qtbot.waitUntil(lambda: window.training.session is None, timeout=10_000)
    return blocker.args[0]


def output_layer(window) -> dict:
    return {"type": "Dense", "units": window.dataset.n_classes}


def fix_button(panel, kind: str, action: str):
    row = next(r for r in panel.warning_rows if r.warning["kind"] == kind)
    return row.buttons[action]


def test_the_health_panel_shows_a_row_a_layer_after_a_run(qtbot, window):
    window.hyperparameters.epochs_box.setValue(3)
    result = train_to_the_end(qtbot, window)
    assert result["stopped_reason"] == "completed"
    panel = window.training_tab.health
    assert panel.objectName() == "healthPanel"
    health = window.current_run.history[-1]["health"]
    assert panel.table.rowCount() == len(health) > 0
    assert panel.table.item(0, 0).text().startswith(next(iter(health)))
    assert "epoch 3" in panel.title.text()
    assert window.health_dock.widget() is panel  # in its own dock, beside Runs
    # The step-size column is coloured: green for a healthy ratio near 1e-3.
    assert panel.table.item(0, 4).background().color().name() == "#dcfce7"
    assert panel.warning_rows == []  # the first-launch network is healthy


def test_a_deep_sigmoid_network_is_told_to_switch_to_relu(qtbot, window):
    window.builder.replace_layers([*SIGMOID_8, output_layer(window)], "Deep sigmoid")
    window.hyperparameters.epochs_box.setValue(2)
    assert window.health_dock in window.tabifiedDockWidgets(window.runs_dock)
    window.show()
    qtbot.waitExposed(window)
    window.runs_dock.raise_()
    assert window.health_dock.visibleRegion().isEmpty()
    train_to_the_end(qtbot, window)
    panel = window.training_tab.health
    # The new trouble brought the Layer health dock in front of the Runs dock.
    qtbot.waitUntil(lambda: not window.health_dock.visibleRegion().isEmpty(), timeout=5_000)
    assert window.runs_dock.visibleRegion().isEmpty()
    row = next(r for r in panel.warning_rows if r.warning["kind"] == "vanishing_gradient")
    assert "ReLU or BatchNorm" in row.warning["fix"]
    qtbot.mouseClick(row.buttons["switch_to_relu"], Qt.MouseButton.LeftButton)
    layers = window.builder.config()["layers"]
    assert [layer.get("activation") for layer in layers[:8]] == ["relu"] * 8
    window.builder.undo_stack.undo()  # one undoable step
    assert window.builder.config()["layers"][0]["activation"] == "sigmoid"


def test_a_nan_blow_up_resets_the_weights_and_lowers_the_rate_in_one_click(qtbot, window):
    dock = window.hyperparameters
    dock.optimizer_box.setCurrentIndex(dock.optimizer_box.findData("sgd"))
    dock.learning_rate_box.setValue(50.0)
    result = train_to_the_end(qtbot, window)
    assert result["stopped_reason"] == "nan"
    panel = window.training_tab.health
    button = fix_button(panel, "nan", "reset_and_lower_lr")
    assert "learning rate is too high" in panel.warning_rows[0].warning["message"]
    assert button.text() == "Reset weights and use rate 0.01"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert dock.learning_rate_box.value() == 0.01
    assert window.document.training.learning_rate == 0.01
    assert "Weights reset: press Train for a fresh run" in window.message_bar.text()
    run = window.current_run  # Train starts a fresh run from epoch 1
    assert run is None or run.history == []
    assert panel.warning_rows == []


def test_an_adam_blow_up_is_fixed_in_one_click_and_the_next_run_recovers(qtbot, window):
    """Provoke (Adam at 10 on the circle), fix, train: the doctor is quiet and the run learns."""
    window.builder.load_preset("2d-classifier")  # two classes: valid once the circle is in
    window.data_panel.set_spec("circle", {"samples": 500, "noise": 0.1})
    wait_until_ready(qtbot, window, "circle")
    dock = window.hyperparameters
    dock.optimizer_box.setCurrentIndex(dock.optimizer_box.findData("adam"))
    dock.learning_rate_box.setValue(10.0)
    dock.epochs_box.setValue(3)
    train_to_the_end(qtbot, window)
    panel = window.training_tab.health
    (row,) = panel.warning_rows
    assert row.warning["kind"] == "blow_up"
    assert row.explains.isVisibleTo(row)  # the dead units, folded under their cause
    qtbot.mouseClick(row.buttons["reset_and_lower_lr"], Qt.MouseButton.LeftButton)
    assert dock.learning_rate_box.value() == 0.001
    dock.epochs_box.setValue(25)
    train_to_the_end(qtbot, window)
    run = window.current_run
    assert run.history[0]["epoch"] == 1  # a fresh run, not the broken one continued
    assert run.history[-1]["warnings"] == []
    assert run.history[-1]["accuracy"] > 0.85


def test_a_zero_initialized_network_is_fixed_by_reinitializing(qtbot, window):
    layers = [
        {"type": "Dense", "units": 16, "activation": "relu", "initializer": "zeros"},
        {"type": "Dense", "units": 16, "activation": "relu", "initializer": "zeros"},
        {**output_layer(window), "initializer": "zeros"},
    ]
    window.builder.replace_layers(layers, "Zero start")
    window.hyperparameters.epochs_box.setValue(2)
    train_to_the_end(qtbot, window)
    panel = window.training_tab.health
    (row,) = panel.warning_rows
    assert row.warning["kind"] == "zero_init"
    button = row.buttons["reinitialize"]
    assert button.text() == "Reset weights with He initialization"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert [layer["initializer"] for layer in window.builder.config()["layers"]] == ["he"] * 3
    assert "Weights reset" in window.message_bar.text()
    window.hyperparameters.epochs_box.setValue(10)
    train_to_the_end(qtbot, window)
    assert window.current_run.history[-1]["warnings"] == []
    window.builder.undo_stack.undo()  # the initializers: one undoable step
    assert window.builder.config()["layers"][0]["initializer"] == "zeros"


def test_raise_the_rate_sets_ten_times_the_rate(qtbot, window):
    panel = window.training_tab.health
    window.hyperparameters.learning_rate_box.setValue(1e-6)
    warning = {"layer": None, "kind": "lr_too_low", "message": "m", "fix": "f"}
    warning.update(action="raise_lr", changes={"learning_rate": 1e-5}, more=[])
    panel.set_warnings([warning])
    button = fix_button(panel, "lr_too_low", "raise_lr")
    assert button.text() == "Raise the rate 10× (to 1e-5)"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert window.hyperparameters.learning_rate_box.value() == pytest.approx(1e-5)
    assert window.document.training.learning_rate == pytest.approx(1e-5)


def test_overfitting_fixes_add_dropout_and_early_stopping(qtbot, window):
    panel = window.training_tab.health
    warning = {"layer": None, "kind": "overfitting", "message": "m", "fix": "f"}
    panel.set_warnings([warning])
    qtbot.mouseClick(fix_button(panel, "overfitting", "add_dropout"), Qt.MouseButton.LeftButton)
    layers = window.builder.config()["layers"]
    assert layers[-2]["type"] == "Dropout" and layers[-1]["type"] == "Dense"
    assert window.training_tab.health.warning_rows == []  # a new model: a new run, new health
    panel.set_warnings([warning])
    qtbot.mouseClick(fix_button(panel, "overfitting", "early_stopping"), Qt.MouseButton.LeftButton)
    assert window.hyperparameters.early_box.isChecked()
    assert window.document.training.early_stopping == 10  # the catalog's patience


def test_dead_relus_switch_to_leaky_relu_and_halve_the_rate(qtbot, window):
    panel = window.training_tab.health
    rate = window.hyperparameters.learning_rate_box.value()
    panel.set_warnings([{"layer": "0 Dense", "kind": "dead_relu", "message": "m", "fix": "f"}])
    qtbot.mouseClick(fix_button(panel, "dead_relu", "halve_lr"), Qt.MouseButton.LeftButton)
    assert window.hyperparameters.learning_rate_box.value() == rate / 2
    panel.set_warnings([{"layer": "0 Dense", "kind": "dead_relu", "message": "m", "fix": "f"}])
    qtbot.mouseClick(
        fix_button(panel, "dead_relu", "switch_to_leaky_relu"), Qt.MouseButton.LeftButton
    )
    activations = {layer.get("activation") for layer in window.builder.config()["layers"]}
    assert "relu" not in activations and "leaky_relu" in activations


def test_the_lr_finder_dialog_plots_the_curve_and_uses_the_rate(qtbot, window):
    weights = {k: v.copy() for k, v in window.model.state_dict().items()}
    window.actionFindLearningRate.trigger()
    dialog = window.doctor.dialog
    assert dialog.objectName() == "lrFinderDialog"
    with qtbot.waitSignal(dialog.result_shown, timeout=30_000) as blocker:
        pass
    result = blocker.args[0]
    assert dialog.plot.getPlotItem().ctrl.logXCheck.isChecked()  # the rate axis is logarithmic
    x, y = dialog.curve.getData()
    assert len(x) == len(result.lrs) > 10
    assert dialog.marker.isVisible()
    marked = 10 ** dialog.marker.value()  # the axis is log10 of the rate
    assert abs(marked - result.suggested_lr) <= 1e-6 * result.suggested_lr
    assert "suggested learning rate" in dialog.message.text()
    qtbot.mouseClick(dialog.use_button, Qt.MouseButton.LeftButton)
    expected = float(f"{result.suggested_lr:.2g}")
    assert abs(window.hyperparameters.learning_rate_box.value() - expected) <= 1e-9 * expected
    assert window.document.training.learning_rate == pytest.approx(expected)
    for name, value in window.model.state_dict().items():  # the window's model is untouched
        assert (value == weights[name]).all(), name


def test_the_lr_finder_starts_from_fresh_weights_and_offers_the_current_ones(qtbot, window):
    """After a run the weights are trained: the default test still finds the rate for a new
    run; "from the current weights" finds no valley and offers no rate instead of 1e-7."""
    window.hyperparameters.epochs_box.setValue(60)
    train_to_the_end(qtbot, window)
    window.actionFindLearningRate.trigger()
    dialog = window.doctor.dialog
    with qtbot.waitSignal(dialog.result_shown, timeout=30_000) as blocker:
        pass
    fresh = blocker.args[0]
    assert not fresh.from_current and 1e-4 < fresh.suggested_lr < 1.0
    assert "From fresh weights" in dialog.message.text() and dialog.use_button.isEnabled()
    for side in ("bottom", "left"):  # plain numbers on the axes, no "(x0.001)"
        axis = dialog.plot.getAxis(side)
        assert axis.autoSIPrefixScale == 1.0 and "x0." not in axis.labelString()
    with qtbot.waitSignal(dialog.result_shown, timeout=30_000) as blocker:
        dialog.from_current_box.setChecked(True)
    current = blocker.args[0]
    assert current.from_current
    if current.suggested_lr is None:  # the trained spiral's loss has no valley left
        assert "no valley" in dialog.message.text()
        assert not dialog.use_button.isEnabled() and not dialog.marker.isVisible()
    else:
        assert current.suggested_lr > 1e-6


def test_the_lr_finder_waits_while_training_owns_the_model(qtbot, window):
    window.hyperparameters.epochs_box.setValue(500)
    window.training.train()
    window.actionFindLearningRate.trigger()
    assert window.doctor.dialog is None
    assert "Training owns the model" in window.message_bar.text()
    window.training.shutdown()


def test_a_dead_relu_warning_shows_the_layers_activation_with_its_batch(qtbot, window):
    panel = window.training_tab.health
    warning = {"layer": "1 Dense", "kind": "dead_relu", "message": "m", "fix": "f"}
    warning.update(action="switch_to_leaky_relu", changes={}, more=[])
    panel.set_warnings([warning])
    (row,) = panel.warning_rows
    show = row.findChild(QPushButton, "showActivation")
    assert show is not None and show.text() == "See the activation…"
    qtbot.mouseClick(show, Qt.MouseButton.LeftButton)
    dialog = window.activations.dialog
    qtbot.addWidget(dialog)
    assert dialog.layer_box.currentData() == 1 and dialog.view.layer == 1
    assert dialog.view.activation == "relu" and len(dialog.view.z) > 0
    assert f"{dialog.view.no_gradient:.0%} of them" in dialog.caption.text()
    lr_warning = {"layer": None, "kind": "lr_too_low", "message": "m", "fix": "f"}
    lr_warning.update(action="raise_lr", changes={"learning_rate": 1e-5}, more=[])
    panel.set_warnings([lr_warning])  # a warning about the rate: no activation to see
    assert panel.warning_rows[0].findChild(QPushButton, "showActivation") is None


def test_a_rate_a_fix_writes_into_the_document_reaches_the_dock_and_the_running_session(
    qtbot, window
):
    """Fixes write the document, not the dock's widgets: the dock follows its events, and a
    session that is training takes the new rate from the next batch (its run says so)."""
    window.hyperparameters.epochs_box.setValue(400)
    window.actionTrain.trigger()
    run = window.current_run
    qtbot.waitUntil(lambda: len(run.history) >= 1, timeout=30_000)
    window.doctor.apply_fix("halve_lr", {"action": "halve_lr", "changes": {"learning_rate": 0.002}})
    assert window.document.training.learning_rate == 0.002
    assert window.hyperparameters.learning_rate_box.value() == pytest.approx(0.002)
    assert run.settings["learning_rate"] == 0.002  # the session trains with it now
    with qtbot.waitSignal(window.training_finished, timeout=30_000):
        window.actionStop.trigger()
