"""TrainingSession: the engine's fit loop on a worker thread, reporting through Qt signals.

The worker is a parentless QObject moved to a QThread and started by ``thread.started``; the
GUI controls it only through the engine's ``TrainingControl`` (threading.Events checked between
batches), because a blocking loop never runs queued slots in its own thread. What is reported
and when (throttles, snapshots, copies) is decided by the Qt-free
:class:`~nnstudio.training.reporting.TrainingReporter`; this module only carries its payloads
across threads as signals:

- ``batch_progress``   batch losses, at most ``progress_hz`` per second;
- ``epoch_done``       finished epochs, coalesced, at most ``progress_hz`` per second;
- ``weights_snapshot`` weight copies, histograms and the decision-boundary grid, at most
  ``snapshot_hz`` per second (histograms ``histogram_hz``);
- ``state_copy``       after ``request_state()``: the weights and config at the next epoch end;
- ``timeline_snapshot`` at the start and every epoch end: copies of the model's and the
  optimizer's state and the seed, for the run's timeline;
- ``finished`` (the result as a plain dict) or ``failed`` (a message for the user).
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from nnstudio.engine.fit import TrainingControl
from nnstudio.training.reporting import (
    HISTOGRAM_HZ,
    PROGRESS_HZ,
    SNAPSHOT_BUDGET,
    SNAPSHOT_HZ,
    TrainingReporter,
    failure_message,
    make_job,
    run_job,
)


class TrainingWorker(QObject):
    """Runs ``fit`` once in the thread it was moved to. Has no parent on purpose."""

    # ``object``, not ``dict``: a dict signal converts its payload to a QVariantMap and back
    # on every emit (tens of microseconds for a progress report, on both threads); the
    # payloads are fresh copies the worker never touches again, so passing them as they are
    # is safe.
    batch_progress = Signal(object)
    epoch_done = Signal(object)
    weights_snapshot = Signal(object)
    state_copy = Signal(object)
    timeline_snapshot = Signal(object)
    finished = Signal(object)
    failed = Signal(str)

    def __init__(
        self,
        job: dict,
        control,
        force_update: threading.Event,
        progress_hz: float,
        snapshot_hz: float,
        histogram_hz: float = HISTOGRAM_HZ,
        snapshot_budget: float | None = SNAPSHOT_BUDGET,
    ):
        super().__init__()
        self._job = job
        self._control = control
        self._reporter = TrainingReporter(
            job["model"],
            job["loss"],
            job["dataset"],
            progress=self.batch_progress.emit,
            epochs=self.epoch_done.emit,
            snapshot=self.weights_snapshot.emit,
            state=self.state_copy.emit,
            timeline=self.timeline_snapshot.emit,
            optimizer=job["optimizer"],
            seed=getattr(job["config"], "seed", None),
            force_update=force_update,
            progress_hz=progress_hz,
            snapshot_hz=snapshot_hz,
            histogram_hz=histogram_hz,
            snapshot_budget=snapshot_budget,
        )

    @Slot()
    def run(self) -> None:
        try:
            self._reporter.start(self._job["initial_epoch"])
            result = run_job(self._job, self._control, callbacks=(self,))
            payload = self._reporter.finish(result)
            doctor = self._job.get("doctor")  # after a blow-up, its words on why
            payload["warnings"] = doctor.final_warnings if doctor is not None else []
            self.finished.emit(payload)
        except BaseException as error:  # noqa: BLE001 - a worker must report, never die silently
            # BaseException too: a SystemExit inside the loop would otherwise end run() with
            # no word, its thread would never quit, and the window would wait forever.
            self.failed.emit(failure_message(error))

    # -- the fit loop's callbacks (worker thread), handed to the reporter -------------------------

    def on_batch_end(self, info: dict) -> None:
        self._reporter.on_batch_end(info)

    def on_pause(self, info) -> None:
        self._reporter.on_pause(info)

    def on_epoch_end(self, info: dict) -> None:
        self._reporter.on_epoch_end(info)

    @property
    def state_requested(self) -> threading.Event:
        """Set from any thread: the loop hands a state copy at its next epoch end."""
        return self._reporter.state_requested

    @property
    def reporter(self) -> TrainingReporter:
        return self._reporter


class TrainingSession(QObject):
    """One training run on a worker thread.

    ``TrainingSession(model, loss, optimizer, dataset, fit_config, augment=None)``; connect the
    signals, then ``start()``. The model must not be touched by the GUI until ``finished`` or
    ``failed`` fires (or ``wait()`` returns True).
    """

    # The worker's payloads, each a dict (see TrainingWorker for why ``object``).
    batch_progress = Signal(object)
    epoch_done = Signal(object)
    weights_snapshot = Signal(object)
    state_copy = Signal(object)  # after request_state(): weights and config at an epoch end
    timeline_snapshot = Signal(object)  # start and every epoch end: state copies for the timeline
    finished = Signal(object)
    failed = Signal(str)
    paused_changed = Signal(bool)

    def __init__(
        self,
        model,
        loss,
        optimizer,
        dataset,
        fit_config,
        augment=None,
        *,
        initial_epoch: int = 0,
        history: list | None = None,
        progress_hz: float = PROGRESS_HZ,
        snapshot_hz: float = SNAPSHOT_HZ,
        histogram_hz: float = HISTOGRAM_HZ,
        snapshot_budget: float | None = SNAPSHOT_BUDGET,
        parent: QObject | None = None,
    ):
        super().__init__(parent)
        self.control = TrainingControl()
        self.fit_config = fit_config
        job = make_job(model, loss, optimizer, dataset, fit_config, augment, initial_epoch, history)
        self._force_update = threading.Event()
        self._worker = TrainingWorker(
            job,
            self.control,
            self._force_update,
            progress_hz,
            snapshot_hz,
            histogram_hz,
            snapshot_budget,
        )
        # Kept here: the worker object is deleted once its thread ends.
        self._state_requested = self._worker.state_requested
        self._reporter = self._worker.reporter
        self._thread = QThread(self)
        self._thread.setObjectName("nnstudio-training")
        self._running = False
        self._wire()

    def _wire(self) -> None:
        worker, thread = self._worker, self._thread
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        # Direct, so the thread quits even while the GUI thread is blocked in wait().
        worker.finished.connect(thread.quit, Qt.ConnectionType.DirectConnection)
        worker.failed.connect(thread.quit, Qt.ConnectionType.DirectConnection)
        thread.finished.connect(worker.deleteLater)
        thread.finished.connect(self._on_thread_finished)
        worker.batch_progress.connect(self.batch_progress)
        worker.epoch_done.connect(self.epoch_done)
        worker.weights_snapshot.connect(self.weights_snapshot)
        worker.state_copy.connect(self.state_copy)
        worker.timeline_snapshot.connect(self.timeline_snapshot)
        worker.finished.connect(self.finished)
        worker.failed.connect(self.failed)

    # -- control (GUI thread) -------------------------------------------------------------------

    def start(self, paused: bool = False) -> None:
        """Start the worker thread; ``paused=True`` starts it waiting (for a single step)."""
        if paused:
            self.control.pause()
        self._running = True
        self._thread.start()

    def pause(self) -> None:
        self._worker_force_update()
        self.control.pause()
        self.paused_changed.emit(True)

    def resume(self) -> None:
        self.control.resume()
        self.paused_changed.emit(False)

    def step(self) -> None:
        """Run exactly one batch, then stay paused."""
        self._worker_force_update()
        self.control.step_once()
        self.paused_changed.emit(True)

    def stop(self) -> None:
        """Ask the loop to end after the current batch; ``finished`` follows."""
        self.control.stop()

    def request_state(self) -> None:
        """Ask for ``state_copy`` at the next epoch end (the model stays the worker's)."""
        self._state_requested.set()

    def set_live_weights(self, wanted: bool) -> None:
        """Whether a view draws the weights as they change: without one, weight snapshots
        come only at the histograms' pace (TrainingReporter.set_live_weights)."""
        self._reporter.set_live_weights(wanted)

    def set_learning_rate(self, lr: float) -> None:
        """Takes effect before the next batch."""
        self.control.set_learning_rate(float(lr))

    @property
    def paused(self) -> bool:
        return bool(self.control.paused)

    def is_running(self) -> bool:
        return self._running

    def wait(self, ms: int = 10_000) -> bool:
        """Block until the thread ended (True) or ``ms`` passed (False)."""
        # Always ask the QThread (it answers at once when it never started or has ended):
        # ``finished`` is emitted just before the thread's last work (deferred deletes), so
        # a flag set on it is no proof that the thread ended, and a QThread destroyed while
        # still running aborts the process.
        return bool(self._thread.wait(ms))

    def shutdown(self, ms: int = 10_000) -> bool:
        """Stop and wait: what closing the window does while training runs. True when the
        thread has ended."""
        self.stop()
        return self.wait(ms)

    def _worker_force_update(self) -> None:
        self._force_update.set()

    @Slot()
    def _on_thread_finished(self) -> None:
        self._running = False
