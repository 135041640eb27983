"""QtModelInputView: the 28×28 image the model actually reads, optionally with its saliency.

Shown with square pixels (no smoothing) so the user sees exactly what the model gets; the
saliency overlay colours each pixel by the input gradient of the answer's score: red where
more ink would raise it, blue where more ink would lower it.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize
from PySide6.QtGui import QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget


class QtModelInputView(QWidget):
    """Shows ``set_image(digit, saliency=None)``; ``set_image(None)`` shows an empty field."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("digitModelInput")
        self.setToolTip(
            "The 28×28 image the model reads: your drawing cropped, scaled to a 20-pixel box and "
            "centred by its centre of mass, exactly as MNIST's digits were made."
        )
        self.setMinimumSize(112, 112)
        policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self._digit: np.ndarray | None = None
        self._saliency: np.ndarray | None = None
        self._image = _to_qimage(np.zeros((28, 28), np.float32), None)

    def digit(self) -> np.ndarray | None:
        return None if self._digit is None else self._digit.copy()

    def saliency(self) -> np.ndarray | None:
        return None if self._saliency is None else self._saliency.copy()

    def set_image(self, digit: np.ndarray | None, saliency: np.ndarray | None = None) -> None:
        self._digit = None if digit is None else np.asarray(digit, np.float32).reshape(28, 28)
        self._saliency = None if saliency is None else np.asarray(saliency, np.float32)
        shown = self._digit if self._digit is not None else np.zeros((28, 28), np.float32)
        self._image = _to_qimage(shown, self._saliency)
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(168, 168)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return width

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        side = min(self.width(), self.height()) - 2
        # Whole multiples of 28 keep every model pixel the same size on screen.
        side = max(28, side - side % 28)
        rect = QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        painter.drawImage(rect, self._image)
        painter.setPen(QPen(self.palette().mid().color(), 1))
        painter.drawRect(rect)
        painter.end()


def _to_qimage(digit: np.ndarray, saliency: np.ndarray | None) -> QImage:
    """An RGB 28×28 QImage: the grey digit, blended with red/blue by the saliency's sign."""
    grey = np.clip(digit, 0.0, 1.0)[..., None] * np.ones(3, np.float32)
    rgb = grey * 255.0
    if saliency is not None:
        magnitude = np.abs(saliency)
        # The 99th percentile, not the max: one extreme pixel must not wash out the rest.
        scale = float(np.percentile(magnitude, 99))
        if scale > 0:
            strength = np.clip(magnitude / scale, 0.0, 1.0)
            strength = np.where(strength < 0.15, 0.0, strength)  # gradient noise stays hidden
            colour = np.where(
                (saliency >= 0)[..., None], np.array([255, 70, 50]), np.array([60, 140, 255])
            )
            alpha = (0.75 * strength)[..., None]
            rgb = rgb * 0.8 * (1 - alpha) + colour * alpha
    pixels = np.ascontiguousarray(np.clip(rgb, 0, 255).astype(np.uint8))
    image = QImage(pixels.data, 28, 28, 28 * 3, QImage.Format.Format_RGB888)
    return image.copy()  # detach from the NumPy buffer, which is freed on return
