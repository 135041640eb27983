"""MainWindow: docks, toolbar actions, menus, status bar, settings."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QMainWindow, QTabWidget


class MainWindow(QMainWindow):
    """The nnstudio window. Built without being shown; call ``show()`` to display it."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("nnstudio")
        self.resize(1280, 800)
        self.tabs = QTabWidget()
        for title in ("Model", "Training", "Evaluate", "Draw"):
            self.tabs.addTab(QLabel(title), title)
        self.setCentralWidget(self.tabs)

    def open_project(self, path: str) -> None:
        """Load a project file into the window."""
        raise NotImplementedError
