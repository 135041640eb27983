"""Sequential: building, shape errors, config, parameters, state, prediction, saliency, learning."""

import doctest
import json

import numpy as np
import pytest

from nnstudio.engine import model as model_module
from nnstudio.engine import registry
from nnstudio.engine.fit import FitConfig, fit
from nnstudio.engine.layers import (
    BatchNorm,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    MaxPool2D,
    Reshape,
    ShapeError,
)
from nnstudio.engine.losses import get_loss
from nnstudio.engine.model import Sequential
from nnstudio.engine.optimizers import Adam


def small_cnn(**kwargs):
    return Sequential(
        [
            Reshape((1, 8, 8)),
            Conv2D(4, padding="same", activation="relu"),
            BatchNorm(),
            MaxPool2D(),
            Flatten(),
            Dropout(0.5),
            Dense(16, activation="relu", l2=0.01),
            Dense(3),
        ],
        input_shape=(64,),
        **kwargs,
    )


@pytest.mark.parametrize("module", [model_module, registry])
def test_module_examples(module):
    assert doctest.testmod(module).failed == 0


def test_summary_and_counts():
    model = small_cnn()
    rows = model.summary()
    assert rows[1] == ("1 Conv2D", (4, 8, 8), 4 * 9 + 4)
    assert rows[2] == ("2 BatchNorm", (4, 8, 8), 8)
    assert rows[-1] == ("7 Dense", (3,), 16 * 3 + 3)
    assert model.count_params() == sum(count for _, _, count in rows)
    assert model.output_shape == (3,)
    text = model.summary_text()
    assert "Conv2D(4, padding='same', activation='relu')" in text
    assert f"Total parameters: {model.count_params():,}" in text


def test_config_round_trips_through_json():
    model = small_cnn()
    config = json.loads(json.dumps(model.config()))
    assert config["input_shape"] == [64]
    assert config["layers"][1] == {
        "type": "Conv2D",
        "filters": 4,
        "kernel_size": 3,
        "stride": 1,
        "padding": "same",
        "activation": "relu",
        "initializer": "auto",
        "use_bias": True,
        "l1": 0.0,
        "l2": 0.0,
    }
    again = Sequential.from_config(config)
    assert again.config() == model.config()
    x = np.random.default_rng(0).random((5, 64), dtype=np.float32)
    np.testing.assert_array_equal(again.forward(x), model.forward(x))  # same seed, same weights


def test_from_config_without_input_shape_builds_later():
    model = Sequential.from_config({"layers": [{"type": "Dense", "units": 2}]})
    assert not model.built and model.output_shape is None
    with pytest.raises(ValueError, match="not built"):
        model.forward(np.zeros((1, 3)))
    assert model.build((3,)) == (2,)
    assert model.config()["input_shape"] == [3]
    with pytest.raises(ValueError, match="needs a 'layers' list"):
        Sequential.from_config({"input_shape": [3]})


def test_shape_error_names_the_layer_and_both_shapes():
    with pytest.raises(ShapeError) as caught:
        Sequential([Dense(128), Dense(64), Conv2D(8)], input_shape=(10,))
    error = caught.value
    assert (error.layer_index, error.layer_name) == (2, "Conv2D")
    assert error.got == (64,)
    assert error.needs == "input (channels, height, width)"
    assert str(error).startswith(
        "layer 2 (Conv2D) needs input (channels, height, width); it got (64,) from layer 1 (Dense)."
    )
    assert "Reshape" in str(error)
    with pytest.raises(ShapeError, match=r"layer 0 \(Dense\) .* from the input"):
        Sequential([Dense(3)], input_shape=(1, 4, 4))


def test_check_reports_problems_without_raising():
    model = Sequential([Dense(8), Conv2D(4), Flatten()])
    problems = model.check((5,))
    assert len(problems) == 1
    index, message = problems[0]
    assert index == 1 and "layer 1 (Conv2D)" in message and "(8,)" in message
    assert not model.built  # check() builds nothing
    assert Sequential([Reshape((1, 4, 4)), Conv2D(2), Flatten(), Dense(2)]).check((16,)) == []
    assert Sequential([]).check((3,))[0][0] == -1


def test_parameters_and_gradients_are_live_and_named():
    model = small_cnn()
    params, grads = model.parameters(), model.gradients()
    assert list(params) == ["1.W", "1.b", "2.gamma", "2.beta", "6.W", "6.b", "7.W", "7.b"]
    assert list(grads) == list(params)
    assert all(grads[name].shape == value.shape for name, value in params.items())
    x = np.random.default_rng(0).random((4, 64), dtype=np.float32)
    before = model.forward(x).copy()
    params["7.b"] += 1.0  # optimizers update in place
    np.testing.assert_allclose(model.forward(x), before + 1.0, rtol=1e-5)
    loss = get_loss("softmax_crossentropy")
    _, grad = loss.value_and_grad(model.forward(x, training=True), np.array([0, 1, 2, 0]))
    model.backward(grad)
    assert all(np.any(model.gradients()[name] != 0) for name in params)
    assert model.gradients()["6.W"] is grads["6.W"]  # the same arrays, filled in place


def test_state_dict_copies_and_restores_weights_and_buffers():
    model = small_cnn()
    x = np.random.default_rng(1).random((6, 64), dtype=np.float32)
    state = model.state_dict()
    assert "2.running_mean" in state and "2.running_var" in state
    expected = model.forward(x).copy()
    state["7.b"] += 5.0  # a copy: the model is unchanged
    np.testing.assert_array_equal(model.forward(x), expected)
    saved = model.state_dict()
    model.forward(x, training=True)  # moves the running statistics
    model.parameters()["6.W"] *= 0.0
    model.load_state_dict(saved)
    np.testing.assert_array_equal(model.forward(x), expected)
    with pytest.raises(ValueError, match=r"missing \['7.b'\]"):
        model.load_state_dict({k: v for k, v in saved.items() if k != "7.b"})
    with pytest.raises(ValueError, match="has shape"):
        model.load_state_dict({**saved, "7.b": np.zeros(4)})


def test_predict_is_batched_and_in_evaluation_mode():
    model = small_cnn()
    x = np.random.default_rng(2).random((50, 64), dtype=np.float32)
    full = model.forward(x, training=False).copy()
    np.testing.assert_allclose(model.predict(x, batch_size=7), full, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(model.predict(x), model.predict(x))  # no dropout
    assert model.predict(x[:0]).shape == (0, 3)


def test_backward_leaves_the_callers_gradient_alone_and_can_skip_the_input():
    model = Sequential(
        [Dense(4, activation="relu"), Dense(2, activation="sigmoid")], input_shape=(3,)
    )
    x = np.random.default_rng(3).random((5, 3), dtype=np.float32)
    model.forward(x, training=True)
    grad = np.ones((5, 2), dtype=np.float32)
    grad_x = model.backward(grad)
    assert grad_x.shape == x.shape
    np.testing.assert_array_equal(grad, 1.0)
    weights = {name: value.copy() for name, value in model.gradients().items()}
    model.forward(x, training=True)
    assert model.backward(grad, need_input_grad=False) is None
    for name, value in model.gradients().items():
        np.testing.assert_allclose(value, weights[name], rtol=1e-6)


def test_training_backward_stops_at_the_first_layer_with_parameters(monkeypatch):
    model = Sequential(
        [Flatten(), Dense(4, activation="relu"), Dense(2)], input_shape=(2, 3), dtype=np.float64
    )
    x = np.random.default_rng(5).random((4, 2, 3))
    grad = np.ones((4, 2))
    model.forward(x, training=True)
    model.backward(grad)
    expected = {name: value.copy() for name, value in model.gradients().items()}
    calls = []
    monkeypatch.setattr(model.layers[0], "backward", lambda *a, **k: calls.append(a))
    monkeypatch.setattr(
        model.layers[1], "backward", _recording(model.layers[1].backward, calls, "dense0")
    )
    model.forward(x, training=True)
    assert model.backward(grad, need_input_grad=False) is None
    assert calls == [("dense0", False)]  # Flatten skipped; Dense 0 made no input gradient
    for name, value in model.gradients().items():
        np.testing.assert_allclose(value, expected[name])


def _recording(backward, calls, label):
    def wrapper(grad, need_input_grad=True):
        calls.append((label, need_input_grad))
        return backward(grad, need_input_grad=need_input_grad)

    return wrapper


def test_input_gradient_defaults_to_the_top_class():
    model = Sequential([Dense(3)], input_shape=(4,), dtype=np.float64)
    x = np.random.default_rng(4).random((2, 4))
    top = model.forward(x).argmax(axis=1)
    W = model.parameters()["0.W"]
    # For a linear model d output[c] / d x is column c of W.
    np.testing.assert_allclose(model.input_gradient(x), W[:, top].T)
    np.testing.assert_allclose(model.input_gradient(x, class_index=1), W[:, [1, 1]].T)
    with pytest.raises(ValueError, match=r"class_index must be in 0\.\.2"):
        model.input_gradient(x, class_index=3)


def test_dtypes():
    model = small_cnn()
    x64 = np.random.default_rng(5).random((2, 64))
    assert model.forward(x64).dtype == np.float32  # inputs are converted once, not upcast
    double = small_cnn(dtype=np.float64)
    assert all(value.dtype == np.float64 for value in double.parameters().values())
    assert double.forward(x64).dtype == np.float64
    with pytest.raises(ValueError, match="float32 or float64"):
        Sequential([Dense(2)], dtype=np.int32)


def test_input_shape_mismatch_is_explained():
    model = Sequential([Dense(2)], input_shape=(3,))
    with pytest.raises(ValueError, match=r"inputs of shape \(batch, 3\); got \(4, 5\)"):
        model.forward(np.zeros((4, 5)))


def test_reset_parameters_follows_the_seed():
    model = small_cnn(seed=1)
    first = model.state_dict()
    model.forward(np.ones((4, 64)), training=True)
    model.reset_parameters(seed=1)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, first[name])
    model.reset_parameters(seed=2)
    assert not np.array_equal(model.parameters()["1.W"], first["1.W"])
    assert not np.array_equal(small_cnn(seed=0).parameters()["1.W"], first["1.W"])


def test_penalty_sums_the_layers():
    model = Sequential([Dense(4, l1=0.1), Dense(2, l2=0.2)], input_shape=(3,))
    W0, W1 = model.parameters()["0.W"], model.parameters()["1.W"]
    expected = 0.1 * np.abs(W0).sum() + 0.2 * np.square(W1).sum()
    assert model.penalty() == pytest.approx(expected, rel=1e-6)
    assert Sequential([Dense(2)], input_shape=(3,)).penalty() == 0.0


def test_repr_and_bad_layers():
    model = Sequential([Dense(4, activation="relu"), Dense(2)], input_shape=(3,))
    assert repr(model) == "Sequential([Dense(4, activation='relu'), Dense(2)], input_shape=(3,))"
    with pytest.raises(ValueError, match="takes Layer objects"):
        Sequential(["Dense"])


def test_registry_tables():
    assert set(registry.LAYERS) == {
        "Dense",
        "Flatten",
        "Reshape",
        "Conv2D",
        "MaxPool2D",
        "AvgPool2D",
        "BatchNorm",
        "Dropout",
        "Activation",
        "ReLU",
        "LeakyReLU",
        "ELU",
        "GELU",
        "Sigmoid",
        "Tanh",
        "Softmax",
    }
    assert all(cls.__name__ == name for name, cls in registry.LAYERS.items())
    categories = registry.layer_categories()
    assert list(categories)[:2] == ["Core", "Convolution"]
    assert sorted(sum(categories.values(), [])) == sorted(registry.LAYERS)
    assert "relu" in registry.ACTIVATIONS and "softmax_crossentropy" in registry.LOSSES
    assert "adam" in registry.optimizer_names() and "adam" in registry.OPTIMIZERS
    assert "cosine" in registry.schedule_names() and "cosine" in registry.SCHEDULES


# --- learning -----------------------------------------------------------------------------


def accuracy(model, x, y):
    return float(np.mean(model.predict(x).argmax(axis=1) == y))


def spiral(points_per_class=100, classes=3, seed=0):
    """The classic three-arm spiral (CS231n): not linearly separable at all."""
    rng = np.random.default_rng(seed)
    x, y = [], []
    for label in range(classes):
        radius = np.linspace(0.0, 1.0, points_per_class)
        angle = np.linspace(label * 4, (label + 1) * 4, points_per_class)
        angle += rng.standard_normal(points_per_class) * 0.2
        x.append(np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1))
        y.append(np.full(points_per_class, label))
    return np.concatenate(x).astype(np.float32), np.concatenate(y)


def test_learns_xor_perfectly():
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    y = np.array([0, 1, 1, 0])
    model = Sequential([Dense(8, activation="tanh"), Dense(2)], input_shape=(2,), seed=0)
    result = fit(
        model,
        get_loss("softmax_crossentropy"),
        Adam(lr=0.05),
        x,
        y,
        FitConfig(epochs=300, batch_size=4, seed=0),
    )
    assert result.stopped_reason == "completed"
    assert accuracy(model, x, y) == 1.0


def test_learns_the_spiral():
    x, y = spiral()
    model = Sequential(
        [Dense(64, activation="relu"), Dense(64, activation="relu"), Dense(3)],
        input_shape=(2,),
        seed=0,
    )
    fit(
        model,
        get_loss("softmax_crossentropy"),
        Adam(lr=0.01),
        x,
        y,
        FitConfig(epochs=200, batch_size=32, seed=0),
    )
    assert accuracy(model, x, y) >= 0.97


def test_only_a_model_with_convolutions_looks_for_fused_steps(monkeypatch):
    """Without a Conv2D, training runs the layers one by one with no per-batch look for
    fusable pairs (and still fills the gradients); with one, every training forward looks."""
    looked = []

    def counting_steps(layers, cache):
        looked.append(len(layers))
        return list(enumerate(layers))

    monkeypatch.setattr(model_module, "training_steps", counting_steps)
    mlp = Sequential([Dense(4, activation="relu"), Dense(2)], input_shape=(3,))
    outputs = mlp.forward(np.ones((5, 3), np.float32), training=True)
    mlp.backward(np.ones_like(outputs), need_input_grad=False)
    assert looked == [] and mlp.gradients()["0.W"].any()
    cnn = small_cnn()
    cnn.forward(np.ones((2, 64), np.float32), training=True)
    assert looked == [len(cnn.layers)]
