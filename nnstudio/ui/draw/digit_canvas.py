"""QtDigitCanvas: the square the user draws a digit on with the mouse.

The ink lives in a fixed 280×280 grey image (ink = white = high values, MNIST polarity)
whatever the widget's size or the colours shown, so the model always gets the same input.
Strokes are kept as point lists, which makes undo a re-render and keeps them smooth: each
stroke is a quadratic spline through the mid-points of the mouse positions, drawn with a round,
antialiased pen.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QKeySequence, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

RESOLUTION = 280  # side of the ink image: 10 × MNIST, enough for smooth antialiased strokes
DEFAULT_PEN_WIDTH = 20  # in ink pixels; a digit drawn across the canvas then looks like MNIST
MIN_PEN_WIDTH = 4
MAX_PEN_WIDTH = 48


@dataclass
class Stroke:
    """One press-move-release of the mouse, in ink-image coordinates."""

    width: float
    points: list[QPointF] = field(default_factory=list)

    def path(self) -> QPainterPath:
        path = QPainterPath(self.points[0])
        if len(self.points) == 1:
            # A click is a dot: a zero-length line with round caps.
            path.lineTo(self.points[0])
            return path
        # Quadratic segments through the mid-points smooth out the mouse's jagged sampling.
        for current, following in zip(self.points[1:-1], self.points[2:], strict=False):
            path.quadTo(current, (current + following) / 2.0)
        path.lineTo(self.points[-1])
        return path


class QtDigitCanvas(QWidget):
    """A square drawing surface. Left button draws, right button or Esc clears, Ctrl+Z undoes
    the last stroke.

    Signals: ``strokeMoved`` while a stroke is being drawn (many times a second),
    ``drawingChanged`` once after every finished stroke, undo or clear.
    """

    strokeMoved = Signal()
    drawingChanged = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("digitCanvas")
        self.setToolTip(
            "Draw one digit with the left mouse button, as large as the square.\n"
            "Right-click or Esc clears; Ctrl+Z undoes the last stroke."
        )
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)  # to show the pen's size under the cursor
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setMinimumSize(200, 200)
        policy = QSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self._strokes: list[Stroke] = []
        self._current: Stroke | None = None
        self._pen_width = float(DEFAULT_PEN_WIDTH)
        self._black_on_white = False
        self._hover: QPointF | None = None
        self._committed = self._blank_image()  # all finished strokes
        self._image = self._committed.copy()  # finished strokes + the one being drawn

    # --- public API ---------------------------------------------------------------------

    def ink(self) -> np.ndarray:
        """The drawing as (280, 280) float32 in [0, 1], ink = high values (MNIST polarity)."""
        image = self._image
        bits = np.frombuffer(image.constBits(), dtype=np.uint8)
        rows = bits.reshape(image.height(), image.bytesPerLine())[:, : image.width()]
        return rows.astype(np.float32) / 255.0

    def is_empty(self) -> bool:
        return not self._strokes and self._current is None

    def stroke_count(self) -> int:
        return len(self._strokes)

    def pen_width(self) -> float:
        return self._pen_width

    def set_pen_width(self, width: float) -> None:
        """Width of the next strokes, in ink pixels (the canvas is 280 ink pixels wide)."""
        self._pen_width = float(min(max(width, MIN_PEN_WIDTH), MAX_PEN_WIDTH))
        self.update()

    def black_on_white(self) -> bool:
        return self._black_on_white

    def set_black_on_white(self, enabled: bool) -> None:
        """Show dark ink on a light page. Only the display changes: the model's input does not."""
        self._black_on_white = bool(enabled)
        self.update()

    def clear(self) -> None:
        had_ink = not self.is_empty()
        self._strokes.clear()
        self._current = None
        self._rerender()
        if had_ink:
            self.drawingChanged.emit()

    def undo(self) -> None:
        """Remove the last finished stroke."""
        if not self._strokes:
            return
        self._strokes.pop()
        self._rerender()
        self.drawingChanged.emit()

    def ink_rect(self) -> QRectF:
        """Where the ink image is shown in the widget: the largest centred square."""
        side = min(self.width(), self.height()) - 2
        return QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)

    def to_ink(self, position: QPointF) -> QPointF:
        """A widget position in ink-image coordinates."""
        rect = self.ink_rect()
        factor = RESOLUTION / max(rect.width(), 1.0)
        return (position - rect.topLeft()) * factor

    # --- Qt events ----------------------------------------------------------------------

    def sizeHint(self) -> QSize:
        return QSize(360, 360)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return width

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.RightButton:
            self.clear()
        elif event.button() == Qt.MouseButton.LeftButton:
            self.setFocus(Qt.FocusReason.MouseFocusReason)
            self._current = Stroke(self._pen_width, [self.to_ink(event.position())])
            self._render_current()
            self.strokeMoved.emit()
        event.accept()

    def mouseMoveEvent(self, event) -> None:
        self._hover = event.position()
        if self._current is not None and event.buttons() & Qt.MouseButton.LeftButton:
            point = self.to_ink(event.position())
            # Sub-pixel jitter adds points without adding shape.
            if (point - self._current.points[-1]).manhattanLength() >= 0.75:
                self._current.points.append(point)
                self._render_current()
                self.strokeMoved.emit()
        self.update()
        event.accept()

    def mouseReleaseEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self._current is not None:
            self._strokes.append(self._current)
            self._current = None
            self._committed = self._image.copy()
            self.drawingChanged.emit()
        event.accept()

    def leaveEvent(self, event) -> None:
        self._hover = None
        self.update()
        super().leaveEvent(event)

    def keyPressEvent(self, event) -> None:
        if event.matches(QKeySequence.StandardKey.Undo):
            self.undo()
        elif event.key() == Qt.Key.Key_Escape:
            self.clear()
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        rect = self.ink_rect()
        shown = self._image
        if self._black_on_white:
            shown = shown.copy()
            shown.invertPixels()
        painter.drawImage(rect, shown)
        self._paint_frame(painter, rect)
        if self.is_empty():
            self._paint_hint(painter, rect)
        self._paint_pen_preview(painter, rect)
        painter.end()

    # --- drawing ------------------------------------------------------------------------

    @staticmethod
    def _blank_image() -> QImage:
        image = QImage(RESOLUTION, RESOLUTION, QImage.Format.Format_Grayscale8)
        image.fill(QColor("black"))
        return image

    def _render_current(self) -> None:
        # Re-render the whole stroke over the finished ones: the spline of the last segment
        # changes as the next point arrives, so the stroke cannot be drawn piece by piece.
        self._image = self._committed.copy()
        self._paint_strokes(self._image, [self._current])
        self.update()

    def _rerender(self) -> None:
        self._committed = self._blank_image()
        self._paint_strokes(self._committed, self._strokes)
        self._image = self._committed.copy()
        self.update()

    @staticmethod
    def _paint_strokes(image: QImage, strokes: list[Stroke]) -> None:
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        for stroke in strokes:
            pen = QPen(QColor("white"), stroke.width)
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawPath(stroke.path())
        painter.end()

    def _ink_colour(self, alpha: int) -> QColor:
        colour = QColor("black") if self._black_on_white else QColor("white")
        colour.setAlpha(alpha)
        return colour

    def _paint_frame(self, painter: QPainter, rect: QRectF) -> None:
        frame = self.palette().mid().color()
        if self.hasFocus():
            frame = self.palette().highlight().color()
        painter.setPen(QPen(frame, 1.5))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(rect)
        # A faint cross marks the centre: where the digit will be centred for the model anyway.
        painter.setPen(QPen(self._ink_colour(28), 1, Qt.PenStyle.DashLine))
        centre = rect.center()
        painter.drawLine(
            QPointF(centre.x(), rect.top() + 8), QPointF(centre.x(), rect.bottom() - 8)
        )
        painter.drawLine(
            QPointF(rect.left() + 8, centre.y()), QPointF(rect.right() - 8, centre.y())
        )

    def _paint_hint(self, painter: QPainter, rect: QRectF) -> None:
        font = painter.font()
        font.setPointSizeF(max(font.pointSizeF() * 1.3, 11.0))
        painter.setFont(font)
        painter.setPen(self._ink_colour(140))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, "Draw a digit here")

    def _paint_pen_preview(self, painter: QPainter, rect: QRectF) -> None:
        if self._hover is None or not rect.contains(self._hover):
            return
        radius = self._pen_width * rect.width() / RESOLUTION / 2.0
        painter.setPen(QPen(QColor(128, 128, 128, 180), 1))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawEllipse(self._hover, radius, radius)
