"""QtNetworkDiagram: the network drawn TensorFlow-Playground style, live during training.

Neurons are nodes, weights are lines (blue positive, orange negative, thicker when larger);
layers wider than 16 neurons become a block labelled with their shape. With a 2-D input every
neuron shows its own output over the input plane (a wide layer its first neurons and "+k
more"), hovering one shows it large, and clicking one asks for its dialog (``neuron_clicked``).
The pictures are made only while the diagram is visible: a hidden one costs training nothing.
This class lays the diagram out and follows the mouse; diagram_painting.py draws it.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QFont,
    QFontMetricsF,
    QImage,
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
from nnstudio.ui.builder.diagram_painting import DiagramPainting, shape_text
from nnstudio.ui.builder.neuron_pictures import (
    diverging_image,
    gradient_strengths,
)

THUMB_SIZE = 24  # resolution of the in-node pictures; the hover picture uses 96
HOVER_SIZE = 96
_DEFAULT_EXTENT = (-2.5, 2.5, -2.5, 2.5)
MAX_DRAWN_COLUMNS = 120
PICTURE_SPACING = 22  # pixels a drawn unit of a 2-D input's network needs, to show its map


class QtNetworkDiagram(DiagramPainting, QWidget):
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
        self._thumb_images: dict[tuple[int, int], QImage] = {}
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
                max(titles.horizontalAdvance(c.title), shapes.horizontalAdvance(shape_text(c)))
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
        """The pictures are out of date: they are made again when next asked for (the next
        paint), once however many changes come before it (a new network, its extent and its
        weights arrive one after another), and never while the diagram is hidden."""
        self._thumb_images = {}
        self._hover_image = None
        self._pictures_stale = self.shows_plane
        if self._pictures_stale:
            self.pictures_changed.emit()

    @property
    def _thumbs(self) -> dict[tuple[int, int], QImage]:
        """Each drawn unit's picture, made now if the weights changed since the last ones."""
        if self._pictures_stale and self.isVisible():
            self._pictures_stale = False
            maps = self._probe.neuron_maps(self.columns, self.extent, THUMB_SIZE)
            self._thumb_images = {key: diverging_image(values) for key, values in maps.items()}
        return self._thumb_images

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
