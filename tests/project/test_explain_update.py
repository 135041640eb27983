"""The update page's numbers: for every optimizer, the terms it names for a step put back
together by the textbook formula give exactly the step the real optimizer took."""

import numpy as np
import pytest

from nnstudio.engine.layers import Dense
from nnstudio.engine.model import Sequential
from nnstudio.engine.optimizers import OPTIMIZERS, get_optimizer
from nnstudio.project.explain import explain_sample

X = np.array([0.3, -0.7, 1.1], np.float32)


def _textbook_step(name, settings, terms, weight):
    """Δw from the named terms alone, as the textbook writes each optimizer's step."""
    lr, eps = settings["lr"], settings.get("eps", 0.0)
    g = terms["gradient g"] + terms.get("weight decay term", 0.0)
    if name == "sgd" and "velocity v" not in terms:
        return -lr * g
    if name == "sgd":
        v = terms["velocity v"]
        return -lr * (g + settings["momentum"] * v) if settings["nesterov"] else -lr * v
    if name == "rmsprop":
        if "buffer b" in terms:
            return -lr * terms["buffer b"]
        return -lr * g / (np.sqrt(terms["s"]) + eps)
    step = -lr * terms["m̂"] / (np.sqrt(terms["v̂"]) + eps)
    return step - terms.get("decay lr·wd·w", 0.0)


CASES = [
    ("sgd", {}),
    ("sgd", {"momentum": 0.9}),
    ("sgd", {"momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    ("rmsprop", {"weight_decay": 0.01}),
    ("rmsprop", {"momentum": 0.5}),
    ("adam", {"weight_decay": 0.01}),
    ("adamw", {}),
]


@pytest.mark.parametrize(("name", "settings"), CASES)
def test_every_optimizers_terms_give_its_real_step(name, settings):
    model = Sequential([Dense(4, activation="tanh"), Dense(2)], input_shape=(3,))
    optimizer = get_optimizer(name, lr=0.05, **settings)
    warm = {n: p.copy() for n, p in model.parameters().items()}
    for k in range(2):  # some history, so the state is not the first step's
        optimizer.step(warm, {n: np.full_like(p, 0.3 - k) for n, p in warm.items()})
    explanation = explain_sample(model, "softmax_crossentropy", X, 1, optimizer=optimizer)
    params = {n: p.copy() for n, p in model.parameters().items()}
    optimizer.step(params, {n: g.copy() for n, g in explanation.gradients.items()})
    full = optimizer.settings()
    for key, update in explanation.updates.items():
        real = params[key] - model.parameters()[key]
        np.testing.assert_allclose(update.change, real, rtol=1e-6, atol=1e-9)
        rebuilt = _textbook_step(name, full, update.terms, update.before)
        np.testing.assert_allclose(rebuilt, real, rtol=2e-4, atol=1e-7)
        assert f"step {optimizer.iterations}" in update.formula
        assert set(update.meanings) >= set(update.terms)  # every term says what it is


def test_every_optimizer_is_covered():
    assert {name for name, _settings in CASES} == set(OPTIMIZERS)


def test_adam_shows_the_papers_moments():
    model = Sequential([Dense(2)], input_shape=(3,))
    optimizer = get_optimizer("adam", lr=0.01)
    explanation = explain_sample(model, "softmax_crossentropy", X, 0, optimizer=optimizer)
    update, g = explanation.updates["0.W"], explanation.gradients["0.W"]
    np.testing.assert_allclose(update.terms["m"], 0.1 * g, rtol=1e-5)
    np.testing.assert_allclose(update.terms["v"], 0.001 * g * g, rtol=1e-4)
    assert update.formula.startswith("m = β₁·m + (1 − β₁)·g")
