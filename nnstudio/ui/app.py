"""Start the Qt application and show the main window."""

from __future__ import annotations

import sys

from nnstudio import APP_ID, APP_NAME, __version__


def create_application(argv: list[str] | None = None):
    """Return the running QApplication, creating it with nnstudio's identity if needed."""
    from PySide6.QtGui import QGuiApplication, QIcon
    from PySide6.QtWidgets import QApplication

    from nnstudio.paths import icon_path

    app = QApplication.instance()
    if app is None:
        app = QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName("nnstudio")
    app.setOrganizationName("nnstudio")
    app.setApplicationVersion(__version__)
    # Wayland matches the window to its launcher (and icon) through the desktop file id.
    QGuiApplication.setDesktopFileName(APP_ID)
    if icon_path().exists():
        app.setWindowIcon(QIcon(str(icon_path())))
    return app


def collect_garbage_on_gui_thread():
    """Python's cycle collector runs in whichever thread allocates when it is due: with a
    training worker busy allocating, that is usually the worker, and a cycle holding a Qt
    object (a closed dialog, a replaced plot) then deletes it off the GUI thread, which
    crashes or hangs Qt. So automatic collection is turned off and a timer in the GUI thread
    collects each generation once it has grown past Python's own threshold (what pyqtgraph's
    GarbageCollector does, without loading pyqtgraph before the window shows). Keep the
    timer it returns alive."""
    import gc

    from PySide6.QtCore import QTimer

    thresholds = gc.get_threshold()

    def collect_due_generations():
        counts = gc.get_count()
        for generation, threshold in enumerate(thresholds):
            if counts[generation] <= threshold:
                break  # an older generation is only due when the younger one was
            gc.collect(generation)

    gc.disable()
    timer = QTimer(interval=1000)
    timer.timeout.connect(collect_due_generations)
    timer.start()
    return timer


# Qt's X11 platform plugin aborts the process (a C++ qFatal, no Python error to catch) when
# one of these is missing, so they are looked for first and named in words.
X11_LIBRARIES = {"xcb-cursor": "libxcb-cursor0", "xkbcommon-x11": "libxkbcommon-x11-0"}


def missing_x11_packages() -> list[str]:
    """Debian packages of the X11 libraries Qt needs that this system lacks (Linux/X11 only)."""
    import ctypes.util
    import os

    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return []
    if not os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return []
    return [pkg for lib, pkg in X11_LIBRARIES.items() if ctypes.util.find_library(lib) is None]


NO_DISPLAY = (
    "no display found: nnstudio needs a desktop session; "
    "the command line works headless: nnstudio train --help"
)
# Qt platforms that need no display server.
HEADLESS_PLATFORMS = {
    "offscreen",
    "minimal",
    "minimalegl",
    "vnc",
    "eglfs",
    "linuxfb",
    "vkkhrdisplay",
}


def missing_display() -> bool:
    """True when Qt would find no display to open a window on (on Linux and the BSDs, where
    its X11 and Wayland plugins then abort the process with a core dump)."""
    import os

    if not sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return False  # Windows and macOS always have their own platform
    platforms = os.environ.get("QT_QPA_PLATFORM", "").replace(",", ";").split(";")
    names = {platform.split(":")[0].strip() for platform in platforms if platform.strip()}
    if names & HEADLESS_PLATFORMS:
        return False
    wayland = "xcb" not in names and _wayland_socket_exists(os.environ)
    x11 = not any(name.startswith("wayland") for name in names) and _x11_reachable(os.environ)
    return not (wayland or x11)


def _wayland_socket_exists(environ) -> bool:
    from pathlib import Path

    name = environ.get("WAYLAND_DISPLAY")
    if not name:
        return False
    path = Path(name) if name.startswith("/") else Path(environ.get("XDG_RUNTIME_DIR", "")) / name
    return path.is_socket()


def _x11_reachable(environ) -> bool:
    """An X server answers at $DISPLAY. A local display (":0") is its Unix socket, in the
    file system or Linux's abstract namespace; a remote one (ssh -X gives "localhost:10.0")
    is a TCP port. Each is tried for at most a second."""
    import re
    import socket

    display = environ.get("DISPLAY", "")
    match = re.fullmatch(r"(?:unix)?(?P<host>[^:]*):(?P<number>\d+)(?:\.\d+)?", display)
    if match is None:
        return False
    host, number = match["host"], int(match["number"])
    if host:
        targets = [(socket.AF_INET, (host, 6000 + number))]
    else:
        path = f"/tmp/.X11-unix/X{number}"
        targets = [(socket.AF_UNIX, path), (socket.AF_UNIX, "\0" + path)]
    for family, address in targets:
        try:
            if family == socket.AF_INET:
                socket.create_connection(address, timeout=1.0).close()
            else:
                with socket.socket(family) as connection:
                    connection.settimeout(1.0)
                    connection.connect(address)
            return True
        except OSError:
            continue
    return False


# The launcher's time.time() when it started nnstudio: set, the window says how long its first
# frame took (tests/benchmarks/bench_startup.py reads the line).
STARTUP_CLOCK = "NNSTUDIO_STARTUP_CLOCK"


def after_first_frame(window, callback) -> None:
    """Call ``callback()`` once ``window``'s first frame is painted."""
    from PySide6.QtCore import QEvent, QObject, QTimer

    class FirstPaint(QObject):
        def eventFilter(self, watched, event):  # noqa: N802 - Qt override
            if event.type() == QEvent.Type.Paint:
                watched.removeEventFilter(self)
                # The children paint in this same pass: the frame is whole once it returns.
                QTimer.singleShot(0, callback)
                self.deleteLater()
            return False

    window.installEventFilter(FirstPaint(window))


def report_first_frame() -> None:
    """With $NNSTUDIO_STARTUP_CLOCK set, print how long after launch the first frame came."""
    import os
    import time

    started = os.environ.get(STARTUP_CLOCK)
    if started:
        print(f"nnstudio: first frame after {time.time() - float(started):.3f} s", flush=True)


def run_app(project_path: str | None = None) -> int:
    """Open the main window (and the project, if given) and run until it is closed."""
    if missing_display():
        print(f"nnstudio: error: {NO_DISPLAY}", file=sys.stderr)
        return 2
    missing = missing_x11_packages()
    if missing:
        print(
            "nnstudio: error: the window needs system libraries that are not installed: "
            f"{' '.join(missing)}. Install them (Debian/Ubuntu: sudo apt-get install "
            f"{' '.join(missing)}; see the README) and start nnstudio again.",
            file=sys.stderr,
        )
        return 2
    app = create_application()
    from nnstudio.ui.style import apply_style
    from nnstudio.ui.window.main_window import MainWindow

    apply_style(app)
    garbage_collector = collect_garbage_on_gui_thread()  # noqa: F841 - alive while app runs
    window = MainWindow(load_default=False)
    # The project's network and settings are in the first frame; its dataset (loaded on a
    # worker thread anyway) follows it.
    window.data_panel.hold_loads()
    if project_path:
        window.open_project(project_path)  # on failure: the default project + a message
    else:
        window.files.load_default_project()
    after_first_frame(window, window.data_panel.release_loads)
    after_first_frame(window, report_first_frame)
    window.show()
    from PySide6.QtCore import QTimer

    # A window that is not painted (started minimized, say) loads its dataset all the same.
    QTimer.singleShot(2000, window.data_panel.release_loads)
    # After a crash, offer what the autosave kept (once the window is on screen).
    QTimer.singleShot(0, window.offer_restore)
    return app.exec()
