"""What a run in the window costs the training thread (issue 39): weight snapshots only as
often as a view on screen draws them, and the health dock redrawn only when it can be seen."""

from __future__ import annotations

from nnstudio.training.session import TrainingSession


def shown(make_window, qtbot):
    window = make_window()
    window.hyperparameters.epochs_box.setValue(300)
    window.show()
    qtbot.waitExposed(window)
    return window


def test_weight_snapshots_follow_what_the_window_shows(make_window, qtbot, monkeypatch):
    wanted: list[bool] = []
    monkeypatch.setattr(TrainingSession, "set_live_weights", lambda _s, on: wanted.append(on))
    window = shown(make_window, qtbot)
    window.tabs.setCurrentWidget(window.builder)
    window.actionStep.trigger()  # a paused session
    assert wanted[-1] is True  # the network diagram draws the weights
    window.tabs.setCurrentWidget(window.training_tab)
    assert wanted[-1] is True  # 2-D data: the decision boundary does
    window.training_tab.boundary.hide()  # as for images: only the histograms are left
    window.tabs.setCurrentWidget(window.builder)
    window.tabs.setCurrentWidget(window.training_tab)
    assert wanted[-1] is False
    window.tabs.setCurrentWidget(window.builder)
    assert wanted[-1] is True
    window.showMinimized()
    qtbot.waitUntil(window.isMinimized, timeout=5_000)
    window.tabs.setCurrentWidget(window.training_tab)
    assert wanted[-1] is False  # nothing of a minimized window is seen


def test_a_hidden_health_dock_is_drawn_when_it_comes_to_the_front(make_window, qtbot):
    window = shown(make_window, qtbot)
    panel = window.health_panel
    window.runs_dock.raise_()  # the Layer health dock is tabbed behind Runs: covered
    qtbot.waitUntil(lambda: panel.visibleRegion().isEmpty(), timeout=5_000)
    title = panel.title.text()
    health = {"0 Dense": {"dead_fraction": 0.1, "activation": "relu"}}
    panel.show_epoch({"epoch": 3, "health": health, "warnings": []})
    assert panel.title.text() == title and panel.table.rowCount() == 0  # kept, not drawn
    window.health_dock.raise_()
    qtbot.waitUntil(lambda: panel.table.rowCount() == 1, timeout=5_000)
    assert panel.title.text() == "After epoch 3, per layer:"
    assert panel.table.item(0, 1).text() == "10%"


def test_the_same_warnings_keep_their_rows(make_window, qtbot):
    window = shown(make_window, qtbot)
    panel = window.health_panel
    warning = {"layer": None, "kind": "overfitting", "message": "m", "fix": "f"}
    panel.set_warnings([warning])
    rows = list(panel.warning_rows)
    panel.set_warnings([dict(warning)])  # the next epoch says the same
    assert panel.warning_rows == rows
    panel.set_warnings([])
    assert panel.warning_rows == []
