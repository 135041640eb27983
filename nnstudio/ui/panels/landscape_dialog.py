"""LandscapeDialog: the loss on a 2-D slice around the model's weights, as a map, with the
run's path over the epochs projected onto it (nnstudio.project.landscape does the work, on a
worker thread with progress; the model is a copy).

The slice's axes are the two directions the run moved along most (when it has a timeline),
two random directions normalized per unit (Li et al. 2018), or two weights named as See the
math names them (``0.W[1,3]``). The loss is the mean over at most
``MAX_SAMPLES`` validation (or test) samples, so a grid answers in seconds even on MNIST.
"""

from __future__ import annotations

import math
import time

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
)

from nnstudio.project import landscape
from nnstudio.project.evaluation import mean_loss
from nnstudio.project.explain import format_number
from nnstudio.ui import style
from nnstudio.ui.plots import pg
from nnstudio.ui.widgets.dialog_size import resize_within_screen
from nnstudio.ui.widgets.jobs import JobRunner

MAX_SAMPLES = 1000
TARGET_SECONDS = 8.0  # what the default grid may take
PATH = "The run's path (its two main directions)"
OTHER_RUN_COLOURS = ("#ff7f0e", "#e7e7e7", "#17becf", "#d62728", "#bcbd22")
RANDOM, WEIGHTS = "Two random directions (per unit)", "Two weights"


class LandscapeDialog(QDialog):
    """``LandscapeDialog(model, loss, x, y, path, other_paths)``: ``path`` is a list of (epoch,
    name → weights) from the run's timeline (empty when there is none); ``other_paths`` the
    (label, path) of other runs of the same network. Results land in ``self.result``,
    ``self.path`` and ``self.other_paths``."""

    def __init__(self, model, loss, x, y, path=(), other_paths=(), parent=None):
        super().__init__(parent)
        self.setObjectName("landscapeDialog")
        self.setWindowTitle("Loss landscape")
        self.model, self.loss = model, loss
        self.x, self.y = x[:MAX_SAMPLES], y[:MAX_SAMPLES]
        self.weights_by_epoch = list(path)
        # Other runs of the same network: (label, path), drawn on the same slice.
        self.other_runs = list(other_paths)
        self.result, self.path, self.other_paths = None, [], []
        self.runner = JobRunner(self)
        self.runner.done.connect(self._show)
        self.runner.failed.connect(self._failed)
        self.runner.progress.connect(self._progress)
        self._build()
        resize_within_screen(self, 820, 640)

    # -- building ---------------------------------------------------------------------------

    def _build(self) -> None:
        self.mode = QComboBox(objectName="landscapeMode")
        self.mode.addItems(([PATH] if len(self.weights_by_epoch) > 1 else []) + [RANDOM, WEIGHTS])
        self.mode.setToolTip(
            "The run's path: the plane the training moved in most, with its path on it. "
            "Random directions: the loss around all the weights at once. Two weights: how "
            "the loss depends on just those two"
        )
        first, second = _two_first_weights(self.model)
        self.weight_a = QLineEdit(first, objectName="landscapeWeightA")
        self.weight_b = QLineEdit(second, objectName="landscapeWeightB")
        for box in (self.weight_a, self.weight_b):
            box.setToolTip("A weight as See the math names it: 0.W[1,3] or 1.b[0]")
            box.setMaximumWidth(110)
        self.seed = QSpinBox(objectName="landscapeSeed", maximum=1_000_000)
        self.span = QDoubleSpinBox(objectName="landscapeSpan", minimum=0.01, maximum=100.0)
        self.span.setValue(1.0)
        self.span.setToolTip("How far the grid reaches on each axis, either side of the weights")
        self.steps = QSpinBox(objectName="landscapeSteps", minimum=3, maximum=61)
        self.steps.setValue(self._affordable_steps())
        self.steps.setToolTip("Grid points on each axis (the loss is computed steps² times)")
        self.compute_button = QPushButton("Compute", objectName="landscapeCompute")
        self.compute_button.clicked.connect(self.compute)
        self.progress_bar = QProgressBar(objectName="landscapeProgress")
        self.progress_bar.setMaximumWidth(160)
        self.caption = QLabel(
            "Press Compute: the loss at Steps × Steps points around the model's weights.",
            objectName="landscapeCaption",
        )
        self.caption.setWordWrap(True)
        self.mode.currentTextChanged.connect(self._on_mode)
        self._on_mode(self.mode.currentText())
        row = QHBoxLayout()
        for widget in (
            self.mode,
            self.weight_a,
            self.weight_b,
            QLabel("Seed"),
            self.seed,
            QLabel("Span"),
            self.span,
            QLabel("Steps"),
            self.steps,
            self.compute_button,
            self.progress_bar,
        ):
            row.addWidget(widget)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self._build_plot(), 1)
        layout.addWidget(self.caption)

    def _build_plot(self) -> pg.PlotWidget:
        self.plot = pg.PlotWidget(objectName="landscapePlot")
        for side in ("bottom", "left"):
            self.plot.getAxis(side).enableAutoSIPrefix(False)
        self.image = pg.ImageItem()
        self.plot.addItem(self.image)
        # A log scale: the loss far from the weights is often 100× the loss near them.
        self.colour_bar = pg.ColorBarItem(colorMap=pg.colormap.get("viridis"), label="log₁₀ loss")
        self.colour_bar.setImageItem(self.image, insert_in=self.plot.getPlotItem())
        # On the map's colours the legend needs a ground of its own to be read.
        self.plot.addLegend(
            offset=(-10, 10), brush=pg.mkBrush(255, 255, 255, 220), labelTextColor="k"
        )
        self._other_items = []
        self.path_line = self.plot.plot(
            name="this run",
            pen=pg.mkPen("w", width=2),
            symbol="o",
            symbolSize=5,
            symbolBrush=pg.mkBrush(style.VAL_COLOR),
        )
        self.centre = pg.ScatterPlotItem(
            size=14, symbol="star", brush=pg.mkBrush("w"), pen=pg.mkPen("k")
        )
        self.plot.addItem(self.centre)
        return self.plot

    def _affordable_steps(self) -> int:
        """Grid points per axis that answer in about ``TARGET_SECONDS`` (21 for a small
        network; fewer for a CNN on MNIST, whose loss over 1,000 images takes ~0.1 s)."""
        probe = min(len(self.x), 100)
        started = time.perf_counter()
        mean_loss(self.model, self.loss, self.x[:probe], self.y[:probe])
        per_point = (time.perf_counter() - started) * len(self.x) / max(probe, 1)
        steps = int(math.sqrt(TARGET_SECONDS / max(per_point, 1e-6)))
        steps = max(5, min(21, steps))
        return steps if steps % 2 else steps - 1  # odd: the middle point is the weights

    def _on_mode(self, mode: str) -> None:
        by_weight = mode == WEIGHTS
        self.weight_a.setVisible(by_weight)
        self.weight_b.setVisible(by_weight)
        self.seed.setEnabled(mode == RANDOM)
        self.span.setEnabled(mode != PATH)  # the path's own extent sets it

    # -- computing ----------------------------------------------------------------------------

    def directions(self) -> landscape.Directions:
        if self.mode.currentText() == PATH:
            return landscape.path_directions(self._centre(), self.weights_by_epoch)
        if self.mode.currentText() == WEIGHTS:
            return landscape.weight_directions(
                self.model, self.weight_a.text(), self.weight_b.text()
            )
        return landscape.random_directions(self.model, self.seed.value())

    def compute(self) -> None:
        try:
            directions = self.directions()
        except ValueError as error:
            self.caption.setText(str(error))
            return
        model, loss, x, y = self.model, self.loss, self.x, self.y
        centre, epochs = self._centre(), self.weights_by_epoch
        if self.mode.currentText() == PATH:  # a grid that holds the whole path, with a margin
            path = landscape.project_path(centre, directions, epochs)
            self.span.setValue(1.2 * max(max(abs(a), abs(b)) for _e, a, b in path))
        steps, span = self.steps.value(), self.span.value()
        self.compute_button.setEnabled(False)
        self.caption.setText(f"Computing the loss at {steps * steps} points…")

        others = self.other_runs

        def work(job):
            result = landscape.loss_slice(
                model, loss, x, y, directions, steps, span, progress=job.report
            )
            own = landscape.project_path(centre, directions, epochs)
            projected = [
                (label, landscape.project_path(centre, directions, path)) for label, path in others
            ]
            return result, own, projected

        self.runner.start(work)

    def _centre(self) -> dict:
        return {name: value.copy() for name, value in self.model.parameters().items()}

    def wait(self, msecs: int = 60_000) -> bool:
        return self.runner.wait(msecs)

    def _progress(self, done, total, _message) -> None:
        self.progress_bar.setRange(0, int(total or 0))
        self.progress_bar.setValue(int(done))

    def _failed(self, error) -> None:
        self.compute_button.setEnabled(True)
        self.caption.setText(f"The landscape could not be computed: {error}")

    def _show(self, answer) -> None:
        self.result, self.path, self.other_paths = answer
        self.compute_button.setEnabled(True)
        result = self.result
        losses = np.array([[np.nan if v is None else v for v in row] for row in result.loss])
        with np.errstate(divide="ignore", invalid="ignore"):
            grid = np.log10(np.maximum(losses, 1e-12))
        x, y = np.asarray(result.x), np.asarray(result.y)
        step_x, step_y = x[1] - x[0], y[1] - y[0]
        self.image.setImage(grid, autoLevels=False)
        self.image.setRect(x[0] - step_x / 2, y[0] - step_y / 2, x[-1] - x[0] + step_x,
                           y[-1] - y[0] + step_y)  # fmt: skip
        finite = grid[np.isfinite(grid)]
        low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        self.colour_bar.setLevels((low, high if high > low else low + 1e-9))
        self.plot.setLabel("bottom", result.labels[0])
        self.plot.setLabel("left", result.labels[1])
        self.centre.setData([0.0], [0.0])
        self.path_line.setData([a for _e, a, _b in self.path], [b for _e, _a, b in self.path])
        self._draw_other_paths()
        self.caption.setText(self._caption())

    def _draw_other_paths(self) -> None:
        for item in self._other_items:
            self.plot.removeItem(item)
        self._other_items = []
        for number, (label, path) in enumerate(self.other_paths):
            colour = OTHER_RUN_COLOURS[number % len(OTHER_RUN_COLOURS)]
            item = self.plot.plot(
                [a for _e, a, _b in path],
                [b for _e, _a, b in path],
                pen=pg.mkPen(colour, width=2, style=Qt.PenStyle.DashLine),
                name=label,
            )
            item.setZValue(5)  # above this run's path: a run that barely moved still shows
            self._other_items.append(item)

    def _caption(self) -> str:
        result = self.result
        text = (
            f"Mean loss over {len(self.x)} samples at {len(result.x) ** 2} points (colour: "
            f"log₁₀ of the loss). The star is the model's weights (loss "
            f"{format_number(result.center_loss)}); darker is lower."
        )
        if self.path:
            first, last = self.path[0][0], self.path[-1][0]
            text += (
                f" The line is the run's path from epoch {first} to {last}, projected onto "
                "this slice."
            )
            if self.other_paths:
                names = ", ".join(label for label, _path in self.other_paths)
                text += f" Dashed: the paths of {names} on the same slice."
            if self.mode.currentText() == RANDOM:
                text += " On a random slice a path through many weights looks short."
        return text


def _two_first_weights(model) -> tuple[str, str]:
    """The first two entries of the first weight matrix: a sensible start for two weights."""
    name, weights = next(
        ((n, w) for n, w in model.parameters().items() if w.ndim >= 2),
        next(iter(model.parameters().items())),
    )
    zero = ",".join("0" for _ in weights.shape)
    second = ",".join(["0"] * (weights.ndim - 1) + ["1" if weights.shape[-1] > 1 else "0"])
    return f"{name}[{zero}]", f"{name}[{second}]"
