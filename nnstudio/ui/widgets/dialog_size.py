"""A dialog's first size: what it would like, but never more than the screen it opens on has
(a 1024×600 netbook shows the whole dialog; layouts shrink the plots, not the controls)."""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication

MARGIN = 40  # the window manager's title bar and frame


def resize_within_screen(dialog, width: int, height: int) -> None:
    screen = dialog.screen() or QGuiApplication.primaryScreen()
    if screen is not None:
        room = screen.availableGeometry()
        width, height = min(width, room.width() - MARGIN), min(height, room.height() - MARGIN)
    dialog.resize(width, height)
