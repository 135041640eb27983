"""The small views of the "See the math" inspector: a heatmap whose cells say what they are
on hover (and pick a unit on click), and a table of numbers with a tooltip on every cell.

A heatmap is a QLabel showing a pixmap made from the array with NumPy, not a plot widget:
a 784×128 gradient draws in about a millisecond, and the inspector holds several.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from nnstudio.project.explain_steps import format_number

NEGATIVE, POSITIVE = np.array([33, 102, 172]), np.array([178, 24, 43])  # blue, red
WHITE = np.array([247, 247, 247])


def grid_layout(shape: tuple) -> np.ndarray:
    """A 2-D grid of flat indices for an array of ``shape`` (-1 where the grid has a gap):
    images as they are, feature maps (C, H, W) as tiles, vectors wrapped into rows."""
    if len(shape) == 3:
        channels, height, width = shape
        if channels == 1:
            return np.arange(height * width).reshape(height, width)
        columns = math.ceil(math.sqrt(channels))
        rows = math.ceil(channels / columns)
        grid = -np.ones((rows * (height + 1) - 1, columns * (width + 1) - 1), np.int64)
        for channel in range(channels):
            top, left = (channel // columns) * (height + 1), (channel % columns) * (width + 1)
            base = channel * height * width
            grid[top : top + height, left : left + width] = base + np.arange(
                height * width
            ).reshape(height, width)
        return grid
    if len(shape) == 2:
        return np.arange(shape[0] * shape[1]).reshape(shape)
    size = int(np.prod(shape)) if shape else 1
    side = math.isqrt(size)
    width = side if side * side == size and size >= 16 else (size if size <= 16 else side + 1)
    rows = math.ceil(size / width)
    grid = -np.ones(rows * width, np.int64)
    grid[:size] = np.arange(size)
    return grid.reshape(rows, width)


def colours(values: np.ndarray, signed: bool) -> np.ndarray:
    """RGB uint8: blue–white–red around 0 for signed values, grey levels otherwise."""
    values = np.nan_to_num(np.asarray(values, np.float64))
    if not signed:
        low, high = float(values.min(initial=0.0)), float(values.max(initial=1.0))
        level = (values - low) / (high - low) if high > low else np.zeros_like(values)
        grey = (255 * (1.0 - level)).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=-1)
    scale = float(np.abs(values).max(initial=0.0)) or 1.0
    t = np.clip(values / scale, -1.0, 1.0)[..., None]
    rgb = np.where(t >= 0, WHITE + (POSITIVE - WHITE) * t, WHITE + (NEGATIVE - WHITE) * -t)
    return rgb.astype(np.uint8)


def colour_scale_text(values: np.ndarray, signed: bool) -> str:
    """The legend of ``colours``: which values the ends of the scale stand for."""
    values = np.nan_to_num(np.asarray(values, np.float64))

    def swatch(rgb) -> str:
        return f"<span style='color: rgb({rgb[0]},{rgb[1]},{rgb[2]})'>■</span>"

    if signed:
        top = float(np.abs(values).max(initial=0.0))
        return (
            f"{swatch(NEGATIVE)} −{format_number(top)} {swatch(WHITE)} 0 "
            f"{swatch(POSITIVE)} {format_number(top)}"
        )
    low, high = float(values.min(initial=0.0)), float(values.max(initial=1.0))
    return f"{swatch(WHITE)} {format_number(low)} … {swatch((0, 0, 0))} {format_number(high)}"


class HeatmapView(QWidget):
    """A titled heatmap of one array. Hovering a cell shows what it is (``describe(index,
    value)``); clicking it emits ``cell_clicked(flat index)``."""

    cell_clicked = Signal(int)

    def __init__(self, title: str, max_size: int = 200, parent=None):
        super().__init__(parent)
        self.title = QLabel(title)
        self.title.setObjectName("heatmapTitle")
        self.title.setWordWrap(True)
        self.title.setMinimumWidth(150)  # a 2-value input must not squeeze its title
        self.image = QLabel()
        self.image.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.image.setMouseTracking(True)
        self.image.setMinimumSize(40, 20)
        self.image.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.image.mouseMoveEvent = self._hover
        self.image.mousePressEvent = self._click
        # What the colours mean: every heatmap scales to its own largest value.
        self.scale = QLabel(objectName="heatmapScale")
        self.scale.setTextFormat(Qt.TextFormat.RichText)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.title)
        layout.addWidget(self.image, 1)
        layout.addWidget(self.scale)
        self.max_size = max_size
        self._values = np.zeros(0)
        self._grid = np.zeros((0, 0), np.int64)
        self._cell = 1.0
        self._describe: Callable[[int, float], str] = lambda i, v: f"[{i}] = {format_number(v)}"

    def set_values(self, values, *, describe=None, signed=True, marked=None, title=None):
        """Show ``values`` (any shape); ``marked``: a flat index to outline (the chosen unit)."""
        if title is not None:
            self.title.setText(title)
        if describe is not None:
            self._describe = describe
        values = np.asarray(values)
        self._values = values.ravel()
        self._grid = grid_layout(values.shape)
        flat = np.where(self._grid >= 0, self._values[np.maximum(self._grid, 0)], 0.0)
        rgb = np.ascontiguousarray(colours(flat, signed))
        rgb[self._grid < 0] = (255, 255, 255)
        rows, columns = self._grid.shape
        image = QImage(rgb.data, columns, rows, 3 * columns, QImage.Format.Format_RGB888).copy()
        self._cell = min(self.max_size / max(rows, columns), 24.0)
        width, height = max(1, round(columns * self._cell)), max(1, round(rows * self._cell))
        mode = (
            Qt.TransformationMode.FastTransformation
            if self._cell >= 1
            else Qt.TransformationMode.SmoothTransformation
        )
        pixmap = QPixmap.fromImage(image).scaled(
            width, height, Qt.AspectRatioMode.IgnoreAspectRatio, mode
        )
        if marked is not None:
            self._outline(pixmap, marked)
        self.image.setPixmap(pixmap)
        self.image.setFixedSize(width, height)
        self.scale.setText(colour_scale_text(flat, signed))

    def _outline(self, pixmap: QPixmap, marked) -> None:
        """Frame the chosen cell (an index) or the chosen tile (a range of indices)."""
        cells = range(marked, marked + 1) if isinstance(marked, int) else marked
        where = np.argwhere((self._grid >= cells.start) & (self._grid < cells.stop))
        if not len(where):
            return
        (top, left), (bottom, right) = where.min(axis=0), where.max(axis=0)
        painter = QPainter(pixmap)
        painter.setPen(QPen(QColor("#111111"), 2))
        width = max((right - left + 1) * self._cell, 4.0)
        height = max((bottom - top + 1) * self._cell, 4.0)
        painter.drawRect(int(left * self._cell), int(top * self._cell), int(width), int(height))
        painter.end()

    def index_at(self, point: QPoint) -> int:
        """The flat index under a point of the image (-1 outside the array)."""
        row, column = int(point.y() / self._cell), int(point.x() / self._cell)
        rows, columns = self._grid.shape
        if not (0 <= row < rows and 0 <= column < columns):
            return -1
        return int(self._grid[row, column])

    def describe(self, index: int) -> str:
        return self._describe(index, float(self._values[index]))

    def _hover(self, event) -> None:
        index = self.index_at(event.position().toPoint())
        if index >= 0:
            QToolTip.showText(event.globalPosition().toPoint(), self.describe(index), self.image)

    def _click(self, event) -> None:
        index = self.index_at(event.position().toPoint())
        if index >= 0:
            self.cell_clicked.emit(index)


def numbers_table(object_name: str) -> QTableWidget:
    table = QTableWidget()
    table.setObjectName(object_name)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    return table


def fill_table(table: QTableWidget, headers, rows, tips=None) -> None:
    """Rows of values (numbers are formatted to 4 significant digits); ``tips[r][c]`` says
    what each value is, on hover. ``headers``: (text, tooltip) pairs."""
    table.setUpdatesEnabled(False)
    table.clearContents()
    table.setColumnCount(len(headers))
    table.setRowCount(len(rows))
    for column, (text, tip) in enumerate(headers):
        item = QTableWidgetItem(text)
        item.setToolTip(tip)
        table.setHorizontalHeaderItem(column, item)
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            is_number = isinstance(value, (int, float, np.floating, np.integer))
            text = value if not is_number or isinstance(value, (int, np.integer)) else None
            item = QTableWidgetItem(str(text) if text is not None else format_number(value))
            if is_number:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if tips is not None:
                item.setToolTip(tips[r][c])
            table.setItem(r, c, item)
    table.setUpdatesEnabled(True)
