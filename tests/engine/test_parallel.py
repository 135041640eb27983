"""Half-batch training on two cores: same gradients and training as whole batches, BLAS
threads restored, never used where it would change the result (BatchNorm)."""

import numpy as np
import pytest

from nnstudio.engine import blas
from nnstudio.engine.fit import FitConfig, fit, parallel
from nnstudio.engine.fit.parallel import HalfBatchRunner, can_split, worth_splitting
from nnstudio.engine.layers import BatchNorm, Dense, Dropout, Flatten
from nnstudio.engine.layers.conv import Conv2D, MaxPool2D
from nnstudio.engine.losses import get_loss
from nnstudio.engine.model import Sequential
from nnstudio.engine.optimizers import Adam

CE = get_loss("softmax_crossentropy")
needs_blas_control = pytest.mark.skipif(
    not blas.blas_controllable(), reason="NumPy's BLAS here has no thread control"
)


def small_cnn(dtype=np.float64, l2=0.0, extra=()):
    layers = [
        Conv2D(4, kernel_size=3, activation="relu", l2=l2),
        MaxPool2D(2),
        *extra,
        Flatten(),
        Dense(3, l2=l2),
    ]
    model = Sequential(layers, seed=1, dtype=dtype)
    model.build((1, 8, 8))
    return model


def images(n=40, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 1, 8, 8)).astype(dtype)
    y = rng.integers(0, 3, n)
    x[np.arange(n), 0, y, y] += 3.0  # a learnable pattern: a bright pixel on the diagonal
    return x, y


def whole_batch_gradients(model, x, y):
    value, grad = CE.value_and_grad(model.forward(x, training=True), y)
    model.backward(grad, need_input_grad=False)
    return value, {name: g.copy() for name, g in model.gradients().items()}


@pytest.mark.parametrize("n", [40, 33])  # even and odd batches: unequal halves are weighted
def test_two_halves_give_the_whole_batch_gradient(n):
    x, y = images(n)
    model = small_cnn(l2=0.01)
    expected_value, expected = whole_batch_gradients(model, x, y)
    runner = HalfBatchRunner(model, CE)
    try:
        value, outputs = runner.run(x, y)
    finally:
        runner.close()
    assert value == pytest.approx(expected_value, rel=1e-12)
    assert outputs.shape == (n, 3)
    np.testing.assert_allclose(outputs, model.forward(x), rtol=1e-12)
    for name, grad in model.gradients().items():
        np.testing.assert_allclose(grad, expected[name], rtol=1e-10, atol=1e-14, err_msg=name)


def test_the_twin_uses_the_models_own_weights():
    model = small_cnn()
    runner = HalfBatchRunner(model, CE)
    runner.close()
    for name, weights in model.parameters().items():
        assert runner.twin.parameters()[name] is weights
        assert runner.twin.gradients()[name] is not model.gradients()[name]


def test_small_batches_are_not_split():
    x, y = images(2 * parallel.MIN_HALF - 2)
    model = small_cnn()
    runner = HalfBatchRunner(model, CE)
    runner.run(x, y)
    runner.close()
    assert not any(np.any(g) for g in runner.twin.gradients().values())


def test_only_models_without_running_state_can_be_split():
    assert can_split(small_cnn())
    assert not can_split(small_cnn(extra=[BatchNorm()]))
    assert not can_split(Sequential([Dense(2)]))  # not built yet


@needs_blas_control
def test_worth_splitting_convolutions_only_unless_told(monkeypatch):
    monkeypatch.setattr(parallel, "cores_for_this_process", lambda: 2)
    monkeypatch.delenv("NNSTUDIO_SPLIT_BATCHES", raising=False)
    mlp = Sequential([Flatten(), Dense(4)])
    mlp.build((1, 8, 8))
    assert worth_splitting(small_cnn(), 32)
    assert not worth_splitting(mlp, 32)  # mostly matrix products: measured slower split
    assert not worth_splitting(small_cnn(), 8)  # halves too small
    monkeypatch.setenv("NNSTUDIO_SPLIT_BATCHES", "1")
    assert worth_splitting(mlp, 32)
    monkeypatch.setenv("NNSTUDIO_SPLIT_BATCHES", "0")
    assert not worth_splitting(small_cnn(), 32)
    monkeypatch.delenv("NNSTUDIO_SPLIT_BATCHES")
    monkeypatch.setattr(parallel, "cores_for_this_process", lambda: 1)
    assert not worth_splitting(small_cnn(), 32)


def train(split: str, monkeypatch, dtype=np.float64, lr=0.01, dropout=False, epochs=2):
    monkeypatch.setattr(parallel, "cores_for_this_process", lambda: 2)
    monkeypatch.setenv("NNSTUDIO_SPLIT_BATCHES", split)
    model = small_cnn(dtype=dtype, extra=[Dropout(0.2)] if dropout else ())
    x, y = images(96, dtype=dtype)
    result = fit(model, CE, Adam(lr=lr), x, y, FitConfig(epochs=epochs, batch_size=32, seed=3))
    return model, result


@needs_blas_control
def test_fit_on_two_cores_trains_as_on_whole_batches(monkeypatch):
    split_model, split_result = train("1", monkeypatch)
    whole_model, whole_result = train("0", monkeypatch)
    for name, weights in split_model.parameters().items():
        np.testing.assert_allclose(weights, whole_model.parameters()[name], rtol=1e-9, atol=1e-12)
    assert split_result.history[-1]["loss"] == pytest.approx(whole_result.history[-1]["loss"])
    assert split_result.history[-1]["accuracy"] == whole_result.history[-1]["accuracy"]


@needs_blas_control
def test_fit_on_two_cores_is_deterministic_with_dropout(monkeypatch):
    first, _ = train("1", monkeypatch, dtype=np.float32, dropout=True)
    second, _ = train("1", monkeypatch, dtype=np.float32, dropout=True)
    for name, weights in first.parameters().items():
        np.testing.assert_array_equal(weights, second.parameters()[name])


@pytest.fixture
def two_blas_threads():
    """A BLAS on two threads, so that restoring its count is seen (the parallel test run gives
    each worker one thread, which a block setting one thread would seem to restore)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=2, user_api="blas"):
        yield


@needs_blas_control
def test_blas_threads_are_restored_after_fit_even_when_it_blows_up(monkeypatch, two_blas_threads):
    before = blas.blas_threads()
    assert before == 2
    seen = []

    class Watch:
        def on_batch_end(self, info):
            seen.append(blas.blas_threads())

    monkeypatch.setattr(parallel, "cores_for_this_process", lambda: 2)
    monkeypatch.setenv("NNSTUDIO_SPLIT_BATCHES", "1")
    model = small_cnn(dtype=np.float32)
    x, y = images(96, dtype=np.float32)
    # lr=1e6 overflows on both threads; warnings are errors in the tests, so this also
    # checks that the helper thread ignores overflow as the fit loop does.
    result = fit(
        model, CE, Adam(lr=1e6), x, y, FitConfig(epochs=3, batch_size=32), callbacks=[Watch()]
    )
    assert result.stopped_reason == "nan"
    assert all(np.all(np.isfinite(w)) for w in model.parameters().values())
    assert seen and set(seen) == {1}  # one BLAS thread per half while training
    assert blas.blas_threads() == before


@needs_blas_control
def test_single_threaded_blas_blocks_nest(two_blas_threads):
    before = blas.blas_threads()
    assert before == 2
    with blas.single_threaded_blas() as outer:
        with blas.single_threaded_blas() as inner:
            assert outer and inner and blas.blas_threads() == 1
        assert blas.blas_threads() == 1  # the outer block is still running
    assert blas.blas_threads() == before


def test_single_threaded_blas_changes_nothing_when_the_blas_cannot_be_controlled(monkeypatch):
    monkeypatch.setattr(blas, "_blas_libraries", lambda: ())
    with blas.single_threaded_blas() as controlled:
        assert controlled is False
    assert blas.blas_threads() is None and blas.describe_blas() is None
    assert not worth_splitting(small_cnn(), 32)  # no split without a one-thread BLAS


@needs_blas_control
def test_the_blas_is_described_by_name_version_and_threads():
    text = blas.describe_blas()
    info = blas._blas_libraries()[0].info()
    assert text.startswith(f"{info['internal_api']} {info['version']}")
    assert text.endswith(f"{blas.blas_threads()} threads")


def test_the_helper_thread_ignores_the_float_errors_its_caller_ignores():
    # np.errstate is per thread. Warnings are errors in the tests: a warning raised on the
    # helper thread would come back as an exception from run().
    model = small_cnn(dtype=np.float32)
    x, y = images(32, dtype=np.float32)
    x[:] = np.float32(3e38)  # overflows to inf in the first layer, then inf - inf = nan
    runner = HalfBatchRunner(model, CE)
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            value, _ = runner.run(x, y)
    finally:
        runner.close()
    assert not np.isfinite(value)
