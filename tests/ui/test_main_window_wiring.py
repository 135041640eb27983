"""Window wiring: Train's tooltip says why it is disabled, the Draw tab gets the dataset's
scaling and only takes over for trained weights, files dropped on the window open, and the
Evaluate tab's button evaluates the window's current model."""

from __future__ import annotations

import json

import numpy as np
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

BAD_CONFIG = {
    "layers": [
        {"type": "Conv2D", "filters": 4, "kernel_size": 3},
        {"type": "Dense", "units": 3},
    ]
}


def drop_file(window, path) -> bool:
    """Drag ``path`` onto the window and drop it, as a file manager would."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    action = Qt.DropAction.CopyAction
    buttons, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(QPoint(50, 50), action, mime, buttons, mods)
    QApplication.sendEvent(window, enter)
    if not enter.isAccepted():
        return False
    drop = QDropEvent(QPointF(50, 50), action, mime, buttons, mods)
    QApplication.sendEvent(window, drop)
    return drop.isAccepted()


def digit_project(tmp_path, samples=60):
    """An .nnsproj on a tiny 28×28 image set (an .npz) with a Flatten + Dense model."""
    rng = np.random.default_rng(0)
    x = rng.random((samples, 1, 28, 28), dtype=np.float32)
    y = np.arange(samples) % 10
    np.savez(tmp_path / "digits.npz", X=x, y=y)
    project = {
        "format": "nnstudio-project",
        "version": 1,
        "name": "tiny-digits",
        "dataset": {"name": f"npz:{tmp_path / 'digits.npz'}", "options": {}},
        "model": {"layers": [{"type": "Flatten"}, {"type": "Dense", "units": 10}]},
        "training": {
            "loss": "softmax_crossentropy",
            "optimizer": "adam",
            "learning_rate": 0.01,
            "batch_size": 16,
            "epochs": 1,
        },
    }
    path = tmp_path / "tiny-digits.nnsproj"
    path.write_text(json.dumps(project))
    return path


def test_invalid_network_explains_itself_in_the_train_tooltip(qtbot, window):
    normal_train, normal_step = window.actionTrain.toolTip(), window.actionStep.toolTip()
    good = window.builder.config()
    with qtbot.waitSignal(window.builder.validity_changed, timeout=5000) as blocker:
        window.builder.set_config(BAD_CONFIG)
    valid, reason = blocker.args
    assert not valid and reason
    assert not window.actionTrain.isEnabled()
    assert window.actionTrain.toolTip() == reason
    assert window.actionStep.toolTip() == reason
    with qtbot.waitSignal(window.builder.validity_changed, timeout=5000) as blocker:
        window.builder.set_config(good)
    assert blocker.args[0]
    assert window.actionTrain.isEnabled()
    assert window.actionTrain.toolTip() == normal_train
    assert window.actionStep.toolTip() == normal_step


def test_draw_tab_lists_an_untrained_model_and_selects_a_trained_one(
    qtbot, make_window, tmp_path, ready
):
    from nnstudio.ui.draw.draw_panel import CURRENT

    window = make_window()
    assert drop_file(window, digit_project(tmp_path))
    ready(window, name=f"npz:{tmp_path / 'digits.npz'}")
    selector = window.draw.modelSelector
    currents = [i for i in range(selector.count()) if selector.itemData(i) == CURRENT]
    assert len(currents) == 1 and "not trained" in selector.itemText(currents[0])
    assert selector.currentData() != CURRENT  # fresh weights never replace the bundled model
    assert window.draw._current.scaling == window.dataset.scaling
    with qtbot.waitSignal(window.training_finished, timeout=20_000):
        window.actionTrain.trigger()
    assert selector.currentData() == CURRENT
    assert "not trained" not in selector.currentText()
    assert window.draw._current.scaling == window.dataset.scaling


def test_dropping_a_data_file_opens_it_in_the_data_panel(qtbot, window, tmp_path, ready):
    rng = np.random.default_rng(1)
    np.savez(tmp_path / "points.npz", X=rng.normal(size=(80, 2)), y=np.arange(80) % 3)
    name = f"npz:{tmp_path / 'points.npz'}"
    assert drop_file(window, tmp_path / "points.npz")
    ready(window, name=name)
    assert window.data_panel.spec()[0] == name
    assert window.document.path is None  # data, not a project


def test_dropping_a_project_opens_it(qtbot, make_window, tmp_path, ready):
    window = make_window()
    path = digit_project(tmp_path)
    assert drop_file(window, path)
    ready(window, name=f"npz:{tmp_path / 'digits.npz'}")
    assert window.document.path == path
    assert "tiny-digits" in window.windowTitle()


def test_evaluate_button_evaluates_the_current_model(qtbot, window):
    panel = window.evaluation
    with qtbot.waitSignal(window.training_finished, timeout=20_000):
        window.actionTrain.trigger()
    window.training.reset_weights()  # the current model is no longer the one the panel last saw
    with qtbot.waitSignal(panel.evaluated, timeout=20_000) as blocker:
        panel.evaluate_button.click()
    assert panel._model is not window.model  # a copy: training never touches it
    for name, weights in window.model.parameters().items():
        np.testing.assert_array_equal(panel._model.parameters()[name], weights)
    assert blocker.args[0]["accuracy"] == panel._result["report"]["accuracy"]


def test_closing_while_a_dataset_loads_waits_for_the_loading_thread(
    qtbot, make_window, monkeypatch
):
    import threading
    import time

    from nnstudio.ui.panels import data_panel as data_panel_module

    real_load = data_panel_module.data.load_dataset
    started, finished = threading.Event(), threading.Event()

    def slow_load(name, **options):
        started.set()
        time.sleep(0.5)  # a big file or MNIST being read
        dataset = real_load(name, **options)
        finished.set()
        return dataset

    window = make_window()
    monkeypatch.setattr(data_panel_module.data, "load_dataset", slow_load)
    window.data_panel.set_spec("moons", {"samples": 200})
    assert started.wait(10)
    assert window.close()
    # close() returned only after the loading thread was done: nothing left running.
    assert finished.is_set()
    assert window.data_panel._loader.pool.activeThreadCount() == 0


def test_the_title_star_follows_the_document(make_window):
    window = make_window()
    planned = window.hyperparameters.epochs_box.value()
    assert not window.isWindowModified() and not window.document.is_modified()
    window.hyperparameters.epochs_box.setValue(planned + 1)
    assert window.document.training.epochs == planned + 1
    assert window.isWindowModified()
    window.hyperparameters.epochs_box.setValue(planned)  # back to what was opened
    assert not window.isWindowModified()


def test_regularization_in_the_dock_is_an_undoable_edit_of_the_layers(window):
    window.hyperparameters.l2_box.setValue(0.001)
    dense = [layer for layer in window.document.model["layers"] if layer["type"] == "Dense"]
    assert dense and all(layer["l2"] == 0.001 for layer in dense)
    window.builder.undo_action.trigger()
    assert window.hyperparameters.regularization()[1] == 0.0  # the dock follows the layers
    assert all(layer["l2"] == 0.0 for layer in window.document.model["layers"])


def test_a_builder_preset_brings_its_dataset_and_training_settings(make_window, ready):
    window = make_window()
    window.builder.load_preset("xor-net")
    ready(window, "xor")
    assert window.document.dataset.name == "xor"
    assert window.hyperparameters.settings()["learning_rate"] == 0.03
    assert window.document.training.epochs == 60
    assert window.model is not None and window.actionTrain.isEnabled()


def _user_preset(training: dict) -> None:
    """A preset of the user's, as written by hand into their presets folder."""
    from nnstudio.project import presets

    layers = [{"type": "Dense", "units": 16, "activation": "tanh"}, {"type": "Dense", "units": 3}]
    folder = presets.user_presets_dir()
    folder.mkdir(parents=True, exist_ok=True)
    preset = {
        "format": "nnstudio-project",
        "version": 1,
        "name": "Mine",
        "model": {"layers": layers},
        "training": training,
        "dataset": {"name": "spiral", "options": {"samples": 300}},
    }
    (folder / "mine.nnsproj").write_text(json.dumps(preset))


def test_a_users_preset_sets_the_document_and_the_dock_follows_it(make_window, ready):
    window = make_window()
    _user_preset({"optimizer": "adam", "learning_rate": 0.004, "batch_size": 16, "epochs": 7})
    window.builder.load_preset("mine")
    ready(window, "spiral")
    training = window.document.training
    assert (training.optimizer, training.learning_rate, training.epochs) == ("adam", 0.004, 7)
    assert training.batch_size == 16 and window.document.dataset.options["samples"] == 300
    shown = window.hyperparameters.settings()
    assert (shown["optimizer"], shown["learning_rate"], shown["batch_size"]) == ("adam", 0.004, 16)
    assert window.toolbar_batch.value() == 16 and window.document.name == "Mine"


def test_a_users_preset_with_a_setting_out_of_range_is_refused_in_words(make_window):
    window = make_window()
    before = vars(window.document.training).copy()
    _user_preset({"batch_size": 0, "epochs": 7})
    window.builder.load_preset("mine")
    text = window.message_bar.text()
    assert "preset 'mine': training.batch_size must be >= 1 and <= 65536; got 0" in text
    assert "Try 32. Its layers are loaded; the training settings and dataset stay as" in text
    assert vars(window.document.training) == before  # as a project file with it would be
    assert window.hyperparameters.settings()["epochs"] == before["epochs"]
    assert [layer["units"] for layer in window.document.model["layers"]] == [16, 3]


def test_clearing_finished_runs_keeps_the_current_one(qtbot, window):
    for _ in range(2):
        with qtbot.waitSignal(window.training_finished, timeout=20_000):
            window.actionTrain.trigger()
        window.actionReset.trigger()  # the next Train is a new run
    with qtbot.waitSignal(window.training_finished, timeout=20_000):
        window.actionTrain.trigger()
    first, second, third = window.runs_panel.runs
    window.runs_panel.set_checked(second, True)
    assert window.training_tab.plots._overlay_items
    window.runs_panel.clear_button.click()
    assert window.runs_panel.runs == window.document.runs == [third]
    assert window.runs_panel.table.rowCount() == 1
    assert not window.training_tab.plots._overlay_items  # the ticked run is gone


def test_a_view_that_fails_at_the_end_of_a_run_leaves_the_window_idle(qtbot, window):
    """The run's end reaches the document, the buttons and whatever waits for it even when a
    view fails to draw it (else the window believed it still trained, and waited)."""
    from nnstudio.project.document import RunState

    def broken():
        raise RuntimeError("a plot failed to draw")

    window.hyperparameters.epochs_box.setValue(1)
    window.training.tab.plots.redraw_all = broken
    finished = qtbot.waitSignal(window.training_finished, timeout=30_000)
    with qtbot.capture_exceptions() as raised, finished:
        window.actionTrain.trigger()
    assert {str(error) for _, error, _ in raised} == {"a plot failed to draw"}
    assert window.document.run_state == RunState.IDLE and window.training.session is None
    assert window.document.runs[0].history and window.actionTrain.isVisible()
