"""The NaN guard keeps weights that still give finite outputs, not merely finite weights.

SGD with lr=1e30 turns the first batch's update into weights of ~1e29: finite, yet every
output is NaN. A copy of the weights counts as good only once a batch trained with it had a
finite loss.
"""

import math
import warnings

import numpy as np
import pytest

from nnstudio.engine.fit import loop as training
from nnstudio.engine.fit.guard import DivergenceGuard
from nnstudio.engine.fit.loop import FitConfig, fit
from nnstudio.engine.layers import Dense
from nnstudio.engine.losses import get_loss
from nnstudio.engine.model import Sequential
from nnstudio.engine.optimizers import SGD, Adam

CE = "softmax_crossentropy"


def blobs(n=128, seed=0):
    rng = np.random.default_rng(seed)
    centres = np.array([[-2.0, 0.0], [2.0, 0.0], [0.0, 2.5]])
    y = rng.integers(0, 3, n)
    return (centres[y] + 0.5 * rng.standard_normal((n, 2))).astype(np.float32), y


def mlp():
    return Sequential([Dense(16, activation="relu"), Dense(3)], input_shape=(2,), seed=0)


def weights(model):
    return {name: value.copy() for name, value in model.state_dict().items()}


def assert_same_weights(a, b):
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


class NanAtCall:
    """A loss that returns NaN at its n-th call, as a blow-up looks to fit."""

    task = "classification"

    def __init__(self, n):
        self.inner, self.calls, self.n = get_loss(CE), 0, n

    def value_and_grad(self, outputs, targets):
        self.calls += 1
        value, grad = self.inner.value_and_grad(outputs, targets)
        return (math.nan if self.calls == self.n else value), grad

    def value(self, outputs, targets):
        return self.inner.value(outputs, targets)


@pytest.mark.parametrize("optimizer", [SGD(lr=1e30), Adam(lr=1e30)], ids=["sgd", "adam"])
def test_weights_after_a_1e30_blow_up_predict_finite_values_without_warnings(optimizer):
    x, y = blobs()
    model = mlp()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning fails the test
        result = fit(model, CE, optimizer, x, y, FitConfig(epochs=3, batch_size=16))
        outputs = model.predict(x)
    assert result.stopped_reason == "nan"
    assert np.isfinite(outputs).all()
    assert max(float(np.abs(w).max()) for w in model.state_dict().values()) < 10


def snapshots_after_each_batch(model):
    taken = []

    class Snap:
        def on_batch_end(self, info):
            taken.append(weights(model))

    return taken, Snap()


def test_a_kept_copy_that_a_finite_batch_trained_on_is_restored(monkeypatch):
    monkeypatch.setattr(training, "FINITE_CHECK_EVERY", 2)
    x, y = blobs(64)
    model = mlp()
    taken, snap = snapshots_after_each_batch(model)
    # Copy after batch 2; batch 3 trains on it with a finite loss; batch 4's loss is NaN.
    result = fit(model, NanAtCall(4), Adam(lr=0.01), x, y, FitConfig(epochs=1, batch_size=8),
                 callbacks=[snap])  # fmt: skip
    assert "last good weights (from epoch 1, batch 2) were restored" in result.message
    assert_same_weights(weights(model), taken[1])


def test_a_kept_copy_that_gave_the_bad_loss_is_dropped(monkeypatch):
    monkeypatch.setattr(training, "FINITE_CHECK_EVERY", 2)
    x, y = blobs(64)
    model = mlp()
    start = weights(model)
    taken, snap = snapshots_after_each_batch(model)
    # Copy after batch 2; batch 3 is the first to use those weights, and its loss is NaN.
    result = fit(model, NanAtCall(3), Adam(lr=0.01), x, y, FitConfig(epochs=1, batch_size=8),
                 callbacks=[snap])  # fmt: skip
    assert "(from the start of epoch 1) were restored" in result.message
    assert_same_weights(weights(model), start)


def test_an_untested_copy_at_the_end_of_an_epoch_is_not_trusted():
    model = mlp()
    optimizer = Adam(lr=0.01)
    guard = DivergenceGuard(model, optimizer, "the start of epoch 1")
    start = weights(model)
    for layer in model.layers:
        layer.params["W"][...] = 1e29  # finite, and NaN once it meets softmax
    guard.keep("the end of epoch 1")  # no step since: the copy was never trained on
    message = guard.blow_up(1, 1, "The validation loss became NaN or infinite")
    assert "(from the start of epoch 1) were restored" in message
    assert_same_weights(weights(model), start)
