"""The Draw tab: drawing with simulated mouse strokes, clear/undo, the model selector, saliency
and keeping corrected drawings."""

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from nnstudio.engine.model import Sequential
from nnstudio.ui.draw.draw_panel import DrawPanel
from nnstudio.ui.draw.model_input_view import QtModelInputView
from nnstudio.ui.draw.probability_bars import QtProbabilityBars


def arc(cx, cy, rx, ry, start, end, n=24):
    angles = np.radians(np.linspace(start, end, n))
    return list(zip(cx + rx * np.cos(angles), cy + ry * np.sin(angles), strict=True))


# Digits as strokes in unit coordinates (x right, y down), roughly as people write them.
DIGIT_STROKES = {
    0: [arc(0.5, 0.5, 0.26, 0.38, -90, 270, 40)],
    1: [[(0.42, 0.25), (0.55, 0.12), (0.55, 0.88)]],
    2: [arc(0.5, 0.32, 0.24, 0.2, 200, 380, 20) + [(0.68, 0.45), (0.26, 0.88), (0.78, 0.88)]],
    3: [arc(0.48, 0.3, 0.22, 0.18, 200, 450, 20) + arc(0.48, 0.67, 0.26, 0.21, -90, 160, 24)],
    4: [[(0.62, 0.12), (0.22, 0.65), (0.8, 0.65)], [(0.62, 0.3), (0.62, 0.9)]],
    5: [[(0.72, 0.14), (0.34, 0.14), (0.3, 0.45)] + arc(0.5, 0.64, 0.25, 0.23, -140, 150, 24)],
    6: [[(0.68, 0.12), (0.5, 0.25), (0.34, 0.5)] + arc(0.5, 0.68, 0.19, 0.2, 180, 540, 30)],
    7: [[(0.24, 0.14), (0.76, 0.14), (0.42, 0.9)]],
    8: [arc(0.5, 0.3, 0.18, 0.17, 90, 450, 28) + arc(0.5, 0.67, 0.22, 0.2, -90, 270, 30)],
    9: [arc(0.48, 0.32, 0.2, 0.18, 10, 370, 28) + [(0.66, 0.5), (0.6, 0.9)]],
}

# How people draw: pen width in ink pixels (the canvas is 280 wide) and placement.
STYLES = {
    "normal": {"scale": 0.8, "pen": 20},
    "thin": {"scale": 0.8, "pen": 7},
    "thick": {"scale": 0.8, "pen": 40},
    "slanted": {"scale": 0.8, "slant": 0.35, "pen": 18},
    "small": {"scale": 0.3, "dx": 0.1, "dy": -0.15, "pen": 14},
    "off-centre": {"scale": 0.55, "dx": -0.2, "dy": 0.2, "pen": 20},
}


def styled(strokes, scale=0.8, dx=0.0, dy=0.0, slant=0.0, pen=20):
    """Strokes scaled about the centre, sheared by ``slant`` and moved by (dx, dy)."""
    return [
        [
            (0.5 + dx + ((x - 0.5) + slant * (0.5 - y)) * scale, 0.5 + dy + (y - 0.5) * scale)
            for x, y in stroke
        ]
        for stroke in strokes
    ]


def densify(stroke, step=0.012):
    """Mouse positions every ~3 canvas pixels along the polyline, as a real mouse reports."""
    points = [stroke[0]]
    for (x0, y0), (x1, y1) in zip(stroke, stroke[1:], strict=False):
        count = max(1, int(np.hypot(x1 - x0, y1 - y0) / step))
        points += [
            (x0 + (x1 - x0) * k / count, y0 + (y1 - y0) * k / count) for k in range(1, count + 1)
        ]
    return points


def draw(canvas, strokes, pen=20):
    """Draw unit-coordinate strokes on the canvas with simulated press/move/release."""
    canvas.set_pen_width(pen)
    rect = canvas.ink_rect()

    def at(point):
        return QPoint(
            round(rect.left() + point[0] * rect.width()),
            round(rect.top() + point[1] * rect.height()),
        )

    left, none = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    for stroke in strokes:
        points = densify(stroke)
        QTest.mousePress(canvas, left, none, at(points[0]))
        for point in points[1:]:
            QTest.mouseMove(canvas, at(point))
        QTest.mouseRelease(canvas, left, none, at(points[-1]))


def draw_digit(panel, digit, style="normal"):
    settings = dict(STYLES[style])
    pen = settings.pop("pen")
    draw(panel.canvas, styled(DIGIT_STROKES[digit], **settings), pen)


@pytest.fixture
def panel(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("NNSTUDIO_DATA_DIR", str(tmp_path / "data"))
    widget = DrawPanel()
    qtbot.addWidget(widget)
    widget.resize(900, 600)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_named_children_exist(panel):
    assert panel.findChild(type(panel.canvas), "digitCanvas") is panel.canvas
    assert panel.findChild(type(panel.prediction), "digitPrediction") is panel.prediction
    assert isinstance(panel.findChild(QtProbabilityBars, "digitProbabilities"), QtProbabilityBars)
    assert isinstance(panel.findChild(QtModelInputView, "digitModelInput"), QtModelInputView)


def test_empty_canvas_asks_for_a_digit(panel):
    assert panel.prediction.text() == "?"
    assert panel.certainty.text() == "Draw a digit"
    assert panel.bars.probabilities() is None
    assert not panel.keepButton.isEnabled()


def test_drawing_a_digit_with_the_mouse_gives_a_prediction(panel):
    draw_digit(panel, 7)
    assert panel.canvas.stroke_count() == 1
    assert panel.prediction.text() == "7"
    probabilities = panel.bars.probabilities()
    assert probabilities.shape == (10,) and probabilities.sum() == pytest.approx(1.0)
    assert panel.inputView.digit().shape == (28, 28)
    assert panel.inputView.digit().max() == pytest.approx(1.0)


@pytest.mark.parametrize("style", list(STYLES))
def test_digits_drawn_in_several_styles_are_read_right(panel, style):
    read = {}
    for digit in DIGIT_STROKES:
        panel.canvas.clear()
        draw_digit(panel, digit, style)
        read[digit] = panel.prediction.text()
    wrong = {digit: answer for digit, answer in read.items() if answer != str(digit)}
    assert len(wrong) <= 1, f"{style}: misread {wrong}"


def test_prediction_updates_while_drawing(panel, qtbot):
    canvas = panel.canvas
    rect = canvas.ink_rect()
    start = QPoint(round(rect.center().x()), round(rect.top() + 30))
    QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    for step in range(1, 40):
        QTest.mouseMove(canvas, start + QPoint(0, step * 6))
    # The stroke is not finished, yet the throttled answer arrives.
    qtbot.waitUntil(lambda: panel.prediction.text() != "?", timeout=2000)
    assert panel.inputView.digit() is not None
    QTest.mouseRelease(
        canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start + QPoint(0, 234)
    )


def test_undo_removes_the_last_stroke_and_clear_everything(panel):
    draw_digit(panel, 4)  # two strokes
    both = panel.canvas.ink().copy()
    assert panel.canvas.stroke_count() == 2
    QTest.keyClick(panel.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert panel.canvas.stroke_count() == 1
    assert 0 < panel.canvas.ink().sum() < both.sum()
    panel.undoButton.click()
    assert panel.canvas.is_empty() and panel.canvas.ink().max() == 0.0
    assert panel.prediction.text() == "?"

    draw_digit(panel, 1)
    QTest.keyClick(panel.canvas, Qt.Key.Key_Escape)
    assert panel.canvas.is_empty() and panel.prediction.text() == "?"
    draw_digit(panel, 1)
    QTest.mouseClick(
        panel.canvas,
        Qt.MouseButton.RightButton,
        Qt.KeyboardModifier.NoModifier,
        panel.canvas.rect().center(),
    )
    assert panel.canvas.is_empty()
    draw_digit(panel, 1)
    panel.clearButton.click()
    assert panel.canvas.is_empty() and panel.certainty.text() == "Draw a digit"


def test_black_on_white_changes_the_look_not_the_input(panel):
    draw_digit(panel, 3)
    ink = panel.canvas.ink().copy()
    white_on_black = panel.canvas.grab().toImage()
    panel.colours.setCurrentIndex(1)
    assert panel.canvas.black_on_white()
    assert np.array_equal(panel.canvas.ink(), ink)
    black_on_white = panel.canvas.grab().toImage()
    top_left = panel.canvas.ink_rect().topLeft()
    corner = round(top_left.x()) + 6, round(top_left.y()) + 6
    assert white_on_black.pixelColor(*corner).lightness() < 60
    assert black_on_white.pixelColor(*corner).lightness() > 200
    assert panel.canvas.ink()[2, 2] == 0.0  # the model still gets ink on black


def test_pen_width_slider_sets_stroke_width(panel):
    panel.penWidth.setValue(8)
    draw(panel.canvas, [[(0.2, 0.5), (0.8, 0.5)]], pen=panel.canvas.pen_width())
    thin = panel.canvas.ink().sum()
    panel.canvas.clear()
    panel.penWidth.setValue(32)
    draw(panel.canvas, [[(0.2, 0.5), (0.8, 0.5)]], pen=panel.canvas.pen_width())
    assert panel.canvas.ink().sum() > 3 * thin


def test_saliency_overlay_shows_the_input_gradient(panel):
    draw_digit(panel, 0)
    assert panel.inputView.saliency() is None
    panel.saliencyCheck.setChecked(True)
    saliency = panel.inputView.saliency()
    assert saliency is not None and saliency.shape == (28, 28)
    assert np.abs(saliency).max() > 0


def small_dense_model(outputs=10, input_shape=(1, 28, 28)):
    config = {
        "input_shape": list(input_shape),
        "layers": [{"type": "Flatten"}, {"type": "Dense", "units": outputs}],
    }
    return Sequential.from_config(config, seed=1)


def test_current_model_is_offered_selected_and_removed(panel):
    draw_digit(panel, 7)
    bundled_probabilities = panel.probabilities()
    assert panel.modelSelector.count() == 1
    model = small_dense_model()
    assert panel.set_current_model(model, title="My CNN") is True
    assert panel.modelSelector.count() == 2
    assert panel.modelSelector.currentText() == "My CNN"
    assert panel.active_model().model is model
    expected = np.exp(model.forward(panel.prepared_digit()[None, None]))
    assert np.allclose(panel.probabilities(), (expected / expected.sum()).ravel(), atol=1e-5)
    assert not np.allclose(panel.probabilities(), bundled_probabilities)
    panel.set_current_model(None)
    assert panel.modelSelector.count() == 1
    assert np.allclose(panel.probabilities(), bundled_probabilities)


def test_current_model_with_flat_input_and_class_names(panel):
    names = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    assert panel.set_current_model(small_dense_model(input_shape=(784,)), class_names=names)
    draw_digit(panel, 1)
    assert panel.prediction.text() in names


def test_model_that_does_not_take_28x28_images_is_refused(panel):
    assert panel.set_current_model(small_dense_model(outputs=2, input_shape=(2,))) is False
    assert panel.modelSelector.count() == 1
    assert "28×28" in panel.modelSelector.toolTip()


def test_wrong_answer_keeps_the_drawing_with_its_label(panel, tmp_path, qtbot):
    draw_digit(panel, 7)
    panel.correctLabel.setCurrentIndex(1)
    with qtbot.waitSignal(panel.drawingSaved) as saved:
        panel.keepButton.click()
    path, count = saved.args
    assert count == 1
    with np.load(path) as data:
        assert data["X"].shape == (1, 1, 28, 28)
        assert data["y"].tolist() == [1]
        assert np.allclose(data["X"][0, 0], panel.prepared_digit())
    assert "My drawings" in panel.keptStatus.text()  # the picker entry, not a raw npz: path


def test_every_control_has_a_tooltip(panel):
    from PySide6.QtWidgets import QAbstractButton, QComboBox, QSlider

    for kind in (QAbstractButton, QComboBox, QSlider):
        for control in panel.findChildren(kind):
            assert control.toolTip(), f"{control.objectName() or control.text()} has no tooltip"


def test_untrained_current_model_is_listed_but_not_selected(panel):
    assert panel.set_current_model(small_dense_model(), title="Fresh", trained=False)
    assert panel.modelSelector.count() == 2
    assert panel.modelSelector.currentText().startswith("Bundled")
    assert panel.modelSelector.itemText(1) == "Fresh (not trained)"


def test_current_model_ending_in_softmax_is_not_softmaxed_twice(panel):
    config = {
        "input_shape": [1, 28, 28],
        "layers": [{"type": "Flatten"}, {"type": "Dense", "units": 10, "activation": "softmax"}],
    }
    model = Sequential.from_config(config, seed=3)
    panel.set_current_model(model)
    draw_digit(panel, 3)
    expected = model.forward(panel.prepared_digit()[None, None]).ravel()
    assert np.allclose(panel.probabilities(), expected, atol=1e-5)
