"""Every hand (issue 32): each command has a key that Help lists, the wheel scrolls panels
without changing the fields it passes over, and the keyboard's place shows in the palette
and the layer stack."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from nnstudio.ui.window.help import shortcut_rows
from nnstudio.ui.window.shortcut_keys import SPACE_ACTIONS


def _commands(window):
    """The actions of the menus (not the lists of recent files and presets) and toolbar."""
    lists = {window.recent_menu, window.presets_menu}
    found = []
    for top in window.menuBar().actions():
        for action in top.menu().actions():
            if action.isSeparator() or action.menu() in lists:
                continue
            found.append(action)
    found += [a for a in window.toolbar.actions() if a.text() and not a.isSeparator()]
    return found


def test_every_command_has_a_key_listed_in_help(make_window):
    window = make_window(load_default=False)
    listed = dict(shortcut_rows(window))
    keyless, unlisted = [], []
    for action in _commands(window):
        what = action.text().replace("&", "")
        if action.objectName() in SPACE_ACTIONS:
            assert "Space" in listed
            continue
        keys = action.shortcut().toString()
        if not keys:
            keyless.append(what)
        elif keys not in listed:
            unlisted.append((keys, what))
    assert keyless == [] and unlisted == []


def test_no_two_commands_share_a_key(make_window):
    window = make_window(load_default=False)
    owners = {}
    for action in set(_commands(window)):
        keys = action.shortcut().toString()
        if keys:
            owners.setdefault(keys, set()).add(action.text())
    assert {k: v for k, v in owners.items() if len(v) > 1} == {}


def _wheel(widget, steps=-1):
    centre = QPointF(widget.width() / 2, widget.height() / 2)
    event = QWheelEvent(
        centre,
        widget.mapToGlobal(centre),
        QPoint(0, 0),
        QPoint(0, 120 * steps),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(widget, event)


def _shown_small(qtbot, window):
    window.resize(1024, 600)
    window.show()
    qtbot.waitExposed(window)


def test_the_wheel_scrolls_the_inspector_and_leaves_units_alone(make_window, qtbot):
    window = make_window()
    _shown_small(qtbot, window)
    builder = window.builder
    builder.stack.select_row(0)  # a Dense layer: Units, activation… in the inspector
    QApplication.processEvents()
    units = next(e for e in builder.inspector.findChildren(type(window.toolbar_batch)))
    before = units.value()
    window.tabs.setFocus()
    _wheel(units)
    assert units.value() == before
    units.setFocus()
    _wheel(units)  # the field the user is in does take the wheel
    assert units.value() != before


def test_the_wheel_over_a_hyperparameter_scrolls_the_dock(make_window, qtbot):
    window = make_window()
    _shown_small(qtbot, window)
    window.hyper_dock.raise_()
    panel = window.hyperparameters
    QApplication.processEvents()
    window.tabs.setFocus()
    for field in (panel.epochs_box, panel.optimizer_box, panel.learning_rate_box):
        before = field.value() if hasattr(field, "value") else field.currentIndex()
        _wheel(field)
        after = field.value() if hasattr(field, "value") else field.currentIndex()
        assert after == before, field.objectName()
        assert field.focusPolicy() == Qt.FocusPolicy.StrongFocus


def _grab_with_focus(view, focused, elsewhere):
    (view if focused else elsewhere).setFocus()
    QApplication.processEvents()
    return view.viewport().grab().toImage()


def test_the_keyboard_focus_shows_in_the_palette_and_the_stack(make_window, qtbot):
    window = make_window()
    _shown_small(qtbot, window)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)
    builder = window.builder
    builder.stack.select_row(1)
    elsewhere = builder.palette_view.filter_edit
    for view in (builder.palette_view.list, builder.stack.view):
        with_focus = _grab_with_focus(view, True, elsewhere)
        without = _grab_with_focus(view, False, elsewhere)
        assert with_focus != without, view.objectName()
