"""The data dock: pick or open a dataset, set its options, preview it, load it off the GUI thread.

The panel only talks to ``nnstudio.data``: it turns the controls into the keyword arguments of
``load_dataset`` (``spec()``), runs that on a worker thread, and emits ``dataset_changed`` with
the result. The window connects that signal to the builder's input shape.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from nnstudio import data
from nnstudio.ui.panels.csv_preview import (
    TARGET_COLOR,
    UNUSED_COLOR,
    ColumnPicker,
    name_for_path,
    read_csv_head,
)
from nnstudio.ui.panels.data_download import MnistDownloadMixin
from nnstudio.ui.plots.data_preview import DataPreview
from nnstudio.ui.widgets.jobs import JobRunner, MessageBar

BUILT_IN = [*data.DATASET_NAMES]
IMAGE_SETS = ("mnist", "fashion-mnist")
MULTI_CLASS_SETS = ("spiral", "gaussian")  # the toy sets that take a number of classes
IMPUTE_CHOICES = [
    ("Stop with an error", None),
    ("Fill with the column mean", "mean"),
    ("Fill with the column median", "median"),
    ("Fill with the most frequent value", "most_frequent"),
    ("Drop rows with missing values", "drop"),
]
SCALING_CHOICES = [
    ("Default for this data", None),
    ("Standardize (mean 0, std 1)", "standardize"),
    ("Min–max to [0, 1]", "minmax"),
    ("None", "none"),
]


class DataPanel(MnistDownloadMixin, QWidget):
    """Dataset picker, options, preview and summary. See the module docstring."""

    dataset_changed = Signal(object)
    dataset_failed = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setAcceptDrops(True)
        self._dataset = None
        self._updating = False
        self._loader = JobRunner(self)
        self._loader.done.connect(self._on_loaded)
        self._loader.failed.connect(self._on_failed)
        self._loader.progress.connect(self._on_progress)
        self._downloader = JobRunner(self)
        self._downloader.done.connect(self._on_downloaded)
        self._downloader.failed.connect(self._on_download_failed)
        self._downloader.progress.connect(self._on_download_progress)
        self._reload_timer = QTimer(self, singleShot=True, interval=350)
        self._reload_timer.timeout.connect(self.load)
        self._build()
        self._show_options_for(self.current_name())

    # -- construction --------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(self._build_picker())
        self.message = MessageBar()
        layout.addWidget(self.message)
        layout.addLayout(self._build_busy())
        self.options_box = QGroupBox("Options")
        self.options_form = QFormLayout(self.options_box)
        self.options_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self._build_options()
        layout.addWidget(self.options_box)
        self.preview = DataPreview()
        layout.addWidget(self.preview, 1)

    def _build_picker(self) -> QHBoxLayout:
        self.picker = QComboBox()
        self.picker.setObjectName("datasetPicker")
        self.picker.setToolTip(
            "The dataset to train on: toy 2-D sets, MNIST, Fashion-MNIST, or a file you opened."
        )
        for name in BUILT_IN:
            self.picker.addItem(name, name)
            self.picker.setItemData(
                self.picker.count() - 1,
                data.DESCRIPTIONS.get(name, ""),
                Qt.ItemDataRole.ToolTipRole,
            )
        self.picker.insertSeparator(len(BUILT_IN) - len(IMAGE_SETS))
        self.picker.setCurrentIndex(self.picker.findData("spiral"))
        self.picker.currentIndexChanged.connect(self._on_picked)
        self.open_button = QPushButton("Open file…")
        self.open_button.setToolTip(
            "Open a CSV table, a NumPy .npz file (arrays X and y) or a "
            "folder of MNIST-style IDX files. You can also drop a file "
            "on the window."
        )
        self.open_button.clicked.connect(self._ask_file)
        row = QHBoxLayout()
        row.addWidget(self.picker, 1)
        row.addWidget(self.open_button)
        return row

    def _build_busy(self) -> QHBoxLayout:
        self.busy_bar = QProgressBar()
        self.busy_bar.setRange(0, 0)  # indeterminate until the loader reports progress
        self.busy_bar.setTextVisible(False)
        self.busy_bar.setMaximumHeight(10)
        self.busy_bar.setToolTip("Loading the dataset in the background")
        self.busy_label = QLabel()
        self.busy_label.setStyleSheet("color: palette(placeholder-text);")
        row = QHBoxLayout()
        row.addWidget(self.busy_label)
        row.addWidget(self.busy_bar, 1)
        self._set_busy(False)
        return row

    def _spin(self, kind, low, high, value, tip, step=None, decimals=None, suffix=""):
        box = QSpinBox() if kind is int else QDoubleSpinBox()
        box.setRange(low, high)
        if decimals is not None:
            box.setDecimals(decimals)
        if step is not None:
            box.setSingleStep(step)
        box.setValue(value)
        box.setSuffix(suffix)
        box.setToolTip(tip)
        box.valueChanged.connect(self._options_edited)
        return box

    def _build_options(self) -> None:
        self.samples = self._spin(
            int,
            20,
            100_000,
            500,
            "Number of generated points. 200–1,000 trains in seconds.",
            step=100,
        )
        self.noise = self._spin(
            float,
            0.0,
            2.0,
            0.1,
            "How much the points scatter around "
            "their shape. 0.1 is clean; 0.3 makes the task harder.",
            step=0.05,
            decimals=2,
        )
        self.classes = self._spin(
            int,
            2,
            12,
            2,
            "Number of classes (spiral arms or blobs). "
            "2–4 is easy to see; more makes the task harder.",
        )
        self.val_percent = self._spin(
            int,
            0,
            50,
            15,
            "Share held out to watch overfitting while training. 10–20 % is usual.",
            suffix=" %",
        )
        self.test_percent = self._spin(
            int,
            0,
            50,
            15,
            "Share held out for the final evaluation. MNIST keeps its own 10,000 test images.",
            suffix=" %",
        )
        self.scaling = self._combo(
            SCALING_CHOICES,
            "How inputs are rescaled, fitted on the "
            "training split. Standardize suits tables; images are "
            "already in [0, 1].",
        )
        self.seed = self._spin(
            int,
            0,
            2**31 - 1,
            0,
            "Random seed of the data and the split: the same seed gives the same samples.",
        )
        self.target = QComboBox()
        self.target.setToolTip(
            "The column the model predicts. The columns checked below are its inputs."
        )
        self.target.currentIndexChanged.connect(self._target_edited)
        self.columns = ColumnPicker()
        self.columns.edited.connect(self._csv_option_edited)
        self.impute = self._combo(
            IMPUTE_CHOICES,
            "What to do with empty or NA cells: stop with an error, fill them, or drop those rows.",
        )
        self.load_button = QPushButton("Load")
        self.load_button.setToolTip("Load the data with these options.")
        self.load_button.clicked.connect(self.load)
        for label, widget in (
            ("Samples", self.samples),
            ("Noise", self.noise),
            ("Classes", self.classes),
            ("Target column", self.target),
            ("Input columns", self.columns),
            ("Missing values", self.impute),
            ("Validation", self.val_percent),
            ("Test", self.test_percent),
            ("Scaling", self.scaling),
            ("Seed", self.seed),
            ("", self.load_button),
        ):
            self.options_form.addRow(label, widget)

    def _combo(self, choices, tip: str) -> QComboBox:
        box = QComboBox()
        for label, value in choices:
            box.addItem(label, value)
        # May be narrower than its longest choice (shown whole in the open list): the dock's
        # width is the window's, on a small screen.
        box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        box.setMinimumContentsLength(12)
        box.setToolTip(tip)
        box.currentIndexChanged.connect(self._options_edited)
        return box

    # -- public API ----------------------------------------------------------------------------
    def current_name(self) -> str:
        return self.picker.currentData() or ""

    def dataset(self):
        """The loaded Dataset, or None."""
        return self._dataset

    def spec(self) -> tuple[str, dict]:
        """(name, options) — the keyword arguments of ``load_dataset`` for the current choice."""
        name = self.current_name()
        options = {"seed": self.seed.value(), "val_fraction": self.val_percent.value() / 100}
        kind = self._kind(name)
        if kind != "images":
            options["test_fraction"] = self.test_percent.value() / 100
        if kind == "toy":
            options.update(samples=self.samples.value(), noise=round(self.noise.value(), 4))
            if name in MULTI_CLASS_SETS:
                options["classes"] = self.classes.value()
        if kind == "csv":
            options.update(
                target=self.target.currentText() or None, impute=self.impute.currentData()
            )
            if self.columns.names() and not self.columns.all_chosen():
                options["columns"] = self.columns.chosen()
        if self.scaling.currentData() is not None:
            options["scaling"] = self.scaling.currentData()
        return name, options

    def set_spec(self, name: str, options: dict | None = None) -> None:
        """Select ``name`` with ``options`` (as in a project file) and load it."""
        options = dict(options or {})
        self._updating = True
        try:
            self._select_name(name)
            self._apply_options(options)
        finally:
            self._updating = False
        self.load()

    def open_file(self, path) -> None:
        """Open a CSV/NPZ file or IDX folder: add it to the picker and load it.

        A CSV is only previewed: its raw rows show with the target column marked, and it
        loads when the user has checked the options and pressed Load.
        """
        try:
            name = name_for_path(str(path))
        except data.DatasetError as error:
            self._show_error(str(error))
            return
        self._updating = True
        try:
            self._select_name(name)
        finally:
            self._updating = False
        self.message.hide()
        if self._kind(name) == "csv":
            self.load_button.setFocus()
        else:
            self.load()

    def load(self) -> None:
        """Load the current choice on a worker thread; ``dataset_changed`` follows."""
        self._reload_timer.stop()
        name, options = self.spec()
        if not name:
            return
        self.message.hide()
        self._set_busy(True, f"Loading {self._title(name)}…")

        def work(job):
            return data.load_dataset(name, progress=job.report, **options)

        self._loader.start(work)

    def is_loading(self) -> bool:
        return self._loader.busy()

    # -- options per kind of dataset -----------------------------------------------------------
    @staticmethod
    def _kind(name: str) -> str:
        if name in IMAGE_SETS or name.startswith("idx:"):
            return "images"
        if name.startswith("csv:"):
            return "csv"
        if name.startswith("npz:"):
            return "npz"
        return "toy"

    @staticmethod
    def _title(name: str) -> str:
        prefix, _, rest = name.partition(":")
        return Path(rest).name if rest else name

    def _select_name(self, name: str) -> None:
        index = self.picker.findData(name)
        if index < 0:
            self.picker.addItem(self._title(name), name)
            index = self.picker.count() - 1
            self.picker.setItemData(index, name.partition(":")[2], Qt.ItemDataRole.ToolTipRole)
        self.picker.setCurrentIndex(index)
        self._show_options_for(name)

    def _apply_options(self, options: dict) -> None:
        self.samples.setValue(int(options.get("samples", self.samples.value())))
        self.noise.setValue(float(options.get("noise", self.noise.value())))
        self.classes.setValue(int(options.get("classes") or 2))
        self.seed.setValue(int(options.get("seed", self.seed.value())))
        self.val_percent.setValue(round(100 * float(options.get("val_fraction", 0.15))))
        self.test_percent.setValue(round(100 * float(options.get("test_fraction", 0.15))))
        self.scaling.setCurrentIndex(max(self.scaling.findData(options.get("scaling")), 0))
        self.impute.setCurrentIndex(max(self.impute.findData(options.get("impute")), 0))
        if options.get("target") is not None:
            self.target.setCurrentIndex(max(self.target.findText(str(options["target"])), 0))
        if self._kind(self.current_name()) == "csv":
            columns = options.get("columns")
            self.columns.set_chosen(self.columns.names() if columns is None else columns)

    def _show_options_for(self, name: str) -> None:
        kind = self._kind(name)
        visible = {
            self.samples: kind == "toy",
            self.noise: kind == "toy",
            self.classes: name in MULTI_CLASS_SETS,
            self.target: kind == "csv",
            self.columns: kind == "csv",
            self.impute: kind == "csv",
            self.test_percent: kind != "images",
        }
        for widget, shown in visible.items():
            self.options_form.setRowVisible(widget, shown)
        if kind == "csv":
            self._preview_csv(name.partition(":")[2])

    def _preview_csv(self, path: str) -> None:
        """Fill the target combo from the header and show the raw rows before loading."""
        try:
            header, rows = read_csv_head(path)
        except (OSError, data.DatasetError) as error:
            self._show_error(f"Could not read {path}: {error}")
            return
        previous = self.target.currentText()
        self.target.blockSignals(True)
        self.target.clear()
        self.target.addItems(header)
        keep = self.target.findText(previous)
        self.target.setCurrentIndex(keep if keep >= 0 else len(header) - 1)
        self.target.blockSignals(False)
        # The same file again (picked anew in the list): keep the user's column choice.
        same = self.columns.names() == header
        chosen = self.columns.chosen()
        self.columns.set_columns(header, self.target.currentIndex())
        if same:
            self.columns.set_chosen(chosen)
        self._csv_head = (Path(path).name, header, rows)
        self._show_csv_head()

    def _show_csv_head(self) -> None:
        """The raw rows: the target column first in the accent colour, unused columns grey."""
        name, header, rows = self._csv_head
        target = self.target.currentIndex()
        # The target first (so it is in view however wide the file is), then file order.
        order = [target] + [i for i in range(len(header)) if i != target] if target >= 0 else []
        columns = [(header[i], [row[i] for row in rows]) for i in order]
        used = self.columns.chosen_indices()
        colors = {0: TARGET_COLOR} | {
            at: UNUSED_COLOR for at, i in enumerate(order) if at and i not in used
        }
        unused = f", unused columns in grey ({len(colors) - 1})" if len(colors) > 1 else ""
        self.preview.show_table(
            columns,
            f"<b>{name}</b>: first {len(rows)} rows as written in the file, the target column "
            f"(<b>{self.target.currentText()}</b>) first, in blue{unused}. "
            f"{len(used)} input column{'s' if len(used) != 1 else ''}. "
            "Check the options, then Load.",
            column_colors=colors,
        )

    # -- reactions -----------------------------------------------------------------------------
    def _on_picked(self) -> None:
        if self._updating:
            return
        self._show_options_for(self.current_name())
        self.load()

    def _options_edited(self) -> None:
        if self._updating:
            return
        # Cheap sets follow the controls live; files and MNIST wait for the Load button.
        if self._kind(self.current_name()) == "toy":
            self._reload_timer.start()

    def _target_edited(self) -> None:
        self.columns.set_target(self.target.currentIndex())
        self._csv_option_edited()

    def _csv_option_edited(self) -> None:
        if not self._updating and getattr(self, "_csv_head", None):
            self._show_csv_head()
            self.load_button.setFocus()

    def _set_busy(self, busy: bool, text: str = "") -> None:
        self.busy_bar.setVisible(busy)
        self.busy_label.setVisible(busy)
        self.busy_label.setText(text)
        if busy:
            self.busy_bar.setRange(0, 0)

    def _on_progress(self, done, total, message) -> None:
        if total:
            self.busy_bar.setRange(0, 1000)
            self.busy_bar.setValue(int(1000 * done / total))
        if message:
            self.busy_label.setText(message)

    def _on_loaded(self, dataset) -> None:
        self._set_busy(False)
        self._dataset = dataset
        self.message.hide()
        self.preview.show_dataset(dataset)
        self.dataset_changed.emit(dataset)

    def _on_failed(self, error) -> None:
        self._set_busy(False)
        if self._kind(self.current_name()) != "csv":  # a CSV keeps its raw rows in view
            self.preview.clear("Nothing loaded: see the message above.")
        if isinstance(error, data.DatasetNotFound) and error.can_download:
            self._offer_download(error)
        elif isinstance(error, (ValueError, OSError)):
            self._show_error(str(error))
        else:
            self._show_error(
                f"Unexpected error while loading: {error!r}. Details:\n"
                f"{getattr(error, 'details', '')[-600:]}"
            )

    def _show_error(self, text: str) -> None:
        self.message.show_message(text, "error")
        self.dataset_failed.emit(text)

    # -- files: dialog and drag and drop -------------------------------------------------------
    def _ask_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Open data",
            os.path.expanduser("~"),
            "Data files (*.csv *.tsv *.txt *.npz *-ubyte *-ubyte.gz);;All files (*)",
        )
        if path:
            self.open_file(path)

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        urls = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if urls:
            self.open_file(urls[0])
            event.acceptProposedAction()

    def shutdown(self, msecs: int = 30_000) -> bool:
        """Cancel loads and downloads and wait for their threads (closing the window must never
        destroy a thread that is still running). True when every thread has ended."""
        self._reload_timer.stop()
        self._loader.cancel()
        self._downloader.cancel()
        return self._loader.wait(msecs) and self._downloader.wait(msecs)

    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)
