"""One editor widget per engine ``Setting`` kind, all with the same small interface.

Every editor has ``value()``, ``set_value(v)`` (silent: no signal) and a ``edited`` signal
emitted while the user types, so the inspector can apply changes at once without caring
which widget it is talking to.
"""

from __future__ import annotations

import math
import re

from PySide6.QtCore import Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLineEdit, QSpinBox

from nnstudio.ui.builder.layer_icons import layer_icon

_INT_LIMIT = 1_000_000  # spin boxes need finite ranges; the engine checks the real bounds
_ACTIVATION_NAMES = {"linear", "relu", "leaky_relu", "elu", "gelu", "sigmoid", "tanh", "softmax"}


def _tooltip(setting) -> str:
    parts = [f"<b>{setting.name}</b>"]
    if setting.help:
        parts.append(setting.help)
    if setting.minimum is not None or setting.maximum is not None:
        low = "−∞" if setting.minimum is None else f"{setting.minimum:g}"
        high = "∞" if setting.maximum is None else f"{setting.maximum:g}"
        parts.append(f"<i>Range {low} … {high}; default {setting.default!r}</i>")
    elif setting.default is not None:
        parts.append(f"<i>Default {setting.default!r}</i>")
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
            self.setSpecialValueText("auto")
        self.setAccelerated(True)
        self.setToolTip(_tooltip(setting))
        self.valueChanged.connect(lambda _: self.edited.emit(self.value()))

    def value(self):
        raw = super().value()
        return None if self._optional and raw == self.minimum() else raw

    def set_value(self, value) -> None:
        self.blockSignals(True)
        super().setValue(self.minimum() if value is None else int(value))
        self.blockSignals(False)


class FloatEditor(QDoubleSpinBox):
    """Numbers shown the short way ("0.5", "1e-05") and typed either way, exponents included."""

    edited = Signal(object)

    def __init__(self, setting, parent=None):
        super().__init__(parent)
        self._optional = setting.default is None
        self.setDecimals(10)
        low = setting.minimum if setting.minimum is not None else -1e9
        if getattr(setting, "exclusive_minimum", False):
            low = low + 1e-9  # "more than 0" in a box that only knows "at least"
        high = setting.maximum if setting.maximum is not None else 1e9
        self._low = low
        self.setRange(low - 1 if self._optional else low, high)
        if self._optional:
            self.setSpecialValueText("auto")
        self.setSingleStep(self._step(setting))
        self.setToolTip(_tooltip(setting))
        self.valueChanged.connect(lambda _: self.edited.emit(self.value()))

    @staticmethod
    def _step(setting) -> float:
        """An arrow press should make a sensible change: 0.1 for a rate, 1e-4 for a penalty
        that starts at 0 within [0, 1] (l1/l2), the default's own decade otherwise."""
        default = setting.default if isinstance(setting.default, (int, float)) else 0.1
        if default and 0 < abs(default) < 1:
            return 10 ** math.floor(math.log10(abs(default)))
        if default == 0 and setting.maximum is not None and setting.maximum <= 1:
            return 1e-4
        return 0.1

    def textFromValue(self, value: float) -> str:
        return f"{value:g}"

    def valueFromText(self, text: str) -> float:
        try:
            return float(text.strip())
        except ValueError:
            return self.value() if not self._optional else self.minimum()

    def validate(self, text: str, position: int):
        stripped = text.strip()
        if self._optional and stripped == self.specialValueText():
            return QValidator.State.Acceptable, text, position
        if re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", stripped):
            value = float(stripped)
            ok = self.minimum() <= value <= self.maximum()
            return (
                (QValidator.State.Acceptable if ok else QValidator.State.Intermediate),
                text,
                position,
            )
        if re.fullmatch(r"[-+]?[\d.]*([eE][-+]?\d*)?", stripped):
            return QValidator.State.Intermediate, text, position
        return QValidator.State.Invalid, text, position

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
        self.setToolTip(_tooltip(setting))
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
        self.setToolTip(_tooltip(setting))
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
        self.setToolTip(_tooltip(setting))
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
    """The editor for one engine Setting (an unknown kind gets a shape-like text field)."""
    return EDITORS.get(setting.kind, ShapeEditor)(setting, parent)
