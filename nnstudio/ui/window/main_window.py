"""MainWindow: toolbar, menus, docks, tabs and status bar, wired to the panels and to training.

The window owns the project (what is saved), the dataset and the model. While a
TrainingSession runs, the model belongs to the worker thread: the window only reads what the
session's signals carry, and gives the Evaluate and Draw tabs a copy once the run has ended.
This module builds the window and wires its parts; the behaviour lives in three mixins:
project files and settings (main_window_files), dataset and model (main_window_model) and
training control (main_window_training).
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QDockWidget,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from nnstudio.ui import style
from nnstudio.ui.builder import QtModelBuilder
from nnstudio.ui.draw.draw_panel import DrawPanel
from nnstudio.ui.panels.data_panel import DataPanel
from nnstudio.ui.panels.evaluation import EvaluationPanel
from nnstudio.ui.panels.hyperparameters import (
    HyperparametersPanel,
    ScientificSpinBox,
    link_spin_boxes,
)
from nnstudio.ui.panels.runs import RunsPanel
from nnstudio.ui.plots.training_plots import TrainingTab
from nnstudio.ui.widgets.message_bar import (  # noqa: F401 - part of this module's interface
    MessageBar,
    VerticalScrollArea,
)
from nnstudio.ui.window.main_window_files import (  # noqa: F401 - part of this module's interface
    AUTOSAVE_MS,
    DEFAULT_PRESET,
    DEFAULT_PROJECT,
    MAX_RECENT,
    SETTINGS_VERSION,
    FilesMixin,
)
from nnstudio.ui.window.main_window_model import ModelMixin
from nnstudio.ui.window.main_window_training import TrainingMixin


class MainWindow(FilesMixin, ModelMixin, TrainingMixin, QMainWindow):
    """The nnstudio window. Built without being shown; call ``show()`` to display it."""

    state_changed = Signal(str)
    training_finished = Signal(dict)

    def __init__(self, parent=None, *, load_default: bool = True):
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self._init_training_state()
        self._init_file_state()
        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self._build_central()
        self._build_docks()
        self._build_status_bar()
        self._wire()
        self._fit_to_screen()
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
        # Narrow boxes: the whole toolbar, progress bar included, fits a 1366-pixel screen.
        for label, widget, width in (
            ("Learning rate", self.toolbar_lr, 96),
            ("Batch", self.toolbar_batch, 76),
        ):
            widget.setMaximumWidth(width)
            bar.addWidget(QLabel(label))
            bar.addWidget(widget)
        spacer = QWidget()
        spacer.setSizePolicy(
            spacer.sizePolicy().horizontalPolicy().Expanding, spacer.sizePolicy().verticalPolicy()
        )
        bar.addWidget(spacer)
        self.epoch_label = QLabel("Epoch 0 / 0")
        self.epoch_label.setObjectName("epochCounter")
        self.epoch_label.setMinimumWidth(110)
        self.epoch_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.epoch_label.setToolTip("Epochs trained in this run / planned.")
        self.epoch_progress = QProgressBar()
        self.epoch_progress.setObjectName("epochProgress")
        self.epoch_progress.setFixedWidth(120)
        self.epoch_progress.setTextVisible(False)
        self.epoch_progress.setToolTip("Progress of the run.")
        bar.addWidget(self.epoch_label)
        bar.addWidget(self.epoch_progress)
        self.toolbar = bar

    def _build_central(self) -> None:
        self.tabs = QTabWidget()
        self.tabs.setObjectName("mainTabs")
        self.tabs.setDocumentMode(True)
        self.builder = QtModelBuilder()
        self.training_tab = TrainingTab()
        self.evaluation = EvaluationPanel()
        self.draw = DrawPanel()
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
        self.data_panel = DataPanel()
        self.hyperparameters = HyperparametersPanel()
        self.runs_panel = RunsPanel()
        area = Qt.DockWidgetArea
        # Scrolls rather than making the window taller than a 768-pixel-high screen.
        data_scroll = VerticalScrollArea(self.data_panel)
        self.data_dock = self._dock("dataDock", "Data", data_scroll, area.LeftDockWidgetArea)
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
        self.data_panel.dataset_changed.connect(self._on_dataset_changed)
        self.data_panel.dataset_failed.connect(self._on_dataset_failed)
        self.builder.config_changed.connect(self._on_model_edited)
        self.builder.validity_changed.connect(self._on_validity_changed)
        # The builder's own undo/redo actions: one shortcut each, no ambiguity.
        self.edit_menu.addActions([self.builder.undo_action, self.builder.redo_action])
        self.builder.preset_loaded.connect(self._on_builder_preset)
        self.tabs.currentChanged.connect(self._on_tab_changed)
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

    def _fit_to_screen(self) -> None:
        """The first-launch size: roomy, but never larger than the screen (a 1366×768 laptop
        gets a window it can see whole). Saved geometry, when there is one, wins."""
        size = QSize(1400, 880)
        screen = QGuiApplication.primaryScreen()
        if screen is not None:
            available = screen.availableGeometry().size()
            size = size.boundedTo(
                QSize(int(available.width() * 0.95), int(available.height() * 0.92))
            )
        self.resize(size.expandedTo(self.minimumSizeHint()))

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

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        if not self.maybe_save():
            event.ignore()
            return
        self.shutdown_training()
        self.data_panel.shutdown()  # a dataset still loading: wait for its thread
        self.evaluation.shutdown()  # and an evaluation still running
        self.save_settings()
        self.autosave.clear()
        super().closeEvent(event)
