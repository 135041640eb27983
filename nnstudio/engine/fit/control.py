"""What a training run is told and what it reports: :class:`FitConfig` (the settings),
:class:`FitResult` (what ``fit`` returns) and :class:`TrainingControl` (stop, pause, single
step and learning-rate changes from another thread). The loop itself is in loop.py.
"""

from __future__ import annotations

import math
import threading
from dataclasses import asdict, dataclass, field

import numpy as np

from nnstudio.engine.schedules import get_schedule

__all__ = [
    "DEFAULT_EPOCHS",
    "MAX_VALIDATION_SPLIT",
    "STOP_REASONS",
    "FitConfig",
    "FitResult",
    "TrainingControl",
]

STOP_REASONS = ("completed", "stopped", "early_stopping", "nan")
# The training defaults and limits the project's settings (project/settings.py) describe:
# the engine may not import the project, so the numbers live here and are read from there.
DEFAULT_EPOCHS = 20
# Holding out more than nine tenths leaves too little to learn from; 1.0 would leave nothing.
MAX_VALIDATION_SPLIT = 0.9


@dataclass
class FitConfig:
    """How to train. Bad values fail at once, naming the setting.

    >>> FitConfig(epochs=5, batch_size=64, schedule="cosine").batch_size
    64
    """

    epochs: int = DEFAULT_EPOCHS
    batch_size: int = 32
    shuffle: bool = True
    seed: int = 0
    validation_split: float = 0.0
    early_stopping_patience: int | None = None
    early_stopping_min_delta: float = 0.0
    restore_best_weights: bool = True
    schedule: str | None = None
    schedule_settings: dict = field(default_factory=dict)

    def __post_init__(self):
        check_int("epochs", self.epochs, minimum=1)
        check_int("batch_size", self.batch_size, minimum=1)
        check_int("seed", self.seed, minimum=0)
        if not (
            0.0 <= check_number("validation_split", self.validation_split) <= MAX_VALIDATION_SPLIT
        ):
            raise ValueError(
                f"validation_split must be >= 0.0 and <= {MAX_VALIDATION_SPLIT}; "
                f"got {self.validation_split!r}"
            )
        if self.early_stopping_patience is not None:
            check_int("early_stopping_patience", self.early_stopping_patience, minimum=1)
        delta = check_number("early_stopping_min_delta", self.early_stopping_min_delta)
        if not (math.isfinite(delta) and delta >= 0):
            raise ValueError(
                f"early_stopping_min_delta must be >= 0; got {self.early_stopping_min_delta!r}"
            )
        if self.schedule is not None and not isinstance(self.schedule, str):
            raise ValueError(f"schedule must be a schedule's name; got {self.schedule!r}")
        if not isinstance(self.schedule_settings or {}, dict):  # not pairs: dict() said
            # "dictionary update sequence element #0 has length 1; 2 is required"
            raise ValueError(
                f"schedule_settings must be an object of named settings; got "
                f"{self.schedule_settings!r}"
            )
        self.schedule_settings = dict(self.schedule_settings or {})
        self.make_schedule()  # unknown schedule names and settings fail here, not mid-run

    def make_schedule(self):
        """The schedule object; cosine without ``total_steps`` spans all ``epochs``."""
        settings = dict(self.schedule_settings)
        if str(self.schedule).lower() == "cosine" and settings.get("total_steps") is None:
            settings["total_steps"] = self.epochs
        return get_schedule(self.schedule, **settings)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> FitConfig:
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"Unknown training setting(s) {unknown}; known: {sorted(known)}")
        return cls(**data)


def check_number(name: str, value) -> float:
    """``value`` as a float; fail naming the setting unless it is a number (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number; got {value!r}")
    return float(value)


def check_int(name: str, value, minimum: int) -> None:
    """Fail naming the setting unless ``value`` is a whole number (not a bool) >= minimum."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}; got {value!r}")


@dataclass
class FitResult:
    """What ``fit`` returns. ``history`` holds one plain dict per completed epoch.

    ``stopped_reason`` is one of "completed", "stopped", "early_stopping", "nan"; ``message``
    is a sentence for the user; ``epochs_completed`` counts all epochs in ``history`` (earlier
    runs included when resuming); ``best_epoch`` is 1-based (early stopping's monitored value).
    """

    history: list[dict]
    stopped_reason: str
    message: str
    epochs_completed: int
    best_epoch: int | None = None
    monitor: str = "loss"

    def to_dict(self) -> dict:
        return asdict(self)


class TrainingControl:
    """Stop / pause / single-step / learning-rate requests from another thread.

    The other thread calls :meth:`stop`, :meth:`pause`, :meth:`resume`, :meth:`step_once` and
    :meth:`set_learning_rate`. The fit loop asks between batches, through :attr:`paused`,
    :meth:`wait_while_paused`, :attr:`stopped`, :meth:`take_learning_rate` and, after each
    batch, :meth:`batch_done`; each is an attribute read or an ``Event`` check. A paused loop
    blocks on an Event — no polling, no sleeping.

    >>> control = TrainingControl()
    >>> control.pause(); control.paused
    True
    >>> control.step_once(); control.paused   # runs one batch, then the loop pauses again
    False
    >>> control.batch_done(); control.paused
    True
    >>> control.set_learning_rate(0.01); control.take_learning_rate(), control.take_learning_rate()
    (0.01, None)
    >>> control.stop(); control.stopped
    True
    """

    def __init__(self):
        self._stop_event = threading.Event()
        self._running = threading.Event()  # set = not paused
        self._running.set()
        self._parked = threading.Event()  # set while the loop blocks in wait_while_paused
        self._lock = threading.Lock()
        self._steps_pending = 0  # Step pressed twice before a batch ran = two batches
        self._pending_lr: float | None = None

    # -- asked by the other thread ----------------------------------------------------------------

    def stop(self) -> None:
        """Stop after the current batch (also wakes a paused loop so it can finish)."""
        with self._lock:
            self._stop_event.set()
            self._steps_pending = 0  # a single step still running must not pause it again
        self._running.set()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        with self._lock:
            self._steps_pending = 0
        self._running.set()

    def step_once(self) -> None:
        """Run exactly one more batch, then pause again."""
        with self._lock:
            self._steps_pending += 1
        self._running.set()

    def set_learning_rate(self, lr: float) -> None:
        """Use ``lr`` from the next batch on; it also becomes the schedule's new base rate."""
        value = float(lr)
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"learning rate must be a finite number >= 0; got {lr!r}")
        with self._lock:
            self._pending_lr = value

    # -- asked by the fit loop, between batches ---------------------------------------------------

    @property
    def stopped(self) -> bool:
        return self._stop_event.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def wait_while_paused(self, timeout: float | None = None) -> bool:
        """Block while paused; True when running again (False if ``timeout`` ran out)."""
        self._parked.set()
        try:
            return self._running.wait(timeout)
        finally:
            self._parked.clear()

    # -- asked by a watcher -----------------------------------------------------------------------

    def wait_until_parked(self, timeout: float | None = None) -> bool:
        """Block until the loop is waiting in a pause (True), or ``timeout`` runs out (False).
        Once parked, everything the loop reported before pausing has been sent: a watcher can
        check that nothing more happens without sleeping and hoping."""
        return self._parked.wait(timeout)

    @property
    def parked(self) -> bool:
        return self._parked.is_set()

    def take_learning_rate(self) -> float | None:
        """The rate set since the last call, or None; each rate is handed out once."""
        if self._pending_lr is None:  # the usual case, answered without taking the lock
            return None
        with self._lock:
            lr, self._pending_lr = self._pending_lr, None
        return lr

    def batch_done(self) -> None:
        """After a batch: if it was the last of the requested single steps, pause again."""
        if not self._steps_pending:  # the usual case, answered without taking the lock
            return
        with self._lock:
            if self._steps_pending:
                self._steps_pending -= 1
                # A stop that came during the step wins: pausing now would leave the loop
                # waiting for a resume that never comes.
                if not self._steps_pending and not self._stop_event.is_set():
                    self._running.clear()
