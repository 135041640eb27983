"""One editor widget per engine ``Setting`` kind, all with the same small interface.

Every editor has ``value()``, ``set_value(v)`` (silent: no signal) and a ``edited`` signal
emitted while the user types, so the layer inspector and the Hyperparameters dock apply
changes at once without caring which widget they are talking to. Range, tooltip (label, help,
allowed values, default) and the text of an unset value all come from the Setting.
"""

from __future__ import annotations

import math
import re

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLineEdit, QSpinBox

from nnstudio.ui.builder.layer_icons import layer_icon
from nnstudio.ui.widgets.number_input import log_step, number_state, parse_number
from nnstudio.ui.widgets.wheel_guard import guard_wheel

# Spin boxes need finite ranges: a setting without a bound gets the widest a box holds, so
# every value a project file may hold shows unclamped (the engine checks the real bounds).
_INT_LIMIT = 2**31 - 1
_FLOAT_LIMIT = 1e300
_ACTIVATION_NAMES = {"linear", "relu", "leaky_relu", "elu", "gelu", "sigmoid", "tanh", "softmax"}


def setting_tooltip(setting) -> str:
    """Label, help, allowed values and default of a Setting, for a tooltip."""
    parts = [f"<b>{setting.label}</b>"]
    if setting.help:
        parts.append(setting.help)
    default = setting.none_label if setting.default is None else repr(setting.default)
    bounds = setting.bounds_text()
    if bounds:
        parts.append(f"<i>Allowed: {bounds}; default {default}</i>")
    elif setting.kind not in ("choice", "bool") or setting.default is not None:
        parts.append(f"<i>Default {default}</i>")
    return "<br>".join(parts)


class IntEditor(QSpinBox):
    """Whole numbers; an optional setting (default None) gets an "auto" value below the range."""

    edited = Signal(object)

    def __init__(self, setting, parent=None):
        super().__init__(parent)
        self._optional = setting.default is None
        low = int(setting.minimum) if setting.minimum is not None else -_INT_LIMIT
        high = int(setting.maximum) if setting.maximum is not None else _INT_LIMIT
        self.setRange(low - 1 if self._optional else low, high)
        if self._optional:
            self.setSpecialValueText(setting.none_label)
        self.setAccelerated(True)
        self.setToolTip(setting_tooltip(setting))
        self.valueChanged.connect(lambda _: self.edited.emit(self.value()))

    def value(self):
        raw = super().value()
        return None if self._optional and raw == self.minimum() else raw

    def set_value(self, value) -> None:
        self.blockSignals(True)
        super().setValue(self.minimum() if value is None else int(value))
        self.blockSignals(False)


class FloatEditor(QDoubleSpinBox):
    """Numbers shown the short way ("0.5", "1e-05") and typed either way, exponents included.
    A ``log_scale`` setting steps by quarter decades, as the learning rate does."""

    edited = Signal(object)

    def __init__(self, setting, parent=None):
        super().__init__(parent)
        self._optional = setting.default is None
        self._log_scale = setting.log_scale
        self.setDecimals(10)
        low = setting.minimum if setting.minimum is not None else -_FLOAT_LIMIT
        if setting.exclusive_minimum:
            low = low + 1e-9  # "more than 0" in a box that only knows "at least"
        high = setting.maximum if setting.maximum is not None else _FLOAT_LIMIT
        if setting.exclusive_maximum:
            high = high - 1e-9  # "less than 1" (a decay rate)
        self._low = low
        self.setRange(low - 1 if self._optional else low, high)
        if self._optional:
            self.setSpecialValueText(setting.none_label)
        self.setSingleStep(self._step(setting))
        self.setToolTip(setting_tooltip(setting))
        self.valueChanged.connect(lambda _: self.edited.emit(self.value()))

    @staticmethod
    def _step(setting) -> float:
        """An arrow press should make a sensible change: 0.01 for a decay rate in [0, 1), 1e-4
        for a penalty that starts at 0 within [0, 1] (l1/l2), the default's own decade
        otherwise, 0.1 when nothing says better."""
        default = setting.default if isinstance(setting.default, (int, float)) else 0.1
        if setting.exclusive_maximum and setting.maximum == 1:
            return 0.01
        if default and 0 < abs(default) < 1:
            return 10 ** math.floor(math.log10(abs(default)))
        if default == 0 and setting.maximum is not None and setting.maximum <= 1:
            return 1e-4
        return 0.1

    def textFromValue(self, value: float) -> str:
        return f"{value:g}"

    def valueFromText(self, text: str) -> float:
        value = parse_number(text)
        if value is not None:
            return value
        return self.value() if not self._optional else self.minimum()

    def validate(self, text: str, position: int):
        special = self.specialValueText() if self._optional else ""
        return number_state(text, self.minimum(), self.maximum(), special), text, position

    def stepBy(self, steps: int) -> None:
        current = self.value()
        if not self._log_scale or current is None:
            super().stepBy(steps)
            return
        self.setValue(log_step(current, steps, max(self._low, 0.0)))

    def value(self):
        raw = super().value()
        return None if self._optional and raw < self._low else raw

    def set_value(self, value) -> None:
        self.blockSignals(True)
        super().setValue(self.minimum() if value is None else float(value))
        self.blockSignals(False)


class ChoiceEditor(QComboBox):
    """A fixed list; activation names get their curve as an icon."""

    edited = Signal(object)

    def __init__(self, setting, parent=None):
        super().__init__(parent)
        self._choices = list(setting.choices or ())
        for choice in self._choices:
            text = str(choice)
            if text in _ACTIVATION_NAMES:
                self.addItem(layer_icon("Activation", text), text)
            else:
                self.addItem(text)
        self.setToolTip(setting_tooltip(setting))
        self.currentIndexChanged.connect(lambda _: self.edited.emit(self.value()))

    def value(self):
        index = self.currentIndex()
        return self._choices[index] if 0 <= index < len(self._choices) else None

    def set_value(self, value) -> None:
        self.blockSignals(True)
        if value in self._choices:
            self.setCurrentIndex(self._choices.index(value))
        self.blockSignals(False)


class BoolEditor(QCheckBox):
    edited = Signal(object)

    def __init__(self, setting, parent=None):
        super().__init__(parent)
        self.setToolTip(setting_tooltip(setting))
        self.toggled.connect(lambda on: self.edited.emit(bool(on)))

    def value(self):
        return self.isChecked()

    def set_value(self, value) -> None:
        self.blockSignals(True)
        self.setChecked(bool(value))
        self.blockSignals(False)


def parse_shape(text: str) -> list[int] | None:
    """ "1, 28, 28", "1x28x28" or "(1,28,28)" → [1, 28, 28]; None while it is not a shape yet
    (a trailing "x" or "," means the user is still typing)."""
    body = text.strip().strip("()[]").strip()
    if not re.fullmatch(r"-?\d+(\s*[,x×\s]\s*-?\d+)*", body):
        return None
    dims = [int(p) for p in re.split(r"[\s,x×]+", body)]
    if any(d < 1 and d != -1 for d in dims) or dims.count(-1) > 1:
        return None
    return dims


class ShapeEditor(QLineEdit):
    """Sizes typed as "1, 28, 28" (or 1×28×28); applied once the text is a valid shape."""

    edited = Signal(object)

    def __init__(self, setting, parent=None):
        super().__init__(parent)
        self.setPlaceholderText("e.g. 1, 28, 28")
        self.setToolTip(setting_tooltip(setting))
        self.textEdited.connect(self._on_text)

    def _on_text(self, text: str):
        dims = parse_shape(text)
        self.setProperty("invalid", dims is None)
        self.setStyleSheet("" if dims is not None else "QLineEdit { border: 1px solid #DC2626; }")
        if dims is not None:
            self.edited.emit(dims)

    def value(self):
        return parse_shape(self.text())

    def set_value(self, value) -> None:
        text = "" if value is None else ", ".join(str(int(v)) for v in value)
        if parse_shape(self.text()) != (list(value) if value is not None else None):
            self.setText(text)


EDITORS = {
    "int": IntEditor,
    "float": FloatEditor,
    "choice": ChoiceEditor,
    "bool": BoolEditor,
    "shape": ShapeEditor,
}


def make_editor(setting, parent=None):
    """The editor for one engine Setting (an unknown kind gets a shape-like text field);
    the wheel changes it only once it has the focus (wheel_guard)."""
    editor = EDITORS.get(setting.kind, ShapeEditor)(setting, parent)
    guard_wheel(editor)
    return editor
