"""Space = Train / Pause wherever the focus is in the window (issue 21, item 2).

A QAction shortcut loses Space to whichever widget has the focus: a spin box takes it as text
(and the learning rate went blank), a button or a combo box as a click. So Space is not a
shortcut here but a key the window catches first, through an application event filter, except
where it is text being typed: a line edit of its own, a text editor, or the check box of a
list row (the CSV column picker ticks columns with Space).
"""

from __future__ import annotations

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
    """Installed on the application; ``toggle`` runs for Space pressed in ``window``."""

    def __init__(self, window, toggle):
        super().__init__(window)
        self._window = window
        self._toggle = toggle
        QApplication.instance().installEventFilter(self)
        window.destroyed.connect(self._remove)

    def _remove(self, *_args) -> None:
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt override
        if event.type() != QEvent.Type.KeyPress:
            return False
        if event.key() != Qt.Key.Key_Space or event.modifiers() != Qt.KeyboardModifier.NoModifier:
            return False
        # The key reaches the window's QWindow first, then the focus widget: act on the
        # first widget that gets it (returning True stops it going further).
        if not watched.isWidgetType() or watched.window() is not self._window:
            return False
        focus = QApplication.focusWidget()
        if takes_space_as_text(watched) or (focus is not None and takes_space_as_text(focus)):
            return False
        if not event.isAutoRepeat():
            self._toggle()
        return True  # neither the spin box's text nor a button's click sees this Space
