"""Nothing cut off at the default size and at 1366×768 (issue 21, item 9): every tab is
grabbed (painted) at both sizes and no card, diagram column or label may elide its main text;
the data preview's wheel scrolls the dock, and its axes read in the data's units."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QLabel, QSlider

from nnstudio.ui.widgets import fit_text

# The default size, and what _fit_to_screen gives on a 1366×768 screen.
SIZES = [(1400, 880), (int(1366 * 0.95), int(768 * 0.92))]


def _cut_labels(window):
    return [
        label.text()
        for label in window.findChildren(QLabel)
        if label.isVisible()
        and label.text()
        and not label.wordWrap()
        and label.sizeHint().width() > label.width() + 1
    ]


@pytest.mark.parametrize("size", SIZES)
def test_no_tab_cuts_its_main_text(make_window, qtbot, size):
    window = make_window()
    window.resize(*size)
    window.show()
    qtbot.waitExposed(window)
    fit_text.ELIDED.clear()
    for index in range(window.tabs.count()):
        window.tabs.setCurrentIndex(index)
        QApplication.processEvents()
        window.grab()  # paints every card, the diagram and the labels now
        assert _cut_labels(window) == [], window.tabs.tabText(index)
        squeezed = [s.objectName() for s in window.findChildren(QSlider) if s.isVisible()]
        assert [n for n in squeezed if window.findChild(QSlider, n).width() < 48] == []
    assert fit_text.ELIDED == []


def test_a_narrow_card_drops_words_rather_than_cutting_them():
    from PySide6.QtGui import QFontMetrics

    metrics = QFontMetrics(QApplication.font())
    text = "Fully connected: each output sees every input"
    width = metrics.horizontalAdvance("Fully connected") + 4
    assert fit_text.fitted(metrics, width, *fit_text.short_forms(text)) == "Fully connected"
    assert fit_text.fitted(metrics, 5, *fit_text.short_forms(text)) == ""


def test_wheel_over_the_preview_scrolls_the_data_dock(make_window, qtbot):
    window = make_window()
    window.resize(*SIZES[1])
    window.show()
    qtbot.waitExposed(window)
    preview = window.data_panel.preview.scatter
    scroll = window.data_dock.widget()
    bar = scroll.verticalScrollBar()
    assert bar.maximum() > 0  # the preview is below the fold at this size
    bar.setValue(bar.maximum() // 2)
    start_range = preview.getPlotItem().getViewBox().viewRange()
    before = bar.value()
    centre = QPointF(preview.width() / 2, preview.height() / 2)
    event = QWheelEvent(
        centre,
        preview.mapToGlobal(centre),
        QPoint(0, 0),
        QPoint(0, -120),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(preview.viewport(), event)
    assert bar.value() > before
    assert preview.getPlotItem().getViewBox().viewRange() == start_range


def test_preview_axes_use_the_data_units(make_window):
    window = make_window()
    axis = window.data_panel.preview.scatter.getAxis("left")
    assert not axis.autoSIPrefix


def test_data_preview_is_in_view_at_1366x768(make_window, qtbot):
    window = make_window()
    window.resize(*SIZES[1])
    window.show()
    qtbot.waitExposed(window)
    scroll = window.data_dock.widget()
    preview = window.data_panel.preview
    top = preview.mapTo(scroll.viewport(), QPoint(0, 0)).y()
    assert scroll.verticalScrollBar().value() == 0
    assert top + 150 <= scroll.viewport().height()  # most of the points show at once


def test_the_window_fits_a_1366_pixel_screen(make_window):
    window = make_window()
    # Every tab and dock included: the Draw tab's model row once made it 1362 pixels wide.
    assert window.minimumSizeHint().width() <= 1366
