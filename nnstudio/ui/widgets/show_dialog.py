"""Show a dialog ready for the keyboard: in front, and the active window.

A dialog opened by a click elsewhere (a unit of the diagram, a menu) is otherwise shown without
the focus where the window manager does not hand it over (none at all, or one that prevents
focus stealing): Escape then reaches the main window and the dialog stays open.
"""

from __future__ import annotations


def show_in_front(dialog) -> None:
    dialog.show()
    dialog.raise_()  # above the window the click was in
    dialog.activateWindow()  # the keys, Escape first, go to the dialog
