"""Run ``nnstudio`` in-process and check the command line's contract for hostile input."""

from __future__ import annotations

import io
import warnings
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str


def run_cli(argv: list[str]) -> Result:
    """``main(argv)`` with its output captured; any warning counts as an error (a leaked
    RuntimeWarning is a defect of the command line, so it must surface as exit 1 here)."""
    from nnstudio.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with warnings.catch_warnings(), redirect_stdout(out), redirect_stderr(err):
        warnings.simplefilter("error")
        code = main([str(arg) for arg in argv])
    return Result(code, out.getvalue(), err.getvalue())


def check_contract(result: Result, allowed=frozenset({0, 2}), what: str = "") -> None:
    """Exit 0, or exit 2 with exactly one line on stderr; never exit 1 or a traceback."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    context = f"{what}: exit {result.code}, stderr {result.stderr[:500]!r}"
    assert result.code in allowed, context
    assert "Traceback" not in result.stderr, context
    if result.code == 2:
        assert len(lines) == 1, context
        assert len(lines[0]) <= 500, context
        assert lines[0].startswith("nnstudio"), context


def note_outcome(result: Result, label: str = "") -> None:
    """Record the exit code in hypothesis's statistics (--hypothesis-show-statistics)."""
    from hypothesis import event

    event(f"{label} exit {result.code}")
