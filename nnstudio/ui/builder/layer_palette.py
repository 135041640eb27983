"""QtLayerPalette: every layer type of the engine's registry, grouped, ready to drag.

Dragging a type carries its name as ``LAYER_TYPE_MIME``; the stack inserts it where it is
dropped. Double-click or Enter asks for it instead (``layer_activated``; the builder puts it
after the selected layer), so the palette also works without a mouse: type in the filter,
Up/Down move the highlight over the layers it leaves, Enter adds the highlighted one.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QMimeData, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QFont, QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QStyle,
    QStyledItemDelegate,
    QVBoxLayout,
    QWidget,
)

from nnstudio.project import layer_meta
from nnstudio.ui.builder.card_delegate import accent, paint_focus_ring
from nnstudio.ui.builder.layer_icons import category_color, layer_icon, paint_glyph
from nnstudio.ui.widgets.fit_text import fitted, short_forms

LAYER_TYPE_MIME = "application/x-nnstudio-layer-type"
_TYPE_ROLE = Qt.ItemDataRole.UserRole + 1
_HEADER_ROLE = Qt.ItemDataRole.UserRole + 2


def layer_type_mime(type_name: str) -> QMimeData:
    """The drag payload for one layer type (also what tests drop onto the stack)."""
    mime = QMimeData()
    mime.setData(LAYER_TYPE_MIME, type_name.encode())
    mime.setText(type_name)
    return mime


class _PaletteDelegate(QStyledItemDelegate):
    """Headers as small coloured capitals; layer rows as icon + name + one-line description."""

    def sizeHint(self, option, index):
        if index.data(_HEADER_ROLE):
            return QSize(option.rect.width(), 30)
        return QSize(option.rect.width(), 42)

    def paint(self, painter: QPainter, option, index):
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if index.data(_HEADER_ROLE):
            self._paint_header(painter, option, index.data(_HEADER_ROLE))
        else:
            self._paint_row(painter, option, index)
        painter.restore()

    def _paint_header(self, painter: QPainter, option, category: str):
        rect = QRectF(option.rect).adjusted(10, 10, -8, -4)
        color = category_color(category)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color)
        painter.drawRoundedRect(QRectF(rect.left(), rect.center().y() - 3, 6, 6), 3, 3)
        font = QFont(option.font)
        font.setPointSizeF(font.pointSizeF() * 0.82)
        font.setBold(True)
        font.setLetterSpacing(QFont.SpacingType.PercentageSpacing, 108)
        painter.setFont(font)
        painter.setPen(option.palette.color(QPalette.ColorRole.PlaceholderText))
        painter.drawText(
            rect.adjusted(12, 0, 0, 0), Qt.AlignmentFlag.AlignVCenter, category.upper()
        )

    def _paint_row(self, painter: QPainter, option, index):
        rect = QRectF(option.rect).adjusted(6, 2, -6, -2)
        hovered = option.state & QStyle.StateFlag.State_MouseOver
        selected = option.state & QStyle.StateFlag.State_Selected
        if hovered or selected:
            fill = accent()
            fill.setAlphaF(0.26 if selected else 0.08)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(fill)
            painter.drawRoundedRect(rect, 6, 6)
        if option.state & QStyle.StateFlag.State_HasFocus:
            paint_focus_ring(painter, rect.adjusted(2, 2, -2, -2), option.rect, 5)
        type_name = index.data(_TYPE_ROLE)
        paint_glyph(painter, QRectF(rect.left() + 6, rect.center().y() - 13, 26, 26), type_name)
        text_rect = rect.adjusted(40, 3, -4, -3)
        name_font = QFont(option.font)
        name_font.setWeight(QFont.Weight.DemiBold)
        painter.setFont(name_font)
        painter.setPen(option.palette.color(QPalette.ColorRole.Text))
        top = text_rect.adjusted(0, 0, 0, -text_rect.height() / 2)
        painter.drawText(top, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom, type_name)
        small = QFont(option.font)
        small.setPointSizeF(small.pointSizeF() * 0.85)
        painter.setFont(small)
        painter.setPen(option.palette.color(QPalette.ColorRole.PlaceholderText))
        bottom = text_rect.adjusted(0, text_rect.height() / 2 + 1, 0, 0)
        description = layer_meta.description_of(type_name)
        text = fitted(painter.fontMetrics(), bottom.width(), *short_forms(description))
        painter.drawText(bottom, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, text)


class _PaletteList(QListWidget):
    layer_activated = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setDefaultDropAction(Qt.DropAction.CopyAction)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setMouseTracking(True)
        self.setItemDelegate(_PaletteDelegate(self))
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setFrameShape(QListWidget.Shape.NoFrame)
        self.setObjectName("layerTypes")
        self.setStyleSheet("QListWidget#layerTypes { border: none; }")
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.itemDoubleClicked.connect(self._activate)

    def mimeTypes(self):
        return [LAYER_TYPE_MIME]

    def mimeData(self, items):
        names = [item.data(_TYPE_ROLE) for item in items if item.data(_TYPE_ROLE)]
        return layer_type_mime(names[0]) if names else QMimeData()

    def keyPressEvent(self, event):
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentItem():
            self._activate(self.currentItem())
            return
        super().keyPressEvent(event)

    def _activate(self, item: QListWidgetItem):
        # A filtered-out row may still be the current one: never add what is not shown.
        if item is not None and item.data(_TYPE_ROLE) and not item.isHidden():
            self.layer_activated.emit(item.data(_TYPE_ROLE))

    def shown_layer_rows(self) -> list[int]:
        return [
            row
            for row in range(self.count())
            if not self.item(row).isHidden() and self.item(row).data(_TYPE_ROLE)
        ]

    def highlight(self, row: int) -> None:
        self.setCurrentRow(row)
        self.scrollToItem(self.item(row))


class QtLayerPalette(QWidget):
    """The layer types, grouped by category, with a filter box on top.

    Signals: ``layer_activated(str)`` when a type is double-clicked or Enter is pressed.
    """

    layer_activated = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("layerPalette")
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter layers…")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setToolTip("Type part of a layer name or description to narrow the list")
        self.list = _PaletteList()
        self.list.setToolTip(
            "Drag a layer onto the network to insert it there; double-click or Enter adds it "
            "after the selected layer"
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.filter_edit)
        layout.addWidget(self.list)
        self.list.layer_activated.connect(self.layer_activated)
        self.filter_edit.textChanged.connect(self._apply_filter)
        self.filter_edit.returnPressed.connect(self._activate_highlighted)
        self.filter_edit.installEventFilter(self)  # Up / Down move the highlight
        self.refresh()

    def refresh(self) -> None:
        """Re-read the registry (new layer types appear without restarting)."""
        self.list.clear()
        for category, names in layer_meta.layer_categories().items():
            header = QListWidgetItem(category)
            header.setData(_HEADER_ROLE, category)
            header.setFlags(Qt.ItemFlag.NoItemFlags)
            self.list.addItem(header)
            for name in names:
                self.list.addItem(self._layer_item(name))
        self._apply_filter(self.filter_edit.text())

    def _layer_item(self, name: str) -> QListWidgetItem:
        item = QListWidgetItem(layer_icon(name), name)
        item.setData(_TYPE_ROLE, name)
        description = layer_meta.description_of(name)
        hint = "Drag onto the network, or double-click to add it after the selected layer"
        item.setToolTip(f"<b>{name}</b> — {description}<br><i>{hint}</i>")
        item.setFlags(
            Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled
        )
        return item

    def type_names(self) -> list[str]:
        """Every layer type shown (in palette order, ignoring the filter)."""
        items = (self.list.item(row) for row in range(self.list.count()))
        return [item.data(_TYPE_ROLE) for item in items if item.data(_TYPE_ROLE)]

    def item_for(self, type_name: str) -> QListWidgetItem | None:
        for row in range(self.list.count()):
            if self.list.item(row).data(_TYPE_ROLE) == type_name:
                return self.list.item(row)
        return None

    def _apply_filter(self, text: str) -> None:
        needle = text.strip().lower()
        header: QListWidgetItem | None = None
        header_has_match = False
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item.data(_HEADER_ROLE):
                if header is not None:
                    header.setHidden(not header_has_match)
                header, header_has_match = item, False
                continue
            name = item.data(_TYPE_ROLE)
            haystack = f"{name} {layer_meta.description_of(name)}".lower()
            match = not needle or needle in haystack
            item.setHidden(not match)
            header_has_match |= match
        if header is not None:
            header.setHidden(not header_has_match)
        self._highlight_a_shown_layer()

    def _highlight_a_shown_layer(self) -> None:
        """Keep the highlight on a layer the filter shows (the first, when it hid the last)."""
        shown = self.list.shown_layer_rows()
        if shown and self.list.currentRow() not in shown:
            self.list.highlight(shown[0])

    def _activate_highlighted(self) -> None:
        self._highlight_a_shown_layer()
        self.list._activate(self.list.currentItem())

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt override
        if watched is self.filter_edit and event.type() == QEvent.Type.KeyPress:
            step = {Qt.Key.Key_Down: 1, Qt.Key.Key_Up: -1}.get(event.key())
            if step is not None:
                self._move_highlight(step)
                return True
        return False

    def _move_highlight(self, step: int) -> None:
        shown = self.list.shown_layer_rows()
        if not shown:
            return
        current = self.list.currentRow()
        position = shown.index(current) + step if current in shown else 0
        self.list.highlight(shown[max(0, min(position, len(shown) - 1))])
