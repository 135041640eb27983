"""The Evaluate tab: metrics on the test split, confusion matrix, examples and mistakes.

``evaluate(model, loss, dataset)`` runs prediction, metrics and saliency on a worker thread
(``nnstudio.project.evaluation.evaluate_dataset``, the same numbers as ``nnstudio evaluate``)
and fills the views when it is done; the ``evaluated`` signal carries the report so tests and
the window can wait for it.

The page says one thing at a time. Until it has results, a single sentence fills it in place
of the views (whose own placeholders, "Train a classifier, then evaluate it", would contradict
"Evaluating…"): not evaluated yet, evaluating, failed, or a run going. While a run trains (or
is paused) the model is the run's: nothing is evaluated until it ends (``set_run_going``), and
results from before the run say so under their headline.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from PySide6.QtCore import QMetaMethod, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from nnstudio.project.evaluation import cell_examples, evaluate_dataset
from nnstudio.ui import style
from nnstudio.ui.colors import class_label
from nnstudio.ui.panels.mistakes_gallery import ExamplesView
from nnstudio.ui.plots import pg
from nnstudio.ui.plots.confusion_matrix import ConfusionMatrixView
from nnstudio.ui.widgets.jobs import JobRunner
from nnstudio.ui.widgets.message_bar import MessageBar
from nnstudio.ui.widgets.table_preview import ColumnTable

METRIC_TIPS = [
    "Class name",
    "Of the samples predicted as this class, the share that are it",
    "Of the samples of this class, the share the model found",
    "Harmonic mean of precision and recall",
    "Samples of this class in the split",
]


NOT_EVALUATED = "Not evaluated yet — train a model, then press Evaluate."
RUN_GOING = "A run is in progress: the model is evaluated here when it ends (Stop ends it now)."
EVALUATION_FAILED = "Evaluation failed."
# Under results that a run has made out of date.
OUTDATED_WHILE_RUNNING = "From before this run: the model is evaluated again when it ends."
OUTDATED = "From before the last training: press Evaluate for the model as it is now."


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


class RegressionScatter(pg.PlotWidget):
    """Predicted against true values; the dashed diagonal is a perfect model."""

    def __init__(self, parent=None):
        super().__init__(parent, background="w")
        self.setMenuEnabled(False)
        self.setLabel("bottom", "true value")
        self.setLabel("left", "predicted value")
        self.getPlotItem().showGrid(x=True, y=True, alpha=0.15)
        self.points = pg.ScatterPlotItem(size=5, pen=None, brush=pg.mkBrush(0, 114, 178, 150))
        self.diagonal = pg.PlotDataItem(
            pen=pg.mkPen("#888888", width=1, style=Qt.PenStyle.DashLine)
        )
        self.addItem(self.diagonal)
        self.addItem(self.points)
        self.setToolTip(
            "Each point is a sample: its true target (x) and the model's prediction "
            "(y). Points on the dashed line are perfect."
        )

    def set_values(self, true, predicted) -> None:
        true, predicted = np.ravel(true), np.ravel(predicted)
        self.points.setData(true, predicted)
        low = float(min(true.min(), predicted.min())) if true.size else 0.0
        high = float(max(true.max(), predicted.max())) if true.size else 1.0
        self.diagonal.setData([low, high], [low, high])
        self.autoRange()


class EvaluationPanel(QWidget):
    """Metrics table, confusion matrix, examples of a cell, most confident mistakes, export."""

    evaluated = Signal(dict)
    cell_selected = Signal(int, int)
    evaluate_requested = Signal()
    evaluate_epoch_requested = Signal(int)  # the Training tab's timeline is at that epoch
    explain_requested = Signal(int)  # an example was clicked: "See the math" for that sample

    def __init__(self, parent=None):
        super().__init__(parent)
        self._model = self._loss = self._dataset = None
        self._result: dict | None = None
        self._headline = ""  # the numbers of the result, above the views
        self._about = None  # which model the result is of, when the window says: "Epoch 3"
        self._failed = False  # the last evaluation failed (the message bar says why)
        self._run_going = False  # a run trains or is paused: the model is the run's
        self._outdated = False  # a run started after the result was made
        self._runner = JobRunner(self)
        self._runner.done.connect(self._on_done)
        self._runner.failed.connect(self._on_failed)
        self._build()
        self.clear()

    # -- construction --------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(self._build_toolbar())
        self.message = MessageBar()
        layout.addWidget(self.message)
        self.metrics = ColumnTable()
        self.metrics.setToolTip(
            "Per-class metrics on the evaluated split. Click a header to "
            "sort; the averages are listed below."
        )
        self.averages = ColumnTable(sortable=False)
        self.averages.setToolTip(
            "Macro average: every class counts the same. Weighted: by "
            "the number of samples of each class."
        )
        self.averages.setMaximumHeight(92)
        for table in (self.metrics, self.averages):
            table.verticalHeader().setVisible(False)  # the class column names each row
        self.metrics.fit_columns_to_contents()
        self.averages.fit_columns_to_contents()
        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.metrics, 1)
        column.addWidget(self.averages)
        self.confusion = ConfusionMatrixView()
        self.confusion.cell_clicked.connect(self.show_cell)
        self.scatter = RegressionScatter()
        self.plot_stack = QStackedWidget()
        self.plot_stack.addWidget(self.confusion)
        self.plot_stack.addWidget(self.scatter)
        self.top_splitter = top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(left)
        top.addWidget(self.plot_stack)
        top.setSizes([440, 460])  # the metrics need about 400 pixels to show whole
        body = QSplitter(Qt.Orientation.Vertical)
        body.addWidget(top)
        body.addWidget(self._build_examples())
        body.setSizes([480, 300])
        self.body = body
        # Before there are results: the one sentence that says why (see the module doc).
        self.state_label = QLabel()
        self.state_label.setObjectName("placeholder")
        self.state_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.state_label.setWordWrap(True)
        self.body_stack = QStackedWidget()
        self.body_stack.addWidget(self.state_label)
        self.body_stack.addWidget(body)
        layout.addWidget(self.body_stack, 1)

    def _export_action(self, menu: QMenu, text: str, tip: str, title: str, default: str, save):
        action = menu.addAction(text)
        action.setToolTip(tip)
        action.triggered.connect(lambda: self._ask_path(title, default, save))
        return action

    def _build_toolbar(self) -> QHBoxLayout:
        self.summary = QLabel()
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setToolTip("Headline numbers of the last evaluation.")
        # Wraps rather than widening the window: the headline can be long.
        self.summary.setWordWrap(True)
        self.evaluate_button = QPushButton("Evaluate")
        self.evaluate_button.setToolTip("Evaluate the current model on the test split now.")
        self.evaluate_button.clicked.connect(self._request)
        # Shown while the timeline is scrubbed back: evaluate the model of that epoch.
        self.evaluate_epoch_button = QPushButton("Evaluate epoch")
        self.evaluate_epoch_button.setObjectName("evaluateEpochButton")
        self.evaluate_epoch_button.setVisible(False)
        self.evaluate_epoch_button.clicked.connect(
            lambda: self.evaluate_epoch_requested.emit(self._offered_epoch)
        )
        self._offered_epoch = -1
        menu = QMenu(self)
        menu.setToolTipsVisible(True)
        self.export_metrics_action = self._export_action(
            menu,
            "Metrics table as CSV…",
            "Save the metrics table (and averages) as a CSV file.",
            "Save metrics",
            "metrics.csv",
            self.export_metrics_csv,
        )
        self.export_matrix_action = self._export_action(
            menu,
            "Confusion matrix as CSV…",
            "Save the confusion matrix counts as a CSV file.",
            "Save confusion matrix",
            "confusion.csv",
            self.export_confusion_csv,
        )
        self.export_png_action = self._export_action(
            menu,
            "Plot as PNG…",
            "Save the confusion matrix (or the regression scatter) as a PNG image.",
            "Save plot",
            "evaluation.png",
            self.export_plot_png,
        )
        self.export_gallery_action = self._export_action(
            menu,
            "Mistakes as PNG…",
            "Save the gallery of the most confident mistakes (with saliency) as a PNG image.",
            "Save mistakes",
            "mistakes.png",
            self.export_mistakes_png,
        )
        # A push button with a menu, as its neighbours and the Data dock's Open…: a tool
        # button's arrow sat in its corner, against the text and the border.
        self.export_button = QPushButton(style.icon("export"), "Export")
        self.export_button.setMenu(menu)
        self.export_button.setToolTip("Save the metrics, the confusion matrix or the plots.")
        row = QHBoxLayout()
        row.addWidget(self.summary, 1)
        row.addWidget(self.evaluate_button)
        row.addWidget(self.evaluate_epoch_button)
        row.addWidget(self.export_button)
        return row

    def _build_examples(self) -> QTabWidget:
        self.examples = ExamplesView("Click a cell of the confusion matrix to see its samples.")
        self.examples_label = QLabel()
        self.examples_label.hide()  # until a cell is chosen (see _caption_examples)
        self.mistakes = ExamplesView("No mistakes to show yet.")
        self.saliency_box = QCheckBox("Show saliency")
        self.saliency_box.setChecked(True)
        self.saliency_box.setToolTip(
            "Red marks the pixels that pushed the model most towards "
            "its (wrong) answer: the gradient of that class's output "
            "with respect to the input."
        )
        self.saliency_box.toggled.connect(self._show_mistakes)
        for view in (self.examples, self.mistakes):
            view.example_chosen.connect(self.explain_requested)
        self.tabs = QTabWidget()
        self.tabs.addTab(self._page(self.examples_label, self.examples), "Examples in cell")
        self.tabs.addTab(self._page(self.saliency_box, self.mistakes), "Most confident mistakes")
        self.tabs.setTabToolTip(
            0,
            "The samples behind the selected confusion-matrix cell, "
            "with the model's probabilities (hover for all of them).",
        )
        self.tabs.setTabToolTip(
            1,
            "Wrong answers the model was surest about: often mislabelled "
            "or genuinely ambiguous samples. Click one (double-click a table row) to see the "
            "math: its forward and backward pass, with the numbers.",
        )
        return self.tabs

    @staticmethod
    def _page(header: QWidget, view: QWidget) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(header)
        layout.addWidget(view, 1)
        return page

    # -- public API ----------------------------------------------------------------------------
    def evaluate(self, model, loss, dataset, about: str | None = None) -> None:
        """Evaluate on the test split (validation if there is none); ``evaluated`` follows.
        ``loss`` is a loss or its name; ``about`` names the model in the headline ("Epoch 3",
        "Untrained model")."""
        self._forget_result()  # its numbers under "Evaluating…" would be of another model
        self._model, self._loss, self._dataset = model, loss, dataset
        self._about = about
        self.message.hide()
        self._runner.start(lambda job: evaluate_dataset(model, loss, dataset, job.cancel_event))
        self._show_state()

    def set_run_going(self, going: bool) -> None:
        """A run trains or is paused (``going``), or has ended. The page evaluates nothing
        while one goes, and results from before it say they are out of date."""
        if going and not self._run_going and self._result is not None:
            self._outdated = True
        self._run_going = going
        self._show_state()

    def offer_epoch(self, epoch: int | None) -> None:
        """Offer to evaluate the model of ``epoch`` (the timeline's), or stop offering."""
        self._offered_epoch = -1 if epoch is None else int(epoch)
        self.evaluate_epoch_button.setVisible(epoch is not None)
        if epoch is not None:
            self.evaluate_epoch_button.setText(f"Evaluate epoch {epoch}")
            self.evaluate_epoch_button.setToolTip(
                f"Evaluate the model as it was at the end of epoch {epoch} (the Training "
                "tab's timeline); Evaluate uses the current one."
            )

    def clear(self) -> None:
        """Forget the last evaluation (e.g. when the model or the dataset changed)."""
        self._runner.cancel()
        self._forget_result()
        self._show_state()

    def _forget_result(self) -> None:
        self._result, self._headline, self._about = None, "", None
        self._failed = self._outdated = False
        self.metrics.set_columns([])
        self.averages.set_columns([])
        self.confusion.clear()
        self.examples.clear()
        self.mistakes.clear()
        self._caption_examples("")
        self._enable_exports(False)

    def _show_state(self) -> None:
        """The results under their headline, or the one sentence that says why there are
        none; Evaluate is offered when it can run now."""
        if self._result is None:
            self.body_stack.setCurrentWidget(self.state_label)
            self.summary.setText("")
            self.state_label.setText(self._waiting_text())
        else:
            self.body_stack.setCurrentWidget(self.body)
            self.summary.setText(self._headline_text())
        self.evaluate_button.setEnabled(not self._runner.busy() and not self._run_going)

    def _waiting_text(self) -> str:
        if self._runner.busy():
            return f"Evaluating on {self._dataset.name}…"
        if self._failed:
            return EVALUATION_FAILED
        return RUN_GOING if self._run_going else NOT_EVALUATED

    def _headline_text(self) -> str:
        text = self._headline
        if self._about:
            text = f"<b>{self._about}</b> · {text}"
        if self._outdated:
            note = OUTDATED_WHILE_RUNNING if self._run_going else OUTDATED
            text = f"{text}<br><i>{note}</i>"
        return text

    def report(self) -> dict | None:
        return None if self._result is None else self._result["report"]

    def explain_source(self) -> dict | None:
        """What "See the math" needs for an evaluated example: the evaluated model (a copy
        the panel owns), its loss and the split's inputs and targets."""
        result = self._result
        if result is None or self._model is None:
            return None
        return {
            "model": self._model,
            "loss": self._loss,
            "x": result["x"],
            "y": result["y_true"],
            "split": result.get("split", "test"),
        }

    def wait(self, msecs: int = 30000) -> bool:
        return self._runner.wait(msecs)

    def shutdown(self, msecs: int = 30_000) -> bool:
        """Cancel an evaluation still running and wait for its thread (the window is closing:
        its thread must not outlive the widgets). True when the thread has ended."""
        self._runner.cancel()
        return self._runner.wait(msecs)

    def show_cell(self, true_class: int, predicted_class: int) -> None:
        """Show the samples of true class ``true_class`` predicted as ``predicted_class``."""
        if self._result is None or self._result["task"] != "classification":
            return
        self.confusion.select(true_class, predicted_class)
        indices = cell_examples(self._result, true_class, predicted_class)
        self.examples.show_examples(self._result, indices, self._dataset)
        total = int(self._result["report"]["confusion_matrix"][true_class][predicted_class])
        names = self._dataset.class_names
        shown = f" (the {len(indices)} most confident shown)" if total > len(indices) else ""
        self._caption_examples(
            f"True <b>{class_label(names, true_class)}</b>, predicted "
            f"<b>{class_label(names, predicted_class)}</b>: {plural(total, 'sample')}{shown}."
        )
        self.tabs.setCurrentIndex(0)
        self.cell_selected.emit(true_class, predicted_class)

    # -- results -------------------------------------------------------------------------------
    def _request(self) -> None:
        # The window owns the model (it may be training): ask it; evaluate again on our own
        # references only when nobody is listening.
        if self.isSignalConnected(QMetaMethod.fromSignal(self.evaluate_requested)):
            self.evaluate_requested.emit()
        elif self._model is not None:
            self.evaluate(self._model, self._loss, self._dataset, about=self._about)

    def _on_done(self, result: dict) -> None:
        self._result = result
        self.body_stack.setCurrentWidget(self.body)  # shown before its plots are sized
        report = result["report"]
        if result["task"] == "regression":
            self._show_regression(result)
        else:
            self._show_classification(result)
        self._enable_exports(True)
        self._show_state()
        self.evaluated.emit(report)

    def _on_failed(self, error) -> None:
        self._failed = True
        self._show_state()
        self.message.show_message(f"Could not evaluate: {error}", "error")

    def _show_classification(self, result: dict) -> None:
        report, names = result["report"], self._dataset.class_names
        self._headline = (
            f"{result['split'].capitalize()} split, {report['samples']:,} samples: accuracy "
            f"<b>{100 * report['accuracy']:.2f} %</b> · loss {report['loss']:.4f} · "
            f"{plural(int((result['y_true'] != result['y_pred']).sum()), 'mistake')}"
        )
        rows = report["per_class"]
        self.metrics.set_columns(
            [
                (header, [row[key] for row in rows])
                for header, key in (
                    ("class", "class"),
                    ("precision", "precision"),
                    ("recall", "recall"),
                    ("F1", "f1"),
                    ("support", "support"),
                )
            ],
            header_tips=METRIC_TIPS,
            column_colors=None,
        )
        averages = [("macro avg", report["macro"]), ("weighted avg", report["weighted"])]
        self.averages.set_columns(
            [("average", [name for name, _ in averages])]
            + [
                (header, [values[key] for _, values in averages])
                for header, key in (
                    ("precision", "precision"),
                    ("recall", "recall"),
                    ("F1", "f1"),
                    ("support", "support"),
                )
            ]
        )
        self.confusion.set_matrix(
            report["confusion_matrix"], [class_label(names, k) for k in range(len(rows))]
        )
        self.plot_stack.setCurrentWidget(self.confusion)
        self.averages.show()
        # The splitter may not squeeze the tables below their columns (Support was cut).
        self._keep_tables_whole(max(_columns_width(self.metrics), _columns_width(self.averages)))
        self.tabs.show()
        self.examples.clear()
        self._caption_examples("")  # the empty grid says to click a cell: said once
        self._show_mistakes()

    def _caption_examples(self, text: str) -> None:
        """The line above a cell's examples; hidden while there is none (no blank line)."""
        self.examples_label.setText(text)
        self.examples_label.setVisible(bool(text))

    def _keep_tables_whole(self, width: int) -> None:
        self.metrics.parentWidget().setMinimumWidth(width)
        # A splitter moves its handle for a new minimum only when asked: until then the
        # tables lay over the confusion matrix.
        self.top_splitter.setSizes(self.top_splitter.sizes())

    def _show_mistakes(self) -> None:
        result = self._result
        if result is None or result["task"] != "classification":
            return
        saliency = result["saliency"] if self.saliency_box.isChecked() else None
        self.saliency_box.setVisible(result["saliency"] is not None)
        self.mistakes.show_examples(result, result["mistakes"], self._dataset, saliency)

    def _show_regression(self, result: dict) -> None:
        report = result["report"]
        self._headline = (
            f"{result['split'].capitalize()} split, {report['samples']:,} samples: "
            f"R² <b>{report['r2']:.4f}</b> · RMSE {report['rmse']:.4g}"
        )
        keys = [("MSE", "mse"), ("RMSE", "rmse"), ("MAE", "mae"), ("R²", "r2"), ("loss", "loss")]
        self.metrics.set_columns(
            [("metric", [name for name, _ in keys]), ("value", [report[key] for _, key in keys])]
        )
        self.averages.set_columns([])
        self.averages.hide()
        self._keep_tables_whole(_columns_width(self.metrics))
        self.tabs.hide()  # examples and mistakes are about classes
        self.scatter.set_values(result["y_true"], result["y_pred"])
        self.plot_stack.setCurrentWidget(self.scatter)
        self.examples.clear()
        self.mistakes.clear()

    # -- export --------------------------------------------------------------------------------
    def _enable_exports(self, enabled: bool) -> None:
        classification = (
            enabled and self._result is not None and (self._result["task"] == "classification")
        )
        self.export_metrics_action.setEnabled(enabled)
        self.export_png_action.setEnabled(enabled)
        self.export_matrix_action.setEnabled(bool(classification))
        self.export_gallery_action.setEnabled(bool(classification))
        self.export_button.setEnabled(enabled)

    def _ask_path(self, title: str, default: str, save) -> None:
        path, _ = QFileDialog.getSaveFileName(self, title, default)
        if path:
            try:
                save(path)
            except OSError as error:
                self.message.show_message(
                    f"Could not save {path}: {error.strerror or error}. Choose another folder.",
                    "error",
                )

    def export_metrics_csv(self, path) -> None:
        report = self.report()
        if report is None:
            return
        with open(path, "w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file)
            if report["task"] == "regression":
                writer.writerow(["metric", "value"])
                writer.writerows([key, report[key]] for key in ("mse", "rmse", "mae", "r2", "loss"))
                return
            writer.writerow(["class", "precision", "recall", "f1", "support"])
            for row in report["per_class"]:
                writer.writerow([row[k] for k in ("class", "precision", "recall", "f1", "support")])
            for name in ("macro", "weighted"):
                values = report[name]
                writer.writerow(
                    [f"{name} avg"] + [values[k] for k in ("precision", "recall", "f1", "support")]
                )
            writer.writerow(["accuracy", report["accuracy"], "", "", report["samples"]])
            writer.writerow(["loss", report["loss"], "", "", report["samples"]])

    def export_confusion_csv(self, path) -> None:
        report = self.report()
        if report is None or report["task"] != "classification":
            return
        names = self.confusion.class_names()
        with open(path, "w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file)
            writer.writerow(["true \\ predicted", *names])
            for name, row in zip(names, report["confusion_matrix"], strict=True):
                writer.writerow([name, *row])

    def export_plot_png(self, path) -> bool:
        """Save the visible plot (confusion matrix or regression scatter) as a PNG."""
        widget = self.plot_stack.currentWidget()
        return widget.grab().save(str(Path(path)), "PNG")

    def export_mistakes_png(self, path) -> bool:
        """Save the whole mistakes gallery (not just the part scrolled into view) as a PNG."""
        grid = self.mistakes.grid
        return grid.grab(grid.rect()).save(str(Path(path)), "PNG")


def _columns_width(table) -> int:
    """The width a metrics table needs to show every column whole, a scroll bar included."""
    header = table.horizontalHeader()
    columns = range(table.model().columnCount())
    width = sum(
        max(table.sizeHintForColumn(c), header.sectionSizeFromContents(c).width()) for c in columns
    )
    return width + 2 * table.frameWidth() + table.verticalScrollBar().sizeHint().width()
