"""The fit loop's NaN guard: when the loss or the weights stop being finite, or the loss
explodes, training stops with finite weights in the model and a message that names the
learning rate and one to try instead.
"""

from __future__ import annotations

import inspect
import math
import sys

import numpy as np

# A training loss this many times the first one means the run diverged (see set_limit).
EXPLODE_FACTOR = 1e6
# Before the first loss is known: finite, so that an infinite first loss still counts as bad.
NO_LIMIT_YET = sys.float_info.max
WEIGHTS_PROBLEM = "The weights became NaN or infinite"


def all_finite(arrays) -> bool:
    return all(np.isfinite(a).all() for a in arrays)


def format_rate(lr: float) -> str:
    """A learning rate as people write it: 0.001, 1e-5, 1e6 (not 1e+06).

    >>> format_rate(1e6), format_rate(0.001), format_rate(1e-05)
    ('1e6', '0.001', '1e-5')
    """
    mantissa, _, exponent = f"{lr:g}".partition("e")
    return f"{mantissa}e{int(exponent)}" if exponent else mantissa


def suggested_lr(optimizer, lr: float) -> str:
    """A learning rate to try after a blow-up: the optimizer's default, or ten times smaller."""
    default = inspect.signature(type(optimizer)).parameters.get("lr")
    default_lr = default.default if default is not None else None
    if isinstance(default_lr, float) and lr > default_lr:
        return format_rate(default_lr)
    return format_rate(lr / 10)


class DivergenceGuard:
    """Keeps the last weights known to be finite, and words what went wrong.

    The loop compares each batch's loss with :attr:`limit` (one comparison, also false for
    NaN), calls :meth:`keep` whenever it has checked the weights, and on trouble stops with
    the message :meth:`bad_loss` or :meth:`blow_up` returns (both leave finite weights in the
    model).
    """

    def __init__(self, model, optimizer, where: str):
        self.model, self.optimizer = model, optimizer
        self.limit, self.first_loss = NO_LIMIT_YET, math.nan
        self.keep(where)

    def keep(self, where: str) -> None:
        """Remember the model's current weights as good; ``where``: "epoch 2, batch 25"."""
        self.good_state = self.model.state_dict()
        self.good_where = where

    def weights_finite(self) -> bool:
        return all_finite(self.model.parameters().values())

    def set_limit(self, first_loss: float) -> float:
        """Adam with lr=1e6 drives the loss to ~1e12 without ever making it NaN, so a loss a
        million times the first one (at least 1) also counts as a blow-up."""
        self.first_loss = first_loss
        self.limit = EXPLODE_FACTOR * max(first_loss, 1.0)
        return self.limit

    def bad_loss(self, epoch: int, batch: int, value: float) -> str:
        """A batch's loss was NaN, infinite or above the limit (seen before the update)."""
        if math.isfinite(value):
            return self.blow_up(
                epoch,
                batch,
                f"The loss exploded to {value:.3g} (it was {self.first_loss:.3g} at the start)",
                restore=True,  # these weights are what blew up; an older copy is better
            )
        kind = "NaN" if math.isnan(value) else "infinite"
        return self.blow_up(epoch, batch, f"The loss became {kind}")

    def blow_up(self, epoch: int, batch: int, problem: str, restore: bool = False) -> str:
        """Keep finite weights — the current ones when they are finite, unless ``restore``,
        else the last good copy — and return the message (``epoch`` 0-based, ``batch`` 1-based)."""
        lr = float(self.optimizer.lr)
        if restore or not self.weights_finite():
            self.model.load_state_dict(self.good_state)
            kept = f"the last good weights (from {self.good_where}) were restored"
        else:
            kept = "the last good weights were kept"
        return (
            f"{problem} at epoch {epoch + 1}, batch {batch} — the learning rate "
            f"{format_rate(lr)} is probably too large; try {suggested_lr(self.optimizer, lr)} "
            f"(or gradient clipping). Training stopped and {kept}."
        )
