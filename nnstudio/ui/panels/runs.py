"""Runs: every training run of this session, with its settings, history and final metrics.

Tick runs to overlay their curves on the Training tab; select two or more and press Compare to
see their settings side by side, with the rows that differ highlighted. The runs themselves
(``nnstudio.project.runs.Run``) belong to the project document; this dock only shows them.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QAction, QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QBoxLayout,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from nnstudio.project.runs import STATUS_WORDS, Run, row_label, value_text
from nnstudio.ui import style

__all__ = ["COLUMNS", "CompareDialog", "Run", "RunsPanel", "status_text"]

COMPARED_CURVES = [("loss", "Loss"), ("accuracy", "Accuracy")]


def run_color(index: int) -> str:
    """The colour of the ``index``-th compared run (curves and column header)."""
    from nnstudio.ui.colors import class_color

    return class_color(index)


# The Model column last: its text is long ("Conv2D(16) → MaxPool2D → …"). Stretched amid
# the others it was squeezed to a few letters in a narrow dock; last, it keeps its whole text
# and the results come into view before it.
COLUMNS = [
    "Run",
    "Status",
    "Dataset",
    "Optimizer",
    "LR",
    "Batch",
    "Epochs",
    "Loss",
    "Val loss",
    "Accuracy",
    "Val acc.",
    "Model",
]
MODEL_COLUMN = COLUMNS.index("Model")

# A table cell's word for a status where STATUS_WORDS's is too long for a narrow dock, or
# reads as cut ("training…"); the cell's tooltip says it in full.
SHORT_STATUS = {"training": "training", "nan": "blew up"}
STATUS_TIPS = {
    "training": "Training now.",
    "paused": "Paused: training can go on from here.",
    "completed": "Done: every planned epoch trained.",
    "stopped": "Stopped before its last planned epoch.",
    "early_stopping": "Early stopping ended it: the validation loss no longer improved.",
    "nan": "Stopped: the loss blew up (it became NaN or infinite).",
    "failed": "Failed: training ended with an error.",
}


def status_text(status: str) -> str:
    """The Status cell's word for a run's status."""
    return SHORT_STATUS.get(status, STATUS_WORDS.get(status, status))


class RunsPanel(QWidget):
    """The Runs dock: a view of a list of runs (``set_runs``), one row each.

    ``overlay_changed`` carries the ticked runs; ``clear_requested`` asks the owner of the
    runs to forget the finished ones (the dock then gets the shorter list).
    """

    overlay_changed = Signal(list)
    clear_requested = Signal()
    import_requested = Signal()  # "Add runs from file…": another project's runs, to compare

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("runsPanel")
        self.runs: list[Run] = []
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("runsTable")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setAlternatingRowColors(True)
        self.table.setMinimumHeight(56)  # a header and a row: the dock may be made small
        # One line a row: a wrapped model summary showed half of its second line.
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        # Every column as wide as its text; the last (Model) also takes any room left over
        # (_fit_model_column). A stretched column got only a few letters once they overflowed.
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.viewport().installEventFilter(self)
        self.table.setToolTip(
            "Every training run of this session. Tick a run to overlay its "
            "curves on the Training tab; tick several and press Compare."
        )
        self.table.itemChanged.connect(self._item_changed)
        self.compare_button = QPushButton(style.icon("compare"), "Compare")
        self.compare_button.setToolTip(
            "Show the ticked runs' settings and results side by "
            "side (the selected rows when none is ticked); rows that differ are highlighted."
        )
        self.compare_button.clicked.connect(self.compare_selected)
        self.clear_button = QPushButton(style.icon("delete"), "Clear finished")
        self.clear_button.setToolTip("Forget every finished run (the current one stays).")
        self.clear_button.clicked.connect(self.clear_requested)
        # No third button (the dock is about 70 pixels high on a 768-pixel screen): the
        # table's context menu, and the Training menu, offer it.
        self.import_action = QAction("Compare with runs from file…", self)
        self.import_action.setObjectName("actionImportRuns")
        self.import_action.setToolTip(
            "Add the runs saved in another project file, to overlay or compare: labelled with "
            "that file's name (opening a project never mixes its runs in)."
        )
        self.import_action.setStatusTip(self.import_action.toolTip())
        self.import_action.triggered.connect(self.import_requested)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.table.addAction(self.import_action)
        # Under the tabs, the buttons sit beside the table (a short dock: a row of buttons
        # below covered the table's only row); in a side column, below it: set_side_by_side.
        self.buttons = QBoxLayout(QBoxLayout.Direction.TopToBottom)
        self.buttons.addWidget(self.compare_button)
        self.buttons.addWidget(self.clear_button)
        self.buttons.addStretch(1)
        self.columns = QBoxLayout(QBoxLayout.Direction.LeftToRight, self)
        self.columns.setContentsMargins(8, 4, 8, 4)
        self.columns.addWidget(self.table, 1)
        self.columns.addLayout(self.buttons)

    def set_side_by_side(self, side_by_side: bool) -> None:
        """The buttons beside the table (True) or in a row under it (False)."""
        across, down = QBoxLayout.Direction.LeftToRight, QBoxLayout.Direction.TopToBottom
        self.columns.setDirection(across if side_by_side else down)
        self.buttons.setDirection(down if side_by_side else across)

    def set_runs(self, runs: list[Run]) -> None:
        """Show these runs (ticks stay with their runs, not with their rows)."""
        checked = self.checked_runs()
        added = any(run not in self.runs for run in runs)
        self.runs = list(runs)
        self.table.blockSignals(True)
        self.table.setRowCount(0)  # rows may have shifted: fresh items, fresh ticks
        self.table.setRowCount(len(self.runs))
        for row, run in enumerate(self.runs):
            self._fill_row(row, run)
            if run in checked:
                self.table.item(row, 0).setCheckState(Qt.CheckState.Checked)
        self.table.blockSignals(False)
        self._fit_model_column()
        if added:
            # A new run is the last row: keep it in sight in a short Runs panel.
            self.table.scrollToBottom()
        if any(run not in self.runs for run in checked):
            self.overlay_changed.emit(self.checked_runs())

    def update_run(self, run: Run) -> None:
        """Redraw the row of a run whose history or status changed."""
        if run in self.runs:
            self._fill_row(self.runs.index(run), run)
            self._fit_model_column()

    def eventFilter(self, watched, event) -> bool:
        if watched is self.table.viewport() and event.type() == QEvent.Type.Resize:
            self._fit_model_column()
        return super().eventFilter(watched, event)

    def _fit_model_column(self) -> None:
        """The Model column as wide as its text, and wider to fill the row when there is room.
        Qt's stretched last section ignores its text: a narrow dock showed "Conv2D(" of it."""
        header = self.table.horizontalHeader()
        others = sum(header.sectionSize(c) for c in range(len(COLUMNS)) if c != MODEL_COLUMN)
        need = max(self.table.sizeHintForColumn(MODEL_COLUMN), header.sectionSizeHint(MODEL_COLUMN))
        fills = others + need <= self.table.viewport().width()
        mode = QHeaderView.ResizeMode.Stretch if fills else QHeaderView.ResizeMode.ResizeToContents
        if header.sectionResizeMode(MODEL_COLUMN) != mode:
            header.setSectionResizeMode(MODEL_COLUMN, mode)

    def _fill_row(self, row: int, run: Run) -> None:
        s = run.settings
        values = {
            "Run": run.label,
            "Status": status_text(run.status),
            "Dataset": run.dataset,
            "Optimizer": s.get("optimizer"),
            "LR": s.get("learning_rate"),
            "Batch": s.get("batch_size"),
            "Epochs": len(run.history),
            "Loss": run.final("loss"),
            "Val loss": run.final("val_loss"),
            "Accuracy": run.final("accuracy"),
            "Val acc.": run.final("val_accuracy"),
            "Model": run.model_summary(),
        }
        blocked = self.table.blockSignals(True)
        for column, name in enumerate(COLUMNS):
            item = self.table.item(row, column)
            if item is None:
                item = QTableWidgetItem()
                self.table.setItem(row, column, item)
            text = value_text(values[name])
            if item.text() != text:  # each epoch changes a few cells: only they are redrawn
                item.setText(text)
        self._set_tip(row, COLUMNS.index("Status"), STATUS_TIPS.get(run.status, ""))
        self._set_tip(row, MODEL_COLUMN, values["Model"])  # whole, if the column cuts it
        first = self.table.item(row, 0)
        checkable = first.flags() | Qt.ItemFlag.ItemIsUserCheckable
        if first.flags() != checkable:  # a new row: every epoch repainted it
            first.setFlags(checkable)
        if first.data(Qt.ItemDataRole.CheckStateRole) is None:
            first.setCheckState(Qt.CheckState.Unchecked)
        self._set_tip(row, 0, "Tick to overlay this run's curves on the Training tab.")
        self.table.blockSignals(blocked)

    def _set_tip(self, row: int, column: int, tip: str) -> None:
        item = self.table.item(row, column)
        if item.toolTip() != tip:  # unchanged cells are not redrawn
            item.setToolTip(tip)

    def _item_changed(self, item: QTableWidgetItem) -> None:
        if item.column() == 0:
            self.overlay_changed.emit(self.checked_runs())

    def checked_runs(self) -> list[Run]:
        checked = []
        for row, run in enumerate(self.runs):
            item = self.table.item(row, 0)
            if item is not None and item.checkState() == Qt.CheckState.Checked:
                checked.append(run)
        return checked

    def set_checked(self, run: Run, checked: bool) -> None:
        state = Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked
        self.table.item(self.runs.index(run), 0).setCheckState(state)

    def selected_runs(self) -> list[Run]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [self.runs[row] for row in rows]

    def compare_selected(self) -> None:
        # The ticked runs (those overlaid on the plots); selected rows when none is ticked.
        runs = self.checked_runs() or self.selected_runs() or self.runs[-2:]
        if runs:
            CompareDialog(runs, self).exec()


class CompareDialog(QDialog):
    """Runs side by side: their loss and accuracy curves overlaid by epoch (one colour per run,
    the same colour on its column's header), and their settings in one column per run with the
    rows that differ tinted and in bold."""

    def __init__(self, runs: list[Run], parent=None):
        super().__init__(parent)
        self.setWindowTitle("Compare runs")
        self.resize(820, 640)
        self.plots = {key: self._curves(runs, key, title) for key, title in COMPARED_CURVES}
        rows_per_run = [run.comparison_rows() for run in runs]
        names: list[str] = []
        for rows in rows_per_run:
            names += [name for name in rows if name not in names]
        self.table = QTableWidget(len(names), len(runs))
        self.table.setObjectName("compareTable")
        self.table.setHorizontalHeaderLabels([run.label for run in runs])
        for column in range(len(runs)):
            self.table.horizontalHeaderItem(column).setForeground(QBrush(QColor(run_color(column))))
        self.table.setVerticalHeaderLabels([row_label(name) for name in names])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        tint = QBrush(QColor("#fff3d6"))
        self.differing: list[str] = []
        for row, name in enumerate(names):
            texts = [rows.get(name, "—") for rows in rows_per_run]
            differs = len(set(texts)) > 1
            if differs:
                self.differing.append(name)
                header = self.table.verticalHeaderItem(row)
                bold = header.font()
                bold.setBold(True)
                header.setFont(bold)
                header.setToolTip("The runs differ here.")
            for column, text in enumerate(texts):
                item = QTableWidgetItem(text)
                if differs:
                    item.setBackground(tint)
                self.table.setItem(row, column, item)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        curves = QHBoxLayout()
        for plot in self.plots.values():
            curves.addWidget(plot)
        count = len(self.differing)
        verb = "setting differs" if count == 1 else "settings differ"
        self.note = QLabel(
            f"{count} {verb} (tinted, in bold)." if count else "The runs have the same settings."
        )
        layout = QVBoxLayout(self)
        layout.addLayout(curves, 1)
        layout.addWidget(self.note)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)

    @staticmethod
    def _curves(runs: list[Run], key: str, title: str):
        """One plot of ``key`` by epoch with a named curve per run (validation dashed)."""
        from nnstudio.ui.plots import pg
        from nnstudio.ui.plots.curve_items import LEGEND, epoch_curve, finite, set_epoch_data

        plot = pg.PlotWidget(title=title)
        plot.setObjectName(f"compare_{key}")
        plot.setBackground("w")
        plot.setMinimumHeight(180)
        # Loss falls and accuracy rises: each legend in the corner its curves leave empty.
        plot.addLegend(offset=(-8, 8) if key == "loss" else (-8, -8), **LEGEND)
        plot.setLabel("bottom", "epoch")
        for column, run in enumerate(runs):
            epochs = np.arange(1, len(run.history) + 1, dtype=float)
            for metric, dashed, suffix in ((key, False, ""), (f"val_{key}", True, " (val.)")):
                values = finite([entry.get(metric) for entry in run.history])
                if len(values) and np.isfinite(values).any():
                    curve = epoch_curve(plot, run_color(column), f"{run.label}{suffix}", dashed)
                    set_epoch_data(curve, epochs, values)
        return plot
