"""Space = Train / Pause wherever the focus is, and no key blanks a setting (issue 21, item 2)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QApplication, QLineEdit

from nnstudio.ui.widgets.number_input import number_state


def _shown(qtbot, window):
    window.hyperparameters.epochs_box.setValue(100_000)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)


def test_space_in_the_learning_rate_box_trains_and_keeps_the_value(qtbot, window):
    """The user's steps: edit the toolbar learning rate, Enter, click a label, Space."""
    _shown(qtbot, window)
    box = window.toolbar_lr
    box.setFocus()
    box.lineEdit().selectAll()
    qtbot.keyClicks(box.lineEdit(), "0.02")
    qtbot.keyClick(box.lineEdit(), Qt.Key.Key_Return)
    box.lineEdit().selectAll()  # Enter leaves the value selected: Space used to replace it
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Space)
    assert window.state == "training"
    assert box.text() == "0.02" and box.value() == pytest.approx(0.02)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Space)
    assert window.state == "paused"
    assert box.text() == "0.02"


@pytest.mark.parametrize("name", ["hp_batch_size", "hp_optimizer"])
def test_space_trains_from_any_setting(qtbot, window, name):
    _shown(qtbot, window)
    widget = window.hyperparameters.findChild(object, name)
    before = widget.text() if hasattr(widget, "text") else widget.currentText()
    widget.setFocus()
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Space)
    assert window.state == "training"
    after = widget.text() if hasattr(widget, "text") else widget.currentText()
    assert after == before


def test_space_in_a_text_field_is_typed_not_train(qtbot, window):
    _shown(qtbot, window)
    field = QLineEdit(window.data_panel)
    field.show()
    field.setFocus()
    qtbot.keyClicks(field, "a b")
    assert field.text() == "a b"
    assert window.state == "idle"


def test_a_lone_space_is_never_a_number():
    assert number_state(" ", 0.0, 1.0) == QValidator.State.Invalid
