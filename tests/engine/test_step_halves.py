"""Optimizer steps on two cores (engine/step_halves.py): each optimizer's step with the flat
buffers split between two threads equals its step in one go, errors of either half come
back, and the fit loop splits its steps only while BLAS has two free cores."""

import doctest
import threading

import numpy as np
import pytest

from nnstudio.engine import step_halves
from nnstudio.engine.fit import FitConfig, fit
from nnstudio.engine.fit import loop as fit_loop
from nnstudio.engine.losses import get_loss
from nnstudio.engine.model import Sequential
from nnstudio.engine.optimizers import get_optimizer
from nnstudio.engine.step_halves import StepHalves
from tests.engine.test_flat import OPTIMIZERS  # every optimizer, plain and with its options


@pytest.fixture
def halves():
    helper = StepHalves()
    yield helper
    helper.close()


def _model(seed=0):
    config = {
        "input_shape": [20],
        "layers": [
            {"type": "Dense", "units": 33, "activation": "relu"},
            {"type": "Dense", "units": 5},
        ],
    }
    return Sequential.from_config(config, seed=seed)


def _train(model, optimizer, halves=None, steps=5):
    rng = np.random.default_rng(1)
    loss = get_loss("softmax_crossentropy")
    for _ in range(steps):
        x, y = rng.normal(size=(16, 20)).astype(np.float32), rng.integers(0, 5, 16)
        _, grad = loss.value_and_grad(model.forward(x, training=True), y)
        model.backward(grad, need_input_grad=False)
        optimizer.step(model.parameters(), model.gradients(), halves)
    return model.parameters()


def test_doctests():
    assert doctest.testmod(step_halves).failed == 0


@pytest.mark.parametrize(("name", "settings"), OPTIMIZERS)
def test_a_step_in_two_halves_equals_the_step_in_one_go(name, settings, halves, monkeypatch):
    monkeypatch.setattr(step_halves, "MIN_SPLIT_SIZE", 100)  # the model has 863 weights
    calls = []
    original = StepHalves.run

    def counted(self, update, first, second):
        calls.append((first[0]["all"].size, second[0]["all"].size))
        return original(self, update, first, second)

    monkeypatch.setattr(StepHalves, "run", counted)
    split, whole = _model(), _model()
    after_split = _train(split, get_optimizer(name, **settings), halves)
    after_whole = _train(whole, get_optimizer(name, **settings))
    for key, value in after_whole.items():
        np.testing.assert_array_equal(after_split[key], value)  # the same passes, bit for bit
    assert calls == [(431, 432)] * 5  # 863 weights


def test_small_buffers_are_updated_in_one_go(halves, monkeypatch):
    monkeypatch.setattr(StepHalves, "run", lambda *args: pytest.fail("split a small buffer"))
    _train(_model(), get_optimizer("adam", lr=1e-2), halves, steps=1)


@pytest.mark.parametrize("failing", ["first", "second"])
def test_an_error_in_either_half_comes_back_and_the_helper_serves_again(halves, failing):
    def update(part, out):
        if part == failing:
            raise FloatingPointError(f"overflow in the {part} half")
        out.append(part)

    done = []
    with pytest.raises(FloatingPointError, match=failing):
        halves.run(update, ("first", done), ("second", done))
    # The other half finished before run() raised: nothing writes the buffers afterwards.
    assert done == [{"first": "second", "second": "first"}[failing]]
    halves.run(update, ("third", done), ("fourth", done))
    assert sorted(done[1:]) == ["fourth", "third"]


def test_close_ends_the_helper_thread():
    helper = StepHalves()
    helper.close()
    assert not helper._thread.is_alive()


def test_no_helper_for_toy_networks_or_when_turned_off(monkeypatch):
    assert step_halves.step_halves_for(_model()) is None  # 863 weights
    monkeypatch.setattr(step_halves, "MIN_SPLIT_SIZE", 100)
    monkeypatch.setattr(step_halves, "cores_for_this_process", lambda: 2)
    helper = step_halves.step_halves_for(_model())
    assert isinstance(helper, StepHalves)
    helper.close()
    monkeypatch.setenv(step_halves.SETTING, "0")
    assert step_halves.step_halves_for(_model()) is None
    monkeypatch.setenv(step_halves.SETTING, "1")
    monkeypatch.setattr(step_halves, "cores_for_this_process", lambda: 1)
    assert step_halves.step_halves_for(_model()) is None


def _fit_with_blas_threads(monkeypatch, threads):
    """A fit where BLAS is given ``threads`` for the load; the steps' splits, its weights."""
    monkeypatch.setattr(step_halves, "MIN_SPLIT_SIZE", 100)
    monkeypatch.setattr(step_halves, "cores_for_this_process", lambda: 2)
    monkeypatch.setattr(fit_loop.LoadAwareThreads, "update", lambda self: threads)
    splits = []
    original = StepHalves.run

    def counted(self, update, first, second):
        splits.append(1)
        return original(self, update, first, second)

    monkeypatch.setattr(StepHalves, "run", counted)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(96, 20)).astype(np.float32), rng.integers(0, 5, 96)
    model = _model()
    config = FitConfig(epochs=2, batch_size=32, seed=0)
    fit(model, "softmax_crossentropy", get_optimizer("adam", lr=1e-2), x, y, config)
    return len(splits), model.parameters()


def test_the_fit_loop_splits_steps_only_while_blas_has_two_free_cores(monkeypatch):
    split_steps, split_weights = _fit_with_blas_threads(monkeypatch, 2)
    alone_steps, alone_weights = _fit_with_blas_threads(monkeypatch, 1)
    assert (split_steps, alone_steps) == (6, 0)  # 2 epochs of 3 batches
    for key, value in alone_weights.items():
        np.testing.assert_array_equal(split_weights[key], value)
    names = [thread.name for thread in threading.enumerate()]
    assert "nnstudio-step-half" not in names  # closed at the end of each fit
