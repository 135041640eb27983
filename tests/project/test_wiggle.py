"""Wiggle a weight: the curve is the loss at moved weights, its tangent's slope is the
backward pass's gradient (checked against finite differences), and the model is unchanged."""

import numpy as np
import pytest

from nnstudio.engine.layers import Dense
from nnstudio.engine.model import Sequential
from nnstudio.project.explain import explain_sample
from nnstudio.project.wiggle import wiggle_weight


@pytest.fixture
def explained():
    model = Sequential([Dense(5, activation="tanh"), Dense(3)], input_shape=(4,), seed=2)
    x = np.array([0.5, -1.0, 0.25, 2.0], dtype=np.float32)
    return model, explain_sample(model, "softmax_crossentropy", x, 1)


@pytest.mark.parametrize("parameter, index", [("0.W", (1, 3)), ("1.b", (2,)), ("1.W", (4, 0))])
def test_the_tangents_slope_is_the_backprop_gradient(explained, parameter, index):
    model, explanation = explained
    wiggle = wiggle_weight(explanation, parameter, index)
    assert wiggle.gradient == pytest.approx(wiggle.numeric_slope, rel=1e-3, abs=1e-6)
    assert wiggle.gradient != 0
    # Close to the weight the curve hugs its tangent; far away it bends away from it.
    small = wiggle.deltas[len(wiggle.deltas) // 2 + 1]
    assert wiggle.loss_at(small) == pytest.approx(wiggle.tangent(small), abs=0.02)
    assert wiggle.loss == pytest.approx(explanation.loss.value, rel=1e-5)


def test_each_point_is_the_loss_with_the_weight_moved(explained):
    model, explanation = explained
    wiggle = wiggle_weight(explanation, "0.W", (0, 2), span=0.4, steps=5)
    for delta, loss in zip(wiggle.deltas, wiggle.losses, strict=True):
        moved = Sequential.from_config(model.config())
        moved.load_state_dict(model.state_dict())
        moved.parameters()["0.W"][0, 2] += delta
        moved_explanation = explain_sample(moved, "softmax_crossentropy", explanation.input, 1)
        assert loss == pytest.approx(moved_explanation.loss.value, rel=1e-5)


def test_the_model_is_never_changed(explained):
    model, explanation = explained
    before = {name: value.copy() for name, value in model.parameters().items()}
    wiggle_weight(explanation, "0.W", (1, 3), span=50.0)
    for name, value in model.parameters().items():
        np.testing.assert_array_equal(value, before[name])
