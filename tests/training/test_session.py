"""TrainingSession: the fit loop on a worker thread, throttled signals, pause/resume/stop/step,
learning-rate changes, NaN handling and clean shutdown."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QCoreApplication

from nnstudio.data.catalog import load_dataset
from nnstudio.engine.fit import FitConfig
from nnstudio.engine.layers import Dense
from nnstudio.engine.losses import get_loss
from nnstudio.engine.model import Sequential
from nnstudio.engine.optimizers import Adam, get_optimizer
from nnstudio.training.session import TrainingSession


@pytest.fixture(scope="module")
def spiral():
    return load_dataset("spiral", samples=300, seed=0)


_SESSIONS: list = []


@pytest.fixture(autouse=True)
def stop_sessions_after_each_test():
    """A QThread destroyed while running aborts the process: always stop and wait."""
    yield
    while _SESSIONS:
        assert _SESSIONS.pop().shutdown(10_000)


def make_session(dataset, epochs=5, batch_size=16, lr=0.01, optimizer=None, **kwargs):
    model = Sequential(
        [Dense(16, activation="relu"), Dense(dataset.n_classes)],
        input_shape=dataset.input_shape,
        seed=0,
    )
    optimizer = optimizer or Adam(lr=lr)
    config = FitConfig(epochs=epochs, batch_size=batch_size, seed=0)
    session = TrainingSession(
        model, get_loss("softmax_crossentropy"), optimizer, dataset, config, **kwargs
    )
    _SESSIONS.append(session)
    return session, model


class Recorder:
    """Collects every signal of a session."""

    def __init__(self, session):
        self.batches, self.epochs, self.snapshots, self.results, self.errors = [], [], [], [], []
        session.batch_progress.connect(self.batches.append)
        session.epoch_done.connect(self.epochs.append)
        session.weights_snapshot.connect(self.snapshots.append)
        session.finished.connect(self.results.append)
        session.failed.connect(self.errors.append)

    def all_epochs(self):
        return [epoch for payload in self.epochs for epoch in payload["epochs"]]


def test_trains_on_a_worker_thread_and_reports_every_epoch(qtbot, spiral):
    session, model = make_session(spiral, epochs=6)
    record = Recorder(session)
    before = model.state_dict()["0.W"].copy()
    with qtbot.waitSignal(session.finished, timeout=20_000):
        session.start()
    assert session.wait(5000)
    result = record.results[0]
    assert result["stopped_reason"] == "completed"
    assert [e["epoch"] for e in record.all_epochs()] == [1, 2, 3, 4, 5, 6]
    assert len(result["history"]) == 6
    assert not np.allclose(model.state_dict()["0.W"], before)
    assert record.errors == []


def test_snapshots_are_copies_with_histograms_and_a_boundary_grid(qtbot, spiral):
    session, model = make_session(spiral, epochs=2)
    record = Recorder(session)
    with qtbot.waitSignal(session.finished, timeout=20_000):
        session.start()
    session.wait(5000)
    last = record.snapshots[-1]
    np.testing.assert_array_equal(last["weights"]["0.W"], model.parameters()["0.W"])
    assert last["weights"]["0.W"] is not model.parameters()["0.W"]
    counts, edges = last["histograms"]["0 Dense"]
    assert counts.sum() == model.parameters()["0.W"].size and len(edges) == len(counts) + 1
    boundary = last["boundary"]
    assert boundary["kind"] == "classes"
    assert boundary["values"].shape == (100, 100, spiral.n_classes)
    np.testing.assert_allclose(boundary["values"].sum(axis=-1), 1.0, atol=1e-4)


def test_histograms_come_with_the_first_last_and_forced_snapshots_and_rarely_otherwise(
    qtbot, spiral
):
    # Snapshots as often as batches end, histograms (almost) never on their own schedule.
    session, model = make_session(
        spiral, epochs=3, batch_size=4, snapshot_hz=1e6, histogram_hz=1e-6, snapshot_budget=None
    )
    record = Recorder(session)
    with qtbot.waitSignal(session.finished, timeout=20_000):
        session.start()
    session.wait(5000)
    with_histograms = [i for i, s in enumerate(record.snapshots) if "histograms" in s]
    assert len(record.snapshots) > 10
    assert with_histograms == [0, len(record.snapshots) - 1]  # the first, and the final one
    assert record.snapshots[-1]["final"]
    counts, _ = record.snapshots[-1]["histograms"]["0 Dense"]
    assert counts.sum() == model.parameters()["0.W"].size
    # A pause forces a snapshot with histograms, so the paused view is complete. (Epochs
    # enough that the run cannot end before its second snapshot; the fixture stops it.)
    session, _ = make_session(spiral, epochs=100_000, batch_size=4, histogram_hz=1e-6)
    record = Recorder(session)
    session.start()
    qtbot.waitUntil(lambda: len(record.snapshots) >= 2, timeout=10_000)
    assert "histograms" not in record.snapshots[1]
    session.pause()  # the snapshot made at the pause is the last one, and it has them
    qtbot.waitUntil(lambda: "histograms" in record.snapshots[-1], timeout=10_000)


def test_signals_never_fire_faster_than_the_throttle(qtbot, spiral):
    # Tiny batches: thousands of batches and many epochs a second without the throttle.
    session, _ = make_session(spiral, epochs=40, batch_size=4, progress_hz=20, snapshot_hz=5)
    record = Recorder(session)
    with qtbot.waitSignal(session.finished, timeout=60_000):
        session.start()
    session.wait(5000)
    n_batches = 40 * int(np.ceil(len(spiral.x_train) / 4))
    # Every batch loss arrives, though in far fewer signals.
    assert sum(len(p["losses"]) for p in record.batches) == n_batches
    assert len(record.batches) < n_batches
    assert len(record.all_epochs()) == 40
    # The last emission of each kind is the flush at the end; all others respect the rate.
    for payloads, hz in ((record.batches, 20), (record.epochs, 20), (record.snapshots, 5)):
        times = [p["time"] for p in payloads[:-1]]
        gaps = np.diff(times)
        assert (gaps >= 1.0 / hz - 1e-6).all(), (hz, gaps.min())


def test_pause_resume_and_stop(qtbot, spiral, settled_while_parked):
    session, _ = make_session(spiral, epochs=10_000, batch_size=4)
    record = Recorder(session)
    with qtbot.waitSignal(session.batch_progress, timeout=10_000):
        session.start()
    with qtbot.waitSignal(session.paused_changed, timeout=1000) as paused:
        session.pause()
    assert paused.args == [True] and session.paused
    settled_while_parked(session)  # the batch in flight finished and its signals arrived
    seen = sum(len(p["losses"]) for p in record.batches)
    QCoreApplication.processEvents()
    assert sum(len(p["losses"]) for p in record.batches) == seen  # nothing while paused
    assert session.control.parked
    session.resume()
    qtbot.waitUntil(lambda: sum(len(p["losses"]) for p in record.batches) > seen, timeout=5000)
    with qtbot.waitSignal(session.finished, timeout=10_000):
        session.stop()
    assert record.results[0]["stopped_reason"] == "stopped"
    assert session.wait(5000)


def test_step_runs_exactly_one_batch(qtbot, spiral, settled_while_parked):
    session, _ = make_session(spiral, epochs=3, batch_size=8)
    record = Recorder(session)
    session.start(paused=True)
    settled_while_parked(session)
    assert record.batches == []  # started paused: no batch yet
    for expected in (1, 2, 3):
        session.step()
        # The batch's signal leaves before the loop pauses again: wait for both.
        qtbot.waitUntil(
            lambda n=expected: (
                sum(len(p["losses"]) for p in record.batches) == n and session.paused
            ),
            timeout=5000,
        )
    settled_while_parked(session)
    assert sum(len(p["losses"]) for p in record.batches) == 3
    assert record.batches[-1]["batch"] == 3
    with qtbot.waitSignal(session.finished, timeout=10_000):
        session.stop()


def test_learning_rate_change_applies_to_the_next_batch(qtbot, spiral):
    session, _ = make_session(spiral, epochs=3, batch_size=8, lr=0.01)
    record = Recorder(session)
    session.start(paused=True)
    session.step()
    qtbot.waitUntil(lambda: len(record.batches) == 1 and session.paused, timeout=5000)
    assert record.batches[-1]["lr"] == pytest.approx(0.01)
    session.set_learning_rate(0.002)
    session.step()
    qtbot.waitUntil(lambda: sum(len(p["losses"]) for p in record.batches) == 2, timeout=5000)
    assert record.batches[-1]["lr"] == pytest.approx(0.002)
    with qtbot.waitSignal(session.finished, timeout=10_000):
        session.stop()


def test_nan_loss_stops_with_advice_and_keeps_finite_weights(qtbot, spiral):
    optimizer = get_optimizer("sgd", lr=1e9)
    session, model = make_session(spiral, epochs=5, optimizer=optimizer)
    record = Recorder(session)
    with qtbot.waitSignal(session.finished, timeout=20_000):
        session.start()
    session.wait(5000)
    result = record.results[0]
    assert result["stopped_reason"] == "nan"
    assert "learning rate" in result["message"]
    assert all(np.isfinite(v).all() for v in model.parameters().values())


def test_shutdown_while_training_stops_the_thread(qtbot, spiral):
    session, _ = make_session(spiral, epochs=100_000, batch_size=4)
    with qtbot.waitSignal(session.batch_progress, timeout=10_000):
        session.start()
    assert session.is_running()
    assert session.shutdown(10_000)
    assert not session._thread.isRunning()


def test_shutdown_while_paused_also_ends(qtbot, spiral):
    session, _ = make_session(spiral, epochs=100_000, batch_size=4)
    session.start(paused=True)
    assert session.control.wait_until_parked(timeout=10)
    assert session.shutdown(10_000)


def test_errors_become_a_failed_message(qtbot, spiral):
    session, model = make_session(spiral, epochs=2)
    session._worker._job["y"] = spiral.y_train[:5]  # x and y no longer match
    record = Recorder(session)
    with qtbot.waitSignal(session.failed, timeout=10_000):
        session.start()
    session.wait(5000)
    assert "samples" in record.errors[0]
    assert record.results == []


def test_a_system_exit_inside_the_loop_becomes_a_failed_message(qtbot, spiral, monkeypatch):
    import nnstudio.training.session as session_module

    def exits(*args, **kwargs):
        raise SystemExit(3)

    monkeypatch.setattr(session_module, "run_job", exits)
    session, _ = make_session(spiral, epochs=2)
    record = Recorder(session)
    with qtbot.waitSignal(session.failed, timeout=10_000):
        session.start()
    assert session.wait(5000)
    assert record.errors == ["Training stopped because of an unexpected error (SystemExit: 3). "
                             "Your project is unchanged; please report this."]  # fmt: skip
    assert record.results == []


def test_a_pause_that_lands_after_the_batch_looked_still_gets_its_snapshot(
    qtbot, spiral, monkeypatch
):
    # The race: pause() comes after on_batch_end checked for a forced update, so no batch
    # end will see it; the loop's on_pause, called before it blocks, must make the snapshot.
    from nnstudio.training.session import TrainingWorker

    session, _ = make_session(spiral, epochs=50, batch_size=4, histogram_hz=1e-6)
    original = TrainingWorker.on_batch_end

    def pause_right_after_the_check(worker, info):
        original(worker, info)
        if info["epoch"] == 1 and info["batch"] == 3:
            session.pause()

    monkeypatch.setattr(TrainingWorker, "on_batch_end", pause_right_after_the_check)
    record = Recorder(session)
    session.start()
    qtbot.waitUntil(lambda: session.paused, timeout=10_000)
    qtbot.waitUntil(
        lambda: bool(record.snapshots) and record.snapshots[-1]["batch"] == 3, timeout=10_000
    )
    assert "histograms" in record.snapshots[-1]
    with qtbot.waitSignal(session.finished, timeout=20_000):
        session.stop()


def test_stop_ends_a_run_whose_single_step_finishes_after_the_stop(qtbot, spiral):
    """Step, then Stop before that batch ends: the step's end must not pause the loop again
    after the stop woke it (a paused loop would wait forever), so the run finishes."""
    session, _ = make_session(spiral, epochs=50)
    session.control.step_once()
    session.stop()
    session.control.batch_done()  # the step's batch ending after the stop
    assert session.control.stopped and not session.control.paused
    with qtbot.waitSignal(session.finished, timeout=10_000) as blocker:
        session.start()
    assert blocker.args[0]["stopped_reason"] == "stopped"


def test_a_state_copy_arrives_on_request(qtbot, spiral):
    session, model = make_session(spiral, epochs=100_000)
    states = []
    session.state_copy.connect(states.append)
    session.start()
    session.request_state()
    qtbot.waitUntil(lambda: bool(states), timeout=10_000)
    assert states[0]["epoch"] >= 1 and set(states[0]["state"]) == set(model.state_dict())
    assert session.shutdown(10_000)
