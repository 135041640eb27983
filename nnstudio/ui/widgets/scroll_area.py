"""A scroll area for docks: vertical scrolling only, at the full width of its widget."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QSize, Qt
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
        widget.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt override
        # The widget's minimum changed (a row was added): the layout around this area must
        # ask again, or the dock stays as narrow as before and cuts the new row.
        if watched is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self.updateGeometry()
        return super().eventFilter(watched, event)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        width = (
            self.widget().minimumSizeHint().width() + self.verticalScrollBar().sizeHint().width()
        )
        return QSize(width, self.MIN_HEIGHT)
