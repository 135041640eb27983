"""A key for every command of the menus and the toolbar (issue 32).

The keys of New, Open, Save, Step, Stop, Reset and Undo/Redo are given where those actions
are made; this table gives the rest theirs, in one place, so a clash shows at a glance.
Help → Keyboard shortcuts lists them all (it reads the actions themselves). Train and Pause
answer to Space, which is not an action's shortcut (see keys.py). The entries of
File → Open Recent and File → New from Preset are lists of files and presets, reached with
the arrow keys once their menu is open.
"""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget

ACTION_KEYS = {
    "actionSaveModel": "Ctrl+M",
    "actionExportPng": "Ctrl+Shift+P",
    "actionExportCsv": "Ctrl+Shift+C",
    "actionExportModel": "Ctrl+E",
    "actionQuit": "Ctrl+Q",
    "actionBranchRun": "Ctrl+B",
    "actionFindLearningRate": "Ctrl+L",
    "actionSweep": "Ctrl+Shift+W",
    "actionExplainSample": "Ctrl+I",
    "actionLossLandscape": "Ctrl+Shift+G",
    "actionActivations": "Ctrl+Shift+U",
    "actionWarpedSpace": "Ctrl+Shift+K",
    "actionFeatureMaps": "Ctrl+Shift+M",
    "actionImportRuns": "Ctrl+Shift+O",
    "actionShowModelTab": "Ctrl+1",
    "actionShowTrainingTab": "Ctrl+2",
    "actionShowEvaluateTab": "Ctrl+3",
    "actionShowDrawTab": "Ctrl+4",
    "actionArrangeDocks": "Ctrl+Shift+A",
    "actionLessons": "Ctrl+F1",
    "actionShortcuts": "F1",
    "actionSettingsHelp": "Shift+F1",
    "actionAbout": "Ctrl+Shift+F1",
}

# View → (dock name): shows or hides that dock.
DOCK_KEYS = {
    "dataDock": "Ctrl+Shift+D",
    "hyperparametersDock": "Ctrl+Shift+H",
    "runsDock": "Ctrl+Shift+R",
    "healthDock": "Ctrl+Shift+L",
    "lessonsDock": "Ctrl+Shift+E",
}

SPACE_ACTIONS = ("actionTrain", "actionPause")  # Space, caught before any widget sees it


def assign_shortcuts(window) -> None:
    """Give ``window``'s actions and dock toggles the keys of the tables above."""
    for action in window.findChildren(QAction):
        key = ACTION_KEYS.get(action.objectName())
        if key:
            _set_key(action, key)
    for dock in window.findChildren(QDockWidget):
        key = DOCK_KEYS.get(dock.objectName())
        if key:
            _set_key(dock.toggleViewAction(), key)


def _set_key(action: QAction, key: str) -> None:
    action.setShortcut(QKeySequence(key))
    tip = action.toolTip() or action.text().replace("&", "")
    readable = QKeySequence(key).toString(QKeySequence.SequenceFormat.NativeText)
    if readable not in tip:
        action.setToolTip(f"{tip} ({readable})")
