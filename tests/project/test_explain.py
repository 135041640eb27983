"""nnstudio.project.explain: one sample's pass with the engine's own numbers, checked against
finite differences for every layer kind, activation and loss."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from nnstudio.cli.explain import to_plain, walkthrough_text
from nnstudio.engine import activations
from nnstudio.engine.layers import (
    Activation,
    AvgPool2D,
    BatchNorm,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    MaxPool2D,
)
from nnstudio.engine.losses import get_loss, loss_names
from nnstudio.engine.model import Sequential
from nnstudio.engine.optimizers import get_optimizer
from nnstudio.project.explain import chain_rule, explain_sample
from nnstudio.project.explain_layers import top_contributions, unit_parameter_entries
from nnstudio.project.explain_steps import format_number
from nnstudio.project.gradient_check import check_gradients

RNG = np.random.default_rng(7)
IMAGE = RNG.normal(size=(1, 8, 8)).astype(np.float32)


def assert_gradients_check(explanation, per_parameter=6, tolerance=1e-5):
    check = check_gradients(explanation, per_parameter=per_parameter)
    assert check.rows, "nothing was checked"
    assert check.max_relative_error < tolerance, [
        row for row in check.rows if row["relative_error"] >= tolerance
    ]
    # the float32 numbers shown agree with the float64 check too
    for row in check.rows:
        assert row["shown"] == pytest.approx(row["analytic"], rel=1e-3, abs=1e-6)
    return check


def test_gradients_are_the_engines_own_backward():
    model = Sequential([Dense(6, activation="tanh", l2=0.01), Dense(3)], input_shape=(4,))
    x, label = RNG.normal(size=4).astype(np.float32), 2
    explanation = explain_sample(model, "softmax_crossentropy", x, label)
    reference = copy.deepcopy(model)
    loss = get_loss("softmax_crossentropy")
    outputs = reference.forward(x[None], training=False)
    value, grad = loss.value_and_grad(outputs, np.array([label]))
    reference.backward(grad)
    assert explanation.loss.value == pytest.approx(value)
    for name, expected in reference.gradients().items():
        np.testing.assert_array_equal(explanation.gradients[name], expected)
        assert explanation.gradients[name].shape == model.parameters()[name].shape


def test_the_model_is_not_touched():
    model = Sequential([Dense(5, activation="relu"), BatchNorm(), Dense(2)], input_shape=(3,))
    before = model.state_dict()
    explain_sample(model, "softmax_crossentropy", np.ones(3), 1, training=True)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])
    assert all(not layer.grads or not np.any(layer.grads.get("W", 0)) for layer in model.layers)


def test_z_and_a_per_layer_and_the_chain_rule():
    model = Sequential([Dense(4, activation="relu"), Dense(2)], input_shape=(3,))
    x = np.array([1.0, -2.0, 0.5], np.float32)
    explanation = explain_sample(model, "mse", x, np.array([0.5, -0.5]))
    dense = explanation.layers[0]
    W, b = model.parameters()["0.W"], model.parameters()["0.b"]
    np.testing.assert_allclose(dense.z, x @ W + b, rtol=1e-6)
    np.testing.assert_allclose(dense.output, np.maximum(dense.z, 0))
    for unit in range(4):
        rule = chain_rule(dense, unit)
        assert rule["dL/dz"] == pytest.approx(rule["dL/da"] * (1.0 if rule["z"] > 0 else 0.0))
        assert rule["f'(z)"] == (1.0 if rule["z"] > 0 else 0.0)
        parts = top_contributions(dense, unit, count=None)
        assert parts["sum"] + parts["bias"] == pytest.approx(parts["z"], abs=1e-5)
        assert len(parts["rows"]) == 3
    assert len(top_contributions(dense, 0, count=2)["rows"]) == 2


@pytest.mark.parametrize("name", activations.activation_names())
def test_every_activation_in_dense_and_as_a_layer(name):
    model = Sequential(
        [Dense(5, activation=name), Activation(name), Dense(3)], input_shape=(4,), seed=3
    )
    x = RNG.normal(size=4).astype(np.float32)
    explanation = explain_sample(model, "softmax_crossentropy", x, 1)
    assert_gradients_check(explanation)
    dense = explanation.layers[0]
    assert dense.z is not None and dense.grad_z is not None
    rule = chain_rule(dense, 2)
    if name != "softmax":  # elementwise: dL/dz = dL/da · f'(z)
        assert rule["dL/dz"] == pytest.approx(rule["dL/da"] * rule["f'(z)"], rel=1e-4, abs=1e-7)


@pytest.mark.parametrize("name", loss_names())
def test_every_loss(name):
    classification = get_loss(name).task == "classification"
    outputs = 1 if name == "binary_crossentropy" else 3
    model = Sequential([Dense(6, activation="sigmoid"), Dense(outputs)], input_shape=(4,))
    x = RNG.normal(size=4).astype(np.float32)
    if name == "softmax_crossentropy":
        target = 2
    elif classification:
        target = np.array([1.0])
    else:
        target = np.array([0.3, -1.2, 2.0])
    explanation = explain_sample(model, name, x, target)
    assert_gradients_check(explanation)
    assert explanation.loss.formula and explanation.loss.lines
    if name == "softmax_crossentropy":
        p = explanation.loss.probabilities
        assert explanation.loss.value == pytest.approx(-np.log(p[2]), rel=1e-5)
    if name == "mse":
        y = explanation.loss.outputs
        assert explanation.loss.value == pytest.approx(np.mean((y - target) ** 2), rel=1e-5)


@pytest.mark.parametrize("pool", [MaxPool2D, AvgPool2D])
def test_conv_and_pooling(pool):
    model = Sequential(
        [Conv2D(3, 3, activation="relu"), pool(2), Flatten(), Dense(2)], input_shape=(1, 8, 8)
    )
    explanation = explain_sample(model, "softmax_crossentropy", IMAGE, 0)
    conv = explanation.layers[0]
    assert conv.z.shape == conv.output.shape == (3, 6, 6)  # feature maps
    assert conv.grad_z.shape == (3, 6, 6)
    assert explanation.layers[1].grad_input.shape == (3, 6, 6)
    assert_gradients_check(explanation, per_parameter=10)
    entries = unit_parameter_entries(conv, 1)
    assert all(index[0] == 1 for index in entries["0.W"])
    assert check_gradients(explanation, entries).max_relative_error < 1e-5


@pytest.mark.parametrize("training", [False, True])
def test_batchnorm_in_training_and_inference_mode(training):
    model = Sequential(
        [Conv2D(2, 3, activation="linear"), BatchNorm(), Flatten(), Dense(3)],
        input_shape=(1, 8, 8),
    )
    model.layers[1].buffers["running_mean"][:] = [0.2, -0.1]
    model.layers[1].buffers["running_var"][:] = [1.5, 0.7]
    explanation = explain_sample(model, "softmax_crossentropy", IMAGE, 1, training=training)
    assert explanation.training is training
    check = assert_gradients_check(explanation, per_parameter=8)
    assert {row["parameter"] for row in check.rows} >= {"1.gamma", "1.beta", "0.W"}
    norm = explanation.layers[1]
    if training:  # normalised by the sample's own statistics
        assert np.mean(norm.output[0]) == pytest.approx(norm.params["beta"][0], abs=1e-4)


def test_dropout_mask_is_shown_and_used_by_the_check():
    model = Sequential([Dense(20, activation="relu"), Dropout(0.5), Dense(3)], input_shape=(4,))
    x = RNG.normal(size=4).astype(np.float32)
    explanation = explain_sample(model, "softmax_crossentropy", x, 0, training=True)
    mask = explanation.layers[1].mask
    assert mask is not None and set(np.unique(mask)) <= {0.0, 2.0} and (mask == 0).any()
    np.testing.assert_allclose(explanation.layers[1].output, explanation.layers[1].input * mask)
    np.testing.assert_allclose(
        explanation.layers[1].grad_input, explanation.layers[1].grad_output * mask
    )
    assert_gradients_check(explanation)
    inference = explain_sample(model, "softmax_crossentropy", x, 0, training=False)
    assert inference.layers[1].mask is None


def test_update_is_the_real_optimizer_step_on_copies():
    model = Sequential([Dense(4, activation="relu", l1=0.01, l2=0.02), Dense(2)], input_shape=(3,))
    x = np.array([0.3, -0.7, 1.1], np.float32)
    optimizer = get_optimizer("adam", lr=0.01)
    explanation = explain_sample(model, "softmax_crossentropy", x, 1, optimizer=optimizer)
    assert optimizer.iterations == 0 and not optimizer.state["m"]  # its state is untouched
    params = {n: p.copy() for n, p in model.parameters().items()}
    real = get_optimizer("adam", lr=0.01)
    real.step(params, {n: g.copy() for n, g in explanation.gradients.items()})
    update = explanation.updates["0.W"]
    np.testing.assert_allclose(update.after, params["0.W"])
    np.testing.assert_allclose(update.change, params["0.W"] - model.parameters()["0.W"])
    W = model.parameters()["0.W"]
    np.testing.assert_allclose(update.terms["L1 term l1·sign(W)"], 0.01 * np.sign(W))
    np.testing.assert_allclose(update.terms["L2 term 2·l2·W"], 0.04 * W)
    g = explanation.gradients["0.W"]
    np.testing.assert_allclose(update.terms["m"], 0.1 * g, rtol=1e-5)
    np.testing.assert_allclose(update.terms["m̂"], g, rtol=1e-5)
    np.testing.assert_allclose(update.terms["v̂"], g * g, rtol=1e-4)


def test_sgd_momentum_shows_the_velocity():
    model = Sequential([Dense(2)], input_shape=(2,))
    optimizer = get_optimizer("sgd", lr=0.1, momentum=0.9)
    params = model.parameters()
    optimizer.step(
        {n: p.copy() for n, p in params.items()}, {n: np.ones_like(p) for n, p in params.items()}
    )
    explanation = explain_sample(model, "mse", np.ones(2), np.zeros(2), optimizer=optimizer)
    update = explanation.updates["0.W"]
    g = explanation.gradients["0.W"]
    np.testing.assert_allclose(update.terms["velocity v"], 0.9 + g, rtol=1e-6)
    np.testing.assert_allclose(update.change, -0.1 * (0.9 + g), rtol=1e-5)


def test_plain_form_and_text():
    model = Sequential([Flatten(), Dense(5, activation="relu"), Dense(3)], input_shape=(1, 4, 4))
    optimizer = get_optimizer("sgd", lr=0.1)
    explanation = explain_sample(
        model, "softmax_crossentropy", IMAGE[:, :4, :4], 2, optimizer=optimizer
    )
    check = check_gradients(explanation)
    plain = to_plain(explanation, check)
    assert set(plain) >= {
        "input",
        "target",
        "layers",
        "loss",
        "gradients",
        "update",
        "gradient_check",
    }
    assert np.shape(plain["input"]) == (1, 4, 4)
    assert [layer["name"] for layer in plain["layers"]] == ["0 Flatten", "1 Dense", "2 Dense"]
    assert {"z", "output", "grad_output", "grad_z"} <= set(plain["layers"][1])
    assert np.shape(plain["gradients"]["1.W"]) == (16, 5)
    np.testing.assert_allclose(
        plain["update"]["1.W"]["change"], -0.1 * explanation.gradients["1.W"], rtol=1e-4, atol=1e-8
    )
    assert plain["loss"]["name"] == "softmax_crossentropy"
    text = walkthrough_text(explanation, check)
    assert "−log p_2" in text and "Gradient check" in text and "dL/dz = dL/da" in text


def test_bad_sample_shape_is_refused():
    model = Sequential([Dense(2)], input_shape=(3,))
    with pytest.raises(ValueError, match="one sample of shape"):
        explain_sample(model, "mse", np.ones(4), np.zeros(2))


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.000123456, "1.235e-04"), (12.3456, "12.35"), (123456.0, "1.235e+05"), (-0.5, "-0.5")],
)
def test_number_format(value, text):
    assert format_number(value) == text


def test_batchnorm_says_what_its_mode_means():
    model = Sequential([Dense(4), BatchNorm(), Dense(2)], input_shape=(3,))
    training = explain_sample(model, "mse", np.ones(3), np.zeros(2), training=True)
    assert "one sample" in training.layers[1].note
    np.testing.assert_allclose(training.layers[1].output, training.layers[1].params["beta"])
    inference = explain_sample(model, "mse", np.ones(3), np.zeros(2))
    assert "running averages" in inference.layers[1].note


def test_the_classic_mnist_preset_is_the_tutorials_network():
    from nnstudio.project import load_preset
    from nnstudio.project.presets import find_preset

    preset = find_preset("MNIST 784-128-10 (the classic from-scratch network)")
    assert preset.name == "mnist-784-128-10"
    assert "% test accuracy" in preset.description
    project = load_preset(preset.name)
    assert project.dataset.name == "mnist"
    assert project.training.loss == "softmax_crossentropy"
    assert project.training.optimizer in ("sgd", "adam")
    model = project.build_model()
    assert [row[1] for row in model.summary()] == [(784,), (128,), (10,)]
    assert model.layers[1].activation == "relu"
    explanation = explain_sample(
        model,
        project.make_loss(),
        IMAGE.repeat(4, 1).repeat(4, 2)[:, :28, :28],
        7,
        optimizer=project.make_optimizer(),
    )
    assert explanation.gradients["1.W"].shape == (784, 128)
    np.testing.assert_allclose(
        explanation.updates["1.W"].change, -0.1 * explanation.gradients["1.W"], rtol=1e-4, atol=1e-8
    )
