"""Starting the window on a system without Qt's X11 libraries says what to install."""

import ctypes.util

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
