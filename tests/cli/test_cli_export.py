"""``nnstudio export`` and ``nnstudio import``: files written, exit codes, one-line errors."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import numpy as np
import pytest

from nnstudio.cli import main
from nnstudio.engine.io import load_model
from nnstudio.paths import resource_path

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

DIGIT_MODEL = str(resource_path("models/digit-model.nnz"))


def one_line_error(capsys, *words) -> None:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("nnstudio: error:"), err
    for word in words:
        assert word in err[0], err[0]


def test_export_onnx_then_import_gives_the_same_predictions(tmp_path, capsys):
    out = tmp_path / "digits.onnx"
    assert main(["export", DIGIT_MODEL, "--format", "onnx", "--out", str(out)]) == 0
    pixels = np.random.default_rng(0).integers(0, 256, (8, 1, 28, 28)).astype(np.float32)
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    probabilities = session.run(["probabilities"], {"input": pixels})[0]
    original = load_model(DIGIT_MODEL)
    expected = original.model.predict(pixels * np.float32(1 / 255))
    assert (probabilities.argmax(axis=1) == expected.argmax(axis=1)).all()

    back = tmp_path / "back.nnz"
    assert main(["import", str(out), "--out", str(back)]) == 0
    imported = load_model(back)
    x = pixels * np.float32(1 / 255)
    np.testing.assert_array_equal(imported.model.predict(x), expected)
    assert imported.class_names == original.class_names
    assert "Imported" in capsys.readouterr().err


def test_export_python_writes_the_script_and_its_weights(tmp_path):
    out = tmp_path / "digit_model.py"
    assert main(["export", DIGIT_MODEL, "--format", "python", "--out", str(out)]) == 0
    assert (tmp_path / "digit_model.npz").exists()
    spec = importlib.util.spec_from_file_location("digit_model", out)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    pixels = np.random.default_rng(1).integers(0, 256, (4, 1, 28, 28)).astype(np.float32)
    expected = load_model(DIGIT_MODEL).model.predict(pixels * np.float32(1 / 255))
    assert (module.predict(pixels).argmax(axis=1) == expected.argmax(axis=1)).all()
    names = module.CLASS_NAMES
    assert names == [str(k) for k in range(10)]


def test_a_file_that_is_not_onnx_is_exit_2_in_one_line(tmp_path):
    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"\x00\x01not a protobuf at all\xff" * 10)
    result = subprocess.run(
        [sys.executable, "-m", "nnstudio", "import", str(bad), "--out", str(tmp_path / "m.nnz")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "is not an ONNX model" in lines[0], result.stderr
    assert not (tmp_path / "m.nnz").exists()


def test_an_unsupported_node_is_exit_2_naming_it(tmp_path, capsys):
    helper = onnx.helper
    graph = helper.make_graph(
        [
            helper.make_node("Relu", ["x"], ["r"]),
            helper.make_node("Erf", ["r"], ["y"], name="erf7"),
        ],
        "g",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["N", 3])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["N", 3])],
    )
    path = tmp_path / "erf.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    assert main(["import", str(path), "--out", str(tmp_path / "m.nnz")]) == 2
    one_line_error(capsys, "'erf7' (Erf)")
    assert not (tmp_path / "m.nnz").exists()


@pytest.mark.parametrize("kind", ["onnx", "python"])
def test_a_read_only_folder_is_exit_2_and_nothing_is_written(read_only_folder, capsys, kind):
    out = read_only_folder / ("model.onnx" if kind == "onnx" else "model.py")
    assert main(["export", DIGIT_MODEL, "--format", kind, "--out", str(out)]) == 2
    one_line_error(capsys, "not writable")
    assert list(read_only_folder.iterdir()) == []


def test_import_into_a_read_only_folder_is_exit_2(tmp_path, read_only_folder, capsys):
    model = tmp_path / "digits.onnx"
    assert main(["export", DIGIT_MODEL, "--format", "onnx", "--out", str(model)]) == 0
    capsys.readouterr()
    assert main(["import", str(model), "--out", str(read_only_folder / "m.nnz")]) == 2
    one_line_error(capsys, "not writable")
    assert list(read_only_folder.iterdir()) == []


def test_without_onnx_the_error_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now raises ImportError
    out = tmp_path / "digits.onnx"
    assert main(["export", DIGIT_MODEL, "--format", "onnx", "--out", str(out)]) == 2
    one_line_error(capsys, "pip install 'nnstudio[onnx]'")
    assert not out.exists()
    # The Python export needs no onnx.
    assert main(["export", DIGIT_MODEL, "--format", "python", "--out", str(tmp_path / "m.py")]) == 0


def test_export_needs_a_format():
    assert main(["export", DIGIT_MODEL, "--out", "x.onnx"]) == 2
