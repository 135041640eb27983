"""The fit loop's NaN guard: when the loss or the weights stop being finite, or the loss
explodes, training stops with finite weights in the model and a message that names the
learning rate and one to try instead.
"""

from __future__ import annotations

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


def safer_lr(optimizer, lr: float) -> float:
    """A learning rate to try after a blow-up: the optimizer's default, or ten times smaller.
    ``optimizer``: an optimizer, its class, or None (then ten times smaller)."""
    kind = optimizer if optimizer is None or isinstance(optimizer, type) else type(optimizer)
    settings = {setting.name: setting for setting in getattr(kind, "SETTINGS", ())}
    default_lr = settings["lr"].default if "lr" in settings else None
    if isinstance(default_lr, float) and lr > default_lr:
        return default_lr
    return float(f"{lr / 10:.3g}")


def suggested_lr(optimizer, lr: float) -> str:
    """:func:`safer_lr` as people write it."""
    return format_rate(safer_lr(optimizer, lr))


# Inputs this large (features of ~1e38, raw money amounts) overflow any network's first layer:
# the fix is scaling the data, not a smaller learning rate.
UNSCALED_INPUTS = 1e6


def unscaled_inputs(x) -> str | None:
    """Why training cannot work when the inputs are far too large to learn from, or None."""
    with np.errstate(all="ignore"):
        largest = float(np.max(np.abs(x))) if np.size(x) else 0.0
    if largest <= UNSCALED_INPUTS:  # NaN compares False: not this problem
        return None
    return (
        f"the inputs reach {largest:.3g}: the data is not scaled, and no learning rate "
        "fixes that; standardize it (the dataset's scaling option)"
    )


class DivergenceGuard:
    """Keeps the last weights known to give finite outputs, and words what went wrong.

    The loop compares each batch's loss with :attr:`limit` (one comparison, also false for
    NaN), calls :meth:`keep` whenever it has checked the weights, and on trouble stops with
    the message :meth:`bad_loss` or :meth:`blow_up` returns. Both put the last *tested* good
    weights back into the model.

    Finite weights are not yet good weights: SGD with lr=1e30 makes weights of ~1e29 whose
    outputs are all NaN. So a copy taken by :meth:`keep` is only a candidate until a batch has
    been trained with it — the optimizer's step counter moved on, and the loop only steps after
    a batch whose loss was finite and under the limit — and the candidate that is there when
    trouble comes is dropped when that never happened.
    """

    def __init__(self, model, optimizer, where: str):
        self.model, self.optimizer = model, optimizer
        self.limit, self.first_loss = NO_LIMIT_YET, math.nan
        # The weights training starts from are the fallback, tested or not: nothing is older.
        self.good_state, self.good_where = model.state_dict(), where
        self.candidate = None  # (state, where, optimizer steps when it was taken)
        self.inputs = None  # the training inputs, looked at only after a blow-up

    def keep(self, where: str) -> None:
        """Remember the model's current weights as a candidate; ``where``: "epoch 2, batch 25"."""
        self._promote_tested_candidate()
        self.candidate = (self.model.state_dict(), where, self._steps())

    def _steps(self) -> int | None:
        steps = getattr(self.optimizer, "iterations", None)
        return steps if isinstance(steps, int) else None

    def _promote_tested_candidate(self) -> None:
        """The candidate becomes the good copy once a batch trained on it had a finite loss."""
        if self.candidate is None:
            return
        state, where, steps = self.candidate
        now = self._steps()
        # An optimizer without a step counter: trust the copy once the next one is taken.
        if steps is None or now is None or now > steps:
            self.good_state, self.good_where = state, where
        self.candidate = None

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
            start = f"{self.first_loss:.3g}"
            problem = f"The loss exploded to {value:.3g} (it was {start} at the start)"
        else:
            problem = f"The loss became {'NaN' if math.isnan(value) else 'infinite'}"
        return self.blow_up(epoch, batch, problem)

    def blow_up(self, epoch: int, batch: int, problem: str) -> str:
        """Put the last tested good weights back and return the message (``epoch`` 0-based,
        ``batch`` 1-based). The current weights are what produced the problem — a bad loss,
        non-finite weights or validation loss — so they are never the ones kept. Inputs far too
        large (``inputs``, set by the fit loop) are blamed rather than the rate."""
        lr = float(self.optimizer.lr)
        self._promote_tested_candidate()
        self.model.load_state_dict(self.good_state)
        cause = None if self.inputs is None else unscaled_inputs(self.inputs)
        if cause is None:
            cause = (
                f"the learning rate {format_rate(lr)} is probably too large; try "
                f"{suggested_lr(self.optimizer, lr)} (or gradient clipping)"
            )
        return (
            f"{problem} at epoch {epoch + 1}, batch {batch} — {cause}. Training stopped and "
            f"the last good weights (from {self.good_where}) were restored."
        )
