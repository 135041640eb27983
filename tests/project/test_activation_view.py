"""An activation and its slope with a batch's pre-activations: the z are the layer's own, and
the share of them where no gradient passes is counted as the curve says."""

import numpy as np
import pytest

from nnstudio.engine.layers import Activation, Dense
from nnstudio.engine.model import Sequential
from nnstudio.project.activation_view import activation_layers, activation_view


@pytest.fixture
def batch():
    return np.random.default_rng(0).normal(size=(50, 3)).astype(np.float32)


def test_the_z_are_the_layers_pre_activations_and_dead_relus_pass_no_gradient(batch):
    model = Sequential([Dense(6, activation="relu"), Dense(2)], input_shape=(3,), seed=1)
    view = activation_view(model, 0, batch)
    weights = model.parameters()
    z = batch.astype(np.float64) @ weights["0.W"] + weights["0.b"]
    np.testing.assert_allclose(np.sort(view.z), np.sort(z.ravel()), rtol=1e-5, atol=1e-6)
    assert view.no_gradient == pytest.approx(np.mean(z <= 0), abs=0.01)
    assert view.f_at_z == pytest.approx(np.maximum(view.z, 0), abs=0.05)


def test_a_sigmoids_slope_peaks_at_a_quarter_and_its_flat_ends_count(batch):
    model = Sequential([Dense(4), Activation("sigmoid"), Dense(2)], input_shape=(3,), seed=2)
    assert activation_layers(model) == [(1, "1 Activation sigmoid")]
    view = activation_view(model, 1, batch * 40)  # huge inputs: saturated units
    assert view.derivative.max() == pytest.approx(0.25, abs=1e-3)
    assert view.no_gradient > 0.5
    with pytest.raises(ValueError, match="no non-linear activation"):
        activation_view(model, 2, batch)
