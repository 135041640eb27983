"""Finite-difference gradient checks (float64, central differences) for every layer, activation,
loss and penalty, and for a whole model's input gradient."""

from __future__ import annotations

import numpy as np
import pytest

from nnstudio.engine.activations import ACTIVATIONS, get_activation
from nnstudio.engine.layers import (
    ELU,
    GELU,
    Activation,
    AvgPool2D,
    BatchNorm,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    LeakyReLU,
    MaxPool2D,
    ReLU,
    Rescale,
    Reshape,
    Sigmoid,
    Softmax,
    Tanh,
)
from nnstudio.engine.losses import LOSSES, get_loss
from nnstudio.engine.model import Sequential

EPSILON = 1e-6
TOLERANCE = 1e-6


def numeric_gradient(function, array: np.ndarray, epsilon: float = EPSILON) -> np.ndarray:
    """d function() / d array by central differences, perturbing ``array`` in place."""
    grad = np.zeros_like(array)
    flat, flat_grad = array.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        original = flat[i]
        flat[i] = original + epsilon
        plus = function()
        flat[i] = original - epsilon
        minus = function()
        flat[i] = original
        flat_grad[i] = (plus - minus) / (2 * epsilon)
    return grad


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """||a - n|| / (||a|| + ||n||): scale-free, and 0 when both are exactly 0."""
    analytic, numeric = np.asarray(analytic, float), np.asarray(numeric, float)
    denominator = np.linalg.norm(analytic) + np.linalg.norm(numeric)
    if denominator == 0.0:
        return 0.0
    return float(np.linalg.norm(analytic - numeric) / denominator)


def assert_gradients_close(analytic, numeric, what: str, tolerance: float = TOLERANCE):
    error = relative_error(analytic, numeric)
    assert np.linalg.norm(numeric) > 0 or np.linalg.norm(analytic) == 0, what
    assert error < tolerance, f"{what}: relative error {error:.2e} (tolerance {tolerance:.0e})"


def check_layer_gradients(
    layer,
    input_shape,
    *,
    training=True,
    batch=3,
    seed=0,
    before_forward=None,
    after_build=None,
    with_penalty=False,
):
    """Compare a layer's backward() with finite differences for its input and every weight.

    The scalar checked is sum(forward(x) * R) for a fixed random R (plus the layer's penalty
    when ``with_penalty``), so every output element takes part with a different weight.
    """
    rng = np.random.default_rng(seed)
    layer.build(input_shape, rng, dtype=np.float64)
    for value in layer.params.values():  # move weights off their initial special values
        value += 0.1 * rng.standard_normal(value.shape)
    if after_build is not None:
        after_build()
    x = rng.standard_normal((batch, *input_shape))
    before_forward = before_forward or (lambda: None)

    def forward():
        before_forward()
        return layer.forward(x, training=training)

    output = forward()
    weights = rng.standard_normal(output.shape)

    def scalar():
        value = float(np.sum(forward() * weights))
        return value + layer.penalty() if with_penalty else value

    forward()
    grad_x = layer.backward(weights.copy())
    analytic_params = {name: grad.copy() for name, grad in layer.grads.items()}
    assert grad_x.shape == x.shape
    assert_gradients_close(grad_x, numeric_gradient(scalar, x), f"{layer!r} input gradient")
    for name, value in layer.params.items():
        numeric = numeric_gradient(scalar, value)
        assert_gradients_close(analytic_params[name], numeric, f"{layer!r} gradient of {name}")
    return grad_x


# --- layers -------------------------------------------------------------------------------

ACTIVATION_NAMES = list(ACTIVATIONS)


@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
def test_dense_with_each_activation(activation):
    check_layer_gradients(Dense(4, activation=activation), (5,))


def test_dense_without_bias():
    layer = Dense(3, use_bias=False)
    check_layer_gradients(layer, (4,))
    assert "b" not in layer.params


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_conv2d(stride, padding):
    layer = Conv2D(3, kernel_size=3, stride=stride, padding=padding)
    check_layer_gradients(layer, (2, 7, 6), batch=2)


@pytest.mark.parametrize(("kernel_size", "activation"), [(1, "linear"), (2, "tanh"), (5, "elu")])
def test_conv2d_other_kernels_and_fused_activation(kernel_size, activation):
    layer = Conv2D(2, kernel_size=kernel_size, padding="same", activation=activation)
    check_layer_gradients(layer, (2, 6, 5), batch=2)


@pytest.mark.parametrize(("pool_size", "stride"), [(2, None), (3, None), (3, 2), (2, 1)])
def test_max_pool(pool_size, stride):
    check_layer_gradients(MaxPool2D(pool_size, stride), (2, 7, 6), batch=2)


@pytest.mark.parametrize(("pool_size", "stride"), [(2, None), (3, 2), (2, 1)])
def test_avg_pool(pool_size, stride):
    check_layer_gradients(AvgPool2D(pool_size, stride), (2, 7, 6), batch=2)


def test_flatten_and_reshape():
    check_layer_gradients(Flatten(), (2, 3, 4))
    check_layer_gradients(Reshape((3, -1)), (12,))


def test_rescale():
    check_layer_gradients(Rescale([2.0, 0.5, 3.0], [1.0, -2.0, 0.5]), (3,))


def test_dropout_with_a_fixed_mask_in_training_mode():
    layer = Dropout(0.4)

    def same_mask():
        layer.rng = np.random.default_rng(7)

    grad_x = check_layer_gradients(layer, (20,), before_forward=same_mask)
    # Dropped values get no gradient; kept ones get it scaled by 1 / (1 - rate).
    assert np.any(grad_x == 0.0) and np.any(grad_x != 0.0)


@pytest.mark.parametrize("input_shape", [(4,), (3, 4, 5)])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm(input_shape, training):
    layer = BatchNorm()

    def non_trivial_running_statistics():  # what evaluation mode uses
        layer.buffers["running_mean"][:] = 0.3
        layer.buffers["running_var"][:] = 2.0

    check_layer_gradients(
        layer, input_shape, training=training, batch=4, after_build=non_trivial_running_statistics
    )


@pytest.mark.parametrize("function", ACTIVATION_NAMES)
def test_activation_layers(function):
    check_layer_gradients(Activation(function), (6,))


@pytest.mark.parametrize("layer_class", [ReLU, LeakyReLU, ELU, GELU, Sigmoid, Tanh, Softmax])
def test_convenience_activation_layers_on_images(layer_class):
    check_layer_gradients(layer_class(), (2, 3, 3), batch=2)


# --- penalties ----------------------------------------------------------------------------


@pytest.mark.parametrize(("l1", "l2"), [(0.01, 0.0), (0.0, 0.05), (0.02, 0.03)])
def test_penalty_gradients_dense(l1, l2):
    layer = Dense(3, l1=l1, l2=l2)
    check_layer_gradients(layer, (4,), with_penalty=True)
    assert layer.penalty() > 0


@pytest.mark.parametrize(("l1", "l2"), [(0.01, 0.0), (0.0, 0.05)])
def test_penalty_gradients_conv(l1, l2):
    layer = Conv2D(2, kernel_size=3, l1=l1, l2=l2)
    check_layer_gradients(layer, (1, 5, 5), with_penalty=True, batch=2)
    assert layer.penalty() > 0


def test_penalty_value_is_l1_sum_abs_plus_l2_sum_squares():
    layer = Dense(2, l1=0.1, l2=0.2)
    layer.build((2,), np.random.default_rng(0), np.float64)
    W = layer.params["W"]
    expected = 0.1 * np.abs(W).sum() + 0.2 * np.square(W).sum()
    assert layer.penalty() == pytest.approx(expected)


# --- activations --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_activation_function_derivatives(name):
    function = get_activation(name)
    rng = np.random.default_rng(3)
    # Keep away from the kink at 0 of relu / leaky_relu / elu.
    x = rng.uniform(0.1, 3.0, (4, 5)) * rng.choice([-1.0, 1.0], (4, 5))
    weights = rng.standard_normal(x.shape)
    y = function.forward(x)
    analytic = function.backward(x, y, weights.copy())
    numeric = numeric_gradient(lambda: float(np.sum(function.forward(x) * weights)), x)
    assert_gradients_close(analytic, numeric, name)


@pytest.mark.parametrize(("name", "alpha"), [("leaky_relu", 0.2), ("elu", 0.5)])
def test_leaky_relu_and_elu_with_custom_alpha(name, alpha):
    function = get_activation(name, alpha=alpha)
    x = np.array([[-2.0, -0.5, 0.5, 2.0]])
    weights = np.array([[1.0, -2.0, 3.0, 0.5]])
    analytic = function.backward(x, function.forward(x), weights.copy())
    numeric = numeric_gradient(lambda: float(np.sum(function.forward(x) * weights)), x)
    assert_gradients_close(analytic, numeric, repr(function))


# --- losses -------------------------------------------------------------------------------


def _loss_case(name, rng):
    outputs = rng.standard_normal((5, 4)) * 2.0
    if name == "softmax_crossentropy":
        return outputs, rng.integers(0, 4, 5)
    if name == "binary_crossentropy":
        return outputs, rng.integers(0, 2, (5, 4)).astype(float)
    # |outputs - targets| away from mae's kink (0) and huber's seam (delta = 1), on both sides.
    distance = rng.choice([0.3, 0.6, 1.5, 2.0], outputs.shape) * rng.choice([-1, 1], outputs.shape)
    return outputs, outputs + distance


@pytest.mark.parametrize("name", list(LOSSES))
def test_loss_gradients(name):
    loss = get_loss(name)
    outputs, targets = _loss_case(name, np.random.default_rng(4))
    value, analytic = loss.value_and_grad(outputs.copy(), targets)
    assert value == pytest.approx(loss.value(outputs.copy(), targets))
    numeric = numeric_gradient(lambda: loss.value(outputs, targets), outputs)
    assert_gradients_close(analytic, numeric, name)


def test_softmax_crossentropy_one_hot_targets():
    loss = get_loss("softmax_crossentropy")
    rng = np.random.default_rng(5)
    outputs = rng.standard_normal((6, 3))
    labels = rng.integers(0, 3, 6)
    one_hot = np.eye(3)[labels]
    value, analytic = loss.value_and_grad(outputs.copy(), one_hot)
    numeric = numeric_gradient(lambda: loss.value(outputs, one_hot), outputs)
    assert_gradients_close(analytic, numeric, "one-hot")
    assert value == pytest.approx(loss.value(outputs, labels))
    np.testing.assert_allclose(analytic, loss.value_and_grad(outputs, labels)[1])


# --- whole model --------------------------------------------------------------------------


def _small_cnn():
    return Sequential(
        [
            Conv2D(3, kernel_size=3, padding="same", activation="tanh"),
            BatchNorm(),
            MaxPool2D(2),
            Conv2D(4, kernel_size=2, stride=2, activation="elu", l2=0.01),
            Flatten(),
            Dense(5, activation="gelu", l1=0.01),
            Dense(3),
        ],
        input_shape=(2, 6, 6),
        dtype=np.float64,
    )


def test_sequential_input_gradient_matches_finite_differences():
    model = _small_cnn()
    x = np.random.default_rng(6).standard_normal((2, 2, 6, 6))
    saliency = model.input_gradient(x, class_index=[1, 2])
    numeric = numeric_gradient(lambda: float(model.forward(x)[0, 1] + model.forward(x)[1, 2]), x)
    assert saliency.shape == x.shape
    assert_gradients_close(saliency, numeric, "saliency")


def test_sequential_parameter_gradients_with_loss_and_penalty():
    rng = np.random.default_rng(8)
    check_model_gradients(_small_cnn(), rng.standard_normal((3, 2, 6, 6)), rng.integers(0, 3, 3))


def check_model_gradients(model, x, labels):
    """A training step's parameter gradients (softmax cross-entropy plus the penalties)
    against finite differences of the same training-mode forward pass."""
    loss = get_loss("softmax_crossentropy")

    def total():
        return loss.value(model.forward(x, training=True), labels) + model.penalty()

    _, grad = loss.value_and_grad(model.forward(x, training=True), labels)
    model.backward(grad, need_input_grad=False)
    analytic = {name: value.copy() for name, value in model.gradients().items()}
    for name, value in model.parameters().items():
        assert_gradients_close(analytic[name], numeric_gradient(total, value), name)
