"""QtLayerStack: the network as cards from the input to the output, editable by drag and drop.

The stack never edits the BuilderModel itself: it emits requests (insert, move, remove,
duplicate, fix) that the builder turns into undo commands, so every edit is undoable.
"""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QModelIndex, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QAction,
    QColor,
    QDrag,
    QKeySequence,
    QPainter,
    QPalette,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QListView,
    QMenu,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from nnstudio.project import layer_meta
from nnstudio.project.builder_model import BuilderModel
from nnstudio.ui.builder.card_delegate import CardDelegate
from nnstudio.ui.builder.end_card import QtEndCard
from nnstudio.ui.builder.layer_icons import layer_icon
from nnstudio.ui.builder.layer_palette import LAYER_TYPE_MIME
from nnstudio.ui.builder.problem_box import ProblemBox
from nnstudio.ui.builder.stack_list_model import StackListModel

LAYER_INDEX_MIME = "application/x-nnstudio-layer-index"


def layer_index_mime(row: int) -> QMimeData:
    """The drag payload of a card being moved within the stack."""
    mime = QMimeData()
    mime.setData(LAYER_INDEX_MIME, str(row).encode())
    return mime


class _StackView(QListView):
    """The list of cards with a drop indicator line and its own drop handling."""

    insert_requested = Signal(int, str)
    move_requested = Signal(int, int)
    edit_requested = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._drop_row: int | None = None
        self.setDragEnabled(True)
        self.setAcceptDrops(True)
        self.setDropIndicatorShown(False)  # we draw our own, wider and clearer
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMouseTracking(True)
        self.setFrameShape(QListView.Shape.NoFrame)
        self.setSpacing(0)
        self.setUniformItemSizes(False)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # Cards sit on the window colour, like the input and output cards around them.
        self.viewport().setBackgroundRole(QPalette.ColorRole.Window)
        # The cards are the frame: no list border even under an application style sheet
        # (only the border: a background rule would also replace the palette the cards use).
        self.setObjectName("layerCards")
        self.setStyleSheet("QListView#layerCards { border: none; }")

    def keyPressEvent(self, event):
        # Enter (or F2) on a card jumps to its settings, so the keyboard alone can edit.
        keys = (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_F2)
        if event.key() in keys and self.currentIndex().isValid():
            self.edit_requested.emit(self.currentIndex().row())
            return
        super().keyPressEvent(event)

    # -- where a drop lands ------------------------------------------------------------------
    def drop_row_at(self, position) -> int:
        """The insertion position (0..n) for a drop at ``position`` in viewport coordinates."""
        rows = self.model().rowCount()
        index = self.indexAt(position.toPoint() if hasattr(position, "toPoint") else position)
        if not index.isValid():
            if rows and position.y() < self.visualRect(self.model().index(0, 0)).top():
                return 0
            return rows
        rect = self.visualRect(index)
        return index.row() + (1 if position.y() > rect.center().y() else 0)

    @staticmethod
    def _payload(mime: QMimeData) -> tuple[str, str] | None:
        if mime.hasFormat(LAYER_INDEX_MIME):
            return "move", bytes(mime.data(LAYER_INDEX_MIME)).decode()
        if mime.hasFormat(LAYER_TYPE_MIME):
            return "insert", bytes(mime.data(LAYER_TYPE_MIME)).decode()
        return None

    def dragEnterEvent(self, event):
        if self._payload(event.mimeData()) is None:
            event.ignore()
            return
        event.acceptProposedAction()

    def dragMoveEvent(self, event):
        if self._payload(event.mimeData()) is None:
            event.ignore()
            return
        self._set_drop_row(self.drop_row_at(event.position()))
        self._autoscroll(event.position().y())
        event.acceptProposedAction()

    def dragLeaveEvent(self, event):
        self._set_drop_row(None)
        event.accept()

    def dropEvent(self, event):
        payload = self._payload(event.mimeData())
        row = self.drop_row_at(event.position())
        self._set_drop_row(None)
        if payload is None:
            event.ignore()
            return
        kind, value = payload
        if kind == "insert":
            self.insert_requested.emit(row, value)
        else:
            source = int(value)
            destination = row if row <= source else row - 1
            if destination != source:
                self.move_requested.emit(source, destination)
        event.acceptProposedAction()

    def _autoscroll(self, y: float):
        bar, margin = self.verticalScrollBar(), 24
        if y < margin:
            bar.setValue(bar.value() - 12)
        elif y > self.viewport().height() - margin:
            bar.setValue(bar.value() + 12)

    def _set_drop_row(self, row: int | None):
        if row != self._drop_row:
            self._drop_row = row
            self.viewport().update()

    @property
    def drop_row(self) -> int | None:
        return self._drop_row

    # -- starting a drag of a card -------------------------------------------------------------
    def startDrag(self, supported_actions):
        index = self.currentIndex()
        if not index.isValid():
            return
        drag = QDrag(self)
        drag.setMimeData(layer_index_mime(index.row()))
        drag.setPixmap(self._card_pixmap(index))
        drag.setHotSpot(
            self.viewport().mapFromGlobal(self.cursor().pos()) - self.visualRect(index).topLeft()
        )
        drag.exec(Qt.DropAction.MoveAction)

    def _card_pixmap(self, index) -> QPixmap:
        rect = self.visualRect(index)
        pixmap = QPixmap(rect.size() * self.devicePixelRatioF())
        pixmap.setDevicePixelRatio(self.devicePixelRatioF())
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setOpacity(0.85)
        option = QStyleOptionViewItem()
        self.initViewItemOption(option)
        option.rect = rect.translated(-rect.topLeft())
        self.itemDelegate().paint(painter, option, index)
        painter.end()
        return pixmap

    # -- painting the empty state and the drop indicator -----------------------------------------
    def paintEvent(self, event):
        super().paintEvent(event)
        painter = QPainter(self.viewport())
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if self.model().rowCount() == 0:
            self._paint_empty(painter)
        if self._drop_row is not None:
            self._paint_drop_line(painter)
        painter.end()

    def _paint_empty(self, painter: QPainter):
        rect = QRectF(self.viewport().rect()).adjusted(12, 8, -12, -8)
        rect.setHeight(min(rect.height(), 120))
        color = QColor(self.palette().color(QPalette.ColorRole.PlaceholderText))
        painter.setPen(QPen(color, 1.5, Qt.PenStyle.DashLine))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(rect, 10, 10)
        painter.drawText(
            rect,
            Qt.AlignmentFlag.AlignCenter,
            "Drag layers here from the palette\nor pick a preset above",
        )

    def _paint_drop_line(self, painter: QPainter):
        rows = self.model().rowCount()
        if rows == 0:
            y = 14.0
        elif self._drop_row < rows:
            y = self.visualRect(self.model().index(self._drop_row, 0)).top() + 1.0
        else:
            y = self.visualRect(self.model().index(rows - 1, 0)).bottom() - 1.0
        color = self.palette().color(QPalette.ColorRole.Highlight)
        painter.setPen(QPen(color, 3, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        painter.drawLine(QPointF(22, y), QPointF(self.viewport().width() - 12, y))
        painter.setBrush(self.palette().color(QPalette.ColorRole.Base))
        painter.setPen(QPen(color, 2.5))
        painter.drawEllipse(QPointF(16, y), 5, 5)


class QtLayerStack(QWidget):
    """Input card, the layer cards, and an output card with the totals.

    Signals (requests the builder turns into undo commands): ``insert_requested(row, type)``,
    ``move_requested(source, destination)``, ``remove_requested(row)``,
    ``duplicate_requested(row)``, ``fix_requested(Fix)``; ``current_changed(row)`` (-1: none)
    and ``edit_requested(row)`` (Enter on a card: go to its settings).
    """

    insert_requested = Signal(int, str)
    move_requested = Signal(int, int)
    remove_requested = Signal(int)
    duplicate_requested = Signal(int)
    fix_requested = Signal(object)
    current_changed = Signal(int)
    edit_requested = Signal(int)

    def __init__(self, builder: BuilderModel, parent=None):
        super().__init__(parent)
        self.setObjectName("layerStack")
        self.builder = builder
        self.list_model = StackListModel(builder, self)
        self.view = _StackView(self)
        self.delegate = CardDelegate(self.view)
        self.view.setItemDelegate(self.delegate)
        self.view.setModel(self.list_model)
        self.view.setToolTip("The network, from the input (top) to the output (bottom)")
        self.setAcceptDrops(True)  # dropping on the input card inserts first, on the output appends
        self.input_card = QtEndCard("input", self)
        self.output_card = QtEndCard("output", self)
        # Problems of the network as a whole (no layers, no dataset) have no card to sit on.
        self.network_problem = ProblemBox(self)
        self.network_problem.fix_requested.connect(self.fix_requested)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.input_card)
        layout.addWidget(self.view, 1)
        banner = QVBoxLayout()
        banner.setContentsMargins(10, 0, 10, 4)
        banner.addWidget(self.network_problem)
        layout.addLayout(banner)
        layout.addWidget(self.output_card)
        self._make_actions()
        self.view.insert_requested.connect(self.insert_requested)
        self.view.move_requested.connect(self.move_requested)
        self.view.edit_requested.connect(self.edit_requested)
        self.delegate.fix_clicked.connect(self.fix_requested)
        self.view.selectionModel().currentChanged.connect(self._current_changed)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._context_menu)
        builder.events.settled.connect(self.refresh_totals)
        self.refresh_totals()

    # -- drops on the input and output cards: insert first / append ------------------------------
    def _end_row(self, y: float) -> int:
        return 0 if y < self.view.geometry().top() else len(self.builder)

    def dragEnterEvent(self, event):
        if _StackView._payload(event.mimeData()) is None:
            event.ignore()
            return
        event.acceptProposedAction()

    def dragMoveEvent(self, event):
        if _StackView._payload(event.mimeData()) is None:
            event.ignore()
            return
        self.view._set_drop_row(self._end_row(event.position().y()))
        event.acceptProposedAction()

    def dragLeaveEvent(self, event):
        self.view._set_drop_row(None)
        event.accept()

    def dropEvent(self, event):
        self.view._set_drop_row(None)
        payload = _StackView._payload(event.mimeData())
        if payload is None:
            event.ignore()
            return
        row = self._end_row(event.position().y())
        kind, value = payload
        if kind == "insert":
            self.insert_requested.emit(row, value)
        else:
            source = int(value)
            destination = min(row, len(self.builder) - 1)
            if destination != source:
                self.move_requested.emit(source, destination)
        event.acceptProposedAction()

    def _make_actions(self):
        def action(text, shortcuts, slot, tip):
            act = QAction(text, self)
            act.setShortcuts([QKeySequence(s) for s in shortcuts])
            act.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            act.setToolTip(tip)
            act.triggered.connect(slot)
            self.view.addAction(act)
            return act

        self.remove_action = action(
            "Delete layer",
            [QKeySequence.StandardKey.Delete, "Backspace"],
            lambda: self._request(self.remove_requested),
            "Remove the selected layer (Delete)",
        )
        self.duplicate_action = action(
            "Duplicate layer",
            ["Ctrl+D"],
            lambda: self._request(self.duplicate_requested),
            "Insert a copy of the selected layer below it (Ctrl+D)",
        )
        self.move_up_action = action(
            "Move up",
            ["Alt+Up"],
            lambda: self._move_current(-1),
            "Move the selected layer up (Alt+Up)",
        )
        self.move_down_action = action(
            "Move down",
            ["Alt+Down"],
            lambda: self._move_current(1),
            "Move the selected layer down (Alt+Down)",
        )

    # -- selection -----------------------------------------------------------------------------
    def current_row(self) -> int:
        index = self.view.currentIndex()
        return index.row() if index.isValid() else -1

    def select_row(self, row: int) -> None:
        if 0 <= row < self.list_model.rowCount():
            self.view.setCurrentIndex(self.list_model.index(row))
        else:
            self.view.clearSelection()
            self.view.setCurrentIndex(QModelIndex())

    def _current_changed(self, current, _previous):
        self.current_changed.emit(current.row() if current.isValid() else -1)

    def _request(self, signal):
        row = self.current_row()
        if row >= 0:
            signal.emit(row)

    def _move_current(self, step: int):
        row = self.current_row()
        if row >= 0 and 0 <= row + step < len(self.builder):
            self.move_requested.emit(row, row + step)

    # -- context menu --------------------------------------------------------------------------
    def _context_menu(self, position):
        index = self.view.indexAt(position)
        menu = QMenu(self)
        if index.isValid():
            self.select_row(index.row())
            self._add_layer_actions(menu, index.row())
        self._add_insert_menu(menu, index.row() + 1 if index.isValid() else len(self.builder))
        menu.exec(self.view.viewport().mapToGlobal(position))

    def _add_layer_actions(self, menu: QMenu, row: int):
        for fix in self.builder.fixes_for(row):
            act = menu.addAction(f"Fix: {fix.label}")
            act.setToolTip("Apply this one-click fix (undoable)")
            act.triggered.connect(lambda _=False, f=fix: self.fix_requested.emit(f))
        if self.builder.fixes_for(row):
            menu.addSeparator()
        menu.addAction(self.duplicate_action)
        menu.addAction(self.remove_action)
        menu.addSeparator()
        self.move_up_action.setEnabled(row > 0)
        self.move_down_action.setEnabled(row < len(self.builder) - 1)
        menu.addAction(self.move_up_action)
        menu.addAction(self.move_down_action)
        menu.addSeparator()

    def _add_insert_menu(self, menu: QMenu, row: int):
        insert = menu.addMenu(
            "Insert layer here" if row == len(self.builder) else "Insert layer below"
        )
        for category, names in layer_meta.layer_categories().items():
            sub = insert.addMenu(category)
            for name in names:
                act = sub.addAction(layer_icon(name), name)
                act.setToolTip(layer_meta.description_of(name))
                act.triggered.connect(lambda _=False, n=name: self.insert_requested.emit(row, n))

    # -- totals ------------------------------------------------------------------------------
    def refresh_totals(self):
        analysis = self.builder.analysis()
        self.input_card.set_shape(self.builder.input_shape)
        self.output_card.set_analysis(analysis)
        whole = [p for p in analysis.problems if p.index is None]
        self.network_problem.show_problem(whole[0] if whole else None)
