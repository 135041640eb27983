"""What a run in the window costs the training thread (issue 39): weight snapshots only as
often as a view on screen draws them."""

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
