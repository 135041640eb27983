"""A problem in words with a real button per one-click fix (inspector and stack banner)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from nnstudio.ui.builder.card_delegate import severity_color
from nnstudio.ui.builder.problems import Problem


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

    def _clear_buttons(self) -> None:
        while self.buttons.count():
            item = self.buttons.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.fix_buttons = []

    def show_problem(self, problem: Problem | None) -> None:
        self._clear_buttons()
        self.setVisible(problem is not None)
        if problem is None:
            return
        color = severity_color(problem)
        name = color.name()
        tint = f"rgba({color.red()}, {color.green()}, {color.blue()}, 26)"
        self.setStyleSheet(
            f"#problemBox {{ border-left: 3px solid {name}; border-radius: 6px;"
            f" background: {tint}; }}"
        )
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
