"""One project at a time (issue 31): New, Open, a preset, a lesson's set-up and a dropped file
replace the whole document; nothing of the previous project's runs, curves, overlays, health
rows, timeline, captions, histograms, evaluation or Draw choices is left behind."""

from __future__ import annotations

import pytest

WAITING_CAPTION = "Press Train (Space) to start."


def _train(qtbot, window, epochs=1):
    window.hyperparameters.epochs_box.setValue(epochs)
    with qtbot.waitSignal(window.training_finished, timeout=30_000):
        window.actionTrain.trigger()
        # A press that started nothing would wait out the timeout: fail here, saying why.
        started = window.training.session is not None or window.training._train_when_ready
        assert started, (window.actionTrain.isEnabled(), window.document.run_state)


@pytest.fixture
def used(qtbot, window):
    """A first-launch window with two runs (one ticked as an overlay) and an evaluation."""
    window.show()
    window.tabs.setCurrentWidget(window.training_tab)
    _train(qtbot, window)
    window.actionReset.trigger()
    _train(qtbot, window)
    window.runs_panel.set_checked(window.document.runs[0], True)
    window.tabs.setCurrentWidget(window.evaluation)
    qtbot.waitUntil(lambda: window.evaluation.report() is not None, timeout=20_000)
    window.tabs.setCurrentWidget(window.training_tab)
    assert window.training_tab.plots._overlay_items and window.training_tab.plots.epochs
    return window


def assert_empty_slate(window):
    """The document has no runs and every view shows its empty state."""
    document, tab = window.document, window.training_tab
    assert document.runs == [] and document.current_run is None
    assert document.resumable_run is None
    assert window.runs_panel.runs == [] and window.runs_panel.table.rowCount() == 0
    assert tab.plots.epochs == [] and tab.plots.batch_x == []
    assert tab.plots._overlay_items == []
    assert tab.caption.text() == WAITING_CAPTION
    assert tab.health.table.rowCount() == 0 and tab.health.warning_rows == []
    assert tab.timeline.slider.epochs == []
    assert tab.timeline.position.text() == "no epochs yet"
    assert all(not len(curve.yData or []) for curve in tab.histograms.curves.values())
    assert window.evaluation.report() is None
    assert window.status.epoch_label.text().startswith("Epoch 0 /")


def test_new_after_a_trained_project_starts_from_an_empty_slate(qtbot, used, ready):
    used.actionNew.trigger()
    ready(used)
    assert_empty_slate(used)
    assert not used.document.is_modified()
    # The next run of the new project is its Run 1, not Run 3.
    _train(qtbot, used)
    assert [run.number for run in used.document.runs] == [1]


def test_the_empty_slate_shows_before_the_new_dataset_has_loaded(used):
    used.files.new_project()  # the dataset loads on a worker thread: not waited for here
    assert_empty_slate(used)


def test_a_preset_replaces_the_runs_too(used, ready):
    used.files.new_from_preset("2d-classifier")
    ready(used)
    assert_empty_slate(used)


def test_opening_a_project_without_runs_drops_the_old_ones(used, tmp_path, ready):
    from nnstudio.project import load_preset, save_project

    path = tmp_path / "plain.nnsproj"
    save_project(load_preset("spiral-mlp"), path)
    assert used.open_project(path)
    ready(used)
    assert_empty_slate(used)


def test_a_dropped_project_replaces_the_runs(used, tmp_path, ready):
    from nnstudio.project import load_preset, save_project

    path = tmp_path / "dropped.nnsproj"
    save_project(load_preset("spiral-mlp"), path)
    used.files.open_dropped(path)  # what the window's dropEvent calls
    ready(used)
    assert_empty_slate(used)


def test_runs_of_another_project_come_only_when_added_on_purpose(qtbot, used, tmp_path, ready):
    path = tmp_path / "trained.nnsproj"
    assert used.files.write_project(path)
    used.actionNew.trigger()
    ready(used)
    assert_empty_slate(used)
    action = used.runs_panel.import_action  # the Training menu and the table's context menu
    assert action in used.training_menu.actions() and action in used.runs_panel.table.actions()
    assert used.files.import_runs(path)
    labels = [run.label for run in used.document.runs]
    assert labels == ["Run 1 (trained.nnsproj)", "Run 2 (trained.nnsproj)"]
    assert used.runs_panel.table.rowCount() == 2
    assert used.runs_panel.table.item(0, 0).text() == "Run 1 (trained.nnsproj)"
    _train(qtbot, used)
    assert used.current_run.label == "Run 3"
