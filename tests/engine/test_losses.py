"""Losses: known values, target forms, stability for huge logits, errors, output activation."""

import doctest

import numpy as np
import pytest

from nnstudio.engine import losses
from nnstudio.engine.losses import LOSSES, get_loss


def test_module_examples():
    assert doctest.testmod(losses).failed == 0


def test_known_values():
    outputs, targets = np.array([[1.0, 2.0]]), np.array([[0.0, 0.0]])
    assert get_loss("mse").value(outputs, targets) == pytest.approx(2.5)
    assert get_loss("mae").value(outputs, targets) == pytest.approx(1.5)
    huber = get_loss("huber").value(np.array([[0.5, 3.0]]), targets)
    assert huber == pytest.approx((0.125 + 2.5) / 2)
    bce = get_loss("binary_crossentropy").value(np.array([[0.0]]), np.array([[1.0]]))
    assert bce == pytest.approx(np.log(2))
    uniform = get_loss("softmax_crossentropy").value(np.zeros((3, 4)), np.array([0, 1, 3]))
    assert uniform == pytest.approx(np.log(4))


def test_gradients_are_averaged_over_the_batch():
    loss = get_loss("softmax_crossentropy")
    logits = np.random.default_rng(0).standard_normal((4, 3))
    labels = np.array([0, 2, 1, 1])
    _, grad = loss.value_and_grad(logits, labels)
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(grad, (probabilities - np.eye(3)[labels]) / 4)


@pytest.mark.parametrize("classes", [2, 10, losses.SHORT_ROWS, losses.SHORT_ROWS + 1, 100])
def test_softmax_crossentropy_matches_a_float64_reference_for_short_and_long_rows(classes):
    """Few classes take the row maxima on the transposed scores, many take them as they are:
    both give the textbook value and gradient, also for a transposed (non-contiguous) batch."""
    rng = np.random.default_rng(classes)
    logits = (rng.standard_normal((classes, 37)) * 5).astype(np.float32).T  # (37, classes)
    labels = rng.integers(0, classes, 37)
    value, grad = get_loss("softmax_crossentropy").value_and_grad(logits, labels)
    z = logits.astype(np.float64)
    log_probabilities = z - z.max(axis=1, keepdims=True)
    log_probabilities -= np.log(np.exp(log_probabilities).sum(axis=1, keepdims=True))
    assert value == pytest.approx(-log_probabilities[np.arange(37), labels].mean(), rel=1e-5)
    expected = (np.exp(log_probabilities) - np.eye(classes)[labels]) / 37
    np.testing.assert_allclose(grad, expected, atol=1e-7)


def test_int_labels_and_one_hot_agree():
    loss = get_loss("softmax_crossentropy")
    logits = np.random.default_rng(1).standard_normal((5, 3)).astype(np.float32)
    labels = np.array([2, 0, 1, 1, 2])
    value_int, grad_int = loss.value_and_grad(logits, labels)
    value_hot, grad_hot = loss.value_and_grad(logits, np.eye(3, dtype=np.float32)[labels])
    assert value_int == pytest.approx(value_hot, rel=1e-6)
    np.testing.assert_allclose(grad_int, grad_hot, atol=1e-7)
    # Whole-number floats are labels too (as read from a CSV).
    assert loss.value(logits, labels.astype(float)) == pytest.approx(value_int)


def test_soft_targets_match_a_float64_reference():
    """Rows that are not one-hot (label smoothing, or weights not summing to 1) give
    sum_k t_k (logsumexp(z) - z_k) / n and the gradient (softmax(z) * sum_k t_k - t) / n."""
    rng = np.random.default_rng(2)
    logits = (rng.standard_normal((6, 4)) * 3).astype(np.float32)
    targets = rng.random((6, 4)).astype(np.float32)  # rows summing to anything
    value, grad = get_loss("softmax_crossentropy").value_and_grad(logits, targets)
    z, t = logits.astype(np.float64), targets.astype(np.float64)
    log_sum_exp = np.log(np.exp(z).sum(axis=1, keepdims=True))
    assert value == pytest.approx(np.sum(t * (log_sum_exp - z)) / 6, rel=1e-5)
    softmax = np.exp(z - log_sum_exp)
    expected = (softmax * t.sum(axis=1, keepdims=True) - t) / 6
    np.testing.assert_allclose(grad, expected, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_huge_logits_stay_finite_without_warnings(dtype):
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 5.0]], dtype=dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        right, grad = get_loss("softmax_crossentropy").value_and_grad(logits, np.array([0, 1]))
        wrong = get_loss("softmax_crossentropy").value(logits, np.array([1, 0]))
        bce, bce_grad = get_loss("binary_crossentropy").value_and_grad(
            logits, np.array([[1, 0, 1], [1, 1, 0]], dtype=dtype)
        )
        for name in ("mse", "mae", "huber"):
            value, regression_grad = get_loss(name).value_and_grad(logits, np.zeros_like(logits))
            assert np.isfinite(value) and np.all(np.isfinite(regression_grad))
    assert right == pytest.approx(0.0, abs=1e-3)
    assert wrong == pytest.approx(2e4, rel=1e-3)
    # Per element: 0, 0, log 2 | 1e4 (a confident mistake), 0, 5 + log(1 + e^-5).
    assert bce == pytest.approx((np.log(2) + 1e4 + 5.0 + np.log1p(np.exp(-5.0))) / 6, rel=1e-6)
    assert grad.dtype == dtype and bce_grad.dtype == dtype
    assert np.all(np.isfinite(grad)) and np.all(np.isfinite(bce_grad))


@pytest.mark.parametrize("name", list(LOSSES))
def test_float32_in_float32_out(name):
    outputs = np.random.default_rng(2).standard_normal((4, 3)).astype(np.float32)
    targets = np.array([0, 1, 2, 1]) if name == "softmax_crossentropy" else (outputs > 0) * 1.0
    value, grad = get_loss(name).value_and_grad(outputs, targets)
    assert isinstance(value, float)
    assert grad.dtype == np.float32 and grad.shape == outputs.shape


def test_regression_targets_of_shape_n_fit_one_output():
    outputs = np.array([[1.0], [2.0]])
    assert get_loss("mse").value(outputs, np.array([0.0, 0.0])) == pytest.approx(2.5)
    assert get_loss("binary_crossentropy").value(np.zeros((2, 1)), np.array([0, 1])) > 0


def test_bad_targets_are_explained():
    loss = get_loss("softmax_crossentropy")
    with pytest.raises(ValueError, match=r"labels must be in 0\.\.2"):
        loss.value(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match="whole-number"):
        loss.value(np.zeros((2, 3)), np.array([0.5, 1.0]))
    with pytest.raises(ValueError, match="one-hot"):
        loss.value(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="do not match"):
        get_loss("mse").value(np.zeros((2, 3)), np.zeros((2, 2)))


def test_output_activation_and_task():
    logits = np.array([[2.0, 0.0, -1.0]])
    probabilities = get_loss("softmax_crossentropy").output_activation(logits)
    assert probabilities.sum() == pytest.approx(1.0) and probabilities.argmax() == 0
    sigmoid = get_loss("binary_crossentropy").output_activation(logits)
    np.testing.assert_allclose(sigmoid, 1 / (1 + np.exp(-logits)))
    np.testing.assert_array_equal(get_loss("mse").output_activation(logits), logits)
    assert get_loss("softmax_crossentropy").task == "classification"
    assert get_loss("binary_crossentropy").task == "classification"
    assert {get_loss(name).task for name in ("mse", "mae", "huber")} == {"regression"}
    assert all(get_loss(name).name == name for name in LOSSES)


def test_lookup_errors_and_settings():
    with pytest.raises(ValueError, match=r"Could not interpret loss 'mse2'\. Known: mse, mae"):
        get_loss("mse2")
    assert get_loss("huber", delta=2.0).delta == 2.0
    with pytest.raises(ValueError, match="delta must be > 0"):
        get_loss("huber", delta=0)
    with pytest.raises(ValueError, match="MeanSquaredError has no setting 'delta'"):
        get_loss("mse", delta=1.0)
    loss = get_loss("mae")
    assert get_loss(loss) is loss
    assert losses.loss_names() == [
        "mse",
        "mae",
        "huber",
        "binary_crossentropy",
        "softmax_crossentropy",
    ]
