"""Render the README's screenshot with the app itself: the first-launch project, trained.

Run from the project root (no display needed):
    python packaging/render_screenshot.py [OUTPUT.png] [--tab Training]
"""

import os
import sys
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# A throw-away settings and data folder, so the screenshot shows what a first launch shows.
os.environ.setdefault("NNSTUDIO_DATA_DIR", tempfile.mkdtemp(prefix="nnstudio-shot-"))
os.environ.setdefault("XDG_CONFIG_HOME", tempfile.mkdtemp(prefix="nnstudio-shot-config-"))

from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402

from nnstudio.ui.app import create_application  # noqa: E402
from nnstudio.ui.window.main_window import MainWindow  # noqa: E402


def wait(milliseconds: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(milliseconds, loop.quit)
    loop.exec()


def wait_for(signal, timeout_ms: int) -> None:
    loop = QEventLoop()
    signal.connect(loop.quit)
    QTimer.singleShot(timeout_ms, loop.quit)
    loop.exec()


def main(argv: list[str]) -> int:
    output = (
        argv[1] if len(argv) > 1 and not argv[1].startswith("--") else "resources/screenshot.png"
    )
    tab = argv[argv.index("--tab") + 1] if "--tab" in argv else "Training"
    create_application()
    window = MainWindow()
    window.resize(1440, 900)
    window.show()
    wait(1500)  # the first-launch dataset loads on a worker thread
    window.actionTrain.trigger()
    wait_for(window.training_finished, 120_000)
    tabs = window.tabs
    for index in range(tabs.count()):
        if tabs.tabText(index).replace("&", "") == tab:
            tabs.setCurrentIndex(index)
    wait(500)
    window.grab().save(output)
    print(f"saved {output}")
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
