"""MainWindow: the tabs and docks of nnstudio, as a view of one ProjectDocument.

The window builds its widgets and hands the behaviour to small parts, each in its own module:

- ``document`` (nnstudio.project.document): the project, its runs and the run state
- ``bindings``: the Data, Hyperparameters, Model and Runs panels bound to the document
- ``files``: new / open / save, recent files, presets, autosave, settings, exports
- ``models``: the dataset, the model built for it, idle copies for Evaluate and Draw
- ``training``: train / pause / step / stop / reset with one TrainingSession per run
- ``window_actions`` and ``status``: the actions, menus, toolbar and status bar

While a TrainingSession runs, the model belongs to the worker thread: the window only reads
what the session's signals carry, and gives the Evaluate and Draw tabs a copy once the run
has ended.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QDockWidget,
    QMainWindow,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from nnstudio.project.document import ProjectDocument, RunState
from nnstudio.ui.builder import QtModelBuilder
from nnstudio.ui.draw.draw_panel import DrawPanel
from nnstudio.ui.panels.data_panel import DataPanel
from nnstudio.ui.panels.evaluation import EvaluationPanel
from nnstudio.ui.panels.hyperparameters import HyperparametersPanel
from nnstudio.ui.panels.runs import RunsPanel
from nnstudio.ui.plots.training_plots import TrainingTab
from nnstudio.ui.widgets import tab_order
from nnstudio.ui.widgets.message_bar import MessageBar
from nnstudio.ui.widgets.scroll_area import VerticalScrollArea
from nnstudio.ui.window.actions import WindowActions
from nnstudio.ui.window.bindings import PanelBindings
from nnstudio.ui.window.doctor import DoctorController
from nnstudio.ui.window.export import ExportController
from nnstudio.ui.window.files import FileController
from nnstudio.ui.window.inspector import InspectorController
from nnstudio.ui.window.keys import SpaceToTrain
from nnstudio.ui.window.lessons import LessonsController
from nnstudio.ui.window.model_sync import ModelSync
from nnstudio.ui.window.status import StatusView
from nnstudio.ui.window.sweeps import SweepController
from nnstudio.ui.window.timeline import TimelineController
from nnstudio.ui.window.training import TrainingController


class MainWindow(QMainWindow):
    """The nnstudio window. Built without being shown; call ``show()`` to display it."""

    state_changed = Signal(str)
    training_finished = Signal(dict)

    def __init__(self, parent=None, *, load_default: bool = True):
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.document = ProjectDocument()
        self._build_central()
        self._build_panels()
        self.status = StatusView(self, self.document)
        self.files = FileController(self, self.document)
        self.models = ModelSync(self, self.document)
        self.training = TrainingController(self, self.document)
        self.exporter = ExportController(self, self.document)  # File → Export model…
        self.window_actions = WindowActions(self, self.document)
        self.timeline = TimelineController(self, self.document)  # scrub back, branch a run
        self._build_docks()
        self._order_tab_keys()
        self.space_key = SpaceToTrain(self, self.training.toggle)  # Space anywhere in the window
        self.bindings = PanelBindings(self, self.document)
        self.doctor = DoctorController(self, self.document)  # health panel, LR finder
        self.sweeps = SweepController(self, self.document)  # Training → Sweep…
        self.inspector = InspectorController(self, self.document)  # Training → See the math…
        self.lessons = LessonsController(self, self.document)  # Help → Lessons
        self.document.subscribe(self._on_document_event)
        self.training_tab.png_button.clicked.connect(self.files.export_png)
        self.training_tab.csv_button.clicked.connect(self.files.export_csv)
        self.draw.drawingSaved.connect(lambda *_: self.data_panel.offer_drawings())
        self.setAcceptDrops(True)
        self._fit_to_screen()
        self.files.restore_settings()
        self.training.set_state(RunState.IDLE)
        if load_default:
            self.files.load_default_project()

    # -- what tests and tools read ----------------------------------------------------------------

    @property
    def state(self) -> RunState:
        """Idle, training or paused (equal to the strings "idle", "training", "paused")."""
        return self.document.run_state

    @property
    def session(self):
        """The running TrainingSession, or None."""
        return self.training.session

    @property
    def dataset(self):
        return self.models.dataset

    @property
    def model(self):
        return self.models.model

    @property
    def current_run(self):
        return self.document.current_run

    def open_project(self, path) -> bool:
        """Open a project file; False (and a message in the window) when it cannot be used."""
        return self.files.open_project(path)

    def offer_restore(self) -> None:
        """After a crash, offer what the autosave kept."""
        self.files.offer_restore()

    def show_message(self, text: str, level: str = "info") -> None:
        """A message above the tabs: "info", "warning" or "error"."""
        self.message_bar.show_message(text, level)

    # -- building -------------------------------------------------------------------------------

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

    def _build_panels(self) -> None:
        self.data_panel = DataPanel()
        self.hyperparameters = HyperparametersPanel()
        self.runs_panel = RunsPanel()

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
        area = Qt.DockWidgetArea
        # Scrolls rather than making the window taller than a 768-pixel-high screen.
        data_scroll = VerticalScrollArea(self.data_panel)
        self.data_dock = self._dock("dataDock", "Data", data_scroll, area.LeftDockWidgetArea)
        self.hyper_dock = self._dock(
            "hyperparametersDock", "Hyperparameters", self.hyperparameters, area.RightDockWidgetArea
        )
        self.runs_dock = self._dock("runsDock", "Runs", self.runs_panel, area.BottomDockWidgetArea)
        self.health_dock = self._dock(
            "healthDock", "Layer health", self.training_tab.health, area.BottomDockWidgetArea
        )
        # Tabbed with Runs: the health rows and warnings get the dock's height, which the
        # Training tab's plots cannot spare on a 768-pixel screen. The tab bar this adds is
        # paid for by a smaller minimum for the runs table (the dock starts 170 high anyway).
        self.tabifyDockWidget(self.runs_dock, self.health_dock)
        self.runs_dock.raise_()
        self.runs_panel.setMinimumHeight(72)
        self.data_dock.setMinimumWidth(280)
        self.hyper_dock.setMinimumWidth(310)
        self.resizeDocks([self.runs_dock], [170], Qt.Orientation.Vertical)

    def _order_tab_keys(self) -> None:
        # Tab follows each panel's rows as they show, not the order the widgets were made in.
        for panel in (
            self.data_panel,
            self.hyperparameters,
            self.runs_panel,
            self.training_tab.health,
            self.builder,
            self.training_tab,
            self.evaluation,
            self.draw,
        ):
            tab_order.follow_layout(panel)

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

    # -- following the document -----------------------------------------------------------------

    def _on_document_event(self, event: str, *args) -> None:
        if event == "file_changed":
            self.setWindowTitle(f"{self.document.name}[*] — nnstudio")
            self.setWindowModified(self.document.is_modified())
        elif event == "modified":
            self.setWindowModified(args[0])
        elif event == "run_state":
            self.state_changed.emit(args[0].value)

    # -- Qt events ------------------------------------------------------------------------------

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
            self.files.open_dropped(paths[0])

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        if not self.files.maybe_save():
            event.ignore()
            return
        self.files.stop_autosave()  # first: shutting the run down must not autosave it
        self.training.autosave_timer.stop()
        self.training.shutdown()
        self.data_panel.shutdown()  # a dataset still loading: wait for its thread
        self.evaluation.shutdown()  # and an evaluation still running
        self.draw.shutdown()  # and a fine-tune on the drawings
        self.files.save_settings()
        self.files.autosave.clear()
        super().closeEvent(event)
