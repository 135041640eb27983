"""Space = Train / Pause wherever the focus is in the window (issue 21, item 2).

A QAction shortcut loses Space to whichever widget has the focus: a spin box takes it as text
(and the learning rate went blank), a button or a combo box as a click. So Space is not a
shortcut here but a key the window catches first, through an event filter on the focus
widget, except where it is text being typed: a line edit of its own, a text editor, or the
check box of a list row (the CSV column picker ticks columns with Space).
"""

from __future__ import annotations

import contextlib

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractSpinBox,
    QApplication,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
)


def takes_space_as_text(widget) -> bool:
    """True for a widget where Space is typed (or ticks a row) rather than Train / Pause."""
    if isinstance(widget, (QTextEdit, QPlainTextEdit)):
        return not widget.isReadOnly()
    if isinstance(widget, QLineEdit):
        # A spin box's own line edit holds a number: a space never belongs in it.
        return not isinstance(widget.parent(), QAbstractSpinBox) and not widget.isReadOnly()
    if isinstance(widget, QAbstractItemView):
        index = widget.currentIndex()
        return index.isValid() and bool(index.flags() & Qt.ItemFlag.ItemIsUserCheckable)
    return False


class SpaceToTrain(QObject):
    """``toggle`` runs for Space pressed in ``window``, whichever of its widgets has the focus.

    The filter sits on the focus widget alone and moves with the focus: an application-wide
    filter would run Python for every event of every object in the application (and of every
    window not yet deleted), all for a key pressed now and then.
    """

    def __init__(self, window, toggle):
        super().__init__(window)
        self._window = window
        self._toggle = toggle
        self._watched = None
        QApplication.instance().focusChanged.connect(self._on_focus_changed)
        window.installEventFilter(self)  # Space with no widget focused reaches the window

    def _on_focus_changed(self, _old, new) -> None:
        if self._watched is not None:
            with contextlib.suppress(RuntimeError):  # the widget may be deleted already
                self._watched.removeEventFilter(self)
            self._watched = None
        if new is not None and new is not self._window and new.window() is self._window:
            new.installEventFilter(self)
            self._watched = new

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt override
        if event.type() != QEvent.Type.KeyPress:
            return False
        if event.key() != Qt.Key.Key_Space or event.modifiers() != Qt.KeyboardModifier.NoModifier:
            return False
        if takes_space_as_text(watched):
            return False
        if not event.isAutoRepeat():
            self._toggle()
        return True  # neither the spin box's text nor a button's click sees this Space
