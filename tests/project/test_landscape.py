"""The loss landscape: grid values are the engine's loss at moved weights (as `evaluate`
computes it), random directions are normalized per unit, and the model is left as it was."""

import json

import numpy as np
import pytest

from nnstudio.cli import main
from nnstudio.data.catalog import load_dataset
from nnstudio.engine.io import load_model, save_model
from nnstudio.engine.layers import Dense
from nnstudio.engine.model import Sequential
from nnstudio.project.evaluation import mean_loss
from nnstudio.project.landscape import (
    loss_slice,
    parse_weight,
    random_directions,
    weight_directions,
)

CIRCLE = ["--dataset", "circle", "--samples", "200"]


@pytest.fixture
def model():
    model = Sequential([Dense(8, activation="relu"), Dense(2)], input_shape=(2,), seed=3)
    return model


@pytest.fixture
def circle():
    data = load_dataset("circle", samples=200)
    return data.x_test, data.y_test


def test_a_weight_is_named_with_its_index(model):
    parameters = model.parameters()
    assert parse_weight("0.W[1,3]", parameters) == ("0.W", (1, 3))
    assert parse_weight(" 1.b[0] ", parameters) == ("1.b", (0,))
    for bad, words in [("0.W[2,0]", "outside"), ("9.W[0,0]", "no parameter"), ("0.W", "index")]:
        with pytest.raises(ValueError, match=words):
            parse_weight(bad, parameters)


def test_each_grid_point_is_the_loss_at_the_moved_weights(model, circle):
    x, y = circle
    before = {name: value.copy() for name, value in model.parameters().items()}
    directions = weight_directions(model, "0.W[0,1]", "1.b[1]")
    result = loss_slice(model, "softmax_crossentropy", x, y, directions, steps=3, span=0.5)
    for i, a in enumerate(result.x):
        for j, b in enumerate(result.y):
            moved = Sequential.from_config(model.config())
            moved.load_state_dict(model.state_dict())
            moved.parameters()["0.W"][0, 1] += np.float32(a)
            moved.parameters()["1.b"][1] += np.float32(b)
            assert result.loss[i][j] == mean_loss(moved, "softmax_crossentropy", x, y)
    assert result.loss[1][1] == result.center_loss == mean_loss(model, "softmax_crossentropy", x, y)
    for name, value in model.parameters().items():  # the model is as it was, bit for bit
        np.testing.assert_array_equal(value, before[name])


def test_random_directions_are_scaled_to_each_units_weights(model):
    directions = random_directions(model, seed=5)
    for name, weights in model.parameters().items():
        for direction in (directions.first[name], directions.second[name]):
            if weights.ndim == 1:
                assert not direction.any()  # biases stay put
            else:
                np.testing.assert_allclose(
                    np.linalg.norm(direction, axis=0), np.linalg.norm(weights, axis=0), rtol=1e-5
                )
    again = random_directions(model, seed=5)
    np.testing.assert_array_equal(again.first["0.W"], directions.first["0.W"])


def test_the_command_line_grid_matches_evaluate_on_a_file_with_two_weights_moved(
    tmp_path, capsys, model
):
    path = tmp_path / "m.nnz"
    save_model(path, model, loss="softmax_crossentropy")
    code = main(["landscape", str(path), *CIRCLE, "--weights", "0.W[1,2]", "1.W[3,0]",
                 "--steps", "3", "--span", "0.25", "--json"])  # fmt: skip
    assert code == 0
    grid = json.loads(capsys.readouterr().out)
    assert grid["x"] == [-0.25, 0.0, 0.25] and grid["axes"] == ["0.W[1,2]", "1.W[3,0]"]
    bundle = load_model(path)
    bundle.model.parameters()["0.W"][1, 2] += np.float32(0.25)  # x[2]
    bundle.model.parameters()["1.W"][3, 0] += np.float32(-0.25)  # y[0]
    moved = tmp_path / "moved.nnz"
    save_model(moved, bundle.model, loss="softmax_crossentropy")
    assert main(["evaluate", str(moved), *CIRCLE, "--json"]) == 0
    assert grid["loss"][2][0] == pytest.approx(json.loads(capsys.readouterr().out)["loss"], 1e-6)
    assert main(["evaluate", str(path), *CIRCLE, "--json"]) == 0
    assert grid["center_loss"] == pytest.approx(json.loads(capsys.readouterr().out)["loss"], 1e-6)


def test_a_bad_weight_name_is_one_line_and_exit_2(tmp_path, capsys, model):
    path = tmp_path / "m.nnz"
    save_model(path, model, loss="softmax_crossentropy")
    assert main(["landscape", str(path), *CIRCLE, "--weights", "0.W[9,9]", "0.b[0]"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "0.W[9,9]" in err and "(2, 8)" in err


def test_an_epochs_weights_are_placed_on_the_slice(model):
    from nnstudio.project.landscape import project_path

    centre = {name: value.copy() for name, value in model.parameters().items()}
    directions = random_directions(model, seed=1)
    moved = {n: centre[n] + 0.3 * directions.first[n] - 0.7 * directions.second[n] for n in centre}
    by_weight = weight_directions(model, "0.W[1,2]", "1.b[0]")
    shifted = {name: value.copy() for name, value in centre.items()}
    shifted["0.W"][1, 2] += 0.25
    shifted["1.b"][0] -= 0.5
    ((epoch, a, b),) = project_path(centre, directions, [(7, moved)])
    assert epoch == 7 and (a, b) == (pytest.approx(0.3, abs=1e-5), pytest.approx(-0.7, abs=1e-5))
    ((_, a, b),) = project_path(centre, by_weight, [(1, shifted)])
    assert (a, b) == (pytest.approx(0.25), pytest.approx(-0.5))


def test_a_path_lies_in_the_plane_of_its_two_principal_directions(model):
    from nnstudio.project.landscape import path_directions, project_path

    centre = {name: value.copy() for name, value in model.parameters().items()}
    wander = random_directions(model, seed=4)
    epochs = [
        (e, {n: centre[n] + (3 - e) * wander.first[n] + (3 - e) ** 2 * wander.second[n] / 4
             for n in centre})
        for e in range(4)
    ]  # fmt: skip
    directions = path_directions(centre, epochs)
    assert "path direction 1" in directions.labels[0]
    path = project_path(centre, directions, epochs)
    for (_epoch, a, b), (_e, weights) in zip(path, epochs, strict=True):
        for name in centre:  # the projection rebuilds the weights: nothing is lost
            rebuilt = centre[name] + a * directions.first[name] + b * directions.second[name]
            np.testing.assert_allclose(rebuilt, weights[name], atol=1e-4)
    with pytest.raises(ValueError, match="two epochs"):
        path_directions(centre, epochs[-1:])


def test_a_checkpoint_with_a_timeline_gives_its_path(tmp_path, capsys):
    from nnstudio.engine.io import load_checkpoint
    from nnstudio.project.timeline import checkpoint_timeline

    path = tmp_path / "c.nnz"
    layers = ["--layers", "Dense(8,relu),Dense(2)", "--epochs", "3"]
    assert main(["train", *CIRCLE, *layers, "--checkpoint", str(path), "--json"]) == 0
    capsys.readouterr()
    code = main(["landscape", str(path), *CIRCLE, "--weights", "0.W[0,1]", "1.b[0]",
                 "--steps", "3", "--json"])  # fmt: skip
    assert code == 0
    walked = json.loads(capsys.readouterr().out)["path"]
    assert [p["epoch"] for p in walked] == [0, 1, 2, 3]
    assert (walked[-1]["x"], walked[-1]["y"]) == (0.0, 0.0)  # it ends at the model's weights
    checkpoint = load_checkpoint(path)
    start = checkpoint_timeline(checkpoint).get(0).weights["0.W"][0, 1]
    final = checkpoint.model.parameters()["0.W"][0, 1]
    assert walked[0]["x"] == pytest.approx(float(start) - float(final), abs=1e-3)
