"""What a training run reports to the views, and when — without Qt.

:class:`TrainingReporter` is a callback of the engine's fit loop. It turns the loop's
per-batch and per-epoch reports into few, small payloads and hands them to three plain
callables (a Qt worker passes its signals' ``emit``; a test passes ``list.append``):

- progress  at most ``progress_hz`` per second; carries every batch loss since the last one in
  ``"losses"`` as (epoch position, loss) pairs, so the per-batch curve still gets all of them;
- epochs    at most ``progress_hz`` per second; tiny data sets finish hundreds of epochs a
  second, so pending epochs are coalesced into ``"epochs"`` (the last one is always flushed);
- snapshot  at most ``snapshot_hz`` per second, and never more than ``SNAPSHOT_BUDGET`` of the
  training thread's time (a big model's copies come less often): weight copies and, for 2-D
  inputs, the model's predictions on a grid (computed on the training thread, off the GUI's).
  While no view draws the weights live (:meth:`TrainingReporter.set_live_weights`), only at
  the histograms' pace;
  weight histograms
  only at most ``histogram_hz`` per second (they change slowly and cost about a millisecond
  of the training thread for a 784-512-10 MLP), and in the first, the last and every forced
  snapshot. A forced snapshot (pause, single step) is asked for through ``force_update``;
- state     (optional) only when ``state_requested`` is set: at the next epoch end, a copy of
  the weights and the model's config, for an autosave while training runs.
- timeline  (optional) at the start and at every epoch end, unthrottled: copies of the model's
  and the optimizer's state and the seed, for the run's timeline (nnstudio.project.timeline).

Every payload is a copy: the views never hold a reference to the live weights.
:func:`make_job` and :func:`run_job` are the run itself: what to train, and the fit call.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable

import numpy as np

from nnstudio.engine.fit import fit

PROGRESS_HZ = 4.0
SNAPSHOT_HZ = 5.0
HISTOGRAM_HZ = 0.5
# The share of the training thread's time snapshots may take: for the MNIST MLP (784-512-10)
# one costs a few milliseconds, more on a busy machine: at 5 a second that was 5 % of a run
# in the window (issue 39).
SNAPSHOT_BUDGET = 0.02
GRID_SIZE = 100
HISTOGRAM_BINS = 30
# Histograms of big layers use an evenly strided sample: the shape is the same, the cost is not.
HISTOGRAM_SAMPLE = 20_000


class SnapshotMaker:
    """Copies of what the views draw, made on the training thread between two batches."""

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
        # The last batch's weight gradients, for the diagram's gradient flow.
        gradients = {
            name: np.array(value)
            for name, value in self.model.gradients().items()
            if name.endswith(".W")
        }
        payload = {"weights": weights, "gradients": gradients}
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


def session_validation(dataset):
    """What a session validates on: the dataset's validation split, when it has one (a
    replay of the run must use the same, see nnstudio.project.replay)."""
    if getattr(dataset, "x_val", None) is not None and len(dataset.x_val):
        return (dataset.x_val, dataset.y_val)
    return None


def make_job(
    model, loss, optimizer, dataset, fit_config, augment=None, initial_epoch=0, history=None
) -> dict:
    """Everything one run needs, as :func:`run_job` takes it: the dataset's training split to
    train on and its validation split (when it has one) to validate on."""
    validation = session_validation(dataset)
    from nnstudio.project.doctor import TrainingDoctor

    return {
        "model": model,
        "loss": loss,
        "optimizer": optimizer,
        # Layer health and warnings in each epoch's report; the optimizer: a blow-up's fix rate.
        "doctor": TrainingDoctor(optimizer=optimizer, earlier=history or ()),
        "dataset": dataset,
        "x": dataset.x_train,
        "y": dataset.y_train,
        "config": fit_config,
        "validation_data": validation,
        "augment": augment,
        "initial_epoch": initial_epoch,
        "history": history,
    }


def run_job(job: dict, control, callbacks):
    """Train as the job says, on this thread; returns fit's FitResult."""
    return fit(
        job["model"],
        job["loss"],
        job["optimizer"],
        job["x"],
        job["y"],
        job["config"],
        validation_data=job["validation_data"],
        # The doctor first: it adds "health" and "warnings" to the epoch reports the rest get.
        callbacks=(job["doctor"], *callbacks) if job.get("doctor") else callbacks,
        control=control,
        augment=job["augment"],
        initial_epoch=job["initial_epoch"],
        history=job["history"],
    )


def result_to_dict(result) -> dict:
    """A FitResult as a plain dict (history, stopped_reason, message, ...)."""
    if dataclasses.is_dataclass(result):
        return dataclasses.asdict(result)
    keys = ("history", "stopped_reason", "message", "epochs_completed", "best_epoch")
    return {key: getattr(result, key, None) for key in keys}


def failure_message(error: Exception) -> str:
    """What the window shows when training raised instead of finishing."""
    if isinstance(error, ValueError):  # the engine's user-facing errors already say what to do
        return str(error)
    return (
        f"Training stopped because of an unexpected error ({type(error).__name__}: "
        f"{error}). Your project is unchanged; please report this."
    )


class Throttle:
    """Lets an event through at most ``hz`` times per second."""

    def __init__(self, hz: float):
        self.interval = 1.0 / hz
        self.last = -1e9

    def ready(self, now: float) -> bool:
        return now - self.last >= self.interval

    def mark(self, now: float) -> None:
        self.last = now


Outlet = Callable[[dict], None]


class TrainingReporter:
    """The fit callback that decides what the views get and when (see the module doc).

    ``TrainingReporter(model, loss, dataset, progress=..., epochs=..., snapshot=...)``; call
    :meth:`start` before ``fit`` (the first snapshot), pass the reporter (or an object that
    forwards ``on_batch_end``, ``on_pause`` and ``on_epoch_end`` to it) as a fit callback,
    then :meth:`finish` with fit's result. ``clock`` gives the time in seconds
    (``time.monotonic``; tests pass their own).
    """

    def __init__(
        self,
        model,
        loss,
        dataset,
        *,
        progress: Outlet,
        epochs: Outlet,
        snapshot: Outlet,
        state: Outlet | None = None,
        timeline: Outlet | None = None,
        optimizer=None,
        seed: int | None = None,
        force_update: threading.Event | None = None,
        progress_hz: float = PROGRESS_HZ,
        snapshot_hz: float = SNAPSHOT_HZ,
        histogram_hz: float = HISTOGRAM_HZ,
        snapshot_budget: float | None = SNAPSHOT_BUDGET,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._outlets = {"progress": progress, "epochs": epochs, "snapshot": snapshot}
        self._state_outlet = state
        self._timeline_outlet = timeline
        self._optimizer, self._seed = optimizer, seed
        # Set from the GUI thread: at the next epoch end, hand over a copy of the weights
        # (what an autosave during training writes; the GUI must not read the live model).
        self.state_requested = threading.Event()
        self._model = model
        self._clock = clock
        self._progress = Throttle(progress_hz)
        self._epochs = Throttle(progress_hz)
        self._snapshots = Throttle(snapshot_hz)
        self._snapshot_interval = self._snapshots.interval
        self._snapshot_budget = snapshot_budget  # None: as often as snapshot_hz says
        self._histograms = Throttle(histogram_hz)
        # The snapshots' pace while a view draws the weights live, and while none does.
        self._live_interval = self._snapshot_interval
        self._quiet_interval = max(self._snapshot_interval, self._histograms.interval)
        self._pending_losses: list[tuple[float, float]] = []
        self._pending_epochs: list[dict] = []
        # Set from the GUI thread (pause / step) so the views show the exact paused state.
        self.force_update = force_update if force_update is not None else threading.Event()
        self._snapshot = SnapshotMaker(model, loss, dataset)
        self._last_info: dict = {"epoch": 0, "batch": 0}  # the last batch's report

    def set_live_weights(self, wanted: bool) -> None:
        """Set from the GUI thread: whether a view draws the weights as they change (the
        diagram, the decision boundary, an open dialog). Without one, snapshots come only as
        often as the histograms need them: each costs the training thread a copy of every
        weight, and the GUI thread a slot. Turned on, the next batch sends one at once."""
        interval = self._live_interval if wanted else self._quiet_interval
        if interval == self._snapshot_interval:
            return
        self._snapshot_interval = self._snapshots.interval = interval
        if wanted:
            self.force_update.set()

    def start(self, initial_epoch: int = 0) -> None:
        """The snapshot of the weights before the first batch (with histograms)."""
        self._last_info = {"epoch": initial_epoch, "batch": 0}
        self._emit_snapshot(self._clock(), self._last_info)
        self._emit_timeline(initial_epoch)

    def finish(self, result) -> dict:
        """Flush what the throttles held back, then the final snapshot; returns the result as
        a plain dict."""
        self._flush(self._clock())
        self._emit_snapshot(self._clock(), {"epoch": result.epochs_completed}, final=True)
        return result_to_dict(result)

    # -- callbacks called by the engine's fit loop (training thread) --------------------------

    def on_batch_end(self, info: dict) -> None:
        now = self._clock()
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
            now = self._clock()
            self._flush(now)
            self._emit_snapshot(now, self._last_info, histograms=True)

    def on_epoch_end(self, info: dict) -> None:
        self._pending_epochs.append(dict(info))
        now = self._clock()
        if self._epochs.ready(now):
            self._emit_epochs(now)
        self._emit_timeline(int(info.get("epoch", 0)))
        if self.state_requested.is_set() and self._state_outlet is not None:
            self.state_requested.clear()
            self._flush(now)  # the epochs the copy includes reach the views before it
            self._state_outlet(self.state_copy(info))

    def state_copy(self, info: dict) -> dict:
        """The model's weights and config as they are between two epochs (copies)."""
        return {
            "epoch": int(info.get("epoch", 0)),
            "config": self._model.config(),
            "state": self._model.state_dict(),
        }

    def _emit_timeline(self, epoch: int) -> None:
        """Copies of the state between two epochs: a timeline snapshot (see the module doc)."""
        if self._timeline_outlet is None:
            return
        optimizer = self._optimizer
        self._timeline_outlet(
            {
                "epoch": epoch,
                "weights": self._model.state_dict(),
                "optimizer": optimizer.state_dict() if optimizer is not None else {},
                "seed": self._seed,
            }
        )

    # -- emission -------------------------------------------------------------------------------

    def _emit_progress(self, now: float, info: dict) -> None:
        self._progress.mark(now)
        payload = dict(info)
        payload["losses"] = self._pending_losses
        payload["time"] = now
        self._pending_losses = []
        self._outlets["progress"](payload)

    def _emit_epochs(self, now: float) -> None:
        self._epochs.mark(now)
        payload = dict(self._pending_epochs[-1])
        payload["epochs"] = self._pending_epochs
        payload["time"] = now
        self._pending_epochs = []
        self._outlets["epochs"](payload)

    def _emit_snapshot(
        self, now: float, info: dict, final: bool = False, histograms: bool = False
    ) -> None:
        self._snapshots.mark(now)
        histograms = histograms or final or self._histograms.ready(now)
        if histograms:
            self._histograms.mark(now)
        payload = self._snapshot.make(histograms=histograms)
        if self._snapshot_budget:
            cost = self._clock() - now
            self._snapshots.interval = max(self._snapshot_interval, cost / self._snapshot_budget)
        payload.update(epoch=info.get("epoch", 0), batch=info.get("batch", 0), time=now)
        payload["final"] = final
        self._outlets["snapshot"](payload)

    def _flush(self, now: float) -> None:
        """Emit what the throttle held back, so the views end on the final state."""
        if self._pending_losses:
            last = self._pending_losses[-1]
            info = {"epoch": int(np.ceil(last[0])), "loss": last[1]}
            if "lr" in self._last_info:  # the rate those batches used, for the views
                info["lr"] = self._last_info["lr"]
            self._emit_progress(now, info)
        if self._pending_epochs:
            self._emit_epochs(now)
