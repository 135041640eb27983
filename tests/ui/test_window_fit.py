"""Nothing cut off at the default size and at 1366×768 (issue 21, item 9): every tab is
grabbed (painted) at both sizes and no card, diagram column or label may elide its main text;
the data preview's wheel scrolls the dock, and its axes read in the data's units."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QFontMetrics, QWheelEvent
from PySide6.QtWidgets import QApplication, QSlider

from nnstudio.ui.widgets import fit_text
from tests.ui.layout_checks import cut_labels
from tests.ui.test_main_window import app_look  # noqa: F401 - a fixture, used below

# The default size, and a window on a 1366×768 screen with room left for a task bar.
SIZES = [(1400, 880), (int(1366 * 0.95), int(768 * 0.92))]


@pytest.fixture(autouse=True)
def _with_the_app_look(app_look):  # noqa: F811 - sizes depend on the style sheet and fonts
    """Measured with the style the app runs with (it widens headers, combos and buttons)."""
    yield


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
        assert cut_labels(window) == [], window.tabs.tabText(index)
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


# -- every tab, every detail the issue named (item 9) ---------------------------------------------


def _edit_field_width(combo):
    from PySide6.QtWidgets import QStyle, QStyleOptionComboBox

    option = QStyleOptionComboBox()
    combo.initStyleOption(option)
    style = combo.style()
    field = QStyle.SubControl.SC_ComboBoxEditField
    return style.subControlRect(QStyle.ComplexControl.CC_ComboBox, option, field, combo).width()


def _cut_combos(window):
    from PySide6.QtWidgets import QComboBox

    return [
        combo.currentText()
        for combo in window.findChildren(QComboBox)
        if combo.isVisible()
        and combo.currentText()
        and combo.fontMetrics().horizontalAdvance(combo.currentText()) > _edit_field_width(combo)
    ]


@pytest.mark.parametrize("size", SIZES)
def test_no_tab_cuts_a_choice_in_its_selectors(make_window, qtbot, size):
    window = make_window()
    window.resize(*size)
    window.show()
    qtbot.waitExposed(window)
    window.draw._bundled_model()  # the Draw tab's selector names the bundled model's accuracy
    for index in range(window.tabs.count()):
        window.tabs.setCurrentIndex(index)
        QApplication.processEvents()
        assert _cut_combos(window) == [], window.tabs.tabText(index)


@pytest.mark.parametrize("size", SIZES)
def test_the_per_class_table_shows_its_support_column(make_window, qtbot, size):
    window = make_window()
    window.hyperparameters.epochs_box.setValue(2)
    with qtbot.waitSignal(window.training_finished, timeout=30_000):
        window.actionTrain.trigger()
    window.resize(*size)
    window.show()
    qtbot.waitExposed(window)
    window.tabs.setCurrentWidget(window.evaluation)
    with qtbot.waitSignal(window.evaluation.evaluated, timeout=30_000):
        window.evaluation.evaluate_button.click()
    QApplication.processEvents()
    for table in (window.evaluation.metrics, window.evaluation.averages):
        header = table.horizontalHeader()
        last = table.model().columnCount() - 1
        assert table.model().headerData(last, Qt.Orientation.Horizontal) == "support"
        right = header.sectionViewportPosition(last) + header.sectionSize(last)
        assert right <= table.viewport().width() and table.horizontalScrollBar().maximum() == 0
        needed = header.sectionSizeFromContents(last).width()
        assert header.sectionSize(last) >= needed


def _diagram(qtbot, config, size):
    from nnstudio.ui.builder.network_diagram import QtNetworkDiagram

    diagram = QtNetworkDiagram()
    qtbot.addWidget(diagram)
    diagram.resize(*size)
    diagram.set_config(config)
    return diagram


def _dense(units, activation="relu"):
    return {"type": "Dense", "units": units, "activation": activation}


NETWORKS = {
    "spiral MLP": {"input_shape": [2], "layers": [_dense(64)] * 3 + [_dense(3, "linear")]},
    "deep MLP": {"input_shape": [2], "layers": [_dense(8)] * 9 + [_dense(2, "linear")]},
    "MNIST CNN": {
        "input_shape": [1, 28, 28],
        "layers": [
            {"type": "Conv2D", "filters": 16, "kernel_size": 3, "activation": "relu"},
            {"type": "MaxPool2D", "pool_size": 2},
            {"type": "Conv2D", "filters": 32, "kernel_size": 3, "activation": "relu"},
            {"type": "MaxPool2D", "pool_size": 2},
            {"type": "Flatten"},
            _dense(128),
            {"type": "Dropout", "rate": 0.3},
            _dense(10, "linear"),
        ],
    },
}


@pytest.mark.parametrize("name", list(NETWORKS))
@pytest.mark.parametrize("size", [(226, 200), (320, 240), (520, 300)])
def test_diagram_labels_never_overlap(qtbot, name, size):
    diagram = _diagram(qtbot, NETWORKS[name], size)
    boxes = diagram.label_boxes()
    assert boxes
    overlapping = [
        (a, b)
        for i, (a, box_a) in enumerate(boxes)
        for b, box_b in boxes[i + 1 :]
        if a != b and box_a.intersects(box_b)
    ]
    assert overlapping == []
    widget = QRectF(diagram.rect())
    assert all(widget.adjusted(-1, -1, 1, 1).contains(box) for _n, box in boxes)


@pytest.mark.parametrize("size", [(226, 200), (320, 240), (180, 170)])
def test_the_neuron_hover_picture_stays_in_the_diagram(qtbot, size):
    diagram = _diagram(qtbot, NETWORKS["spiral MLP"], size)
    widget = QRectF(diagram.rect())
    for number, column in enumerate(diagram.columns[: diagram.shown]):
        for neuron in range(column.neurons or 0):
            picture, caption_rect, caption = diagram.hover_frame(number, neuron)
            assert widget.contains(picture) and widget.contains(caption_rect)
            assert (
                caption and diagram.fontMetrics().horizontalAdvance(caption) <= caption_rect.width()
            )


@pytest.mark.parametrize("size", SIZES)
def test_a_sure_answer_reads_100_percent_whole(make_window, qtbot, size):
    import numpy as np

    window = make_window()
    window.resize(*size)
    window.show()
    qtbot.waitExposed(window)
    window.tabs.setCurrentWidget(window.draw)
    bars = window.draw.bars
    for answer in (0, 4, 9):
        bars.set_probabilities(np.eye(10)[answer])
        QApplication.processEvents()
        ((rect, text),) = bars.value_labels()
        assert text == "100%"
        assert rect.width() >= QFontMetrics(bars.value_font()).horizontalAdvance(text)
        assert QRectF(bars.rect()).contains(rect)
    # A hesitating answer: neighbouring percentages never run into each other.
    bars.set_probabilities(np.array([0.0, 0.21, 0.0, 0.25, 0.19, 0.21, 0.0, 0.02, 0.07, 0.05]))
    labels = [rect for rect, _text in bars.value_labels()]
    assert len(labels) >= 4
    assert not any(a.intersects(b) for i, a in enumerate(labels) for b in labels[i + 1 :])


def test_the_draw_selector_shows_each_model_whole(make_window, qtbot):
    from nnstudio.engine.layers import Dense, Flatten
    from nnstudio.engine.model import Sequential

    window = make_window()
    window.resize(*SIZES[1])
    window.show()
    qtbot.waitExposed(window)
    window.tabs.setCurrentWidget(window.draw)
    draw = window.draw
    draw._bundled_model()
    selector = draw.modelSelector
    model = Sequential([Flatten(), Dense(10)], input_shape=(1, 28, 28))
    draw.set_current_model(model, title="Current model")
    texts = [selector.itemText(i) for i in range(selector.count())]
    texts.append(f"{draw.active_model().title} + drawings")  # a fine-tuned one
    room = _edit_field_width(selector)
    assert [t for t in texts if selector.fontMetrics().horizontalAdvance(t) > room] == []


@pytest.mark.parametrize("size", SIZES)
def test_the_runs_buttons_leave_the_runs_table_whole(make_window, qtbot, size):
    window = make_window()
    window.resize(*size)
    window.show()
    qtbot.waitExposed(window)
    window.runs_dock.raise_()  # tabbed with the other docks on a small screen
    QApplication.processEvents()
    panel = window.runs_panel
    table = panel.table.geometry()
    for button in (panel.compare_button, panel.clear_button):
        assert not button.geometry().intersects(table), button.text()
        assert panel.rect().contains(button.geometry())
