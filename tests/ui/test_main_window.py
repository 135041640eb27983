"""The main window: training through its own actions, pause/resume/stop/step, closing while
training, the NaN path, project and settings round-trips, runs and autosave."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QCoreApplication, QSettings, QSize
from PySide6.QtWidgets import QDockWidget

from nnstudio.project import load_project


def train_and_wait(qtbot, window, timeout=20_000):
    with qtbot.waitSignal(window.training_finished, timeout=timeout) as blocker:
        window.actionTrain.trigger()
    return blocker.args[0]


def batches_seen(window):
    return len(window.training_tab.plots.batch_x)


def test_first_launch_is_ready_to_train(make_window):
    window = make_window()
    assert window.dataset is not None and window.dataset.name == "spiral"
    assert window.model is not None
    assert window.actionTrain.isEnabled() and window.state == "idle"
    for name in ("actionTrain", "actionPause", "actionStep", "actionReset"):
        assert window.findChild(type(window.actionTrain), name) is not None
    # The Training tab's page is made when the tab first opens (the window opens sooner).
    assert window.built_page("training") is None
    window.findChild(type(window.actionTrain), "actionShowTrainingTab").trigger()
    assert window.built_page("training") is window.tabs.currentWidget() is window.training_tab
    for name in ("lossPlot", "accuracyPlot", "decisionBoundary"):
        assert window.findChild(object, name) is not None, name
    assert "nnstudio" in window.windowTitle() and not window.isWindowModified()
    assert {d.objectName() for d in window.findChildren(QDockWidget)} >= {
        "dataDock",
        "hyperparametersDock",
        "runsDock",
    }


def test_train_through_the_window_actions(qtbot, window):
    result = train_and_wait(qtbot, window)
    assert result["stopped_reason"] == "completed"
    assert window.state == "idle" and window.session is None
    run = window.current_run
    assert len(run.history) == 8 and run.status == "completed"
    assert window.runs_panel.runs == [run]
    curve = window.training_tab.plots.train_loss
    qtbot.waitUntil(lambda: curve.getData()[0] is not None and len(curve.getData()[0]) == 8)
    assert window.isWindowModified()  # trained weights are unsaved work
    assert window.status.epoch_label.text() == "Epoch 8 / 8"


def test_train_again_continues_the_same_run(qtbot, window):
    train_and_wait(qtbot, window)
    train_and_wait(qtbot, window)
    assert [e["epoch"] for e in window.current_run.history] == list(range(1, 17))
    assert len(window.runs_panel.runs) == 1


def test_reset_weights_starts_a_new_run(qtbot, window):
    train_and_wait(qtbot, window)
    first = window.model.parameters()["0.W"].copy()
    window.actionReset.trigger()
    assert window.current_run is None
    assert not np.allclose(window.model.parameters()["0.W"], first)
    train_and_wait(qtbot, window)
    assert [r.number for r in window.runs_panel.runs] == [1, 2]


def test_pause_resume_step_and_stop(qtbot, window, settled_while_parked):
    window.hyperparameters.epochs_box.setValue(5000)
    window.hyperparameters.batch_size_box.setValue(4)
    window.actionTrain.trigger()
    qtbot.waitUntil(lambda: batches_seen(window) > 0, timeout=10_000)
    assert window.actionPause.isVisible() or not window.actionTrain.isVisible()
    window.actionPause.trigger()
    assert window.state == "paused" and window.session.paused
    settled_while_parked(window.session)
    seen = batches_seen(window)
    QCoreApplication.processEvents()
    assert batches_seen(window) == seen and window.session.control.parked
    window.actionStep.trigger()
    qtbot.waitUntil(lambda: batches_seen(window) == seen + 1, timeout=5000)
    window.actionTrain.trigger()  # resume
    assert window.state == "training"
    qtbot.waitUntil(lambda: batches_seen(window) > seen + 5, timeout=5000)
    with qtbot.waitSignal(window.training_finished, timeout=10_000) as blocker:
        window.actionStop.trigger()
    assert blocker.args[0]["stopped_reason"] == "stopped"
    assert window.state == "idle" and window.current_run.status == "stopped"


def test_step_from_idle_trains_one_batch(qtbot, window, settled_while_parked):
    window.actionStep.trigger()
    assert window.state == "paused"
    qtbot.waitUntil(lambda: batches_seen(window) == 1, timeout=5000)
    settled_while_parked(window.session)  # paused again after its one batch
    assert batches_seen(window) == 1


def test_closing_while_training_stops_cleanly(qtbot, window):
    window.hyperparameters.epochs_box.setValue(100_000)
    window.show()
    window.actionTrain.trigger()
    qtbot.waitUntil(lambda: batches_seen(window) > 0, timeout=10_000)
    session = window.session
    assert window.close()
    assert window.session is None
    assert not session._thread.isRunning()


def test_nan_loss_stops_with_advice_and_keeps_good_weights(qtbot, window):
    hp = window.hyperparameters
    hp.optimizer_box.setCurrentIndex(hp.optimizer_box.findData("sgd"))
    hp.learning_rate_box.setValue(1e6)
    window.show()
    result = train_and_wait(qtbot, window)
    assert result["stopped_reason"] == "nan"
    assert window.state == "idle"  # the run is over: nothing to resume or stop
    assert window.message_bar.isVisible()
    assert "learning rate" in window.message_bar.text()
    assert all(np.isfinite(v).all() for v in window.model.parameters().values())
    assert window.current_run.status == "nan"


def test_learning_rate_change_reaches_the_running_session(qtbot, window, monkeypatch):
    window.hyperparameters.epochs_box.setValue(100_000)
    window.actionTrain.trigger()
    qtbot.waitUntil(lambda: batches_seen(window) > 0, timeout=10_000)
    window.toolbar_lr.setValue(0.0005)
    qtbot.waitUntil(lambda: window.training.last_batch.get("lr") == 0.0005, timeout=5000)
    window.actionStop.trigger()


def test_project_round_trip_with_weights(qtbot, window, make_window, tmp_path, ready):
    window.hyperparameters.batch_size_box.setValue(16)
    train_and_wait(qtbot, window)
    path = tmp_path / "demo.nnsproj"
    assert window.files.write_project(path)
    assert not window.isWindowModified() and "demo" in window.windowTitle()
    saved = load_project(path)
    assert saved.training.batch_size == 16 and saved.weights == "demo.nnz"
    other = make_window()
    assert other.open_project(path)
    ready(other)
    assert other.hyperparameters.settings() == window.hyperparameters.settings()
    assert other.document.path == path
    for name, value in window.model.parameters().items():
        np.testing.assert_array_equal(other.model.parameters()[name], value)
    assert not other.isWindowModified()
    assert str(path.resolve()) in other.files.recent_files


def test_opening_a_broken_project_shows_a_message(window, tmp_path):
    path = tmp_path / "broken.nnsproj"
    path.write_text("{ not json")
    window.show()
    assert not window.open_project(path)
    assert window.message_bar.isVisible() and "JSON" in window.message_bar.text()


def test_settings_round_trip(make_window, tmp_path):
    first = make_window()
    # A size other than the first-launch one that the window may take (its minimum grows
    # with the docks), so restoring it shows that the geometry came back.
    # (The width stays at the minimum: the offscreen screen is hardly wider.)
    size = first.minimumSizeHint().expandedTo(QSize(765, 555)) + QSize(0, 17)
    first.resize(size)
    first.runs_dock.hide()
    first.tabs.setCurrentIndex(1)
    first.files.add_recent(tmp_path / "a.nnsproj")
    first.files.save_settings()
    assert QSettings().value("window/tab", type=int) == 1
    second = make_window()
    assert second.size() == size
    assert second.runs_dock.isHidden()
    assert second.tabs.currentIndex() == 1
    assert second.files.recent_files == [str((tmp_path / "a.nnsproj").resolve())]
    assert second.recent_menu.actions()[0].toolTip().endswith("a.nnsproj")


def test_close_asks_to_save_and_cancel_keeps_the_window(qtbot, window, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    train_and_wait(qtbot, window)
    asked = []

    def cancel(self):
        asked.append(True)
        return QMessageBox.StandardButton.Cancel

    monkeypatch.setattr(type(window.files), "ask_save_changes", cancel)
    window.show()
    assert not window.close()
    assert asked and window.isVisible()


def test_autosave_and_restore(qtbot, window, make_window, isolated_settings, ready):
    from nnstudio.project.autosave import Autosave

    train_and_wait(qtbot, window)  # autosaves when the run ends
    assert window.files.autosave.path.exists() and window.files.autosave.weights_path.exists()
    # What a crashed process leaves behind: the same files under a pid that is gone.
    crashed = Autosave(window.files.autosave.folder, pid=2**22 + 7)
    crashed.save(window.document.to_project(), save_weights=window.files.save_weights)
    other = make_window()
    assert crashed.path in other.files.autosave.leftovers()
    other.files.restore_autosave(crashed.path)
    ready(other)
    assert other.document.path is None and other.isWindowModified()
    for name, value in window.model.parameters().items():
        np.testing.assert_array_equal(other.model.parameters()[name], value)


def test_runs_can_be_overlaid_and_compared(qtbot, window):
    from nnstudio.ui.panels.runs import CompareDialog

    train_and_wait(qtbot, window)
    window.actionReset.trigger()
    window.hyperparameters.batch_size_box.setValue(64)
    train_and_wait(qtbot, window)
    first, second = window.runs_panel.runs
    window.runs_panel.set_checked(first, True)
    assert len(window.training_tab.plots._overlay_items) >= 2
    dialog = CompareDialog([first, second])
    assert "batch_size" in dialog.differing and "optimizer" not in dialog.differing
    # Rows in words, not the project file's keys.
    labels = [dialog.table.verticalHeaderItem(r).text() for r in range(dialog.table.rowCount())]
    assert "Batch size" in labels and "Learning rate" in labels
    assert not [label for label in labels if "_" in label], labels


def test_every_control_has_a_tooltip(window):
    from PySide6.QtWidgets import QAbstractSpinBox, QCheckBox, QComboBox

    for kind in (QAbstractSpinBox, QComboBox, QCheckBox):
        for widget in window.hyperparameters.findChildren(kind):
            if widget.parent() is not None and widget.objectName() != "qt_spinbox_lineedit":
                assert widget.toolTip(), widget.objectName()
    for action in window.actions():
        assert action.toolTip(), action.objectName()


def test_space_starts_and_pauses_training(qtbot, window):
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    window.hyperparameters.epochs_box.setValue(100_000)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    # Shortcuts only reach the active window (offscreen activation takes an event cycle).
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)
    window.tabs.setFocus()
    qtbot.keyClick(window.tabs, Qt.Key.Key_Space)
    assert window.state == "training"
    qtbot.waitUntil(lambda: batches_seen(window) > 0, timeout=10_000)
    qtbot.keyClick(window.tabs, Qt.Key.Key_Space)
    assert window.state == "paused"


def test_regression_on_2d_input_draws_the_predicted_surface(qtbot, make_window, tmp_path, ready):
    import json

    project = {
        "format": "nnstudio-project",
        "version": 1,
        "name": "plane",
        "dataset": {"name": "plane", "options": {"samples": 200}},
        "model": {
            "layers": [
                {"type": "Dense", "units": 8, "activation": "tanh"},
                {"type": "Dense", "units": 1},
            ]
        },
        "training": {"loss": "mse", "optimizer": "adam", "learning_rate": 0.01, "epochs": 3},
    }
    path = tmp_path / "plane.nnsproj"
    path.write_text(json.dumps(project))
    window = make_window(load_default=False)
    assert window.open_project(path)
    ready(window, "plane")
    window.show()
    window.tabs.setCurrentWidget(window.training_tab)
    assert window.dataset.task == "regression"
    train_and_wait(qtbot, window)
    boundary = window.training_tab.boundary
    qtbot.waitUntil(lambda: boundary.frames > 0, timeout=5000)
    assert boundary.color_bar is not None  # a surface with a colour scale, not class colours
    assert window.current_run.history[-1]["accuracy"] is None


def test_status_shows_the_last_finished_epoch_and_how_far_into_the_next(qtbot, window):
    """The number is the epoch the Layer health dock and the timeline show (the last one
    finished); the bar moves batch by batch within the next one."""
    window.hyperparameters.epochs_box.setValue(3)
    window.hyperparameters.batch_size_box.setValue(4)  # many batches per epoch
    window.actionStep.trigger()  # one batch of epoch 1, then paused
    qtbot.waitUntil(lambda: batches_seen(window) == 1, timeout=5000)
    qtbot.waitUntil(lambda: window.training.last_batch.get("batch") == 1, timeout=5000)
    window.status.refresh()
    assert window.status.status_epoch.text() == "Epoch 0 of 3"  # in epoch 1, none finished
    assert window.status.epoch_label.text() == "Epoch 0 / 3"
    batches = window.training.last_batch["batches"]
    assert 0 < window.status.epoch_progress.value() == round(100 / batches)
    assert window.status.epoch_progress.maximum() == 300
    with qtbot.waitSignal(window.training_finished, timeout=20_000):
        window.actionTrain.trigger()
    window.status.refresh()
    assert window.status.status_epoch.text() == "Epoch 3 of 3"
    assert window.status.epoch_progress.value() == window.status.epoch_progress.maximum()


def test_opening_a_project_does_not_judge_its_layers_by_the_old_dataset(
    qtbot, window, tmp_path, ready
):
    """A CNN project opened over the spiral: until its images arrive, the layers would not fit
    the spiral's 2 features. That mix never exists, so it must not be reported."""
    from nnstudio.project import load_preset, save_project

    rng = np.random.default_rng(0)
    images = tmp_path / "images.npz"
    np.savez(images, X=rng.random((60, 1, 28, 28), dtype=np.float32), y=np.arange(60) % 10)
    project = load_preset("mnist-cnn")
    project.dataset = type(project.dataset)(f"npz:{images}", {})
    path = save_project(project, tmp_path / "cnn.nnsproj")
    window.show()
    messages = []
    window.statusBar().messageChanged.connect(messages.append)
    assert window.open_project(path)
    ready(window)
    assert window.model is not None and window.actionTrain.isEnabled()
    assert not [m for m in messages if "Conv2D" in m], messages


def test_a_layer_problem_leaves_the_status_bar_once_it_is_fixed(window):
    window.show()
    good = window.builder.config()
    bad = {**good, "layers": [{"type": "Conv2D", "filters": 4, "kernel_size": 3}]}
    window.builder.set_config(bad)
    assert "Conv2D" in window.statusBar().currentMessage()
    assert not window.actionTrain.isEnabled()
    window.builder.set_config(good)
    assert window.actionTrain.isEnabled()
    assert window.statusBar().currentMessage() == ""


@pytest.fixture
def app_look(qapp):
    """The application's own style sheet, palette and fonts (sizes depend on them), restored
    afterwards for the other tests."""
    import pyqtgraph as pg

    from nnstudio.ui.style import apply_style

    saved = (qapp.style().name(), qapp.palette(), qapp.styleSheet())
    saved_pg = {key: pg.getConfigOption(key) for key in ("antialias", "background", "foreground")}
    apply_style(qapp)
    yield
    qapp.setStyleSheet(saved[2])
    qapp.setPalette(saved[1])
    qapp.setStyle(saved[0])
    pg.setConfigOptions(**saved_pg)


def test_the_window_fits_a_1366_by_768_laptop_screen(make_window, app_look):
    """Docks, tabs and toolbar together must not demand more than such a screen has left
    after its task bar and the window's title bar."""
    window = make_window()
    for index in range(window.tabs.count()):
        window.tabs.setCurrentIndex(index)  # each tab's own minimum counts
        hint = window.minimumSizeHint()
        assert hint.width() <= 1366 and hint.height() <= 700, (window.tabs.tabText(index), hint)
    # Nothing is hidden to get there: the toolbar needs no overflow menu for its progress bar
    # (the first-launch width on such a screen is 95 % of it), and the scrolling Data dock
    # is as wide as its fields.
    assert window.toolbar.sizeHint().width() <= int(1366 * 0.95)
    scroll = window.data_dock.widget()
    assert scroll.minimumSizeHint().width() > window.data_panel.minimumSizeHint().width()
