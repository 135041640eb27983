"""Weight histograms, one small plot per weight layer, fed by the worker's snapshots.

The worker computes the counts (np.histogram over a weight matrix is not free for big layers);
this view only sets bar data on items it keeps.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QGraphicsItem, QVBoxLayout, QWidget

from nnstudio.ui import style
from nnstudio.ui.plots.curve_items import keep_drawn

COLUMNS = 2
# Each row takes a title and an axis before its bars: in the Training tab's corner a fourth
# row left the bars no height at all, so a deep network gets more columns instead.
MAX_ROWS = 3
TITLE_HEIGHT = 16  # px: an 8 pt title
AXIS_HEIGHT = 20  # px: the axis line and one row of tick labels


def symmetric_ticks(size: float) -> list[tuple[float, str]]:
    """Ticks at -size, 0 and size, the left one unlabelled: the range is symmetric, and a
    narrow plot's "-0.5" ran into the "0.5" of the plot beside it (or past the widget's edge).
    Automatic ticks ran into each other within a plot."""
    return [(-size, ""), (0.0, "0"), (size, f"{size:g}")]


class WeightHistograms(QWidget):
    """Histograms of each layer's weights (objectName ``weightHistograms``)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("weightHistograms")
        self.setToolTip(
            "How each layer's weights are spread. Healthy training keeps them centred and "
            "smooth; exploding or all-zero weights show up here first. Each x axis is "
            "symmetric around 0."
        )
        self.view = pg.GraphicsLayoutWidget()
        self.view.setMinimumHeight(120)
        self.view.ci.layout.setContentsMargins(2, 2, 2, 2)  # the room goes to the bars
        self.view.ci.layout.setVerticalSpacing(2)
        self.view.ci.layout.setHorizontalSpacing(10)  # plots apart, each with its own axis
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.plots: dict[str, pg.PlotItem] = {}
        self._reach: dict[str, float] = {}  # each plot's x range is -reach..reach

    def clear(self) -> None:
        self.view.clear()
        self.curves = {}
        self.plots = {}
        self._reach = {}

    def reset(self) -> None:
        """A new run: empty the bars but keep the plots. Building a plot costs tens of
        milliseconds of the GUI thread, taken from the training that is about to start."""
        for curve in self.curves.values():
            curve.setData([], [])
        self._reach = {}

    def set_histograms(self, histograms: dict) -> None:
        """{layer label: (counts, edges)} -> step-filled curves, rebuilt only when layers change."""
        if list(histograms) != list(self.curves):
            self._rebuild(list(histograms))
        for name, (counts, edges) in histograms.items():
            edges = np.asarray(edges)
            self.curves[name].setData(edges, np.asarray(counts))
            self._steady_x_range(name, float(np.max(np.abs(edges))))

    def _steady_x_range(self, name: str, reach: float) -> None:
        """A symmetric x range of a round size (0.1, 0.2, 0.5, 1, ...) that changes only when
        the weights outgrow it or shrink to under half of it. Following every snapshot's
        extremes would re-render the axis at every update, for no gain in reading."""
        current = self._reach.get(name)
        if current is not None and 0.5 * current <= reach <= current:
            return
        scale = 10.0 ** math.floor(math.log10(max(reach, 1e-6)))
        size = next(step * scale for step in (1, 2, 5, 10) if step * scale >= reach)
        self._reach[name] = size
        plot = self.plots[name]
        plot.setXRange(-size, size, padding=0.12)
        plot.getAxis("bottom").setTicks([symmetric_ticks(size)])

    def _rebuild(self, names: list[str]) -> None:
        self.clear()
        columns = max(min(COLUMNS, len(names)), math.ceil(len(names) / MAX_ROWS), 1)
        for index, name in enumerate(names):
            if index and index % columns == 0:
                self.view.nextRow()
            plot = self.plots[name] = self.view.addPlot()
            plot.setTitle(name, color=style.MUTED, size="8pt")
            # pyqtgraph gives a title 30 px and an axis about as much: in a small corner
            # that was all of a row, and the bars had no height left.
            plot.titleLabel.setMaximumHeight(TITLE_HEIGHT)
            plot.layout.setRowFixedHeight(0, TITLE_HEIGHT)
            plot.getAxis("bottom").setHeight(AXIS_HEIGHT)
            plot.hideAxis("left")
            for axis in ("left", "bottom", "right", "top"):
                # Each new snapshot's counts move the y range: pyqtgraph would then set the
                # (hidden) axes' labels anew, an HTML layout each, for a prefix never shown.
                plot.getAxis(axis).enableAutoSIPrefix(False)
            keep_drawn(plot.titleLabel.item)  # the bars change, not the layer's name
            plot.setMouseEnabled(x=False, y=False)
            plot.getAxis("bottom").setStyle(tickLength=-4, hideOverlappingLabels=False)
            # Repainted from a pixmap while its range stays (see _steady_x_range).
            plot.getAxis("bottom").setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
            color = style.CLASS_COLORS[index % len(style.CLASS_COLORS)]
            brush = pg.mkColor(color)
            brush.setAlpha(110)
            # Steps are horizontal and vertical edges: antialiasing them only costs paint time.
            self.curves[name] = plot.plot(
                stepMode="center",
                fillLevel=0,
                brush=brush,
                pen=pg.mkPen(color, width=1.2),
                antialias=False,
            )
