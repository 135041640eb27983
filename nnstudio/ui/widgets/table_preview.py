"""A read-only table over NumPy columns: tabular previews, raw CSV rows, examples behind a cell.

Cells are formatted on demand by a QAbstractTableModel, so showing a few thousand rows costs
nothing until they scroll into view. Sorting goes through a QSortFilterProxyModel on the raw
values (numbers sort as numbers, not as text).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

SORT_ROLE = Qt.ItemDataRole.UserRole + 1


def format_value(value) -> str:
    """Numbers short enough to scan in a column; text as is; missing values visibly missing."""
    if isinstance(value, str):
        return value
    if value is None:
        return "—"
    if isinstance(value, (float, np.floating)):
        if np.isnan(value):
            return "missing"
        return f"{float(value):.4g}"
    return str(value)


class ColumnTableModel(QAbstractTableModel):
    """Columns of equal length: ``[(header, values), ...]``; optional per-column colours."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._headers: list[str] = []
        self._columns: list = []
        self._rows = 0
        self._header_tips: list[str] = []
        self._row_colors: list | None = None
        self._column_colors: dict[int, str] = {}

    def set_columns(self, columns, header_tips=None, row_colors=None, column_colors=None) -> None:
        """Replace the content. ``row_colors``: one hex string (or None) per row."""
        self.beginResetModel()
        self._headers = [str(name) for name, _ in columns]
        self._columns = [values for _, values in columns]
        self._rows = min((len(values) for values in self._columns), default=0)
        self._header_tips = list(header_tips or [])
        self._row_colors = list(row_colors) if row_colors is not None else None
        self._column_colors = dict(column_colors or {})
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else self._rows

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._headers)

    def value(self, row: int, column: int):
        value = self._columns[column][row]
        return value.item() if isinstance(value, np.generic) else value

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        value = self.value(index.row(), index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            return format_value(value)
        if role == SORT_ROLE:
            return value
        if role == Qt.ItemDataRole.TextAlignmentRole and not isinstance(value, str):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._foreground(index.row(), index.column(), value)
        return None

    def _foreground(self, row: int, column: int, value):
        if isinstance(value, float) and np.isnan(value):
            return QBrush(QColor("#b00020"))
        if column in self._column_colors:
            return QBrush(QColor(self._column_colors[column]))
        if self._row_colors is not None and self._row_colors[row]:
            return QBrush(QColor(self._row_colors[row]))
        return None

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal:
            if role == Qt.ItemDataRole.DisplayRole and section < len(self._headers):
                return self._headers[section]
            if role == Qt.ItemDataRole.ToolTipRole and section < len(self._header_tips):
                return self._header_tips[section]
        elif role == Qt.ItemDataRole.DisplayRole:
            return str(section + 1)
        return None


class ColumnTable(QTableView):
    """A sortable, read-only table of columns."""

    def __init__(self, parent=None, sortable: bool = True):
        super().__init__(parent)
        self.source = ColumnTableModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.source)
        self.proxy.setSortRole(SORT_ROLE)
        self.setModel(self.proxy)
        self.setSortingEnabled(sortable)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.verticalHeader().setDefaultSectionSize(22)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.horizontalHeader().setStretchLastSection(True)
        # Restore "no sorting" order (file order) until the user clicks a header.
        self.proxy.sort(-1)
        self.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)

    def fit_columns_to_contents(self) -> None:
        """Columns as wide as their contents, the last one taking the spare width (short
        tables of metrics). Narrower than that, the table scrolls rather than clipping the
        headers and numbers."""
        self._columns_follow_contents = True
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)

    def set_columns(self, columns, **kwargs) -> None:
        self.source.set_columns(columns, **kwargs)
        if getattr(self, "_columns_follow_contents", False):  # the header sizes them
            return
        self.resizeColumnsToContents()
        for column in range(self.source.columnCount()):
            self.setColumnWidth(column, min(self.columnWidth(column), 220))

    def cell_text(self, row: int, column: int) -> str:
        """Text shown at a visible row (after sorting) — what the user reads."""
        return self.proxy.index(row, column).data()
