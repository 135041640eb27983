"""QtNetworkDiagram: the network drawn TensorFlow-Playground style, live during training.

Neurons are nodes, weights are lines (blue positive, orange negative, thicker when larger);
layers wider than 16 neurons become a block labelled with their shape. With a 2-D input every
neuron shows its own output over the input plane (a wide layer its first neurons and "+k
more"), hovering one shows it large, and clicking one asks for its dialog (``neuron_clicked``).
The pictures are made only while the diagram is visible: a hidden one costs training nothing.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QImage,
    QPainter,
    QPainterPath,
    QPalette,
    QPen,
    QPolygonF,
)
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from nnstudio.project import layer_meta
from nnstudio.project.diagram_layout import (
    WIDE_SHOWN,
    Column,
    columns_for,
    small_enough_to_probe,
)
from nnstudio.project.network_checks import ShapeCache
from nnstudio.project.neuron_maps import NeuronProbe
from nnstudio.ui.builder.layer_icons import category_color
from nnstudio.ui.builder.neuron_pictures import (
    GRADIENT,
    NEGATIVE,
    POSITIVE,
    diverging_image,
    gradient_strengths,
)
from nnstudio.ui.widgets.fit_text import fitted, main_text

THUMB_SIZE = 24  # resolution of the in-node pictures; the hover picture uses 96
HOVER_SIZE = 96
_DEFAULT_EXTENT = (-2.5, 2.5, -2.5, 2.5)
MAX_DRAWN_COLUMNS = 120
PICTURE_SPACING = 22  # pixels a drawn unit of a 2-D input's network needs, to show its map


class QtNetworkDiagram(QWidget):
    """``set_config(cfg)`` to show a network, ``update_weights(snapshot)`` while it trains.

    ``update_weights`` takes parameter name → array (``{"0.W": ..., "0.b": ...}``) or the
    training session's whole snapshot (its ``"weights"``, and ``"boundary"["extent"]`` for the
    plane of 2-D inputs).
    """

    neuron_clicked = Signal(int, int)  # (column, neuron) of a hidden or output neuron
    pictures_changed = Signal()  # new weights or a new plane: an open neuron dialog follows

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("networkDiagram")
        self.setMouseTracking(True)
        self.setMinimumSize(240, 180)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setToolTip(
            "The network: lines are weights (blue positive, orange negative, thicker = larger). "
            "Layers wider than 16 neurons are drawn as blocks; with a 2-D input, their first "
            "neurons (as many as the height holds) and how many more. Click a neuron of a 2-D "
            "input's network to see it large."
        )
        self.columns: list[Column] = []
        self._most_neurons = 1
        self._tallest_map = 1
        self.weights: dict[str, np.ndarray] = {}
        # Gradient flow: the edges coloured by the last batch's |dL/dW| instead of the weights.
        self.gradients: dict[str, np.ndarray] = {}
        self.gradient_flow = False
        self.extent = _DEFAULT_EXTENT
        self._config: dict = {}
        self._cache = ShapeCache()
        self._probe: NeuronProbe | None = None
        self._thumbs: dict[tuple[int, int], QImage] = {}
        self._hover: tuple[int, int] | None = None
        self._hover_image: QImage | None = None
        self._pictures_stale = False

    def sizeHint(self) -> QSize:
        return QSize(420, 300)

    # -- data -----------------------------------------------------------------------------------
    def set_config(self, cfg: dict) -> None:
        if cfg == self._config:
            return
        self._config = {
            "input_shape": cfg.get("input_shape"),
            "layers": list(cfg.get("layers", [])),
        }
        self.columns = columns_for(self._config, self._cache)
        self._fit_units()
        self._measure_columns()
        self._probe = self._make_probe()
        self.weights = self._probe.weights() if self._probe else {}
        self._hover = None
        self._refresh_pictures()
        self.update()

    @property
    def shown(self) -> int:
        """How many columns are drawn: all, up to MAX_DRAWN_COLUMNS (beyond that, each would
        be thinner than a pixel, and the lines between them only cost painting time)."""
        return min(len(self.columns), MAX_DRAWN_COLUMNS)

    def _fit_units(self) -> bool:
        """A 2-D input's network draws as many units a layer as its height holds with
        pictures of at least PICTURE_SPACING (WIDE_SHOWN at most); whether that changed."""
        limit = max(2, min(WIDE_SHOWN, int(self._area().height() / PICTURE_SPACING)))
        changed = False
        for column in self.columns[1:]:
            if column.unit_limit is not None and column.unit_limit != limit:
                column.unit_limit, changed = limit, True
        return changed

    def resizeEvent(self, event):
        super().resizeEvent(event)
        if self._fit_units():
            self._measure_columns()
            self._hover = None
            self._refresh_pictures()

    def _measure_columns(self) -> None:
        """What the layout of every column depends on, found once per network: asking the
        columns again for each neuron drawn made painting O(n²) (1,000 layers took minutes)."""
        shown = self.columns[: self.shown]
        self._most_neurons = max((c.neurons or 0 for c in shown), default=1) or 1
        self._tallest_map = max(
            (c.shape[1] for c in shown if c.shape and len(c.shape) == 3), default=1
        )
        # The widest title or shape: how many rows the labels need to stay apart.
        titles, shapes = QFontMetricsF(self._title_font()), QFontMetricsF(self._small_font())
        self._widest_label = max(
            (
                max(titles.horizontalAdvance(c.title), shapes.horizontalAdvance(_shape_text(c)))
                for c in shown
            ),
            default=0.0,
        )

    def _title_font(self) -> QFont:
        font = QFont(self.font())
        font.setPointSizeF(self.font().pointSizeF() * 0.9)
        font.setWeight(QFont.Weight.DemiBold)
        return font

    def _small_font(self) -> QFont:
        font = QFont(self.font())
        font.setPointSizeF(self.font().pointSizeF() * 0.78)
        return font

    def label_rows(self) -> int:
        """Rows the column labels alternate between: 1 when columns are far apart, 2 or 3 when
        they are close (a label may then be as wide as 2 or 3 columns)."""
        if self.shown < 2:
            return 1
        gap = (self.width() - 74) / (self.shown - 1)
        if gap >= 78:
            return 1
        return 2 if 2 * gap - 6 >= getattr(self, "_widest_label", 0.0) else 3

    def _make_probe(self) -> NeuronProbe | None:
        known = all(column.shape is not None for column in self.columns)
        if not known or len(self.columns) < 2 or not small_enough_to_probe(self.columns):
            return None
        try:
            return NeuronProbe(self._config)
        except ValueError:
            return None

    def update_weights(self, snapshot: dict) -> None:
        """New weights from training (copies); redraws the lines and neuron pictures."""
        weights = snapshot.get("weights") if isinstance(snapshot.get("weights"), dict) else snapshot
        boundary = snapshot.get("boundary")
        if isinstance(boundary, dict) and boundary.get("extent") is not None:
            self.extent = tuple(float(v) for v in boundary["extent"])
        self.weights = {k: np.asarray(v) for k, v in weights.items() if isinstance(v, np.ndarray)}
        # "gradients": None (a past epoch of the timeline) clears them: the last batch's
        # gradients of another epoch would tell a false story. No key: they stay as they are.
        if "gradients" in snapshot:
            self.keep_gradients(snapshot["gradients"])
        if self._probe is not None:
            self._probe.load(self.weights)
        self._refresh_pictures()
        self.update()

    def keep_gradients(self, gradients: dict | None) -> None:
        """The last batch's weight gradients (None: none known), shown at the next paint."""
        gradients = gradients if isinstance(gradients, dict) else {}
        self.gradients = {k: np.asarray(v) for k, v in gradients.items()}

    def set_gradient_flow(self, on: bool) -> None:
        """Colour the edges by |dL/dW| (on one scale for all layers, so gradients that vanish
        on the way back show as faint early layers) instead of by the weights."""
        self.gradient_flow = bool(on)
        self.update()

    def _gradient_strengths(self) -> dict[str, np.ndarray]:
        return gradient_strengths(self.gradients)

    def set_input_extent(self, extent: tuple) -> None:
        """The part of the input plane the neuron pictures show: (x_min, x_max, y_min, y_max)."""
        self.extent = tuple(float(v) for v in extent)
        self._refresh_pictures()
        self.update()

    @property
    def shows_plane(self) -> bool:
        return bool(self.columns) and self.columns[0].shape == (2,) and self._probe is not None

    def _refresh_pictures(self) -> None:
        self._thumbs = {}
        self._hover_image = None
        if not self.shows_plane:
            return
        self.pictures_changed.emit()
        if not self.isVisible():  # made when it shows (see showEvent)
            self._pictures_stale = True
            return
        self._pictures_stale = False
        maps = self._probe.neuron_maps(self.columns, self.extent, THUMB_SIZE)
        self._thumbs = {key: diverging_image(values) for key, values in maps.items()}

    def showEvent(self, event):
        if self._pictures_stale:
            self._refresh_pictures()
        super().showEvent(event)

    @property
    def probe(self) -> NeuronProbe | None:
        """The model copy with the diagram's weights (None: no pictures for this network)."""
        return self._probe

    def neuron_picture(self, column: int, neuron: int, size: int = HOVER_SIZE) -> np.ndarray | None:
        """The output of one neuron over the input plane (None unless the input is 2-D)."""
        if not self.shows_plane or not 0 < column < len(self.columns):
            return None
        target = self.columns[column]
        if target.last_index is None or not 0 <= neuron < (target.neurons or 0):
            return None
        return self._probe.unit_map(target, neuron, self.extent, size)

    # -- geometry -------------------------------------------------------------------------------
    def _area(self) -> QRectF:
        extra = 10 if self.label_rows() == 3 else 0  # a third row of labels above and below
        return QRectF(self.rect()).adjusted(40, 46 + extra, -34, -40 - extra)

    def column_x(self, number: int) -> float:
        area = self._area()
        if self.shown == 1:
            return area.center().x()
        return area.left() + number * area.width() / (self.shown - 1)

    def _spacing(self) -> float:
        return min(40.0, self._area().height() / self._most_neurons)

    def node_radius(self) -> float:
        gap = min(self._spacing(), self._column_gap())
        return max(4.0, min(15.0, gap * 0.36))

    def _column_gap(self) -> float:
        if self.shown < 2:
            return 80.0
        return self._area().width() / (self.shown - 1)

    def neuron_center(self, number: int, neuron: int) -> QPointF:
        column = self.columns[number]
        count = column.neurons or 1
        spacing = self._spacing()
        top = self._area().center().y() - spacing * (count - 1) / 2
        return QPointF(self.column_x(number), top + neuron * spacing)

    def block_rect(self, number: int) -> QRectF:
        """Images are drawn as a stack of maps whose height follows their size in pixels;
        flat vectors as a bar whose height follows the number of values (log scale)."""
        column, area = self.columns[number], self._area()
        shape = column.shape or ()
        gap = self._column_gap()
        if len(shape) == 3:
            fraction = 0.25 + 0.6 * shape[1] / max(self._tallest_map, 1)
            width = max(8.0, min(30.0, gap * 0.42) - 3.5 * (self._map_count(column) - 1))
        else:
            size = math.prod(shape) if shape else 1
            fraction = 0.3 + 0.55 * min(1.0, math.log10(max(size, 10)) / 4.0)
            width = max(8.0, min(16.0, gap * 0.3))
        height = area.height() * fraction
        return QRectF(
            self.column_x(number) - width / 2, area.center().y() - height / 2, width, height
        )

    @staticmethod
    def _map_count(column: Column) -> int:
        if column.shape and len(column.shape) == 3:
            return max(1, min(4, int(math.log2(column.shape[0] + 1))))
        return 1

    def neuron_at(self, position: QPointF) -> tuple[int, int] | None:
        radius = self.node_radius() + 2
        for number, column in enumerate(self.columns[: self.shown]):
            for neuron in range(column.neurons or 0):
                delta = self.neuron_center(number, neuron) - position
                if abs(delta.x()) <= radius and abs(delta.y()) <= radius:
                    return number, neuron
        return None

    # -- painting -------------------------------------------------------------------------------
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
        shape = fitted(QFontMetricsF(small), width, _shape_text(column))
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

    # -- hovering ------------------------------------------------------------------------------
    def column_at(self, position: QPointF) -> int | None:
        """The column whose vertical band contains ``position`` (for tooltips)."""
        if self.shown < 2:
            return None
        half = self._column_gap() / 2
        for number in range(self.shown):
            if abs(position.x() - self.column_x(number)) <= half:
                return number
        return None

    def column_tooltip(self, number: int) -> str:
        column = self.columns[number]
        shape = column.shape
        size = f" ({math.prod(shape):,} values)" if shape and len(shape) > 1 else ""
        where = "" if column.layer_index is None else f" {column.layer_index}"
        tags = f" · {' · '.join(column.tags)}" if column.tags else ""
        output = f"output {layer_meta.format_shape(shape)}{size}"
        return f"<b>{column.title}{where}</b>{tags}<br>{output}"

    def event(self, event):
        if event.type() == QEvent.Type.ToolTip:
            if self._hover is not None and self.shows_plane:
                return True  # the neuron's own picture is showing; no text over it
            number = self.column_at(QPointF(event.pos()))
            if number is not None:
                QToolTip.showText(event.globalPos(), self.column_tooltip(number), self)
                return True
        return super().event(event)

    def mousePressEvent(self, event):
        hit = self.neuron_at(event.position())
        # An input neuron's output is just its coordinate: nothing to enlarge.
        hidden_or_output = hit is not None and hit[0] > 0
        if event.button() == Qt.MouseButton.LeftButton and hidden_or_output and self.shows_plane:
            self.neuron_clicked.emit(*hit)
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event):
        hit = self.neuron_at(event.position())
        if hit is not None and hit[0] == 0:
            hit = None  # an input neuron's output is just its coordinate
        if hit != self._hover:
            self._hover = hit
            self._hover_image = None
            self.update()
        super().mouseMoveEvent(event)

    def leaveEvent(self, event):
        if self._hover is not None:
            self._hover = None
            self.update()
        super().leaveEvent(event)


def _shape_text(column: Column) -> str:
    return layer_meta.format_shape(column.shape)
