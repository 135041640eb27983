"""Running a lesson headless: train what its task needs, then check it (Qt-free).

``nnstudio lessons check ID`` and the tests use this. Each run goes through the engine's one
fit loop with the project's own helpers, the way ``nnstudio train`` runs a project: the
project builds the dataset, model, loss, optimizer and fit configuration, validation uses the
dataset's validation split unless the project asks for its own, and the training doctor adds
its health numbers to each epoch as it does there.

>>> from nnstudio.project.lessons import load_lessons
>>> lessons, _ = load_lessons()
>>> run_check(lessons[0], solution=True)[0]
True
"""

from __future__ import annotations

import copy

from nnstudio.project.lesson_checks import LessonState, RunRecord, weight_spread
from nnstudio.project.lessons import Lesson, check, set_up, solution_answer, solution_projects
from nnstudio.project.project_data import Project


def evaluation_report(model, loss, dataset) -> dict:
    """The test-split report the Evaluate tab shows (confusion matrix, per-class precision,
    recall and F1, or RMSE for regression), with the class names."""
    from nnstudio.project.evaluation import check_fits, evaluate, evaluation_split

    _, x, y = evaluation_split(dataset)
    check_fits(model, loss, dataset)
    classes = dataset.n_classes if dataset.task == "classification" else None
    report = evaluate(model, loss, x, y, class_names=dataset.class_names, n_classes=classes)
    report = dict(report["report"])
    report["class_names"] = list(dataset.class_names or [])
    return report


class _Datasets:
    """Datasets loaded once per lesson: the steps of a solution often share one."""

    def __init__(self, download: bool = False):
        self.download = download
        self._loaded: dict[str, object] = {}

    def get(self, project: Project):
        import json

        key = json.dumps([project.dataset_name(), project.dataset.options, project.training.seed])
        if key not in self._loaded:
            self._loaded[key] = project.load_dataset(download=self.download)
        return self._loaded[key]


def train_project(project: Project, dataset) -> tuple[RunRecord, object]:
    """One run of ``project`` from fresh weights: (its record, the trained model)."""
    from nnstudio.engine.blas import single_threaded_blas
    from nnstudio.project.doctor import TrainingDoctor

    model = project.build_model(dataset)
    # One BLAS thread: the lessons' networks are small, and on a machine that is busy with
    # other work a second thread's spin-waits made a toy lesson 8x and the MNIST lesson 6x
    # slower (9 s instead of 1 s; 60 s instead of 9 s), while alone it gains little.
    with single_threaded_blas():
        result = project.fit(model, dataset, callbacks=[TrainingDoctor()])
    record = RunRecord(
        history=result.history,
        status=result.stopped_reason,
        settings=copy.deepcopy(vars(project.training)),
        model_config=copy.deepcopy(project.model),
        weight_spread=weight_spread(model.parameters()),
        dataset=project.dataset.name,
        dataset_options=copy.deepcopy(dataset.options),
    )
    return record, model


def run_lesson(lesson: Lesson, solution: bool = False, download: bool = False) -> LessonState:
    """Set the lesson up, apply its solution when asked, train each run the task needs (one,
    or one per solution step) and return the state a check reads. ``download``: fetch MNIST
    when a lesson needs it and it is not on this computer."""
    start = set_up(lesson)
    projects = solution_projects(start, lesson) if solution else [start]
    datasets = _Datasets(download)
    state = LessonState(projects[-1])
    model = dataset = None
    for project in projects:
        dataset = datasets.get(project)
        record, model = train_project(project, dataset)
        state.runs.append(record)
    if "evaluation" in lesson.needs and model is not None:
        state.evaluation = evaluation_report(model, projects[-1].make_loss(), dataset)
    if solution:
        state.answer = solution_answer(lesson, state)
    return state


def run_check(lesson: Lesson, solution: bool = False, download: bool = False) -> tuple[bool, str]:
    """What ``nnstudio lessons check ID [--solution]`` prints: (passed, message)."""
    return check(lesson, run_lesson(lesson, solution, download))
