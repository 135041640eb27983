"""The Data dock's scatter of 2-D data: classes in the shared palette (the points match the
decision boundary drawn later), regression targets on viridis."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractScrollArea, QApplication

from nnstudio.ui.colors import class_label, class_rgb

MAX_SCATTER_POINTS = 5000  # beyond this a scatter is a blur and slows the dock down


class ScatterPreview(pg.PlotWidget):
    """2-D points; classes coloured from the shared palette, regression targets on viridis."""

    def __init__(self, parent=None):
        super().__init__(parent, background="w")
        self.setMenuEnabled(False)
        self.getPlotItem().showGrid(x=True, y=True, alpha=0.15)
        self.setAspectLocked(False)
        # No legend over the points: the class-balance bars below name each colour.
        self.items: list[pg.ScatterPlotItem] = []
        for name in ("left", "bottom"):
            # Axes in the data's own units: "×0.001" scaling read as ticks up to 600.
            self.getAxis(name).enableAutoSIPrefix(False)
        self.setToolTip(
            "The data: every sample of every split, coloured by its class "
            "(or by its target value for regression). Drag to pan, Ctrl+wheel to zoom."
        )

    def wheelEvent(self, event) -> None:  # noqa: N802 - Qt override
        """The plain wheel scrolls the Data dock it sits in; Ctrl+wheel zooms the points."""
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            super().wheelEvent(event)
            return
        parent = self.parentWidget()
        while parent is not None and not isinstance(parent, QAbstractScrollArea):
            parent = parent.parentWidget()
        if parent is None:
            event.ignore()
        else:  # handed on explicitly: Qt only passes an ignored wheel on when it came from a mouse
            QApplication.sendEvent(parent.verticalScrollBar(), event)

    def _reset(self, feature_names) -> None:
        self.clear()
        self.items = []
        names = list(feature_names or ["x₁", "x₂"])
        self.setLabel("bottom", names[0])
        self.setLabel("left", names[1] if len(names) > 1 else "")

    def show_classes(self, x, y, class_names=None, feature_names=None) -> None:
        self._reset(feature_names)
        x, y = _thin(np.asarray(x), np.asarray(y))
        for k in np.unique(y.astype(np.int64)):
            mask = y == k
            item = pg.ScatterPlotItem(
                x[mask, 0],
                x[mask, 1],
                size=6,
                pen=pg.mkPen(255, 255, 255, 160, width=0.6),
                brush=pg.mkBrush(*class_rgb(int(k)), 220),
                name=class_label(class_names, int(k)),
            )
            self.addItem(item)
            self.items.append(item)
        self.autoRange()

    def show_values(self, x, values, feature_names=None) -> tuple[float, float]:
        """Regression: colour each point by its (first) target value."""
        self._reset(feature_names)
        x, values = _thin(np.asarray(x), np.asarray(values).reshape(len(x), -1)[:, 0])
        colormap = pg.colormap.get("viridis")
        low, high = float(values.min()), float(values.max())
        scaled = (values - low) / (high - low) if high > low else np.zeros_like(values)
        brushes = [pg.mkBrush(c) for c in colormap.map(scaled, mode="qcolor")]
        item = pg.ScatterPlotItem(x[:, 0], x[:, 1], size=6, pen=None, brush=brushes)
        self.addItem(item)
        self.items.append(item)
        self.autoRange()
        return low, high


def _thin(x, y):
    """Every k-th point when there are too many to draw usefully (keeps the class mix)."""
    if len(x) <= MAX_SCATTER_POINTS:
        return x, y
    step = -(-len(x) // MAX_SCATTER_POINTS)
    return x[::step], y[::step]
