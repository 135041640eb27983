"""The training doctor on the command line: `nnstudio lr-find` and the health and warnings of
`nnstudio train --json`."""

import json

import pytest

from nnstudio.cli import main
from nnstudio.project import load_preset, save_project

MOONS = ["--dataset", "moons", "--samples", "300", "--seed", "0"]
SIGMOID_8 = ",".join(["Dense(32,sigmoid)"] * 8 + ["Dense(2)"])


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.strip().splitlines()]


def test_lr_find_json_prints_the_curve_and_the_suggestion_last(capsys):
    code = main(["lr-find", *MOONS, "--layers", "Dense(32,relu),Dense(2)", "--json"])
    assert code == 0
    out = capsys.readouterr().out
    (record,) = json_lines(out)  # one object, nothing else on stdout
    assert list(record)[:3] == ["suggested_lr", "lrs", "losses"]
    assert len(record["lrs"]) == len(record["losses"]) > 10
    assert record["lrs"] == sorted(record["lrs"])
    assert 1e-5 < record["suggested_lr"] < 1.0
    assert record["optimizer"] == "adam"


def test_lr_find_takes_a_project_file_and_the_optimizer(tmp_path, capsys):
    path = save_project(load_preset("2d-classifier"), tmp_path / "circle.nnsproj")
    assert main(["lr-find", str(path), "--optimizer", "sgd", "--steps", "120", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["optimizer"] == "sgd"
    assert len(record["lrs"]) <= 120


def test_lr_find_text_names_the_rate_to_train_with(capsys):
    assert main(["lr-find", "--preset", "spiral-mlp", "--steps", "100"]) == 0
    out = capsys.readouterr().out
    assert "Suggested learning rate:" in out
    assert "--lr " in out.splitlines()[-1]


def test_lr_find_bad_arguments_are_one_line_errors(capsys):
    assert main(["lr-find", *MOONS, "--steps", "0"]) == 2
    assert "--steps" in capsys.readouterr().err
    assert main(["lr-find"]) == 2
    assert "nothing to train" in capsys.readouterr().err


def test_train_json_epochs_carry_health_and_warnings(capsys):
    assert main(["train", *MOONS, "--epochs", "2", "--json"]) == 0
    *epochs, final = json_lines(capsys.readouterr().out)
    for record in epochs:
        assert set(record["health"]) == {"0 Dense", "1 Dense", "2 Dense"}
        layer = record["health"]["0 Dense"]
        for key in ("dead_fraction", "grad_norm", "update_ratio", "activation_mean"):
            assert key in layer
        assert record["warnings"] == []
    assert final["final"] is True and final["warnings"] == []


def test_train_json_names_vanishing_gradients_with_a_fix(capsys):
    assert main(["train", *MOONS, "--layers", SIGMOID_8, "--epochs", "2", "--json"]) == 0
    *epochs, _final = json_lines(capsys.readouterr().out)
    warning = next(w for w in epochs[-1]["warnings"] if w["kind"] == "vanishing_gradient")
    assert set(warning) == {
        "layer",
        "kind",
        "message",
        "fix",
        "action",
        "changes",
        "explains",
        "more",
    }
    assert "ReLU or BatchNorm" in warning["fix"]
    assert (warning["action"], warning["changes"]) == ("switch_to_relu", {"activation": "relu"})


def test_train_text_shows_each_warning_once(capsys):
    assert main(["train", *MOONS, "--layers", SIGMOID_8, "--epochs", "3"]) == 0
    err = capsys.readouterr().err
    assert err.count("warning: ") == 1
    assert "Try ReLU or BatchNorm" in err


@pytest.mark.parametrize("json_flag", [True, False])
def test_a_blow_up_ends_with_the_doctors_words(capsys, json_flag):
    args = ["train", *MOONS, "--optimizer", "sgd", "--lr", "50", "--epochs", "3"]
    assert main(args + (["--json"] if json_flag else [])) == 2
    captured = capsys.readouterr()
    if json_flag:
        final = json_lines(captured.out)[-1]
        (warning,) = final["warnings"]
        assert warning["kind"] == "nan"
        assert "learning rate is too high" in warning["message"]
        assert "fresh weights" in warning["fix"]
        assert warning["action"] == "reset_and_lower_lr"
        assert warning["changes"] == {"learning_rate": 0.01}  # SGD's own default
    else:
        assert "too large" in captured.err


def test_train_json_names_a_zero_initialized_network_by_its_initializer(tmp_path, capsys):
    """Lesson 2's start from the command line: one warning, the cause, with its fix."""
    project = load_preset("2d-classifier")
    for layer in project.model["layers"]:
        layer["initializer"] = "zeros"
    path = save_project(project, tmp_path / "zeros.nnsproj")
    assert main(["train", str(path), "--epochs", "3", "--json"]) == 0
    *epochs, _final = json_lines(capsys.readouterr().out)
    for record in epochs:
        (warning,) = record["warnings"]
        assert warning["kind"] == "zero_init"
        assert warning["action"] == "reinitialize"
        assert warning["changes"] == {"initializer": "he"}
        assert warning["explains"]  # the dead units, folded under their cause


def test_train_json_names_an_adam_blow_up_and_the_rate_to_restart_with(capsys):
    args = ["train", "--preset", "2d-classifier", "--optimizer", "adam", "--lr", "10"]
    assert main([*args, "--epochs", "3", "--json"]) == 0
    *epochs, _final = json_lines(capsys.readouterr().out)
    (warning,) = epochs[-1]["warnings"]
    assert warning["kind"] == "blow_up"
    assert (warning["action"], warning["changes"]) == (
        "reset_and_lower_lr",
        {"learning_rate": 0.001},
    )


def test_lr_find_on_a_trained_model_file_starts_from_fresh_weights(tmp_path, capsys):
    """The model file's trained weights stay out of it unless asked: a sensible rate from fresh
    weights, and from the current ones no suggestion (it used to say 1e-7)."""
    model = tmp_path / "circle.nnz"
    assert main(["train", "--preset", "2d-classifier", "--out", str(model)]) == 0
    capsys.readouterr()
    assert main(["lr-find", str(model), "--dataset", "circle", "--json"]) == 0
    fresh = json.loads(capsys.readouterr().out)
    assert 1e-3 < fresh["suggested_lr"] < 1.0 and fresh["from_current"] is False
    assert main(["lr-find", str(model), "--dataset", "circle", "--from-current", "--json"]) == 0
    current = json.loads(capsys.readouterr().out)
    assert current["suggested_lr"] is None and current["from_current"] is True
    assert "no valley" in current["advice"]
    assert main(["lr-find", str(model), "--dataset", "circle", "--from-current"]) == 0
    assert "test from fresh weights" in capsys.readouterr().out


def test_lr_find_on_a_model_file_that_does_not_fit_the_data_is_one_line(tmp_path, capsys):
    model = tmp_path / "circle.nnz"
    assert main(["train", "--preset", "2d-classifier", "--epochs", "1", "--out", str(model)]) == 0
    capsys.readouterr()
    assert main(["lr-find", str(model), "--dataset", "spiral", "--classes", "3"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nnstudio: error:") and len(err.strip().splitlines()) == 1
    assert main(["lr-find", str(model), "--layers", "Dense(4,relu),Dense(2)"]) == 2
    assert "--layers does not go with a model file" in capsys.readouterr().err
