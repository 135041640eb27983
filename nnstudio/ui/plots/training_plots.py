"""Live training curves: loss, accuracy, learning rate and per-layer gradient norms.

Follows the pyqtgraph advice for live data: the curve items are made once and fed with
``setData``; incoming points only append to lists and mark the plots dirty, and a QTimer redraws.
Every redraw is GUI-thread time taken from the training thread (the GIL, and a core its matrix
products use), so the redraws are rationed:

- each timer tick refreshes ONE dirty plot, so every GUI event stays short;
- the loss plot, dirtied by every batch, is redrawn at most every ``LOSS_REDRAW_S`` seconds; the
  other plots only change at the end of an epoch and follow on the next ticks, each at most
  every ``EPOCH_REDRAW_S`` seconds (short epochs end faster than that);
- plots on a hidden tab are not drawn at all: they stay dirty and catch up when shown;
- the axes (which also draw the grid) are cached as pixmaps, so a new curve point does not
  re-render their text and lines unless the range moved. During a run the epoch axis is fixed
  to the planned epochs, and the loss and gradient axes only move when a value leaves their
  range (see ``_fit_loss_range``, ``_fit_grad_range``), not each time the lowest value drops a
  little;
- titles, legends and the epoch curves are cached as pixmaps too (``keep_drawn``): the loss
  plot, repainted for its batch losses, copies them instead of drawing them again.
"""

from __future__ import annotations

import csv
import math
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QGraphicsItem, QGridLayout, QWidget

from nnstudio.ui import style
from nnstudio.ui.plots.curve_items import (
    LEGEND,
    DecadeAxis,
    HoverReadout,
    epoch_curve,
    finite,
    keep_curve_drawn,
    keep_drawn,
    keep_legend_drawn,
    pen,
    set_epoch_data,
    steady_log_range,
)
from nnstudio.ui.plots.legend_fit import FittingLegend

REDRAW_MS = 200  # one plot per tick
# The per-batch loss curve: once a second is live enough. Each redraw repaints the plot on
# the GUI thread, taken from training's two cores (at 2.5 a second it was most of what the
# window cost a run, issue 39).
LOSS_REDRAW_S = 1.0
# The accuracy, learning-rate and gradient plots: the MNIST MLP ends an epoch every 1.4 s, and
# each of their redraws (a few milliseconds each, three an epoch) is GUI time taken from
# training (issue 39). A point every other epoch is still live.
EPOCH_REDRAW_S = 2.0
DUE_SLACK_S = 0.005  # a coarse QTimer may fire a few ms early: that still counts as due
PLOT_ORDER = ("loss", "accuracy", "lr", "grad")
HISTOGRAM_SECONDS = 2.0
# The gradient legend sits GRAD_LEGEND_OFFSET pixels below the plot's top and shows only while
# it takes at most LEGEND_SHARE of the plot's height (that band is kept clear of curves).
GRAD_LEGEND_OFFSET = 2
LEGEND_SHARE = 0.45
FEW_BATCHES = 3  # the loss plot dots its batch losses while a run has this many or fewer
EPOCH_SERIES = ("loss", "val_loss", "accuracy", "val_accuracy", "lr")
_now = time.monotonic  # the clock the redraw rationing reads (tests replace it)


TITLE_POINT_SIZE = 10
LEFT_AXIS_ROOM = 64  # pixels: the left axis with its label and tick numbers, beside the title


def _room_for_title(title: str) -> int:
    """The width a plot needs for its title whole: pyqtgraph never squeezes a title, so a
    narrower plot cuts it ("Gradient norm per laye")."""
    font = QFont()
    font.setPointSize(TITLE_POINT_SIZE)
    return LEFT_AXIS_ROOM + QFontMetrics(font).horizontalAdvance(title) + 8


class TrainingPlots(QWidget):
    """Four live plots (loss, accuracy, learning rate, gradient norms) with run overlays."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.loss_plot = self._make_plot("lossPlot", "Loss", "loss")
        self.accuracy_plot = self._make_plot("accuracyPlot", "Accuracy", "accuracy")
        self.lr_plot = self._make_plot("learningRatePlot", "Learning rate", "lr")
        self.grad_plot = self._make_plot(
            "gradientNormPlot", "Gradient norm per layer", "norm", left_axis=DecadeAxis("left")
        )
        # Gradient norms span decades: a log axis keeps every layer readable.
        self.grad_plot.setLogMode(y=True)
        # A loss of 0.8 reads 0.8, never "800" under a "(x0.001)" label; and a range change
        # does not set the other axes' labels anew (an HTML layout each, the hidden ones too).
        for plot in (self.loss_plot, self.accuracy_plot, self.grad_plot, self.lr_plot):
            for axis in ("left", "bottom", "right", "top"):
                plot.getAxis(axis).enableAutoSIPrefix(False)
        self.accuracy_plot.setYRange(0, 1)
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(self.loss_plot, 0, 0)
        layout.addWidget(self.accuracy_plot, 0, 1)
        layout.addWidget(self.lr_plot, 1, 0)
        layout.addWidget(self.grad_plot, 1, 1)
        layout.setRowStretch(0, 3)
        layout.setRowStretch(1, 2)
        self._make_curves()
        self._overlay_items: list = []
        self._grad_curves: dict[str, pg.PlotDataItem] = {}
        self._drawn = dict.fromkeys(PLOT_ORDER, -1e9)  # _now() of each plot's last redraw
        self._epoch_turns = list(PLOT_ORDER[1:])  # the epoch plots, least recently drawn first
        self._loss_range: tuple[float, float] | None = None  # the y range this code last set
        self._grad_range: tuple[float, float] | None = None  # the same for the gradient norms
        # The loss plot is redrawn for new batches far more often than epochs end: its epoch
        # curves are set again only when self.epochs changed (counted here), since each
        # setData re-lays-out and repaints a curve and its dots.
        self._epoch_version = 0
        self._loss_epoch_version = -1  # the epochs the loss plot's epoch curves show
        self._timer = QTimer(self, singleShot=True, interval=REDRAW_MS, timeout=self._redraw)
        self.clear()
        self._hovers = [
            HoverReadout(self.loss_plot, lambda: self._hover_series(("loss", "val_loss"))),
            HoverReadout(
                self.accuracy_plot, lambda: self._hover_series(("accuracy", "val_accuracy"))
            ),
            HoverReadout(self.lr_plot, lambda: self._hover_series(("lr",))),
        ]

    # -- construction ---------------------------------------------------------------------------

    def _make_plot(self, name: str, title: str, y_label: str, left_axis=None) -> pg.PlotWidget:
        plot = pg.PlotWidget(axisItems={"left": left_axis} if left_axis is not None else None)
        plot.setObjectName(name)
        plot.setTitle(title, color=style.TEXT, size=f"{TITLE_POINT_SIZE}pt")
        keep_drawn(plot.getPlotItem().titleLabel.item)
        plot.setLabel("bottom", "epoch")
        plot.setLabel("left", y_label)
        plot.showGrid(x=True, y=True, alpha=0.15)
        plot.setMenuEnabled(True)
        plot.setToolTip(
            f"{title}. Hover to read values; drag to pan, wheel to zoom, "
            "right-click for options (log scale, export)."
        )
        plot.setMinimumSize(max(200, _room_for_title(title)), 130)
        for name in ("left", "bottom"):
            # Repainted from a pixmap unless the axis itself changed (pyqtgraph calls update()
            # on a range or size change, which drops the cached pixmap).
            plot.getAxis(name).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        return plot

    def _make_curves(self) -> None:
        loss_item = self.loss_plot.getPlotItem()
        loss_item.setClipToView(True)
        loss_item.setDownsampling(auto=True, mode="peak")
        self.loss_plot.addLegend(offset=(-10, 10), **LEGEND)
        # Thousands of faint segments: no antialiasing and "finite" gaps keep them cheap.
        self.batch_curve = self.loss_plot.plot(
            pen=pen(style.BATCH_COLOR, 1), name="batch", antialias=False, connect="finite"
        )
        # Dots while a run has only its first few batches (see _dot_few_batches).
        self.batch_curve.setSymbolBrush(pg.mkBrush(style.BATCH_COLOR))
        self.batch_curve.setSymbolPen(None)
        self.batch_curve.setSymbolSize(5)
        self.train_loss = epoch_curve(self.loss_plot, style.TRAIN_COLOR, "train")
        self.val_loss = epoch_curve(self.loss_plot, style.VAL_COLOR, "validation", dashed=True)
        self.accuracy_plot.addLegend(offset=(-10, -10), **LEGEND)
        self.train_acc = epoch_curve(self.accuracy_plot, style.TRAIN_COLOR, "train")
        self.val_acc = epoch_curve(self.accuracy_plot, style.VAL_COLOR, "validation", dashed=True)
        self.lr_curve = epoch_curve(self.lr_plot, style.LR_COLOR)
        # As many entries a row as fit, the layers' numbers alone on a small plot.
        self.grad_plot.addLegend(offset=(6, GRAD_LEGEND_OFFSET), colCount=2, horSpacing=0, **LEGEND)
        self._grad_legend = FittingLegend(self.grad_plot)
        self.grad_plot.getViewBox().sigResized.connect(lambda _view: self._show_grad_legend())
        self._keep_legends_drawn()

    def _keep_legends_drawn(self) -> None:
        """After entries were added (see keep_drawn)."""
        for plot in (self.loss_plot, self.accuracy_plot, self.grad_plot):
            keep_legend_drawn(plot)

    # -- data in --------------------------------------------------------------------------------

    def clear(self) -> None:
        """Forget the current run's curves (overlays stay)."""
        self.epochs: list[dict] = []
        self._epoch_version += 1
        self.batch_x: list[float] = []
        self.batch_y: list[float] = []
        # (epoch position, rate) as the batches report it: what the learning-rate plot shows
        # until the first epoch ends (a run that blows up in it has no epoch rate at all).
        self.batch_rates: list[tuple[float, float]] = []
        self._planned_epochs = 0  # the next run sets its own (set_planned_epochs)
        # The per-batch points already converted to arrays: a redraw converts only the new ones.
        self._batch_arrays = (np.empty(0), np.empty(0))
        # The layers' gradient curves stay, emptied, with their legend hidden: the next run
        # of the same network uses them again (making one takes milliseconds of its first
        # epoch); _redraw_gradients drops those of layers that are gone.
        for curve in self._grad_curves.values():
            curve.setData([], [])
        self.grad_plot.getPlotItem().legend.setVisible(False)
        self._loss_range = self._grad_range = None
        self._forget_y_range(self.loss_plot)
        self.grad_plot.getViewBox().enableAutoRange(y=True)  # ours again (_fit_grad_range)
        self._dirty = set(PLOT_ORDER)
        self.redraw_all()
        self._fit_epoch_axis()  # the epoch axis too: the next run sets its own

    @staticmethod
    def _forget_y_range(plot: pg.PlotWidget) -> None:
        """An emptied plot starts over, as in a new window: a blown-up run's range (losses of
        1e6, a rate of 10) would stay on the empty axis and squash the next run's curve.
        Overlaid runs are fitted again by the redraw that follows."""
        view = plot.getViewBox()
        view.setYRange(0, 1, padding=0)  # pyqtgraph's auto-range keeps any range without data
        view.enableAutoRange(y=True)

    def set_planned_epochs(self, epochs: int) -> None:
        """Fix the epoch axis to 0..epochs for a run (0: follow the data again)."""
        self._planned_epochs = epochs
        self._fit_epoch_axis()

    def _fit_epoch_axis(self) -> None:
        """Epochs from 0 to the longest of the plan, the live run and every overlaid run, so
        a run with more epochs is not cut off and one with fewer is not squeezed."""
        planned = self._planned_epochs
        overlaid = [
            len(item.xData) for _plot, item in self._overlay_items if item.xData is not None
        ]
        longest = max([planned, len(self.epochs), *overlaid])
        for plot in (self.loss_plot, self.accuracy_plot, self.lr_plot, self.grad_plot):
            if planned > 0 or overlaid:
                plot.setXRange(0, max(longest, 1), padding=0.02)
                continue
            if not self.epochs:  # empty: a new window's axis, not the last run's epochs
                plot.setXRange(0, 1, padding=0)
            plot.enableAutoRange(axis="x")

    def set_task(self, task: str) -> None:
        """Accuracy only means something for classification."""
        self.accuracy_plot.setVisible(task != "regression")

    def add_batches(self, losses, rate: float | None = None) -> None:
        """Append per-batch losses as (fractional epoch, loss) pairs; ``rate`` is the learning
        rate of the last of them, shown until the first epoch's rate comes."""
        for x, y in losses:
            self.batch_x.append(float(x))
            self.batch_y.append(float(y) if math.isfinite(y) else float("nan"))
        if rate is None or not self.batch_x or not math.isfinite(rate) or self.epochs:
            self._schedule("loss")
            return
        self.batch_rates.append((self.batch_x[-1], float(rate)))
        self._schedule("loss", "lr")

    def add_epochs(self, epochs) -> None:
        first = not self.epochs
        self.epochs.extend(dict(epoch) for epoch in epochs)
        self._epoch_version += 1
        self._schedule(*PLOT_ORDER)
        if first and self.epochs and not self._on_hidden_tab():
            self.redraw_all()  # empty plots would otherwise wait their turn for a first point

    def set_history(self, history) -> None:
        """Show a finished history (e.g. after opening a project) instead of the live run."""
        self.clear()
        self.add_epochs(history or [])

    def set_overlays(self, runs) -> None:
        """Draw other runs' epoch curves behind the live ones: [(label, history), ...]."""
        for plot, item in self._overlay_items:
            plot.removeItem(item)
            legend = plot.getPlotItem().legend
            if legend is not None:
                legend.removeItem(item)
        self._overlay_items = []
        for index, (label, history) in enumerate(runs):
            color = style.RUN_COLORS[index % len(style.RUN_COLORS)]
            self._add_overlay(label, history, color)
        self._keep_legends_drawn()
        self._fit_epoch_axis()
        # The loss axis must hold the other runs' curves too, also when no new loss comes.
        self._fit_loss_range(self._batch_data()[1], self.series("loss"), self.series("val_loss"))

    def _add_overlay(self, label: str, history, color: str) -> None:
        x = np.array([h["epoch"] for h in history], dtype=float)
        pairs = [
            (self.loss_plot, "val_loss"),
            (self.loss_plot, "loss"),
            (self.accuracy_plot, "val_accuracy"),
            (self.accuracy_plot, "accuracy"),
        ]
        for plot, key in pairs:
            y = finite([h.get(key, np.nan) if h.get(key) is not None else np.nan for h in history])
            if not np.isfinite(y).any():
                continue
            dashed = key.startswith("val")
            item = pg.PlotDataItem(x, y, pen=pen(color, 1.4, dashed), connect="finite")
            item.setOpacity(0.75)
            keep_curve_drawn(item)  # another run's curve does not change while this one trains
            item.setToolTip(f"{label}: {key}")
            plot.addItem(item)
            legend = plot.getPlotItem().legend
            if legend is not None and not dashed:  # one entry per run: its training curve
                legend.addItem(item, label)
            self._overlay_items.append((plot, item))

    def _schedule(self, *plots: str) -> None:
        self._dirty.update(plots)
        if not self._timer.isActive() and not self._on_hidden_tab():
            self._timer.start(self._next_delay())

    def _on_hidden_tab(self) -> bool:
        """True when the window is shown but these plots are not (another tab is current):
        drawing now would be wasted, ``showEvent`` catches up. Plots that were never shown
        (tests, exports) keep drawing on the timer."""
        window = self.window()
        return window is not self and window.isVisible() and not self.isVisible()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if self._dirty:
            self.redraw_all()  # what arrived while the tab was hidden

    # -- drawing --------------------------------------------------------------------------------

    def series(self, key: str) -> np.ndarray:
        return finite([e.get(key) if e.get(key) is not None else np.nan for e in self.epochs])

    def epoch_numbers(self) -> np.ndarray:
        return np.array([e.get("epoch", i + 1) for i, e in enumerate(self.epochs)], dtype=float)

    def _hover_series(self, keys):
        names = {
            "loss": "train",
            "val_loss": "validation",
            "accuracy": "train",
            "val_accuracy": "validation",
            "lr": "learning rate",
        }
        return self.epoch_numbers(), {names[k]: self.series(k) for k in keys}

    def _redraw(self) -> None:
        """Refresh one dirty plot, the loss when it is due, else the next epoch plot; come back
        for the rest on a later tick."""
        if self._on_hidden_tab():
            return  # stays dirty until shown
        name = self._next_plot(_now())
        if name is not None:
            self._draw_plot(name)
        if self._dirty:
            self._timer.start(self._next_delay())

    def _wait(self, name: str, now: float) -> float:
        """Seconds until the plot ``name`` may be redrawn again."""
        every = LOSS_REDRAW_S if name == "loss" else EPOCH_REDRAW_S
        wait = self._drawn[name] + every - now
        return wait if wait > DUE_SLACK_S else 0.0

    def _next_plot(self, now: float) -> str | None:
        if "loss" in self._dirty and self._wait("loss", now) == 0.0:
            return "loss"
        # Epoch plots take turns: with epochs ending faster than ticks come (small data sets),
        # a fixed order would redraw the first of them every time and never reach the others.
        due = (name for name in self._epoch_turns if name in self._dirty)
        return next((name for name in due if self._wait(name, now) == 0.0), None)

    def _next_delay(self) -> int:
        """Milliseconds to the next tick: one tick while a plot is due, else until the first
        one is."""
        now = _now()
        soonest = min(self._wait(name, now) for name in self._dirty)
        return REDRAW_MS if soonest == 0.0 else max(1, math.ceil(1000 * soonest))

    def _draw_plot(self, name: str) -> None:
        self._dirty.discard(name)
        self._drawn[name] = _now()
        if name != "loss":  # to the back of the queue
            self._epoch_turns.remove(name)
            self._epoch_turns.append(name)
        self._draw(name)

    def redraw_all(self) -> None:
        """Refresh every dirty plot at once (when not training, or before an export)."""
        for name in PLOT_ORDER:
            if name in self._dirty:
                self._draw_plot(name)
        self._timer.stop()

    def _batch_data(self) -> tuple[np.ndarray, np.ndarray]:
        x, y = self._batch_arrays
        if len(x) > len(self.batch_x):  # the lists were replaced (clear)
            x, y = np.empty(0), np.empty(0)
        if len(x) < len(self.batch_x):
            start = len(x)
            x = np.concatenate([x, np.asarray(self.batch_x[start:], dtype=float)])
            y = np.concatenate([y, finite(self.batch_y[start:])])
            self._batch_arrays = (x, y)
        return x, y

    def _draw(self, name: str) -> None:
        x = self.epoch_numbers()
        if name == "loss":
            batch_x, batch_y = self._batch_data()
            self._set_batch_data(batch_x, batch_y)
            train, val = self.series("loss"), self.series("val_loss")
            if self._loss_epoch_version != self._epoch_version:
                self._loss_epoch_version = self._epoch_version
                set_epoch_data(self.train_loss, x, train)
                set_epoch_data(self.val_loss, x, val)
            self._fit_loss_range(batch_y, train, val)
        elif name == "accuracy":
            set_epoch_data(self.train_acc, x, self.series("accuracy"))
            set_epoch_data(self.val_acc, x, self.series("val_accuracy"))
        elif name == "lr":
            self._draw_rates(x)
        else:
            self._redraw_gradients(x)

    def _set_batch_data(self, x: np.ndarray, y: np.ndarray) -> None:
        """The batch losses, each with a dot while there are only a few: a line through one
        point is invisible, and a run that blew up at its second batch showed an empty plot.
        (Not with a NaN among them: pyqtgraph's bounds of dotted NaNs warn.)"""
        dotted = 0 < len(x) <= FEW_BATCHES and bool(np.isfinite(y).all())
        if dotted != (self.batch_curve.opts["symbol"] is not None):
            self.batch_curve.setSymbol("o" if dotted else None)
        self.batch_curve.setData(x, y)

    def _draw_rates(self, x: np.ndarray) -> None:
        """The rate of each epoch; before the first epoch ends, the rate of the batches the
        loss plot shows (a run that blew up in its first epoch still shows the rate it used).
        Nothing at all (a new run): the empty axis of a new window, not the last run's."""
        rates = self.series("lr")
        if not np.isfinite(rates).any() and self.batch_rates:
            x, rates = np.array(self.batch_rates, dtype=float).T
        set_epoch_data(self.lr_curve, x, rates)
        top = np.nanmax(rates) if np.isfinite(rates).any() else 0.0
        if top > 0:  # from 0, so a schedule's decay reads as a shape (a flat rate is not zoomed)
            self.lr_plot.setYRange(0, top * 1.15, padding=0)
        else:
            self._forget_y_range(self.lr_plot)

    def _fit_loss_range(self, *series: np.ndarray) -> None:
        """Auto-range for the loss axis, with slack: the range moves only when a loss leaves it
        (or the losses shrink to under half of it), and starts from 0 when the losses span more
        than half of 0..highest. pyqtgraph's own auto-range moves the axis whenever the lowest
        batch loss drops, which re-renders the axis and grid at nearly every redraw. Hands off
        once the user has zoomed or panned, until they ask for auto-range again ("A" button,
        "View all"); in log mode pyqtgraph's auto-range is used."""
        view = self.loss_plot.getViewBox()
        if self.loss_plot.getPlotItem().ctrl.logYCheck.isChecked():
            if self._loss_range is not None:
                self._loss_range = None
                view.enableAutoRange(y=True)
            return
        if view.autoRangeEnabled()[1]:
            self._loss_range = None  # auto-range (first draw, or asked for): ours to manage
        elif self._loss_range is None or not np.allclose(view.viewRange()[1], self._loss_range):
            return  # the user zoomed or panned: keep their view
        overlays = [item.yData for plot, item in self._overlay_items if plot is self.loss_plot]
        values = [np.asarray(v)[np.isfinite(v)] for v in (*series, *overlays) if v is not None]
        values = [v for v in values if len(v)]
        if not values:
            return
        low, high = min(v.min() for v in values), max(v.max() for v in values)
        if self._loss_range is not None:
            bottom, top = self._loss_range
            if bottom <= low and high <= top and high - low >= 0.5 * (top - bottom):
                return
        span = max(high - low, abs(high) * 1e-3, 1e-12)
        bottom, top = low - 0.15 * span, high + 0.05 * span
        if low >= 0 and high - low < 0.01 * high:
            # One loss so far (a run that blew up at its second batch) or all alike: from 0,
            # not an axis zoomed into its last digits (1.22975 … 1.22995).
            bottom, top = 0.0, 1.05 * high
        elif 0 <= low < 0.5 * high:
            bottom = 0.0  # a loss falling towards 0 reads best on an axis from 0
        view.setYRange(bottom, top, padding=0)
        self._loss_range = tuple(view.viewRange()[1])

    def _redraw_gradients(self, x: np.ndarray) -> None:
        names: list[str] = []
        norms: list[np.ndarray] = []
        for epoch in self.epochs:
            for name in epoch.get("grad_norms") or {}:
                if name not in names:
                    names.append(name)
        if names:  # none yet (a new run): the last run's curves wait, emptied
            self._drop_grad_curves_but(names)
        for index, name in enumerate(names):
            curve = self._grad_curves.get(name)
            if curve is None:
                color = style.CLASS_COLORS[index % len(style.CLASS_COLORS)]
                curve = epoch_curve(self.grad_plot, color, name)
                self._grad_curves[name] = curve
                self._grad_legend.fit()
                keep_legend_drawn(self.grad_plot)
            y = [(e.get("grad_norms") or {}).get(name, np.nan) for e in self.epochs]
            # Log axis: clamp zeros so the curve stays drawable.
            norms.append(np.maximum(finite(y), 1e-12))
            set_epoch_data(curve, x, norms[-1])
        self._show_grad_legend()
        self._fit_grad_range(norms)

    def _drop_grad_curves_but(self, names: list[str]) -> None:
        """Remove the curves (and legend entries) of layers not in ``names`` (another
        network's, kept from the last run)."""
        legend = self.grad_plot.getPlotItem().legend
        gone = [name for name in self._grad_curves if name not in names]
        for name in gone:
            curve = self._grad_curves.pop(name)
            self.grad_plot.removeItem(curve)
            legend.removeItem(curve)
        if gone and self._grad_curves:
            self._grad_legend.fit()  # fewer entries may fit with their full names again

    def _fit_grad_range(self, norms: list[np.ndarray]) -> None:
        """The gradient plot's log axis, moved only when a norm leaves it (steady_log_range),
        while it is ours: auto-range (a new run, or the "A" button) or the range this code
        set. The user's zoom or pan stays."""
        view = self.grad_plot.getViewBox()
        if not self.grad_plot.getPlotItem().ctrl.logYCheck.isChecked():  # made linear: theirs
            if self._grad_range is not None:
                self._grad_range = None
                view.enableAutoRange(y=True)
            return
        if view.autoRangeEnabled()[1]:
            self._grad_range = None
        elif self._grad_range is None or not np.allclose(view.viewRange()[1], self._grad_range):
            return
        values = np.concatenate(norms) if norms else np.empty(0)
        values = np.log10(values[np.isfinite(values)])
        if not len(values):
            return
        wanted = steady_log_range(
            self._grad_range, float(values.min()), float(values.max()), self._grad_legend_band()
        )
        if wanted is not None:
            view.setYRange(*wanted, padding=0)
            self._grad_range = tuple(view.viewRange()[1])

    def _show_grad_legend(self) -> None:
        """The legend while the plot has curves and room for it: it takes at most
        LEGEND_SHARE of the height at the top, kept clear of curves (_grad_legend_band). On a
        plot too small for that (1024×600) it would cover the curves with its white box; the
        layers' colours are named beside it anyway, by the weight histograms' titles."""
        has_curves = any(epoch.get("grad_norms") for epoch in self.epochs)
        room = 0 < self._grad_legend_share() <= LEGEND_SHARE
        self.grad_plot.getPlotItem().legend.setVisible(has_curves and room)

    def _grad_legend_share(self) -> float:
        """The share of the gradient plot's height its legend takes, with its offset above and
        below (0 while the plot has no height yet)."""
        legend = self.grad_plot.getPlotItem().legend
        height = self.grad_plot.getViewBox().height()
        if height <= 0:
            return 0.0
        return (legend.boundingRect().height() + 2 * GRAD_LEGEND_OFFSET) / height

    def _grad_legend_band(self) -> float:
        """The share of the gradient plot's height kept free of curves at the top: the shown
        legend's (the norms of the first epochs are the largest and ran under it)."""
        legend = self.grad_plot.getPlotItem().legend
        return self._grad_legend_share() if legend.isVisible() else 0.0

    # -- export ---------------------------------------------------------------------------------

    def export_png(self, path: str) -> None:
        """Save the four plots as one PNG image."""
        self.redraw_all()
        if not self.grab().save(str(path), "PNG"):
            raise OSError(f"Could not write the image {path}. Check the folder is writable.")

    def export_csv(self, path: str) -> None:
        """Save the epoch history (one row per epoch, one column per value) as CSV."""
        self.redraw_all()
        columns = ["epoch", *EPOCH_SERIES[:-1], "lr", "seconds", "samples_per_second"]
        layers: list[str] = []
        for epoch in self.epochs:
            layers += [n for n in (epoch.get("grad_norms") or {}) if n not in layers]
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns + [f"grad_norm {name}" for name in layers])
            for epoch in self.epochs:
                norms = epoch.get("grad_norms") or {}
                row = [epoch.get(column, "") for column in columns]
                writer.writerow(
                    ["" if v is None else v for v in row] + [norms.get(n, "") for n in layers]
                )
