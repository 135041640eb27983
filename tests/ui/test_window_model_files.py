"""Model files in the window: Open a .nnz, Save Model…, a file of the wrong kind, and the
Draw tab's "Open model file…" (issue 21, item 1)."""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QFileDialog

from nnstudio.engine.io import load_model
from nnstudio.paths import resource_path


def _train(qtbot, window):
    window.hyperparameters.epochs_box.setValue(2)
    with qtbot.waitSignal(window.training_finished, timeout=30_000):
        window.actionTrain.trigger()


def test_save_model_then_open_it_as_a_project(qtbot, make_window, ready, tmp_path, monkeypatch):
    window = make_window()
    _train(qtbot, window)
    target = tmp_path / "mine.nnz"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    window.actionSaveModel.trigger()
    saved = load_model(target)
    assert saved.metadata["dataset"]["name"] == "spiral"

    other = make_window()
    other.files.new_from_preset("xor-net")  # another project is open before
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(target), ""))
    other.actionOpen.trigger()
    ready(other, "spiral")
    assert other.document.name == "mine"
    assert len(other.document.model["layers"]) == len(saved.model.layers)
    for name, value in saved.model.state_dict().items():
        np.testing.assert_array_equal(other.model.state_dict()[name], value)
    assert not other.message_bar.isVisible() or "Could not" not in other.message_bar.text()


def test_a_file_of_the_wrong_kind_says_what_it_is(make_window, tmp_path):
    window = make_window()
    image = tmp_path / "picture.nnsproj"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    layers_before = window.document.model
    assert not window.open_project(image)
    text = window.message_bar.text()
    assert "PNG image" in text and ".nnsproj" in text and ".nnz" in text
    assert "codec" not in text
    assert window.document.model == layers_before


def test_a_binary_file_named_like_a_project_gets_no_codec_error(make_window, tmp_path):
    window = make_window()
    junk = tmp_path / "junk.nnsproj"
    junk.write_bytes(b"\xe4\x00\x01binary")
    assert not window.open_project(junk)
    assert "codec" not in window.message_bar.text()
    assert "binary file" in window.message_bar.text()


def test_draw_tab_opens_a_model_file(make_window, tmp_path):
    window = make_window()
    draw = window.draw
    bundled = resource_path("models", "digit-model.nnz")
    assert draw.open_model_file(bundled)
    assert draw.modelSelector.currentText().endswith("(file)")
    assert draw.active_model().title == "digit-model"

    spiral = tmp_path / "spiral.nnz"
    window.files.save_weights(spiral)
    assert not draw.open_model_file(spiral)  # takes 2 numbers, not a 28×28 image
    assert "28×28" in draw.modelStatus.text()
    assert draw.active_model().title == "digit-model"
