"""The package installs, reports its version and finds its resources."""

import subprocess
import sys

import nnstudio
from nnstudio.paths import icon_path


def test_version_command():
    result = subprocess.run(
        [sys.executable, "-m", "nnstudio", "--version"], capture_output=True, text=True
    )
    assert result.returncode == 0
    assert result.stdout.strip() == f"nnstudio {nnstudio.__version__}"


def test_help_command_lists_usage():
    result = subprocess.run(
        [sys.executable, "-m", "nnstudio", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0
    assert "usage: nnstudio" in result.stdout


def test_icon_is_shipped_inside_the_package():
    assert icon_path().is_file()
    assert icon_path(size=256).is_file()
