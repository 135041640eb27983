"""Typing numbers: one parser and one validator for every number box of the window.

Spin boxes call :func:`number_state` from ``validate`` and :func:`parse_number` from
``valueFromText``, so every box takes the same spellings ("0.001", "1e-3", ".5", "2") and
treats half-typed text ("1e", "-", "0.") the same way. :class:`ScientificSpinBox` is the box
for values spanning decades (learning rates, penalties); :func:`log_step` is its arrow step.
"""

from __future__ import annotations

import math
import re

from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QDoubleSpinBox

__all__ = ["ScientificSpinBox", "log_step", "number_state", "parse_number"]

_COMPLETE = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
# What a number looks like while it is being typed ("1e", "-.", "").
_PARTIAL = re.compile(r"[-+]?\d*\.?\d*([eE][-+]?\d*)?")

# Arrow keys move a decade-spanning value by a quarter of a decade (1e-3 -> 1.78e-3 -> ...).
_STEPS_PER_DECADE = 4


def parse_number(text: str) -> float | None:
    """The number ``text`` spells, or None while it is not (yet) a whole number.

    >>> parse_number(" 1e-3 "), parse_number(".5"), parse_number("1e"), parse_number("nan")
    (0.001, 0.5, None, None)
    """
    stripped = text.strip()
    return float(stripped) if _COMPLETE.fullmatch(stripped) else None


def number_state(text: str, minimum: float, maximum: float, special: str = "") -> QValidator.State:
    """Acceptable for a number in [minimum, maximum] (or the box's ``special`` text),
    Intermediate for what may become one (half-typed, or out of range while typing),
    Invalid for anything else (letters, two signs)."""
    if text and not text.strip():
        return QValidator.State.Invalid  # a space typed over a selected value must not blank it
    stripped = text.strip()
    if special and stripped == special:
        return QValidator.State.Acceptable
    value = parse_number(stripped)
    if value is not None:
        inside = minimum <= value <= maximum
        return QValidator.State.Acceptable if inside else QValidator.State.Intermediate
    if _PARTIAL.fullmatch(stripped) or (special and special.startswith(stripped)):
        return QValidator.State.Intermediate
    return QValidator.State.Invalid


def log_step(value: float, steps: int, minimum: float) -> float:
    """``value`` moved by ``steps`` quarter-decades, rounded to three significant digits.
    From 0 a step up starts at ``minimum`` (1e-6 when that is 0) and a step down stays.

    >>> log_step(1e-3, 4, 0.0), log_step(1e-3, -1, 0.0), log_step(0.0, -1, 0.0)
    (0.01, 0.000562, 0.0)
    """
    if value <= 0:
        if steps < 0:
            return value
        value = max(minimum, 1e-6)
    new = value * 10 ** (steps / _STEPS_PER_DECADE)
    digits = 2 - int(math.floor(math.log10(abs(new))))
    return round(new, digits)


class ScientificSpinBox(QDoubleSpinBox):
    """A spin box for values spanning decades (1e-5 … 10): shows 1e-3, steps ×/÷ 10^(1/4)."""

    def __init__(self, minimum: float, maximum: float, parent=None):
        super().__init__(parent)
        self.setDecimals(12)
        self.setRange(minimum, maximum)
        self.setKeyboardTracking(False)

    def textFromValue(self, value: float) -> str:  # noqa: N802 - Qt override
        return f"{value:.3g}"

    def valueFromText(self, text: str) -> float:  # noqa: N802 - Qt override
        value = parse_number(text)
        return self.value() if value is None else value

    def validate(self, text: str, position: int):
        return number_state(text, self.minimum(), self.maximum()), text, position

    def stepBy(self, steps: int) -> None:  # noqa: N802 - Qt override
        self.setValue(log_step(self.value(), steps, self.minimum()))
        self.editingFinished.emit()
