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
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMenu,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from nnstudio import data
from nnstudio.data.drawings_mix import MIX_DESCRIPTION, MIX_NAME, MIX_TITLE
from nnstudio.ui.panels.csv_preview import (
    TARGET_COLOR,
    UNUSED_COLOR,
    check_data_path,
    name_for_path,
    read_csv_head,
)
from nnstudio.ui.panels.data_download import MnistDownloadMixin
from nnstudio.ui.panels.data_options import IMAGE_SETS, DataOptions, dataset_kind
from nnstudio.ui.panels.data_preview import DataPreview
from nnstudio.ui.widgets.jobs import JobRunner
from nnstudio.ui.widgets.message_bar import MessageBar

BUILT_IN = [*data.DATASET_NAMES]


MY_DRAWINGS = "My drawings"


class DataPanel(MnistDownloadMixin, QWidget):
    """Dataset picker, options, preview and summary. See the module docstring."""

    dataset_changed = Signal(object)
    dataset_failed = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setAcceptDrops(True)
        self._dataset = None
        self._updating = False
        # Asked before a new dataset replaces the loaded one (the window asks while a run
        # trains on it); False keeps the loaded one and puts the picker back.
        self.confirm_load = None
        self._loaded_spec: tuple[str, dict] | None = None
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
        self._loads_held = False  # see hold_loads
        self._held_load = False
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
        self.options = DataOptions()
        self.options.edited.connect(self._options_edited)
        self.options.csv_edited.connect(self._csv_option_edited)
        self.options.load_button.clicked.connect(self.load)
        # The preview first: on a 768-pixel screen it used to sit below the fold, under the
        # options; the options scroll into view instead.
        self.preview = DataPreview()
        layout.addWidget(self.preview, 1)
        layout.addWidget(self.options)

    def _build_picker(self) -> QVBoxLayout:
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
        self.offer_drawings()
        self.picker.currentIndexChanged.connect(self._on_picked)
        self.open_button = QPushButton("Open…")
        self.open_button.setToolTip(
            "Open a CSV table, a NumPy .npz file (arrays X and y), a folder of MNIST-style "
            "IDX files, or a folder of your own pictures with one sub-folder per class. You "
            "can also drop a file or folder on the window."
        )
        menu = QMenu(self.open_button)
        self.open_file_action = menu.addAction("A file (CSV, NPZ, IDX)…", self._ask_file)
        self.open_folder_action = menu.addAction(
            "A folder of pictures (one sub-folder per class)…", self._ask_image_folder
        )
        self.open_folder_action.setToolTip(
            "The sub-folder names become the class names: e.g. cats/ and dogs/. PNG, JPEG, "
            "BMP, GIF and WebP; other files are skipped and counted."
        )
        menu.setToolTipsVisible(True)
        self.open_button.setMenu(menu)
        # The button under the picker, not beside it: side by side they made the dock (and
        # the column all docks share on a small screen) 290 pixels wide at least.
        rows = QVBoxLayout()
        rows.addWidget(self.picker)
        rows.addWidget(self.open_button, 0, Qt.AlignmentFlag.AlignLeft)
        return rows

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

    # -- public API ----------------------------------------------------------------------------
    def current_name(self) -> str:
        return self.picker.currentData() or ""

    def dataset(self):
        """The loaded Dataset, or None."""
        return self._dataset

    def spec(self) -> tuple[str, dict]:
        """(name, options) — the keyword arguments of ``load_dataset`` for the current choice."""
        name = self.current_name()
        return name, self.options.options(name)

    def set_spec(self, name: str, options: dict | None = None) -> None:
        """Select ``name`` with ``options`` (as in a project file) and load it."""
        options = dict(options or {})
        self._updating = True
        try:
            self._select_name(name)
            self.options.apply(options, name)
        finally:
            self._updating = False
        self.load()

    def open_file(self, path) -> None:
        """Open a CSV/NPZ file, an IDX folder or a folder of pictures: add it to the picker
        and load it.

        A CSV loads at once too, with the guessed target (the last column): its raw rows show
        with the target marked while it loads, and changing the target or the input columns
        loads it again.
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
        self.load()

    def hold_loads(self) -> None:
        """Loads asked for from now on wait for ``release_loads`` (still saying "Loading…"):
        the app opens its window with the project's dataset held, so the first frame does
        not wait for the data, its preview or the plotting library that draws it."""
        self._loads_held = True

    def release_loads(self) -> None:
        self._loads_held = False
        if self._held_load:
            self._held_load = False
            self.load()

    def load(self) -> None:
        """Load the current choice on a worker thread; ``dataset_changed`` follows."""
        self._reload_timer.stop()
        name, options = self.spec()
        if not name:
            return
        if self._loads_held:
            self._held_load = True
            self._set_busy(True, f"Loading {self._title(name)}…")
            return
        if self.confirm_load is not None and not self.confirm_load():
            self._show_loaded_choice()
            return
        try:
            check_data_path(name)
        except ValueError as error:
            self._set_busy(False)
            self._show_error(str(error))
            return
        self.message.hide()
        self._set_busy(True, f"Loading {self._title(name)}…")

        def work(job):
            return data.load_dataset(name, progress=job.report, **options)

        self._loader.start(work)

    def _show_loaded_choice(self) -> None:
        """The picker and options back to the dataset that stays loaded."""
        if self._loaded_spec is None:
            return
        name, options = self._loaded_spec
        self._updating = True
        try:
            self._select_name(name)
            self.options.apply(dict(options), name)
        finally:
            self._updating = False

    def is_loading(self) -> bool:
        return self._loader.busy()

    # -- the dataset's name and options --------------------------------------------------------
    def offer_drawings(self) -> None:
        """List "My drawings" (the digits corrected on the Draw tab) and "MNIST + my drawings"
        once there are any."""
        from nnstudio.data.digits import drawings_dataset_name, drawings_path

        if not drawings_path().is_file():
            return
        for title, name, tip in (
            (
                MY_DRAWINGS,
                drawings_dataset_name(),
                "The digits you corrected on the Draw tab (28×28 images, like MNIST).",
            ),
            (MIX_TITLE, MIX_NAME, MIX_DESCRIPTION),
        ):
            if self.picker.findData(name) < 0:
                self.picker.addItem(title, name)
                self.picker.setItemData(self.picker.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)

    def _say_how_drawings_count(self, dataset) -> None:
        """After "MNIST + my drawings" loads: how much the drawings weigh in training."""
        count = getattr(dataset, "drawing_count", 0)
        if not count:
            return
        repeats = dataset.drawing_repeats
        noun = "drawing" if count == 1 else "drawings"
        times = "once" if repeats == 1 else f"{repeats:,} times"
        self.message.show_message(
            f"{MIX_TITLE}: your {count} {noun}, each repeated {times}, are "
            f"{count * repeats:,} of the {len(dataset.y_train):,} training images (about "
            f"{count * repeats / len(dataset.y_train):.0%}), so they count; validation and "
            "test are MNIST only.",
            "info",
        )

    @staticmethod
    def _title(name: str) -> str:
        from nnstudio.data.digits import drawings_dataset_name

        if name == drawings_dataset_name():
            return MY_DRAWINGS
        if name == MIX_NAME:
            return MIX_TITLE
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

    def _show_options_for(self, name: str) -> None:
        self.options.show_for(name)
        if dataset_kind(name) == "csv":
            self._preview_csv(name.partition(":")[2])

    def _preview_csv(self, path: str) -> None:
        """Fill the target combo from the header and show the raw rows before loading."""
        try:
            header, rows = read_csv_head(path)
        except (OSError, ValueError) as error:  # DatasetError, safe_read.FileReadError
            self._show_error(f"Could not read {path}: {error}")
            return
        self.options.set_csv_header(header)
        self._csv_head = (Path(path).name, header, rows)
        self._show_csv_head()

    def _show_csv_head(self) -> None:
        """The raw rows: the target column first in the accent colour, unused columns grey."""
        name, header, rows = self._csv_head
        target = self.options.target.currentIndex()
        # The target first (so it is in view however wide the file is), then file order.
        order = [target] + [i for i in range(len(header)) if i != target] if target >= 0 else []
        columns = [(header[i], [row[i] for row in rows]) for i in order]
        used = self.options.columns.chosen_indices()
        colors = {0: TARGET_COLOR} | {
            at: UNUSED_COLOR for at, i in enumerate(order) if at and i not in used
        }
        unused = f", unused columns in grey ({len(colors) - 1})" if len(colors) > 1 else ""
        self.preview.show_table(
            columns,
            f"<b>{name}</b>: first {len(rows)} rows as written in the file, the target column "
            f"(<b>{self.options.target.currentText()}</b>) first, in blue{unused}. "
            f"{len(used)} input column{'s' if len(used) != 1 else ''}. "
            "Change the target or the columns and it loads again.",
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
        if dataset_kind(self.current_name()) == "toy":
            self._reload_timer.start()

    def _csv_option_edited(self) -> None:
        if not self._updating and getattr(self, "_csv_head", None):
            self._show_csv_head()
            # A few clicks in the column list make one reload, not one each.
            self._reload_timer.start()

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
        self._loaded_spec = self.spec()
        self.message.hide()
        self.preview.show_dataset(dataset)
        if dataset.notes:  # e.g. the files of a folder of pictures that were skipped
            self.message.show_message(" ".join(dataset.notes), "info")
        self._say_how_drawings_count(dataset)
        self.dataset_changed.emit(dataset)

    def _on_failed(self, error) -> None:
        self._set_busy(False)
        if dataset_kind(self.current_name()) != "csv":  # a CSV keeps its raw rows in view
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

    def _ask_image_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Open a folder of pictures (one sub-folder per class)", os.path.expanduser("~")
        )
        if folder:
            self.open_file(folder)

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
