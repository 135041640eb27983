"""LRFinderDialog: the learning-rate range test in the window — loss against rate on a log axis,
the suggested rate marked, and "Use this rate".

The test itself (engine/fit/lr_finder.py) runs as a job on a worker thread (ui/widgets/jobs.py),
so the window keeps painting; the dialog only draws the answer.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from nnstudio.ui import style
from nnstudio.ui.widgets.jobs import JobRunner

WAITING = "Running the range test on a copy of the network (your weights are not touched)…"


def _rate(value: float) -> str:
    return f"{value:.2g}"


class LRFinderDialog(QDialog):
    """``start(function)`` runs ``function(job) -> LRFinderResult`` on a worker thread and
    shows the curve; "Use this rate" emits ``rate_chosen(rate)`` and closes."""

    rate_chosen = Signal(float)
    result_shown = Signal(object)  # the LRFinderResult drawn (tests wait for it)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("lrFinderDialog")
        self.setWindowTitle("Find learning rate")
        self.resize(620, 440)
        self.result = None
        self.plot = pg.PlotWidget()
        self.plot.setObjectName("lrFinderPlot")
        self.plot.setLogMode(x=True)  # the rates span eight decades
        self.plot.setLabel("bottom", "learning rate")
        self.plot.setLabel("left", "smoothed loss")
        self.plot.showGrid(x=True, y=True, alpha=0.15)
        self.curve = self.plot.plot(pen=pg.mkPen(style.TRAIN_COLOR, width=2))
        self.marker = pg.InfiniteLine(angle=90, pen=pg.mkPen(style.VAL_COLOR, width=2))
        self.marker.setVisible(False)
        self.plot.addItem(self.marker)
        self.message = QLabel(WAITING)
        self.message.setObjectName("lrFinderMessage")
        self.message.setWordWrap(True)
        self.use_button = QPushButton("Use this rate")
        self.use_button.setObjectName("useRateButton")
        self.use_button.setEnabled(False)
        self.use_button.clicked.connect(self._use)
        close = QPushButton("Close")
        close.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.use_button)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        self.jobs = JobRunner(self)
        self.jobs.done.connect(self.show_result)
        self.jobs.failed.connect(self._failed)

    def start(self, function) -> None:
        self.message.setText(WAITING)
        self.use_button.setEnabled(False)
        self.jobs.start(function)

    def show_result(self, result) -> None:
        self.result = result
        lrs, losses = np.asarray(result.lrs, float), np.asarray(result.losses, float)
        self.curve.setData(lrs, losses)
        if len(lrs):
            self.marker.setValue(math.log10(result.suggested_lr))  # log mode: x is log10
            self.marker.setVisible(True)
        self.message.setText(
            f"Suggested learning rate: <b>{_rate(result.suggested_lr)}</b> — a tenth of "
            f"{_rate(result.min_loss_lr)}, where the loss was lowest before it "
            f"{'blew up' if result.stopped == 'exploded' else 'stopped falling'}."
        )
        self.use_button.setEnabled(len(lrs) > 0)
        self.result_shown.emit(result)

    def _failed(self, error) -> None:
        self.message.setText(f"The range test failed: {error}")

    def _use(self) -> None:
        if self.result is not None:
            self.rate_chosen.emit(float(f"{self.result.suggested_lr:.2g}"))
            self.accept()

    def done(self, code: int) -> None:  # noqa: D401 - Qt override: closing stops the job
        self.jobs.cancel()
        super().done(code)
