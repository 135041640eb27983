"""WiggleDialog: move one weight of the explained sample's model with a slider and watch the
loss follow the curve L(w + Δ) beside the tangent line L + g·Δ of the backward pass's
gradient g, with the finite-difference slope next to g. The curve is computed on a float64
copy (nnstudio.project.wiggle), so the model never changes; letting go of the slider puts
the weight back at Δ = 0.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QSlider,
    QSpinBox,
    QVBoxLayout,
)

from nnstudio.project.explain import format_number
from nnstudio.project.wiggle import DEFAULT_STEPS, wiggle_weight
from nnstudio.ui import style
from nnstudio.ui.plots import pg
from nnstudio.ui.widgets.dialog_size import resize_within_screen

SLIDER_STEPS = DEFAULT_STEPS - 1  # one slider position per computed point


class WiggleDialog(QDialog):
    """``WiggleDialog(explanation, parameter, index)``: the weight ``parameter[index]`` first;
    any weight or bias of the model can be picked."""

    def __init__(self, explanation, parameter: str, index: tuple[int, ...], parent=None):
        super().__init__(parent)
        self.setObjectName("wiggleDialog")
        self.setWindowTitle("Wiggle a weight")
        self.explanation = explanation
        self.wiggle = None
        self._build()
        self.parameter_box.setCurrentText(parameter)
        self.entry_box.setValue(int(np.ravel_multi_index(index, self._shape())))
        self._compute()
        resize_within_screen(self, 760, 520)

    # -- building ---------------------------------------------------------------------------

    def _build(self) -> None:
        self.parameter_box = QComboBox(objectName="wiggleParameter")
        self.parameter_box.addItems(list(self.explanation.gradients))
        self.parameter_box.setToolTip("The weight matrix or bias vector the weight belongs to")
        self.entry_box = QSpinBox(objectName="wiggleEntry")
        self.entry_box.setToolTip("Which of its weights: the entry, counted row by row")
        self.index_label = QLabel(objectName="wiggleIndex")
        self.parameter_box.currentTextChanged.connect(self._on_parameter)
        self.entry_box.valueChanged.connect(lambda _value: self._compute())
        self.slider = QSlider(Qt.Orientation.Horizontal, objectName="wiggleSlider")
        self.slider.setRange(0, SLIDER_STEPS)
        self.slider.setToolTip("Move the weight by Δ; let go and it goes back")
        self.slider.valueChanged.connect(lambda _value: self._show_point())
        self.slider.sliderReleased.connect(self._back_to_the_weight)
        self.readout = QLabel(objectName="wiggleReadout")
        self.readout.setTextFormat(Qt.TextFormat.RichText)
        self.readout.setWordWrap(True)
        self.plot = pg.PlotWidget(objectName="wigglePlot")
        self.plot.setLabel("bottom", "Δ added to the weight")
        self.plot.setLabel("left", "loss of this sample")
        for side in ("bottom", "left"):
            self.plot.getAxis(side).enableAutoSIPrefix(False)
        self.plot.showGrid(x=True, y=True, alpha=0.15)
        self.plot.addLegend(offset=(-10, 10))
        self.curve = self.plot.plot(pen=pg.mkPen(style.TRAIN_COLOR, width=2), name="L(w + Δ)")
        self.tangent = self.plot.plot(
            pen=pg.mkPen(style.VAL_COLOR, width=2, style=Qt.PenStyle.DashLine), name="L + g·Δ"
        )
        self.point = pg.ScatterPlotItem(size=11, brush=pg.mkBrush(style.TRAIN_COLOR))
        self.plot.addItem(self.point)
        choose = QHBoxLayout()
        for widget in (QLabel("Weight"), self.parameter_box, QLabel("entry"), self.entry_box):
            choose.addWidget(widget)
        choose.addWidget(self.index_label, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(choose)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.slider)
        layout.addWidget(self.readout)

    def _shape(self) -> tuple[int, ...]:
        return tuple(self.explanation.gradients[self.parameter_box.currentText()].shape)

    def _on_parameter(self, _name: str) -> None:
        blocked = self.entry_box.blockSignals(True)
        self.entry_box.setRange(0, int(np.prod(self._shape())) - 1)
        self.entry_box.setValue(0)
        self.entry_box.blockSignals(blocked)
        self._compute()

    # -- computing and showing ------------------------------------------------------------------

    @property
    def index(self) -> tuple[int, ...]:
        return tuple(int(i) for i in np.unravel_index(self.entry_box.value(), self._shape()))

    def _compute(self) -> None:
        parameter = self.parameter_box.currentText()
        self.entry_box.setRange(0, int(np.prod(self._shape())) - 1)
        self.index_label.setText(f"{parameter}[{', '.join(map(str, self.index))}]")
        self.wiggle = wiggle_weight(self.explanation, parameter, self.index)
        deltas = np.asarray(self.wiggle.deltas)
        self.curve.setData(deltas, self.wiggle.losses)
        self.tangent.setData(deltas, [self.wiggle.tangent(d) for d in deltas])
        low, high = min(self.wiggle.losses), max(self.wiggle.losses)
        margin = 0.1 * (high - low) or 0.1
        self.plot.setYRange(low - margin, high + margin)  # the tangent may run far off
        self._back_to_the_weight()

    def _back_to_the_weight(self) -> None:
        self.slider.setValue(SLIDER_STEPS // 2)
        self._show_point()

    @property
    def delta(self) -> float:
        return self.wiggle.deltas[self.slider.value()]

    def _show_point(self) -> None:
        wiggle, delta = self.wiggle, self.delta
        loss = wiggle.losses[self.slider.value()]
        self.point.setData([delta], [loss])
        self.readout.setText(
            f"w = {format_number(wiggle.weight)}, Δ = {format_number(delta)}: "
            f"<b>L(w + Δ) = {format_number(loss)}</b>; the tangent promises "
            f"L + g·Δ = {format_number(wiggle.tangent(delta))}.<br>"
            f"Slope at Δ = 0: backprop gradient g = <b>{format_number(wiggle.gradient)}</b>, "
            f"finite differences (L(w + ε) − L(w − ε)) / 2ε = "
            f"<b>{format_number(wiggle.numeric_slope)}</b> (ε = {wiggle.epsilon:g}). "
            "Near the weight the curve hugs its tangent; farther away it bends off — a "
            "gradient only tells the slope where you stand."
        )
