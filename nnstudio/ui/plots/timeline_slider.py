"""The run timeline under the Training tab's plots: a slider over the epochs a run kept, a
line saying where it is, and a marker at that epoch on every curve.

``TimelineSlider`` (objectName ``timelineSlider``) is a QSlider whose value is an epoch
number; it snaps to the epochs the timeline kept (all of them, until the memory bound thinned
the older ones). ``TimelineBar`` puts it in a row with its words; ``EpochMarkers`` draws the
marker on the four training plots. Neither knows about runs or models: the window's
TimelineController (nnstudio.ui.window.timeline) gives them epochs and listens.
"""

from __future__ import annotations

import bisect

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMenu, QSlider, QToolButton, QWidget

from nnstudio.ui import style
from nnstudio.ui.widgets.steady_box import SteadyBox


class TimelineSlider(QSlider):
    """A horizontal slider over kept epochs. ``epoch_chosen(epoch, at_end)`` follows every
    move (drag, keys, wheel, ``setValue``), once snapped to a kept epoch."""

    epoch_chosen = Signal(int, bool)

    def __init__(self, parent=None):
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.setObjectName("timelineSlider")
        self.setTickPosition(QSlider.TickPosition.NoTicks)
        self.setPageStep(10)
        self._epochs: list[int] = []
        self._context_actions: list = []
        self.setToolTip(
            "The run's timeline: drag back to see the network as it was at that epoch "
            "(boundary, weights, histograms, a marker on every curve); right-click to "
            "continue from there as a new run. At the right end: the current model."
        )
        self.valueChanged.connect(self._snap)
        self.setRange(0, 0)
        self.setEnabled(False)

    @property
    def epochs(self) -> list[int]:
        return list(self._epochs)

    def at_end(self) -> bool:
        return not self._epochs or self.value() >= self._epochs[-1]

    def set_epochs(self, epochs: list[int]) -> None:
        """The kept epochs (sorted). A slider at the end stays at the (new) end; one on a past
        epoch stays there, or moves to the nearest kept one (announced) when it was thinned."""
        epochs = list(epochs)
        if epochs == self._epochs:
            return
        follow, old = self.at_end(), self.value()
        self._epochs = epochs
        self.setEnabled(len(epochs) > 1)
        blocked = self.blockSignals(True)
        self.setRange(epochs[0], epochs[-1]) if epochs else self.setRange(0, 0)
        target = (epochs[-1] if follow else self.nearest(old)) if epochs else 0
        self.setValue(target)
        self.blockSignals(blocked)
        if not follow and target != old:
            self.epoch_chosen.emit(target, self.at_end())

    def nearest(self, epoch: int) -> int:
        if not self._epochs:
            return epoch
        index = bisect.bisect_left(self._epochs, epoch)
        candidates = self._epochs[max(0, index - 1) : index + 1]
        return min(candidates, key=lambda e: (abs(e - epoch), e))

    def _snap(self, value: int) -> None:
        kept = self.nearest(value)
        if kept != value:
            self.setValue(kept)  # valueChanged comes back here with a kept epoch
            return
        self.epoch_chosen.emit(kept, self.at_end())

    def add_context_action(self, action) -> None:
        self._context_actions.append(action)

    def contextMenuEvent(self, event) -> None:  # noqa: N802 - Qt override
        if not self._context_actions:
            return
        menu = QMenu(self)
        menu.addActions(self._context_actions)
        menu.exec(event.globalPos())


class TimelineBar(QWidget):
    """ "Timeline" · the slider · "Epoch k of n" · a note when older epochs were thinned."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("timelineBar")
        self.slider = TimelineSlider()
        title = QLabel("Timeline")
        title.setObjectName("sectionTitle")
        self.position = QLabel()
        self.position.setObjectName("timelinePosition")
        self.position.setMinimumWidth(150)
        self.note = QLabel()
        self.note.setObjectName("timelineNote")
        self.note.setStyleSheet(f"color: {style.MUTED};")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(title)
        layout.addWidget(self.slider, 1)
        # The position and the button change their words with every epoch of a run: held
        # in boxes that pass a new size on, not every new text (see SteadyBox).
        layout.addWidget(SteadyBox(self.position))
        layout.addWidget(self.note)
        # "Branch from epoch k": the window gives it its action (a new run from there).
        self.branch_button = QToolButton()
        self.branch_button.setObjectName("branchButton")
        self.branch_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        layout.addWidget(SteadyBox(self.branch_button))
        self.show_position(None, None)

    def show_position(self, epoch: int | None, last: int | None, note: str = "") -> None:
        if epoch is None or last is None:
            self.position.setText("no epochs yet")
        elif epoch >= last:
            self.position.setText(f"Epoch {last} — now")
        else:
            self.position.setText(f"Epoch {epoch} of {last}")
        self.note.setText("older epochs thinned" if note else "")
        self.note.setToolTip(note)
        self.note.setVisible(bool(note))


class EpochMarkers:
    """A vertical line at one epoch on each training plot, and a dot where each epoch curve
    crosses it (hidden while the timeline is at its end)."""

    def __init__(self, plots):
        self.plots = plots
        self.epoch: int | None = None
        self.lines = []
        self.dots = []
        for widget in self._widgets():
            line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(style.TEXT, width=1))
            line.setZValue(20)
            dots = pg.ScatterPlotItem(size=8, pen=pg.mkPen("w", width=1), brush=style.TEXT)
            dots.setZValue(21)
            for item in (line, dots):
                item.setVisible(False)
                widget.addItem(item, ignoreBounds=True)
            self.lines.append(line)
            self.dots.append(dots)

    def _widgets(self):
        p = self.plots
        return (p.loss_plot, p.accuracy_plot, p.lr_plot, p.grad_plot)

    def _curves(self):
        p = self.plots
        return (
            (p.train_loss, p.val_loss),
            (p.train_acc, p.val_acc),
            (p.lr_curve,),
            tuple(p._grad_curves.values()),
        )

    def show(self, epoch: int) -> None:
        self.epoch = epoch
        for line, dots, curves in zip(self.lines, self.dots, self._curves(), strict=True):
            line.setValue(epoch)
            line.setVisible(True)
            dots.setData(pos=self._points(curves, epoch))
            dots.setVisible(True)

    def hide(self) -> None:
        self.epoch = None
        for item in (*self.lines, *self.dots):
            item.setVisible(False)

    def dot_count(self) -> int:
        """How many curve points are marked (tests read it)."""
        return sum(len(dots.data) for dots in self.dots if dots.isVisible())

    @staticmethod
    def _points(curves, epoch: int) -> list[tuple[float, float]]:
        points = []
        for curve in curves:
            x, y = curve.xData, curve.yData
            if x is None or y is None or not len(x):
                continue
            hits = np.flatnonzero(np.asarray(x) == epoch)
            if hits.size and np.isfinite(y[hits[0]]):
                value = float(y[hits[0]])
                log = curve.getViewBox() is not None and curve.opts.get("logMode", [0, 0])[1]
                points.append((float(epoch), np.log10(value) if log and value > 0 else value))
        return points
