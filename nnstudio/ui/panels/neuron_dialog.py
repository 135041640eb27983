"""NeuronDialog: one unit of the network diagram large — its output over the input plane with
its value scale, its incoming weights and bias, and its share of the next layer.

Opened by a click on a neuron of a 2-D input's diagram. It reads the diagram's own model copy
(its probe) and follows it: while the network trains and when the timeline shows another
epoch, the map and the numbers change with the diagram's pictures. The unit box reaches
every unit of the layer, the "+k more" of a wide layer too.
"""

from __future__ import annotations

import html

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
)

from nnstudio.project.neuron_maps import UnitDetail, unit_detail
from nnstudio.ui.builder.neuron_pictures import NEGATIVE, POSITIVE, WHITE_RGB
from nnstudio.ui.plots import pg
from nnstudio.ui.widgets.dialog_size import resize_within_screen

MAP_SIZE = 96  # points a side: smooth at the dialog's size, about a millisecond to compute
MAX_LISTED = 8  # incoming weights listed: a wide layer's largest ones
CHANGED = "The network changed: click a unit in the diagram to see it."


def diverging_colormap() -> pg.ColorMap:
    """The diagram's colours as a pyqtgraph colour map: orange − · white 0 · blue +."""
    colors = [NEGATIVE.getRgb()[:3], WHITE_RGB, POSITIVE.getRgb()[:3]]
    return pg.ColorMap(pos=[0.0, 0.5, 1.0], color=colors)


class NeuronDialog(QDialog):
    """``NeuronDialog(diagram, column, neuron)``: ``self.values`` is the map shown,
    ``self.detail`` the unit's weights (nnstudio.project.neuron_maps.UnitDetail)."""

    def __init__(self, diagram, column: int, neuron: int, parent=None):
        super().__init__(parent)
        self.setObjectName("neuronDialog")
        self.diagram, self.column = diagram, column
        self.layer_index = diagram.columns[column].layer_index  # to notice another network
        self.values: np.ndarray | None = None
        self.detail: UnitDetail | None = None
        self.unit_box = QSpinBox(objectName="neuronUnit")
        self.unit_box.setRange(0, self._layer_width() - 1)
        self.unit_box.setValue(neuron)
        self.unit_box.setToolTip("Which unit of the layer (every one, not only those drawn)")
        self.title = QLabel(objectName="neuronTitle")
        self.plot = pg.PlotWidget(objectName="neuronMap")
        self.plot.setLabel("bottom", "x1")
        self.plot.setLabel("left", "x2")
        self.plot.setAspectLocked(False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.color_bar = pg.ColorBarItem(
            colorMap=diverging_colormap(), interactive=False, label="unit output"
        )
        self.color_bar.setImageItem(self.image, insert_in=self.plot.getPlotItem())
        self.numbers = QLabel(objectName="neuronNumbers")
        self.numbers.setWordWrap(True)
        self.numbers.setMinimumWidth(220)
        self.numbers.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self._lay_out()
        self.unit_box.valueChanged.connect(lambda _value: self.refresh())
        diagram.pictures_changed.connect(self.refresh)
        self.refresh()
        resize_within_screen(self, 760, 440)

    def _lay_out(self) -> None:
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(QLabel("Unit"))
        top.addWidget(self.unit_box)
        row = QHBoxLayout()
        row.addWidget(self.plot, 3)
        numbers = QScrollArea(objectName="neuronNumbersScroll")
        numbers.setWidgetResizable(True)
        numbers.setFrameShape(QFrame.Shape.NoFrame)
        numbers.setWidget(self.numbers)
        row.addWidget(numbers, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(row, 1)

    def _layer_width(self) -> int:
        columns = self.diagram.columns
        shape = columns[self.column].shape if self.column < len(columns) else None
        return int(shape[0]) if shape and len(shape) == 1 else 1

    @property
    def neuron(self) -> int:
        return self.unit_box.value()

    def refresh(self) -> None:
        """The map and numbers of the diagram's current weights (a closed or changed network
        leaves a line saying so)."""
        diagram = self.diagram
        columns = diagram.columns
        probe = diagram.probe
        same = self.column < len(columns) and columns[self.column].layer_index == self.layer_index
        if probe is None or not diagram.shows_plane or not same:
            self.title.setText(CHANGED)
            return
        column = columns[self.column]
        if self.neuron >= self._layer_width():
            return
        self.values = probe.unit_map(column, self.neuron, diagram.extent, MAP_SIZE)
        self.detail = unit_detail(columns, probe.weights(), self.column, self.neuron)
        self.setWindowTitle(f"Unit {self.neuron} of {column.title} {column.layer_index}")
        self.title.setText(f"<b>{html.escape(self.detail.title)}</b>")
        self._show_map(diagram.extent)
        silent = not np.any(self.values)
        self.numbers.setText(numbers_text(self.detail, silent))

    def _show_map(self, extent: tuple) -> None:
        x_min, x_max, y_min, y_max = extent
        scale = float(np.max(np.abs(self.values))) or 1.0  # the diagram's own scaling
        # Row 0 of the map is the top of the plane (the largest x2); the plot's y goes up.
        self.image.setImage(self.values[::-1], levels=(-scale, scale))
        self.image.setRect(x_min, y_min, x_max - x_min, y_max - y_min)
        self.color_bar.setLevels((-scale, scale))


def numbers_text(detail: UnitDetail, silent: bool = False) -> str:
    """The unit's incoming weights (the largest MAX_LISTED of a wide layer's), bias and share
    of the next layer, as rich text; ``silent``: its output is 0 all over the plane."""
    incoming = detail.incoming
    heading = "Incoming weights"
    if len(incoming) > MAX_LISTED:
        incoming = sorted(incoming, key=lambda item: -abs(item[1]))[:MAX_LISTED]
        heading = f"The {MAX_LISTED} largest of its {len(detail.incoming)} incoming weights"
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td align='right'>{weight:+.3f}</td></tr>"
        for name, weight in incoming
    )
    parts = [f"<b>{heading}</b><table cellspacing='4'>{rows}</table>" if rows else ""]
    if detail.bias is not None:
        parts.append(f"<b>Bias</b> {detail.bias:+.3f}")
    if detail.outgoing_share is not None:
        parts.append(
            f"<b>Share of {html.escape(detail.next_title)}</b> {detail.outgoing_share:.0%} "
            "(its |outgoing weights| over the whole layer's: how much the next layer listens "
            "to it)"
        )
    parts.append(
        "The map is the unit's output at each point of the input plane: blue positive, "
        "white 0, orange negative (the bar gives the values)."
    )
    if silent:
        parts.append(
            "<b>It is 0 all over the plane</b>: a dead unit (a ReLU whose input is below 0 "
            "everywhere), passing nothing on and learning nothing (Training → Activation "
            "functions… shows why)."
        )
    return "<br><br>".join(part for part in parts if part)
