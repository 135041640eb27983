"""Learning-rate schedules, evaluated once per epoch: ``schedule(base_lr, epoch) -> lr``.

``epoch`` is the 0-based index of the epoch about to run. A schedule is a pure function of
``(base_lr, epoch)``, so resuming training at epoch k gives the same learning rate as an
uninterrupted run; its ``state_dict()`` is just its settings.

>>> schedule = get_schedule("step", step_size=2, gamma=0.5)
>>> [schedule(0.1, epoch) for epoch in range(5)]
[0.1, 0.1, 0.05, 0.05, 0.025]
"""

from __future__ import annotations

import inspect
import math

__all__ = [
    "SCHEDULES",
    "ConstantSchedule",
    "CosineSchedule",
    "ExponentialSchedule",
    "Schedule",
    "StepSchedule",
    "get_schedule",
]


def _number(name: str, value, *, minimum: float = 0.0, integer: bool = False) -> float | int:
    """``value`` checked to be a finite number >= minimum; fails naming the setting."""
    try:
        number = int(value) if integer else float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number; got {value!r}") from None
    if integer and number != value:
        raise ValueError(f"{name} must be a whole number; got {value!r}")
    if not math.isfinite(number) or number < minimum:
        raise ValueError(f"{name} must be >= {minimum:g}; got {value!r}")
    return number


class Schedule:
    """Base class. Subclasses implement ``factor(base_lr, epoch)``."""

    name = "schedule"

    def __call__(self, base_lr: float, epoch: int) -> float:
        if epoch < 0:
            raise ValueError(f"epoch must be >= 0; got {epoch}")
        return float(self.lr(float(base_lr), int(epoch)))

    def lr(self, base_lr: float, epoch: int) -> float:
        raise NotImplementedError

    def settings(self) -> dict:
        return {}

    def get_config(self) -> dict:
        return {"name": self.name, **self.settings()}

    def state_dict(self) -> dict:
        """Schedules keep no state beyond their settings (they depend only on the epoch)."""
        return self.get_config()

    def load_state_dict(self, state: dict) -> None:
        type(self).__init__(self, **{k: v for k, v in state.items() if k != "name"})

    def __repr__(self) -> str:
        shown = ", ".join(f"{key}={value!r}" for key, value in self.settings().items())
        return f"{type(self).__name__}({shown})"


class ConstantSchedule(Schedule):
    """The base learning rate for every epoch.

    >>> ConstantSchedule()(0.01, 7)
    0.01
    """

    name = "constant"

    def lr(self, base_lr, epoch):
        return base_lr


class StepSchedule(Schedule):
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs.

    >>> StepSchedule(step_size=10, gamma=0.1)(1.0, 25)
    0.010000000000000002
    """

    name = "step"

    def __init__(self, step_size: int = 10, gamma: float = 0.1):
        self.step_size = _number("step_size", step_size, minimum=1, integer=True)
        self.gamma = _number("gamma", gamma)

    def settings(self):
        return {"step_size": self.step_size, "gamma": self.gamma}

    def lr(self, base_lr, epoch):
        return base_lr * self.gamma ** (epoch // self.step_size)


class ExponentialSchedule(Schedule):
    """Multiply the learning rate by ``gamma`` every epoch.

    >>> ExponentialSchedule(gamma=0.5)(1.0, 3)
    0.125
    """

    name = "exponential"

    def __init__(self, gamma: float = 0.95):
        self.gamma = _number("gamma", gamma)

    def settings(self):
        return {"gamma": self.gamma}

    def lr(self, base_lr, epoch):
        return base_lr * self.gamma**epoch


class CosineSchedule(Schedule):
    """Linear warm-up for ``warmup_steps`` epochs, then cosine decay to ``min_lr``.

    Warm-up epoch ``e`` uses ``base_lr * (e + 1) / (warmup_steps + 1)``; after it, the rate
    follows half a cosine from ``base_lr`` to ``min_lr`` over the remaining
    ``total_steps - warmup_steps`` epochs and stays at ``min_lr`` beyond ``total_steps``.
    ``total_steps=None`` lets ``fit`` use the number of epochs.

    >>> schedule = CosineSchedule(total_steps=4, min_lr=0.0, warmup_steps=1)
    >>> [round(schedule(1.0, e), 3) for e in range(5)]
    [0.5, 1.0, 0.75, 0.25, 0.0]
    """

    name = "cosine"

    def __init__(self, total_steps: int | None = None, min_lr: float = 0.0, warmup_steps: int = 0):
        self.total_steps = (
            None
            if total_steps is None
            else _number("total_steps", total_steps, minimum=1, integer=True)
        )
        self.min_lr = _number("min_lr", min_lr)
        self.warmup_steps = _number("warmup_steps", warmup_steps, integer=True)
        if self.total_steps is not None and self.warmup_steps >= self.total_steps:
            raise ValueError(
                f"warmup_steps ({warmup_steps}) must be smaller than total_steps ({total_steps})"
            )

    def settings(self):
        return {
            "total_steps": self.total_steps,
            "min_lr": self.min_lr,
            "warmup_steps": self.warmup_steps,
        }

    def lr(self, base_lr, epoch):
        if epoch < self.warmup_steps:
            return base_lr * (epoch + 1) / (self.warmup_steps + 1)
        if self.total_steps is None:
            raise ValueError("CosineSchedule needs total_steps (fit fills in the epoch count)")
        span = self.total_steps - self.warmup_steps
        progress = min(1.0, (epoch - self.warmup_steps) / span)
        low = min(self.min_lr, base_lr)  # never "decay" upwards when min_lr > base_lr
        return low + (base_lr - low) * 0.5 * (1.0 + math.cos(math.pi * progress))


SCHEDULES: dict[str, type[Schedule]] = {
    "constant": ConstantSchedule,
    "step": StepSchedule,
    "exponential": ExponentialSchedule,
    "cosine": CosineSchedule,
}


def get_schedule(name: str | None, **settings) -> Schedule:
    """Build a schedule by name; ``None`` or "constant" gives the constant schedule.

    >>> get_schedule("cosine", total_steps=10, warmup_steps=2)
    CosineSchedule(total_steps=10, min_lr=0.0, warmup_steps=2)
    """
    if isinstance(name, Schedule):
        return name
    key = "constant" if name is None else str(name).lower()
    if key not in SCHEDULES:
        raise ValueError(
            f"Could not interpret learning-rate schedule {name!r}. Known: {', '.join(SCHEDULES)}."
        )
    cls = SCHEDULES[key]
    try:
        return cls(**settings)
    except TypeError:
        known = list(inspect.signature(cls).parameters) or ["(none)"]
        unknown = sorted(set(settings) - set(known))
        raise ValueError(
            f"The {key!r} schedule has no setting {', '.join(map(repr, unknown))}. "
            f"Known settings: {', '.join(known)}."
        ) from None
