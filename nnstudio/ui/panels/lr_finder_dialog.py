"""LRFinderDialog: the learning-rate range test in the window — loss against rate on a log axis,
the suggested rate marked, and "Use this rate". The test starts from fresh weights (as the
next run would); "From the current weights" runs it again on the model's own, for fine-tuning.

The test itself (engine/fit/lr_finder.py) runs as a job on a worker thread (ui/widgets/jobs.py),
so the window keeps painting; the dialog only draws the answer.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
)

from nnstudio.ui import style
from nnstudio.ui.plots import pg
from nnstudio.ui.widgets.jobs import JobRunner

WAITING = "Running the range test on a copy of the network (your weights are not touched)…"
FROM_CURRENT_TIP = (
    "Off: the copy starts from fresh weights (the project's initializer and seed), as the next "
    "run does. On: from the model's current weights, to pick a rate for fine-tuning them."
)


def _rate(value: float) -> str:
    return f"{value:.2g}"


class LRFinderDialog(QDialog):
    """``start(function)`` runs ``function(job) -> LRFinderResult`` on a worker thread and
    shows the curve; "Use this rate" emits ``rate_chosen(rate)`` and closes."""

    rate_chosen = Signal(float)
    result_shown = Signal(object)  # the LRFinderResult drawn (tests wait for it)
    from_current_changed = Signal(bool)  # run the test again, from these weights

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
        for side in ("bottom", "left"):  # plain rates and losses, never "(x0.001)"
            self.plot.getAxis(side).enableAutoSIPrefix(False)
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
        self.from_current_box = QCheckBox("From the current weights (fine-tuning)")
        self.from_current_box.setObjectName("lrFromCurrent")
        self.from_current_box.setToolTip(FROM_CURRENT_TIP)
        self.from_current_box.toggled.connect(self.from_current_changed)
        buttons = QHBoxLayout()
        buttons.addWidget(self.from_current_box)
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
        self.marker.setVisible(False)
        self.curve.setData([], [])
        self.jobs.start(function)  # a test still running is cancelled

    def show_result(self, result) -> None:
        self.result = result
        lrs, losses = np.asarray(result.lrs, float), np.asarray(result.losses, float)
        self.curve.setData(lrs, losses)
        suggested = result.suggested_lr
        if suggested is not None:
            self.marker.setValue(math.log10(suggested))  # log mode: x is log10
        self.marker.setVisible(suggested is not None)
        self.message.setText(self._verdict(result))
        self.use_button.setEnabled(suggested is not None)
        self.result_shown.emit(result)

    @staticmethod
    def _verdict(result) -> str:
        start = "the current weights" if result.from_current else "fresh weights"
        if result.suggested_lr is None:
            return f"From {start}: {result.advice}"
        return (
            f"From {start}: suggested learning rate <b>{_rate(result.suggested_lr)}</b> — a "
            f"tenth of {_rate(result.min_loss_lr)}, where the loss was lowest before it "
            f"{'blew up' if result.stopped == 'exploded' else 'stopped falling'}."
        )

    def _failed(self, error) -> None:
        self.message.setText(f"The range test failed: {error}")

    def _use(self) -> None:
        if self.result is not None and self.result.suggested_lr is not None:
            self.rate_chosen.emit(float(f"{self.result.suggested_lr:.2g}"))
            self.accept()

    def done(self, code: int) -> None:  # noqa: D401 - Qt override: closing stops the job
        self.jobs.cancel()
        super().done(code)
