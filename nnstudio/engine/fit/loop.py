"""The fit loop: one training loop for the command line, the window's worker thread and tests.

>>> import numpy as np
>>> from nnstudio.engine.model import Sequential
>>> from nnstudio.engine.layers import Dense
>>> from nnstudio.engine.losses import get_loss
>>> from nnstudio.engine.optimizers import Adam
>>> rng = np.random.default_rng(0)
>>> x = rng.standard_normal((200, 2)).astype(np.float32)
>>> y = (x[:, 0] * x[:, 1] > 0).astype(np.int64)          # XOR-like quadrants
>>> model = Sequential([Dense(16, activation="relu"), Dense(2)], input_shape=(2,))
>>> result = fit(model, get_loss("softmax_crossentropy"), Adam(lr=0.05), x, y,
...              FitConfig(epochs=30, batch_size=20))
>>> result.stopped_reason, result.history[-1]["accuracy"] > 0.9
('completed', True)

The loop never sleeps and never polls a GUI. It reports through callbacks (objects with any of
``on_train_begin(info)``, ``on_batch_end(info)``, ``on_epoch_end(info)``,
``on_train_end(result)``) and obeys a :class:`TrainingControl` (stop, pause, single step,
learning-rate changes) checked between batches. Results are deterministic for a given seed:
the shuffle order, augmentation and dropout masks of epoch ``e`` depend only on ``(seed, e)``,
so resuming from a checkpoint at an epoch boundary repeats the uninterrupted run exactly.
"""

from __future__ import annotations

import math
import time
from contextlib import contextmanager

import numpy as np

from nnstudio.engine.blas import LoadAwareThreads, single_threaded_blas
from nnstudio.engine.fit.control import FitConfig, FitResult, TrainingControl, check_int
from nnstudio.engine.fit.guard import NO_LIMIT_YET, WEIGHTS_PROBLEM, DivergenceGuard
from nnstudio.engine.fit.halves import augmented_in_halves
from nnstudio.engine.fit.inputs import model_dtype, prepare_inputs, split_validation
from nnstudio.engine.fit.parallel import HalfBatchRunner, half_batch_runner, worth_splitting
from nnstudio.engine.fit.validation import EarlyStopping, validate
from nnstudio.engine.metrics import predicted_labels, to_labels
from nnstudio.engine.schedules import ConstantSchedule

__all__ = [
    "FitConfig",
    "FitResult",
    "TrainingControl",
    "fit",
    "layer_gradient_norms",
]

# How often (in batches) the weights are checked for NaN/inf and a known-good copy is kept.
# A non-finite loss is caught at every batch for free; this only catches the rare weights that
# went non-finite while the loss stayed finite (e.g. -inf hidden behind a ReLU).
FINITE_CHECK_EVERY = 25


# -- helpers ------------------------------------------------------------------------------------


def layer_gradient_norms(model) -> dict[str, float]:
    """L2 norm of each layer's gradients (all its tensors together), e.g. {"0 Dense": 0.12}.

    The gradients are those of the last backward pass; a batch callback may call this at its
    own (throttled) moments — between batches they are those of the batch just finished.
    """
    layers = getattr(model, "layers", None) or []
    totals: dict[str, float] = {}
    for name, grad in model.gradients().items():
        index = name.split(".", 1)[0]
        kind = type(layers[int(index)]).__name__ if index.isdigit() and layers else ""
        key = f"{index} {kind}".strip()
        flat = grad.reshape(-1)
        totals[key] = totals.get(key, 0.0) + float(np.dot(flat, flat))
    return {key: math.sqrt(total) for key, total in totals.items()}


def _has_penalty(model) -> bool:
    """Whether any layer adds an L1/L2 term to the loss (skip the call per batch otherwise)."""
    layers = getattr(model, "layers", None)
    if layers is None:
        return True
    return any(getattr(layer, "l1", 0) or getattr(layer, "l2", 0) for layer in layers)


# -- the loop -------------------------------------------------------------------------------------


class _Trainer:
    """State of one ``fit`` call; methods are the steps of the loop."""

    def __init__(
        self,
        model,
        loss,
        optimizer,
        x,
        y,
        config,
        validation_data,
        callbacks,
        control,
        augment,
        initial_epoch,
        history,
    ):
        if isinstance(loss, str):
            from nnstudio.engine.losses import get_loss

            loss = get_loss(loss)
        if isinstance(optimizer, str):
            from nnstudio.engine.optimizers import get_optimizer

            optimizer = get_optimizer(optimizer)
        if not isinstance(config, FitConfig):
            raise TypeError(f"config must be a FitConfig; got {type(config).__name__}")
        check_int("initial_epoch", initial_epoch, minimum=0)
        self.model, self.loss, self.optimizer, self.config = model, loss, optimizer, config
        self.control, self.augment = control, augment
        self.callbacks = list(callbacks)
        # The training doctor's sampler (a callback with ``health_every``), or None.
        self.health = next((cb for cb in self.callbacks if getattr(cb, "health_every", 0)), None)
        self.history = [dict(entry) for entry in (history or [])]
        self.initial_epoch = initial_epoch
        self._prepare_data(x, y, validation_data)
        self._prepare_schedule()
        self.params = model.parameters()
        self.grads = model.gradients()
        self.has_penalty = _has_penalty(model)
        self.guard = DivergenceGuard(model, optimizer, f"the start of epoch {initial_epoch + 1}")
        self.guard.inputs = self.x
        self.stopped_reason, self.message = "completed", ""
        self._prepare_early_stopping()
        self.halves: HalfBatchRunner | None = None  # set while batches are split over 2 cores
        self.blas_threads: LoadAwareThreads | None = None  # set while not split

    @contextmanager
    def on_two_cores(self):
        """Within this block, batches run as two halves at once when that is faster, and
        otherwise BLAS gets the cores that are free (chosen again before every epoch)."""
        if not worth_splitting(self.model, self.config.batch_size):
            self.blas_threads = LoadAwareThreads()
            try:
                yield
            finally:
                self.blas_threads.restore()
                self.blas_threads = None
            return
        with single_threaded_blas() as controlled:
            if controlled:
                self.halves = half_batch_runner(self.model, self.loss, self.augment)
            try:
                yield
            finally:
                if self.halves is not None:
                    self.halves.close()
                    self.halves = None

    # -- set-up ---------------------------------------------------------------------------------
    def _prepare_data(self, x, y, validation_data):
        model = self.model
        if not getattr(model, "built", True):
            model.build(tuple(np.shape(x)[1:]))
        dtype = model_dtype(model)
        x, y = prepare_inputs(x, y, dtype, "training data")
        if validation_data is not None:
            x_val, y_val = prepare_inputs(*validation_data, dtype, "validation data")
        elif self.config.validation_split > 0:
            x, y, x_val, y_val = split_validation(
                x, y, self.config.validation_split, self.config.seed
            )
        else:
            x_val = y_val = None
        self.classification = getattr(self.loss, "task", "regression") == "classification"
        self.x, self.y, self.x_val, self.y_val = x, y, x_val, y_val
        # Integer labels for on-the-fly accuracy (one argmax per batch, no second pass).
        self.labels = to_labels(y) if self.classification else None
        self.val_labels = to_labels(y_val) if self.classification and y_val is not None else None

    def _prepare_schedule(self):
        schedule = self.config.make_schedule()
        self.schedule = None if isinstance(schedule, ConstantSchedule) else schedule
        opt = self.optimizer
        # Resuming with a schedule: the optimizer's lr is a scheduled value; start from its base.
        resumed = self.schedule is not None and getattr(opt, "iterations", 0) > 0
        self.base_lr = float(getattr(opt, "base_lr", opt.lr) if resumed else opt.lr)
        self.lr_set = None  # the rate this loop last gave the optimizer

    def _prepare_early_stopping(self):
        """Monitor val_loss (or loss); when resuming, recover best and patience from history."""
        config = self.config
        self.early_stopping = EarlyStopping(
            "val_loss" if self.x_val is not None else "loss",
            config.early_stopping_patience,
            config.early_stopping_min_delta,
            config.restore_best_weights,
        )
        self.early_stopping.resume(self.history)

    # -- running ----------------------------------------------------------------------------------
    def run(self) -> FitResult:
        self._call(
            "on_train_begin",
            {
                "epochs": self.config.epochs,
                "initial_epoch": self.initial_epoch,
                "samples": len(self.x),
                "batches": self._batches(),
                "validation_samples": 0 if self.x_val is None else len(self.x_val),
            },
        )
        for epoch in range(self.initial_epoch, self.config.epochs):
            if self.control is not None and self.control.stopped:
                self._set_stop("stopped", f"Stopped before epoch {epoch + 1}.")
                break
            if not self._run_epoch(epoch):
                break
        else:
            self._set_stop("completed", f"Finished {len(self.history)} epochs.")
        result = FitResult(
            history=self.history,
            stopped_reason=self.stopped_reason,
            message=self.message,
            epochs_completed=len(self.history),
            best_epoch=self.early_stopping.best_epoch,
            monitor=self.early_stopping.monitor,
        )
        self._call("on_train_end", result)
        return result

    def _batches(self) -> int:
        return -(-len(self.x) // self.config.batch_size)

    def _run_epoch(self, epoch: int) -> bool:
        """One epoch; False when training must end (stop, NaN, early stopping)."""
        self._start_epoch_lr(epoch)
        self._reseed_layers(epoch)
        if self.blas_threads is not None:
            self.blas_threads.update()  # other programs may have started or ended
        started = time.perf_counter()
        totals = self._train_batches(epoch, started)
        if totals is None:
            return False
        seconds_train = time.perf_counter() - started - totals["paused"]
        if not self.guard.weights_finite():
            return self._blow_up(epoch, totals["batches"], WEIGHTS_PROBLEM)
        self.guard.keep(f"the end of epoch {epoch + 1}")
        info = self._epoch_info(epoch, totals, seconds_train, started)
        if info is None:
            return False
        self.history.append(info)
        self._call("on_epoch_end", info)
        if self.early_stopping.update(info, self.model):
            return True
        self._set_stop("early_stopping", self.early_stopping.stop(info["epoch"], self.model))
        return False

    def _start_epoch_lr(self, epoch: int) -> None:
        opt = self.optimizer
        if self.lr_set is not None and opt.lr != self.lr_set:
            self.base_lr = float(opt.lr)  # changed from outside: treat as a user override
        lr = self.schedule(self.base_lr, epoch) if self.schedule is not None else self.base_lr
        opt.lr = self.lr_set = lr
        opt.base_lr = self.base_lr

    def _reseed_layers(self, epoch: int) -> None:
        """Dropout masks depend on (seed, epoch, layer) only, so a resumed run repeats them."""
        for index, layer in enumerate(getattr(self.model, "layers", None) or []):
            if isinstance(getattr(layer, "rng", None), np.random.Generator):
                layer.rng = np.random.default_rng([self.config.seed, epoch, 2, index])
        if self.halves is not None:
            self.halves.share_weights()
            self.halves.reseed((self.config.seed, epoch, 3))

    def _train_batches(self, epoch: int, started: float) -> dict | None:
        """The hot loop. Returns totals, or None when training ended inside the epoch."""
        config, model, loss, optimizer = self.config, self.model, self.loss, self.optimizer
        control, augment, labels = self.control, self.augment, self.labels
        # Refetched each epoch: cheap, and robust to a layer that replaced its arrays.
        params = self.params = model.parameters()
        grads = self.grads = model.gradients()
        halves = self.halves
        x, y, n, batch_size = self.x, self.y, len(self.x), config.batch_size
        n_batches = self._batches()
        batch_callbacks = [cb.on_batch_end for cb in self.callbacks if hasattr(cb, "on_batch_end")]
        # Per-layer gradient norms cost a pass over all gradients: only when a callback asks.
        asked = [cb.grad_norms_every for cb in self.callbacks if getattr(cb, "grad_norms_every", 0)]
        norms_every = min(asked) if asked else 0
        health = self.health
        health_every = 0
        if health is not None:  # long epochs are sampled less often (HealthMonitor.interval_for)
            interval_for = getattr(health, "interval_for", None)
            health_every = interval_for(n_batches) if interval_for else health.health_every
        order = (
            np.random.default_rng([config.seed, epoch]).permutation(n) if config.shuffle else None
        )
        augment_rng = np.random.default_rng([config.seed, epoch, 1]) if augment else None
        total_loss, correct, seen, paused = 0.0, 0, 0, 0.0
        explode_limit = self.guard.limit
        for batch in range(n_batches):
            if control is not None:
                if control.paused:
                    paused += self._wait_while_paused()
                if control.stopped:
                    self._set_stop("stopped", f"Stopped at epoch {epoch + 1}, batch {batch + 1}.")
                    return None
                self._override_lr(control.take_learning_rate())
            lo = batch * batch_size
            if order is None:
                xb, yb = x[lo : lo + batch_size], y[lo : lo + batch_size]
            else:
                index = order[lo : lo + batch_size]
                xb, yb = x[index], y[index]
            # Each half of a batch is augmented with its own stream (halves.augmented),
            # so a batch is the same whether or not its halves train on two cores.
            augment_seed = int(augment_rng.integers(2**63)) if augment is not None else None
            if halves is not None:
                value, outputs = halves.run(xb, yb, augment_seed)
            else:
                if augment is not None:
                    xb = augmented_in_halves(augment, xb, augment_seed)
                outputs = model.forward(xb, training=True)
                value, grad_outputs = loss.value_and_grad(outputs, yb)
                # Training never needs d loss / d input (see fit's model contract).
                model.backward(grad_outputs, need_input_grad=False)
            if self.has_penalty:
                value += model.penalty()
            if not value <= explode_limit:  # also true for NaN; one comparison per batch
                # Seen before the update: the weights are still those of the last batch.
                self._set_stop("nan", self.guard.bad_loss(epoch, batch + 1, value))
                return None
            if explode_limit == NO_LIMIT_YET:
                explode_limit = self.guard.set_limit(value)
            # Every k batches, and the first (a full one): tiny data sets have fewer than k.
            sampled = health_every and (batch == 0 or (batch + 1) % health_every == 0)
            if sampled:
                health.before_update(model, value)  # this batch's activations, gradients, loss
            optimizer.step(params, grads)
            if sampled:
                health.after_update(model)  # the step's size against the weights
            size = len(xb)
            total_loss += value * size
            seen += size
            if labels is not None:
                if labels is not y:  # one-hot or probability targets: their own label array
                    yb = labels[lo : lo + size] if order is None else labels[index]
                correct += int(np.count_nonzero(predicted_labels(outputs) == yb))
            if (batch + 1) % FINITE_CHECK_EVERY == 0 and not self._keep_if_finite(epoch, batch):
                return None
            if batch_callbacks:
                elapsed = time.perf_counter() - started - paused
                info = {
                    "epoch": epoch + 1,
                    "batch": batch + 1,
                    "batches": n_batches,
                    "loss": value,
                    "lr": optimizer.lr,
                    "seen": seen,
                    "samples_per_second": seen / elapsed if elapsed > 0 else 0.0,
                    "accuracy": correct / seen if labels is not None else None,
                }
                if norms_every and (batch + 1) % norms_every == 0:
                    info["grad_norms"] = layer_gradient_norms(model)
                for callback in batch_callbacks:
                    callback(info)
            if control is not None:
                control.batch_done()
        return {
            "loss": total_loss,
            "correct": correct,
            "seen": seen,
            "paused": paused,
            "batches": n_batches,
        }

    def _wait_while_paused(self) -> float:
        # Told before blocking: whatever the pauser asked for before pausing (a last snapshot
        # of the weights) can still be done on this thread.
        self._call("on_pause", None)
        began = time.perf_counter()
        self.control.wait_while_paused()
        return time.perf_counter() - began

    def _override_lr(self, lr: float | None) -> None:
        if lr is None:
            return
        self.optimizer.lr = self.lr_set = self.base_lr = lr
        self.optimizer.base_lr = lr

    def _keep_if_finite(self, epoch: int, batch: int) -> bool:
        """Every few batches: check the weights and keep a copy of them while they are good."""
        if not self.guard.weights_finite():
            return self._blow_up(epoch, batch + 1, WEIGHTS_PROBLEM)
        self.guard.keep(f"epoch {epoch + 1}, batch {batch + 1}")
        return True

    def _blow_up(self, epoch: int, batch: int, problem: str) -> bool:
        self._set_stop("nan", self.guard.blow_up(epoch, batch, problem))
        return False

    def _epoch_info(self, epoch, totals, seconds_train, started) -> dict | None:
        seen = totals["seen"]
        info = {
            "epoch": epoch + 1,
            "epochs": self.config.epochs,
            "loss": totals["loss"] / seen,
            "accuracy": totals["correct"] / seen if self.classification else None,
            "val_loss": None,
            "val_accuracy": None,
            "lr": float(self.optimizer.lr),
            "seconds": 0.0,
            "samples_per_second": seen / seconds_train if seconds_train > 0 else 0.0,
            "grad_norms": layer_gradient_norms(self.model),
        }
        if self.x_val is not None:
            info["val_loss"], info["val_accuracy"] = validate(
                self.model,
                self.loss,
                self.x_val,
                self.y_val,
                self.val_labels,
                self.config.batch_size,
                self.has_penalty,
                forward=self.halves.forward if self.halves is not None else None,
            )
            if not math.isfinite(info["val_loss"]):
                problem = "The validation loss became NaN or infinite"
                self._blow_up(epoch, totals["batches"], problem)
                return None
        info["seconds"] = time.perf_counter() - started - totals["paused"]
        return info

    def _set_stop(self, reason: str, message: str) -> None:
        self.stopped_reason, self.message = reason, message

    def _call(self, method: str, payload) -> None:
        for callback in self.callbacks:
            handler = getattr(callback, method, None)
            if handler is not None:
                handler(payload)


def fit(
    model,
    loss,
    optimizer,
    x,
    y,
    config: FitConfig | None = None,
    *,
    validation_data=None,
    callbacks=(),
    control: TrainingControl | None = None,
    augment=None,
    initial_epoch: int = 0,
    history: list[dict] | None = None,
) -> FitResult:
    """Train ``model`` in place on ``(x, y)``; returns a :class:`FitResult`.

    - ``model``: a :class:`~nnstudio.engine.model.Sequential`, or any object with its training
      contract: ``forward(x, training)``, ``backward(grad, need_input_grad)`` — fit always
      passes ``need_input_grad=False``, since training never needs d loss / d input —
      ``parameters()``, ``gradients()``, ``state_dict()``, ``load_state_dict()``, ``penalty()``.
    - ``loss``: a loss object (``value_and_grad``, ``value``, ``task``) or its name.
    - ``optimizer``: an optimizer (``step(params, grads)``, ``lr``) or its name.
    - ``validation_data``: ``(x_val, y_val)``; otherwise ``config.validation_split`` of the
      data (a seeded random part) is held out. Validation runs after every epoch in eval mode.
    - ``callbacks``: objects with optional ``on_train_begin(info)``, ``on_batch_end(info)``,
      ``on_epoch_end(info)``, ``on_train_end(result)``, ``on_pause(None)`` (the loop is about
      to wait while paused, between batches). Batch info: epoch (1-based), batch
      (1-based), batches, loss, lr, seen (samples this epoch), samples_per_second, accuracy
      (running, this epoch), and grad_norms every k batches when a callback has the attribute
      ``grad_norms_every = k``. Epoch info: epoch, epochs, loss, accuracy, val_loss,
      val_accuracy, lr, seconds, samples_per_second, grad_norms ({"0 Dense": norm}) — plain
      floats, None where it does not apply. A callback with ``health_every = k`` (the
      training doctor's HealthMonitor) has ``before_update(model, loss)`` and
      ``after_update(model)`` called around the optimizer's step every k batches (or every
      ``interval_for(batches)`` batches of each epoch, when it has that method).
    - ``control``: a :class:`TrainingControl` for stop / pause / step / learning-rate changes.
    - ``augment(x_batch, rng) -> x_batch``: applied to training batches only, each half of a
      batch with its own ``rng`` (so halves trained on two cores are augmented the same).
    - ``initial_epoch`` and ``history``: resume after ``initial_epoch`` completed epochs (from a
      checkpoint); the shuffle order, schedule and early-stopping state continue as if never
      interrupted.

    If the loss or the weights become NaN/inf, training stops with ``stopped_reason="nan"``, a
    message naming the learning rate, and the last finite weights in the model.
    """
    trainer = _Trainer(
        model,
        loss,
        optimizer,
        x,
        y,
        config or FitConfig(),
        validation_data,
        callbacks,
        control,
        augment,
        initial_epoch,
        history,
    )
    # Overflow on the way to a blow-up is expected and handled by the NaN guard: no warnings.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"), trainer.on_two_cores():
        return trainer.run()
