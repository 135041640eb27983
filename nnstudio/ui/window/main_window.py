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

from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QDockWidget,
    QMainWindow,
    QTabBar,
    QVBoxLayout,
    QWidget,
)

from nnstudio.project.document import ProjectDocument, RunState
from nnstudio.ui.builder import QtModelBuilder
from nnstudio.ui.panels.data_panel import DataPanel
from nnstudio.ui.panels.health import HealthPanel
from nnstudio.ui.panels.hyperparameters import HyperparametersPanel
from nnstudio.ui.panels.runs import RunsPanel
from nnstudio.ui.widgets import tab_order
from nnstudio.ui.widgets.message_bar import MessageBar
from nnstudio.ui.widgets.page_tabs import ScrollingTabWidget
from nnstudio.ui.widgets.scroll_area import VerticalScrollArea
from nnstudio.ui.widgets.wheel_guard import guard_wheel
from nnstudio.ui.window import dock_layout, shortcut_keys
from nnstudio.ui.window.actions import WindowActions
from nnstudio.ui.window.activations import ActivationController
from nnstudio.ui.window.bindings import PanelBindings
from nnstudio.ui.window.doctor import DoctorController
from nnstudio.ui.window.export import ExportController
from nnstudio.ui.window.feature_maps import FeatureMapsController
from nnstudio.ui.window.files import FileController
from nnstudio.ui.window.inspector import InspectorController
from nnstudio.ui.window.keys import SpaceToTrain
from nnstudio.ui.window.landscape import LandscapeController
from nnstudio.ui.window.lessons import LessonsController
from nnstudio.ui.window.model_sync import ModelSync
from nnstudio.ui.window.status import StatusView
from nnstudio.ui.window.sweeps import SweepController
from nnstudio.ui.window.timeline import TimelineController
from nnstudio.ui.window.training import TrainingController
from nnstudio.ui.window.warped_space import WarpedSpaceController

TITLE_BAR_ROOM = 32  # pixels: a window manager's title bar, outside the size the window sets
# The tabs in order. The Model tab shows first; the other pages (their plots and the modules
# behind them, pyqtgraph's among them) are made when the tab is opened or the page is asked
# for, so the window opens sooner.
PAGES = ("model", "training", "evaluation", "draw")


class MainWindow(QMainWindow):
    """The nnstudio window. Built without being shown; call ``show()`` to display it."""

    state_changed = Signal(str)
    # ``object``: the result dict as it is. A ``dict`` signal converts it to a QVariantMap
    # and back, which silently drops keys that are not strings.
    training_finished = Signal(object)

    def __init__(self, parent=None, *, load_default: bool = True):
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.document = ProjectDocument()
        self._build_central()
        self._build_panels()
        self.status = StatusView(self, self.document)
        self.files = FileController(self, self.document)
        self.models = ModelSync(self, self.document)
        self.training = TrainingController(
            self, self.document, models=self.models, status=self.status, files=self.files
        )
        self.models.connect_training(self.training)
        self.status.follow(self.training, self.models)
        self.exporter = ExportController(  # File → Export model…
            self,
            self.document,
            training=self.training,
            models=self.models,
            model_files=self.files.models,
        )
        self.window_actions = WindowActions(
            self, self.document, training=self.training, status=self.status
        )
        self.timeline = TimelineController(  # scrub back, branch a run
            self, self.document, training=self.training, models=self.models
        )
        self.training.connect_views(self.timeline, self.actionTrain, self.toolbar_batch)
        self.files.connect_parts(
            training=self.training,
            model_sync=self.models,
            timeline=self.timeline,
            exporter=self.exporter,
        )
        self._build_docks()
        self._order_tab_keys()
        self.space_key = SpaceToTrain(self, self.training.toggle)  # Space anywhere in the window
        self.bindings = PanelBindings(self, self.document)
        self.doctor = DoctorController(  # health panel, LR finder
            self, self.document, training=self.training, models=self.models
        )
        self.sweeps = SweepController(self, self.document)  # Training → Sweep…
        self.inspector = InspectorController(  # Training → See the math…
            self, self.document, training=self.training, models=self.models
        )
        self.landscape = LandscapeController(  # Training → Loss landscape…
            self, self.document, self.inspector
        )
        self.activations = ActivationController(self, self.inspector)  # … → Activation functions…
        self.warped_space = WarpedSpaceController(self, self.inspector)  # … → Warped input space…
        self.feature_maps = FeatureMapsController(self, self.inspector)  # … → Feature maps…
        self.training.watch_live_weights(self.feature_maps.shows_live_weights)
        self.lessons = LessonsController(  # Help → Lessons
            self, self.document, training=self.training, models=self.models
        )
        self.sweeps.connect_lessons(self.lessons)
        self._build_view_actions()
        shortcut_keys.assign_shortcuts(self)  # a key for every menu and toolbar command
        guard_wheel(self)  # scrolling a panel never changes a field it passes over
        events = self.document.events
        events.file_changed.connect(self._show_file_name)
        events.modified.connect(self.setWindowModified)
        events.run_state.connect(lambda state: self.state_changed.emit(state.value))
        events.project_loaded.connect(self._show_empty_project)
        self.setAcceptDrops(True)
        self._fit_to_screen()
        self._check_restored_layout = self.files.restore_settings()  # on the first show
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

    @property
    def training_tab(self):
        """The Training tab's page (made now, if it was not yet)."""
        return self.tabs.widget(PAGES.index("training"))

    @property
    def evaluation(self):
        """The Evaluate tab's page (made now, if it was not yet)."""
        return self.tabs.widget(PAGES.index("evaluation"))

    @property
    def draw(self):
        """The Draw tab's page (made now, if it was not yet)."""
        return self.tabs.widget(PAGES.index("draw"))

    def built_page(self, name: str):
        """The page ``name`` ("training", "evaluation", "draw") if it was made, else None:
        what only changes a page that exists need not make it."""
        index = PAGES.index(name)
        return self.tabs.widget(index) if self.tabs.is_built(index) else None

    def when_page_built(self, name: str, callback) -> None:
        """Call ``callback(page)`` once the page ``name`` is made (now, if it is)."""
        self.tabs.when_built(PAGES.index(name), callback)

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
        self.tabs = ScrollingTabWidget()  # a page larger than the window scrolls
        self.tabs.setObjectName("mainTabs")
        self.tabs.setDocumentMode(True)
        # Every tab's name in view: the tabs are never narrower than their four names.
        self.tabs.tabBar().setUsesScrollButtons(False)
        self.builder = QtModelBuilder()
        self.tabs.setTabToolTip(
            self.tabs.addTab(self.builder, "Model"), "Build the network from layers"
        )
        for make_page, title, tip in (
            (self._make_training_tab, "Training", "Live curves, decision boundary, weights"),
            (self._make_evaluation, "Evaluate", "Metrics and mistakes on the test split"),
            (self._make_draw, "Draw", "Draw a digit for the model to read"),
        ):
            self.tabs.setTabToolTip(self.tabs.add_lazy_tab(make_page, title), tip)
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
        self.health_panel = HealthPanel()  # the Training tab's, in a dock of its own

    def _make_training_tab(self):
        from nnstudio.ui.plots.training_tab import TrainingTab

        tab = TrainingTab(health=self.health_panel)
        tab.png_button.clicked.connect(self.files.export_png)
        tab.csv_button.clicked.connect(self.files.export_csv)
        return self._ready_page(tab)

    def _make_evaluation(self):
        from nnstudio.ui.panels.evaluation import EvaluationPanel

        return self._ready_page(EvaluationPanel())

    def _make_draw(self):
        from nnstudio.ui.draw.draw_panel import DrawPanel

        page = DrawPanel()
        page.drawingSaved.connect(lambda *_: self.data_panel.offer_drawings())
        return self._ready_page(page)

    @staticmethod
    def _ready_page(page):
        """What every page gets: Tab in reading order, and a wheel that scrolls past fields."""
        tab_order.follow_layout(page)
        guard_wheel(page)
        return page

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
        dock_layout.bring_forward_on_toggle(dock)  # behind another tab, its key brings it forward
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
            "healthDock", "Layer health", self.health_panel, area.BottomDockWidgetArea
        )
        for dock, panel in (
            (self.runs_dock, self.runs_panel),
            (self.health_dock, self.health_panel),
        ):
            dock_layout.lay_out_for_area(dock, panel)
        dock_layout.arrange_docks(self, dock_layout.WIDE)

    def _build_view_actions(self) -> None:
        """View → each tab (Ctrl+1 to Ctrl+4), and the docks arranged for this screen."""
        menu = self.view_menu
        menu.addSeparator()
        for index, name in enumerate(("Model", "Training", "Evaluate", "Draw")):
            action = QAction(f"{name} tab", self, objectName=f"actionShow{name}Tab")
            action.triggered.connect(lambda _=False, i=index: self.tabs.setCurrentIndex(i))
            menu.addAction(action)
        menu.addSeparator()
        self.actionArrangeDocks = QAction(
            "Arrange docks for this screen", self, objectName="actionArrangeDocks"
        )
        self.actionArrangeDocks.setToolTip("Put the docks back where they fit this screen best")
        self.actionArrangeDocks.triggered.connect(self.arrange_docks_for_screen)
        menu.addAction(self.actionArrangeDocks)

    def arrange_docks_for_screen(self) -> None:
        """View → Arrange docks for this screen: the first-launch arrangement for the screen
        the window is on."""
        dock_layout.arrange_docks(self, dock_layout.arrangement_for(self._screen_room()))

    def _screen_room(self) -> QSize:
        screen = self.screen() or QGuiApplication.primaryScreen()
        return screen.availableGeometry().size() if screen is not None else QSize(1400, 880)

    def _fit_restored_layout(self) -> None:
        """A dock layout saved on a larger screen can leave the tabs too little room on this
        one (at 1024×600 the Training page scrolled sideways between docks sized for 1920):
        then the docks take this screen's arrangement, as on a first launch, and the message
        bar says so. A saved layout that fits, or that this screen's arrangement would not
        improve, stays exactly as it was saved."""
        room = self._screen_room() - QSize(0, TITLE_BAR_ROOM)
        lacking = self._pixels_lacking(room)
        if lacking == 0:
            return
        saved, size = self.saveState(), self.size()
        self.arrange_docks_for_screen()
        self.resize(size.boundedTo(room).expandedTo(self.minimumSizeHint()))
        if self._pixels_lacking(room) >= lacking:
            self.restoreState(saved)
            self.resize(size)
            return
        key = self.actionArrangeDocks.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        self.message_bar.show_message(  # kept when the first dataset arrives
            f"Docks re-arranged: the saved layout did not fit this screen ({key} does this).",
            until_acted=True,
        )

    def _pixels_lacking(self, room: QSize) -> int:
        """How many pixels the window, laid out as it is now, lacks on a screen with ``room``:
        what its smallest size is beyond it, and what its pages miss (they scroll)."""
        self.layout().activate()
        beyond = (self.minimumSizeHint() - room).expandedTo(QSize(0, 0))
        missing = self.tabs.shortfall()
        return beyond.width() + beyond.height() + missing.width() + missing.height()

    def _order_tab_keys(self) -> None:
        # Tab follows each panel's rows as they show, not the order the widgets were made in.
        # (The pages made later get theirs when they are made: _ready_page.)
        for panel in (
            self.data_panel,
            self.hyperparameters,
            self.runs_panel,
            self.health_panel,
            self.builder,
        ):
            tab_order.follow_layout(panel)

    def _fit_to_screen(self) -> None:
        """The first launch: docks arranged for the screen, and a roomy window never larger
        than the screen. Saved geometry and dock state, when there are some, win."""
        room = self._screen_room()
        arrangement = dock_layout.arrangement_for(room)
        dock_layout.arrange_docks(self, arrangement)
        size = QSize(1400, 880).boundedTo(
            QSize(int(room.width() * 0.95), int(room.height() * 0.92))
        )
        if arrangement == dock_layout.ONE_COLUMN:
            # A small screen: all of it, less the title bar the window manager adds above.
            size = QSize(room.width(), room.height() - TITLE_BAR_ROOM)
        self.resize(size.expandedTo(self.minimumSizeHint()))

    # -- following the document -----------------------------------------------------------------

    def _show_file_name(self) -> None:
        self.setWindowTitle(f"{self.document.name}[*] — nnstudio")
        self.setWindowModified(self.document.is_modified())

    def _show_empty_project(self) -> None:
        """Another project replaced the document: no view keeps anything of the previous
        one (its curves, bars, health rows, evaluation, tuned digit model), issue 31. The
        runs panel, the overlays and the timeline follow the document's runs themselves."""
        self.training.new_run_view()
        if (training_tab := self.built_page("training")) is not None:
            training_tab.new_project()
        if (evaluation := self.built_page("evaluation")) is not None:
            evaluation.clear()
        if (draw := self.built_page("draw")) is not None:
            draw.forget_tuned_model()
            draw.set_current_model(None)  # until the new project's model is built

    # -- Qt events ------------------------------------------------------------------------------

    def childEvent(self, event) -> None:  # noqa: N802 - Qt override
        # The tab bars of tabbed docks are made by Qt whenever docks are tabbed together.
        if event.type() == QEvent.Type.ChildPolished and isinstance(event.child(), QTabBar):
            dock_layout.show_dock_tabs_whole(event.child())
        super().childEvent(event)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if self._check_restored_layout:  # laid out on its screen now, not yet painted
            self._check_restored_layout = False
            self._fit_restored_layout()
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
        for name in ("evaluation", "draw"):  # an evaluation, a fine-tune still running
            if (page := self.built_page(name)) is not None:
                page.shutdown()
        self.files.save_settings()
        self.files.autosave.clear()
        super().closeEvent(event)
