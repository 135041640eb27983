"""The learning-rate range test: it leaves the model and the optimizer exactly as they were,
works for every optimizer, and suggests a rate in a sensible range on toy sets."""

import copy
import doctest

import numpy as np
import pytest

from nnstudio.data.catalog import load_dataset
from nnstudio.engine.fit import lr_finder
from nnstudio.engine.fit.lr_finder import find_lr, has_valley, suggest
from nnstudio.engine.layers import Dense, Dropout
from nnstudio.engine.model import Sequential
from nnstudio.engine.optimizers import OPTIMIZERS, SGD, Adam, get_optimizer

CE = "softmax_crossentropy"


def model_for(dataset, units=32, dropout=False):
    layers = [Dense(units, activation="relu")]
    if dropout:
        layers.append(Dropout(0.2))
    layers += [Dense(units, activation="relu"), Dense(dataset.n_classes)]
    return Sequential(layers, input_shape=dataset.input_shape, seed=1)


def trained_optimizer(model, optimizer, x, y):
    """An optimizer with state (momentum, moments, a step count) from a few real steps."""
    from nnstudio.engine.losses import get_loss

    loss = get_loss(CE)
    for _ in range(3):
        _, grad = loss.value_and_grad(model.forward(x[:32], training=True), y[:32])
        model.backward(grad, need_input_grad=False)
        optimizer.step(model.parameters(), model.gradients())
    return optimizer


def assert_same_state(before: dict, after: dict):
    assert before.keys() == after.keys()
    for key, value in before.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(value, after[key], err_msg=key)
        else:
            assert value == after[key], key


def test_doctest():
    assert doctest.testmod(lr_finder).failed == 0


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_leaves_weights_and_optimizer_state_identical(name):
    data = load_dataset("spiral", samples=300, seed=0)
    model = model_for(data, dropout=True)
    optimizer = trained_optimizer(model, get_optimizer(name, lr=0.01), data.x_train, data.y_train)
    weights, state = model.state_dict(), optimizer.state_dict()
    dropout_rng = model.layers[1].rng.bit_generator.state
    result = find_lr(model, CE, optimizer, data.x_train, data.y_train, steps=120)
    assert len(result.lrs) > 10  # the test really trained (on its copy)
    assert_same_state(weights, model.state_dict())
    assert_same_state(state, optimizer.state_dict())
    assert optimizer.lr == 0.01
    assert model.layers[1].rng.bit_generator.state == dropout_rng


@pytest.mark.parametrize(
    ("dataset", "optimizer", "low", "high"),
    [
        ("spiral", SGD(lr=0.1), 1e-3, 3.0),
        ("spiral", Adam(lr=1e-3), 1e-4, 0.3),
        ("moons", SGD(lr=0.1), 1e-3, 3.0),
        ("moons", Adam(lr=1e-3), 1e-4, 0.3),
    ],
)
def test_suggests_a_rate_in_a_sensible_range(dataset, optimizer, low, high):
    data = load_dataset(dataset, samples=500, seed=0)
    result = find_lr(model_for(data), CE, optimizer, data.x_train, data.y_train)
    assert low <= result.suggested_lr <= high, result.suggested_lr
    assert result.suggested_lr == pytest.approx(result.min_loss_lr / 10)
    # The curve is what the range test promises: rates growing exponentially, finite losses.
    ratios = np.diff(np.log(result.lrs))
    np.testing.assert_allclose(ratios, ratios[0], rtol=1e-6)
    assert np.isfinite(result.losses).all()


def test_stops_once_the_loss_explodes():
    data = load_dataset("spiral", samples=300, seed=0)
    result = find_lr(model_for(data), CE, SGD(lr=0.1), data.x_train, data.y_train, end_lr=1e4)
    assert result.stopped == "exploded"
    assert result.lrs[-1] < 1e4
    assert max(result.losses) <= lr_finder.DIVERGED * min(result.losses)


def test_a_cancelled_run_stops_at_once():
    import threading

    cancel = threading.Event()
    cancel.set()
    data = load_dataset("moons", samples=200, seed=0)
    result = find_lr(model_for(data), CE, Adam(), data.x_train, data.y_train, cancel=cancel)
    assert result.stopped == "cancelled" and result.lrs == []


def test_suggestion_is_a_tenth_of_the_minimum():
    lrs = np.logspace(-6, 0, 61)
    losses = (np.log10(lrs) + 2) ** 2 + 1.0  # lowest at 1e-2
    suggested, at_min, steepest = suggest(lrs, losses)
    assert at_min == pytest.approx(1e-2)
    assert suggested == pytest.approx(1e-3)
    assert steepest < at_min


def test_bad_ranges_fail_at_once():
    data = load_dataset("moons", samples=100, seed=0)
    with pytest.raises(ValueError, match="start_lr < end_lr"):
        find_lr(model_for(data), CE, Adam(), data.x_train, data.y_train, start_lr=1, end_lr=0.1)
    with pytest.raises(ValueError, match="steps"):
        find_lr(model_for(data), CE, Adam(), data.x_train, data.y_train, steps=3)


def trained_circle_model():
    """The 2-D classifier preset trained to the end (the circle solved, the loss near zero)."""
    from nnstudio.project import load_preset

    project = load_preset("2d-classifier")
    data = project.load_dataset()
    model = project.build_model(data)
    project.fit(model, data)
    return model, data


def test_starts_from_fresh_weights_unless_told_otherwise():
    """On a trained model the test runs as a new run would: the same curve as on the same
    network freshly initialized with the seed, and a sensible rate."""
    model, data = trained_circle_model()
    result = find_lr(model, CE, Adam(), data.x_train, data.y_train, steps=150, seed=3)
    fresh = copy.deepcopy(model)
    fresh.reset_parameters(3)
    expected = find_lr(fresh, CE, Adam(), data.x_train, data.y_train, steps=150, seed=3,
                       from_current=True)  # fmt: skip
    assert result.losses == expected.losses
    assert result.from_current is False and expected.from_current is True
    assert 1e-4 < result.suggested_lr < 1.0


def test_trained_weights_give_no_valley_and_no_suggestion():
    """From the current, trained weights the loss is already at its floor and its "minimum" is
    noise at the start of the range: no rate is read off it (it used to suggest 1e-7)."""
    model, data = trained_circle_model()
    result = find_lr(model, CE, Adam(), data.x_train, data.y_train, from_current=True)
    assert result.suggested_lr is None
    assert "no valley" in result.advice


def test_has_valley_wants_a_clear_fall_past_the_start_of_the_range():
    lrs = np.logspace(-7, 1, 81)
    dip = 1.0 + 0.5 * np.exp(-((np.log10(lrs) + 2) ** 2)) * -1  # lowest at 1e-2, half its start
    assert has_valley(lrs, dip)
    assert not has_valley(lrs, np.full_like(lrs, 0.3))  # flat
    early = 1.0 - 0.5 * np.exp(-((np.log10(lrs) + 6.9) ** 2) * 20)  # lowest at the start
    assert not has_valley(lrs, early)
