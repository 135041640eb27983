"""LessonsController: Help → Lessons, the Lessons dock bound to the project document.

The lessons themselves and their checks are Qt-free (project/lessons.py, lesson_checks.py).
This controller fills a :class:`LessonState` from the window: the document's project, a copy
of every run as it finishes (with the trained weights' spread and, when the lesson asks, the
test-split evaluation of the model), and the answer typed in the panel. It checks again on
the document's events: a run finished, the settings, the model or the dataset changed.

Only the learner's own work counts: opening a lesson (or setting it up) starts its record
afresh — runs finished before do not count, and the project as it was then is kept, so a
project that already met the check (the previous lesson's) does not tick the new one.

Runs are copied when they finish rather than read from the document later: training a run
again after a blow-up continues that same run, and the blow-up is part of what a lesson about
learning rates checks.
"""

from __future__ import annotations

import copy
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget

from nnstudio.paths import user_data_dir
from nnstudio.project import lessons as lesson_files
from nnstudio.project.lesson_checks import LessonState, RunRecord, weight_spread
from nnstudio.project.project_file import save_project
from nnstudio.ui.panels.lessons import LessonsPanel
from nnstudio.ui.window import dock_layout

WORK_FOLDER = "lesson-projects"  # the starting projects the window opens, one per lesson
#: A lesson passed earlier and opened again starts afresh; its ✓ in the list stays.
PASSED_BEFORE = "(You passed this lesson before: this is a fresh try.)"


class LessonsController:
    def __init__(self, window, document, *, training, models):
        self.window = window
        self.document = document
        self.training, self.models = training, models  # whether a run goes on; its model
        self._lessons = None  # read when first needed: see lessons
        self.progress: dict = {}
        self.lesson = None
        self.opened = None  # the project when the lesson was opened or set up
        self._running_at_open = None  # a run that began before: not the learner's lesson work
        self.runs: list[RunRecord] = []
        self.evaluation: dict | None = None
        self.answer = ""
        self.panel = LessonsPanel()
        self._build_dock()
        self._connect()
        events = document.events
        events.run_updated.connect(self._on_run_updated)
        for changed in (events.training_changed, events.model_changed, events.dataset_changed):
            changed.connect(self.recheck)
        events.project_loaded.connect(self.recheck)

    @property
    def lessons(self) -> list:
        """The shipped lessons, read (with the learner's progress) the first time they are
        needed, when the Lessons dock opens or a lesson is chosen: reading and checking
        twenty lessons is not something the window's first frame should wait for."""
        if self._lessons is None:
            self._lessons, problems = lesson_files.load_lessons()
            self.progress = lesson_files.load_progress()
            self.panel.set_lessons(self._lessons, self.progress, problems)
        return self._lessons

    def _build_dock(self) -> None:
        window = self.window
        self.dock = QDockWidget("Lessons", window)
        self.dock.setObjectName("lessonsDock")
        self.dock.setWidget(self.panel)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        # Hidden until Help → Lessons, and tabbed with Hyperparameters only then: a hidden
        # dock in a tab group left Qt's tab bar of the group on screen, over the tabs.
        self.dock.hide()
        dock_layout.bring_forward_on_toggle(self.dock, place=self._beside_hyperparameters)
        # Shown another way too (View → Lessons, or the window's restored layout): never
        # empty. Tabbed behind another dock it reports "not visible", so any change will do.
        self.dock.visibilityChanged.connect(lambda _visible: self._choose_a_lesson())
        window.view_menu.addAction(self.dock.toggleViewAction())
        window.actionLessons = action = QAction("&Lessons", window)
        action.setObjectName("actionLessons")
        action.setStatusTip("Guided tasks from layers to MNIST, checked as you work")
        action.triggered.connect(self.open)
        window.help_menu.insertAction(window.help_menu.actions()[0], action)

    def _connect(self) -> None:
        panel = self.panel
        panel.lesson_selected.connect(self.select)
        panel.set_up_requested.connect(lambda _id: self.set_up())
        panel.solution_requested.connect(lambda _id: self.show_solution())
        panel.answer_changed.connect(self._on_answer)

    # -- commands -------------------------------------------------------------------------------

    def open(self) -> None:
        """Help → Lessons: show the dock, on the first lesson not passed yet."""
        self._beside_hyperparameters()
        self.dock.raise_()
        self._choose_a_lesson()

    def _beside_hyperparameters(self) -> None:
        window = self.window
        if self.dock not in window.tabifiedDockWidgets(window.hyper_dock):
            window.tabifyDockWidget(window.hyper_dock, self.dock)
        self.dock.show()

    def _choose_a_lesson(self) -> None:
        """With no lesson chosen yet, the first one not passed (or the first of all)."""
        if self.lesson is None and self.lessons:
            todo = [l for l in self.lessons if not self.progress.get(l.id, {}).get("passed")]
            self.panel.select((todo or self.lessons)[0].id)

    def select(self, lesson_id: str) -> None:
        self.lesson = next(lesson for lesson in self.lessons if lesson.id == lesson_id)
        self.answer = ""
        self._start_afresh()
        self.panel.show_lesson(self.lesson)
        self.recheck()

    def _start_afresh(self) -> None:
        """From now on: the runs that finish, the edits made (see the module's docstring)."""
        self.runs, self.evaluation = [], None
        self.opened = self.document.to_project()
        running = self.document.current_run
        self._running_at_open = running if self.training.session is not None else None

    def set_up(self) -> bool:
        """Open the lesson's starting project the way File → Open does (it is written to the
        user's data folder first, so Save keeps the learner's work on it)."""
        lesson, files = self.lesson, self.window.files
        if lesson is None or not files.maybe_save():
            return False
        path = _work_path(lesson)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            save_project(lesson_files.set_up(lesson), path)
        except (OSError, ValueError) as error:
            self.window.show_message(f"Could not set up the lesson: {error}", "error")
            return False
        if not self.window.open_project(path):
            return False
        self._start_afresh()  # runs before the set-up belong to other work
        self._record(started=True)
        self.recheck()
        return True

    def show_solution(self) -> None:
        """Apply the solution to the open project (its settings and layers) and explain it;
        on a project that is not the lesson's, Set up opens the lesson's first."""
        lesson, document = self.lesson, self.document
        if lesson is None:
            return
        if not self._on_the_lessons_data() and not self.set_up():
            return  # the learner kept the open project (Cancel when asked to save it)
        solved = lesson_files.apply_solution(document.to_project(), lesson)
        document.set_training(solved.training)
        document.set_model(solved.model)
        document.set_dataset(solved.dataset)
        text = lesson.solution["explanation"]
        answer = lesson_files.solution_answer(lesson, self.state())
        if lesson.answer_prompt and answer:
            self.panel.set_answer(answer)
        elif lesson.answer_prompt:
            text += " Train first: then Show me reads the answer from the run's matrix."
        elif len(lesson.steps) > 1:
            text += " (Show me set the last of these; train a run for each.)"
        else:
            text += " Press Train to see it work."
        self.panel.show_solution(text)
        self._record(solution_shown=True)
        self.recheck()

    def _on_the_lessons_data(self) -> bool:
        """Whether the open project is the lesson's (Set up opened it) or on its data: the
        solution's layers are made for that data. Lesson 1's Dense(2), for its 2-arm spiral,
        on the first launch's 3-arm spiral left a network that cannot train."""
        if self.document.path == _work_path(self.lesson):
            return True
        return self.document.to_project().dataset == lesson_files.set_up(self.lesson).dataset

    # -- the check ------------------------------------------------------------------------------

    def state(self) -> LessonState:
        return LessonState(
            self.document.to_project(), list(self.runs), self.evaluation, self.answer
        )

    def recheck(self) -> tuple[bool, str] | None:
        if self.lesson is None:
            return None
        passed, message = lesson_files.check_own_work(self.lesson, self.state(), self.opened)
        passed_before = self.progress.get(self.lesson.id, {}).get("passed")
        if passed and not passed_before:
            self._record(passed=True)
        shown = message if passed or not passed_before else f"{PASSED_BEFORE} {message}"
        self.panel.set_check(passed, shown)
        return passed, message

    def _record(self, **marks) -> None:
        try:
            self.progress = lesson_files.record_progress(self.lesson.id, **marks)
        except OSError as error:  # a read-only data folder: the lesson still works
            self.window.statusBar().showMessage(f"Lesson progress not saved: {error}", 6000)
            self.progress.setdefault(self.lesson.id, {}).update(marks)
        self.panel.set_lessons(self.lessons, self.progress)

    def _on_answer(self, text: str) -> None:
        self.answer = text
        self.recheck()

    def _on_run_updated(self, run) -> None:
        if run.status not in ("training", "paused"):
            self._run_finished(run)

    def _run_finished(self, run) -> None:
        """A copy of the run as it ended, with what the checks read from its model. The
        session has ended by now, so the model is the window's again."""
        if run is self._running_at_open:  # started before the lesson was opened
            self._running_at_open = None
            return
        model, dataset = self.models.model, self.models.dataset
        spread = weight_spread(model.parameters()) if model is not None else None
        options = dataset.options if dataset is not None else None
        self.runs.append(_record_of(run, spread, options))
        if self.lesson is not None and "evaluation" in self.lesson.needs:
            self.evaluation = self._evaluate(model, dataset)
        self.recheck()

    def record_trial(self, run, dataset_options: dict) -> None:
        """A sweep's trial, added to the document as a finished run: a search's runs count
        like the learner's own (its weights stay in the sweep's worker: no spread)."""
        if self.lesson is None:
            return
        self.runs.append(_record_of(run, None, dataset_options))
        self.recheck()

    def _evaluate(self, model, dataset) -> dict | None:
        from nnstudio.project.lesson_runner import evaluation_report

        if model is None or dataset is None:
            return None
        try:
            return evaluation_report(model, self.document.training.loss, dataset)
        except ValueError:  # a model that does not fit the data: no report to read
            return None


def _work_path(lesson) -> Path:
    """Where Set up writes the lesson's starting project (Save keeps the learner's work)."""
    return Path(user_data_dir()) / WORK_FOLDER / f"{lesson.id}.nnsproj"


def _record_of(run, spread: float | None, dataset_options: dict | None) -> RunRecord:
    """A copy of the document's ``run`` as a check reads it, with its weights' spread and the
    options its data was loaded with (the split, the scaling)."""
    return RunRecord(
        copy.deepcopy(run.history),
        run.status,
        copy.deepcopy(run.settings),
        copy.deepcopy(run.model_config),
        spread,
        run.dataset,
        copy.deepcopy(dataset_options),
    )
