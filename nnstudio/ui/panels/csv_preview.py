"""Files the data panel opens: which loader a path needs, a CSV's first rows as text, and the
checkable list of a CSV's columns that picks the model's inputs.

The raw rows are read with the csv module only (no type guessing), so the user sees the file
as written — including the empty cells that would stop the real loader — before loading it.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from nnstudio import data, safe_read
from nnstudio.data import idx

CSV_PREVIEW_ROWS = 200
PREVIEW_BYTES = 4 * 2**20  # enough for 200 rows of any sane table
TARGET_COLOR = "#0072B2"  # the target column, here and in the preview table
UNUSED_COLOR = "#A0A0A0"  # columns the model does not use, in the preview table


def check_data_path(name: str) -> None:
    """Before a dataset file loads on a worker: refuse what is not an ordinary file (a FIFO
    would block the worker, and closing the window waits for it) or an IDX folder. A missing
    file is left to the loader, whose message offers what to do."""
    prefix, _, rest = name.partition(":")
    if not rest or prefix not in ("csv", "npz", "idx", "images") or not os.path.lexists(rest):
        return
    if prefix in ("idx", "images") and os.path.isdir(rest):
        return
    safe_read.check_file(rest, "a data file")


def name_for_path(path: str) -> str:
    """The dataset name ("csv:…", "npz:…", "idx:…", "images:…") for a file or folder the user
    chose. A folder is an IDX folder when it holds an IDX file, else a folder of pictures."""
    target = Path(path)
    suffix = target.suffix.lower()
    if target.is_dir():
        found = idx.find_idx_files(target)[0]
        return f"idx:{target}" if found else f"images:{target}"
    if suffix in (".csv", ".tsv", ".txt"):
        return f"csv:{target}"
    if suffix == ".npz":
        return f"npz:{target}"
    if "idx" in target.name or suffix == ".gz":
        return f"idx:{target.parent}"  # one of the four IDX files: load its folder
    raise data.DatasetError(
        f"{target.name}: nnstudio opens CSV (.csv), NumPy (.npz) files, folders of IDX "
        "files and folders of pictures (one sub-folder per class). Choose one of those."
    )


def read_csv_head(path: str, rows: int = CSV_PREVIEW_ROWS) -> tuple[list[str], list[list[str]]]:
    """Header and the first rows as text, for the preview before loading (cheap, no parsing).

    Runs on the GUI thread, so it opens only a regular file (a FIFO would block it forever)
    and reads at most PREVIEW_BYTES of it (``/dev/zero`` or a file with no line breaks would
    otherwise fill the memory)."""
    with safe_read.open_file(path, "a CSV file") as file:
        raw = file.read(PREVIEW_BYTES + 1)
    text = raw[:PREVIEW_BYTES].decode("utf-8-sig", errors="replace")
    if len(raw) > PREVIEW_BYTES:  # cut off: the last line may be a part of a row
        text = text[: text.rfind("\n") + 1]
        if not text:
            raise data.DatasetError(
                f"{path}: no line break in its first {PREVIEW_BYTES // 2**20} MB; "
                "choose a CSV file (one row per line)."
            )
    try:
        dialect = csv.Sniffer().sniff(text[:65536], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    head = [row for _, row in zip(range(rows + 1), reader, strict=False)]
    if not head:
        raise data.DatasetError(f"{path} is empty. Choose a CSV file with a header and rows.")
    width = max(len(row) for row in head)
    # Named as the loader names them: spaces stripped, "column 3" for an empty name.
    header = [name.strip() or f"column {i + 1}" for i, name in enumerate(head[0])]
    header += [f"column {i + 1}" for i in range(len(head[0]), width)]
    return header, [row + [""] * (width - len(row)) for row in head[1:]]


class ColumnPicker(QWidget):
    """The columns of a CSV file with a check box each: the checked ones are the model's
    inputs. The target column is listed but cannot be checked. ``edited`` follows user changes.
    """

    edited = Signal()
    VISIBLE_ROWS = 6

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("csvColumns")
        self.list = QListWidget()
        self.list.setObjectName("csvColumnList")
        self.list.setToolTip(
            "The columns the model learns from: uncheck the ones it should ignore (ids, notes, "
            "columns that give the answer away). The target column is never an input."
        )
        self.list.setUniformItemSizes(True)
        self.list.itemChanged.connect(self._item_changed)
        self.all_button = self._button("All", "Use every column except the target as an input.")
        self.none_button = self._button("None", "Uncheck every column, then check the few to use.")
        self.all_button.clicked.connect(lambda: self._check_all(True))
        self.none_button.clicked.connect(lambda: self._check_all(False))
        self.count_label = QLabel()
        self.count_label.setStyleSheet("color: palette(placeholder-text);")
        self.count_label.setToolTip("How many columns are inputs, of those that could be.")
        buttons = QVBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.all_button)
        buttons.addWidget(self.none_button)
        buttons.addWidget(self.count_label)
        buttons.addStretch(1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        self._target = -1
        self._names: list[str] = []
        self._filling = False

    @staticmethod
    def _button(text: str, tip: str) -> QPushButton:
        button = QPushButton(text)
        button.setToolTip(tip)
        button.setAutoDefault(False)
        return button

    # -- content -------------------------------------------------------------------------------
    def set_columns(self, names: list[str], target: int) -> None:
        """List ``names``, every one but the target checked (a new file: all inputs)."""
        self._filling = True
        self._names = list(names)
        self.list.clear()
        for name in names:
            item = QListWidgetItem(name)
            item.setCheckState(Qt.CheckState.Checked)
            self.list.addItem(item)
        self._filling = False
        self._target = -1
        self.set_target(target)
        rows = min(max(self.list.count(), 3), self.VISIBLE_ROWS)
        row_height = self.list.sizeHintForRow(0) if self.list.count() else 20
        self.list.setFixedHeight(rows * row_height + 2 * self.list.frameWidth() + 4)

    def set_target(self, target: int) -> None:
        """Make column ``target`` the (uncheckable) target; the previous target becomes an input."""
        self._filling = True
        for row in range(self.list.count()):
            item = self.list.item(row)
            is_target = row == target
            was_target = row == self._target
            font = QFont(item.font())
            font.setItalic(is_target)
            item.setFont(font)
            item.setText(self._names[row] + ("  (target)" if is_target else ""))
            flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
            item.setForeground(QBrush(QColor(TARGET_COLOR)) if is_target else QBrush())
            if is_target:
                item.setFlags(Qt.ItemFlag.NoItemFlags)  # drawn greyed: it cannot be checked
                item.setCheckState(Qt.CheckState.Unchecked)
                item.setToolTip("The target: the column the model predicts, never an input.")
            else:
                item.setFlags(flags | Qt.ItemFlag.ItemIsUserCheckable)
                item.setToolTip("Checked: an input of the model. Unchecked: ignored.")
                if was_target:
                    item.setCheckState(Qt.CheckState.Checked)
        self._target = target
        self._filling = False
        self._update_count()

    def names(self) -> list[str]:
        """Every column name, in file order."""
        return list(self._names)

    def chosen(self) -> list[str]:
        """The checked columns (the inputs), in file order."""
        names = self.names()
        return [
            names[row]
            for row in range(self.list.count())
            if row != self._target and self.list.item(row).checkState() == Qt.CheckState.Checked
        ]

    def chosen_indices(self) -> set[int]:
        names = self.names()
        return {names.index(name) for name in self.chosen()}

    def all_chosen(self) -> bool:
        return len(self.chosen()) == self.list.count() - (self._target >= 0)

    def set_chosen(self, columns) -> None:
        """Check exactly ``columns`` (names or indices, as in the loader's options)."""
        names = self.names()
        wanted = set()
        for column in columns:
            if isinstance(column, str) and column in names:
                wanted.add(names.index(column))
            elif isinstance(column, int) and -len(names) <= column < len(names):
                wanted.add(column % len(names))
        self._filling = True
        for row in range(self.list.count()):
            if row != self._target:
                state = Qt.CheckState.Checked if row in wanted else Qt.CheckState.Unchecked
                self.list.item(row).setCheckState(state)
        self._filling = False
        self._update_count()

    # -- reactions -----------------------------------------------------------------------------
    def _check_all(self, checked: bool) -> None:
        self.set_chosen(
            [row for row in range(self.list.count()) if row != self._target] if checked else []
        )
        self.edited.emit()

    def _item_changed(self, _item) -> None:
        if self._filling:
            return
        self._update_count()
        self.edited.emit()

    def _update_count(self) -> None:
        possible = self.list.count() - (self._target >= 0)
        self.count_label.setText(f"{len(self.chosen())} of {possible}")
