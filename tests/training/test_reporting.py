"""TrainingReporter without Qt: throttled progress that keeps every loss, coalesced epochs,
snapshots (copies, histograms, decision-boundary grids), forced and final snapshots.

Time comes from a fake clock that advances a fixed step at every reading, so the throttles
are tested exactly, without timing anything.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from nnstudio.data.catalog import load_dataset
from nnstudio.engine.fit import FitConfig, TrainingControl
from nnstudio.engine.layers import Dense, Flatten
from nnstudio.engine.losses import get_loss
from nnstudio.engine.model import Sequential
from nnstudio.engine.optimizers import Adam
from nnstudio.training.reporting import (
    TrainingReporter,
    failure_message,
    make_job,
    result_to_dict,
    run_job,
)


@pytest.fixture(scope="module")
def spiral():
    return load_dataset("spiral", samples=300, seed=0)


class Clock:
    """Each reading is ``step`` seconds after the previous one."""

    def __init__(self, step: float):
        self.step, self.now = step, 0.0

    def __call__(self) -> float:
        self.now += self.step
        return self.now


class Outlets:
    """The three outlets as lists."""

    def __init__(self):
        self.progress, self.epochs, self.snapshots = [], [], []

    def reporter(self, model, loss, dataset, **options) -> TrainingReporter:
        return TrainingReporter(
            model,
            loss,
            dataset,
            progress=self.progress.append,
            epochs=self.epochs.append,
            snapshot=self.snapshots.append,
            **options,
        )

    def losses(self) -> list:
        return [loss for payload in self.progress for loss in payload["losses"]]

    def all_epochs(self) -> list:
        return [epoch for payload in self.epochs for epoch in payload["epochs"]]


def classifier(dataset, loss="softmax_crossentropy", outputs=None):
    model = Sequential(
        [Dense(8, activation="relu"), Dense(outputs or dataset.n_classes)],
        input_shape=dataset.input_shape,
        seed=0,
    )
    return model, get_loss(loss)


def train(dataset, outlets, epochs=3, batch_size=8, control=None, callbacks=(), **options):
    """A real fit run with the reporter as its callback; returns the result as a dict."""
    model, loss = classifier(dataset)
    reporter = outlets.reporter(model, loss, dataset, **options)
    job = make_job(
        model, loss, Adam(lr=0.01), dataset, FitConfig(epochs=epochs, batch_size=batch_size)
    )
    reporter.start(job["initial_epoch"])
    result = run_job(job, control, callbacks=(reporter, *callbacks))
    return reporter.finish(result), model


def test_progress_is_throttled_but_carries_every_batch_loss(spiral):
    outlets = Outlets()
    result, _ = train(spiral, outlets, progress_hz=20, clock=Clock(0.01))
    n_batches = 3 * int(np.ceil(len(spiral.x_train) / 8))
    assert result["stopped_reason"] == "completed"
    assert len(outlets.losses()) == n_batches  # every batch loss arrives...
    assert len(outlets.progress) < n_batches / 4  # ...in far fewer payloads
    # Positions run through the epochs: epoch - 1 + batch / batches, the last one exactly 3.
    positions = [position for position, _ in outlets.losses()]
    assert positions == sorted(positions) and positions[-1] == pytest.approx(3.0)


def test_every_progress_payload_says_the_learning_rate_the_final_flush_too(spiral):
    """A run that blows up in its first epoch has no epoch report: the window's rate plot
    shows the rate its batches reported."""
    outlets = Outlets()
    train(spiral, outlets, epochs=1, progress_hz=1, clock=Clock(0.01))
    assert "batches" not in outlets.progress[-1]  # the flush's: the last batches held back
    assert [payload["lr"] for payload in outlets.progress] == [0.01] * len(outlets.progress)
    gaps = np.diff([payload["time"] for payload in outlets.progress[:-1]])
    assert (gaps >= 1 / 20 - 1e-9).all()  # all but the final flush respect the rate


def test_epochs_are_coalesced_and_none_is_lost(spiral):
    outlets = Outlets()
    # The clock barely moves: without coalescing, 20 epochs would be 20 payloads.
    train(spiral, outlets, epochs=20, batch_size=64, progress_hz=20, clock=Clock(1e-4))
    assert [epoch["epoch"] for epoch in outlets.all_epochs()] == list(range(1, 21))
    assert len(outlets.epochs) < 20
    assert outlets.epochs[-1]["epoch"] == 20  # the flush ends on the last epoch


def test_histograms_come_with_the_first_and_final_snapshots_only_when_rare(spiral):
    outlets = Outlets()
    _, model = train(
        spiral, outlets, snapshot_hz=1e6, histogram_hz=1e-6, snapshot_budget=None, clock=Clock(0.01)
    )
    snapshots = outlets.snapshots
    assert len(snapshots) > 10
    with_histograms = [i for i, snapshot in enumerate(snapshots) if "histograms" in snapshot]
    assert with_histograms == [0, len(snapshots) - 1]
    assert snapshots[-1]["final"] and not any(s["final"] for s in snapshots[:-1])
    counts, edges = snapshots[-1]["histograms"]["0 Dense"]
    assert counts.sum() == model.parameters()["0.W"].size and len(edges) == len(counts) + 1


def test_snapshots_take_at_most_their_share_of_the_training_time(spiral):
    # Each clock reading is 10 ms after the last: a snapshot "costs" 10 ms, so at a 2 % budget
    # they come at most every half second, however often snapshot_hz would let them.
    budgeted, free = Outlets(), Outlets()
    train(spiral, budgeted, snapshot_hz=1e6, snapshot_budget=0.02, clock=Clock(0.01))
    train(spiral, free, snapshot_hz=1e6, snapshot_budget=None, clock=Clock(0.01))
    times = [snapshot["time"] for snapshot in budgeted.snapshots[:-1]]  # the final one always
    assert np.diff(times).min() >= 0.5 - 1e-9
    assert 2 < len(budgeted.snapshots) < len(free.snapshots) / 5


class GoQuiet:
    """A fit callback that tells the reporter no view draws live weights, at batch ``at``
    (as the window does from the GUI thread), and live again at batch ``back``."""

    def __init__(self, reporter_box: list, at: int, back: int | None = None):
        self.box, self.at, self.back, self.batches = reporter_box, at, back, 0

    def on_batch_end(self, _info) -> None:
        self.batches += 1
        if self.batches == self.at:
            self.box[0].set_live_weights(False)
        if self.batches == self.back:
            self.box[0].set_live_weights(True)


def quiet_run(spiral, at: int, back: int | None = None) -> Outlets:
    outlets, box = Outlets(), []
    make = outlets.reporter

    def keep(*args, **options):
        box.append(make(*args, **options))
        return box[0]

    outlets.reporter = keep
    # 50 ms a clock reading: live, 5 snapshots a second; quiet, the histograms' 0.5.
    train(
        spiral,
        outlets,
        epochs=10,
        callbacks=(GoQuiet(box, at, back),),
        snapshot_budget=None,
        clock=Clock(0.05),
    )
    return outlets


def test_without_a_live_view_snapshots_come_at_the_histograms_pace(spiral):
    live, quiet = quiet_run(spiral, at=-1), quiet_run(spiral, at=1)
    times = [snapshot["time"] for snapshot in quiet.snapshots[1:-1]]  # not the first and last
    assert np.diff(times).min() >= 2.0 - 1e-9  # HISTOGRAM_HZ: one every two seconds
    assert len(quiet.snapshots) < len(live.snapshots) / 5
    # Each quiet snapshot carries the histograms: that is what it is still sent for.
    assert all("histograms" in snapshot for snapshot in quiet.snapshots)


def test_a_live_view_again_gets_a_snapshot_at_the_next_batch(spiral):
    outlets = quiet_run(spiral, at=1, back=100)
    # The snapshots say after which batch they were made: one right after batch 100 (the
    # callback that turned the view on ran after the reporter had seen batch 100).
    per_epoch = int(np.ceil(len(spiral.x_train) / 8))
    made = [(s["epoch"] - 1) * per_epoch + s["batch"] for s in outlets.snapshots[1:-1]]
    assert 101 in made
    later = [s["time"] for s in outlets.snapshots[1:-1] if s["epoch"] > 100 // per_epoch + 1]
    assert len(later) > 5 and np.diff(later).max() < 0.5  # and the live pace after it


def test_snapshots_are_copies_with_a_boundary_grid(spiral):
    outlets = Outlets()
    _, model = train(spiral, outlets, epochs=1)
    last = outlets.snapshots[-1]
    np.testing.assert_array_equal(last["weights"]["0.W"], model.parameters()["0.W"])
    assert last["weights"]["0.W"] is not model.parameters()["0.W"]
    boundary = last["boundary"]
    assert boundary["kind"] == "classes"
    assert boundary["values"].shape == (100, 100, spiral.n_classes)
    np.testing.assert_allclose(boundary["values"].sum(axis=-1), 1.0, atol=1e-4)
    low_x, high_x, low_y, high_y = boundary["extent"]
    assert low_x < spiral.x_train[:, 0].min() and high_y > spiral.x_train[:, 1].max()


def test_one_sigmoid_output_draws_as_two_class_probabilities():
    moons = load_dataset("moons", samples=100, seed=0)
    model, loss = classifier(moons, loss="binary_crossentropy", outputs=1)
    outlets = Outlets()
    outlets.reporter(model, loss, moons).start()
    values = outlets.snapshots[0]["boundary"]["values"]
    assert values.shape == (100, 100, 2)
    np.testing.assert_allclose(values.sum(axis=-1), 1.0, atol=1e-5)


def test_regression_draws_the_predicted_value():
    plane = load_dataset("plane", samples=100, seed=0)
    model = Sequential([Dense(4, activation="relu"), Dense(1)], input_shape=(2,), seed=0)
    outlets = Outlets()
    outlets.reporter(model, get_loss("mse"), plane).start()
    boundary = outlets.snapshots[0]["boundary"]
    assert boundary["kind"] == "value" and boundary["values"].shape == (100, 100)


def test_images_get_no_boundary_grid(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.random((40, 1, 4, 4)).astype(np.float32)
    np.savez(tmp_path / "tiny.npz", X=images, y=np.arange(40) % 3)
    tiny = load_dataset(f"npz:{tmp_path / 'tiny.npz'}")
    model = Sequential([Flatten(), Dense(3)], input_shape=tiny.input_shape, seed=0)
    outlets = Outlets()
    outlets.reporter(model, get_loss("softmax_crossentropy"), tiny).start()
    assert "boundary" not in outlets.snapshots[0]
    assert set(outlets.snapshots[0]["weights"]) == {"1.W", "1.b"}


def test_a_forced_update_makes_the_next_batch_report_everything(spiral):
    outlets = Outlets()
    model, loss = classifier(spiral)
    force = threading.Event()
    # Nothing would be reported on its own schedule after the first snapshot.
    reporter = outlets.reporter(
        model, loss, spiral, force_update=force, progress_hz=1e-6, snapshot_hz=1e-6
    )
    reporter.start()
    info = {"epoch": 1, "batch": 1, "batches": 10, "loss": 0.5}
    reporter.on_batch_end(info)  # the progress throttle lets its first payload through
    reporter.on_batch_end({**info, "batch": 2, "loss": 0.4})
    assert len(outlets.snapshots) == 1 and len(outlets.progress) == 1
    force.set()  # what pause() and step() do from the GUI thread
    reporter.on_batch_end({**info, "batch": 3, "loss": 0.3})
    assert not force.is_set()
    assert outlets.progress[-1]["losses"] == [(0.2, 0.4), (0.3, 0.3)]
    assert outlets.snapshots[-1]["batch"] == 3 and "histograms" in outlets.snapshots[-1]


def test_a_pause_after_the_batch_looked_still_gets_its_snapshot(spiral):
    outlets = Outlets()
    control = TrainingControl()
    force = threading.Event()

    class PauseAfterBatchThree:
        """What the GUI thread does when Pause lands just after a batch end looked."""

        def on_batch_end(self, info):
            if info["epoch"] == 1 and info["batch"] == 3:
                force.set()
                control.pause()

        def on_pause(self, info):
            control.resume()  # let the loop go on at once (a user would press Resume)

    train(
        spiral,
        outlets,
        epochs=1,
        control=control,
        callbacks=(PauseAfterBatchThree(),),
        force_update=force,
        snapshot_hz=1e-6,
        histogram_hz=1e-6,
    )
    paused = [s for s in outlets.snapshots if s["batch"] == 3]
    assert len(paused) == 1 and "histograms" in paused[0] and not paused[0]["final"]


def test_results_and_failures_become_plain_values():
    from nnstudio.engine.fit import FitResult

    result = FitResult(
        history=[{"epoch": 1}], stopped_reason="stopped", message="m", epochs_completed=1
    )
    assert result_to_dict(result)["stopped_reason"] == "stopped"
    assert failure_message(ValueError("x has 5 samples")) == "x has 5 samples"
    unexpected = failure_message(KeyError("boom"))
    assert "unexpected error (KeyError" in unexpected and "please report" in unexpected


class StateAtEpoch:
    """A fit callback that asks for a state copy at epoch ``ask_at`` (before the reporter's
    epoch end runs) and records the live weights the copy must equal."""

    def __init__(self, reporter, model, ask_at):
        self.reporter, self.model, self.ask_at, self.expected = reporter, model, ask_at, None

    def on_epoch_end(self, info):
        if info["epoch"] == self.ask_at:
            self.reporter.state_requested.set()
            self.expected = self.model.state_dict()


def test_a_state_copy_comes_only_on_request_at_the_next_epoch_end(spiral):
    states = []
    model, loss = classifier(spiral)
    reporter = TrainingReporter(
        model,
        loss,
        spiral,
        progress=lambda p: None,
        epochs=lambda p: None,
        snapshot=lambda p: None,
        state=states.append,
    )
    asker = StateAtEpoch(reporter, model, ask_at=2)
    job = make_job(model, loss, Adam(lr=0.01), spiral, FitConfig(epochs=4, batch_size=16))
    reporter.start()
    run_job(job, None, callbacks=(asker, reporter))
    assert [state["epoch"] for state in states] == [2]  # once, and only when asked
    copy = states[0]
    assert copy["config"] == model.config()
    assert set(copy["state"]) == set(asker.expected)
    for name, value in asker.expected.items():
        np.testing.assert_array_equal(copy["state"][name], value)
    # A copy, not the live arrays: training went on after it without changing it.
    assert not np.array_equal(copy["state"]["0.W"], model.parameters()["0.W"])
