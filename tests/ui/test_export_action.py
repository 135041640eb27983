"""File → Export model…: both formats from the window, and the words when onnx is missing."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from nnstudio.engine.metrics import class_probabilities
from nnstudio.ui.window.export import ONNX_FILTER, PYTHON_FILTER, ExportController


@pytest.fixture
def trained_window(window, monkeypatch):
    # The export reads the window's idle model; its random weights stand in for trained ones.
    monkeypatch.setattr(window.document, "has_trained_weights", lambda: True)
    return window


def choose(monkeypatch, path, chosen_filter):
    monkeypatch.setattr(ExportController, "ask_path", lambda self: (str(path), chosen_filter))


def raw_inputs(window):
    """Inputs as the dataset holds them (the spiral: unscaled points)."""
    from nnstudio.data.dataset import undo_scaling

    return undo_scaling(window.dataset.x_test[:20], window.dataset.scaling)


def test_the_file_menu_has_export_model(window):
    file_menu = window.menuBar().actions()[0].menu()
    assert window.actionExportModel in file_menu.actions()


def test_export_onnx_from_the_window(trained_window, tmp_path, monkeypatch):
    ort = pytest.importorskip("onnxruntime")
    window = trained_window
    choose(monkeypatch, tmp_path / "spiral", ONNX_FILTER)  # the suffix is added
    window.actionExportModel.trigger()
    path = tmp_path / "spiral.onnx"
    assert path.exists(), window.message_bar.text()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    raw = raw_inputs(window)
    probabilities = session.run(["probabilities"], {"input": raw})[0]
    expected = class_probabilities(
        window.model.predict(window.dataset.x_test[:20]), "softmax_crossentropy"
    )
    assert np.abs(probabilities - expected).max() < 1e-5


def test_export_python_from_the_window(trained_window, tmp_path, monkeypatch):
    window = trained_window
    choose(monkeypatch, tmp_path / "spiral_model.py", PYTHON_FILTER)
    window.actionExportModel.trigger()
    script = tmp_path / "spiral_model.py"
    assert script.exists() and (tmp_path / "spiral_model.npz").exists()
    spec = importlib.util.spec_from_file_location("spiral_model", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    expected = window.model.predict(window.dataset.x_test[:20]).argmax(axis=1)
    assert (module.predict(raw_inputs(window)).argmax(axis=1) == expected).all()


def test_without_onnx_the_window_says_how_to_install_it(trained_window, tmp_path, monkeypatch):
    window = trained_window
    monkeypatch.setitem(sys.modules, "onnx", None)
    choose(monkeypatch, tmp_path / "spiral.onnx", ONNX_FILTER)
    window.actionExportModel.trigger()
    assert "pip install 'nnstudio[onnx]'" in window.message_bar.text()
    assert window.message_bar.level == "error" and not (tmp_path / "spiral.onnx").exists()


def test_an_untrained_model_is_not_exported(window, tmp_path, monkeypatch):
    choose(monkeypatch, tmp_path / "spiral.onnx", ONNX_FILTER)
    window.actionExportModel.trigger()
    assert "Train the model first" in window.message_bar.text()
    assert not (tmp_path / "spiral.onnx").exists()


def test_file_open_takes_an_onnx_model(trained_window, ready, tmp_path, monkeypatch):
    pytest.importorskip("onnx")
    window = trained_window
    choose(monkeypatch, tmp_path / "spiral.onnx", ONNX_FILTER)
    window.actionExportModel.trigger()
    state = window.model.state_dict()
    window.files.new_from_preset("xor-net")  # another project is open before
    assert window.files.open_project(tmp_path / "spiral.onnx"), window.message_bar.text()
    ready(window, "spiral")
    assert window.document.name == "spiral"
    for name, value in state.items():
        np.testing.assert_array_equal(window.model.state_dict()[name], value)


def test_file_open_of_a_bad_onnx_file_says_so(window, tmp_path):
    pytest.importorskip("onnx")
    (tmp_path / "broken.onnx").write_bytes(b"\x00\xffno protobuf here" * 8)
    assert not window.files.open_project(tmp_path / "broken.onnx")
    assert "is not an ONNX model" in window.message_bar.text()


@pytest.mark.parametrize("name", ["input-1e12-relu", "metadata-classes-int", "conv-empty-kernel"])
def test_file_open_of_a_hostile_onnx_file_says_so(window, tmp_path, name):
    """Issue 38: an 88-byte file declaring 10**12 inputs, integer class names, an empty
    kernel: a message, never an exception (or gigabytes of memory)."""
    pytest.importorskip("onnx")
    sys.path.insert(0, str(Path(__file__).parent.parent / "fuzz"))
    from hostile_onnx import corpus

    path = tmp_path / f"{name}.onnx"
    path.write_bytes(corpus()[name][0])
    assert not window.files.open_project(path)
    assert window.message_bar.level == "error"
    assert "Could not open the ONNX model" in window.message_bar.text()
