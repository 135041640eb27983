"""The window's commands: its QActions, the menus and the toolbar that show them.

``WindowActions`` puts them on the window the way a Qt Designer form's ``setupUi`` does
(``window.actionTrain``, ``window.recent_menu``, ``window.toolbar_lr``...), connects each one
to the file or training controller, and keeps Train / Pause / Stop matching the document's
run state and the network's validity.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMessageBox, QSpinBox, QWidget

from nnstudio.project.document import RunState
from nnstudio.project.settings import BATCH_SIZE, LEARNING_RATE
from nnstudio.ui import style
from nnstudio.ui.panels.hyperparameters import ScientificSpinBox, link_spin_boxes


def add_menu_action(window, menu, name: str, text: str, tip: str, slot) -> QAction:
    """An action in ``menu``, kept as ``window.<name>`` (its object name too, which the
    shortcut table and the tests look up), saying ``tip`` on hover and in the status bar."""
    action = QAction(text, window)
    action.setObjectName(name)
    action.setStatusTip(tip)
    action.setToolTip(tip)
    action.triggered.connect(lambda: slot())
    menu.addAction(action)
    setattr(window, name, action)
    return action


def _together(*widgets) -> QWidget:
    """Widgets that stay side by side in the toolbar: when the window is too narrow for it,
    its overflow row takes them as one (a label never goes without its field)."""
    group = QWidget()
    row = QHBoxLayout(group)
    row.setContentsMargins(0, 0, 0, 0)
    row.setSpacing(4)
    for widget in widgets:
        row.addWidget(widget)
    return group


class WindowActions:
    """Creates the actions, menus and toolbar of ``window`` and keeps their state; Train
    says what ``training`` will do next, and ``status`` shows it too."""

    def __init__(self, window, document, *, training, status):
        self.window = window
        self.document = document
        self.training, self.status = training, status
        self._create_file_actions()
        self._create_training_actions()
        self._build_menus()
        self._build_toolbar()
        # The normal tooltips, restored when an invalid network (whose reason they show) is fixed.
        self._normal_tips = {a: a.toolTip() for a in (window.actionTrain, window.actionStep)}
        events = document.events
        events.run_state.connect(self.show_run_state)
        for changed in (
            events.training_changed,
            events.runs_changed,
            events.project_loaded,
            events.current_run_forgotten,
        ):
            changed.connect(self.show_train_plan)
        events.run_updated.connect(lambda _run: self.show_train_plan())
        window.builder.validity_changed.connect(self.show_validity)

    def _action(self, name, text, tip, slot, shortcut=None, icon=None) -> QAction:
        action = QAction(text, self.window)
        action.setObjectName(name)
        action.setToolTip(tip)
        action.setStatusTip(tip)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
            action.setToolTip(f"{tip} ({QKeySequence(shortcut).toString()})")
        if icon:
            action.setIcon(style.icon(icon))
        action.triggered.connect(slot)
        self.window.addAction(action)  # shortcuts work even when the toolbar is hidden
        return action

    def _create_file_actions(self) -> None:
        w, files, key, a = self.window, self.window.files, QKeySequence.StandardKey, self._action
        w.actionNew = a(
            "actionNew",
            "&New",
            "Start a new project (spiral + small MLP)",
            files.new_project,
            key.New,
            "new",
        )
        w.actionOpen = a(
            "actionOpen",
            "&Open…",
            "Open a project (.nnsproj) or a model file (.nnz)",
            files.open_project_dialog,
            key.Open,
            "open",
        )
        w.actionSave = a(
            "actionSave",
            "&Save",
            "Save the project, with trained weights",
            files.save,
            key.Save,
            "save",
        )
        w.actionSaveAs = a(
            "actionSaveAs",
            "Save &As…",
            "Save the project under a new name",
            files.save_as,
            key.SaveAs,
        )
        w.actionSaveModel = a(
            "actionSaveModel",
            "Save &Model…",
            "Save the model and its weights as a .nnz file (for Draw, predict, sharing)",
            files.models.save_model_dialog,
        )
        w.actionQuit = a("actionQuit", "&Quit", "Close nnstudio", w.close, key.Quit)
        w.actionExportPng = a(
            "actionExportPng",
            "Export plots as PNG…",
            "Save the training plots as an image",
            files.export_png,
        )
        w.actionExportCsv = a(
            "actionExportCsv",
            "Export history as CSV…",
            "Save the epoch history as a table",
            files.export_csv,
        )
        w.actionExportModel = a(
            "actionExportModel",
            "Export &model…",
            "Export the trained model as ONNX or as a Python script that needs only NumPy",
            w.exporter.export_model,
        )
        w.actionAbout = a("actionAbout", "&About nnstudio", "Version and credits", self.about)
        w.actionShortcuts = a(
            "actionShortcuts",
            "&Keyboard shortcuts",
            "Every key the window answers to",
            self.show_shortcuts,
        )
        w.actionSettingsHelp = a(
            "actionSettingsHelp",
            "&What each setting means",
            "Every layer, optimizer, schedule and loss setting, explained",
            self.show_settings_help,
        )

    def _create_training_actions(self) -> None:
        w, training, a = self.window, self.window.training, self._action
        w.actionTrain = a(
            "actionTrain",
            "Train",
            "Train the network (continues a paused or finished run) (Space)",
            training.train,
            None,
            "train",
        )
        w.actionPause = a(
            "actionPause",
            "Pause",
            "Pause training after the current batch (Space)",
            training.pause,
            None,
            "pause",
        )
        w.actionStep = a(
            "actionStep",
            "Step",
            "Train exactly one batch, then pause",
            training.step,
            "Ctrl+Right",
            "step",
        )
        w.actionStop = a(
            "actionStop",
            "Stop",
            "End this run (the weights stay as they are)",
            training.stop,
            "Ctrl+.",
            "stop",
        )
        w.actionReset = a(
            "actionReset",
            "Reset weights",
            "Start over with fresh random weights (a new run)",
            training.reset_weights,
            "Ctrl+R",
            "reset",
        )
        w.actionPause.setVisible(False)

    def _training_actions(self) -> list[QAction]:
        w = self.window
        return [w.actionTrain, w.actionPause, w.actionStep, w.actionStop, w.actionReset]

    def _build_menus(self) -> None:
        w = self.window
        bar = w.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addActions([w.actionNew, w.actionOpen])
        w.recent_menu = file_menu.addMenu("Open &Recent")
        w.presets_menu = file_menu.addMenu("New from &Preset")
        file_menu.addSeparator()
        file_menu.addActions([w.actionSave, w.actionSaveAs, w.actionSaveModel])
        file_menu.addSeparator()
        file_menu.addActions([w.actionExportPng, w.actionExportCsv, w.actionExportModel])
        file_menu.addSeparator()
        file_menu.addAction(w.actionQuit)
        w.edit_menu = bar.addMenu("&Edit")
        # The builder's own undo/redo actions: one shortcut each, no ambiguity.
        w.edit_menu.addActions([w.builder.undo_action, w.builder.redo_action])
        w.training_menu = bar.addMenu("&Training")
        w.training_menu.addActions(self._training_actions())
        w.view_menu = bar.addMenu("&View")  # the docks add their own entries
        w.help_menu = bar.addMenu("&Help")
        w.help_menu.addActions([w.actionShortcuts, w.actionSettingsHelp])
        w.help_menu.addSeparator()
        w.help_menu.addAction(w.actionAbout)
        w.files.fill_presets_menu()

    def _build_toolbar(self) -> None:
        w = self.window
        bar = w.addToolBar("Main")
        bar.setObjectName("mainToolBar")
        bar.setMovable(False)
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        bar.addActions([w.actionNew, w.actionOpen, w.actionSave])
        bar.addSeparator()
        bar.addActions(self._training_actions())
        bar.addSeparator()
        self._add_quick_settings(bar)
        spacer = QWidget()
        spacer.setSizePolicy(
            spacer.sizePolicy().horizontalPolicy().Expanding, spacer.sizePolicy().verticalPolicy()
        )
        bar.addWidget(spacer)
        bar.addWidget(_together(self.status.epoch_label, self.status.epoch_progress))
        w.toolbar = bar

    def _add_quick_settings(self, bar) -> None:
        """The learning rate and batch size, mirrored from the Hyperparameters dock."""
        w = self.window
        # The dock's boxes' twins: the ranges of the project's settings.
        w.toolbar_lr = ScientificSpinBox(LEARNING_RATE.minimum, LEARNING_RATE.maximum)
        w.toolbar_lr.setObjectName("toolbarLearningRate")
        w.toolbar_lr.setToolTip(
            "Learning rate — takes effect on the next batch, even while "
            "training. Adam: ~1e-3; SGD: 0.01–0.1."
        )
        w.toolbar_batch = QSpinBox()
        w.toolbar_batch.setObjectName("toolbarBatchSize")
        w.toolbar_batch.setRange(BATCH_SIZE.minimum, BATCH_SIZE.maximum)
        w.toolbar_batch.setToolTip(
            "Batch size: samples per update (16–256). Applies from the next run."
        )
        # Narrow boxes: the whole toolbar, progress bar included, fits a 1366-pixel screen.
        for label, widget, width in (
            ("Learning rate", w.toolbar_lr, 96),
            ("Batch", w.toolbar_batch, 76),
        ):
            widget.setMaximumWidth(width)
            bar.addWidget(_together(QLabel(label), widget))
        link_spin_boxes(w.hyperparameters.learning_rate_box, w.toolbar_lr)
        link_spin_boxes(w.hyperparameters.batch_size_box, w.toolbar_batch)

    # -- keeping the state ----------------------------------------------------------------------

    def show_train_plan(self) -> None:
        """Train says what it will do: "Train 40 more" on the toolbar, and in full ("Train
        40 more epochs (to 120)") in its tooltip and the status bar."""
        w = self.window
        if self.document.run_state != RunState.IDLE:
            return
        more, to = self.training.next_train()
        plan = self.training.next_train_text()
        w.actionTrain.setText("Train" if to == more else f"Train {more} more")
        w.actionTrain.setStatusTip(f"{plan} (Space)")
        if w.actionTrain.isEnabled():
            w.actionTrain.setToolTip(w.actionTrain.statusTip())
        self.status.show_next_train(plan)

    def show_run_state(self, state: RunState) -> None:
        w = self.window
        training = state == RunState.TRAINING
        w.actionTrain.setVisible(not training)
        w.actionPause.setVisible(training)
        w.actionStop.setEnabled(state != RunState.IDLE)
        if state == RunState.IDLE:
            self.show_train_plan()
        else:
            w.actionTrain.setText("Resume" if state == RunState.PAUSED else "Train")
            self.status.show_next_train("")

    def show_validity(self, valid: bool, message: str) -> None:
        """Train and Step only for a network that can be trained; when disabled, their
        tooltips say why."""
        for action, tip in self._normal_tips.items():
            action.setEnabled(valid)
            action.setToolTip(tip if valid or not message else message)
        if valid:
            self.show_train_plan()

    def show_shortcuts(self):
        from nnstudio.ui.window.help import shortcuts_html, show_help

        return show_help(
            self.window, "Keyboard shortcuts", shortcuts_html(self.window), "shortcuts"
        )

    def show_settings_help(self):
        from nnstudio.ui.window.help import settings_html, show_help

        return show_help(self.window, "What each setting means", settings_html(), "settingsHelp")

    def about(self) -> None:
        from nnstudio import __version__

        QMessageBox.about(
            self.window,
            "About nnstudio",
            f"<h3>nnstudio {__version__}</h3><p>A desktop studio for neural "
            "networks, written from scratch in NumPy.</p>",
        )
