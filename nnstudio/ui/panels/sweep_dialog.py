"""SweepDialog: Training → Sweep… — a grid of settings (a list of values per setting), run on
this machine's cores without blocking the window, with a table of the trials, a
parallel-coordinates plot (settings → metric) and "Open best".

The trials themselves are nnstudio/project/sweep.py's, run by sweep_runner.py (a process per
core) inside a job on a worker thread (ui/widgets/jobs.py); each finished trial comes back
through the job's progress signal, on the GUI thread.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from nnstudio.project.sweep import (
    METRICS,
    SweepError,
    best_trial,
    grid_settings,
    make_trials,
    parse_grid,
)
from nnstudio.ui.plots.parallel_coordinates import ParallelCoordinatesPlot
from nnstudio.ui.widgets.jobs import JobRunner


def default_rows(training) -> list[tuple[str, str]]:
    """A first grid around the project's own settings: its rate ÷10, itself, ×10, and its
    batch size halved and doubled."""
    rate, batch = float(training.learning_rate), int(training.batch_size)
    rates = ", ".join(f"{rate * f:.3g}" for f in (0.1, 1, 10))
    return [("learning_rate", rates), ("batch_size", f"{max(1, batch // 2)}, {batch * 2}")]


class SweepDialog(QDialog):
    """``SweepDialog(project)``; ``start()`` runs the grid in the table. Signals:
    ``trial_finished(record, trial)`` for each trial, ``finished(records)`` at the end,
    ``open_best(trial)`` when the user asks for the best trial's settings."""

    trial_finished = Signal(object, object)
    finished = Signal(object)
    open_best = Signal(object)

    def __init__(self, project, parent=None, workers: int | None = None):
        super().__init__(parent)
        self.setObjectName("sweepDialog")
        self.setWindowTitle("Sweep")
        self.resize(760, 560)
        self.project, self.workers = project, workers
        self.trials: dict[int, dict] = {}
        self.records: list[dict] = []
        self.grid_table = self._grid_table(default_rows(project.training))
        self.results = QTableWidget(0, 0)
        self.results.setObjectName("sweepResults")
        self.results.setSortingEnabled(True)
        self.plot = ParallelCoordinatesPlot()
        self.metric_box = QComboBox()
        self.metric_box.addItems(METRICS)
        self.metric_box.currentTextChanged.connect(lambda _: self._redraw())
        self.message = QLabel("One trial per combination; values separated by commas.")
        self.message.setObjectName("sweepMessage")
        self.message.setWordWrap(True)
        self.jobs = JobRunner(self)
        self.jobs.progress.connect(self._on_progress)
        self.jobs.done.connect(self._on_done)
        self.jobs.failed.connect(self._on_failed)
        self._lay_out()

    # -- building ---------------------------------------------------------------------------------

    def _grid_table(self, rows: list[tuple[str, str]]) -> QTableWidget:
        table = QTableWidget(0, 2)
        table.setObjectName("sweepGrid")
        table.setHorizontalHeaderLabels(["Setting", "Values"])
        table.horizontalHeader().setStretchLastSection(True)
        for name, values in rows:
            self._add_row(table, name, values)
        return table

    @staticmethod
    def _add_row(table: QTableWidget, name: str = "", values: str = "") -> None:
        row = table.rowCount()
        table.insertRow(row)
        table.setItem(row, 0, QTableWidgetItem(name))
        table.setItem(row, 1, QTableWidgetItem(values))

    def _lay_out(self) -> None:
        self.run_button = QPushButton("Run")
        self.run_button.setObjectName("sweepRunButton")
        self.run_button.clicked.connect(self.start)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop)
        self.best_button = QPushButton("Open best")
        self.best_button.setObjectName("sweepOpenBest")
        self.best_button.setEnabled(False)
        self.best_button.clicked.connect(self._open_best)
        add = QPushButton("Add setting")
        add.clicked.connect(lambda: self._add_row(self.grid_table))
        close = QPushButton("Close")
        close.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        for widget in (add, self.run_button, self.stop_button):
            buttons.addWidget(widget)
        buttons.addStretch(1)
        buttons.addWidget(QLabel("Best by"))
        for widget in (self.metric_box, self.best_button, close):
            buttons.addWidget(widget)
        layout = QVBoxLayout(self)
        layout.addWidget(self.grid_table, 1)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        layout.addWidget(self.results, 2)
        layout.addWidget(self.plot, 2)

    # -- running ----------------------------------------------------------------------------------

    def grid_text(self) -> str:
        rows = []
        for row in range(self.grid_table.rowCount()):
            name, values = (self.grid_table.item(row, c) for c in (0, 1))
            if name is not None and values is not None and name.text().strip():
                rows.append(f"{name.text().strip()}={values.text().replace(' ', '')}")
        return ";".join(rows)

    def start(self) -> None:
        try:
            settings = grid_settings(parse_grid(self.grid_text()))
            trials = make_trials(self.project, settings)
        except SweepError as error:
            self.message.setText(str(error))
            return
        for trial in trials:
            trial["history"] = True  # for the Runs dock's curves
        self.trials = {trial["trial"]: trial for trial in trials}
        self.records = []
        self._set_running(True, f"Running {len(trials)} trials on this machine's cores…")
        workers = self.workers
        self.jobs.start(lambda job: _run(trials, workers, job))

    def stop(self) -> None:
        self.jobs.cancel()  # the job stops its trials; the finished ones are already here
        self._set_running(False, f"Stopped: {len(self.records)} of {len(self.trials)} trials.")
        self.finished.emit(list(self.records))

    def _set_running(self, running: bool, text: str) -> None:
        self.run_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.message.setText(text)

    def _on_progress(self, record, total, message) -> None:
        self.records.append(record)
        self.trial_finished.emit(record, self.trials.get(record["trial"]))
        self.message.setText(f"{len(self.records)} of {total} trials finished…")
        self._redraw()

    def _on_done(self, outcome) -> None:
        self._set_running(False, f"{len(self.records)} of {len(self.trials)} trials finished.")
        self.finished.emit(list(self.records))

    def _on_failed(self, error) -> None:
        self._set_running(False, f"The sweep failed: {error}")

    # -- showing ----------------------------------------------------------------------------------

    def best(self) -> dict | None:
        return best_trial(self.records, self.metric_box.currentText())

    def _redraw(self) -> None:
        names = list(self.records[0]["settings"]) if self.records else []
        self._fill_results(names)
        self.plot.set_trials(names, self.records, self.metric_box.currentText())
        self.best_button.setEnabled(self.best() is not None)

    def _fill_results(self, names: list[str]) -> None:
        columns = ["trial", *names, *METRICS, "seconds", "worker"]
        self.results.setSortingEnabled(False)  # filling a sorted table moves rows under us
        self.results.setColumnCount(len(columns))
        self.results.setHorizontalHeaderLabels(columns)
        self.results.setRowCount(len(self.records))
        for row, record in enumerate(self.records):
            values = {**record["settings"], **(record.get("metrics") or {}), **record}
            for column, key in enumerate(columns):
                value = record.get("error", "") if key in METRICS and "error" in record else None
                item = QTableWidgetItem()
                shown = values.get(key) if value is None else value
                item.setData(0, round(shown, 4) if isinstance(shown, float) else shown)
                self.results.setItem(row, column, item)
        self.results.setSortingEnabled(True)

    def _open_best(self) -> None:
        best = self.best()
        if best is not None:
            self.open_best.emit(self.trials[best["trial"]])

    def done(self, result: int) -> None:
        """Closing stops a sweep still running and waits for its job."""
        if self.stop_button.isEnabled():
            self.stop()
        self.jobs.wait(10000)
        super().done(result)


def _run(trials, workers, job):
    from nnstudio.project.sweep_runner import run_trials

    total = len(trials)
    return run_trials(
        trials,
        workers=workers,
        on_result=lambda record: job.report(record, total, "trial"),
        stop=job.cancel_event,
    )
