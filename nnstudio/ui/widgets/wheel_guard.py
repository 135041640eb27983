"""The mouse wheel scrolls panels; it changes a value only in the field the user is in.

Qt's spin boxes, combo boxes and sliders take a wheel turn whenever the pointer is over them,
so scrolling the layer inspector or the Hyperparameters dock turned "Units 32" into 31 on
its way down. ``guard_wheel(root)`` gives each such field under ``root`` the common Qt
remedy: a field takes the focus by Tab or click only (``Qt.StrongFocus``, not the wheel),
and a wheel turn over a field without the focus goes on to the scroll area around it.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QAbstractSlider, QAbstractSpinBox, QComboBox, QScrollBar, QWidget

_VALUE_FIELDS = (QAbstractSpinBox, QComboBox, QAbstractSlider)


class _WheelGuard(QObject):
    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.Wheel and not watched.hasFocus():
            event.ignore()  # Qt then hands the turn to the parent: the panel scrolls
            return True
        return False


_GUARD = _WheelGuard()


def is_value_field(widget: QWidget) -> bool:
    return isinstance(widget, _VALUE_FIELDS) and not isinstance(widget, QScrollBar)


def guard_wheel(root: QWidget) -> None:
    """Guard ``root`` and every value field under it (fields made later call this too)."""
    for field in [root, *root.findChildren(QWidget)]:
        if is_value_field(field):
            field.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            field.installEventFilter(_GUARD)
