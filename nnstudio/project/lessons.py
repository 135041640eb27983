"""Lessons: the curriculum as guided tasks the app checks (Qt-free).

A lesson is a JSON file in ``resources/lessons/`` (shipped, in curriculum order by file name)
or in ``<user data>/lessons/`` (a teacher's own): its text, a starting project, a task, hints,
a check declared as data (lesson_checks.py) and a solution with its explanation::

    lessons, problems = load_lessons()      # a malformed file is a problem, never a crash
    project = set_up(lessons[0])            # the starting project
    solved = apply_solution(project, lessons[0])
    passed, message = check(lessons[0], state)

The headless runner (lesson_runner.py) trains what a task needs; the window's Lessons panel
fills the same :class:`~nnstudio.project.lesson_checks.LessonState` from its document.
Progress (passed, solution shown) is kept in ``<user data>/lessons-progress.json``.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from nnstudio.atomic_file import write_atomically
from nnstudio.paths import resource_path, user_data_dir
from nnstudio.project.lesson_checks import (
    CheckError,
    LessonState,
    evaluate_check,
    needs,
    solve_confused_pair,
    validate_check,
)
from nnstudio.project.presets import load_preset
from nnstudio.project.project_data import (
    FORMAT,
    VERSION,
    Project,
    TrainingSettings,
    apply_regularization,
)
from nnstudio.project.project_file import named_data_file
from nnstudio.project.project_parse import parse_project
from nnstudio.safe_read import FileReadError, json_max_bytes, parse_json, read_bytes, shorten

PROGRESS_FILE = "lessons-progress.json"
PROGRESS_FORMAT = "nnstudio-lessons-progress"
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*$")
STEP_KEYS = {"training", "layers", "regularization", "dataset"}
_FIELDS = {"id", "title", "explanation", "start", "task", "hints", "check", "solution", "answer"}


class LessonError(ValueError):
    """A lesson file that cannot be used; the message names the file and the field."""


@dataclass
class Lesson:
    id: str
    title: str
    explanation: list[str]  # paragraphs
    start: dict  # {"preset": NAME, "project": {partial project}}
    task: str
    hints: list[str]
    check: dict
    solution: dict  # {"explanation": str, "steps": [{training, layers, regularization}]}
    answer_prompt: str | None = None  # lessons that ask a question: what the answer box says
    path: Path | None = None
    needs: set = field(default_factory=set)  # "evaluation", "weights", "answer"
    datasets: set = field(default_factory=set)  # what it works on (see lesson_datasets)

    @property
    def steps(self) -> list[dict]:
        return self.solution["steps"]


# -- loading ------------------------------------------------------------------------------------


def shipped_lessons_dir() -> Path:
    return resource_path("lessons")


def user_lessons_dir() -> Path:
    """A teacher's own lessons: same format, listed after the shipped ones."""
    return Path(user_data_dir()) / "lessons"


def load_lessons(folders: list[Path] | None = None) -> tuple[list[Lesson], list[str]]:
    """Every lesson that loads, in order (by folder, then file name), and one message per file
    that does not (naming the file and the field). Never raises for a bad file."""
    folders = [shipped_lessons_dir(), user_lessons_dir()] if folders is None else folders
    lessons: list[Lesson] = []
    problems: list[str] = []
    for folder in folders:
        for path in sorted(Path(folder).glob("*.json")) if Path(folder).is_dir() else ():
            try:
                lesson = load_lesson(path)
            except LessonError as error:
                problems.append(f"Lesson skipped: {error}")
                continue
            if any(known.id == lesson.id for known in lessons):
                problems.append(f"Lesson skipped: {path.name}: field 'id': {lesson.id!r} is taken")
                continue
            lessons.append(lesson)
    return lessons, problems


def load_lesson(path: str | Path) -> Lesson:
    path = Path(path)
    try:
        data = parse_json(read_bytes(path, "a lesson file", json_max_bytes()), str(path))
    except (FileReadError, OSError) as error:
        raise LessonError(f"{path.name}: {error}") from None
    try:
        lesson = lesson_from_dict(data)
    except (LessonError, CheckError) as error:
        raise LessonError(f"{path.name}: {error}") from None
    except (TypeError, KeyError, AttributeError, ValueError) as error:  # a check missed it
        raise LessonError(f"{path.name}: not a usable lesson ({shorten(error, 120)})") from None
    lesson.path = path
    return lesson


def _text(data: dict, name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value.strip():
        raise LessonError(f"field {name!r}: must be a text that is not empty")
    return value.strip()


def _texts(data: dict, name: str) -> list[str]:
    value = data.get(name)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise LessonError(f"field {name!r}: must be a text or a list of texts")
    return [v.strip() for v in value]


def lesson_from_dict(data) -> Lesson:
    """Validate a lesson's JSON form; LessonError names the field."""
    if not isinstance(data, dict):
        raise LessonError("the file must hold one JSON object")
    for name in sorted(set(data) - _FIELDS):
        raise LessonError(f"field {name!r}: unknown; known fields: {', '.join(sorted(_FIELDS))}")
    lesson_id = _text(data, "id")
    if not ID_PATTERN.match(lesson_id):
        raise LessonError("field 'id': use lowercase letters, digits and dashes")
    # The fields in the order a lesson file lists them: the first problem is named first.
    title = _text(data, "title")
    explanation, start = _texts(data, "explanation"), _start(data.get("start"))
    task, hints = _text(data, "task"), _texts(data, "hints")
    validate_check(data.get("check"))
    solution = _solution(data.get("solution"))
    answer = data.get("answer")
    if answer is not None and not (isinstance(answer, dict) and _text(answer, "prompt")):
        raise LessonError("field 'answer': must be an object with a 'prompt' text")
    lesson = Lesson(
        id=lesson_id,
        title=title,
        explanation=explanation,
        start=start,
        task=task,
        hints=hints,
        check=data["check"],
        solution=solution,
        answer_prompt=answer["prompt"] if answer else None,
        needs=needs(data["check"]),
    )
    if "answer" in lesson.needs and lesson.answer_prompt is None:
        raise LessonError("field 'answer': this check reads the learner's answer; add a prompt")
    apply_solution(set_up(lesson), lesson)  # a start or a step that does not build fails here
    lesson.datasets = lesson_datasets(lesson)
    return lesson


def _start(start) -> dict:
    if not isinstance(start, dict) or not set(start) <= {"preset", "project"} or not start:
        raise LessonError("field 'start': must be an object with 'preset' and/or 'project'")
    if "preset" in start and not isinstance(start["preset"], str):
        raise LessonError("field 'start.preset': must be a preset's name")
    if "project" in start and not isinstance(start["project"], dict):
        raise LessonError("field 'start.project': must be an object (part of a project file)")
    return start


def _solution(solution) -> dict:
    if not isinstance(solution, dict):
        raise LessonError("field 'solution': must be an object")
    explanation = _text(solution, "explanation")
    steps = solution.get("steps", [{k: v for k, v in solution.items() if k in STEP_KEYS}])
    if not isinstance(steps, list) or not steps:
        raise LessonError("field 'solution.steps': must be a list of changes")
    for index, step in enumerate(steps):
        where = f"solution.steps[{index}]"
        if not isinstance(step, dict) or not set(step) <= STEP_KEYS:
            raise LessonError(f"field {where!r}: may only hold {', '.join(sorted(STEP_KEYS))}")
    unknown = set(solution) - STEP_KEYS - {"explanation", "steps"}
    if unknown:
        raise LessonError(f"field 'solution.{sorted(unknown)[0]}': unknown")
    return {"explanation": explanation, "steps": steps}


# -- projects -----------------------------------------------------------------------------------


def _merge(base: dict, changes: dict) -> dict:
    """``changes`` over ``base``: objects merge key by key, anything else (lists) replaces."""
    merged = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def set_up(lesson: Lesson) -> Project:
    """The lesson's starting project: its preset (if any) with the lesson's changes."""
    if "preset" in lesson.start:
        try:
            base = load_preset(lesson.start["preset"]).to_dict()
        except ValueError as error:
            raise LessonError(f"field 'start.preset': {error}") from None
    else:
        base = {"format": FORMAT, "version": VERSION, "weights": None}
        base["name"] = lesson.id
    data = _merge(base, lesson.start.get("project", {}))
    data["name"] = f"lesson-{lesson.id}"
    data["weights"] = None
    try:
        project = parse_project(data, source=f"lesson {lesson.id}")
    except ValueError as error:
        raise LessonError(f"field 'start': {error}") from None
    _refuse_data_files(project, "start")
    return project


def _refuse_data_files(project: Project, field_name: str) -> None:
    """A lesson uses built-in datasets only: a lesson file (one a teacher shares, or dropped
    in the data folder) is not a file the learner named, so a csv:/etc/shadow in it must not
    be read."""
    if named_data_file(project.dataset.name) is not None:
        raise LessonError(
            f"field {field_name!r}: the dataset {shorten(project.dataset.name, 60)} is a file; "
            "a lesson uses nnstudio's built-in datasets (spiral, moons, mnist, ...)"
        )


def apply_step(project: Project, step: dict) -> Project:
    """One step of a solution applied to a copy of ``project``."""
    data = project.to_dict()
    if "training" in step:
        data["training"] = _merge(data["training"], step["training"])
    if "dataset" in step:
        data["dataset"] = _merge(data["dataset"], step["dataset"])
    if "layers" in step:
        data["model"]["layers"] = copy.deepcopy(step["layers"])
    if "regularization" in step:
        reg = step["regularization"]
        data["model"] = apply_regularization(data["model"], reg.get("l1", 0), reg.get("l2", 0))
    try:
        changed = parse_project(data, source="the lesson's solution")
        TrainingSettings(**vars(changed.training))
    except (ValueError, TypeError) as error:
        raise LessonError(f"field 'solution.steps': {error}") from None
    _refuse_data_files(changed, "solution.steps")
    changed.path = project.path
    return changed


def solution_projects(project: Project, lesson: Lesson) -> list[Project]:
    """The project after each step of the solution (each one is a run to train)."""
    projects = []
    for step in lesson.steps:
        project = apply_step(project, step)
        projects.append(project)
    return projects


def apply_solution(project: Project, lesson: Lesson) -> Project:
    """A copy of ``project`` with the whole solution applied (its last step's state)."""
    return solution_projects(project, lesson)[-1]


def solution_answer(lesson: Lesson, state: LessonState) -> str | None:
    """For a lesson that asks a question: the answer the state shows (None before a run)."""
    if lesson.check.get("kind") == "confused_pair":
        return solve_confused_pair(state)
    return None


def check(lesson: Lesson, state: LessonState) -> tuple[bool, str]:
    """(passed, message): whether the state meets the task, said in plain words."""
    return evaluate_check(lesson.check, state)


NOT_YOUR_WORK = (
    "The project met this check before you began: do the task on the lesson's own project "
    "(Set up opens it) and train it."
)


def lesson_datasets(lesson: Lesson) -> set[str]:
    """The datasets the lesson works on: its start's, and any its solution switches to."""
    names = {set_up(lesson).dataset.name}
    return names | {
        step["dataset"]["name"] for step in lesson.steps if "name" in step.get("dataset", {})
    }


def check_own_work(lesson: Lesson, state: LessonState, opened: Project | None) -> tuple[bool, str]:
    """:func:`check` for the learner's own work: ``state.runs`` are the runs since the lesson
    was opened or set up, ``opened`` the project as it was then. The project must be on the
    lesson's data, and a project that already met the check (the last lesson's, say) passes
    only after an edit or a run of the learner's."""
    names = lesson.datasets or lesson_datasets(lesson)
    used = {state.project.dataset.name} | {run.dataset for run in state.runs if run.dataset}
    if not used <= names:
        other = sorted(used - names)[0]
        return False, (
            f"This lesson works on the {' or '.join(sorted(names))} data, not {other}: "
            "press Set up to open its starting project."
        )
    passed, message = check(lesson, state)
    if passed and not state.runs and opened is not None and _same_work(opened, state.project):
        return False, NOT_YOUR_WORK
    return passed, message


def _same_work(before: Project, now: Project) -> bool:
    """Whether nothing a check reads changed: the network, the training, the data."""
    return (
        before.model.get("layers") == now.model.get("layers")
        and vars(before.training) == vars(now.training)
        and before.dataset == now.dataset
    )


# -- progress -----------------------------------------------------------------------------------


def progress_path() -> Path:
    return Path(user_data_dir()) / PROGRESS_FILE


def load_progress() -> dict[str, dict]:
    """lesson id -> {"passed": bool, "solution_shown": bool}; a broken file counts as none."""
    try:
        raw = read_bytes(progress_path(), "the lessons' progress", json_max_bytes())
        data = json.loads(raw)
        lessons = data["lessons"] if data.get("format") == PROGRESS_FORMAT else {}
    except (FileReadError, OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}
    return {k: v for k, v in lessons.items() if isinstance(k, str) and isinstance(v, dict)}


def record_progress(lesson_id: str, **marks) -> dict[str, dict]:
    """Merge ``marks`` (passed=True, solution_shown=True) into the lesson's progress and write
    the file atomically; returns all progress. A write that fails keeps the old file."""
    progress = load_progress()
    progress.setdefault(lesson_id, {}).update(marks)
    text = json.dumps({"format": PROGRESS_FORMAT, "version": 1, "lessons": progress}, indent=2)
    progress_path().parent.mkdir(parents=True, exist_ok=True)
    write_atomically(progress_path(), text + "\n")
    return progress
