"""``nnstudio lessons``: the lessons headless.

    nnstudio lessons [--json]                          list them: id and title
    nnstudio lessons check ID [--solution] [--json]    set up, train, check

``check`` sets the lesson up, applies its solution with ``--solution``, trains what the task
needs (project/lesson_runner.py, the engine's fit loop as ``nnstudio train`` uses it) and
prints whether the check passed: ``{"passed": true, "message": "..."}`` with ``--json``. The
exit code is 0 whenever the check ran, passed or not; 2 for an unknown lesson or bad input.
Lesson files that do not load are named on stderr and left out.
"""

from __future__ import annotations

import argparse
import json
import sys

EXIT_OK, EXIT_BAD_INPUT = 0, 2


def add_parser(commands, common) -> None:
    """The ``lessons`` sub-command (called by cli/main.py's build_parser)."""
    parser = commands.add_parser(
        "lessons",
        prog="nnstudio lessons",
        parents=[common],
        help="list the lessons, or check one headless",
        description="Without arguments, list the lessons (id and title). 'check ID' sets the "
        "lesson up, trains what its task needs and says whether its check passes; with "
        "--solution it applies the lesson's own solution first.",
    )
    parser.add_argument("action", nargs="?", choices=("check",), help="check one lesson")
    parser.add_argument("lesson_id", nargs="?", metavar="ID", help="the lesson to check")
    parser.add_argument(
        "--solution", action="store_true", help="apply the lesson's solution before training"
    )
    parser.add_argument(
        "--download", action="store_true", help="download MNIST when a lesson needs it"
    )
    parser.add_argument("--json", action="store_true", help="print JSON, nothing else")


def _loaded():
    from nnstudio.project.lessons import load_lessons

    lessons, problems = load_lessons()
    for problem in problems:
        print(f"nnstudio: {problem}", file=sys.stderr)
    return lessons


def _list(lessons, as_json: bool) -> int:
    if as_json:
        print(json.dumps([{"id": lesson.id, "title": lesson.title} for lesson in lessons]))
        return EXIT_OK
    width = max((len(lesson.id) for lesson in lessons), default=0)
    for number, lesson in enumerate(lessons, 1):
        print(f"{number:2d}. {lesson.id:<{width}}  {lesson.title}")
    return EXIT_OK


def _check(lessons, args: argparse.Namespace) -> int:
    from nnstudio.project.lesson_runner import run_check

    if not args.lesson_id:
        print("nnstudio: error: name the lesson: nnstudio lessons check ID", file=sys.stderr)
        return EXIT_BAD_INPUT
    lesson = next((lesson for lesson in lessons if lesson.id == args.lesson_id), None)
    if lesson is None:
        known = ", ".join(lesson.id for lesson in lessons)
        print(f"nnstudio: error: no lesson {args.lesson_id!r}; known: {known}", file=sys.stderr)
        return EXIT_BAD_INPUT
    passed, message = run_check(lesson, solution=args.solution, download=args.download)
    if args.json:
        print(json.dumps({"passed": passed, "message": message}))
    else:
        print(f"{lesson.id}: {'passed' if passed else 'not passed yet'}\n{message}")
    return EXIT_OK


def run_lessons(args: argparse.Namespace) -> int:
    lessons = _loaded()
    if args.action == "check":
        return _check(lessons, args)
    if args.lesson_id:
        print("nnstudio: error: to check a lesson: nnstudio lessons check ID", file=sys.stderr)
        return EXIT_BAD_INPUT
    return _list(lessons, args.json)
