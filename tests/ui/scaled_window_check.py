"""Run in a process of its own by test_window_scaled.py (a scale factor is fixed when the
application starts): opens the window on the screen Qt was given, first at the size a first
launch picks, then at the whole screen, and prints what layout_checks finds on each tab as
one JSON object."""

from __future__ import annotations

import json
import time

from PySide6.QtWidgets import QApplication

from nnstudio.ui.app import create_application
from nnstudio.ui.style import apply_style
from tests.ui.layout_checks import layout_problems


def _settle(seconds: float = 0.2) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QApplication.processEvents()


def main() -> None:
    app = create_application()
    apply_style(app)
    from nnstudio.ui.window.main_window import MainWindow

    window = MainWindow()
    deadline = time.monotonic() + 60
    while window.model is None and time.monotonic() < deadline:
        _settle(0.05)
    window.show()
    _settle()
    room = window.screen().availableGeometry()
    report = {
        "screen": [room.width(), room.height()],
        "ratio": window.devicePixelRatio(),
        "first_launch": [window.width(), window.height()],
        "problems": {},
    }
    for size in (window.size(), room.size()):
        window.resize(size)
        _settle()
        for index in range(window.tabs.count()):
            window.tabs.setCurrentIndex(index)
            _settle()
            found = layout_problems(window)
            if found:
                report["problems"][
                    f"{size.width()}×{size.height()} {window.tabs.tabText(index)}"
                ] = found
    print(json.dumps(report))
    window.training.shutdown()


if __name__ == "__main__":
    main()
