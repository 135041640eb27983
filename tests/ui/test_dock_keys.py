"""View → a dock, and its key: opens a closed dock and brings it forward, brings forward a dock
open behind another tab of its group, and closes only a dock already in front."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from nnstudio.ui.window import dock_layout
from nnstudio.ui.window.help import shortcut_rows


def seen(dock) -> bool:
    """Open and in front: some of it shows (a dock behind another tab shows nothing)."""
    return dock.isVisible() and not dock.visibleRegion().isEmpty()


@pytest.fixture
def shown(qtbot, window):
    """The window on screen, its docks tabbed in one group with Data in front."""
    window.show()
    qtbot.waitExposed(window)
    dock_layout.arrange_docks(window, dock_layout.ONE_COLUMN)
    window.data_dock.raise_()
    qtbot.waitUntil(lambda: seen(window.data_dock))
    assert window.hyper_dock in window.tabifiedDockWidgets(window.data_dock)
    assert not seen(window.hyper_dock)  # open, behind Data
    return window


def test_the_key_of_a_dock_behind_another_tab_brings_it_forward(qtbot, shown):
    data, hyper = shown.data_dock, shown.hyper_dock
    hyper.toggleViewAction().trigger()
    qtbot.waitUntil(lambda: seen(hyper))
    assert not seen(data) and not data.isHidden()  # Data is still open, behind it now
    assert hyper in shown.tabifiedDockWidgets(data)  # in its group, not moved elsewhere
    assert hyper.toggleViewAction().isChecked() and data.toggleViewAction().isChecked()


def test_the_key_of_the_dock_in_front_closes_it(qtbot, shown):
    data = shown.data_dock
    data.toggleViewAction().trigger()
    assert data.isHidden() and not data.toggleViewAction().isChecked()
    # A dock of the group comes forward in its place.
    others = shown.tabifiedDockWidgets(data) or [shown.hyper_dock, shown.runs_dock]
    qtbot.waitUntil(lambda: any(seen(dock) for dock in others))


def test_the_key_of_a_closed_dock_opens_it_in_front_with_the_focus(qtbot, shown):
    runs = shown.runs_dock
    runs.close()
    assert not runs.toggleViewAction().isChecked()
    runs.toggleViewAction().trigger()
    qtbot.waitUntil(lambda: seen(runs))
    assert runs.toggleViewAction().isChecked()
    assert runs in shown.tabifiedDockWidgets(shown.data_dock)  # back in its group
    assert runs.isAncestorOf(QApplication.focusWidget())


def test_the_real_key_brings_a_dock_forward_then_closes_it(qtbot, shown):
    health = shown.health_dock
    shown.activateWindow()
    qtbot.waitActive(shown)
    assert health.toggleViewAction().shortcut().toString() == "Ctrl+Shift+L"
    control_shift = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(shown, Qt.Key.Key_L, control_shift)
    qtbot.waitUntil(lambda: seen(health))
    qtbot.keyClick(shown, Qt.Key.Key_L, control_shift)  # in front now: the toggle closes it
    assert health.isHidden() and not health.toggleViewAction().isChecked()


def test_the_lessons_key_opens_them_beside_the_hyperparameters_in_front(qtbot, shown):
    lessons = shown.lessons.dock
    assert lessons.isHidden()
    lessons.toggleViewAction().trigger()
    qtbot.waitUntil(lambda: seen(lessons))
    assert lessons in shown.tabifiedDockWidgets(shown.hyper_dock)
    shown.data_dock.raise_()  # behind Data now: the key brings the lessons back
    qtbot.waitUntil(lambda: not seen(lessons))
    lessons.toggleViewAction().trigger()
    qtbot.waitUntil(lambda: seen(lessons))
    assert lessons.toggleViewAction().isChecked()


def test_the_shortcuts_page_says_what_a_dock_key_does(shown):
    rows = dict(shortcut_rows(shown))
    assert rows["Ctrl+Shift+D"] == "Open the Data dock or bring it forward; hide it when in front"
