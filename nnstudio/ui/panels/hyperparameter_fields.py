"""The generated parts of the Hyperparameters dock.

Menus of losses, optimizers and schedules come from the engine's registry (label, help), and
each optimizer's and schedule's fields from its ``SETTINGS`` (label, tooltip, range, default),
through the same editors the layer inspector uses. The dock's own fields (epochs, batch size,
...) are the project's training settings (project/settings.py), so they get the same
editors and tooltips, and the ranges the project file and the command line have.
"""

from __future__ import annotations

import contextlib

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QFormLayout, QLabel, QWidget

from nnstudio.engine.settings import Setting
from nnstudio.project.settings import BATCH_SIZE, EPOCHS, PATIENCE, SEED, VALIDATION_SPLIT
from nnstudio.ui.widgets.setting_widgets import make_editor

# Settings the dock shows elsewhere: the learning rate has its own box (shared with the
# toolbar), and a schedule's length follows the epochs.
OWNED_BY_THE_DOCK = frozenset({"lr", "total_steps"})

# The dock's own fields, described once in the project's settings (range, help, default).
__all__ = [
    "BATCH_SIZE",
    "EPOCHS",
    "PATIENCE",
    "SEED",
    "VALIDATION_SPLIT",
    "SettingRows",
    "registry_combo",
]


def registry_combo(table: dict) -> QComboBox:
    """A menu of a registry table's classes: their labels, with their help as item tooltips."""
    combo = QComboBox()
    for key, cls in table.items():
        combo.addItem(cls.label or key, key)
        combo.setItemData(combo.count() - 1, cls.help, Qt.ItemDataRole.ToolTipRole)
    return combo


class SettingRows:
    """One form row per setting of every class in a registry table (optimizers or schedules);
    only the chosen class's rows are visible, and each class keeps its own values."""

    def __init__(self, form: QFormLayout, table: dict, on_edit):
        self._form = form
        self.settings = {
            key: [s for s in cls.SETTINGS if s.name not in OWNED_BY_THE_DOCK]
            for key, cls in table.items()
        }
        self.editors: dict[str, dict[str, QWidget]] = {}
        for key, settings in self.settings.items():
            self.editors[key] = {s.name: self._add_row(key, s, on_edit) for s in settings}

    def _add_row(self, key: str, setting: Setting, on_edit) -> QWidget:
        editor = make_editor(setting)
        editor.set_value(setting.default)
        editor.setObjectName(f"hp_{key}_{setting.name}")
        label = QLabel(setting.label)
        label.setToolTip(editor.toolTip())
        self._form.addRow(label, editor)
        editor.edited.connect(on_edit)
        return editor

    def all_editors(self):
        for editors in self.editors.values():
            yield from editors.values()

    def show_only(self, chosen: str) -> None:
        for key, editors in self.editors.items():
            for editor in editors.values():
                self._form.setRowVisible(editor, key == chosen)

    def values(self, key: str) -> dict:
        return {name: editor.value() for name, editor in self.editors.get(key, {}).items()}

    def reset(self) -> None:
        """Every editor back to its setting's default (silently)."""
        for key, settings in self.settings.items():
            for setting in settings:
                self.editors[key][setting.name].set_value(setting.default)

    def set_values(self, key: str, values: dict) -> None:
        """Show ``values`` in ``key``'s editors (silently); unknown names are ignored, and an
        unset value only where the setting may be unset."""
        for setting in self.settings.get(key, []):
            if setting.name not in values:
                continue
            value = values[setting.name]
            if value is None and setting.default is not None:
                continue
            # A value of the wrong kind in a file keeps the default.
            with contextlib.suppress(TypeError, ValueError):
                self.editors[key][setting.name].set_value(value)
