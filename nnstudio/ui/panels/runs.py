"""Runs: every training run of this session, kept with its settings, history and final metrics.

Tick runs to overlay their curves on the Training tab; select two or more and press Compare to
see their settings side by side, with the rows that differ highlighted.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from nnstudio.ui import style

COLUMNS = [
    "Run",
    "Status",
    "Dataset",
    "Model",
    "Optimizer",
    "LR",
    "Batch",
    "Epochs",
    "Loss",
    "Val loss",
    "Accuracy",
    "Val acc.",
]
STATUS_WORDS = {
    "training": "training…",
    "completed": "done",
    "stopped": "stopped",
    "early_stopping": "early stop",
    "nan": "NaN — paused",
    "failed": "failed",
}


@dataclass
class Run:
    """One training run: what it was trained with and what came out."""

    number: int
    dataset: str
    model_config: dict
    settings: dict
    history: list = field(default_factory=list)
    status: str = "training"

    @property
    def label(self) -> str:
        return f"Run {self.number}"

    def model_summary(self) -> str:
        parts = []
        for layer in self.model_config.get("layers", []):
            size = layer.get("units", layer.get("filters"))
            parts.append(f"{layer.get('type', '?')}{f'({size})' if size is not None else ''}")
        return " → ".join(parts)

    def final(self, key: str):
        for epoch in reversed(self.history):
            if epoch.get(key) is not None:
                return epoch[key]
        return None

    def comparison_rows(self) -> dict[str, str]:
        """Flat name → text of everything worth comparing between runs."""
        rows = {"dataset": self.dataset, "model": self.model_summary()}
        for key, value in self.settings.items():
            if isinstance(value, dict):
                rows.update({f"{key}.{k}": _text(v) for k, v in value.items()})
            else:
                rows[key] = _text(value, key)
        rows["epochs trained"] = str(len(self.history))
        for key in ("loss", "val_loss", "accuracy", "val_accuracy"):
            rows[f"final {key}"] = _text(self.final(key))
        rows["status"] = STATUS_WORDS.get(self.status, self.status)
        return rows


# Row names of the compare dialog in words (the keys are the project file's).
ROW_LABELS = {
    "dataset": "Dataset",
    "model": "Model",
    "loss": "Loss",
    "optimizer": "Optimizer",
    "learning_rate": "Learning rate",
    "batch_size": "Batch size",
    "epochs": "Epochs planned",
    "schedule": "Learning-rate schedule",
    "validation_split": "Validation split",
    "early_stopping": "Early stopping (patience)",
    "seed": "Seed",
    "augment": "Augment images",
    "beta1": "β₁",
    "beta2": "β₂",
    "weight_decay": "Weight decay",
    "momentum": "Momentum",
    "nesterov": "Nesterov momentum",
    "rho": "ρ (decay)",
    "eps": "ε",
}


def row_label(name: str) -> str:
    """ "optimizer_settings.beta1" -> "β₁", "schedule_settings.min_lr" -> "Min lr"."""
    key = name.rsplit(".", 1)[-1]
    return ROW_LABELS.get(key, key.replace("_", " ").capitalize())


def _text(value, key: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "on" if value else "off"
    if key == "validation_split" and not value:
        return "the dataset's"  # 0: fit validates on the dataset's own validation split
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


class RunsPanel(QWidget):
    """The Runs dock. ``overlay_changed`` carries the ticked runs (other than the live one)."""

    overlay_changed = Signal(list)

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
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.setToolTip(
            "Every training run of this session. Tick a run to overlay its "
            "curves on the Training tab; select several and press Compare."
        )
        self.table.itemChanged.connect(self._item_changed)
        self.compare_button = QPushButton(style.icon("compare"), "Compare")
        self.compare_button.setToolTip(
            "Show the selected runs' settings and results side by "
            "side; rows that differ are highlighted."
        )
        self.compare_button.clicked.connect(self.compare_selected)
        self.clear_button = QPushButton(style.icon("delete"), "Clear finished")
        self.clear_button.setToolTip("Forget every finished run (the current one stays).")
        self.clear_button.clicked.connect(self.clear_finished)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.compare_button)
        buttons.addWidget(self.clear_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 8)
        layout.addWidget(self.table)
        layout.addLayout(buttons)

    def add_run(self, dataset: str, model_config: dict, settings: dict) -> Run:
        number = self.runs[-1].number + 1 if self.runs else 1
        run = Run(number, dataset, copy.deepcopy(model_config), copy.deepcopy(settings))
        self.runs.append(run)
        self._refresh()
        return run

    def update_run(self, run: Run) -> None:
        """Redraw the row of a run whose history or status changed."""
        if run in self.runs:
            self._fill_row(self.runs.index(run), run)

    def _refresh(self) -> None:
        self.table.blockSignals(True)
        self.table.setRowCount(len(self.runs))
        for row, run in enumerate(self.runs):
            self._fill_row(row, run)
        self.table.blockSignals(False)

    def _fill_row(self, row: int, run: Run) -> None:
        s = run.settings
        values = [
            run.label,
            STATUS_WORDS.get(run.status, run.status),
            run.dataset,
            run.model_summary(),
            s.get("optimizer"),
            s.get("learning_rate"),
            s.get("batch_size"),
            len(run.history),
            run.final("loss"),
            run.final("val_loss"),
            run.final("accuracy"),
            run.final("val_accuracy"),
        ]
        blocked = self.table.blockSignals(True)
        for column, value in enumerate(values):
            item = self.table.item(row, column)
            if item is None:
                item = QTableWidgetItem()
                self.table.setItem(row, column, item)
            item.setText(_text(value))
        first = self.table.item(row, 0)
        first.setFlags(first.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        if first.data(Qt.ItemDataRole.CheckStateRole) is None:
            first.setCheckState(Qt.CheckState.Unchecked)
        first.setToolTip("Tick to overlay this run's curves on the Training tab.")
        self.table.blockSignals(blocked)

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

    def clear_finished(self) -> None:
        self.runs = [run for run in self.runs if run.status == "training"]
        self._refresh()
        self.overlay_changed.emit(self.checked_runs())

    def compare_selected(self) -> None:
        runs = self.selected_runs() or self.checked_runs() or self.runs[-2:]
        if runs:
            CompareDialog(runs, self).exec()


class CompareDialog(QDialog):
    """Runs side by side: one column per run, rows that differ tinted."""

    def __init__(self, runs: list[Run], parent=None):
        super().__init__(parent)
        self.setWindowTitle("Compare runs")
        self.resize(640, 520)
        rows_per_run = [run.comparison_rows() for run in runs]
        names: list[str] = []
        for rows in rows_per_run:
            names += [name for name in rows if name not in names]
        self.table = QTableWidget(len(names), len(runs))
        self.table.setObjectName("compareTable")
        self.table.setHorizontalHeaderLabels([run.label for run in runs])
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
            for column, text in enumerate(texts):
                item = QTableWidgetItem(text)
                if differs:
                    item.setBackground(tint)
                self.table.setItem(row, column, item)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
