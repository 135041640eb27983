"""Layers: settings metadata and validation, shapes, dtypes, config, repr, train/eval behaviour."""

import doctest
import inspect
import json

import numpy as np
import pytest

from nnstudio.engine import initializers
from nnstudio.engine.initializers import get_initializer
from nnstudio.engine.layers import (
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
    Reshape,
    ShapeError,
)
from nnstudio.engine.layers import base as layers_base
from nnstudio.engine.layers import conv as layers_conv
from nnstudio.engine.layers import core as layers
from nnstudio.engine.layers import norm as layers_norm
from nnstudio.engine.layers.base import CATEGORIES, Setting, required_settings
from nnstudio.engine.registry import LAYERS, layer_from_config

KINDS = {"int", "float", "choice", "bool", "shape"}


def make_default(cls):
    """A layer with every setting at its SETTINGS default (what the palette drops)."""
    return cls(**{setting.name: setting.default for setting in cls.SETTINGS})


# One representative instance per layer type, with the input shape it takes.
EXAMPLES = [
    (Dense(4, activation="relu"), (6,)),
    (Conv2D(3, padding="same", activation="tanh"), (2, 5, 5)),
    (Conv2D(2, kernel_size=2, stride=2), (1, 6, 6)),
    (MaxPool2D(2), (2, 6, 6)),
    (MaxPool2D(3, stride=2), (2, 7, 7)),
    (AvgPool2D(2), (2, 5, 5)),
    (Flatten(), (2, 3, 3)),
    (Reshape((2, -1)), (8,)),
    (Dropout(0.3), (10,)),
    (BatchNorm(), (3,)),
    (BatchNorm(), (2, 3, 3)),
    (Activation("gelu"), (5,)),
    (LeakyReLU(0.2), (2, 3, 3)),
]


@pytest.mark.parametrize("module", [layers, layers_base, layers_conv, layers_norm, initializers])
def test_module_examples(module):
    assert doctest.testmod(module).failed == 0


# --- SETTINGS metadata --------------------------------------------------------------------


@pytest.mark.parametrize("name", list(LAYERS))
def test_every_constructor_argument_is_described(name):
    cls = LAYERS[name]
    assert cls.category in CATEGORIES
    assert cls.description and len(cls.description) < 100
    parameters = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    assert [s.name for s in cls.SETTINGS] == parameters
    for setting in cls.SETTINGS:
        assert isinstance(setting, Setting)
        assert setting.kind in KINDS, setting
        assert len(setting.help) > 20 and setting.help.endswith("."), setting
        if setting.kind == "choice":
            assert setting.default in setting.choices
        if setting.kind in ("int", "float") and setting.default is not None:
            assert setting.minimum is None or setting.default >= setting.minimum
            assert setting.maximum is None or setting.default <= setting.maximum
    # The defaults make a valid layer (the palette relies on it).
    assert make_default(cls).get_config()["type"] == name


def test_required_settings_are_shown_without_names():
    assert required_settings(Dense) == {"units"}
    assert required_settings(Conv2D) == {"filters"}
    assert required_settings(MaxPool2D) == set()


def test_repr_is_readable():
    assert repr(Dense(128, activation="relu")) == "Dense(128, activation='relu')"
    assert repr(Dense(10)) == "Dense(10)"
    assert repr(Conv2D(32, padding="same", l2=1e-4)) == "Conv2D(32, padding='same', l2=0.0001)"
    assert repr(MaxPool2D(3, stride=2)) == "MaxPool2D(pool_size=3, stride=2)"
    assert repr(ReLU()) == "ReLU()"
    assert repr(LeakyReLU(0.2)) == "LeakyReLU(alpha=0.2)"
    assert repr(Reshape((1, 28, 28))) == "Reshape((1, 28, 28))"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Dense(0), r"Dense units must be >= 1 and <= 100000; got 0\. Try 32"),
        (lambda: Dense(2.5), r"Dense units must be a whole number; got 2\.5"),
        (lambda: Dense(True), r"whole number"),
        (
            lambda: Dense(8, activation="rleu"),
            r"Could not interpret activation 'rleu' for Dense\. "
            r"Known: linear, relu",
        ),
        (lambda: Dense(8, initializer="magic"), r"initializer 'magic'.*Known: auto, he"),
        (lambda: Dense(8, l2=-1), r"l2 must be >= 0\.0"),
        (lambda: Dense(8, l1="a lot"), r"l1 must be a number"),
        (lambda: Dense(8, use_bias="yes"), r"use_bias must be true or false"),
        (lambda: Conv2D(8, padding="full"), r"padding 'full'.*Known: valid, same"),
        (lambda: Conv2D(8, kernel_size=0), r"kernel_size must be >= 1"),
        (lambda: Conv2D(8, stride=0), r"stride must be >= 1"),
        (lambda: MaxPool2D(0), r"pool_size must be >= 1"),
        (lambda: Dropout(1.0), r"rate must be >= 0\.0 and <= 0\.95; got 1\.0"),
        (lambda: BatchNorm(momentum=1.5), r"momentum"),
        (lambda: BatchNorm(epsilon=0), r"epsilon must be > 0"),
        (lambda: Reshape((0, 4)), r"positive sizes"),
        (lambda: Reshape("abc"), r"list of sizes"),
        (lambda: Activation("relu", alpha=0.1), r"takes no alpha"),
        (lambda: Activation("swish"), r"Could not interpret function 'swish'"),
        (lambda: LeakyReLU(alpha=2.0), r"alpha must be"),
    ],
)
def test_bad_settings_fail_at_once_naming_the_value(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_float_settings_reject_nan():
    with pytest.raises(ValueError, match="finite"):
        Dense(3, l2=float("nan"))


# --- config -------------------------------------------------------------------------------


@pytest.mark.parametrize(("layer", "input_shape"), EXAMPLES)
def test_config_round_trips_through_json(layer, input_shape):
    config = json.loads(json.dumps(layer.get_config()))
    again = layer_from_config(config)
    assert type(again) is type(layer)
    assert again.get_config() == layer.get_config()
    assert repr(again) == repr(layer)


def test_layer_from_config_errors():
    with pytest.raises(ValueError, match=r"Unknown layer type 'Dens'\. Known: Dense"):
        layer_from_config({"type": "Dens", "units": 3})
    with pytest.raises(ValueError, match=r"Dense has no setting 'unit'\. Settings: units"):
        layer_from_config({"type": "Dense", "unit": 3})
    with pytest.raises(ValueError, match=r"Dense needs a value for 'units'"):
        layer_from_config({"type": "Dense"})
    with pytest.raises(ValueError, match="needs a 'type'"):
        layer_from_config({"units": 3})


# --- shapes, dtypes, ownership ------------------------------------------------------------


@pytest.mark.parametrize(
    ("layer", "input_shape", "expected"),
    [
        (Dense(7), (3,), (7,)),
        (Conv2D(4), (1, 28, 28), (4, 26, 26)),
        (Conv2D(4, padding="same"), (1, 28, 28), (4, 28, 28)),
        (Conv2D(4, stride=2, padding="same"), (1, 28, 28), (4, 14, 14)),
        (Conv2D(4, stride=2, padding="same"), (1, 7, 5), (4, 4, 3)),
        (Conv2D(4, kernel_size=5, stride=2), (3, 11, 12), (4, 4, 4)),
        (MaxPool2D(), (8, 13, 13), (8, 6, 6)),
        (MaxPool2D(3, stride=2), (8, 13, 13), (8, 6, 6)),
        (AvgPool2D(2, stride=1), (8, 4, 5), (8, 3, 4)),
        (Flatten(), (8, 5, 5), (200,)),
        (Reshape((1, 28, 28)), (784,), (1, 28, 28)),
        (Reshape((-1, 4)), (2, 6), (3, 4)),
        (BatchNorm(), (8, 5, 5), (8, 5, 5)),
    ],
)
def test_output_shapes(layer, input_shape, expected):
    assert layer.build(input_shape, np.random.default_rng(0)) == expected
    x = np.ones((2, *input_shape), dtype=np.float32)
    assert layer.forward(x, training=True).shape == (2, *expected)


@pytest.mark.parametrize(
    ("layer", "input_shape", "needs"),
    [
        (Dense(3), (2, 4, 4), "input (features,)"),
        (Conv2D(3), (16,), "input (channels, height, width)"),
        (Conv2D(3, kernel_size=5), (1, 4, 9), "an image of at least 5×5 pixels"),
        (MaxPool2D(3), (1, 2, 2), "an image of at least 3×3 pixels"),
        (AvgPool2D(), (10,), "input (channels, height, width)"),
        (Reshape((1, 28, 28)), (100,), "784 values to make (1, 28, 28)"),
        (Reshape((-1, 3)), (10,), "a multiple of 3 values to fill (-1, 3)"),
        (BatchNorm(), (2, 3), "input (features,) or (channels, height, width)"),
    ],
)
def test_shape_errors_say_what_is_needed_and_what_came(layer, input_shape, needs):
    with pytest.raises(ShapeError) as caught:
        layer.build(input_shape, np.random.default_rng(0))
    assert caught.value.needs == needs
    assert caught.value.got == input_shape
    assert str(input_shape) in str(caught.value)


@pytest.mark.parametrize(("layer", "input_shape"), EXAMPLES)
def test_float32_stays_float32_and_inputs_are_not_modified(layer, input_shape):
    layer.build(input_shape, np.random.default_rng(0))
    assert all(value.dtype == np.float32 for value in layer.params.values())
    x = np.random.default_rng(1).standard_normal((3, *input_shape)).astype(np.float32)
    original = x.copy()
    y = layer.forward(x, training=True)
    grad_x = layer.backward(np.ones_like(y))
    assert y.dtype == np.float32 and grad_x.dtype == np.float32
    assert grad_x.shape == x.shape
    assert all(grad.dtype == np.float32 for grad in layer.grads.values())
    np.testing.assert_array_equal(x, original)


WEIGHTED_EXAMPLES = [e for e in EXAMPLES if isinstance(e[0], (Dense, Conv2D, BatchNorm))]


@pytest.mark.parametrize(("layer", "input_shape"), WEIGHTED_EXAMPLES)
def test_first_layer_can_skip_the_input_gradient(layer, input_shape):
    layer.build(input_shape, np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal((3, *input_shape)).astype(np.float32)
    y = layer.forward(x, training=True)
    grad_y = np.random.default_rng(2).standard_normal(y.shape).astype(np.float32)
    layer.backward(grad_y.copy())
    full = {name: grad.copy() for name, grad in layer.grads.items()}
    layer.forward(x, training=True)
    assert layer.backward(grad_y.copy(), need_input_grad=False) is None
    for name, grad in layer.grads.items():
        np.testing.assert_allclose(grad, full[name], rtol=1e-6)


def test_count_params():
    dense = Dense(10)
    dense.build((5,))
    assert dense.count_params() == 60
    no_bias = Dense(10, use_bias=False)
    no_bias.build((5,))
    assert no_bias.count_params() == 50
    conv = Conv2D(8, kernel_size=3)
    conv.build((3, 9, 9))
    assert conv.count_params() == 8 * 3 * 3 * 3 + 8
    batch_norm = BatchNorm()
    batch_norm.build((4, 2, 2))
    assert batch_norm.count_params() == 8 and set(batch_norm.buffers) == {
        "running_mean",
        "running_var",
    }


# --- values -------------------------------------------------------------------------------


def naive_convolution(x, W, b, stride, pad):
    """Textbook loops, to check the im2col version against."""
    x = np.pad(x, ((0, 0), (0, 0), pad[0], pad[1]))
    n, _, height, width = x.shape
    filters, _, k, _ = W.shape
    out_h, out_w = (height - k) // stride + 1, (width - k) // stride + 1
    y = np.zeros((n, filters, out_h, out_w))
    for r in range(out_h):
        for c in range(out_w):
            window = x[:, :, r * stride : r * stride + k, c * stride : c * stride + k]
            y[:, :, r, c] = np.tensordot(window, W, axes=([1, 2, 3], [1, 2, 3])) + b
    return y


@pytest.mark.parametrize(
    ("kernel_size", "stride", "padding", "pad"),
    [
        (3, 1, "valid", ((0, 0), (0, 0))),
        (3, 2, "same", ((1, 1), (0, 1))),
        (4, 1, "same", ((1, 2), (1, 2))),
        (1, 3, "valid", ((0, 0), (0, 0))),
    ],
)
def test_conv2d_matches_a_naive_convolution(kernel_size, stride, padding, pad):
    layer = Conv2D(3, kernel_size=kernel_size, stride=stride, padding=padding)
    layer.build((2, 7, 6), np.random.default_rng(0), np.float64)
    layer.params["b"][:] = [0.1, -0.2, 0.3]
    x = np.random.default_rng(1).standard_normal((2, 2, 7, 6))
    expected = naive_convolution(x, layer.params["W"], layer.params["b"], stride, pad)
    np.testing.assert_allclose(layer.forward(x), expected, atol=1e-12)


def test_pooling_values():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    max_pool, avg_pool, overlapping = MaxPool2D(2), AvgPool2D(2), MaxPool2D(3, stride=1)
    for layer in (max_pool, avg_pool, overlapping):
        layer.build((1, 4, 4))
    np.testing.assert_array_equal(max_pool.forward(x)[0, 0], [[5, 7], [13, 15]])
    np.testing.assert_array_equal(avg_pool.forward(x)[0, 0], [[2.5, 4.5], [10.5, 12.5]])
    np.testing.assert_array_equal(overlapping.forward(x)[0, 0], [[10, 11], [14, 15]])


def test_max_pool_sends_each_gradient_to_one_maximum_only():
    layer = MaxPool2D(2)
    layer.build((1, 2, 4))
    x = np.zeros((1, 1, 2, 4))  # every window is a tie (as after ReLU)
    layer.forward(x)
    grad_x = layer.backward(np.array([[[[1.0, 2.0]]]]))
    np.testing.assert_array_equal(grad_x[0, 0], [[1, 0, 2, 0], [0, 0, 0, 0]])


def test_dropout_is_inverted_and_train_only():
    layer = Dropout(0.25)
    layer.build((20_000,), np.random.default_rng(0))
    x = np.ones((2, 20_000), dtype=np.float32)
    np.testing.assert_array_equal(layer.forward(x, training=False), x)
    y = layer.forward(x, training=True)
    dropped = np.mean(y == 0)
    assert 0.23 < dropped < 0.27
    np.testing.assert_allclose(np.unique(y), [0.0, 1 / 0.75])
    assert abs(y.mean() - 1.0) < 0.02  # the expected value is kept
    grad = layer.backward(np.ones_like(y))
    np.testing.assert_array_equal(grad == 0, y == 0)
    assert not np.array_equal(y, layer.forward(x, training=True))  # a new mask per batch
    assert np.array_equal(Dropout(0.0).forward(x, training=True), x)


def test_batch_norm_statistics_and_modes():
    layer = BatchNorm(momentum=0.5)
    layer.build((2, 3, 3), np.random.default_rng(0))
    rng = np.random.default_rng(1)
    x = rng.standard_normal((8, 2, 3, 3)) * [[[[2.0]], [[0.5]]]] + [[[[3.0]], [[-1.0]]]]
    x = x.astype(np.float32)
    y = layer.forward(x, training=True)
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0.0, atol=1e-5)
    np.testing.assert_allclose(y.var(axis=(0, 2, 3)), 1.0, atol=1e-3)
    batch_mean = x.mean(axis=(0, 2, 3))
    np.testing.assert_allclose(layer.buffers["running_mean"], 0.5 * batch_mean, rtol=1e-5)
    unbiased = x.var(axis=(0, 2, 3), ddof=1)
    np.testing.assert_allclose(layer.buffers["running_var"], 0.5 + 0.5 * unbiased, rtol=1e-5)
    # Evaluation uses the running statistics: a single sample gets a fixed answer.
    one = layer.forward(x[:1], training=False)
    expected = (x[:1] - layer.buffers["running_mean"].reshape(1, -1, 1, 1)) / np.sqrt(
        layer.buffers["running_var"].reshape(1, -1, 1, 1) + 1e-5
    )
    np.testing.assert_allclose(one, expected, rtol=1e-5, atol=1e-6)
    running = layer.buffers["running_mean"].copy()
    layer.forward(x, training=False)
    np.testing.assert_array_equal(layer.buffers["running_mean"], running)


# --- initializers -------------------------------------------------------------------------


def test_initializers():
    rng = np.random.default_rng(0)
    he = get_initializer("he")((400, 300), 400, 300, rng, np.float32)
    assert he.dtype == np.float32 and abs(he.std() - np.sqrt(2 / 400)) < 0.002
    glorot = get_initializer("glorot")((400, 300), 400, 300, rng, np.float64)
    limit = np.sqrt(6 / 700)
    assert glorot.dtype == np.float64 and np.abs(glorot).max() <= limit
    assert np.abs(glorot).max() > 0.95 * limit
    lecun = get_initializer("lecun")((400, 300), 400, 300, rng)
    assert abs(lecun.std() - np.sqrt(1 / 400)) < 0.002
    assert not get_initializer("zeros")((3, 3), 3, 3, rng).any()
    assert get_initializer("auto", activation="leaky_relu") is initializers.he
    assert get_initializer("auto", activation="sigmoid") is initializers.glorot
    with pytest.raises(ValueError, match=r"Could not interpret initializer 'xavier'\. Known"):
        get_initializer("xavier")


def test_initial_weights_follow_the_seed():
    first, second, other = Dense(5), Dense(5), Dense(5)
    first.build((4,), np.random.default_rng(3))
    second.build((4,), np.random.default_rng(3))
    other.build((4,), np.random.default_rng(4))
    np.testing.assert_array_equal(first.params["W"], second.params["W"])
    assert not np.array_equal(first.params["W"], other.params["W"])


def test_rescale_is_made_from_targets_and_checks_its_numbers():
    from nnstudio.engine.layers import Rescale
    from nnstudio.engine.registry import LAYERS, layer_from_config

    y = np.array([[10.0, 7.0], [30.0, 7.0], [20.0, 7.0]])
    layer = Rescale.for_targets(y)
    np.testing.assert_allclose(layer.offset, [20.0, 7.0])
    np.testing.assert_allclose(layer.scale, [y[:, 0].std(), 1.0])  # a constant column: 1
    assert repr(layer_from_config(layer.get_config())) == repr(layer)
    assert "Rescale" not in LAYERS  # models get it; people do not pick it from the palette
    with pytest.raises(ValueError, match="scale must be >"):
        Rescale([0.0], [1.0])
    with pytest.raises(ValueError, match="finite"):
        Rescale([1.0], [float("nan")])
    with pytest.raises(ValueError, match="as many offsets"):
        Rescale([1.0, 2.0], [0.0])


# --- what a layer knows about itself without being built ----------------------------------

# An input each layer type takes at its SETTINGS defaults (Reshape's default is 1×28×28).
DEFAULT_INPUTS = {"Dense": (6,), "Reshape": (784,), "Rescale": (2,)}
# Settings besides the defaults whose parameter count differs (no bias, other kernels).
COUNT_VARIANTS = [
    (Dense(7, use_bias=False), (5,)),
    (Conv2D(4, kernel_size=5, padding="same", use_bias=False), (3, 9, 9)),
    (Conv2D(2, kernel_size=1, stride=2), (6, 4, 4)),
    (BatchNorm(), (5,)),
]


def default_layer(name):
    from nnstudio.engine.layers import Rescale

    if name == "Rescale":
        return Rescale([2.0, 1.0], [0.0, 3.0]), DEFAULT_INPUTS[name]
    return make_default(LAYERS[name]), DEFAULT_INPUTS.get(name, (3, 8, 8))


@pytest.mark.parametrize("name", [*LAYERS, "Rescale"])
def test_parameter_count_equals_the_built_layers_for_every_type(name):
    layer, shape = default_layer(name)
    counted = layer.parameter_count(shape)
    assert layer.params == {}  # counted, not allocated
    layer.build(shape, np.random.default_rng(0))
    assert counted == layer.count_params()


@pytest.mark.parametrize(("layer", "shape"), EXAMPLES + COUNT_VARIANTS, ids=repr)
def test_parameter_count_equals_the_built_layers_for_other_settings(layer, shape):
    fresh = layer_from_config(layer.get_config())
    counted = fresh.parameter_count(shape)
    fresh.build(shape, np.random.default_rng(0))
    assert counted == fresh.count_params()


def test_parameter_count_refuses_an_input_the_layer_cannot_take():
    with pytest.raises(ShapeError, match="Flatten"):
        Dense(10).parameter_count((1, 28, 28))
    assert Dense(100_000).parameter_count((784,)) == 784 * 100_000 + 100_000


@pytest.mark.parametrize("name", [*LAYERS, "Rescale"])
def test_regularized_weights_are_the_layers_with_l1_and_l2(name):
    layer, shape = default_layer(name)
    names = {setting.name for setting in type(layer).SETTINGS}
    assert type(layer).has_regularized_weights == ({"l1", "l2"} <= names)
    if type(layer).has_regularized_weights:
        penalized = layer_from_config({**layer.get_config(), "l2": 0.1})
        penalized.build(shape, np.random.default_rng(0))
        assert penalized.penalty() > 0
