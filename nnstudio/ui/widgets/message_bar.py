"""The message bar: errors and warnings in words, inline, at the top of the window or a panel.

It replaces message boxes, so a bad file or a missing download never stacks dialogs (and never
blocks a test). Messages have a priority (info < warning < error): an error stays until the
user acts (a click or a key anywhere in the app, its close button) or a newer message of
equal or higher priority replaces it; routine notes the window makes on its own (a dataset
arrived) never cover it, so a refused file's reason stays readable. Its colours come from the
application style sheet (``QFrame#messageBar`` with the ``level`` property, in
``nnstudio.ui.style``).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QToolButton,
    QVBoxLayout,
)

from nnstudio.ui import style

# The main window imported the scroll area from here; it lives in its own module now.
from nnstudio.ui.widgets.scroll_area import VerticalScrollArea  # noqa: F401

LEVELS = ("info", "warning", "error")  # lowest priority first
USER_ACTS = (QEvent.Type.MouseButtonPress, QEvent.Type.KeyPress)


class MessageBar(QFrame):
    """An icon, a selectable text, a close button and, when asked, action buttons under the
    text (``show_message(..., actions=...)``) and a progress bar (``progress``, for
    downloads). ``text()`` is the message shown, "" while hidden."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("messageBar")
        self.level = "info"
        self._watching_the_user = False  # an error shows: the user's next act is looked for
        self.icon = QLabel()
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.close_button = QToolButton()
        self.close_button.setIcon(style.icon("close"))
        self.close_button.setAutoRaise(True)
        self.close_button.setToolTip("Hide this message.")
        self.close_button.clicked.connect(self.hide)
        self.progress = QProgressBar()
        self.progress.setToolTip("Download progress")
        self.progress.hide()
        self.buttons = QHBoxLayout()
        self.buttons.addStretch(1)
        self._actions: list[QPushButton] = []
        top = QHBoxLayout()
        top.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignTop)
        top.addWidget(self.label, 1)
        top.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.addLayout(top)
        layout.addWidget(self.progress)
        layout.addLayout(self.buttons)
        self.hide()

    def show_message(
        self, text: str, level: str = "info", actions=(), routine=False, until_acted=False
    ) -> None:
        """Show ``text`` at ``level`` ("info", "warning" or "error"); ``actions`` are
        (label, tooltip, callback) buttons under it, replacing those of the last message.
        A ``routine`` note (not an answer to something the user did) is dropped while a
        message of higher priority waits for the user. An error, and a message shown
        ``until_acted``, stay until the user acts: a dataset arriving does not clear them
        (a note made as the window opens would go with its first dataset, unread)."""
        if level not in LEVELS:
            raise ValueError(f"message level must be one of {', '.join(LEVELS)}; got {level!r}")
        if routine and self._outranks(level):
            return
        self.level = level
        self._watch_the_user(level == "error" or until_acted)
        # A dynamic property only restyles after the style sheet is applied again.
        self.setProperty("level", level)
        self.style().unpolish(self)
        self.style().polish(self)
        self.icon.setPixmap(style.icon(level).pixmap(20, 20))
        self.label.setText(text)
        self._set_actions(actions)
        self.progress.hide()
        self.show()

    def _set_actions(self, actions) -> None:
        for button in self._actions:
            self.buttons.removeWidget(button)
            button.deleteLater()
        self._actions = []
        for label, tooltip, callback in actions:
            button = QPushButton(label)
            button.setToolTip(tooltip)
            button.clicked.connect(callback)
            self.buttons.addWidget(button)
            self._actions.append(button)

    def action(self, label: str) -> QPushButton | None:
        """The action button whose text is ``label`` (tests and the panels use it)."""
        return next((b for b in self._actions if b.text() == label), None)

    def text(self) -> str:
        return "" if self.isHidden() else self.label.text()

    def clear_routine(self) -> None:
        """What the message said is over for the window (a dataset arrived): hide it, unless it
        is an error (or a message shown ``until_acted``) the user has not acted on since."""
        if not self._waiting_for_the_user():
            self.hide()

    def _waiting_for_the_user(self) -> bool:
        return not self.isHidden() and self._watching_the_user

    def _outranks(self, level: str) -> bool:
        """True when the message shown is an error still waiting for the user and ``level``
        is lower."""
        return self._waiting_for_the_user() and LEVELS.index(self.level) > LEVELS.index(level)

    def _watch_the_user(self, watch: bool) -> None:
        app = QApplication.instance()
        if watch and not self._watching_the_user:
            app.installEventFilter(self)
        elif not watch and self._watching_the_user:
            app.removeEventFilter(self)
        self._watching_the_user = watch

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt override
        if event.type() in USER_ACTS:
            self._watch_the_user(False)  # acted: the error no longer outranks routine notes
        return False

    def hideEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().hideEvent(event)
        if self.isHidden():  # closed or hidden (not only its window minimised)
            self._watch_the_user(False)
