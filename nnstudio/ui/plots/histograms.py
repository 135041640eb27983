"""Weight histograms, one small plot per weight layer, fed by the worker's snapshots.

The worker computes the counts (np.histogram over a weight matrix is not free for big layers);
this view only sets bar data on items it keeps.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget

from nnstudio.ui import style

MAX_COLUMNS = 2


class WeightHistograms(QWidget):
    """Histograms of each layer's weights (objectName ``weightHistograms``)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("weightHistograms")
        self.setToolTip(
            "How each layer's weights are spread. Healthy training keeps them centred and "
            "smooth; exploding or all-zero weights show up here first."
        )
        self.view = pg.GraphicsLayoutWidget()
        self.view.setMinimumHeight(160)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        self.curves: dict[str, pg.PlotDataItem] = {}

    def clear(self) -> None:
        self.view.clear()
        self.curves = {}

    def set_histograms(self, histograms: dict) -> None:
        """{layer label: (counts, edges)} -> step-filled curves, rebuilt only when layers change."""
        if list(histograms) != list(self.curves):
            self._rebuild(list(histograms))
        for name, (counts, edges) in histograms.items():
            self.curves[name].setData(np.asarray(edges), np.asarray(counts))

    def _rebuild(self, names: list[str]) -> None:
        self.clear()
        columns = min(MAX_COLUMNS, max(1, len(names)))
        for index, name in enumerate(names):
            if index and index % columns == 0:
                self.view.nextRow()
            plot = self.view.addPlot()
            plot.setTitle(name, color=style.MUTED, size="8pt")
            plot.hideAxis("left")
            plot.setMouseEnabled(x=False, y=False)
            plot.getAxis("bottom").setStyle(tickLength=-4)
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
