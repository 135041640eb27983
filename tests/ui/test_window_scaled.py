"""The window at 200 % on a 3840×2160 screen (issue 32): Qt's offscreen platform is given
such a screen and QT_SCALE_FACTOR=2, in a process of its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import PROJECT_ROOT


@pytest.mark.slow
def test_the_window_at_200_percent_on_a_4k_screen(tmp_path):
    screens = {"screens": [{"name": "4k", "x": 0, "y": 0, "width": 3840, "height": 2160}]}
    config = tmp_path / "screens.json"
    config.write_text(json.dumps(screens))
    env = dict(
        os.environ,
        QT_QPA_PLATFORM=f"offscreen:configfile={config}",
        QT_SCALE_FACTOR="2",
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        NNSTUDIO_DATA_DIR=str(tmp_path / "data"),
        PYTHONPATH=str(PROJECT_ROOT),
    )
    result = subprocess.run(
        [sys.executable, "-m", "tests.ui.scaled_window_check"],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["screen"] == [1920, 1080] and report["ratio"] == 2
    width, height = report["first_launch"]
    assert width <= 1920 and height <= 1080
    assert report["problems"] == {}
