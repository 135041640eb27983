"""The window is on screen soon after launch.

    NNSTUDIO_BENCH=1 pytest tests/benchmarks/bench_startup.py -s

Goal (issue 39): the real app, started as `python -m nnstudio` under its own Xvfb, paints
its first frame at most 0.8 s after launch (the median of 5 starts). The app prints that
moment when $NNSTUDIO_STARTUP_CLOCK holds the launcher's clock (nnstudio.ui.app). One
start before the five writes the bytecode (as an installed copy has it) and is not counted.
Each start has fresh settings and data folders, as on a first launch. Skipped without Xvfb.
"""

from __future__ import annotations

import os
import select
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.benchmark

STARTS = 5
GOAL_SECONDS = 0.8
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def display():
    """A display of our own: ``Xvfb -displayfd`` picks a free number and says which."""
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed")
    with subprocess.Popen(
        ["Xvfb", "-displayfd", "1", "-screen", "0", "1366x768x24", "-nolisten", "tcp"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as server:
        try:
            number = _read_line(server.stdout, 10.0).strip()
            if not number.isdigit():
                pytest.skip("Xvfb did not start")
            yield f":{number}"
        finally:
            server.terminate()


def _read_line(stream, timeout: float) -> str:
    ready, _, _ = select.select([stream], [], [], timeout)
    return stream.readline() if ready else ""


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (Linux), or NaN."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def launch_until_first_frame(env: dict, home: Path) -> tuple[str, float]:
    """Launch the app (settings and data in ``home``, the clock set now); its first line of
    output, the first-frame report, and its CPU seconds by then. The app is then closed."""
    env = dict(env, XDG_CONFIG_HOME=str(home / "config"), NNSTUDIO_DATA_DIR=str(home / "data"))
    env["NNSTUDIO_STARTUP_CLOCK"] = repr(time.time())
    with subprocess.Popen(
        [sys.executable, "-m", "nnstudio"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as app:
        try:
            return _read_line(app.stdout, 60.0), _cpu_seconds(app.pid)
        finally:
            app.terminate()


def start_once(env: dict, home: Path) -> tuple[float, float]:
    """Launch the app; (seconds to its first frame, its CPU seconds by then)."""
    line, cpu = launch_until_first_frame(env, home)
    assert line.startswith("nnstudio: first frame after"), f"no first frame reported: {line!r}"
    return float(line.split()[-2]), cpu


def test_window_first_frame_within_goal(display, tmp_path):
    env = dict(os.environ, DISPLAY=display, QT_QPA_PLATFORM="xcb")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(tmp_path / "bytecode")  # written by the first start
    start_once(env, tmp_path / "start-0")
    results = [start_once(env, tmp_path / f"start-{n}") for n in range(1, STARTS + 1)]
    seconds = [wall for wall, _cpu in results]
    median = statistics.median(seconds)
    print(f"\nfirst frame after launch ({STARTS} starts under Xvfb):")
    for wall, cpu in results:
        print(f"  {wall:5.3f} s   (CPU {cpu:4.2f} s)")
    cpu = statistics.median(cpu for _wall, cpu in results)
    print(f"  median {median:.3f} s (goal {GOAL_SECONDS} s), CPU {cpu:.2f} s")
    # Other tenants of a shared machine stretch the wall time, not the CPU time.
    print(f"  load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    assert median <= GOAL_SECONDS
