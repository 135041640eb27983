"""Evaluation (Qt-free): the command line and the Evaluate tab get the same numbers from it,
probabilities for one sigmoid output, mistakes in order, saliency, and refusals in words."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from nnstudio.data import load_dataset
from nnstudio.engine.fit import FitConfig, fit
from nnstudio.engine.layers import Dense, Flatten
from nnstudio.engine.losses import get_loss
from nnstudio.engine.model import Sequential
from nnstudio.engine.optimizers import get_optimizer
from nnstudio.project.evaluation import (
    cell_examples,
    check_fits,
    evaluate,
    evaluate_dataset,
)

MOONS = {"samples": 200, "noise": 0.3, "seed": 0}


def trained(dataset, loss_name: str, outputs: int):
    model = Sequential(
        [Dense(8, activation="relu"), Dense(outputs)], input_shape=dataset.input_shape, seed=0
    )
    fit(
        model,
        get_loss(loss_name),
        get_optimizer("adam", lr=0.02),
        dataset.x_train,
        dataset.y_train,
        FitConfig(epochs=3, batch_size=32, seed=0),
    )
    return model


@pytest.fixture(scope="module")
def moons():
    return load_dataset("moons", **MOONS)


def test_the_evaluate_command_prints_what_the_evaluate_tab_shows(moons, tmp_path, capsys):
    from nnstudio.cli import main
    from nnstudio.engine.io import save_model

    model = trained(moons, "softmax_crossentropy", 2)
    path = save_model(
        tmp_path / "moons.nnz",
        model,
        class_names=moons.class_names,
        preprocessing=moons.preprocessing(),
        metadata={"dataset": {"name": "moons", "options": MOONS}},
    )
    assert main(["evaluate", str(path), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    shown = evaluate_dataset(model, "softmax_crossentropy", moons)["report"]
    assert printed["samples"] == shown["samples"] == len(moons.x_test)
    assert printed["confusion_matrix"] == shown["confusion_matrix"]
    for key in ("accuracy", "loss"):
        assert printed[key] == pytest.approx(shown[key], rel=1e-12)
    assert [row["class"] for row in shown["per_class"]] == moons.class_names


def test_one_sigmoid_output_gives_two_probability_columns_and_ordered_mistakes(moons):
    model = trained(moons, "binary_crossentropy", 1)
    result = evaluate_dataset(model, "binary_crossentropy", moons)
    probabilities = result["probabilities"]
    logits = model.predict(moons.x_test)[:, 0]
    np.testing.assert_allclose(probabilities[:, 1], 1.0 / (1.0 + np.exp(-logits)), rtol=1e-5)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)
    assert result["y_pred"].tolist() == probabilities.argmax(axis=1).tolist()
    assert result["report"]["confusion_matrix"] != [[0, 0], [0, 0]]
    mistakes = result["mistakes"]
    assert len(mistakes) > 0, "three epochs on noisy moons should leave mistakes"
    assert all(result["y_true"][mistakes] != result["y_pred"][mistakes])
    confidence = probabilities[mistakes, result["y_pred"][mistakes]]
    assert all(np.diff(confidence) <= 0)  # most confident first
    assert result["saliency"] is None  # points, not images
    cell = cell_examples(result, 1, 0)
    assert sorted(cell.tolist()) == sorted(
        np.flatnonzero((result["y_true"] == 1) & (result["y_pred"] == 0)).tolist()
    )


def test_regression_predictions_are_the_outputs():
    dataset = load_dataset("plane", samples=200, noise=0.05, seed=0)
    model = trained(dataset, "mse", 1)
    result = evaluate_dataset(model, "mse", dataset)
    assert result["y_pred"].shape == np.shape(dataset.y_test)  # reads like the targets
    np.testing.assert_allclose(
        np.ravel(result["y_pred"]), model.predict(dataset.x_test)[:, 0], rtol=1e-6
    )
    assert {"mse", "rmse", "mae", "r2", "loss"} <= set(result["report"])
    assert result["report"]["loss"] == pytest.approx(result["report"]["mse"], rel=1e-5)
    assert "probabilities" not in result


def test_saliency_of_the_mistakes_unless_cancelled():
    rng = np.random.default_rng(0)
    x = rng.random((30, 1, 4, 4)).astype(np.float32)
    y = rng.integers(0, 3, 30)
    model = Sequential([Flatten(), Dense(3)], input_shape=(1, 4, 4), seed=0)
    result = evaluate(model, "softmax_crossentropy", x, y, saliency=True)
    mistakes = result["mistakes"]
    expected = model.input_gradient(x[mistakes], class_index=result["y_pred"][mistakes])
    np.testing.assert_allclose(result["saliency"], expected, rtol=1e-6)
    cancel = threading.Event()
    cancel.set()
    cancelled = evaluate(model, "softmax_crossentropy", x, y, saliency=True, cancel=cancel)
    assert cancelled["saliency"] is None
    assert cancelled["report"] == result["report"]


def test_a_model_that_does_not_fit_the_dataset_is_refused_in_words(moons):
    loss = get_loss("softmax_crossentropy")
    with pytest.raises(ValueError, match=r"inputs of shape \(5,\) but dataset 'moons' has \(2,"):
        check_fits(Sequential([Dense(2)], input_shape=(5,)), loss, moons)
    with pytest.raises(ValueError, match="3 outputs but dataset 'moons' has 2 classes"):
        check_fits(Sequential([Dense(3)], input_shape=(2,)), loss, moons)
    with pytest.raises(ValueError, match="'mse', a regression loss, but dataset 'moons' is a"):
        check_fits(Sequential([Dense(2)], input_shape=(2,)), get_loss("mse"), moons)
    with pytest.raises(ValueError, match="1 outputs"):  # softmax of one output is always 1
        check_fits(Sequential([Dense(1)], input_shape=(2,)), loss, moons)
    check_fits(Sequential([Dense(1)], input_shape=(2,)), get_loss("binary_crossentropy"), moons)
