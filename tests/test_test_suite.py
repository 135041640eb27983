"""The test suite's own rules (tests/conftest.py): slow tests only with CI=true, and a hung
test ends with every thread's stack instead of holding the run."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

SAMPLE_TESTS = """
import threading

import pytest


def test_quick():
    assert True


@pytest.mark.slow
def test_slow():
    assert True


def test_hangs():
    threading.Event().wait()  # nothing will ever set it
"""


def run_suite(folder: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """pytest on ``folder`` with this suite's conftest, in a process of its own."""
    environment = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_XDIST_WORKER")}
    environment.update(env)
    command = [sys.executable, "-m", "pytest", "-p", "no:xdist", "-p", "no:cacheprovider", *args]
    return subprocess.run(
        command, cwd=folder, env=environment, capture_output=True, text=True, timeout=120
    )


def sample_suite(tmp_path: Path) -> Path:
    folder = tmp_path / "suite"
    folder.mkdir()
    shutil.copy(HERE / "conftest.py", folder / "conftest.py")
    (folder / "test_sample.py").write_text(SAMPLE_TESTS)
    return folder


def test_slow_tests_are_left_out_by_default_and_run_when_ci_is_true(tmp_path):
    folder = sample_suite(tmp_path)
    default = run_suite(folder, "-k", "not hangs")
    assert "1 passed, 2 deselected" in default.stdout, default.stdout
    ci = run_suite(folder, "-k", "not hangs", CI="true")
    assert "2 passed, 1 deselected" in ci.stdout, ci.stdout


def test_a_hung_test_fails_with_every_threads_stack(tmp_path):
    folder = sample_suite(tmp_path)
    result = run_suite(folder, "-k", "hangs", NNSTUDIO_TEST_HANG_SECONDS="1")
    assert result.returncode != 0
    assert "Timeout (0:00:01)!" in result.stderr, result.stderr
    assert "in test_hangs" in result.stderr  # the hung test's own frame, where it waits
