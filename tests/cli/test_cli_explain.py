"""``nnstudio explain``: the walk-through as text and JSON, and one-line errors (exit 2)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nnstudio.cli import main
from nnstudio.engine.io import load_model
from nnstudio.engine.losses import get_loss


@pytest.fixture(scope="module")
def spiral_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("explain") / "spiral.nnz"
    code = main(
        [
            "train",
            "--dataset",
            "spiral",
            "--classes",
            "3",
            "--layers",
            "Dense(16,relu),Dense(3)",
            "--optimizer",
            "sgd",
            "--lr",
            "0.1",
            "--epochs",
            "3",
            "--out",
            str(path),
            "--json",
        ]
    )
    assert code == 0
    return path


def one_line_error(capsys, *words) -> None:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("nnstudio: error:"), err
    for word in words:
        assert word in err[0], err[0]


def test_json_has_the_whole_pass(spiral_model, capsys):
    capsys.readouterr()
    assert main(["explain", str(spiral_model), "--index", "4", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["index"] == 4 and data["dataset"] == "spiral"
    assert np.shape(data["input"]) == (2,)
    names = [layer["name"] for layer in data["layers"]]
    assert names == ["0 Dense", "1 Dense"]
    for layer in data["layers"]:
        assert {"z", "output", "grad_output", "grad_z"} <= set(layer)
    bundle = load_model(spiral_model)
    params = bundle.model.parameters()
    assert set(data["gradients"]) == set(params)
    for name, value in params.items():
        assert np.shape(data["gradients"][name]) == value.shape
    # the same numbers as the engine's loss on the model's own outputs
    outputs = bundle.model.forward(np.asarray([data["input"]], np.float32))
    value, grad = get_loss(bundle.loss).value_and_grad(outputs, np.array([data["target"]]))
    assert data["loss"]["name"] == "softmax_crossentropy"
    assert data["loss"]["value"] == pytest.approx(value, rel=1e-5)
    assert "log" in data["loss"]["formula"]
    np.testing.assert_allclose(data["layers"][-1]["grad_output"], grad[0], rtol=1e-5)
    # the model was trained with SGD lr 0.1: one step is −0.1·g
    np.testing.assert_allclose(
        data["update"]["1.W"]["change"],
        -0.1 * np.asarray(data["gradients"]["1.W"]),
        rtol=1e-4,
        atol=1e-7,
    )
    assert data["gradient_check"]["max_relative_error"] < 1e-5


def test_text_walkthrough(spiral_model, capsys):
    capsys.readouterr()
    assert main(["explain", str(spiral_model), "--dataset", "spiral", "--index", "0"]) == 0
    out = capsys.readouterr().out
    for words in ("Forward pass", "z = x·W + b", "−log p_", "Backward pass", "SGD step", "check"):
        assert words in out, words


def test_another_optimizer_can_be_previewed(spiral_model, capsys):
    capsys.readouterr()
    args = ["explain", str(spiral_model), "--optimizer", "adam", "--lr", "0.01", "--json"]
    assert main(args) == 0
    update = json.loads(capsys.readouterr().out)["update"]["0.b"]
    assert {"m", "v", "m̂", "v̂"} <= set(update["terms"])
    # Adam's first step moves every weight with a gradient by about lr
    moved = np.abs(np.asarray(update["change"]))
    assert moved.max() == pytest.approx(0.01, rel=1e-3)


def test_index_out_of_range(spiral_model, capsys):
    assert main(["explain", str(spiral_model), "--index", "99999"]) == 2
    one_line_error(capsys, "out of range", "99999")


def test_dataset_that_does_not_fit(spiral_model, capsys):
    assert main(["explain", str(spiral_model), "--dataset", "circle"]) == 2
    one_line_error(capsys, "circle")


def test_not_a_model_file(tmp_path, capsys):
    fake = tmp_path / "model.nnz"
    fake.write_text("not a model")
    assert main(["explain", str(fake), "--dataset", "spiral"]) == 2
    one_line_error(capsys, "model.nnz")


def test_missing_file(tmp_path, capsys):
    assert main(["explain", str(tmp_path / "nothing.nnz"), "--dataset", "spiral"]) == 2
    one_line_error(capsys, "nothing.nnz")
