"""The gradient check at kinks: where a nudge of ±ε switches ReLU units on or off (z = 0 on a
blank background), the central difference is not the slope and backprop is compared with
the one-sided slopes instead; a wrong gradient is still reported as one."""

from __future__ import annotations

import numpy as np
import pytest

from nnstudio.engine.layers import Conv2D, Dense, Flatten, MaxPool2D
from nnstudio.engine.model import Sequential
from nnstudio.project import gradient_check
from nnstudio.project.explain import explain_sample
from nnstudio.project.gradient_check import check_gradients, kink_note, kinks_explained


def blank_background_image() -> np.ndarray:
    """A 10×10 image that is 0 except for a small stroke, as MNIST digits are."""
    image = np.zeros((1, 10, 10), np.float32)
    image[0, 4:7, 3:7] = np.random.default_rng(0).uniform(0.5, 1.0, size=(3, 4))
    return image


def conv_explanation():
    model = Sequential(
        [Conv2D(2, 3, activation="relu"), MaxPool2D(2), Flatten(), Dense(3)],
        input_shape=(1, 10, 10),
        seed=4,
    )
    return explain_sample(model, "softmax_crossentropy", blank_background_image(), 1)


def largest(explanation, name: str) -> tuple:
    grad = explanation.gradients[name]
    return np.unravel_index(int(np.argmax(np.abs(grad))), grad.shape)


def test_a_bias_at_relus_kink_is_not_called_a_mismatch_and_says_why():
    explanation = conv_explanation()
    # the biases start at 0, so every unit that sees only background has z = 0 exactly
    assert np.count_nonzero(explanation.layers[0].z == 0) > 10
    check = check_gradients(explanation, {"0.b": [(0,)], "3.W": [largest(explanation, "3.W")]})
    bias, weight = check.rows
    # the central difference straddles the kink: it is not backprop's slope...
    assert abs(bias["numeric"] - bias["analytic"]) > 1e-3
    # ...and the check says so instead of "differ"
    assert bias["verdict"] == "kink" and bias["matches"] == "left"
    assert bias["left"] == pytest.approx(bias["analytic"], rel=1e-6)
    assert bias["kinks"][0]["layer"] == "0 Conv2D" and bias["kinks"][0]["kink"] == "relu"
    assert weight["verdict"] == "agree"
    assert check.verdict == "agree" and check.at_kinks == 1
    assert check.max_relative_error < 1e-6
    assert check.summary().endswith("they agree") and "1 at a kink" in check.summary()
    note = kink_note(bias)
    assert "not the slope here" in note and "relu's kink at z = 0" in note
    assert "slope from the left" in note
    assert "1 weight sits at a kink" in kinks_explained(check)


def wrong_by(factor: float, backprop):
    """A backward pass with a bug: every gradient ``factor`` times too large."""

    def wrong(*args):
        return {name: grad * factor for name, grad in backprop(*args).items()}

    return wrong


def test_a_wrong_gradient_is_still_a_mismatch(monkeypatch):
    monkeypatch.setattr(gradient_check, "_backprop", wrong_by(1.05, gradient_check._backprop))
    explanation = conv_explanation()
    check = check_gradients(explanation, {"3.W": [largest(explanation, "3.W")], "0.b": [(0,)]})
    weight, bias = check.rows
    assert weight["verdict"] == "differ" and weight["relative_error"] > 0.04
    # at the kink, a wrong gradient is neither one-sided slope: never "they agree"
    assert bias["verdict"] == "kink" and bias["matches"] is None
    assert "backprop is neither slope" in kink_note(bias)
    assert check.verdict == "differ" and check.summary().endswith("they differ")
    assert check.max_relative_error > 0.04


def test_a_wrong_gradient_only_at_a_kink_is_not_called_agreement(monkeypatch):
    monkeypatch.setattr(gradient_check, "_backprop", wrong_by(1.05, gradient_check._backprop))
    check = check_gradients(conv_explanation(), {"0.b": [(0,)]})
    assert check.verdict == "unclear"
    assert "they agree" not in check.summary()
