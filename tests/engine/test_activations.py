"""Activation functions: values, stability for huge inputs, dtype, in-place use, lookup errors."""

import doctest

import numpy as np
import pytest

from nnstudio.engine import activations
from nnstudio.engine.activations import ACTIVATIONS, get_activation

NAMES = list(ACTIVATIONS)
HUGE = np.array([[-1e4, -50.0, -1.0, 0.0, 1.0, 50.0, 1e4], [1e4, 3.0, -1e4, 2.0, 0.0, -2.0, 7.0]])


def test_module_examples():
    assert doctest.testmod(activations).failed == 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", NAMES)
def test_huge_inputs_give_finite_values_without_warnings(name, dtype):
    function = get_activation(name)
    x = HUGE.astype(dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # (underflow to 0 is fine)
        y = function.forward(x)
        grad = function.backward(x, y, np.ones_like(x))
    assert y.dtype == dtype and grad.dtype == dtype
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(grad))


def test_values_at_the_extremes():
    x = np.array([[-1e4, 0.0, 1e4]], dtype=np.float32)
    np.testing.assert_array_equal(get_activation("sigmoid").forward(x), [[0.0, 0.5, 1.0]])
    np.testing.assert_array_equal(get_activation("tanh").forward(x), [[-1.0, 0.0, 1.0]])
    np.testing.assert_array_equal(get_activation("relu").forward(x), [[0.0, 0.0, 1e4]])
    np.testing.assert_allclose(get_activation("leaky_relu").forward(x), [[-100.0, 0.0, 1e4]])
    np.testing.assert_allclose(get_activation("elu").forward(x), [[-1.0, 0.0, 1e4]])
    np.testing.assert_allclose(get_activation("gelu").forward(x), [[0.0, 0.0, 1e4]])
    np.testing.assert_allclose(get_activation("softmax").forward(x), [[0.0, 0.0, 1.0]])
    np.testing.assert_array_equal(get_activation("linear").forward(x), x)


def test_known_values():
    x = np.array([[-1.0, 0.5, 2.0]])
    np.testing.assert_allclose(get_activation("sigmoid").forward(x), 1 / (1 + np.exp(-x)))
    np.testing.assert_allclose(get_activation("elu", alpha=2.0).forward(x)[0, 0], 2 * np.expm1(-1))
    np.testing.assert_allclose(get_activation("leaky_relu", alpha=0.1).forward(x)[0, 0], -0.1)
    gelu = get_activation("gelu").forward(np.array([[1.0]]))[0, 0]
    assert gelu == pytest.approx(0.8412, abs=1e-4)  # the tanh form of GELU(1)
    probabilities = get_activation("softmax").forward(np.array([[1.0, 2.0, 3.0]]))
    assert probabilities.sum() == pytest.approx(1.0)
    assert probabilities[0, 2] == pytest.approx(np.exp(3) / np.exp([1, 2, 3]).sum())


def test_softmax_works_over_channels_of_images():
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 4))
    y = get_activation("softmax").forward(x)
    np.testing.assert_allclose(y.sum(axis=1), 1.0)


@pytest.mark.parametrize("name", NAMES)
def test_in_place_forward_matches_out_of_place(name):
    function = get_activation(name)
    x = np.random.default_rng(1).standard_normal((3, 4)).astype(np.float32)
    expected = function.forward(x.copy())
    buffer = x.copy()
    result = function.forward(buffer, out=buffer)
    np.testing.assert_allclose(result, expected, rtol=1e-6)
    np.testing.assert_allclose(buffer, expected, rtol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_forward_leaves_its_input_alone(name):
    x = np.random.default_rng(2).standard_normal((3, 4))
    original = x.copy()
    get_activation(name).forward(x)
    np.testing.assert_array_equal(x, original)


@pytest.mark.parametrize("name", [n for n in NAMES if not ACTIVATIONS[n].needs_input])
def test_backward_needs_only_the_output_when_it_says_so(name):
    function = get_activation(name)
    x = np.random.default_rng(3).standard_normal((2, 5))
    y = function.forward(x)
    grad = np.random.default_rng(4).standard_normal(x.shape)
    np.testing.assert_allclose(
        function.backward(None, y, grad.copy()), function.backward(x, y, grad.copy())
    )


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"Could not interpret activation 'rleu'\. Known: .*relu"):
        get_activation("rleu")


def test_bad_settings_fail_at_once():
    with pytest.raises(ValueError, match="alpha"):
        get_activation("leaky_relu", alpha=1.5)
    with pytest.raises(ValueError, match="alpha"):
        get_activation("elu", alpha=0.0)
    with pytest.raises(ValueError, match="takes no settings"):
        get_activation("relu", alpha=0.1)


def test_lookup_details():
    assert isinstance(get_activation(None), activations.Linear)
    assert isinstance(get_activation("ReLU"), activations.ReLU)
    relu = activations.ReLU()
    assert get_activation(relu) is relu
    assert repr(get_activation("leaky_relu", alpha=0.2)) == "LeakyReLU(alpha=0.2)"
    assert get_activation("elu", alpha=0.5).get_config() == {"type": "elu", "alpha": 0.5}
    assert get_activation("tanh") == get_activation("tanh")
    assert get_activation("elu", alpha=0.5) != get_activation("elu")
    assert activations.activation_names() == NAMES
    assert set(NAMES) == {
        "linear",
        "relu",
        "leaky_relu",
        "elu",
        "gelu",
        "sigmoid",
        "tanh",
        "softmax",
    }
