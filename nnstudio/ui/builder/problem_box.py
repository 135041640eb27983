"""A problem in words with a real button per one-click fix (inspector and stack banner)."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from nnstudio.project.problems import Problem
from nnstudio.ui.builder.card_delegate import severity_color


class ProblemBox(QFrame):
    """One problem in words, with a real button for each of its fixes."""

    fix_requested = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("problemBox")
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.buttons = QHBoxLayout()
        self.buttons.setSpacing(6)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.addWidget(self.message)
        layout.addLayout(self.buttons)
        self.fix_buttons: list[QPushButton] = []
        self._color = QColor("#DC2626")

    def paintEvent(self, event):
        # Painted rather than styled so the tint follows the severity without style sheets.
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        tint = QColor(self._color)
        tint.setAlphaF(0.11)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(tint)
        painter.drawRoundedRect(QRectF(self.rect()), 7, 7)
        painter.setBrush(self._color)
        painter.drawRoundedRect(QRectF(0, 0, 3.5, self.height()), 1.5, 1.5)
        painter.end()

    def _clear_buttons(self) -> None:
        while self.buttons.count():
            item = self.buttons.takeAt(0)
            widget = item.widget()
            if widget is not None:
                # Hidden at once: a button made and dropped in the same moment would otherwise
                # still get its queued show() and cover the box until it is deleted.
                widget.hide()
                widget.setParent(None)
                widget.deleteLater()
        self.fix_buttons = []

    def show_problem(self, problem: Problem | None) -> None:
        self._clear_buttons()
        self.setVisible(problem is not None)
        if problem is None:
            return
        self._color = severity_color(problem)
        name = self._color.name()
        self.update()
        kind = "Problem" if problem.is_error else "Suggestion"
        self.message.setText(f"<b style='color:{name}'>{kind}</b><br>{problem.message}")
        for fix in problem.fixes:
            button = QPushButton(fix.label)
            button.setToolTip(f"{fix.label} — one click, undoable with Ctrl+Z")
            button.setCursor(Qt.CursorShape.PointingHandCursor)
            button.clicked.connect(lambda _=False, f=fix: self.fix_requested.emit(f))
            self.buttons.addWidget(button)
            self.fix_buttons.append(button)
        self.buttons.addStretch(1)
