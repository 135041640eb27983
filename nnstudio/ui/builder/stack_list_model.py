"""StackListModel: the BuilderModel seen as a Qt list model, one row per layer.

Kept in step through the BuilderModel's events, including the "before_" ones Qt needs to be
told about while the old rows still exist.
"""

from __future__ import annotations

from PySide6.QtCore import QAbstractListModel, QModelIndex, Qt

from nnstudio.project import layer_meta
from nnstudio.project.builder_model import BuilderModel
from nnstudio.ui.builder.card_delegate import CONFIG_ROLE, INFO_ROLE, PROBLEM_ROLE


class StackListModel(QAbstractListModel):
    """A Qt view of the BuilderModel: one row per layer, kept in step through its events."""

    def __init__(self, builder: BuilderModel, parent=None):
        super().__init__(parent)
        self.builder = builder
        events = builder.events
        events.before_insert.connect(lambda row: self.beginInsertRows(QModelIndex(), row, row))
        events.inserted.connect(lambda _row: self.endInsertRows())
        events.before_remove.connect(lambda row: self.beginRemoveRows(QModelIndex(), row, row))
        events.removed.connect(lambda _row: self.endRemoveRows())
        events.before_move.connect(self._before_move)
        events.moved.connect(lambda _source, _destination: self.endMoveRows())
        events.before_reset.connect(self.beginResetModel)
        events.reset.connect(self.endResetModel)
        for edited in (events.inserted, events.removed, events.moved, events.changed, events.spec):
            edited.connect(lambda *_: self.refresh())

    def rowCount(self, parent=None):
        return 0 if parent is not None and parent.isValid() else len(self.builder)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or index.row() >= len(self.builder):
            return None
        row = index.row()
        if role == CONFIG_ROLE:
            return self.builder.layer(row)
        infos = self.builder.analysis().layers
        info = infos[row] if row < len(infos) else None
        if role == INFO_ROLE:
            return info
        if role == PROBLEM_ROLE:
            return (info.error or info.warning) if info else None
        if role == Qt.ItemDataRole.DisplayRole:
            return layer_meta.card_title(self.builder.layer(row))
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row, info)
        return None

    def _tooltip(self, row: int, info) -> str:
        config = self.builder.layer(row)
        lines = [
            f"<b>{layer_meta.card_title(config)}</b>",
            layer_meta.description_of(config["type"]),
        ]
        if info and info.output_shape is not None:
            lines.append(
                f"Output {layer_meta.format_shape(info.output_shape)}, "
                f"{layer_meta.format_count(info.n_params)} parameters"
            )
        for problem in info.problems if info else []:
            lines.append(f"<span style='color:#DC2626'>{problem.message}</span>")
        lines.append(
            "<i>Drag to reorder · Delete removes · Ctrl+D duplicates · right-click for more</i>"
        )
        return "<br>".join(lines)

    def flags(self, index):
        base = super().flags(index)
        if index.isValid():
            return base | Qt.ItemFlag.ItemIsDragEnabled
        return base | Qt.ItemFlag.ItemIsDropEnabled

    def _before_move(self, source: int, destination: int) -> None:
        target = destination + 1 if destination > source else destination
        self.beginMoveRows(QModelIndex(), source, source, QModelIndex(), target)

    def refresh(self):
        """Every card may change after any edit (shapes flow downwards): repaint them all."""
        if len(self.builder):
            last = self.index(len(self.builder) - 1)
            self.dataChanged.emit(self.index(0), last)
        # Card heights change when problems appear or go: have the view measure them again.
        self.layoutAboutToBeChanged.emit()
        self.layoutChanged.emit()
