"""Confusion matrix heatmap: counts in the cells, colour normalised per true class (row).

Row normalisation is why the colour means "how often is class i predicted as j": a rare class
with 30 samples, all wrong, is as dark as a common one with 1,000, which raw counts would hide.
The count itself is written in every cell big enough to hold it. Clicking a cell emits
``cell_clicked(true_class, predicted_class)``.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from nnstudio.ui.colors import class_qcolor

# White → deep blue: sequential and readable for colour-blind users; mistakes stand out as
# blue off the diagonal.
LOW = np.array([255, 255, 255], dtype=np.float32)
HIGH = np.array([8, 48, 107], dtype=np.float32)


def heat_color(fraction: float) -> QColor:
    fraction = float(np.clip(fraction, 0.0, 1.0)) ** 0.7  # lift small fractions into view
    r, g, b = LOW + (HIGH - LOW) * fraction
    return QColor(int(r), int(g), int(b))


def row_normalised(matrix: np.ndarray) -> np.ndarray:
    sums = matrix.sum(axis=1, keepdims=True).astype(np.float64)
    return np.divide(matrix, sums, out=np.zeros(matrix.shape, np.float64), where=sums > 0)


class ConfusionMatrixView(QWidget):
    """QPainter heatmap. ``set_matrix(counts, class_names)``; click → ``cell_clicked``."""

    cell_clicked = Signal(int, int)

    MARGIN_LEFT = 96
    MARGIN_TOP = 52

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("confusionMatrix")
        self._matrix = np.zeros((0, 0), dtype=np.int64)
        self._fractions = np.zeros((0, 0))
        self._names: list[str] = []
        self._selected: tuple[int, int] | None = None
        self.setMouseTracking(True)
        self.setMinimumSize(220, 220)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setToolTip(
            "Confusion matrix: rows are the true classes, columns what the model "
            "predicted. Colour = share of the row. Click a cell to see its examples."
        )

    # -- content -------------------------------------------------------------------------------
    def set_matrix(self, matrix, class_names=None) -> None:
        self._matrix = np.asarray(matrix, dtype=np.int64)
        self._fractions = row_normalised(self._matrix)
        count = len(self._matrix)
        names = list(class_names or [])
        self._names = [str(names[k]) if k < len(names) else str(k) for k in range(count)]
        self._selected = None
        self.update()

    def matrix(self) -> np.ndarray:
        return self._matrix.copy()

    def class_names(self) -> list[str]:
        return list(self._names)

    def clear(self) -> None:
        self.set_matrix(np.zeros((0, 0), dtype=np.int64))

    def select(self, true_class: int, predicted_class: int) -> None:
        self._selected = (int(true_class), int(predicted_class))
        self.update()

    def selected(self) -> tuple[int, int] | None:
        return self._selected

    # -- geometry ------------------------------------------------------------------------------
    def sizeHint(self) -> QSize:
        return QSize(420, 420)

    def _grid(self) -> QRectF:
        """The square area of the cells, centred in what is left after the axis labels."""
        max(len(self._matrix), 1)
        area = QRectF(self.rect()).adjusted(self.MARGIN_LEFT, self.MARGIN_TOP, -8, -8)
        side = max(min(area.width(), area.height()), 1.0)
        left = area.left() + max(area.width() - side, 0.0) / 2
        return QRectF(left, area.top(), side, side)

    def cell_rect(self, true_class: int, predicted_class: int) -> QRect:
        """Pixel rectangle of a cell (tests click its centre)."""
        grid = self._grid()
        cell = grid.width() / max(len(self._matrix), 1)
        return QRectF(
            grid.left() + predicted_class * cell, grid.top() + true_class * cell, cell, cell
        ).toRect()

    def cell_at(self, pos: QPoint) -> tuple[int, int] | None:
        count = len(self._matrix)
        grid = self._grid()
        if count == 0 or not grid.contains(pos.toPointF()):
            return None
        cell = grid.width() / count
        row = int((pos.y() - grid.top()) // cell)
        column = int((pos.x() - grid.left()) // cell)
        return (row, column) if 0 <= row < count and 0 <= column < count else None

    # -- painting ------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().base())
        if len(self._matrix) == 0:
            painter.setPen(self.palette().placeholderText().color())
            painter.drawText(
                self.rect(),
                Qt.AlignmentFlag.AlignCenter,
                "Train a classifier, then evaluate it\nto see its confusion matrix.",
            )
            painter.end()
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        grid = self._grid()
        cell = grid.width() / len(self._matrix)
        self._paint_cells(painter, grid, cell)
        self._paint_labels(painter, grid, cell)
        painter.end()

    def _paint_cells(self, painter: QPainter, grid: QRectF, cell: float) -> None:
        font = QFont(self.font())
        size = float(np.clip(cell / 4.2, 6.0, 11.0))
        widest = f"{int(self._matrix.max()):,}" if self._matrix.size else "0"
        font.setPointSizeF(size)
        painter.setFont(font)
        # Shrink the text until the widest count fits (down to 6 pt, then counts are skipped).
        while painter.fontMetrics().horizontalAdvance(widest) > cell - 4 and size > 6.0:
            size -= 0.5
            font.setPointSizeF(size)
            painter.setFont(font)
        show_counts = painter.fontMetrics().horizontalAdvance(widest) <= cell - 4
        for (row, column), count in np.ndenumerate(self._matrix):
            rect = QRectF(grid.left() + column * cell, grid.top() + row * cell, cell, cell)
            fraction = self._fractions[row, column]
            painter.fillRect(rect, heat_color(fraction))
            if show_counts:
                painter.setPen(QColor("white") if fraction > 0.45 else QColor("#1a1a1a"))
                painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, f"{count:,}")
        painter.setPen(QPen(QColor("#d0d0d0"), 1))
        painter.drawRect(grid)
        if self._selected is not None:
            painter.setPen(QPen(QColor("#ff8c00"), 3))
            row, column = self._selected
            painter.drawRect(
                QRectF(grid.left() + column * cell, grid.top() + row * cell, cell, cell).adjusted(
                    1.5, 1.5, -1.5, -1.5
                )
            )

    def _paint_labels(self, painter: QPainter, grid: QRectF, cell: float) -> None:
        font = QFont(self.font())
        font.setPointSizeF(float(np.clip(cell / 3.5, 6.5, 9.5)))
        painter.setFont(font)
        metrics = painter.fontMetrics()
        text = self.palette().text().color()
        step = max(1, int(np.ceil(metrics.height() / cell)))  # skip labels when cells are tiny
        for k, name in enumerate(self._names):
            if k % step:
                continue
            swatch = 8
            row_rect = QRectF(
                grid.left() - self.MARGIN_LEFT + 22,
                grid.top() + k * cell,
                self.MARGIN_LEFT - 38,
                cell,
            )
            painter.setPen(text)
            painter.drawText(
                row_rect,
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                metrics.elidedText(name, Qt.TextElideMode.ElideRight, int(row_rect.width())),
            )
            painter.fillRect(
                QRectF(grid.left() - 13, row_rect.center().y() - swatch / 2, swatch, swatch),
                class_qcolor(k),
            )
            column_rect = QRectF(grid.left() + k * cell, self.MARGIN_TOP - 30, cell, 18)
            painter.drawText(
                column_rect,
                Qt.AlignmentFlag.AlignCenter,
                metrics.elidedText(name, Qt.TextElideMode.ElideRight, int(cell)),
            )
            painter.fillRect(
                QRectF(column_rect.center().x() - swatch / 2, self.MARGIN_TOP - 11, swatch, swatch),
                class_qcolor(k),
            )
        bold = QFont(font)
        bold.setBold(True)
        painter.setFont(bold)
        painter.setPen(text)
        painter.drawText(
            QRectF(grid.left(), 2, grid.width(), 18),
            Qt.AlignmentFlag.AlignCenter,
            "Predicted class →",
        )
        painter.save()
        painter.translate(grid.left() - self.MARGIN_LEFT + 12, grid.center().y())
        painter.rotate(-90)
        painter.drawText(
            QRectF(-grid.height() / 2, -9, grid.height(), 18),
            Qt.AlignmentFlag.AlignCenter,
            "← True class",
        )
        painter.restore()

    # -- interaction ---------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:
        cell = self.cell_at(event.position().toPoint())
        if cell is not None and event.button() == Qt.MouseButton.LeftButton:
            self.select(*cell)
            self.cell_clicked.emit(*cell)
        super().mousePressEvent(event)

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            cell = self.cell_at(event.pos())
            if cell is not None:
                QToolTip.showText(event.globalPos(), self._cell_tip(*cell), self)
                return True
        return super().event(event)

    def _cell_tip(self, row: int, column: int) -> str:
        count = int(self._matrix[row, column])
        share = 100.0 * self._fractions[row, column]
        true_name, predicted_name = self._names[row], self._names[column]
        verdict = "correct" if row == column else "mistakes"
        return (
            f"True {true_name}, predicted {predicted_name}: {count:,} samples ({verdict}), "
            f"{share:.1f} % of all true {true_name}. Click to see them."
        )
