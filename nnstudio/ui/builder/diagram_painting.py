"""How the network diagram paints itself: the links between columns (weights or gradient
flow), each column's units (with their pictures) or its block, the labels, the "+k more" and the
hovered unit's picture. A mixin of ``QtNetworkDiagram`` (network_diagram.py), which keeps the
geometry, the pictures and the mouse; these methods only draw what it has laid out."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QPainter,
    QPainterPath,
    QPalette,
    QPen,
    QPolygonF,
)

from nnstudio.project import layer_meta
from nnstudio.project.diagram_layout import Column
from nnstudio.ui.builder.layer_icons import category_color
from nnstudio.ui.builder.neuron_pictures import (
    GRADIENT,
    NEGATIVE,
    POSITIVE,
    diverging_image,
)
from nnstudio.ui.widgets.fit_text import fitted, main_text


def shape_text(column: Column) -> str:
    return layer_meta.format_shape(column.shape)


class DiagramPainting:
    """The painting half of QtNetworkDiagram."""

    def paintEvent(self, event):
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        if self.shown < 2:
            self._paint_empty(painter)
        else:
            for number in range(1, self.shown):
                self._paint_links(painter, number)
            for number in range(self.shown):
                self._paint_column(painter, number)
            if self._hover is not None:
                self._paint_hover(painter, *self._hover)
            if self.shown < len(self.columns):
                self._paint_cut_note(painter)
        painter.end()

    def _paint_cut_note(self, painter: QPainter):
        painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
        painter.drawText(
            QRectF(self.rect()).adjusted(8, 0, -8, -2),
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignBottom,
            self.cut_note(),
        )

    def cut_note(self) -> str:
        """What the diagram leaves out, in words ("" when it shows every column)."""
        hidden = len(self.columns) - self.shown
        if hidden <= 0:
            return ""
        return f"The first {self.shown} columns of {len(self.columns)} are drawn; {hidden} more"

    def _paint_empty(self, painter: QPainter):
        painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
        painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "Add layers to see the network")

    def _dense_weights(self, number: int) -> np.ndarray | None:
        column = self.columns[number]
        if column.layer_index is None:
            return None
        return self._drawn_part(number, self.weights.get(f"{column.layer_index}.W"))

    def _drawn_part(self, number: int, matrix: np.ndarray | None) -> np.ndarray | None:
        """The rows and columns of a Dense layer's matrix whose neurons are drawn (a wide
        layer draws its first ones only); None when the matrix is not the layer's."""
        previous, column = self.columns[number - 1], self.columns[number]
        if matrix is None or matrix.ndim != 2 or previous.neurons is None or column.neurons is None:
            return None
        if matrix.shape != (previous.shape[0], column.shape[0]):
            return None
        return matrix[: previous.neurons, : column.neurons]

    def _paint_links(self, painter: QPainter, number: int):
        previous, column = self.columns[number - 1], self.columns[number]
        matrix = self._dense_weights(number)
        strengths = self._gradient_strengths() if self.gradient_flow else {}
        name = f"{column.layer_index}.W"
        drawn_strengths = self._drawn_part(number, strengths.get(name))
        if drawn_strengths is not None and matrix is not None:
            self._paint_gradient_lines(painter, number, drawn_strengths)
            return
        if matrix is not None:
            self._paint_weight_lines(painter, number, matrix)
            return
        left = self._edge_points(number - 1, right_side=True)
        right = self._edge_points(number, right_side=False)
        funnel = QPolygonF([left[0], right[0], right[1], left[1]])
        shade = QColor(self.palette().color(QPalette.ColorRole.PlaceholderText))
        shade.setAlphaF(0.09 if previous.shape and column.shape else 0.04)
        if name in strengths:  # a block: the layer's typical |dL/dW| on the same scale
            shade = QColor(GRADIENT)
            shade.setAlphaF(0.05 + 0.6 * float(np.sqrt(np.mean(strengths[name] ** 2))))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(shade)
        painter.drawPolygon(funnel)

    def _edge_points(self, number: int, right_side: bool) -> tuple[QPointF, QPointF]:
        column = self.columns[number]
        if column.neurons is not None:
            radius = self.node_radius()
            top = self.neuron_center(number, 0)
            bottom = self.neuron_center(number, column.neurons - 1)
            x = top.x() + (radius if right_side else -radius)
            return QPointF(x, top.y() - radius), QPointF(x, bottom.y() + radius)
        rect = self.block_rect(number)
        x = rect.right() if right_side else rect.left()
        return QPointF(x, rect.top()), QPointF(x, rect.bottom())

    def _paint_weight_lines(self, painter: QPainter, number: int, matrix: np.ndarray):
        finite = np.nan_to_num(matrix.astype(np.float64))
        scale = float(np.max(np.abs(finite))) or 1.0
        # Thin lines first, so the strong weights sit on top and read clearly.
        order = np.argsort(np.abs(finite), axis=None)
        for flat in order:
            i, j = np.unravel_index(flat, finite.shape)
            value = finite[i, j]
            strength = abs(value) / scale
            color = QColor(POSITIVE if value >= 0 else NEGATIVE)
            color.setAlphaF(0.18 + 0.72 * strength)
            painter.setPen(
                QPen(color, 0.6 + 4.0 * strength, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap)
            )
            painter.drawLine(
                self.neuron_center(number - 1, int(i)), self.neuron_center(number, int(j))
            )

    def _paint_gradient_lines(self, painter: QPainter, number: int, strengths: np.ndarray):
        for flat in np.argsort(strengths, axis=None):
            i, j = np.unravel_index(flat, strengths.shape)
            strength = float(strengths[i, j])
            color = QColor(GRADIENT)
            color.setAlphaF(0.08 + 0.85 * strength)
            painter.setPen(
                QPen(color, 0.5 + 4.0 * strength, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap)
            )
            painter.drawLine(
                self.neuron_center(number - 1, int(i)), self.neuron_center(number, int(j))
            )

    def _paint_column(self, painter: QPainter, number: int):
        column = self.columns[number]
        self._paint_labels(painter, number)
        if column.neurons is None:
            self._paint_block(painter, number)
            return
        radius = self.node_radius()
        bias = (
            self.weights.get(f"{column.layer_index}.b") if column.layer_index is not None else None
        )
        if number == 0:
            self._paint_input_names(painter, column.neurons, radius)
        for neuron in range(column.neurons):
            center = self.neuron_center(number, neuron)
            rect = QRectF(center.x() - radius, center.y() - radius, 2 * radius, 2 * radius)
            self._paint_node(painter, number, neuron, rect, bias)
        if column.more:
            self._paint_more(painter, number)

    def more_rect(self, number: int) -> QRectF:
        """Where a wide column's "+k more" is written: under its last drawn neuron, no wider
        than the room between two columns."""
        last = self.neuron_center(number, self.columns[number].neurons - 1)
        width = max(20.0, min(80.0, self._column_gap() - 6))
        return QRectF(last.x() - width / 2, last.y() + self.node_radius() + 1, width, 14)

    def more_text(self, number: int) -> str:
        """ "+52 more", or "+52" where the columns are close."""
        more, rect = self.columns[number].more, self.more_rect(number)
        return fitted(QFontMetricsF(self._small_font()), rect.width(), f"+{more} more", f"+{more}")

    def _paint_more(self, painter: QPainter, number: int):
        painter.setFont(self._small_font())
        painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
        painter.drawText(
            self.more_rect(number), Qt.AlignmentFlag.AlignCenter, self.more_text(number)
        )

    def _paint_input_names(self, painter: QPainter, count: int, radius: float):
        """x1, x2, ... left of the input neurons, so the first lines read as "from feature i"."""
        small = QFont(self.font())
        small.setPointSizeF(self.font().pointSizeF() * 0.78)
        painter.setFont(small)
        painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
        for neuron in range(count):
            center = self.neuron_center(0, neuron)
            rect = QRectF(center.x() - radius - 30, center.y() - 8, 26, 16)
            align = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
            painter.drawText(rect, align, f"x{neuron + 1}")

    def _paint_node(self, painter: QPainter, number: int, neuron: int, rect: QRectF, bias):
        palette = self.palette()
        thumb = self._thumbs.get((number, neuron))
        border = QColor(palette.color(QPalette.ColorRole.WindowText))
        border.setAlphaF(0.55)
        if bias is not None and bias.ndim == 1 and neuron < len(bias):
            border = QColor(POSITIVE if bias[neuron] >= 0 else NEGATIVE)
        hovered = self._hover == (number, neuron)
        painter.setPen(QPen(border, 2.2 if hovered else 1.4))
        if thumb is not None and rect.width() >= 10:
            path = QPainterPath()
            path.addRoundedRect(rect, 3, 3)
            painter.save()
            painter.setClipPath(path)
            painter.drawImage(rect, thumb)
            painter.restore()
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(rect, 3, 3)
            return
        fill = QColor(palette.color(QPalette.ColorRole.Base))
        painter.setBrush(fill if number else QColor(palette.color(QPalette.ColorRole.Mid)))
        painter.drawEllipse(rect)

    def _paint_block(self, painter: QPainter, number: int):
        column = self.columns[number]
        rect = self.block_rect(number)
        color = category_color(column.category) if column.category != "Input" else QColor("#64748B")
        fill = QColor(color)
        fill.setAlphaF(0.22)
        if column.shape is None:  # after a problem: the shape is not known, say so by dashes
            painter.setPen(QPen(color, 1.4, Qt.PenStyle.DashLine))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(rect, 4, 4)
            return
        layers = self._map_count(column)
        painter.setPen(QPen(color, 1.4))
        for k in reversed(range(layers)):  # a stack of feature maps, back to front
            offset = 3.5 * k
            painter.setBrush(fill if k else QColor(color.red(), color.green(), color.blue(), 90))
            painter.drawRoundedRect(rect.translated(offset, -offset), 4, 4)

    def _paint_labels(self, painter: QPainter, number: int):
        palette = self.palette()
        for font, role, rect, text in self._label_items(number):
            painter.setFont(font)
            painter.setPen(palette.color(role))
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)

    def _label_items(self, number: int):
        """(font, colour role, rect, text) of a column's labels: title and tags above, shape
        below. When columns are close, labels alternate between two rows so neighbours never
        overlap."""
        column = self.columns[number]
        x, gap, rows = self.column_x(number), self._column_gap(), self.label_rows()
        crowded = rows > 1
        width = (rows * gap - 6) if crowded else max(60.0, gap - 4)
        row = number % rows
        title_font = self._title_font()
        title = main_text(QFontMetricsF(title_font), column.title, width, "diagram")
        text_role, note_role = QPalette.ColorRole.WindowText, QPalette.ColorRole.PlaceholderText
        items = [(title_font, text_role, QRectF(x - width / 2, 4 + 16 * row, width, 16), title)]
        small = self._small_font()
        if not crowded:
            tags = fitted(QFontMetricsF(small), width, " · ".join(column.tags), *column.tags[:1])
            items.append((small, note_role, QRectF(x - width / 2, 21, width, 16), tags))
        # Beyond three rows' room a shape is left out (the tooltip has it) rather than cut.
        shape = fitted(QFontMetricsF(small), width, shape_text(column))
        bottom = self.height() - 18 - 14 * (rows - 1 - row)
        items.append((small, note_role, QRectF(x - width / 2, bottom, width, 16), shape))
        return items

    def label_boxes(self) -> list[tuple[int, QRectF]]:
        """Where each column's label text is drawn (its own width, centred in its room): for
        tests that check neighbours never overlap."""
        boxes = []
        for number in range(self.shown):
            for font, _role, rect, text in self._label_items(number):
                if text:
                    metrics = QFontMetricsF(font)
                    width = metrics.horizontalAdvance(text)
                    box = QRectF(rect.center().x() - width / 2, 0, width, metrics.height())
                    box.moveCenter(rect.center())
                    boxes.append((number, box))
        return boxes

    def hover_frame(self, number: int, neuron: int) -> tuple[QRectF, QRectF, str]:
        """The hover picture's rect, its caption's rect and caption: beside the neuron when
        there is room, smaller when the diagram is small, and always inside the widget."""
        center, radius = self.neuron_center(number, neuron), self.node_radius()
        size = max(24.0, min(132.0, self.width() - 16.0, self.height() - 34.0))
        x = center.x() + radius + 10
        if x + size > self.width() - 8:
            x = center.x() - radius - 10 - size
        x = min(max(8.0, x), self.width() - size - 8)
        y = min(max(8.0, center.y() - size / 2), self.height() - size - 26)
        column = self.columns[number]
        metrics = QFontMetricsF(self.font())
        caption = fitted(
            metrics,
            size,
            f"{column.title} {column.layer_index} · unit {neuron}",  # the unit dialog's word
            f"unit {neuron}",
            str(neuron),
        )
        return QRectF(x, y + 18, size, size), QRectF(x, y, size, 16), caption

    def _paint_hover(self, painter: QPainter, number: int, neuron: int):
        if self._hover_image is None:
            values = self.neuron_picture(number, neuron)
            if values is None:
                return
            self._hover_image = diverging_image(values)
        picture, caption_rect, caption = self.hover_frame(number, neuron)
        frame = picture.united(caption_rect)
        painter.setPen(QPen(self.palette().color(QPalette.ColorRole.Mid), 1))
        painter.setBrush(self.palette().color(QPalette.ColorRole.Base))
        painter.drawRoundedRect(frame.adjusted(-4, -4, 4, 4), 6, 6)
        painter.drawImage(picture, self._hover_image)
        painter.setPen(self.palette().color(QPalette.ColorRole.Text))
        painter.setFont(self.font())
        painter.drawText(caption_rect, Qt.AlignmentFlag.AlignCenter, caption)
