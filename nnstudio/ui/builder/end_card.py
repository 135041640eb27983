"""The input and output cards that bracket the layer stack.

The input card shows what the dataset feeds in; the output card what comes out, the total
parameter count and memory, and whether the network is ready to train — the one place to
glance at before pressing Train.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from nnstudio.project import layer_meta
from nnstudio.project.network_checks import memory_bytes
from nnstudio.project.problems import Analysis
from nnstudio.ui.builder.card_delegate import (
    ERROR_COLOR,
    MARGIN_X,
    MARGIN_Y,
    WARNING_COLOR,
    small_font,
)
from nnstudio.ui.widgets.fit_text import fitted, main_text, short_forms

OK_COLOR = QColor("#16A34A")


class QtEndCard(QWidget):
    """``kind`` is "input" or "output"; paints a slim card in the stack's style."""

    def __init__(self, kind: str, parent=None):
        super().__init__(parent)
        self.kind = kind
        self._shape: tuple | None = None
        self._subtitle = ""
        self._status = ""
        self._status_color = QColor(OK_COLOR)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumHeight(self.sizeHint().height())
        if kind == "input":
            self._subtitle = "No dataset chosen yet"
            self.setToolTip("What the dataset feeds into the first layer (one example, no batch)")

    def sizeHint(self) -> QSize:
        return QSize(360, 50 + 2 * MARGIN_Y + (18 if self.kind == "output" else 0))

    # -- content -----------------------------------------------------------------------------
    def set_shape(self, shape: tuple | None, description: str | None = None) -> None:
        self._shape = tuple(shape) if shape is not None else None
        if description is not None:
            self._subtitle = description
        elif self.kind == "input" and shape is None:
            self._subtitle = "No dataset chosen yet"
        elif self.kind == "input" and self._subtitle == "No dataset chosen yet":
            self._subtitle = "One example"
        self.update()

    def set_description(self, text: str) -> None:
        self._subtitle = text
        self.update()

    def set_analysis(self, analysis: Analysis) -> None:
        self._shape = analysis.output_shape if analysis.layers else None
        total = analysis.total_params
        if any(info.n_params is None for info in analysis.layers):
            self._subtitle = "Size known once the shapes fit"
        else:
            self._subtitle = (
                f"{layer_meta.format_count(total)} parameters · "
                f"{layer_meta.format_bytes(memory_bytes(total))} of weights"
            )
        errors, warnings = len(analysis.errors), len(analysis.warnings)
        if errors:
            self._status = f"{errors} problem{'s' if errors > 1 else ''} to fix before training"
            self._status_color = QColor(ERROR_COLOR)
        elif warnings:
            self._status = f"Ready to train · {warnings} suggestion{'s' if warnings > 1 else ''}"
            self._status_color = QColor(WARNING_COLOR)
        else:
            self._status = "Ready to train"
            self._status_color = QColor(OK_COLOR)
        self.setToolTip(
            "What the network outputs for one example, its size, and whether it can be trained"
        )
        self.update()

    @property
    def status_text(self) -> str:
        return self._status

    @property
    def subtitle(self) -> str:
        return self._subtitle

    # -- painting ----------------------------------------------------------------------------
    def paintEvent(self, event):
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        card = QRectF(self.rect()).adjusted(MARGIN_X, MARGIN_Y, -MARGIN_X, -MARGIN_Y)
        self._paint_connector(painter, card)
        fill = QColor(palette.color(QPalette.ColorRole.Window))
        fill = fill.darker(106) if fill.lightness() > 128 else fill.lighter(125)
        border = QColor(palette.color(QPalette.ColorRole.Mid))
        border.setAlphaF(0.5)
        painter.setPen(
            QPen(border, 1, Qt.PenStyle.DashLine if self._shape is None else Qt.PenStyle.SolidLine)
        )
        painter.setBrush(fill)
        painter.drawRoundedRect(card, 9, 9)
        self._paint_badge(painter, card)
        self._paint_text(painter, card)
        painter.end()

    def _paint_connector(self, painter: QPainter, card: QRectF):
        color = QColor(self.palette().color(QPalette.ColorRole.PlaceholderText))
        color.setAlphaF(0.6)
        painter.setPen(QPen(color, 2))
        x = card.left() + 49
        if self.kind == "input":
            painter.drawLine(QPointF(x, card.bottom()), QPointF(x, self.height()))
        else:
            painter.drawLine(QPointF(x, 0), QPointF(x, card.top()))

    def _paint_badge(self, painter: QPainter, card: QRectF):
        center = QPointF(card.left() + 49, card.top() + 25)
        accent = QColor(palette_accent(self))
        ring = QColor(accent)
        ring.setAlphaF(0.18)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(ring)
        painter.drawEllipse(center, 14, 14)
        painter.setBrush(accent)
        painter.drawEllipse(center, 6, 6)

    def _paint_text(self, painter: QPainter, card: QRectF):
        palette = self.palette()
        left = card.left() + 76
        title_font = QFont(self.font())
        title_font.setPointSizeF(self.font().pointSizeF() * 1.05)
        title_font.setWeight(QFont.Weight.DemiBold)
        painter.setFont(title_font)
        painter.setPen(palette.color(QPalette.ColorRole.Text))
        title = "Input" if self.kind == "input" else "Output"
        painter.drawText(
            QRectF(left, card.top() + 5, 200, 20), Qt.AlignmentFlag.AlignVCenter, title
        )
        painter.setFont(small_font(self.font()))
        painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
        sub_rect = QRectF(left, card.top() + 25, card.right() - left - 12, 17)
        subtitle = fitted(painter.fontMetrics(), sub_rect.width(), *_subtitle_forms(self._subtitle))
        painter.drawText(sub_rect, Qt.AlignmentFlag.AlignVCenter, subtitle)
        if self.kind == "output" and self._status:
            status_rect = QRectF(left, card.top() + 43, card.right() - left - 12, 17)
            painter.setPen(self._status_color)
            bold = small_font(self.font())
            bold.setWeight(QFont.Weight.DemiBold)
            painter.setFont(bold)
            mark = (
                "✓ "
                if self._status_color == OK_COLOR
                else ("● " if self._status.startswith("Ready") else "✕ ")
            )
            status = main_text(
                painter.fontMetrics(), mark + self._status, status_rect.width(), "output card"
            )
            painter.drawText(status_rect, Qt.AlignmentFlag.AlignVCenter, status)
        self._paint_shape(painter, card)

    def _paint_shape(self, painter: QPainter, card: QRectF):
        text = layer_meta.format_shape(self._shape)
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        mono.setPointSizeF(self.font().pointSizeF() * 0.92)
        painter.setFont(mono)
        width = painter.fontMetrics().horizontalAdvance(text) + 14
        pill = QRectF(card.right() - 12 - width, card.top() + 5, width, 20)
        fill = QColor(palette_accent(self))
        fill.setAlphaF(0.14 if self._shape is not None else 0.0)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(fill)
        painter.drawRoundedRect(pill, 10, 10)
        painter.setPen(self.palette().color(QPalette.ColorRole.Text))
        painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, text)


def _subtitle_forms(text: str) -> list[str]:
    """ "8,707 parameters · 34.0 KB of weights" and shorter: "8,707 params · 34.0 KB"."""
    short = text.replace(" of weights", "").replace(" parameters", " params")
    return [text, short, short.split(" · ")[0], *short_forms(text)[1:]]


def palette_accent(widget: QWidget) -> QColor:
    return widget.palette().color(QPalette.ColorRole.Highlight)
