"""Drawings that teach (issue 21, item 4): "MNIST + my drawings" in the Data dock's picker,
and the Draw tab's "Fine-tune on my drawings" on a worker thread with the accuracies before and
after, and a choice to keep or undo the new weights."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from nnstudio.data.digits import add_drawing
from nnstudio.data.drawings_mix import MIX_NAME, MIX_TITLE
from nnstudio.engine.layers import Dense, Flatten
from nnstudio.engine.model import Sequential
from nnstudio.ui.draw import draw_panel as draw_module
from nnstudio.ui.draw import fine_tune as fine_tune_module
from tests.data.conftest import write_mnist_like
from tests.ui.test_main_window import app_look  # noqa: F401 - a fixture


@pytest.fixture
def kept_drawings(isolated_settings, monkeypatch):
    """Ten kept drawings (a bar in its own row per digit) and a small MNIST-like set."""
    for digit in range(10):
        image = np.zeros((28, 28), np.float32)
        image[2 * digit + 3, 4:24] = 1.0
        add_drawing(image, digit)
    mnist = write_mnist_like(isolated_settings / "mnist", n_train=200, n_test=60, side=28)
    monkeypatch.setenv("NNSTUDIO_MNIST_DIR", str(mnist))
    # Quick and decisive on a tiny model: the real default is a gentle 3e-4.
    monkeypatch.setattr(fine_tune_module, "fine_tune", _fast(fine_tune_module.fine_tune))
    return isolated_settings


def _fast(real):
    def fine_tune(*args, **kwargs):
        fine_tune.threads.append(threading.current_thread())
        return real(*args, learning_rate=0.05, **kwargs)

    fine_tune.threads = []
    return fine_tune


def _tiny_model_window(make_window):
    window = make_window()
    model = Sequential([Flatten(), Dense(10)], input_shape=(1, 28, 28), seed=3)
    assert window.draw.set_current_model(model, title="Tiny")
    window.tabs.setCurrentWidget(window.draw)
    return window


def _finish(qtbot, draw):
    with qtbot.waitSignal(draw.fineTune.tuned, timeout=60_000) as blocker:
        draw.fineTune.startButton.click()
        # Started on a worker: the click returned at once and the tab still answers.
        assert draw.fineTune.is_running()
        assert draw.fineTune.startButton.text() == "Stop fine-tuning"
        draw.predict()
    return blocker.args[1]


def test_fine_tune_reports_before_and_after_then_undo(make_window, qtbot, kept_drawings):
    window = _tiny_model_window(make_window)
    draw = window.draw
    assert draw.fineTune.startButton.isEnabled()
    result = _finish(qtbot, draw)
    assert fine_tune_module.fine_tune.threads[-1] is not threading.main_thread()
    assert result.drawings == 10 and result.drawings_after > result.drawings_before
    status = draw.fineTune.status.text()
    assert "Your 10 drawings" in status and "MNIST test" in status and "→" in status
    assert draw.modelSelector.currentData() == draw_module.TUNED
    assert draw.active_model().model is result.model
    box = draw.fineTune
    assert box.keepButton.isVisibleTo(draw) and box.undoButton.isVisibleTo(draw)
    draw.fineTune.undoButton.click()
    assert draw.modelSelector.findData(draw_module.TUNED) < 0
    assert draw.active_model().title == "Tiny"
    assert not draw.fineTune.keepButton.isVisibleTo(draw)


def test_kept_weights_stay_in_the_model_list(make_window, qtbot, kept_drawings):
    window = _tiny_model_window(make_window)
    draw = window.draw
    result = _finish(qtbot, draw)
    draw.fineTune.keepButton.click()
    assert draw.active_model().model is result.model
    assert draw.modelSelector.currentText() == "Tiny + drawings"
    assert "Kept" in draw.fineTune.status.text()
    # A second fine-tune starts from the kept one and can be undone back to it.
    _finish(qtbot, draw)
    draw.fineTune.undoButton.click()
    assert draw.active_model().model is result.model


def test_closing_the_window_stops_a_fine_tune(make_window, qtbot, kept_drawings):
    window = _tiny_model_window(make_window)
    window.draw.fineTune.startButton.click()
    window.close()
    assert not window.draw.fineTune._runner.busy() or window.draw.fineTune._control.stopped


def test_mnist_with_drawings_is_offered_and_says_how_they_count(make_window, qtbot, kept_drawings):
    window = make_window()
    picker = window.data_panel.picker
    index = picker.findText(MIX_TITLE)
    assert index >= 0 and picker.itemData(index) == MIX_NAME
    picker.setCurrentIndex(index)
    qtbot.waitUntil(lambda: getattr(window.dataset, "name", "") == MIX_NAME, timeout=20_000)
    assert window.dataset.drawing_count == 10
    text = window.data_panel.message.text()
    assert "each repeated once" in text and "10 of the 180 training images" in text
    assert "validation and test are MNIST only" in text
    assert not window.data_panel.options.test_percent.isVisibleTo(window.data_panel)


@pytest.mark.usefixtures("app_look")
def test_the_result_keeps_the_window_on_a_laptop_screen(make_window, qtbot, kept_drawings):
    """The result lines and the Keep / Undo buttons once made the window wider and taller."""
    window = _tiny_model_window(make_window)
    _finish(qtbot, window.draw)
    hint = window.minimumSizeHint()
    assert hint.width() <= 1366 and hint.height() <= 700, hint
