"""Starting the window on a system without Qt's X11 libraries says what to install, and
with no display at all says so in one line instead of Qt's abort."""

import ctypes.util
import os
import socket
import subprocess
import sys

import pytest

from nnstudio.ui import app


def test_missing_x11_library_is_named_with_its_package(monkeypatch, capsys):
    monkeypatch.setattr(app.sys, "platform", "linux")
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("DISPLAY", ":0")
    real = ctypes.util.find_library
    monkeypatch.setattr(
        ctypes.util, "find_library", lambda name: None if name == "xcb-cursor" else real(name)
    )
    assert app.missing_x11_packages()[:1] == ["libxcb-cursor0"]
    monkeypatch.setattr(app, "missing_display", lambda: False)  # as if an X server answered
    assert app.run_app() == 2
    message = capsys.readouterr().err
    assert "libxcb-cursor0" in message and "apt-get install" in message


def test_offscreen_and_wayland_need_no_x11_check(monkeypatch):
    monkeypatch.setattr(app.sys, "platform", "linux")
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert app.missing_x11_packages() == []
    monkeypatch.delenv("QT_QPA_PLATFORM")
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    assert app.missing_x11_packages() == []


def without_display(**extra) -> dict:
    environment = dict(os.environ)
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        environment.pop(name, None)
    return {**environment, **extra}


@pytest.mark.parametrize(
    "display",
    [{}, {"DISPLAY": ":57"}, {"DISPLAY": "localhost:57"}, {"QT_QPA_PLATFORM": "xcb"}],
    ids=["nothing set", "no server at :57", "no server at localhost:57", "xcb chosen"],
)
def test_with_no_display_the_window_says_so_in_one_line_and_exits_2(display):
    result = subprocess.run(
        [sys.executable, "-m", "nnstudio"],
        env=without_display(**display),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr  # not Qt's abort (-6, a core dump)
    assert result.stderr == f"nnstudio: error: {app.NO_DISPLAY}\n"
    assert "nnstudio train --help" in result.stderr


@pytest.fixture
def x_server_socket():
    """A listening socket where an X server of display :N would be (Linux's abstract
    namespace, so no file is made); yields N."""
    if not sys.platform.startswith("linux"):
        pytest.skip("abstract Unix sockets are Linux's")
    number = 4000 + os.getpid() % 5000
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(f"\0/tmp/.X11-unix/X{number}")
        server.listen(1)
        yield number


def test_a_display_that_answers_lets_the_window_start(monkeypatch, x_server_socket):
    monkeypatch.setattr(app.sys, "platform", "linux")
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("DISPLAY", f":{x_server_socket}")
    assert not app.missing_display()
    monkeypatch.setenv("DISPLAY", f":{x_server_socket + 1}")  # nobody there
    assert app.missing_display()
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")  # needs no display
    assert not app.missing_display()


@pytest.mark.slow  # a real start of the app, about a second of CPU
def test_the_app_says_when_its_first_frame_came_when_asked(tmp_path):
    """What tests/benchmarks/bench_startup.py reads: with NNSTUDIO_STARTUP_CLOCK set to the
    launcher's clock, the app prints the seconds to its first painted frame."""
    from tests.benchmarks.bench_startup import launch_until_first_frame

    line, _cpu = launch_until_first_frame(without_display(QT_QPA_PLATFORM="offscreen"), tmp_path)
    assert line.startswith("nnstudio: first frame after ") and line.endswith(" s\n")
    assert 0 < float(line.split()[-2]) < 60
