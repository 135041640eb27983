"""QtProbabilityBars: the probability of every class as a vertical bar, the answer highlighted.

Painted by hand rather than with a plot widget: ten bars are redrawn after every stroke and
while drawing, and a QPainter pass costs far less than a plot item update.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from nnstudio.project.digit_models import DIGIT_NAMES, NOT_SURE_BELOW


class QtProbabilityBars(QWidget):
    """Bars of ``set_probabilities(p, class_names)``; ``set_probabilities(None)`` empties it."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("digitProbabilities")
        self.setToolTip(
            "How likely the model finds each digit (they add up to 100 %).\n"
            "One tall bar: the model is sure. Several medium bars: it hesitates between them."
        )
        self.setMinimumSize(220, 90)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self._probabilities: np.ndarray | None = None
        self._class_names: list[str] = list(DIGIT_NAMES)

    def probabilities(self) -> np.ndarray | None:
        return None if self._probabilities is None else self._probabilities.copy()

    def class_names(self) -> list[str]:
        return list(self._class_names)

    def set_probabilities(
        self, probabilities: np.ndarray | None, class_names: Sequence[str] | None = None
    ) -> None:
        if class_names is not None:
            self._class_names = [str(name) for name in class_names]
        self._probabilities = (
            None if probabilities is None else np.asarray(probabilities, np.float64).copy()
        )
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(320, 170)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        count = len(self._class_names)
        metrics = painter.fontMetrics()
        label_height = metrics.height() + 4
        plot = self._plot_rect(metrics)
        slot = plot.width() / max(count, 1)
        best = -1 if self._probabilities is None else int(np.argmax(self._probabilities))
        palette = self.palette()
        text_colour = palette.text().color()
        # Baseline first, so empty bars still show where they will grow.
        painter.setPen(QPen(palette.mid().color(), 1))
        painter.drawLine(plot.bottomLeft(), plot.bottomRight())
        for index, name in enumerate(self._class_names):
            value = 0.0 if self._probabilities is None else float(self._probabilities[index])
            left = plot.left() + index * slot + slot * 0.15
            width = slot * 0.7
            height = plot.height() * value
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(self._bar_colour(index == best, value))
            painter.drawRoundedRect(QRectF(left, plot.bottom() - height, width, height), 2, 2)
            painter.setPen(text_colour)
            under = QRectF(left - slot * 0.15, plot.bottom() + 2, slot, label_height)
            painter.drawText(under, Qt.AlignmentFlag.AlignCenter, _short(name))
        painter.setFont(self.value_font())
        for above, text in self.value_labels(metrics):
            painter.drawText(above, Qt.AlignmentFlag.AlignCenter, text)
        painter.end()

    def _plot_rect(self, metrics) -> QRectF:
        label_height = metrics.height() + 4
        return QRectF(4, label_height, self.width() - 8, self.height() - 2 * label_height - 2)

    def value_font(self) -> QFont:
        """The font of the percentages: smaller when the bars are narrow, so that "100%" fits
        its slot (it was clipped to ".00%")."""
        font = QFont(self.font())
        slot = (self.width() - 8) / max(len(self._class_names), 1)
        for _ in range(4):
            if QFontMetrics(font).horizontalAdvance("100%") + 2 <= slot:
                break
            font.setPointSizeF(font.pointSizeF() * 0.9)
        return font

    def value_labels(self, metrics=None) -> list[tuple[QRectF, str]]:
        """The percentages above the bars (1 % and more) and where they are drawn in
        ``value_font``: centred on their bar, at least as wide as their text, inside the
        widget. Where two would still touch, the smaller value's label is left out."""
        if self._probabilities is None:
            return []
        plot = self._plot_rect(metrics or QFontMetrics(self.font()))
        value_metrics = QFontMetrics(self.value_font())
        label_height = value_metrics.height() + 4
        slot = plot.width() / max(len(self._class_names), 1)
        labels: list[tuple[QRectF, str]] = []
        for index in np.argsort(-self._probabilities, kind="stable"):
            value = float(self._probabilities[index])
            if value < 0.01:
                break
            text = f"{value:.0%}"
            width = max(slot, value_metrics.horizontalAdvance(text) + 2)
            centre = plot.left() + (index + 0.5) * slot
            left = min(max(0.0, centre - width / 2), self.width() - width)
            top = max(0.0, plot.bottom() - plot.height() * value - label_height)
            rect = QRectF(left, top, width, label_height)
            if not any(rect.intersects(placed) for placed, _text in labels):
                labels.append((rect, text))
        return labels

    def _bar_colour(self, is_answer: bool, value: float) -> QColor:
        if not is_answer:
            return QColor(140, 150, 165)
        # The answer is green when the model is sure, amber when it only guesses.
        return QColor(46, 160, 67) if value >= NOT_SURE_BELOW else QColor(230, 150, 30)


def _short(name: str) -> str:
    """Class names like "T-shirt/top" would overlap: keep the first few characters."""
    return name if len(name) <= 6 else name[:5] + "…"
