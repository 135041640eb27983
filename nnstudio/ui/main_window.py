"""MainWindow: toolbar, menus, docks, tabs and status bar, wired to the panels and to training.

The window owns the project (what is saved), the dataset and the model. While a
TrainingSession runs, the model belongs to the worker thread: the window only reads what the
session's signals carry, and gives the Evaluate and Draw tabs a copy once the run has ended.
The file is longer than most because it is the one place where every part is wired; it is
split into sections: building, settings, project files, dataset and model, training.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QDockWidget,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QSpinBox,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from nnstudio.ui import style
from nnstudio.ui.hyperparameters import HyperparametersPanel, ScientificSpinBox, link_spin_boxes
from nnstudio.ui.plots.training_plots import TrainingTab
from nnstudio.ui.runs import RunsPanel

SETTINGS_VERSION = 1
AUTOSAVE_MS = 60_000
MAX_RECENT = 8
DEFAULT_PRESET = "spiral-mlp"
# Used when the presets are missing: the same spiral + small MLP as the preset.
DEFAULT_PROJECT = {
    "format": "nnstudio-project",
    "version": 1,
    "name": "spiral",
    "dataset": {"name": "spiral", "options": {"samples": 600, "noise": 0.1}},
    "model": {
        "layers": [
            {"type": "Dense", "units": 32, "activation": "relu"},
            {"type": "Dense", "units": 32, "activation": "relu"},
            {"type": "Dense", "units": 3},
        ]
    },
    "training": {
        "loss": "softmax_crossentropy",
        "optimizer": "adam",
        "learning_rate": 0.01,
        "batch_size": 32,
        "epochs": 200,
    },
}


class MessageBar(QFrame):
    """An inline message above the tabs (errors and warnings in words, never a traceback)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("messageBar")
        self.icon = QLabel()
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton()
        close.setIcon(style.icon("close"))
        close.setAutoRaise(True)
        close.setToolTip("Hide this message.")
        close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.addWidget(self.icon)
        layout.addWidget(self.text, 1)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    def show_message(self, text: str, level: str = "info") -> None:
        self.setProperty("level", level)
        self.style().unpolish(self)
        self.style().polish(self)
        self.icon.setPixmap(style.icon(level).pixmap(20, 20))
        self.text.setText(text)
        self.show()


def _placeholder(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("placeholder")
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setWordWrap(True)
    return label


def _optional_panel(module: str, name: str):
    """A panel class from another part of the app, or None while it is not there yet."""
    import importlib

    for candidate in module.split("|"):
        try:
            return getattr(importlib.import_module(candidate), name)
        except (ImportError, AttributeError):
            continue
    return None


class MainWindow(QMainWindow):
    """The nnstudio window. Built without being shown; call ``show()`` to display it."""

    state_changed = Signal(str)
    training_finished = Signal(dict)

    def __init__(self, parent=None, *, load_default: bool = True):
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.resize(1400, 880)
        self._init_training_state()
        self._init_file_state()
        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self._build_central()
        self._build_docks()
        self._build_status_bar()
        self._wire()
        self.restore_settings()
        self._set_state("idle")
        if load_default:
            self.load_default_project()

    # -- actions and menus ----------------------------------------------------------------------

    def _action(self, name, text, tip, slot, shortcut=None, icon=None) -> QAction:
        action = QAction(text, self)
        action.setObjectName(name)
        action.setToolTip(tip)
        action.setStatusTip(tip)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
            action.setToolTip(f"{tip} ({QKeySequence(shortcut).toString()})")
        if icon:
            action.setIcon(style.icon(icon))
        action.triggered.connect(slot)
        self.addAction(action)  # shortcuts work even when the toolbar is hidden
        return action

    def _build_actions(self) -> None:
        key = QKeySequence.StandardKey
        a = self._action
        self.actionNew = a(
            "actionNew",
            "&New",
            "Start a new project (spiral + small MLP)",
            self.new_project,
            key.New,
            "new",
        )
        self.actionOpen = a(
            "actionOpen",
            "&Open…",
            "Open a project file (.nnsproj)",
            self.open_project_dialog,
            key.Open,
            "open",
        )
        self.actionSave = a(
            "actionSave",
            "&Save",
            "Save the project, with trained weights",
            self.save,
            key.Save,
            "save",
        )
        self.actionSaveAs = a(
            "actionSaveAs",
            "Save &As…",
            "Save the project under a new name",
            self.save_as,
            key.SaveAs,
        )
        self.actionQuit = a("actionQuit", "&Quit", "Close nnstudio", self.close, key.Quit)
        self.actionTrain = a(
            "actionTrain",
            "Train",
            "Train the network (continues a paused or finished run)",
            self.train,
            "Space",
            "train",
        )
        self.actionPause = a(
            "actionPause",
            "Pause",
            "Pause training after the current batch",
            self.pause,
            "Space",
            "pause",
        )
        self.actionStep = a(
            "actionStep",
            "Step",
            "Train exactly one batch, then pause",
            self.step,
            "Ctrl+Right",
            "step",
        )
        self.actionStop = a(
            "actionStop",
            "Stop",
            "End this run (the weights stay as they are)",
            self.stop,
            "Ctrl+.",
            "stop",
        )
        self.actionReset = a(
            "actionReset",
            "Reset weights",
            "Start over with fresh random weights (a new run)",
            self.reset_weights,
            "Ctrl+R",
            "reset",
        )
        self.actionExportPng = a(
            "actionExportPng",
            "Export plots as PNG…",
            "Save the training plots as an image",
            self.export_png,
        )
        self.actionExportCsv = a(
            "actionExportCsv",
            "Export history as CSV…",
            "Save the epoch history as a table",
            self.export_csv,
        )
        self.actionAbout = a("actionAbout", "&About nnstudio", "Version and credits", self.about)
        self.actionPause.setVisible(False)
        # The normal tooltips, restored when an invalid network (whose reason they show) is fixed.
        self._normal_tips = {a: a.toolTip() for a in (self.actionTrain, self.actionStep)}

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addActions([self.actionNew, self.actionOpen])
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.presets_menu = file_menu.addMenu("New from &Preset")
        file_menu.addSeparator()
        file_menu.addActions([self.actionSave, self.actionSaveAs])
        file_menu.addSeparator()
        file_menu.addActions([self.actionExportPng, self.actionExportCsv])
        file_menu.addSeparator()
        file_menu.addAction(self.actionQuit)
        self.edit_menu = bar.addMenu("&Edit")
        training = bar.addMenu("&Training")
        training.addActions(
            [self.actionTrain, self.actionPause, self.actionStep, self.actionStop, self.actionReset]
        )
        self.view_menu = bar.addMenu("&View")
        bar.addMenu("&Help").addAction(self.actionAbout)
        self._fill_presets_menu()

    def _build_toolbar(self) -> None:
        bar = self.addToolBar("Main")
        bar.setObjectName("mainToolBar")
        bar.setMovable(False)
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        bar.addActions([self.actionNew, self.actionOpen, self.actionSave])
        bar.addSeparator()
        bar.addActions(
            [self.actionTrain, self.actionPause, self.actionStep, self.actionStop, self.actionReset]
        )
        bar.addSeparator()
        self.toolbar_lr = ScientificSpinBox(1e-7, 1e9)
        self.toolbar_lr.setObjectName("toolbarLearningRate")
        self.toolbar_lr.setToolTip(
            "Learning rate — takes effect on the next batch, even while "
            "training. Adam: ~1e-3; SGD: 0.01–0.1."
        )
        self.toolbar_batch = QSpinBox()
        self.toolbar_batch.setObjectName("toolbarBatchSize")
        self.toolbar_batch.setRange(1, 65536)
        self.toolbar_batch.setToolTip(
            "Batch size: samples per update (16–256). Applies from the next run."
        )
        for label, widget in (("Learning rate", self.toolbar_lr), ("Batch", self.toolbar_batch)):
            bar.addWidget(QLabel(label))
            bar.addWidget(widget)
        spacer = QWidget()
        spacer.setSizePolicy(
            spacer.sizePolicy().horizontalPolicy().Expanding, spacer.sizePolicy().verticalPolicy()
        )
        bar.addWidget(spacer)
        self.epoch_label = QLabel("Epoch 0 / 0")
        self.epoch_label.setObjectName("epochCounter")
        self.epoch_label.setMinimumWidth(130)
        self.epoch_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.epoch_label.setToolTip("Epochs trained in this run / planned.")
        self.epoch_progress = QProgressBar()
        self.epoch_progress.setObjectName("epochProgress")
        self.epoch_progress.setFixedWidth(160)
        self.epoch_progress.setTextVisible(False)
        self.epoch_progress.setToolTip("Progress of the run.")
        bar.addWidget(self.epoch_label)
        bar.addWidget(self.epoch_progress)
        self.toolbar = bar

    def _build_central(self) -> None:
        self.tabs = QTabWidget()
        self.tabs.setObjectName("mainTabs")
        self.tabs.setDocumentMode(True)
        self.builder = self._make_panel(
            "nnstudio.ui.builder",
            "QtModelBuilder",
            "The layer builder is not available in this build.",
        )
        self.training_tab = TrainingTab()
        self.evaluation = self._make_panel(
            "nnstudio.ui.evaluation",
            "EvaluationPanel",
            "Evaluation is not available in this build.",
        )
        self.draw = self._make_panel(
            "nnstudio.ui.draw|nnstudio.ui.draw.qt_draw_panel",
            "DrawPanel",
            "The drawing board is not available in this build.",
        )
        for widget, title, tip in (
            (self.builder, "Model", "Build the network from layers"),
            (self.training_tab, "Training", "Live curves, decision boundary, weights"),
            (self.evaluation, "Evaluate", "Metrics and mistakes on the test split"),
            (self.draw, "Draw", "Draw a digit for the model to read"),
        ):
            self.tabs.setTabToolTip(self.tabs.addTab(widget, title), tip)
        self.message_bar = MessageBar()
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(8, 8, 8, 4)
        layout.setSpacing(6)
        layout.addWidget(self.message_bar)
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)

    def _make_panel(self, module: str, name: str, missing: str):
        cls = _optional_panel(module, name)
        if cls is None:
            return _placeholder(missing)
        try:
            return cls()
        except Exception as error:  # noqa: BLE001 - one broken panel must not kill the app
            return _placeholder(f"{missing}\n({error})")

    def _dock(self, name: str, title: str, widget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
        )
        self.addDockWidget(area, dock)
        self.view_menu.addAction(dock.toggleViewAction())
        return dock

    def _build_docks(self) -> None:
        self.data_panel = self._make_panel(
            "nnstudio.ui.data_panel",
            "DataPanel",
            "The dataset picker is not available in this build.",
        )
        self.hyperparameters = HyperparametersPanel()
        self.runs_panel = RunsPanel()
        area = Qt.DockWidgetArea
        self.data_dock = self._dock("dataDock", "Data", self.data_panel, area.LeftDockWidgetArea)
        self.hyper_dock = self._dock(
            "hyperparametersDock", "Hyperparameters", self.hyperparameters, area.RightDockWidgetArea
        )
        self.runs_dock = self._dock("runsDock", "Runs", self.runs_panel, area.BottomDockWidgetArea)
        self.data_dock.setMinimumWidth(280)
        self.hyper_dock.setMinimumWidth(310)
        self.resizeDocks([self.runs_dock], [170], Qt.Orientation.Vertical)

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.state_label = QLabel()
        self.state_label.setObjectName("stateLabel")
        self.state_label.setToolTip("Idle, training or paused.")
        self.status_epoch = QLabel()
        self.status_speed = QLabel()
        self.status_speed.setToolTip("Training speed in samples per second.")
        self.status_eta = QLabel()
        self.status_eta.setToolTip("Estimated time until the planned epochs are done.")
        bar.addWidget(self.state_label)
        for label in (self.status_epoch, self.status_speed, self.status_eta):
            label.setMinimumWidth(110)
            bar.addPermanentWidget(label)

    def _wire(self) -> None:
        hp = self.hyperparameters
        hp.changed.connect(self._on_hyperparameters_changed)
        hp.learning_rate_changed.connect(self._on_learning_rate_changed)
        hp.regularization_changed.connect(self._on_regularization_changed)
        link_spin_boxes(hp.learning_rate_box, self.toolbar_lr)
        link_spin_boxes(hp.batch_size_box, self.toolbar_batch)
        self.runs_panel.overlay_changed.connect(self._on_overlay_changed)
        self.training_tab.png_button.clicked.connect(self.export_png)
        self.training_tab.csv_button.clicked.connect(self.export_csv)
        if hasattr(self.data_panel, "dataset_changed"):
            self.data_panel.dataset_changed.connect(self._on_dataset_changed)
            self.data_panel.dataset_failed.connect(self._on_dataset_failed)
        if hasattr(self.builder, "config_changed"):
            self.builder.config_changed.connect(self._on_model_edited)
            self.builder.validity_changed.connect(self._on_validity_changed)
            # The builder's own undo/redo actions: one shortcut each, no ambiguity.
            self.edit_menu.addActions([self.builder.undo_action, self.builder.redo_action])
            if hasattr(self.builder, "preset_loaded"):
                self.builder.preset_loaded.connect(self._on_builder_preset)
        self.tabs.currentChanged.connect(self._on_tab_changed)
        if hasattr(self.evaluation, "evaluate_requested"):
            self.evaluation.evaluate_requested.connect(self._on_evaluate_requested)
        self.setAcceptDrops(True)
        self._refresh_timer = QTimer(self, interval=250, timeout=self._refresh_status)

    # -- state and status -----------------------------------------------------------------------

    def _set_state(self, state: str, detail: str = "") -> None:
        self.state = state
        words = {"idle": "Idle", "training": "Training", "paused": "Paused"}
        color = style.STATE_COLORS.get(state, style.MUTED)
        text = words.get(state, state) + (f" — {detail}" if detail else "")
        self.state_label.setText(f"<span style='color:{color}'>●</span> {text}")
        training = state == "training"
        self.actionTrain.setVisible(not training)
        self.actionPause.setVisible(training)
        self.actionStop.setEnabled(state != "idle")
        self.actionTrain.setText("Resume" if state == "paused" else "Train")
        # Locked only while a session owns the model (a NaN pause has none: fix the rate).
        busy = self.session is not None
        self.hyperparameters.set_training_locked(busy)
        self.toolbar_batch.setEnabled(not busy)
        if state == "idle":
            self._refresh_timer.stop()
        else:
            self._refresh_timer.start()
        self._refresh_status()
        self.state_changed.emit(state)

    def show_message(self, text: str, level: str = "info") -> None:
        self.message_bar.show_message(text, level)

    def about(self) -> None:
        from nnstudio import __version__

        QMessageBox.about(
            self,
            "About nnstudio",
            f"<h3>nnstudio {__version__}</h3><p>A desktop studio for neural "
            "networks, written from scratch in NumPy.</p>",
        )

    # -- settings -------------------------------------------------------------------------------

    def save_settings(self) -> None:
        settings = QSettings()
        settings.setValue("window/version", SETTINGS_VERSION)
        settings.setValue("window/geometry", self.saveGeometry())
        settings.setValue("window/state", self.saveState(SETTINGS_VERSION))
        settings.setValue("window/tab", self.tabs.currentIndex())
        settings.setValue("files/recent", self.recent_files)

    def restore_settings(self) -> None:
        settings = QSettings()
        geometry = settings.value("window/geometry", None)
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = settings.value("window/state", None)
        if state is not None:
            self.restoreState(state, SETTINGS_VERSION)
        self.tabs.setCurrentIndex(settings.value("window/tab", 0, type=int))
        self.recent_files = [str(p) for p in settings.value("files/recent", [], type=list)]
        self._fill_recent_menu()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        # Space must reach the Train/Pause shortcut, not a spin box that took the focus.
        if isinstance(QApplication.focusWidget(), QAbstractSpinBox) or not self.focusWidget():
            self.tabs.setFocus()

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt override
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt override
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_dropped(paths[0])

    def open_dropped(self, path) -> None:
        """A file dropped on the window: a project opens as one, anything else is data."""
        if str(path).lower().endswith(".nnsproj"):
            if self.maybe_save():
                self.open_project(path)
        elif hasattr(self.data_panel, "open_file"):
            self.data_panel.open_file(path)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        if not self.maybe_save():
            event.ignore()
            return
        self.shutdown_training()
        self.save_settings()
        self.autosave.clear()
        super().closeEvent(event)

    # -- project files --------------------------------------------------------------------------

    def _init_file_state(self) -> None:
        from nnstudio.training.autosave import Autosave

        self.project = None
        self.project_path: Path | None = None
        self.recent_files: list[str] = []
        self.autosave = Autosave()
        self._saved_form = None
        self._weights_dirty = False
        self._pending_weights: Path | None = None
        self._applying = False
        self._autosave_timer = QTimer(self, interval=AUTOSAVE_MS, timeout=self.autosave_now)
        self._autosave_timer.start()

    def load_default_project(self) -> None:
        """The first-launch project: a spiral and a small MLP, so Train shows something at once."""
        from nnstudio.project import Project, load_preset

        try:
            project = load_preset(DEFAULT_PRESET)
        except (ValueError, OSError):
            project = Project.from_dict(DEFAULT_PROJECT)
        self._apply_project(project, None)

    def new_project(self) -> None:
        if self.maybe_save():
            self.load_default_project()

    def new_from_preset(self, name: str) -> None:
        from nnstudio.project import load_preset

        if not self.maybe_save():
            return
        try:
            self._apply_project(load_preset(name), None)
        except ValueError as error:
            self.show_message(str(error), "error")

    def open_project_dialog(self) -> None:
        if not self.maybe_save():
            return
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Open project",
            self._last_folder(),
            "nnstudio projects (*.nnsproj);;All files (*)",
        )
        if path:
            self.open_project(path)

    def open_project(self, path) -> bool:
        """Load a project file into the window; problems go to the message bar."""
        from nnstudio.project import load_project

        try:
            project = load_project(path)
        except ValueError as error:
            if self.project is None:  # launched with a bad file: still give a usable window
                self.load_default_project()
            self.show_message(str(error), "error")
            return False
        self._apply_project(project, Path(path))
        self._add_recent(path)
        return True

    def _apply_project(self, project, path: Path | None) -> None:
        self.shutdown_training()
        self._applying = True
        try:
            self.project, self.project_path = project, path
            self.hyperparameters.set_settings(vars(project.training))
            self.hyperparameters.set_regularization(*common_regularization(project.model))
            self._pending_weights = project.resolve(project.weights) if project.weights else None
            if hasattr(self.builder, "set_config"):
                self.builder.set_config(project.model)
            self._weights_dirty = False
            self._load_dataset(project)
        finally:
            self._applying = False
        self._saved_form = self._collect_project().to_dict()
        self._update_title()

    def _load_dataset(self, project) -> None:
        if hasattr(self.data_panel, "set_spec"):
            # The panel loads on a worker thread; the project counts as "saved" once its
            # dataset (with the panel's complete options) has arrived.
            self._awaiting_project_dataset = True
            self.data_panel.set_spec(project.dataset.name, dict(project.dataset.options))
            return
        try:  # no data panel: load in place (toy sets take milliseconds)
            self._on_dataset_changed(project.load_dataset())
        except ValueError as error:
            self._on_dataset_failed(str(error))

    def _collect_project(self):
        """The project as the window shows it now (what Save writes)."""
        project = self.project.copy()
        project.training = type(project.training)(**self.hyperparameters.settings())
        if hasattr(self.builder, "config"):
            project.model = self.builder.config()
        project.model = apply_regularization(project.model, *self.hyperparameters.regularization())
        if hasattr(self.data_panel, "spec"):
            name, options = self.data_panel.spec()
            project.dataset = type(project.dataset)(name, dict(options))
        return project

    def is_modified(self) -> bool:
        if self.project is None:
            return False
        return self._weights_dirty or self._collect_project().to_dict() != self._saved_form

    def _update_title(self) -> None:
        name = self.project.name if self.project else "untitled"
        if self.project_path is not None:
            name = self.project_path.stem
        self.setWindowTitle(f"{name}[*] — nnstudio")
        self.setWindowModified(self.is_modified())

    def save(self) -> bool:
        if self.project_path is None:
            return self.save_as()
        return self.write_project(self.project_path)

    def save_as(self) -> bool:
        suggested = str(Path(self._last_folder()) / f"{self.project.name}.nnsproj")
        path, _ = QFileDialog.getSaveFileName(
            self, "Save project", suggested, "nnstudio projects (*.nnsproj)"
        )
        if not path:
            return False
        if not path.endswith(".nnsproj"):
            path += ".nnsproj"
        return self.write_project(Path(path))

    def write_project(self, path: Path) -> bool:
        """Save project (+ trained weights as a .nnz next to it); errors in words."""
        from nnstudio.project import save_project

        path = Path(path)
        project = self._collect_project()
        project.name = path.stem
        try:
            if self.model is not None and self._has_trained_weights():
                self._save_weights(path.with_suffix(".nnz"))
                project.weights = path.with_suffix(".nnz").name
            save_project(project, path)
        except (OSError, ValueError) as error:
            self.show_message(
                f"Could not save {path}: {error}. The previous file is unchanged.", "error"
            )
            return False
        self.project, self.project_path = project, path
        self._saved_form = self._collect_project().to_dict()
        self._weights_dirty = False
        self._add_recent(path)
        self._update_title()
        self.statusBar().showMessage(f"Saved {path}", 4000)
        return True

    def _has_trained_weights(self) -> bool:
        """Weights worth a .nnz: trained here, or loaded from the project's file."""
        trained = bool(self.current_run and self.current_run.history)
        return trained or getattr(self, "_weights_restored", False)

    def _save_weights(self, path: Path) -> None:
        from nnstudio.engine.io import save_model

        if self.session is not None:
            raise OSError("training is running; pause or stop it before saving the weights")
        dataset = self.dataset
        save_model(
            path,
            self.model,
            loss=self.hyperparameters.settings()["loss"],
            class_names=getattr(dataset, "class_names", None),
            preprocessing=dataset.preprocessing() if dataset is not None else None,
        )

    def maybe_save(self) -> bool:
        """Ask to save unsaved changes; False means the user cancelled."""
        if not self.is_modified():
            return True
        answer = self._ask_save_changes()
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def _ask_save_changes(self):
        name = self.project_path.name if self.project_path else "this project"
        return QMessageBox.question(
            self,
            "Save changes?",
            f"Save the changes to {name} before closing it?",
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save,
        )

    def _last_folder(self) -> str:
        return str(Path(self.recent_files[0]).parent) if self.recent_files else str(Path.home())

    def _add_recent(self, path) -> None:
        path = str(Path(path).resolve())
        self.recent_files = [path] + [p for p in self.recent_files if p != path]
        del self.recent_files[MAX_RECENT:]
        QSettings().setValue("files/recent", self.recent_files)
        self._fill_recent_menu()

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for index, path in enumerate(self.recent_files):
            action = self.recent_menu.addAction(f"&{index + 1} {Path(path).name}")
            action.setToolTip(path)
            action.triggered.connect(
                lambda _=False, p=path: self.maybe_save() and self.open_project(p)
            )
        self.recent_menu.setEnabled(bool(self.recent_files))

    def _fill_presets_menu(self) -> None:
        from nnstudio.project import list_presets

        for name in list_presets():
            action = self.presets_menu.addAction(name)
            action.triggered.connect(lambda _=False, n=name: self.new_from_preset(n))
        self.presets_menu.setEnabled(bool(self.presets_menu.actions()))

    def autosave_now(self) -> None:
        """Write the autosave when something changed (never while training: the model is busy)."""
        if self.project is None or self.session is not None or not self.is_modified():
            return
        save_weights = self._save_weights if self._has_trained_weights() and self.model else None
        try:
            self.autosave.save(self._collect_project(), save_weights=save_weights)
        except (OSError, ValueError) as error:
            self.statusBar().showMessage(f"Autosave failed: {error}", 6000)

    def offer_restore(self) -> None:
        """After a crash, offer the autosave the crashed window left behind."""
        leftovers = self.autosave.leftovers()
        if not leftovers:
            return
        answer = QMessageBox.question(
            self,
            "Restore unsaved work?",
            "nnstudio did not close properly last time. Restore the project it autosaved?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        )
        self.restore_autosave(leftovers[0] if answer == QMessageBox.StandardButton.Yes else None)
        for path in leftovers:
            self.autosave.discard(path)

    def restore_autosave(self, path) -> None:
        if path is None or not self.open_project(path):
            return
        self.project_path = None  # the autosave is not the user's file: Save asks where
        self._saved_form = None
        self._restored_unsaved = True  # still unsaved work once its dataset arrives
        self._update_title()

    def export_png(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export plots", "training.png", "PNG (*.png)")
        if path:
            self._export(self.training_tab.plots.export_png, path)

    def export_csv(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export history", "history.csv", "CSV (*.csv)")
        if path:
            self._export(self.training_tab.plots.export_csv, path)

    def _export(self, write, path) -> None:
        try:
            write(path)
            self.statusBar().showMessage(f"Exported {path}", 4000)
        except OSError as error:
            self.show_message(f"Could not export {path}: {error}", "error")

    # -- dataset and model ----------------------------------------------------------------------

    def _on_dataset_changed(self, dataset) -> None:
        self.shutdown_training()
        self.dataset = dataset
        self.hyperparameters.set_task(dataset.task)
        if hasattr(self.builder, "set_input_spec"):
            outputs = dataset.n_classes if dataset.task == "classification" else dataset.n_outputs
            self.builder.set_input_spec(
                tuple(dataset.input_shape),
                outputs,
                dataset.task,
                self.hyperparameters.settings()["loss"],
            )
        self.training_tab.set_dataset(dataset)
        self.message_bar.hide()
        from_project = self._project_dataset_arrived()
        self._rebuild_model()
        if from_project and not getattr(self, "_restored_unsaved", False):
            self._saved_form = self._collect_project().to_dict()  # just opened = saved
        self._restored_unsaved = False
        self._changed()

    def _project_dataset_arrived(self) -> bool:
        """True (once) when this dataset is the one an opened project asked for."""
        awaiting = getattr(self, "_awaiting_project_dataset", False)
        self._awaiting_project_dataset = False
        return awaiting

    def _on_dataset_failed(self, message: str) -> None:
        if self._project_dataset_arrived():
            self._saved_form = self._collect_project().to_dict()
            self._update_title()
        self.show_message(message, "error")

    def _on_model_edited(self, _config=None) -> None:
        if self._applying:
            return
        self.hyperparameters.set_regularization(*common_regularization(self.builder.config()))
        self._rebuild_model()
        self._changed()

    def _on_validity_changed(self, valid: bool, message: str) -> None:
        self.actionTrain.setEnabled(valid)
        self.actionStep.setEnabled(valid)
        for action, tip in self._normal_tips.items():
            # A disabled button says why it is disabled.
            action.setToolTip(tip if valid or not message else message)
        if not valid and message:
            self.statusBar().showMessage(message, 8000)

    def _on_regularization_changed(self, l1: float, l2: float) -> None:
        if hasattr(self.builder, "set_settings_everywhere"):
            # One undoable edit in the builder; its config_changed rebuilds the model.
            self.builder.set_settings_everywhere({"l1": l1, "l2": l2})
        else:
            self.project.model = apply_regularization(self.project.model, l1, l2)
            self._rebuild_model()

    def _on_builder_preset(self, _name: str, project: dict) -> None:
        """A preset picked in the builder brings its dataset and training settings along."""
        if project.get("training"):
            self.hyperparameters.set_settings(project["training"])
        dataset = project.get("dataset")
        if dataset and hasattr(self.data_panel, "set_spec"):
            self.data_panel.set_spec(dataset.get("name"), dict(dataset.get("options") or {}))

    def _on_hyperparameters_changed(self) -> None:
        if self.dataset is not None and hasattr(self.builder, "set_input_spec"):
            loss = self.hyperparameters.settings()["loss"]
            if loss != getattr(self, "_builder_loss", None):
                self._builder_loss = loss
                self._on_dataset_loss_changed(loss)
        self._changed()

    def _on_dataset_loss_changed(self, loss: str) -> None:
        d = self.dataset
        outputs = d.n_classes if d.task == "classification" else d.n_outputs
        self.builder.set_input_spec(tuple(d.input_shape), outputs, d.task, loss)

    def _changed(self) -> None:
        if not self._applying:
            self._update_title()

    def _rebuild_model(self) -> None:
        """Build the model for the current dataset and layers; a problem disables Train."""
        if self.session is not None:
            self._rebuild_pending = True  # the worker owns the model: rebuild when it ends
            return
        self._rebuild_pending = False
        if self.dataset is None or self.project is None:
            return
        if getattr(self, "_awaiting_project_dataset", False):
            return  # the old dataset is still loaded: build once the project's one arrives
        try:
            model = self._collect_project().build_model(self.dataset)
            self._load_pending_weights(model)
        except ValueError as error:
            self.model = None
            self.show_message(str(error), "warning")
            self._share_model()
            return
        self.model = model
        self._new_run_state()
        self._share_model()

    def _load_pending_weights(self, model) -> None:
        path, self._pending_weights = self._pending_weights, None
        self._weights_restored = False
        if path is None:
            return
        from nnstudio.engine.io import load_model

        try:
            model.load_state_dict(load_model(path).model.state_dict())
        except (ValueError, OSError, KeyError) as error:
            self.show_message(
                f"The saved weights {path.name} could not be used ({error}); "
                "the model starts from fresh weights.",
                "warning",
            )
        else:
            self._weights_restored = True

    def _share_model(self) -> None:
        """Give Evaluate and Draw a copy of the idle model (they never see the training one)."""
        import copy

        model = copy.deepcopy(self.model) if self.model is not None else None
        dataset = self.dataset
        names = getattr(dataset, "class_names", None)
        if hasattr(self.draw, "set_current_model"):
            fits = model is not None and tuple(dataset.input_shape) in ((1, 28, 28), (784,))
            title = self.project_path.stem if self.project_path else self.project.name
            self.draw.set_current_model(
                model if fits else None,
                names,
                title,
                scaling=getattr(dataset, "scaling", None),
                trained=self._has_trained_weights(),
            )
        if hasattr(self.evaluation, "evaluate"):
            self._evaluation_stale = True
            if model is None:
                self.evaluation.clear()
            elif self.tabs.currentWidget() is self.evaluation:
                self._evaluate(model)
        self._shared_model = model

    def _evaluate(self, model=None) -> None:
        model = model or getattr(self, "_shared_model", None)
        if model is None or self.dataset is None:
            return
        self._evaluation_stale = False
        try:
            self.evaluation.evaluate(model, self._collect_project().make_loss(), self.dataset)
        except ValueError as error:
            self.show_message(str(error), "warning")

    def _on_evaluate_requested(self) -> None:
        """The Evaluate tab's button: evaluate the current idle model (not one in training)."""
        if self.session is not None:
            self.show_message(
                "Training owns the model: pause or stop it, then press Evaluate "
                "(the results show the weights as they are then).",
                "info",
            )
            return
        self._share_model_quietly()
        self._evaluate()

    def _share_model_quietly(self) -> None:
        """A fresh copy of the idle model for Evaluate (weights may have changed since)."""
        import copy

        if self.model is not None:
            self._shared_model = copy.deepcopy(self.model)

    def _on_tab_changed(self, _index: int) -> None:
        if self.tabs.currentWidget() is self.evaluation and getattr(
            self, "_evaluation_stale", False
        ):
            self._evaluate()

    # -- training -------------------------------------------------------------------------------

    def _init_training_state(self) -> None:
        self.session = None
        self.dataset = None
        self.model = None
        self.state = "idle"
        self.current_run = None
        self._optimizer = None
        self._optimizer_key = None
        self._target_epochs = 0
        self._last_batch: dict = {}
        self._last_speed = 0.0

    def _new_run_state(self) -> None:
        """Fresh weights or a new model: the next Train starts a new run."""
        self.current_run = None
        self._optimizer = None
        self._target_epochs = 0
        self._last_batch = {}
        self.training_tab.new_run()
        self._refresh_status()

    def train(self) -> None:
        """Train ▶: start, resume a paused session, or continue after a finished run."""
        if self.session is not None:
            if self.state == "paused":
                self.session.resume()
                self._set_state("training")
            return
        self._start_session(paused=False)

    def pause(self) -> None:
        if self.session is not None and self.state == "training":
            self.session.pause()
            self._set_state("paused")

    def step(self) -> None:
        """One batch, then paused (starts a paused session when none is running)."""
        if self.session is None and not self._start_session(paused=True):
            return
        self.session.step()
        self._set_state("paused", "one batch at a time")

    def stop(self) -> None:
        if self.session is not None:
            self.session.stop()
        elif self.state == "paused":
            self._set_state("idle")

    def reset_weights(self) -> None:
        self.shutdown_training()
        if self.model is None:
            return
        self.model.reset_parameters(self.hyperparameters.settings()["seed"])
        self._weights_restored = False
        self._weights_dirty = True
        self._new_run_state()
        self._share_model()
        self._set_state("idle")
        self._update_title()

    def _optimizer_for(self, project):
        """Keep the optimizer (and its momentum / Adam moments) while its settings are the same."""
        t = project.training
        key = (t.optimizer, repr(sorted(t.optimizer_settings.items())))
        if self._optimizer is None or key != self._optimizer_key:
            self._optimizer, self._optimizer_key = project.make_optimizer(), key
        self._optimizer.lr = t.learning_rate
        return self._optimizer

    def _start_session(self, paused: bool) -> bool:
        from nnstudio.training.session import TrainingSession

        if self.model is None or self.dataset is None:
            self.show_message(
                "There is no valid model to train yet: pick a dataset and fix the "
                "problems shown on the Model tab.",
                "warning",
            )
            return False
        project = self._collect_project()
        try:
            loss, optimizer = project.make_loss(), self._optimizer_for(project)
            config = project.fit_config()
            augment = project.make_augment(self.dataset)
        except ValueError as error:
            self.show_message(str(error), "error")
            return False
        run = self._ensure_run(project)
        done = len(run.history)
        if done >= self._target_epochs:
            self._target_epochs = done + project.training.epochs
        config.epochs = self._target_epochs
        self.training_tab.plots.set_planned_epochs(self._target_epochs)
        session = TrainingSession(
            self.model,
            loss,
            optimizer,
            self.dataset,
            config,
            augment,
            initial_epoch=done,
            history=list(run.history),
            parent=self,
        )
        session.batch_progress.connect(self._on_batch_progress)
        session.epoch_done.connect(self._on_epoch_done)
        session.weights_snapshot.connect(self._on_weights_snapshot)
        session.finished.connect(self._on_session_finished)
        session.failed.connect(self._on_session_failed)
        self.session = session
        self.message_bar.hide()
        self.training_tab.caption.setText(f"{run.label} — {self.dataset.name}")
        session.start(paused=paused)
        self._set_state("paused" if paused else "training")
        return True

    def _ensure_run(self, project):
        if self.current_run is None:
            self.current_run = self.runs_panel.add_run(
                self.dataset.name, project.model, vars(project.training)
            )
        self.current_run.status = "training"
        self.current_run.settings = dict(vars(project.training))
        return self.current_run

    def _on_learning_rate_changed(self, lr: float) -> None:
        if self.session is not None:
            self.session.set_learning_rate(lr)

    def _on_batch_progress(self, info: dict) -> None:
        self._last_batch = info
        if info.get("samples_per_second"):
            self._last_speed = float(info["samples_per_second"])
        self.training_tab.plots.add_batches(info.get("losses", ()))

    def _on_epoch_done(self, payload: dict) -> None:
        if self.current_run is None:
            return
        epochs = payload.get("epochs") or [payload]
        self.current_run.history.extend(epochs)
        self.training_tab.plots.add_epochs(epochs)
        self._runs_dirty = True

    def _on_weights_snapshot(self, snapshot: dict) -> None:
        self.training_tab.apply_snapshot(snapshot)
        diagram = getattr(self.builder, "diagram", None) or getattr(
            self.builder, "network_diagram", None
        )
        if diagram is not None and self.tabs.currentWidget() is self.builder:
            diagram.update_weights(snapshot)

    def _on_session_finished(self, result: dict) -> None:
        self._end_session()
        self.training_tab.plots.redraw_all()  # idle now: show the final state at once
        run = self.current_run
        reason = result.get("stopped_reason") or "completed"
        if run is not None:
            if result.get("history"):
                run.history = list(result["history"])
            run.status = reason
            self.runs_panel.update_run(run)
        self._weights_dirty = True
        if reason == "nan":
            self.show_message(
                result.get("message")
                or "The loss became NaN; try a smaller "
                "learning rate. The last good weights were kept.",
                "warning",
            )
            self._set_state("paused", "the loss became NaN")
        else:
            if reason == "early_stopping" and result.get("message"):
                self.show_message(result["message"], "info")
            self._set_state("idle")
        self._share_model()
        self._update_title()
        self.training_finished.emit(result)
        self.autosave_now()

    def _on_session_failed(self, message: str) -> None:
        self._end_session()
        if self.current_run is not None:
            self.current_run.status = "failed"
            self.runs_panel.update_run(self.current_run)
        self.show_message(message, "error")
        self._set_state("idle")
        self.training_finished.emit({"stopped_reason": "failed", "message": message})

    def _end_session(self) -> None:
        session, self.session = self.session, None
        if session is not None:
            session.wait(5000)
            session.deleteLater()
        if getattr(self, "_rebuild_pending", False):
            QTimer.singleShot(0, self._rebuild_model)  # edits made while it trained

    def shutdown_training(self) -> None:
        """Stop a running session and wait for its thread (closing, opening, resetting)."""
        session = self.session
        if session is None:
            return
        for signal in (
            session.batch_progress,
            session.epoch_done,
            session.weights_snapshot,
            session.finished,
            session.failed,
        ):
            signal.disconnect()
        session.shutdown(30_000)
        self.session = None
        session.deleteLater()
        if self.current_run is not None:
            self.current_run.status = "stopped"
            self.runs_panel.update_run(self.current_run)
        self._set_state("idle")

    def _on_overlay_changed(self, runs) -> None:
        self.training_tab.plots.set_overlays(
            [(run.label, run.history) for run in runs if run is not self.current_run]
        )

    def _refresh_status(self) -> None:
        """Status bar and epoch counter, at most 4 times a second while training."""
        run = self.current_run
        done = len(run.history) if run is not None else 0
        target = max(self._target_epochs, done)
        self.epoch_label.setText(
            f"Epoch {done} / {target or self.hyperparameters.settings()['epochs']}"
        )
        self.epoch_progress.setRange(0, max(target, 1))
        self.epoch_progress.setValue(done)
        self.status_epoch.setText(f"Epoch {done} of {target}" if target else "")
        speed = self._last_speed
        self.status_speed.setText(f"{speed:,.0f} samples/s" if speed and self.session else "")
        self.status_eta.setText(self._time_left(done, target, speed))
        self._status_ticks = getattr(self, "_status_ticks", 0) + 1
        # The runs table repaints a whole row: once a second is plenty.
        if self._status_ticks % 4 == 0 and getattr(self, "_runs_dirty", False) and run:
            self._runs_dirty = False
            self.runs_panel.update_run(run)

    def _time_left(self, done: int, target: int, speed: float) -> str:
        if self.session is None or self.state != "training" or not speed or self.dataset is None:
            return ""
        seconds = (target - done) * len(self.dataset.x_train) / speed
        if seconds < 60:
            return f"{seconds:.0f} s left"
        return f"{seconds // 60:.0f} min {seconds % 60:02.0f} s left"


# -- helpers ------------------------------------------------------------------------------------

WEIGHT_LAYERS = ("Dense", "Conv2D")


def apply_regularization(config: dict, l1: float, l2: float) -> dict:
    """A copy of a model config with L1/L2 set on every weight layer (the dock's values)."""
    import copy

    config = copy.deepcopy(config)
    for layer in config.get("layers", []):
        if layer.get("type") in WEIGHT_LAYERS:
            layer["l1"], layer["l2"] = float(l1), float(l2)
    return config


def common_regularization(config: dict) -> tuple[float, float]:
    """The L1/L2 of the first weight layer (what the dock shows)."""
    for layer in config.get("layers", []):
        if layer.get("type") in WEIGHT_LAYERS:
            return float(layer.get("l1", 0.0) or 0.0), float(layer.get("l2", 0.0) or 0.0)
    return 0.0, 0.0
