"""The run timeline in the window (issue 19): scrub back to an epoch and see the network as
it was, come back to the current model, branch a new run from an epoch, keep it all in the
saved project."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt


def _train(qtbot, window, epochs):
    window.hyperparameters.epochs_box.setValue(epochs)
    with qtbot.waitSignal(window.training_finished, timeout=60_000):
        window.actionTrain.trigger()


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


@pytest.fixture
def trained(qtbot, window):
    """The first-launch spiral window after an 8-epoch run, on its Training tab."""
    window.show()
    window.tabs.setCurrentWidget(window.training_tab)
    _train(qtbot, window, 8)
    return window


def test_the_timeline_keeps_the_start_and_every_epoch(trained):
    run = trained.current_run
    assert run.timeline.epochs() == list(range(9))
    assert _same(run.timeline.get(8).weights, trained.model.state_dict())
    assert run.timeline.get(8).optimizer["iterations"] > 0  # with the optimizer's state
    slider = trained.findChild(type(trained.training_tab.timeline.slider), "timelineSlider")
    assert slider is trained.training_tab.timeline.slider
    assert (slider.minimum(), slider.maximum(), slider.value()) == (0, 8, 8)
    assert slider.isEnabled()


def test_epochs_trained_alike_share_one_copy_of_the_run_settings(trained):
    """Each exact epoch keeps the settings a replay from it trains with: a copy, never the
    run's own dict (a rate changed while training changes that in place), and one copy for
    all the epochs trained with the same settings rather than a copy an epoch."""
    run = trained.current_run
    stored = [run.timeline.get(epoch).settings for epoch in run.timeline.epochs()]
    stored = [settings for settings in stored if settings is not None]  # compact ones: none
    assert len(stored) > 2
    assert all(settings == run.settings and settings is not run.settings for settings in stored)
    assert len({id(settings) for settings in stored}) == 1
    rate = run.settings["learning_rate"]
    run.settings["learning_rate"] = rate * 2
    assert all(settings["learning_rate"] == rate for settings in stored)


def test_scrubbing_shows_the_stored_weights_and_the_end_the_current_ones(qtbot, trained):
    window, timeline = trained, trained.timeline
    tab, diagram = window.training_tab, window.builder.diagram
    stored = window.current_run.timeline.get(3).weights
    frames = tab.boundary.frames
    histogram = tab.histograms.curves[next(iter(tab.histograms.curves))]
    end_counts = np.array(histogram.yData, copy=True)

    tab.timeline.slider.setValue(3)
    assert timeline.scrubbed_epoch == 3
    assert _same(timeline.shown_weights, stored)
    assert tab.boundary.frames == frames + 1  # the boundary of epoch 3 was drawn (coarse)
    qtbot.waitUntil(lambda: tab.boundary.frames == frames + 2)  # then on the full grid
    assert tab.boundary.image.image.shape[:2] == (100, 100)
    assert not np.array_equal(histogram.yData, end_counts)  # the histograms of epoch 3
    assert all(line.isVisible() and line.value() == 3 for line in timeline.markers.lines)
    assert timeline.markers.dot_count() >= 4  # train and validation loss and accuracy, lr
    assert window.evaluation.evaluate_epoch_button.text() == "Evaluate epoch 3"
    assert "Epoch 3 of 8" in tab.timeline.position.text()
    assert window.actionBranchRun.text() == "Continue from epoch 3 as a new run"
    window.tabs.setCurrentWidget(window.builder)  # the diagram is drawn on its own tab
    assert _same(diagram.weights, stored)
    assert diagram.weights["0.W"] is not window.model.parameters()["0.W"]
    window.tabs.setCurrentWidget(window.training_tab)

    tab.timeline.slider.setValue(8)
    assert timeline.scrubbed_epoch is None
    window.tabs.setCurrentWidget(window.builder)
    assert _same(diagram.weights, window.model.parameters())
    assert np.array_equal(histogram.yData, end_counts)
    assert not any(line.isVisible() for line in timeline.markers.lines)
    assert window.evaluation.evaluate_epoch_button.isHidden()


def test_scrubbing_never_touches_the_model(trained):
    before = trained.model.state_dict()
    for epoch in (0, 2, 5, 1):
        trained.training_tab.timeline.slider.setValue(epoch)
    assert _same(trained.model.state_dict(), before)


def test_evaluate_the_model_of_an_epoch(qtbot, trained):
    window = trained
    window.training_tab.timeline.slider.setValue(2)
    window.tabs.setCurrentWidget(window.evaluation)
    window.evaluation.wait()
    button = window.evaluation.evaluate_epoch_button
    assert button.isVisible()
    with qtbot.waitSignal(window.evaluation.evaluated, timeout=30_000):
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert window.evaluation.summary.text().startswith("<b>Epoch 2</b>")
    evaluated = window.evaluation._model
    assert evaluated is not window.model
    assert _same(evaluated.parameters(), window.current_run.timeline.get(2).weights)


def test_the_slider_menu_offers_the_branch(trained):
    slider = trained.training_tab.timeline.slider
    assert trained.actionBranchRun in slider._context_actions
    assert trained.actionBranchRun in trained.training_menu.actions()


def test_branching_repeats_the_parent_run_exactly(qtbot, trained):
    window = trained
    parent = window.current_run
    parent_history = [dict(epoch) for epoch in parent.history]
    window.training_tab.timeline.slider.setValue(3)
    window.actionBranchRun.trigger()

    branch = window.current_run
    assert branch is not parent and branch.branched_from == {"run": 1, "epoch": 3}
    assert window.runs_panel.table.rowCount() == 2
    assert window.runs_panel.checked_runs() == [parent]  # the parent overlaid
    assert _same(window.model.state_dict(), parent.timeline.get(3).weights)
    plots = window.training_tab.plots
    assert [e["epoch"] for e in plots.epochs] == [3]  # its own curves start at epoch 3
    assert plots._overlay_items  # the parent's curves behind them

    _train(qtbot, window, 5)
    assert [e["epoch"] for e in branch.history] == list(range(1, 9))
    for before, after in zip(parent_history[3:], branch.history[3:], strict=True):
        assert after["loss"] == before["loss"]  # exactly: weights, moments and shuffles
        assert after["val_loss"] == before["val_loss"]
    assert parent.history == parent_history and len(parent.timeline) == 9  # untouched
    assert branch.timeline.epochs() == list(range(3, 9))
    assert _same(branch.timeline.get(8).weights, parent.timeline.get(8).weights)


def test_a_branch_takes_the_settings_changed_now(qtbot, trained):
    window = trained
    window.training_tab.timeline.slider.setValue(4)
    window.actionBranchRun.trigger()
    window.hyperparameters.learning_rate_box.setValue(0.2)
    _train(qtbot, window, 2)
    branch, parent = window.current_run, window.document.runs[0]
    assert branch.history[4]["lr"] == pytest.approx(0.2)
    assert branch.history[4]["loss"] != parent.history[4]["loss"]


def test_branching_waits_for_training_to_stop(qtbot, window):
    window.hyperparameters.epochs_box.setValue(400)
    window.actionTrain.trigger()
    qtbot.waitUntil(lambda: len(window.current_run.timeline or ()) > 3, timeout=30_000)
    slider = window.training_tab.timeline.slider
    qtbot.waitUntil(lambda: slider.maximum() >= 3, timeout=5000)  # its coalesced refresh
    assert not window.actionBranchRun.isEnabled()
    slider.setValue(1)  # scrubbing while training works on copies
    assert window.timeline.scrubbed_epoch == 1
    assert _same(window.timeline.shown_weights, window.current_run.timeline.get(1).weights)
    with qtbot.waitSignal(window.training_finished, timeout=30_000):
        window.actionStop.trigger()
    assert window.actionBranchRun.isEnabled()


def test_a_saved_project_keeps_its_timelines(qtbot, make_window, ready, trained, tmp_path):
    trained.training_tab.timeline.slider.setValue(2)
    trained.actionBranchRun.trigger()
    _train(qtbot, trained, 2)
    path = tmp_path / "timeline.nnsproj"
    assert trained.files.write_project(path)
    saved = {run.number: run.timeline for run in trained.document.runs}

    again = make_window(load_default=False)
    assert again.open_project(path)
    ready(again)
    runs = {run.number: run for run in again.document.runs}
    assert runs[2].branched_from == {"run": 1, "epoch": 2}
    for number, timeline in saved.items():
        assert runs[number].timeline.epochs() == timeline.epochs()
        for epoch in timeline.epochs():
            # Exact where the file kept the optimizer's state, else float16 for the views.
            back, kept = runs[number].timeline.get(epoch), timeline.get(epoch)
            assert _same(back.weights, (kept if back.exact else kept.for_views()).weights)
        assert runs[number].timeline.get(timeline.first).exact  # where a replay starts
    slider = again.training_tab.timeline.slider
    assert (slider.minimum(), slider.maximum()) == (2, 4)  # the current run: the branch


def _reopened(make_window, ready, window, path):
    """``window``'s project saved to ``path`` and opened in a new window, ready."""
    assert window.files.write_project(path)
    again = make_window(load_default=False)
    assert again.open_project(path)
    ready(again)
    return again


def test_a_reopened_project_shows_its_models_boundary_before_any_training(
    qtbot, make_window, ready, trained, tmp_path
):
    again = _reopened(make_window, ready, trained, tmp_path / "reopened.nnsproj")
    boundary = again.training_tab.boundary
    qtbot.waitUntil(lambda: boundary.frames > 0, timeout=5000)
    assert boundary.image.image is not None


def test_a_reopened_run_branches_from_a_compact_epoch_exactly(qtbot, make_window, ready, tmp_path):
    """Issue 31: the file keeps few exact snapshots; a branch from any other epoch replays
    the run from the one before it and goes on exactly as the original did."""
    window = make_window()
    window.hyperparameters.validation_box.setValue(0.2)  # replayed with the same data too
    _train(qtbot, window, 8)
    trained = window
    parent_history = [dict(epoch) for epoch in trained.current_run.history]
    final = trained.model.state_dict()
    again = _reopened(make_window, ready, trained, tmp_path / "small.nnsproj")
    timeline = again.current_run.timeline
    assert not timeline.get(5).exact  # kept for the views only
    again.training_tab.timeline.slider.setValue(5)
    again.actionBranchRun.trigger()  # replayed on a worker: the window stays live
    assert "Replaying epochs" in again.statusBar().currentMessage()
    assert not again.actionBranchRun.isEnabled()
    qtbot.waitUntil(lambda: again.current_run.branched_from is not None, timeout=20_000)
    assert again.current_run.branched_from == {"run": 1, "epoch": 5}
    assert again.current_run.timeline.get(5).exact
    _train(qtbot, again, 3)
    for before, after in zip(parent_history[5:], again.current_run.history[5:], strict=True):
        assert after["loss"] == before["loss"]
    assert _same(again.model.state_dict(), final)


def test_a_learning_rate_changed_while_training_starts_an_exact_anchor(qtbot, window):
    """A replay trains with the settings of the exact snapshot it starts from: so the epoch
    during which the rate changed ends in one."""
    window.hyperparameters.epochs_box.setValue(400)
    window.actionTrain.trigger()
    run = window.current_run
    qtbot.waitUntil(lambda: len(run.timeline or ()) > 2, timeout=30_000)
    window.hyperparameters.learning_rate_box.setValue(0.002)
    changed = len(run.history)
    qtbot.waitUntil(lambda: len(run.history) > changed + 2, timeout=30_000)
    with qtbot.waitSignal(window.training_finished, timeout=30_000):
        window.actionStop.trigger()
    rates = {e: run.timeline.get(e).settings["learning_rate"] for e in run.timeline.epochs()}
    first_new = min(e for e, rate in rates.items() if rate == 0.002)
    assert rates[0] == 0.01 and {first_new, first_new + 1} <= run.timeline.anchors
    # Every epoch before the change kept the old rate, every one after it the new rate.
    assert all(rate == (0.01 if e < first_new else 0.002) for e, rate in rates.items())


def test_reset_weights_shows_the_fresh_weights_boundary_not_the_trained_one(qtbot, trained):
    boundary = trained.training_tab.boundary
    drawn = boundary.frames
    trained.actionReset.trigger()
    assert trained.current_run is None
    assert boundary.frames > drawn  # drawn again, from the fresh weights
    assert trained.timeline.shown_weights is not None
    fresh = trained.model.state_dict()
    assert _same(trained.timeline.shown_weights, fresh)
