"""A scroll area for docks: vertical scrolling only, at the full width of its widget."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QScrollArea


class VerticalScrollArea(QScrollArea):
    """Scrolls its widget up and down only, and asks for its full width: a dock holding it can
    be short (the window fits a small screen) but never cuts its fields off at the side."""

    MIN_HEIGHT = 80

    def __init__(self, widget, parent=None):
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setWidget(widget)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        width = (
            self.widget().minimumSizeHint().width() + self.verticalScrollBar().sizeHint().width()
        )
        return QSize(width, self.MIN_HEIGHT)
