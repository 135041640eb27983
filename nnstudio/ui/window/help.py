"""Help → Keyboard shortcuts and Help → What each setting means.

Both are generated, never written twice: the shortcuts from the window's own actions, the
settings from the engine's ``Setting`` descriptions (``nnstudio.engine.registry``), through the
same ``setting_tooltip`` the editors' tooltips use, so the help cannot drift from the editors.
"""

from __future__ import annotations

import html

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QTextBrowser,
    QVBoxLayout,
)

from nnstudio.ui.widgets.setting_widgets import setting_tooltip

# Keys that are not QAction shortcuts (see keys.py and the builder's palette).
EXTRA_KEYS = (
    ("Space", "Train / Pause, wherever the focus is (except while typing text)"),
    (
        "Enter",
        "In the layer palette or its filter: add the highlighted layer after the selected one",
    ),
    ("Up / Down", "In the layer palette's filter: move the highlight over the layers shown"),
)


def shortcut_rows(window) -> list[tuple[str, str]]:
    """(keys, what they do) for every action of the window that has a shortcut."""
    rows = list(EXTRA_KEYS)
    seen = set()
    for action in window.findChildren(type(window.actionTrain)):
        keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        if keys and (keys, action.text()) not in seen:
            seen.add((keys, action.text()))
            rows.append((keys, _what_it_does(action)))
    return rows


def _what_it_does(action) -> str:
    text = action.text().replace("&", "").rstrip("…")
    if isinstance(action.parent(), QDockWidget):  # View → Data, Runs…: the dock's toggle
        # (see dock_layout.bring_forward_on_toggle)
        return f"Open the {text} dock or bring it forward; hide it when in front"
    return text


def shortcuts_html(window) -> str:
    cells = "".join(
        f"<tr><td><b>{html.escape(keys)}</b></td><td>{html.escape(what)}</td></tr>"
        for keys, what in shortcut_rows(window)
    )
    return f"<h3>Keyboard shortcuts</h3><table cellpadding='4'>{cells}</table>"


def _section(title: str, table: dict) -> str:
    parts = [f"<h3>{html.escape(title)}</h3>"]
    for cls in table.values():
        label = getattr(cls, "label", cls.__name__)
        parts.append(f"<h4>{html.escape(label)}</h4>")
        if getattr(cls, "help", ""):
            parts.append(f"<p>{html.escape(cls.help)}</p>")
        for setting in getattr(cls, "SETTINGS", ()):
            parts.append(f"<p style='margin-left:16px'>{setting_tooltip(setting)}</p>")
    return "".join(parts)


def settings_html() -> str:
    """Every layer, optimizer, schedule and loss with its settings, from the engine."""
    from nnstudio.engine import registry

    return "".join(
        _section(title, table)
        for title, table in (
            ("Layers", registry.LAYERS),
            ("Optimizers", registry.OPTIMIZERS),
            ("Learning-rate schedules", registry.SCHEDULES),
            ("Losses", registry.LOSSES),
        )
    )


def show_help(window, title: str, text: str, name: str) -> QDialog:
    dialog = QDialog(window)
    dialog.setObjectName(name)
    dialog.setWindowTitle(title)
    dialog.resize(620, 560)
    browser = QTextBrowser(objectName=f"{name}Text")
    browser.setHtml(text)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
    buttons.rejected.connect(dialog.reject)
    layout = QVBoxLayout(dialog)
    layout.addWidget(browser)
    layout.addWidget(buttons)
    dialog.show()
    return dialog
