"""A grid of small images with captions: data previews, confusion-cell examples, mistakes.

Painted with QPainter rather than built from one QLabel per image: a preview of 10,000
examples would otherwise create 10,000 widgets. The grid reflows to its width and grows in
height, so it sits in a QScrollArea.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen
from PySide6.QtWidgets import QScrollArea, QToolTip, QWidget

from nnstudio.ui.colors import SALIENCY_COLOR, class_qcolor


@dataclass
class Tile:
    """One image of the grid. ``rgb`` is (H, W, 3) uint8; probabilities are optional bars."""

    rgb: np.ndarray
    caption: str = ""
    caption_color: str = "#202020"
    tooltip: str = ""
    probabilities: np.ndarray | None = None
    marked_class: int | None = None  # the true class, ticked under its probability bar
    extra: dict = field(default_factory=dict)


def to_display_rgb(images: np.ndarray) -> np.ndarray:
    """(N, C, H, W) or (N, H, W) images of any range → (N, H, W, 3) uint8 for display.

    The whole batch shares one min/max so a faint digit still looks faint next to a bold one;
    standardized images (negative values) are mapped back into view the same way.
    """
    x = np.asarray(images, dtype=np.float32)
    if x.ndim == 3:
        x = x[:, None]
    low, high = (float(np.min(x)), float(np.max(x))) if x.size else (0.0, 1.0)
    scale = 255.0 / (high - low) if high > low else 0.0
    x = np.clip((x - low) * scale, 0, 255).astype(np.uint8)
    if x.shape[1] == 1:
        x = np.repeat(x, 3, axis=1)
    elif x.shape[1] != 3:
        x = np.repeat(x[:, :1], 3, axis=1)  # only the first channel of odd channel counts
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1))


def saliency_overlay(rgb: np.ndarray, saliency: np.ndarray, strength: float = 0.85) -> np.ndarray:
    """Blend a saliency map (C, H, W) or (H, W) over an (H, W, 3) image as a red heat layer.

    The image is dimmed so the heat stays visible on white strokes; the map is normalised per
    image with the 99th percentile so one extreme pixel does not wash out the rest.
    """
    heat = np.abs(np.asarray(saliency, dtype=np.float32))
    if heat.ndim == 3:
        heat = heat.sum(axis=0)
    top = float(np.percentile(heat, 99)) if heat.size else 0.0
    heat = np.clip(heat / top, 0.0, 1.0) if top > 0 else np.zeros_like(heat)
    # The weakest fifth is noise on every pixel; dropping it keeps the strokes readable.
    heat = np.clip((heat - 0.2) / 0.8, 0.0, 1.0)
    alpha = (heat * strength)[..., None]
    color = QColor(SALIENCY_COLOR)
    red = np.array([color.red(), color.green(), color.blue()], dtype=np.float32)
    base = rgb.astype(np.float32) * 0.55
    return np.clip(base * (1 - alpha) + red * alpha, 0, 255).astype(np.uint8)


def rgb_to_qimage(rgb: np.ndarray) -> QImage:
    """(H, W, 3) uint8 → QImage that owns its pixels (the array may be freed afterwards)."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    height, width = rgb.shape[:2]
    return QImage(rgb.tobytes(), width, height, 3 * width, QImage.Format.Format_RGB888).copy()


class ImageGrid(QWidget):
    """Tiles laid out left to right, wrapping to the width; click a tile to select it."""

    tile_clicked = Signal(int)

    PADDING = 6
    CAPTION_HEIGHT = 16
    BARS_HEIGHT = 14

    def __init__(self, image_size: int = 56, parent=None):
        super().__init__(parent)
        self._tiles: list[Tile] = []
        self._images: list[QImage] = []
        self._image_size = image_size
        self._empty_text = ""
        self.setMouseTracking(True)
        self.setSizePolicy(self.sizePolicy().horizontalPolicy(), self.sizePolicy().Policy.Minimum)

    # -- content -------------------------------------------------------------------------------
    def set_tiles(self, tiles: list[Tile]) -> None:
        self._tiles = list(tiles)
        self._images = [rgb_to_qimage(tile.rgb) for tile in self._tiles]
        self._update_height()
        self.update()

    def tiles(self) -> list[Tile]:
        return list(self._tiles)

    def set_empty_text(self, text: str) -> None:
        """What to say when there are no tiles (instead of a blank area)."""
        self._empty_text = text
        self.update()

    def set_image_size(self, pixels: int) -> None:
        self._image_size = int(pixels)
        self._update_height()
        self.update()

    # -- geometry ------------------------------------------------------------------------------
    def _has_bars(self) -> bool:
        return any(tile.probabilities is not None for tile in self._tiles)

    def _cell_size(self) -> QSize:
        height = self._image_size + self.CAPTION_HEIGHT + 2 * self.PADDING
        if self._has_bars():
            height += self.BARS_HEIGHT
        return QSize(max(self._image_size, 48) + 2 * self.PADDING, height)

    def _columns(self, width: int) -> int:
        return max(1, width // self._cell_size().width())

    def heightForWidth(self, width: int) -> int:
        if not self._tiles:
            return 60
        rows = -(-len(self._tiles) // self._columns(width))
        return rows * self._cell_size().height()

    def hasHeightForWidth(self) -> bool:
        return True

    def sizeHint(self) -> QSize:
        width = 6 * self._cell_size().width()
        return QSize(width, self.heightForWidth(width))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._update_height()

    def _update_height(self) -> None:
        # A scroll area does not always honour heightForWidth; a minimum height does the job.
        self.setMinimumHeight(self.heightForWidth(max(self.width(), 1)))

    def _left(self) -> int:
        """Left edge of the first column: the grid is centred in the width it has."""
        used = self._columns(self.width()) * self._cell_size().width()
        return max(0, (self.width() - used) // 2)

    def _cell_rect(self, index: int) -> QRect:
        cell = self._cell_size()
        columns = self._columns(self.width())
        row, column = divmod(index, columns)
        return QRect(
            self._left() + column * cell.width(), row * cell.height(), cell.width(), cell.height()
        )

    def tile_at(self, pos: QPoint) -> int:
        """Index of the tile under ``pos`` or -1."""
        cell = self._cell_size()
        x = pos.x() - self._left()
        column, row = x // cell.width(), pos.y() // cell.height()
        if x < 0 or column >= self._columns(self.width()):
            return -1
        index = row * self._columns(self.width()) + column
        return index if 0 <= index < len(self._tiles) else -1

    # -- painting ------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().base())
        if not self._tiles and self._empty_text:
            painter.setPen(self.palette().placeholderText().color())
            painter.drawText(
                self.rect(),
                Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                self._empty_text,
            )
        visible = event.rect()
        for index, (tile, image) in enumerate(zip(self._tiles, self._images, strict=True)):
            rect = self._cell_rect(index)
            if rect.intersects(visible):
                self._paint_tile(painter, rect, tile, image)
        painter.end()

    def _paint_tile(self, painter: QPainter, rect: QRect, tile: Tile, image: QImage) -> None:
        size = self._image_size
        left = rect.left() + (rect.width() - size) // 2
        target = QRect(left, rect.top() + self.PADDING, size, size)
        # Pixelated scaling on purpose: a 28×28 digit should look like the 28×28 the model sees.
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        painter.drawImage(target, image)
        painter.setPen(QPen(QColor("#b0b0b0")))
        painter.drawRect(target.adjusted(0, 0, -1, -1))
        caption = QRect(rect.left(), target.bottom() + 2, rect.width(), self.CAPTION_HEIGHT)
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.9))
        painter.setFont(font)
        painter.setPen(QColor(tile.caption_color))
        painter.drawText(caption, Qt.AlignmentFlag.AlignCenter, tile.caption)
        if tile.probabilities is not None:
            bars = QRect(target.left(), caption.bottom() + 1, size, self.BARS_HEIGHT - 2)
            self._paint_bars(painter, bars, tile.probabilities, tile.marked_class)

    @staticmethod
    def _paint_bars(painter: QPainter, rect: QRect, probabilities, marked: int | None) -> None:
        """Mini bar chart of the class probabilities, each bar in its class colour."""
        count = len(probabilities)
        if count == 0:
            return
        width = rect.width() / count
        painter.fillRect(rect, QColor("#f2f2f2"))
        for k, p in enumerate(probabilities):
            height = max(1, round(float(p) * (rect.height() - 3)))
            x = rect.left() + k * width
            bar = QRect(round(x), rect.bottom() - 2 - height + 1, max(1, round(width) - 1), height)
            painter.fillRect(bar, class_qcolor(k))
            if marked is not None and k == marked:
                painter.fillRect(
                    QRect(round(x), rect.bottom() - 1, max(1, round(width) - 1), 2),
                    QColor("#000000"),
                )

    # -- interaction ---------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:
        index = self.tile_at(event.position().toPoint())
        if index >= 0:
            self.tile_clicked.emit(index)
        super().mousePressEvent(event)

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            index = self.tile_at(event.pos())
            if index >= 0 and self._tiles[index].tooltip:
                QToolTip.showText(event.globalPos(), self._tiles[index].tooltip, self)
                return True
        return super().event(event)


def scrolling(grid: QWidget) -> QScrollArea:
    """Wrap a grid in a vertical scroll area (no horizontal scrolling: the grid reflows)."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    area.setWidget(grid)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    return area
