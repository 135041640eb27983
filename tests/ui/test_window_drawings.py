"""Drawings that teach (issue 21, item 4): a kept correction appears as "My drawings" in the
Data dock's picker, which is where the status line sends the user."""

from __future__ import annotations

from nnstudio.data.digits import drawings_dataset_name


def test_a_kept_drawing_is_offered_in_the_picker(make_window, qtbot):
    window = make_window()
    picker = window.data_panel.picker
    assert picker.findText("My drawings") < 0  # nothing kept yet
    draw = window.draw
    qtbot.mouseMove(draw.canvas)
    from PySide6.QtCore import QPoint, Qt

    centre = draw.canvas.rect().center()
    qtbot.mousePress(draw.canvas, Qt.MouseButton.LeftButton, pos=centre - QPoint(0, 40))
    for dy in range(-40, 41, 10):
        qtbot.mouseMove(draw.canvas, centre + QPoint(0, dy))
    qtbot.mouseRelease(draw.canvas, Qt.MouseButton.LeftButton, pos=centre + QPoint(0, 40))
    draw.predict()
    draw.correctLabel.setCurrentIndex(1)
    draw.keepButton.click()
    index = picker.findText("My drawings")
    assert index >= 0 and picker.itemData(index) == drawings_dataset_name()
    assert "My drawings" in draw.keptStatus.text()
    # Kept at once in the user's data folder: no unsaved work in the project (issue 31).
    assert not window.document.is_modified() and not window.isWindowModified()
