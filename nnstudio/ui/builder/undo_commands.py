"""Undo commands for every edit of the network (QUndoStack from QtGui).

Each command holds what it needs to put the model back exactly; fixes of several steps are
one macro command, so one Ctrl+Z takes back the whole "Insert Flatten and Dense(10)".
"""

from __future__ import annotations

import copy
from typing import Any

from PySide6.QtGui import QUndoCommand, QUndoStack

from nnstudio.project.builder_model import BuilderModel
from nnstudio.project.problems import Edit, Fix

_SET_SETTING_ID = 6001  # consecutive edits of one setting merge into one command


class InsertLayerCommand(QUndoCommand):
    def __init__(self, model: BuilderModel, index: int, layer: dict, text: str = "", parent=None):
        super().__init__(text or f"Insert {layer.get('type', 'layer')}", parent)
        self._model, self._index, self._layer = model, index, copy.deepcopy(layer)

    def redo(self):
        self._model.insert(self._index, self._layer)

    def undo(self):
        self._model.remove(self._index)


class RemoveLayerCommand(QUndoCommand):
    def __init__(self, model: BuilderModel, index: int, parent=None):
        super().__init__(f"Remove {model.layer(index).get('type', 'layer')}", parent)
        self._model, self._index = model, index
        self._layer: dict | None = None

    def redo(self):
        self._layer = self._model.remove(self._index)

    def undo(self):
        self._model.insert(self._index, self._layer)


class MoveLayerCommand(QUndoCommand):
    def __init__(self, model: BuilderModel, source: int, destination: int, parent=None):
        super().__init__(f"Move {model.layer(source).get('type', 'layer')}", parent)
        self._model, self._source, self._destination = model, source, destination

    def redo(self):
        self._model.move(self._source, self._destination)

    def undo(self):
        self._model.move(self._destination, self._source)


class SetSettingCommand(QUndoCommand):
    """Change one setting. Typing "128" gives three value changes but one undo step."""

    def __init__(self, model: BuilderModel, index: int, name: str, value: Any, parent=None):
        layer = model.layer(index)
        super().__init__(f"Set {name} of {layer.get('type', 'layer')} to {value}", parent)
        self._model, self._index, self._name = model, index, name
        self._value = copy.deepcopy(value)
        self._had_value = name in layer
        self._old = layer.get(name)

    def id(self) -> int:
        return _SET_SETTING_ID

    def redo(self):
        self._model.set_setting(self._index, self._name, self._value)

    def undo(self):
        if self._had_value:
            self._model.set_setting(self._index, self._name, self._old)
        else:
            self._model.remove_setting(self._index, self._name)

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, SetSettingCommand):
            return False
        if (other._index, other._name) != (self._index, self._name):
            return False
        self._value = copy.deepcopy(other._value)
        self.setText(other.text())
        # Typing a value and then typing the old one back leaves nothing to undo.
        self.setObsolete(self._had_value and self._old == self._value)
        return True


class ReplaceLayersCommand(QUndoCommand):
    """Swap the whole layer list (loading a preset, clearing) in one undoable step."""

    def __init__(self, model: BuilderModel, layers: list[dict], text: str, parent=None):
        super().__init__(text, parent)
        self._model = model
        self._new = copy.deepcopy(layers)
        self._old = model.layers

    def redo(self):
        self._model.replace(self._new)

    def undo(self):
        self._model.replace(self._old)


def edit_command(model: BuilderModel, edit: Edit, parent: QUndoCommand) -> QUndoCommand:
    """The undo command for one step of a fix, as a child of the fix's macro command."""
    if edit.op == "insert":
        return InsertLayerCommand(model, edit.index, edit.layer, parent=parent)
    if edit.op == "remove":
        return RemoveLayerCommand(model, edit.index, parent=parent)
    if edit.op == "set":
        return _ChildSetSetting(model, edit.index, edit.name, edit.value, parent=parent)
    raise ValueError(f"unknown edit {edit.op!r}")


class _ChildSetSetting(SetSettingCommand):
    def id(self) -> int:
        return -1  # part of a macro: never merged with the user's own typing


class FixCommand(QUndoCommand):
    """A one-click fix: its steps run in order and are undone in reverse as one command.

    The steps are made lazily in ``redo`` because a later step's "Remove" reads the layer
    the earlier steps produced.
    """

    def __init__(self, model: BuilderModel, fix: Fix, parent=None):
        super().__init__(fix.label, parent)
        self._model, self._fix = model, fix
        self._steps: list[QUndoCommand] = []

    def redo(self):
        with self._model.batch():
            if self._steps:
                for step in self._steps:
                    step.redo()
                return
            for edit in self._fix.edits:
                step = edit_command(self._model, edit, None)
                step.redo()
                self._steps.append(step)

    def undo(self):
        with self._model.batch():
            for step in reversed(self._steps):
                step.undo()


def push_fix(stack: QUndoStack, model: BuilderModel, fix: Fix) -> None:
    stack.push(FixCommand(model, fix))
