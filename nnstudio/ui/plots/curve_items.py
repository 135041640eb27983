"""The pieces the training plots are drawn with: pens, per-epoch curves (dotted while epochs
are few), a decade-labelled log axis and the hover readout of an epoch's values."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QBrush, QPainter
from PySide6.QtWidgets import QGraphicsItem

from nnstudio.ui import style

LEGEND = {
    "labelTextColor": style.TEXT,
    "labelTextSize": "8pt",
    "brush": (255, 255, 255, 190),
    "verSpacing": -6,
}
MAX_DOTTED_EPOCHS = 30  # epoch curves mark each epoch with a dot up to this many epochs
DOT_SIZE = 5  # pixels across
# A log axis shows at least this many decades: any half decade holds a labelled 1, 2 or 5.
MIN_LOG_SPAN = 0.5


def pen(color, width=2.0, dashed=False):
    pen = pg.mkPen(color=color, width=width)
    if dashed:
        pen.setStyle(Qt.PenStyle.DashLine)
    return pen


def keep_drawn(*items: QGraphicsItem) -> None:
    """Repaint ``items`` from a pixmap of their last drawing until they change. A plot is
    repainted whole when one of its curves changes (the batch losses, once a second while a
    run trains): its title, legend and the curves that did not change are then copied, not
    drawn again. Qt draws an item again when it calls update() (new data, new text) or when the
    view's range or size changes."""
    for item in items:
        item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)


def keep_legend_drawn(plot: pg.PlotWidget) -> None:
    """keep_drawn for a plot's legend: its box, and each entry's sample and label."""
    legend = plot.getPlotItem().legend
    if legend is None:
        return
    keep_drawn(legend)
    for sample, label in legend.items:
        keep_drawn(sample, label.item)


def keep_curve_drawn(curve: pg.PlotDataItem) -> None:
    """keep_drawn for a curve's line and symbols (a PlotDataItem draws nothing itself)."""
    keep_drawn(curve.curve, curve.scatter)


class DottedLine(pg.PlotCurveItem):
    """A curve's line with, while ``dots`` is on, a dot at each point, drawn with the line in
    a few QPainter calls. pyqtgraph's own symbols (a ScatterPlotItem beside the line) took
    more of the GUI thread to set and paint than the rest of an epoch plot (issue 39)."""

    def __init__(self, color):
        super().__init__()
        self.dots = False
        self.dot_brush = QBrush(pg.mkColor(color))

    def set_dots(self, dots: bool) -> None:
        if dots != self.dots:
            self.prepareGeometryChange()  # a dot reaches past the line's pixel padding
            self.dots = dots
            self.invalidateBounds()
            self.update()

    def pixelPadding(self) -> float:  # noqa: N802 - pyqtgraph's
        padding = super().pixelPadding()
        return max(padding, DOT_SIZE / 2 + 1) if self.dots else padding

    def paint(self, painter, option, widget=None) -> None:
        super().paint(painter, option, widget)
        if self.dots and self.xData is not None and len(self.xData):
            self._paint_dots(painter)

    def _paint_dots(self, painter: QPainter) -> None:
        """Round dots DOT_SIZE pixels across at the points shown (in the view's coordinates,
        after pyqtgraph's log mapping and clipping), whatever the zoom."""
        x, y = self.xData, self.yData
        shown = np.isfinite(x) & np.isfinite(y)
        to_device = painter.transform()
        painter.save()
        painter.resetTransform()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(self.dot_brush)
        radius = DOT_SIZE / 2
        for point_x, point_y in zip(x[shown], y[shown], strict=True):
            painter.drawEllipse(to_device.map(QPointF(point_x, point_y)), radius, radius)
        painter.restore()


class DottedSample(pg.ItemSample):
    """A legend entry's sample of an epoch curve: its line, and a dot while the curve has."""

    def paint(self, painter, *args) -> None:
        super().paint(painter, *args)
        line = self.item.curve
        if line.dots and self.item.isVisible():
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(line.dot_brush)
            painter.drawEllipse(QPointF(10, 10), DOT_SIZE / 2, DOT_SIZE / 2)


def epoch_curve(plot: pg.PlotWidget, color, name: str | None = None, dashed: bool = False):
    """A per-epoch curve with a dot at each epoch: the first epoch is a single point, which a
    line alone would not show (a slow network would leave the plot empty for a whole epoch).
    It changes at most once an epoch: drawn from a pixmap in between (keep_drawn)."""
    curve = pg.PlotDataItem(pen=pen(color, dashed=dashed))
    line = DottedLine(color)  # in place of the PlotCurveItem the PlotDataItem made
    curve.curve.setParentItem(None)
    line.setParentItem(curve)
    line.sigClicked.connect(curve.sigClicked)
    curve.curve = line
    plot.addItem(curve)
    if name is not None:
        curve.opts["name"] = name  # after addItem, which would add a sample of its own
        legend = plot.getPlotItem().legend
        if legend is not None:
            legend.addItem(DottedSample(curve), name)
    keep_curve_drawn(curve)
    return curve


def dotted(curve: pg.PlotDataItem) -> bool:
    """Whether an epoch curve marks each epoch with a dot."""
    return curve.curve.dots


def set_epoch_data(curve: pg.PlotDataItem, x: np.ndarray, y: np.ndarray) -> None:
    """Set an epoch curve's points, with dots while there are few: then each dot is an epoch
    to read. With many they merge into a thick, noisy line and cost paint time for nothing."""
    curve.curve.set_dots(len(x) <= MAX_DOTTED_EPOCHS)
    if not np.isfinite(y).any():  # no validation split: pyqtgraph's bounds of all-NaN warn
        curve.setData([], [])
        return
    curve.setData(x, y, connect="finite")


def steady_log_range(
    shown: tuple[float, float] | None, low: float, high: float, top_band: float = 0.0
):
    """The log10 range for values from 10**low to 10**high, or None to keep ``shown``: a range
    that follows every new value re-renders the axis and its grid at each redraw (several
    milliseconds of the GUI thread), so it moves only when a value leaves it or the values
    shrink to under half of it; a new one leaves a fifth of the values' span free each side.
    ``top_band`` (a fraction of the height) is kept clear of values above that: the legend's
    row, so that it never hides a curve.

    >>> steady_log_range(None, -2.0, 0.0)
    (-2.4, 0.4)
    >>> steady_log_range(None, -2.0, 0.0, top_band=0.2)
    (-2.4, 1.1)
    >>> steady_log_range((-2.4, 1.1), -2.0, 0.3, top_band=0.2) is None  # under the band
    True
    """
    if shown is not None:
        bottom, top = shown
        clear_below = top - top_band * (top - bottom)
        if bottom <= low and high <= clear_below and high - low >= 0.5 * (clear_below - bottom):
            return None
    span = max(high - low, MIN_LOG_SPAN)
    middle = (low + high) / 2
    bottom, top = middle - 0.7 * span, middle + 0.7 * span
    return bottom, round(bottom + (top - bottom) / (1.0 - top_band), 12)


def finite(values) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    return np.where(np.isfinite(array), array, np.nan)


class DecadeAxis(pg.AxisItem):
    """A log axis labelled at 0.1, 1, 10, … (and at 2 and 5 too while fewer than two decades
    show), with unlabelled minor ticks. pyqtgraph labels all of 2..9 on a short range: on a
    small plot the labels pile up on each other. Over many decades (a gradient norm from
    1e-12 to 10 on a plot 70 pixels high) only every second, third, … decade is labelled, so
    that labels stay ``LABEL_SPACING`` pixels apart."""

    LABEL_SPACING = 18  # pixels between labels: a line of the axis font and a gap

    def __init__(self, orientation: str):
        super().__init__(orientation)
        self.setStyle(maxTextLevel=0)

    def logTickValues(self, minVal, maxVal, size, stdTicks):  # noqa: N802, N803 - pyqtgraph's
        decades = range(math.floor(minVal), math.ceil(maxVal) + 1)
        shown = sum(minVal <= d <= maxVal for d in decades)
        labelled_steps = (1, 2, 5) if shown < 2 else (1,)
        every = self._decades_per_label(maxVal - minVal, size)
        minor_steps = range(1, 10) if every == 1 else (1,)  # 2..9 would be a grey smear
        labelled, minor = [], []
        for decade in decades:
            for step in minor_steps:
                value = decade + math.log10(step)
                if not minVal <= value <= maxVal:
                    continue
                is_label = step in labelled_steps and decade % every == 0
                (labelled if is_label else minor).append(value)
        return [(None, labelled), (None, minor)]

    def _decades_per_label(self, span: float, size: float) -> int:
        """1, 2, 3, … so that labelled decades are at least LABEL_SPACING pixels apart."""
        if span <= 0 or size <= 0:
            return 1
        pixels_per_decade = size / span
        return max(1, math.ceil(self.LABEL_SPACING / pixels_per_decade))


class HoverReadout:
    """A vertical line and a label that follow the mouse and show the nearest epoch's values."""

    def __init__(self, plot: pg.PlotWidget, series):
        self.plot = plot
        self.series = series  # callable -> (epochs array, {label: values})
        self.line = pg.InfiniteLine(angle=90, pen=pen("#94a3b8", 1, dashed=True))
        self.label = pg.TextItem(
            color=style.TEXT, anchor=(0, 0), fill=pg.mkBrush(255, 255, 255, 225)
        )
        for item in (self.line, self.label):
            item.setVisible(False)
            item.setZValue(100)
            plot.addItem(item, ignoreBounds=True)
        self.proxy = pg.SignalProxy(plot.scene().sigMouseMoved, rateLimit=30, slot=self._moved)

    def _moved(self, event) -> None:
        position = event[0]
        view = self.plot.getPlotItem().vb
        epochs, values = self.series()
        if len(epochs) == 0 or not self.plot.sceneBoundingRect().contains(position):
            self.hide()
            return
        x = view.mapSceneToView(position).x()
        index = int(np.argmin(np.abs(epochs - x)))
        lines = [f"epoch {int(epochs[index])}"]
        for label, series in values.items():
            if index < len(series) and np.isfinite(series[index]):
                lines.append(f"{label}: {series[index]:.4g}")
        self.line.setPos(epochs[index])
        self.label.setText("\n".join(lines))
        top_left = view.viewRange()
        self.label.setPos(epochs[index], top_left[1][1])
        self.line.setVisible(True)
        self.label.setVisible(True)

    def hide(self) -> None:
        self.line.setVisible(False)
        self.label.setVisible(False)
