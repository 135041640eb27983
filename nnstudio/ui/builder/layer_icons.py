"""Small painted glyphs for layer types, coloured by category.

Painted with QPainter rather than shipped as files so they stay sharp at any scale and follow
the category colours in one place. Activation layers draw their own curve, which tells ReLU
from Tanh faster than any name.
"""

from __future__ import annotations

import math
from functools import lru_cache

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QIconEngine, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import QApplication, QStyleOption

from nnstudio.project import layer_meta

CATEGORY_COLORS = {
    "Core": "#3B82F6",
    "Convolution": "#8B5CF6",
    "Pooling": "#0EA5A4",
    "Normalization": "#F59E0B",
    "Regularization": "#EC4899",
    "Activation": "#22A355",
}

_CURVES = {
    "relu": lambda x: max(0.0, x),
    "leakyrelu": lambda x: x if x > 0 else 0.15 * x,
    "leaky_relu": lambda x: x if x > 0 else 0.15 * x,
    "elu": lambda x: x if x > 0 else math.exp(x) - 1,
    "gelu": lambda x: 0.5 * x * (1 + math.tanh(0.8 * (x + 0.044715 * x**3))),
    "sigmoid": lambda x: 2 / (1 + math.exp(-2.5 * x)) - 1,
    "tanh": lambda x: math.tanh(1.6 * x),
    "linear": lambda x: x,
}


def category_color(category: str) -> QColor:
    return QColor(CATEGORY_COLORS.get(category, "#64748B"))


def type_color(type_name: str) -> QColor:
    return category_color(layer_meta.category_of(type_name))


def layer_icon(type_name: str, function: str | None = None) -> QIcon:
    """The icon of a layer type (``function`` picks the curve of a generic Activation)."""
    return _cached_icon(type_name, (function or "").lower())


class GlyphIconEngine(QIconEngine):
    """A layer's icon, painted at the size a view asks for when it first asks (and kept):
    the palette's icons cost nothing while the window opens, and stay sharp at any scale."""

    def __init__(self, type_name: str, function: str):
        super().__init__()
        self.type_name, self.function = type_name, function
        self._pixmaps: dict[tuple, QPixmap] = {}

    def paint(self, painter, rect, mode, state) -> None:
        painter.drawPixmap(rect, self.pixmap(rect.size(), mode, state))

    def pixmap(self, size, mode, state) -> QPixmap:
        key = (size.width(), size.height(), mode)
        if key not in self._pixmaps:
            pixmap = layer_pixmap(self.type_name, min(size.width(), size.height()), self.function)
            if mode == QIcon.Mode.Disabled:  # greyed the way the style greys any icon
                style = QApplication.style()
                pixmap = style.generatedIconPixmap(mode, pixmap, QStyleOption())
            self._pixmaps[key] = pixmap
        return self._pixmaps[key]

    def clone(self) -> GlyphIconEngine:
        return GlyphIconEngine(self.type_name, self.function)


_ENGINES: list[GlyphIconEngine] = []  # the icons' engines, alive as long as their icons


@lru_cache(maxsize=128)
def _cached_icon(type_name: str, function: str) -> QIcon:
    engine = GlyphIconEngine(type_name, function)
    _ENGINES.append(engine)
    return QIcon(engine)


def layer_pixmap(type_name: str, size: int, function: str = "") -> QPixmap:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    paint_glyph(painter, QRectF(0, 0, size, size), type_name, function)
    painter.end()
    return pixmap


def paint_glyph(painter: QPainter, rect: QRectF, type_name: str, function: str = "") -> None:
    """Draw the tinted tile and the glyph of ``type_name`` into ``rect`` (any size)."""
    color = type_color(type_name)
    painter.save()
    tile = QColor(color)
    tile.setAlphaF(0.16)
    radius = rect.width() * 0.22
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(tile)
    painter.drawRoundedRect(rect.adjusted(0.5, 0.5, -0.5, -0.5), radius, radius)
    painter.translate(rect.topLeft())
    painter.scale(rect.width() / 32.0, rect.height() / 32.0)
    pen = QPen(color, 2.0, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    painter.setPen(pen)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    _glyph_painter(type_name, function)(painter, color)
    painter.restore()


def _glyph_painter(type_name: str, function: str):
    key = type_name.lower()
    if key == "activation":
        key = function or "sigmoid"
    if key in _CURVES:
        return lambda p, c: _curve(p, c, _CURVES[key])
    painters = {
        "dense": _dense,
        "flatten": _flatten,
        "reshape": _reshape,
        "conv2d": _conv,
        "maxpool2d": lambda p, c: _pool(p, c, "max"),
        "avgpool2d": lambda p, c: _pool(p, c, "avg"),
        "batchnorm": _bell,
        "dropout": _dropout,
        "softmax": _softmax,
    }
    return painters.get(key, lambda p, c: _letter(p, c, type_name))


def _dot(painter: QPainter, color: QColor, x: float, y: float, r: float = 2.6, hollow=False):
    painter.save()
    painter.setBrush(Qt.BrushStyle.NoBrush if hollow else color)
    painter.drawEllipse(QPointF(x, y), r, r)
    painter.restore()


def _dense(painter: QPainter, color: QColor):
    left = [(9, 9), (9, 16), (9, 23)]
    right = [(23, 12), (23, 20)]
    painter.save()
    thin = QPen(painter.pen())
    thin.setWidthF(1.1)
    painter.setPen(thin)
    for a in left:
        for b in right:
            painter.drawLine(QPointF(*a), QPointF(*b))
    painter.restore()
    for x, y in left + right:
        _dot(painter, color, x, y)


def _grid(painter: QPainter, x0: float, y0: float, cell: float, n: int, m: int | None = None):
    m = n if m is None else m
    for i in range(n):
        for j in range(m):
            painter.drawRect(QRectF(x0 + j * cell, y0 + i * cell, cell, cell))


def _thin(painter: QPainter, width: float = 1.2) -> None:
    pen = QPen(painter.pen())
    pen.setWidthF(width)
    painter.setPen(pen)


def _flatten(painter: QPainter, color: QColor):
    _thin(painter)
    _grid(painter, 5, 10, 4, 3)
    painter.drawLine(QPointF(18, 16), QPointF(21, 16))
    _grid(painter, 23, 6, 4, 5, 1)


def _reshape(painter: QPainter, color: QColor):
    _thin(painter)
    _grid(painter, 5, 6, 4, 5, 1)
    painter.drawLine(QPointF(11, 16), QPointF(14, 16))
    _grid(painter, 16, 10, 4, 3)


def _conv(painter: QPainter, color: QColor):
    _thin(painter, 1.0)
    _grid(painter, 6, 6, 5, 4)
    fill = QColor(color)
    fill.setAlphaF(0.45)
    painter.save()
    painter.setBrush(fill)
    _thin(painter, 2.0)
    painter.drawRoundedRect(QRectF(11, 11, 15, 15), 1.5, 1.5)
    painter.restore()


def _pool(painter: QPainter, color: QColor, kind: str):
    _thin(painter, 1.0)
    _grid(painter, 5, 8, 4, 4)
    painter.drawLine(QPointF(22, 16), QPointF(25, 16))
    # max keeps the strongest value (solid), avg blends the window (half-filled)
    result = QColor(color)
    result.setAlphaF(1.0 if kind == "max" else 0.45)
    painter.save()
    painter.setBrush(result)
    painter.drawRect(QRectF(23.5, 13, 6, 6))
    painter.restore()
    painter.save()
    mark = QColor(color)
    mark.setAlphaF(0.55)
    painter.setBrush(mark)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.drawRect(QRectF(5, 8, 8, 8))
    painter.restore()


def _bell(painter: QPainter, color: QColor):
    path = QPainterPath()
    for i in range(41):
        x = -2.5 + 5 * i / 40
        point = QPointF(5 + 22 * i / 40, 25 - 17 * math.exp(-x * x))
        path.moveTo(point) if i == 0 else path.lineTo(point)
    painter.drawPath(path)
    _thin(painter, 1.0)
    painter.drawLine(QPointF(5, 25.5), QPointF(27, 25.5))
    painter.drawLine(QPointF(16, 8), QPointF(16, 25.5))


def _dropout(painter: QPainter, color: QColor):
    dropped = {(0, 1), (1, 2), (2, 0)}
    for i in range(3):
        for j in range(3):
            x, y = 8 + 8 * j, 8 + 8 * i
            _dot(painter, color, x, y, 2.8, hollow=(i, j) in dropped)


def _softmax(painter: QPainter, color: QColor):
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(color)
    for k, height in enumerate((5, 9, 18, 7)):
        painter.drawRoundedRect(QRectF(6 + 5.5 * k, 26 - height, 4, height), 1, 1)


def _curve(painter: QPainter, color: QColor, function):
    painter.save()
    _thin(painter, 1.0)
    axis = QColor(color)
    axis.setAlphaF(0.45)
    pen = painter.pen()
    pen.setColor(axis)
    painter.setPen(pen)
    painter.drawLine(QPointF(5, 16), QPointF(27, 16))
    painter.drawLine(QPointF(16, 5), QPointF(16, 27))
    painter.restore()
    path = QPainterPath()
    for i in range(49):
        x = -1.0 + 2.0 * i / 48
        y = max(-1.05, min(1.05, function(x)))
        point = QPointF(16 + 10.5 * x, 16 - 10.5 * y)
        path.moveTo(point) if i == 0 else path.lineTo(point)
    pen = painter.pen()
    pen.setWidthF(2.2)
    painter.setPen(pen)
    painter.drawPath(path)


def _letter(painter: QPainter, color: QColor, type_name: str):
    font = painter.font()
    font.setPixelSize(16)
    font.setBold(True)
    painter.setFont(font)
    painter.drawText(QRectF(0, 0, 32, 32), Qt.AlignmentFlag.AlignCenter, type_name[:1].upper())
