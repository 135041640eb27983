"""Paints one layer of the stack as a card, and makes its fix buttons clickable.

Layout of a card (computed once in ``card_layout`` so painting and clicking agree):

    ┃ 3  [icon]  Conv2D 32 3×3 · relu                 → 32×26×26
    ┃            2-D convolution over images             9,248 params
    ┃   ┌ needs input (channels, height, width) … ───────────────────┐
    ┃   │  [Insert Reshape to 1×28×28]  [Remove Conv2D]              │
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPalette, QPen
from PySide6.QtWidgets import QStyle, QStyledItemDelegate

from nnstudio.project import layer_meta
from nnstudio.project.problems import Fix, Problem
from nnstudio.ui import style
from nnstudio.ui.builder.layer_icons import paint_glyph, type_color
from nnstudio.ui.widgets.fit_text import fitted, main_text, short_forms

CONFIG_ROLE = Qt.ItemDataRole.UserRole + 10
INFO_ROLE = Qt.ItemDataRole.UserRole + 11
PROBLEM_ROLE = Qt.ItemDataRole.UserRole + 12

ERROR_COLOR = QColor("#DC2626")
WARNING_COLOR = QColor("#D97706")
MARGIN_X, MARGIN_Y = 10, 3
HEAD_HEIGHT = 48
PILL_HEIGHT = 24


def severity_color(problem: Problem) -> QColor:
    return QColor(ERROR_COLOR if problem.is_error else WARNING_COLOR)


def small_font(font: QFont, scale: float = 0.88) -> QFont:
    small = QFont(font)
    small.setPointSizeF(max(6.0, font.pointSizeF() * scale))
    return small


@dataclass
class CardLayout:
    card: QRectF
    icon: QRectF
    title: QRectF
    subtitle: QRectF
    problem_box: QRectF | None = None
    message: QRectF | None = None
    pills: list[tuple[QRectF, Fix]] = field(default_factory=list)


def card_layout(rect: QRectF, font: QFont, problem: Problem | None) -> CardLayout:
    card = QRectF(rect).adjusted(MARGIN_X, MARGIN_Y, -MARGIN_X, -MARGIN_Y)
    icon = QRectF(card.left() + 35, card.top() + (HEAD_HEIGHT - 28) / 2, 28, 28)
    text_left = icon.right() + 12
    title = QRectF(text_left, card.top() + 5, card.right() - text_left - 12, 20)
    subtitle = QRectF(text_left, card.top() + 25, title.width(), 17)
    layout = CardLayout(card, icon, title, subtitle)
    if problem is None:
        return layout
    box = QRectF(card.left() + 14, card.top() + HEAD_HEIGHT, card.width() - 26, 0)
    metrics = QFontMetricsF(small_font(font))
    text_width = box.width() - 20
    flags = int(Qt.TextFlag.TextWordWrap)
    bounds = metrics.boundingRect(QRectF(0, 0, text_width, 10_000), flags, problem.message)
    message = QRectF(box.left() + 10, box.top() + 7, text_width, bounds.height())
    layout.message = message
    y = message.bottom() + 8
    x = message.left()
    pill_metrics = QFontMetricsF(small_font(font, 0.9))
    for fix in problem.fixes:
        width = pill_metrics.horizontalAdvance(fix.label) + 22
        if x + width > box.right() - 8 and x > message.left():
            x, y = message.left(), y + PILL_HEIGHT + 6
        layout.pills.append((QRectF(x, y, width, PILL_HEIGHT), fix))
        x += width + 8
    bottom = (y + PILL_HEIGHT + 8) if problem.fixes else message.bottom() + 7
    box.setBottom(bottom)
    layout.problem_box = box
    return layout


class CardDelegate(QStyledItemDelegate):
    """Cards with the type, key settings, output shape, parameter count and problems.

    ``fix_clicked(Fix)`` is emitted when a fix button painted on a card is clicked.
    """

    fix_clicked = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._hover_pill: tuple[int, int] | None = None

    # -- geometry ---------------------------------------------------------------------------
    def sizeHint(self, option, index):
        width = self._width(option)
        layout = card_layout(QRectF(0, 0, width, 10_000), option.font, index.data(PROBLEM_ROLE))
        height = (layout.problem_box.bottom() + 8) if layout.problem_box else HEAD_HEIGHT
        return QSize(int(width), int(height + 2 * MARGIN_Y))

    def _width(self, option) -> float:
        view = self.parent()
        if view is not None and hasattr(view, "viewport"):
            return float(view.viewport().width())
        return float(option.rect.width() or 400)

    # -- painting ---------------------------------------------------------------------------
    def paint(self, painter: QPainter, option, index):
        config = index.data(CONFIG_ROLE) or {}
        info = index.data(INFO_ROLE)
        problem = index.data(PROBLEM_ROLE)
        layout = card_layout(QRectF(option.rect), option.font, problem)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        self._paint_connector(painter, option, layout)
        self._paint_frame(painter, option, layout, config, problem)
        self._paint_head(painter, option, layout, config, index.row(), info)
        if problem is not None:
            self._paint_problem(painter, option, layout, problem, index.row())
        painter.restore()

    def _paint_connector(self, painter: QPainter, option, layout: CardLayout):
        # A short line into each card makes the stack read as a pipeline from input to output.
        color = QColor(option.palette.color(QPalette.ColorRole.PlaceholderText))
        color.setAlphaF(0.6)
        painter.setPen(QPen(color, 2))
        x = layout.icon.center().x()
        painter.drawLine(QPointF(x, option.rect.top() - MARGIN_Y), QPointF(x, layout.card.top()))

    def _paint_frame(self, painter, option, layout: CardLayout, config: dict, problem):
        palette = option.palette
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        hovered = bool(option.state & QStyle.StateFlag.State_MouseOver)
        background = QColor(palette.color(QPalette.ColorRole.Base))
        if hovered and not selected:
            background = (
                background.darker(103) if background.lightness() > 128 else background.lighter(115)
            )
        border = QColor(palette.color(QPalette.ColorRole.Mid))
        border.setAlphaF(0.55)
        width = 1.0
        if problem is not None and problem.is_error:
            border, width = QColor(ERROR_COLOR), 1.5
        if selected:
            border, width = accent(), 2.0
        painter.setPen(QPen(border, width))
        painter.setBrush(background)
        painter.drawRoundedRect(layout.card, 9, 9)
        if option.state & QStyle.StateFlag.State_HasFocus:
            paint_focus_ring(painter, layout.card, option.rect, 9)
        stripe = QRectF(layout.card.left(), layout.card.top(), 5, layout.card.height())
        painter.save()
        painter.setClipRect(stripe.adjusted(0, 0, 0, 0))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(type_color(config.get("type", "")))
        painter.drawRoundedRect(layout.card.adjusted(width / 2, width / 2, 0, -width / 2), 8, 8)
        painter.restore()

    def _paint_head(self, painter, option, layout: CardLayout, config, row: int, info):
        palette = option.palette
        muted = palette.color(QPalette.ColorRole.PlaceholderText)
        type_name = config.get("type", "?")
        number_rect = QRectF(layout.card.left() + 8, layout.card.top(), 22, HEAD_HEIGHT)
        painter.setFont(small_font(option.font, 0.85))
        painter.setPen(muted)
        number = str(layer_meta.layer_number(row))
        painter.drawText(number_rect, Qt.AlignmentFlag.AlignCenter, number)
        paint_glyph(painter, layout.icon, type_name, str(config.get("function", "")))
        # The numbers are drawn first and the words take what is left, so a narrow stack
        # shortens the description before it ever hides the shape.
        title_font = QFont(option.font)
        title_font.setPointSizeF(option.font.pointSizeF() * 1.05)
        title_font.setWeight(QFont.Weight.DemiBold)
        shape = layer_meta.format_shape(info.output_shape if info else None)
        shape_width = self._shape_width(option, shape)
        # The shape on the title's line, or on the second line when even the type's name
        # would not fit beside it ("MaxPo…" beside 16×13×13 at 1024×600): a layer's name
        # is never cut for its shape.
        name_room = layout.title.width() - shape_width - 8
        below = QFontMetricsF(title_font).horizontalAdvance(type_name) > name_room
        self._paint_shape(painter, option, layout.subtitle if below else layout.title, shape)
        taken = shape_width + 8 if below else 0.0  # of the second line, by the shape
        params_width = self._paint_params(painter, option, layout.subtitle, taken, info)
        painter.setFont(title_font)
        painter.setPen(palette.color(QPalette.ColorRole.Text))
        left = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        title_rect = layout.title.adjusted(0, 0, 0 if below else -shape_width - 8, 0)
        # "Dense 64 · relu", or "Dense 64" in a narrow stack (a scroll bar takes its room),
        # or only "Conv2D" beside a long shape ("Conv2D 16 3×3" was cut to "Conv2…" at
        # 1024×600): the settings read in the inspector and the diagram. Cut only as a last
        # resort.
        full = layer_meta.card_title(config)
        short = full.split(" · ")[0]
        metrics, room = painter.fontMetrics(), title_rect.width()
        title = fitted(metrics, room, full, short, type_name) or main_text(
            metrics, type_name, room, "layer card"
        )
        painter.drawText(title_rect, left, title)
        painter.setFont(small_font(option.font))
        painter.setPen(muted)
        subtitle_rect = layout.subtitle.adjusted(0, 0, -taken - params_width - 8, 0)
        description = layer_meta.description_of(type_name)
        # The whole description, or its short form ("Fully connected"), never a cut word.
        subtitle = fitted(painter.fontMetrics(), subtitle_rect.width(), *short_forms(description))
        if subtitle:
            painter.drawText(subtitle_rect, left, subtitle)

    @staticmethod
    def _shape_font(option) -> QFont:
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        mono.setPointSizeF(option.font.pointSizeF() * 0.92)
        return mono

    def _pill_width(self, option, shape: str) -> float:
        return QFontMetricsF(self._shape_font(option)).horizontalAdvance(shape) + 14

    def _shape_width(self, option, shape: str) -> float:
        """The room the output shape takes: its pill and the arrow before it."""
        return self._pill_width(option, shape) + 20

    def _paint_shape(self, painter, option, line: QRectF, shape: str) -> None:
        """The output shape as a pill, right-aligned on ``line`` (a card's first or second)."""
        palette = option.palette
        painter.setFont(self._shape_font(option))
        pill_width = self._pill_width(option, shape)
        # 20 high on either line: on the second (17 high) it still ends 3 px above the card's
        # bottom edge.
        pill = QRectF(line.right() - pill_width, line.top(), pill_width, 20)
        fill = QColor(palette.color(QPalette.ColorRole.Highlight))
        fill.setAlphaF(0.12 if shape != "?" else 0.0)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(fill)
        painter.drawRoundedRect(pill, 10, 10)
        known = shape != "?"
        role = QPalette.ColorRole.Text if known else QPalette.ColorRole.PlaceholderText
        painter.setPen(palette.color(role))
        painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, shape)
        painter.setFont(small_font(option.font, 0.82))
        painter.drawText(
            QRectF(pill.left() - 18, pill.top(), 16, 20), Qt.AlignmentFlag.AlignCenter, "→"
        )

    def _paint_params(self, painter, option, line: QRectF, taken: float, info) -> float:
        """The parameter count, right-aligned on the second line left of what the shape
        ``taken`` there; returns the width it took."""
        params = info.n_params if info else None
        if not params:
            return 0.0
        painter.setFont(small_font(option.font, 0.82))
        label = f"{layer_meta.format_count(params)} params"
        width = painter.fontMetrics().horizontalAdvance(label)
        painter.setPen(option.palette.color(QPalette.ColorRole.PlaceholderText))
        rect = QRectF(line.right() - taken - width, line.top(), width, 17)
        painter.drawText(rect, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, label)
        return width

    def _paint_problem(self, painter, option, layout: CardLayout, problem: Problem, row: int):
        color = severity_color(problem)
        tint = QColor(color)
        tint.setAlphaF(0.10)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(tint)
        painter.drawRoundedRect(layout.problem_box, 7, 7)
        painter.setBrush(color)
        bar = QRectF(
            layout.problem_box.left(),
            layout.problem_box.top() + 6,
            3,
            layout.problem_box.height() - 12,
        )
        painter.drawRoundedRect(bar, 1.5, 1.5)
        painter.setFont(small_font(option.font))
        painter.setPen(
            color.darker(115)
            if option.palette.color(QPalette.ColorRole.Base).lightness() > 128
            else color.lighter(130)
        )
        painter.drawText(layout.message, int(Qt.TextFlag.TextWordWrap), problem.message)
        painter.setFont(small_font(option.font, 0.9))
        for number, (rect, fix) in enumerate(layout.pills):
            hovered = self._hover_pill == (row, number)
            painter.setPen(QPen(color, 1.2))
            fill = QColor(color)
            fill.setAlphaF(0.9 if hovered else 0.0)
            painter.setBrush(fill if hovered else option.palette.color(QPalette.ColorRole.Base))
            painter.drawRoundedRect(rect, PILL_HEIGHT / 2, PILL_HEIGHT / 2)
            painter.setPen(QColor("white") if hovered else color)
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, fix.label)

    # -- clicking the fix buttons -------------------------------------------------------------
    def pill_at(self, option_rect, font, index, position) -> tuple[int, Fix] | None:
        layout = card_layout(QRectF(option_rect), font, index.data(PROBLEM_ROLE))
        for number, (rect, fix) in enumerate(layout.pills):
            if rect.contains(QPointF(position)):
                return number, fix
        return None

    def editorEvent(self, event, model, option, index):
        kind = event.type()
        if kind in (
            QEvent.Type.MouseMove,
            QEvent.Type.MouseButtonRelease,
            QEvent.Type.MouseButtonPress,
        ):
            hit = self.pill_at(option.rect, option.font, index, event.position())
            self._set_hover((index.row(), hit[0]) if hit else None)
            if (
                hit
                and kind == QEvent.Type.MouseButtonRelease
                and event.button() == Qt.MouseButton.LeftButton
            ):
                self.fix_clicked.emit(hit[1])
                return True
            if hit and kind == QEvent.Type.MouseButtonPress:
                return True  # a click on a fix must not start a drag or change the selection
        return super().editorEvent(event, model, option, index)

    def _set_hover(self, hover):
        if hover != self._hover_pill:
            self._hover_pill = hover
            view = self.parent()
            if view is not None and hasattr(view, "viewport"):
                cursor = Qt.CursorShape.PointingHandCursor if hover else Qt.CursorShape.ArrowCursor
                view.viewport().setCursor(cursor)
                view.viewport().update()

    def clear_hover(self):
        self._set_hover(None)


def accent() -> QColor:
    """The app's accent colour. Not the views' Highlight: the style sheet makes that the pale
    selection fill of lists, and a selected or focused card drawn in it barely showed."""
    return QColor(style.ACCENT)


def paint_focus_ring(painter: QPainter, rect: QRectF, row: QRectF, radius: float) -> None:
    """The keyboard's place in a list of painted rows: a ring just outside ``rect``, in the
    accent colour, so the focus shows apart from the (mouse) selection. It stays inside its
    ``row``: a view repaints only the rows that change, and a ring drawn over the next row
    stayed there when the focus moved on."""
    ring = rect.adjusted(-2.5, -2.5, 2.5, 2.5).intersected(QRectF(row).adjusted(1, 1, -1, -1))
    painter.save()
    painter.setPen(QPen(accent(), 2, Qt.PenStyle.DashLine))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawRoundedRect(ring, radius + 2, radius + 2)
    painter.restore()
