"""The window. The only package that imports PySide6 and pyqtgraph widgets."""

from __future__ import annotations

__all__ = ["MainWindow"]


def __getattr__(name: str):
    # Imported lazily so `import nnstudio.ui.something` does not build the whole window.
    if name == "MainWindow":
        from nnstudio.ui.window.main_window import MainWindow

        return MainWindow
    raise AttributeError(name)
