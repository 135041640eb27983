"""Learning-rate schedules, evaluated once per epoch: ``schedule(base_lr, epoch) -> lr``.

``epoch`` is the 0-based index of the epoch about to run. A schedule is a pure function of
``(base_lr, epoch)``, so resuming training at epoch k gives the same learning rate as an
uninterrupted run; its ``state_dict()`` is just its settings.

>>> schedule = get_schedule("step", step_size=2, gamma=0.5)
>>> [schedule(0.1, epoch) for epoch in range(5)]
[0.1, 0.1, 0.05, 0.05, 0.025]
"""

from __future__ import annotations

import math

from nnstudio.engine.settings import Configurable, Setting, split_config

__all__ = [
    "SCHEDULES",
    "ConstantSchedule",
    "CosineSchedule",
    "ExponentialSchedule",
    "Schedule",
    "StepSchedule",
    "get_schedule",
    "schedule_class",
]


class Schedule(Configurable):
    """Base class. Subclasses list their ``SETTINGS`` and implement ``lr(base_lr, epoch)``."""

    name = "schedule"

    @classmethod
    def config_type(cls) -> str:
        return cls.name

    def __call__(self, base_lr: float, epoch: int) -> float:
        if epoch < 0:
            raise ValueError(f"epoch must be >= 0; got {epoch}")
        return float(self.lr(float(base_lr), int(epoch)))

    def lr(self, base_lr: float, epoch: int) -> float:
        raise NotImplementedError

    def state_dict(self) -> dict:
        """Schedules keep no state beyond their settings (they depend only on the epoch)."""
        return self.get_config()

    def load_state_dict(self, state: dict) -> None:
        """Restore ``state_dict()`` output; states from older versions said "name", not "type"."""
        _kind, settings = split_config(state)
        type(self).__init__(self, **settings)


class ConstantSchedule(Schedule):
    """The base learning rate for every epoch.

    >>> ConstantSchedule()(0.01, 7)
    0.01
    """

    name = "constant"
    label = "Constant"
    help = "The learning rate stays as set."

    def lr(self, base_lr, epoch):
        return base_lr


def _decay_factor(default: float, advice: str) -> Setting:
    return Setting(
        "gamma",
        "float",
        default,
        minimum=0,
        label="Decay factor",
        help=f"What the learning rate is multiplied by at each decay: {advice}",
    )


class StepSchedule(Schedule):
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs.

    >>> StepSchedule(step_size=10, gamma=0.1)(1.0, 25)
    0.010000000000000002
    """

    name = "step"
    label = "Step decay"
    help = "Multiplies the rate by the decay factor every few epochs."
    SETTINGS = (
        Setting(
            "step_size",
            "int",
            10,
            minimum=1,
            label="Step size",
            help="Epochs between two decays. About a third of the planned epochs is a good start.",
        ),
        _decay_factor(0.1, "0.1 to 0.5 is typical."),
    )

    def lr(self, base_lr, epoch):
        return base_lr * self.gamma ** (epoch // self.step_size)


class ExponentialSchedule(Schedule):
    """Multiply the learning rate by ``gamma`` every epoch.

    >>> ExponentialSchedule(gamma=0.5)(1.0, 3)
    0.125
    """

    name = "exponential"
    label = "Exponential"
    help = "Multiplies the rate by the decay factor after every epoch."
    SETTINGS = (_decay_factor(0.95, "0.9 to 0.99 is typical (0.95 halves it in 14 epochs)."),)

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
    label = "Cosine"
    help = (
        "Glides the rate down to a minimum along a cosine, after an optional warm-up. "
        "Often the best final accuracy."
    )
    SETTINGS = (
        Setting(
            "total_steps",
            "int",
            None,
            minimum=1,
            label="Length (epochs)",
            none_label="all epochs",
            help="Epochs from the start to the minimum rate. Unset: the whole run (the usual).",
        ),
        Setting(
            "min_lr",
            "float",
            0.0,
            minimum=0,
            label="Min rate",
            log_scale=True,
            help="Where the cosine ends. 0, or about a hundredth of the learning rate.",
        ),
        Setting(
            "warmup_steps",
            "int",
            0,
            minimum=0,
            label="Warm-up epochs",
            help="Epochs over which the rate rises from near 0 to its value; helps large rates "
            "start calmly. 0 = none; 1 to 5 is typical.",
        ),
    )

    def _check_settings(self):
        if self.total_steps is not None and self.warmup_steps >= self.total_steps:
            raise ValueError(
                f"warmup_steps ({self.warmup_steps}) must be smaller than total_steps "
                f"({self.total_steps})"
            )

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
    cls.name: cls for cls in (ConstantSchedule, StepSchedule, ExponentialSchedule, CosineSchedule)
}


def schedule_class(name: str | None) -> type[Schedule]:
    """The schedule class called ``name`` (case-insensitive); ``None`` means constant."""
    key = "constant" if name is None else str(name).lower()
    if key not in SCHEDULES:
        raise ValueError(
            f"Could not interpret learning-rate schedule {name!r}. Known: {', '.join(SCHEDULES)}."
        )
    return SCHEDULES[key]


def get_schedule(name: str | None, **settings) -> Schedule:
    """Build a schedule by name; ``None`` or "constant" gives the constant schedule.

    >>> get_schedule("cosine", total_steps=10, warmup_steps=2)
    CosineSchedule(total_steps=10, min_lr=0.0, warmup_steps=2)
    >>> get_schedule("step", gama=0.5)
    Traceback (most recent call last):
    ...
    ValueError: StepSchedule has no setting 'gama'. Known settings: step_size, gamma.
    """
    if isinstance(name, Schedule):
        return name
    return schedule_class(name)(**settings)
