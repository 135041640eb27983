"""TrainingSession: the engine's fit loop on a worker thread, reporting through Qt signals.

The worker is a parentless QObject moved to a QThread and started by ``thread.started``; the
GUI controls it only through the engine's ``TrainingControl`` (threading.Events checked between
batches), because a blocking loop never runs queued slots in its own thread. Every payload is a
copy, and every signal is throttled so the GUI thread gets little to do per second:

- ``batch_progress``  at most ``progress_hz`` per second; carries every batch loss since the last
  emission in ``"losses"`` so the per-batch curve still gets all of them;
- ``epoch_done``      at most ``progress_hz`` per second; tiny data sets finish hundreds of epochs a
  second, so pending epochs are coalesced into ``"epochs"`` (the last one is always flushed);
- ``weights_snapshot`` at most ``snapshot_hz`` per second: weight copies and, for 2-D inputs, the
  model's predictions on a grid (computed here, off the GUI thread); weight histograms only at
  most ``histogram_hz`` per second (they change slowly and cost about a millisecond of the
  training thread for a 784-512-10 MLP), and in the first, the last and every forced snapshot.
"""

from __future__ import annotations

import dataclasses
import threading
import time

import numpy as np
from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

PROGRESS_HZ = 20.0
SNAPSHOT_HZ = 5.0
HISTOGRAM_HZ = 0.5
GRID_SIZE = 100
HISTOGRAM_BINS = 30
# Histograms of big layers use an evenly strided sample: the shape is the same, the cost is not.
HISTOGRAM_SAMPLE = 20_000


class SnapshotMaker:
    """Copies of what the views draw, made in the worker thread between two batches."""

    def __init__(self, model, loss, dataset, grid_size: int = GRID_SIZE):
        self.model = model
        self.loss = loss
        self.grid = None
        if tuple(getattr(dataset, "input_shape", ())) == (2,):
            self.grid, self.extent = self._make_grid(dataset, grid_size)
        self.size = grid_size

    @staticmethod
    def _make_grid(dataset, size: int):
        parts = [p for p in (dataset.x_train, dataset.x_val, dataset.x_test) if p is not None]
        points = np.concatenate([p for p in parts if len(p)])
        low, high = points.min(axis=0), points.max(axis=0)
        margin = 0.1 * np.maximum(high - low, 1e-3)
        low, high = low - margin, high + margin
        xs = np.linspace(low[0], high[0], size, dtype=np.float32)
        ys = np.linspace(low[1], high[1], size, dtype=np.float32)
        gx, gy = np.meshgrid(xs, ys)  # row = y, column = x
        grid = np.stack([gx.ravel(), gy.ravel()], axis=1).astype(points.dtype)
        return grid, (float(low[0]), float(high[0]), float(low[1]), float(high[1]))

    def make(self, histograms: bool = True) -> dict:
        weights = {name: np.array(value) for name, value in self.model.parameters().items()}
        payload = {"weights": weights}
        if histograms:
            payload["histograms"] = self._histograms(weights)
        if self.grid is not None:
            payload["boundary"] = self._boundary()
        return payload

    def _layer_label(self, name: str) -> str:
        index = name.split(".")[0]
        layers = getattr(self.model, "layers", None)
        try:
            return f"{index} {type(layers[int(index)]).__name__}"
        except (TypeError, ValueError, IndexError):
            return index

    def _histograms(self, weights: dict) -> dict:
        result = {}
        for name, value in weights.items():
            if not name.endswith(".W"):
                continue
            flat = value.reshape(-1)
            if flat.size > HISTOGRAM_SAMPLE:
                flat = flat[:: flat.size // HISTOGRAM_SAMPLE]
            finite = flat[np.isfinite(flat)]
            if finite.size == 0:
                continue
            counts, edges = np.histogram(finite, bins=HISTOGRAM_BINS)
            result[self._layer_label(name)] = (counts.astype(np.float32), edges.astype(np.float32))
        return result

    def _boundary(self) -> dict:
        with np.errstate(all="ignore"):
            outputs = self.model.predict(self.grid, batch_size=self.grid.shape[0])
            values = np.asarray(self.loss.output_activation(outputs), dtype=np.float32)
        values = np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)
        n = self.size
        if getattr(self.loss, "task", "classification") == "regression":
            return {"kind": "value", "values": values[:, 0].reshape(n, n), "extent": self.extent}
        if values.shape[1] == 1:  # one sigmoid output: probability of class 1
            values = np.concatenate([1.0 - values, values], axis=1)
        return {"kind": "classes", "values": values.reshape(n, n, -1), "extent": self.extent}


def result_to_dict(result) -> dict:
    """A FitResult as a plain dict (history, stopped_reason, message, ...)."""
    if dataclasses.is_dataclass(result):
        return dataclasses.asdict(result)
    keys = ("history", "stopped_reason", "message", "epochs_completed", "best_epoch")
    return {key: getattr(result, key, None) for key in keys}


class _Throttle:
    """Lets an event through at most ``hz`` times per second."""

    def __init__(self, hz: float):
        self.interval = 1.0 / hz
        self.last = -1e9

    def ready(self, now: float) -> bool:
        return now - self.last >= self.interval

    def mark(self, now: float) -> None:
        self.last = now


class TrainingWorker(QObject):
    """Runs ``fit`` once in the thread it was moved to. Has no parent on purpose."""

    batch_progress = Signal(dict)
    epoch_done = Signal(dict)
    weights_snapshot = Signal(dict)
    finished = Signal(dict)
    failed = Signal(str)

    def __init__(
        self,
        job: dict,
        control,
        force_update,
        progress_hz: float,
        snapshot_hz: float,
        histogram_hz: float = HISTOGRAM_HZ,
    ):
        super().__init__()
        self._job = job
        self._control = control
        self._progress = _Throttle(progress_hz)
        self._epochs = _Throttle(progress_hz)
        self._snapshots = _Throttle(snapshot_hz)
        self._histograms = _Throttle(histogram_hz)
        self._pending_losses: list[tuple[float, float]] = []
        self._pending_epochs: list[dict] = []
        # Set from the GUI thread (pause / step) so the views show the exact paused state.
        self.force_update = force_update
        self._snapshot = SnapshotMaker(job["model"], job["loss"], job["dataset"])
        self._last_info = {"epoch": job["initial_epoch"], "batch": 0}  # the last batch's report

    @Slot()
    def run(self) -> None:
        from nnstudio.engine.fit import fit

        job = self._job
        try:
            self._emit_snapshot(time.monotonic(), {"epoch": job["initial_epoch"], "batch": 0})
            result = fit(
                job["model"],
                job["loss"],
                job["optimizer"],
                job["x"],
                job["y"],
                job["config"],
                validation_data=job["validation_data"],
                callbacks=(self,),
                control=self._control,
                augment=job["augment"],
                initial_epoch=job["initial_epoch"],
                history=job["history"],
            )
            self._flush(time.monotonic())
            self._emit_snapshot(time.monotonic(), {"epoch": result.epochs_completed}, final=True)
            self.finished.emit(result_to_dict(result))
        except ValueError as error:  # the engine's user-facing errors already say what to do
            self.failed.emit(str(error))
        except Exception as error:  # noqa: BLE001 - a worker must report, never die silently
            self.failed.emit(
                f"Training stopped because of an unexpected error ({type(error).__name__}: "
                f"{error}). Your project is unchanged; please report this."
            )

    # -- callbacks called by the engine's fit loop (worker thread) ------------------------------

    def on_batch_end(self, info: dict) -> None:
        now = time.monotonic()
        batches = max(int(info.get("batches", 1)), 1)
        position = info["epoch"] - 1 + info["batch"] / batches  # batch is 1-based
        self._pending_losses.append((position, float(info["loss"])))
        self._last_info = info
        forced = self.force_update.is_set()
        if forced or self._progress.ready(now):
            self._emit_progress(now, info)
        if forced or self._snapshots.ready(now):
            self.force_update.clear()
            self._emit_snapshot(now, info, histograms=forced)

    def on_pause(self, _info) -> None:
        """The loop is about to wait while paused. A pause asked for a last snapshot; if it came
        after this batch's ``on_batch_end`` had looked, make it now, or the paused view would
        miss it until training resumes."""
        if self.force_update.is_set():
            self.force_update.clear()
            now = time.monotonic()
            self._flush(now)
            self._emit_snapshot(now, self._last_info, histograms=True)

    def on_epoch_end(self, info: dict) -> None:
        self._pending_epochs.append(dict(info))
        now = time.monotonic()
        if self._epochs.ready(now):
            self._emit_epochs(now)

    # -- emission -------------------------------------------------------------------------------

    def _emit_progress(self, now: float, info: dict) -> None:
        self._progress.mark(now)
        payload = dict(info)
        payload["losses"] = self._pending_losses
        payload["time"] = now
        self._pending_losses = []
        self.batch_progress.emit(payload)

    def _emit_epochs(self, now: float) -> None:
        self._epochs.mark(now)
        payload = dict(self._pending_epochs[-1])
        payload["epochs"] = self._pending_epochs
        payload["time"] = now
        self._pending_epochs = []
        self.epoch_done.emit(payload)

    def _emit_snapshot(
        self, now: float, info: dict, final: bool = False, histograms: bool = False
    ) -> None:
        self._snapshots.mark(now)
        histograms = histograms or final or self._histograms.ready(now)
        if histograms:
            self._histograms.mark(now)
        payload = self._snapshot.make(histograms=histograms)
        payload.update(epoch=info.get("epoch", 0), batch=info.get("batch", 0), time=now)
        payload["final"] = final
        self.weights_snapshot.emit(payload)

    def _flush(self, now: float) -> None:
        """Emit what the throttle held back, so the views end on the final state."""
        if self._pending_losses:
            last = self._pending_losses[-1]
            self._emit_progress(now, {"epoch": int(np.ceil(last[0])), "loss": last[1]})
        if self._pending_epochs:
            self._emit_epochs(now)


class TrainingSession(QObject):
    """One training run on a worker thread.

    ``TrainingSession(model, loss, optimizer, dataset, fit_config, augment=None)``; connect the
    signals, then ``start()``. The model must not be touched by the GUI until ``finished`` or
    ``failed`` fires (or ``wait()`` returns True).
    """

    batch_progress = Signal(dict)
    epoch_done = Signal(dict)
    weights_snapshot = Signal(dict)
    finished = Signal(dict)
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
        parent: QObject | None = None,
    ):
        super().__init__(parent)
        from nnstudio.engine.fit import TrainingControl

        self.control = TrainingControl()
        self.fit_config = fit_config
        validation = None
        if getattr(dataset, "x_val", None) is not None and len(dataset.x_val):
            validation = (dataset.x_val, dataset.y_val)
        job = {
            "model": model,
            "loss": loss,
            "optimizer": optimizer,
            "dataset": dataset,
            "x": dataset.x_train,
            "y": dataset.y_train,
            "config": fit_config,
            "validation_data": validation,
            "augment": augment,
            "initial_epoch": initial_epoch,
            "history": history,
        }
        self._force_update = threading.Event()
        self._worker = TrainingWorker(
            job, self.control, self._force_update, progress_hz, snapshot_hz, histogram_hz
        )
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
        if not self._running:
            return True
        return bool(self._thread.wait(ms))

    def shutdown(self, ms: int = 10_000) -> bool:
        """Stop and wait: what closing the window does while training runs."""
        self.stop()
        return self.wait(ms)

    def _worker_force_update(self) -> None:
        self._force_update.set()

    @Slot()
    def _on_thread_finished(self) -> None:
        self._running = False
