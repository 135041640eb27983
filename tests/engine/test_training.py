"""The fit loop: learning, callbacks, control, schedules, early stopping, NaN guard, resume."""

import doctest
import json
import math
import threading

import numpy as np
import pytest

from nnstudio.engine.fit import control as fit_types
from nnstudio.engine.fit import guard, validation
from nnstudio.engine.fit import loop as training
from nnstudio.engine.fit.loop import (
    FitConfig,
    FitResult,
    TrainingControl,
    fit,
    layer_gradient_norms,
)
from nnstudio.engine.layers import Dense, Dropout
from nnstudio.engine.losses import get_loss
from nnstudio.engine.model import Sequential
from nnstudio.engine.optimizers import SGD, Adam, get_optimizer

CE = "softmax_crossentropy"


def blobs(n=240, seed=0):
    """Three well separated 2-D clusters: float32 points, int64 labels."""
    rng = np.random.default_rng(seed)
    centres = np.array([[-2.0, 0.0], [2.0, 0.0], [0.0, 2.5]])
    y = rng.integers(0, 3, n)
    x = centres[y] + 0.5 * rng.standard_normal((n, 2))
    return x.astype(np.float32), y.astype(np.int64)


def mlp(seed=0, dropout=False, l2=0.0):
    layers = [Dense(16, activation="relu", l2=l2)]
    if dropout:
        layers.append(Dropout(0.3))
    layers.append(Dense(3))
    return Sequential(layers, input_shape=(2,), seed=seed)


class Recorder:
    """Keeps every callback payload."""

    def __init__(self):
        self.begin, self.batches, self.epochs, self.results = [], [], [], []

    def on_train_begin(self, info):
        self.begin.append(info)

    def on_batch_end(self, info):
        self.batches.append(dict(info))

    def on_epoch_end(self, info):
        self.epochs.append(info)

    def on_train_end(self, result):
        self.results.append(result)


def weights(model):
    return {name: value.copy() for name, value in model.state_dict().items()}


def assert_same_weights(a, b):
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_docstring_examples_run():
    for module in (training, fit_types, guard, validation):
        assert doctest.testmod(module).failed == 0, module.__name__


def test_fit_learns_and_reports_plain_values():
    x, y = blobs()
    model, recorder = mlp(), Recorder()
    result = fit(
        model,
        get_loss(CE),
        Adam(lr=0.02),
        x,
        y,
        FitConfig(epochs=8, batch_size=32),
        callbacks=[recorder],
    )
    assert isinstance(result, FitResult)
    assert result.stopped_reason == "completed" and result.epochs_completed == 8
    assert result.history[-1]["accuracy"] > 0.95
    assert result.history[-1]["loss"] < result.history[0]["loss"]
    assert len(recorder.batches) == 8 * 8  # 240 samples / 32 = 7.5 -> 8 batches per epoch
    assert recorder.batches[7]["seen"] == 240 and recorder.batches[7]["batch"] == 8
    assert recorder.begin[0]["batches"] == 8 and recorder.results == [result]
    info = recorder.epochs[-1]
    assert set(info) >= {
        "epoch",
        "epochs",
        "loss",
        "accuracy",
        "val_loss",
        "val_accuracy",
        "lr",
        "seconds",
        "samples_per_second",
        "grad_norms",
    }
    assert info["epoch"] == 8 and info["epochs"] == 8 and info["lr"] == 0.02
    assert info["val_loss"] is None and info["samples_per_second"] > 0
    assert set(info["grad_norms"]) == {"0 Dense", "1 Dense"}
    json.dumps(result.to_dict(), allow_nan=False)  # plain JSON values only
    json.dumps(recorder.batches, allow_nan=False)


def test_training_accuracy_is_the_fraction_of_correct_batch_predictions():
    # lr=0: the weights never change, so epoch accuracy must equal the model's accuracy.
    x, y = blobs()
    model = mlp()
    expected = float(np.mean(np.argmax(model.predict(x), axis=1) == y))
    result = fit(model, get_loss(CE), SGD(lr=0.0), x, y, FitConfig(epochs=1, batch_size=50))
    assert result.history[0]["accuracy"] == pytest.approx(expected)
    assert result.history[0]["loss"] == pytest.approx(get_loss(CE).value(model.predict(x), y))


def test_one_hot_targets_give_the_same_result_as_labels():
    x, y = blobs()
    runs = []
    for targets in (y, np.eye(3, dtype=np.float32)[y]):
        model = mlp()
        result = fit(model, CE, Adam(lr=0.01), x, targets, FitConfig(epochs=2, batch_size=32))
        runs.append((result.history[-1]["accuracy"], result.history[-1]["loss"], weights(model)))
    assert runs[0][0] == runs[1][0] and runs[0][1] == pytest.approx(runs[1][1], rel=1e-5)
    np.testing.assert_allclose(runs[0][2]["0.W"], runs[1][2]["0.W"], rtol=1e-4, atol=1e-6)


def test_same_seed_same_weights_and_other_seed_differs():
    x, y = blobs()
    runs = []
    for seed in (3, 3, 4):
        model = mlp(dropout=True)
        fit(model, CE, Adam(lr=0.01), x, y, FitConfig(epochs=2, batch_size=16, seed=seed))
        runs.append(weights(model))
    assert_same_weights(runs[0], runs[1])
    assert not np.array_equal(runs[0]["0.W"], runs[2]["0.W"])


def test_resume_gives_the_same_weights_as_an_uninterrupted_run():
    x, y = blobs()
    config = FitConfig(
        epochs=5,
        batch_size=16,
        seed=1,
        validation_split=0.2,
        schedule="step",
        schedule_settings={"step_size": 2, "gamma": 0.5},
    )

    straight_model, straight_opt = mlp(dropout=True), Adam(lr=0.01)
    straight = fit(straight_model, CE, straight_opt, x, y, config)

    first_model, first_opt = mlp(dropout=True), Adam(lr=0.01)
    part = fit(first_model, CE, first_opt, x, y, FitConfig(**{**config.to_dict(), "epochs": 2}))
    # A checkpoint in memory: weights, optimizer state, epoch, history.
    saved_weights, saved_opt = weights(first_model), first_opt.state_dict()

    resumed_model, resumed_opt = mlp(seed=99, dropout=True), Adam(lr=0.5)
    resumed_model.load_state_dict(saved_weights)
    resumed_opt.load_state_dict(saved_opt)
    resumed = fit(
        resumed_model, CE, resumed_opt, x, y, config, initial_epoch=2, history=part.history
    )

    assert_same_weights(weights(resumed_model), weights(straight_model))
    assert [h["lr"] for h in resumed.history] == [h["lr"] for h in straight.history]
    assert [h["lr"] for h in straight.history] == [0.01, 0.01, 0.005, 0.005, 0.0025]
    assert resumed.epochs_completed == 5


def test_step_schedule_and_cosine_default_total():
    x, y = blobs(64)
    result = fit(
        mlp(),
        CE,
        SGD(lr=0.1),
        x,
        y,
        FitConfig(
            epochs=4, batch_size=32, schedule="exponential", schedule_settings={"gamma": 0.5}
        ),
    )
    assert [h["lr"] for h in result.history] == [0.1, 0.05, 0.025, 0.0125]
    cosine = fit(
        mlp(), CE, SGD(lr=0.1), x, y, FitConfig(epochs=4, batch_size=32, schedule="cosine")
    )
    lrs = [h["lr"] for h in cosine.history]
    assert lrs[0] == pytest.approx(0.1) and lrs[2] == pytest.approx(0.05)


def test_validation_split_and_validation_data():
    x, y = blobs(200)
    recorder = Recorder()
    result = fit(
        mlp(),
        CE,
        Adam(lr=0.02),
        x,
        y,
        FitConfig(epochs=3, batch_size=32, validation_split=0.25),
        callbacks=[recorder],
    )
    assert recorder.begin[0]["samples"] == 150 and recorder.begin[0]["validation_samples"] == 50
    assert recorder.batches[-1]["seen"] == 150
    assert 0 < result.history[-1]["val_loss"] < 1.5 and result.history[-1]["val_accuracy"] > 0.8
    x_val, y_val = blobs(30, seed=5)
    model = mlp()
    result = fit(
        model,
        CE,
        Adam(lr=0.02),
        x,
        y,
        FitConfig(epochs=2, batch_size=32),
        validation_data=(x_val, y_val),
    )
    expected = get_loss(CE).value(model.predict(x_val), y_val)
    assert result.history[-1]["val_loss"] == pytest.approx(expected, rel=1e-5)
    assert result.monitor == "val_loss"


def test_early_stopping_restores_best_weights():
    x, y = blobs(120)
    flipped = (y + 1) % 3  # validation labels that get worse as training gets better
    snapshots = {}

    class Snap:
        def on_epoch_end(self, info):
            snapshots[info["epoch"]] = weights(model)

    model = mlp()
    result = fit(
        model,
        CE,
        Adam(lr=0.05),
        x,
        y,
        FitConfig(epochs=30, batch_size=30, early_stopping_patience=3),
        validation_data=(x, flipped),
        callbacks=[Snap()],
    )
    assert result.stopped_reason == "early_stopping"
    best = result.best_epoch
    assert result.epochs_completed == best + 3
    assert "val_loss did not improve" in result.message and f"epoch {best}" in result.message
    assert_same_weights(weights(model), snapshots[best])


def test_early_stopping_min_delta_and_no_restore():
    x, y = blobs(120)
    model = mlp()
    # Any improvement smaller than 10 counts as none: stops after `patience` epochs.
    result = fit(
        model,
        CE,
        Adam(lr=0.01),
        x,
        y,
        FitConfig(
            epochs=20,
            batch_size=30,
            early_stopping_patience=2,
            early_stopping_min_delta=10.0,
            restore_best_weights=False,
        ),
    )
    assert result.stopped_reason == "early_stopping" and result.epochs_completed == 3
    assert result.best_epoch == 1 and result.monitor == "loss"


def test_stop_from_a_callback_stops_after_that_batch():
    x, y = blobs()
    control, recorder = TrainingControl(), Recorder()

    class StopAtThree:
        def on_batch_end(self, info):
            if info["batch"] == 3:
                control.stop()

    result = fit(
        mlp(),
        CE,
        Adam(),
        x,
        y,
        FitConfig(epochs=5, batch_size=16),
        callbacks=[StopAtThree(), recorder],
        control=control,
    )
    assert result.stopped_reason == "stopped" and len(recorder.batches) == 3
    assert result.epochs_completed == 0 and "epoch 1, batch 4" in result.message


def test_pause_step_once_resume_from_another_thread():
    x, y = blobs(64)
    control = TrainingControl()
    batches_done = []
    batch_event = threading.Event()

    class Count:
        def on_batch_end(self, info):
            batches_done.append(info["batch"])
            batch_event.set()

    control.pause()
    outcome = {}
    worker = threading.Thread(
        target=lambda: outcome.setdefault(
            "result",
            fit(
                mlp(),
                CE,
                Adam(),
                x,
                y,
                FitConfig(epochs=1, batch_size=16),
                callbacks=[Count()],
                control=control,
            ),
        ),
    )
    worker.start()
    assert not batch_event.wait(0.2)  # paused before the first batch: nothing runs
    control.step_once()
    assert batch_event.wait(10)
    batch_event.clear()
    assert batches_done == [1]
    assert not batch_event.wait(0.2)  # one batch only, then paused again
    assert control.paused
    control.resume()
    worker.join(10)
    assert not worker.is_alive()
    assert batches_done == [1, 2, 3, 4] and outcome["result"].stopped_reason == "completed"


def test_stop_wakes_a_paused_loop():
    x, y = blobs(64)
    control = TrainingControl()
    control.pause()
    outcome = {}
    worker = threading.Thread(
        target=lambda: outcome.setdefault(
            "result", fit(mlp(), CE, Adam(), x, y, FitConfig(epochs=3), control=control)
        )
    )
    worker.start()
    control.stop()
    worker.join(10)
    assert outcome["result"].stopped_reason == "stopped"


def test_set_learning_rate_applies_next_batch_and_becomes_the_base():
    x, y = blobs(64)
    control, recorder = TrainingControl(), Recorder()

    class ChangeLr:
        def on_batch_end(self, info):
            if info["epoch"] == 1 and info["batch"] == 2:
                control.set_learning_rate(0.4)

    fit(
        mlp(),
        CE,
        SGD(lr=0.1),
        x,
        y,
        FitConfig(
            epochs=2,
            batch_size=16,
            schedule="step",
            schedule_settings={"step_size": 1, "gamma": 0.5},
        ),
        callbacks=[ChangeLr(), recorder],
        control=control,
    )
    lrs = [b["lr"] for b in recorder.batches]
    assert lrs[:4] == [0.1, 0.1, 0.4, 0.4]  # next batch on
    assert lrs[4:] == [0.2] * 4  # epoch 2: the step schedule applied to the new base 0.4
    with pytest.raises(ValueError, match="learning rate must be a finite number >= 0; got -1"):
        control.set_learning_rate(-1)


def test_nan_guard_fires_on_huge_learning_rate_and_keeps_finite_weights():
    x, y = blobs()
    for optimizer in (SGD(lr=1e6), Adam(lr=1e6)):
        model = mlp()
        start = weights(model)
        result = fit(model, CE, optimizer, x, y, FitConfig(epochs=5, batch_size=32))
        assert result.stopped_reason == "nan"
        assert "learning rate 1e6 is probably too large" in result.message
        assert "epoch 1, batch" in result.message and "weights" in result.message
        assert all(np.isfinite(v).all() for v in model.state_dict().values())
        assert_same_weights(weights(model), start)  # blew up before the first check
        assert result.epochs_completed == 0


class NanAtCall:
    """A loss that returns NaN at its n-th call (what a real blow-up looks like to fit)."""

    task = "classification"

    def __init__(self, n, bad=math.nan):
        self.inner, self.calls, self.n, self.bad = get_loss(CE), 0, n, bad

    def value_and_grad(self, outputs, targets):
        self.calls += 1
        value, grad = self.inner.value_and_grad(outputs, targets)
        return (self.bad if self.calls == self.n else value), grad

    def value(self, outputs, targets):
        return self.inner.value(outputs, targets)


def test_nan_loss_is_seen_before_the_update_so_weights_stay():
    x, y = blobs(64)
    model, recorder = mlp(), Recorder()
    start = weights(model)
    snapshots = []

    class Snap:
        def on_batch_end(self, info):
            snapshots.append(weights(model))

    result = fit(
        model,
        NanAtCall(3),
        Adam(lr=0.01),
        x,
        y,
        FitConfig(epochs=2, batch_size=16),
        callbacks=[Snap(), recorder],
    )
    assert result.stopped_reason == "nan"
    assert result.message.startswith("The loss became NaN at epoch 1, batch 3")
    assert "last good weights (from the start of epoch 1) were restored" in result.message
    assert len(snapshots) == 2
    # The weights after batch 2 are what gave the NaN loss: never kept; no copy of them was
    # tested, so the start's come back.
    assert_same_weights(weights(model), start)


def test_infinite_first_loss_is_caught():
    x, y = blobs(64)
    model = mlp()
    start = weights(model)
    result = fit(model, NanAtCall(1, bad=math.inf), Adam(), x, y, FitConfig(epochs=1))
    assert result.stopped_reason == "nan"
    assert result.message.startswith("The loss became infinite at epoch 1, batch 1")
    assert_same_weights(weights(model), start)


def test_non_finite_weights_are_replaced_by_the_last_good_copy(monkeypatch):
    monkeypatch.setattr(training, "FINITE_CHECK_EVERY", 2)
    x, y = blobs(64)
    model = mlp()
    kept = {}

    class Poison:
        def on_batch_end(self, info):
            if info["batch"] == 2:
                kept.update(weights(model))  # checked and copied at this batch
            if info["batch"] == 3:
                model.layers[0].params["W"][0, 0] = -np.inf  # hidden behind ReLU for some rows

    result = fit(
        model, CE, SGD(lr=0.01), x, y, FitConfig(epochs=1, batch_size=16), callbacks=[Poison()]
    )
    assert result.stopped_reason == "nan"
    assert "were restored" in result.message and "epoch 1, batch 2" in result.message
    assert_same_weights(weights(model), kept)


def test_augment_gets_training_batches_and_a_seeded_rng():
    x, y = blobs(64)
    seen = []

    def augment(batch, rng):
        assert isinstance(rng, np.random.Generator)
        seen.append(len(batch))
        return batch + rng.normal(0, 0.01, batch.shape).astype(batch.dtype)

    a, b = mlp(), mlp()
    for model in (a, b):
        fit(
            model,
            CE,
            Adam(),
            x,
            y,
            FitConfig(epochs=1, batch_size=16, validation_split=0.25),
            augment=augment,
        )
    # Each half of a batch gets its own stream (the same on one core or two).
    assert seen[:6] == [8] * 6 and len(seen) == 12
    assert_same_weights(weights(a), weights(b))


def test_regression_reports_no_accuracy():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((100, 2)).astype(np.float32)
    y = (x @ np.array([[1.5], [-2.0]], np.float32) + 0.5).astype(np.float32)
    model = Sequential([Dense(1)], input_shape=(2,))
    result = fit(model, get_loss("mse"), Adam(lr=0.1), x, y, FitConfig(epochs=30, batch_size=20))
    assert result.history[-1]["accuracy"] is None
    assert result.history[-1]["loss"] < 0.01


def test_l2_penalty_is_part_of_the_reported_loss():
    x, y = blobs(64)
    plain = fit(mlp(), CE, SGD(lr=0.0), x, y, FitConfig(epochs=1, batch_size=64))
    model = mlp(l2=0.1)
    penalised = fit(model, CE, SGD(lr=0.0), x, y, FitConfig(epochs=1, batch_size=64))
    assert penalised.history[0]["loss"] == pytest.approx(
        plain.history[0]["loss"] + model.penalty(), rel=1e-5
    )


def test_batch_grad_norms_only_when_a_callback_asks():
    x, y = blobs(64)
    recorder, asking = Recorder(), Recorder()
    asking.grad_norms_every = 2
    fit(mlp(), CE, Adam(), x, y, FitConfig(epochs=1, batch_size=16), callbacks=[recorder])
    assert all("grad_norms" not in info for info in recorder.batches)
    fit(mlp(), CE, Adam(), x, y, FitConfig(epochs=1, batch_size=16), callbacks=[asking])
    assert ["grad_norms" in info for info in asking.batches] == [False, True, False, True]
    assert set(asking.batches[1]["grad_norms"]) == {"0 Dense", "1 Dense"}


def test_layer_gradient_norms_match_manual_computation():
    x, y = blobs(32)
    model = mlp()
    loss = get_loss(CE)
    _, grad = loss.value_and_grad(model.forward(x, training=True), y)
    model.backward(grad)
    norms = layer_gradient_norms(model)
    grads = model.gradients()
    expected = math.sqrt(
        float(
            np.sum(grads["1.W"].astype(np.float64) ** 2)
            + np.sum(grads["1.b"].astype(np.float64) ** 2)
        )
    )
    assert norms["1 Dense"] == pytest.approx(expected, rel=1e-5)


def test_unbuilt_model_is_built_from_the_data():
    x, y = blobs(32)
    model = Sequential([Dense(8, activation="relu"), Dense(3)])
    fit(model, CE, "adam", x, y, FitConfig(epochs=1))
    assert model.input_shape == (2,)


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"epochs": 0}, "epochs must be a whole number >= 1; got 0"),
        ({"batch_size": 2.5}, "batch_size must be a whole number >= 1; got 2.5"),
        ({"validation_split": 0.95}, "validation_split must be >= 0.0 and <= 0.9; got 0.95"),
        ({"early_stopping_patience": 0}, "early_stopping_patience"),
        ({"early_stopping_min_delta": -1}, "early_stopping_min_delta must be >= 0"),
        ({"schedule": "cosnie"}, "Could not interpret learning-rate schedule 'cosnie'"),
        ({"schedule": "step", "schedule_settings": {"gama": 1}}, "no setting 'gama'"),
    ],
)
def test_bad_fit_config_fails_at_once(settings, message):
    with pytest.raises(ValueError, match=message):
        FitConfig(**settings)


def test_bad_data_fails_before_training():
    x, y = blobs(32)
    with pytest.raises(ValueError, match="x has 32 samples but y has 31"):
        fit(mlp(), CE, Adam(), x, y[:31], FitConfig())
    x[5, 1] = np.nan
    with pytest.raises(ValueError, match="x contains NaN or infinite values \\(first at sample 5"):
        fit(mlp(), CE, Adam(), x, y, FitConfig())
    with pytest.raises(ValueError, match="leaves 0 training"):
        fit(mlp(), CE, Adam(), x[:2], y[:2], FitConfig(validation_split=0.9))


def test_fit_config_round_trips_through_a_dict():
    config = FitConfig(epochs=3, schedule="cosine", schedule_settings={"warmup_steps": 1})
    assert FitConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    with pytest.raises(ValueError, match="Unknown training setting"):
        FitConfig.from_dict({"epochz": 3})


def test_optimizer_can_be_given_by_name():
    x, y = blobs(32)
    result = fit(mlp(), get_loss(CE), get_optimizer("rmsprop"), x, y, FitConfig(epochs=1))
    assert result.stopped_reason == "completed"


@pytest.mark.slow
def test_mnist_mlp_learns_real_digits(mnist_path):
    from nnstudio.data.idx import read_idx
    from nnstudio.engine.metrics import evaluate

    # The 10,000-image file decodes fastest: train on 8,000 of its digits, test on the rest.
    x = (read_idx(mnist_path / "t10k-images-idx3-ubyte.gz").astype(np.float32) / 255).reshape(
        -1, 784
    )
    y = read_idx(mnist_path / "t10k-labels-idx1-ubyte.gz").astype(np.int64)
    model = Sequential([Dense(128, activation="relu"), Dense(10)], input_shape=(784,))
    result = fit(
        model,
        CE,
        Adam(lr=2e-3),
        x[:8000],
        y[:8000],
        FitConfig(epochs=3, batch_size=64, validation_split=0.1),
    )
    assert result.stopped_reason == "completed"
    assert result.history[-1]["val_accuracy"] > 0.88
    report = evaluate(model, get_loss(CE), x[8000:], y[8000:])
    assert report["accuracy"] > 0.9 and report["n_classes"] == 10
    assert sum(row["support"] for row in report["per_class"]) == 2000


def test_two_steps_asked_for_before_a_batch_runs_make_two_batches():
    control = TrainingControl()
    control.pause()
    control.step_once()
    control.step_once()  # pressed again before the loop got to run a batch
    control.batch_done()
    assert not control.paused  # one more step to go
    control.batch_done()
    assert control.paused
    control.resume()
    control.batch_done()
    assert not control.paused  # resuming cancels the pending steps: no pause after a batch


def test_on_pause_is_called_before_the_loop_waits():
    x, y = blobs()
    control = TrainingControl()
    calls = []

    class PauseAtBatchThree:
        def on_batch_end(self, info):
            if info["epoch"] == 1 and info["batch"] == 3:
                control.pause()

        def on_pause(self, info):
            calls.append(control.paused)  # still paused: the loop has not waited yet
            control.resume()  # so the wait that follows returns at once

    result = fit(
        mlp(),
        CE,
        Adam(),
        x,
        y,
        FitConfig(epochs=1, batch_size=32),
        callbacks=[PauseAtBatchThree()],
        control=control,
    )
    assert calls == [True]
    assert result.stopped_reason == "completed"


def test_fit_drives_the_control_through_its_public_api_only():
    x, y = blobs()
    control = TrainingControl()

    class PublicOnly:
        """TrainingControl without its private members: what fit may use."""

        def __getattr__(self, name):
            if name.startswith("_"):
                raise AttributeError(f"fit read TrainingControl.{name}")
            return getattr(control, name)

    seen = []

    class Drive:
        def on_batch_end(self, info):
            seen.append((info["epoch"], info["batch"], info["lr"]))
            if info["batch"] == 1:
                control.set_learning_rate(0.002)
            if info["batch"] == 2:
                control.pause()
            if info["epoch"] == 2:
                control.stop()

        def on_pause(self, info):
            control.resume()

    result = fit(
        mlp(),
        CE,
        Adam(lr=0.01),
        x,
        y,
        FitConfig(epochs=5, batch_size=32),
        callbacks=[Drive()],
        control=PublicOnly(),
    )
    assert result.stopped_reason == "stopped"
    assert seen[0][2] == pytest.approx(0.01) and seen[1][2] == pytest.approx(0.002)
    assert seen[-1][:2] == (2, 1)  # stopped before the second batch of epoch 2


def test_fit_asks_the_model_for_no_input_gradient():
    x, y = blobs(64)
    model = mlp()
    asked = []
    backward = model.backward

    def recording_backward(grad, need_input_grad=True):
        asked.append(need_input_grad)
        return backward(grad, need_input_grad=need_input_grad)

    model.backward = recording_backward
    fit(model, CE, Adam(), x, y, FitConfig(epochs=1, batch_size=16))
    assert asked == [False] * 4
