"""The learning-rate range test ("LR finder", Leslie Smith 2015; fastai's ``lr_find``).

Train a *copy* of the model for a few hundred batches while the rate grows exponentially from
``start_lr`` to ``end_lr``, record the smoothed loss, stop once it explodes, and suggest a rate.
The given model and optimizer are deep-copied first, so their weights, their optimizer state
(momentum, Adam's moments, the step count) and their random generators stay exactly as they
were; it works for every optimizer, since it only sets ``lr`` and calls ``step``.

The copy starts from fresh weights (its layers' initializers and ``seed``, as a new run would)
unless ``from_current``: on trained weights the test measures how hard they can be pushed
before they break, which is a question for fine-tuning, not the rate to train with. A curve
without a clear valley (the loss never falls well below its start) gets no suggestion and a
sentence saying so: a rate read off such a curve would be an extreme, not advice.

>>> import numpy as np
>>> from nnstudio.engine.model import Sequential
>>> from nnstudio.engine.layers import Dense
>>> from nnstudio.engine.optimizers import SGD
>>> rng = np.random.default_rng(0)
>>> x = rng.standard_normal((256, 2)).astype(np.float32)
>>> y = (x[:, 0] > 0).astype(np.int64)
>>> model = Sequential([Dense(16, activation="relu"), Dense(2)], input_shape=(2,))
>>> result = find_lr(model, "softmax_crossentropy", SGD(lr=0.1), x, y, steps=100)
>>> 1e-4 < result.suggested_lr < 10
True
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["LRFinderResult", "find_lr"]

START_LR, END_LR, STEPS = 1e-7, 10.0, 300
SMOOTHING = 0.95  # exponential moving average of the loss: ~20 batches of memory
DIVERGED = 4.0  # smoothed loss this many times its best so far: the rate is past useful ...
MIN_RISE = 0.05  # ... and this much above it: a trained model's 0.0001 may quadruple as noise
WARMUP = 10  # points before which the curve is too noisy to judge (or to stop on)
VALLEY = 0.05  # the smoothed loss must fall at least this share below its start: a valley
EARLIEST_VALLEY = 0.15  # ... and its lowest point lie past this share of the range (log scale)
NO_VALLEY = (
    "The loss did not fall clearly anywhere on the way (no valley in the curve), so there is "
    "no rate to suggest."
)
CURRENT_WEIGHTS = (
    " On weights that are already trained that is to be expected: test from fresh weights for "
    "the rate to train a new run with."
)
MAX_STEPS = 100_000  # a curve needs a few hundred batches; more only fills memory with rates
MIN_CURVE = WARMUP  # a test that blew up sooner, at rates near 1e-7, has nothing to suggest


@dataclass
class LRFinderResult:
    """``lrs`` and smoothed ``losses`` point by point; ``suggested_lr`` the rate to use."""

    lrs: list[float]
    losses: list[float]
    suggested_lr: float | None  # None: the curve has no clear valley (see ``advice``)
    min_loss_lr: float
    steepest_lr: float
    stopped: str  # "exploded" or "completed" (end_lr reached without exploding)
    from_current: bool = False  # the test ran on the model's own weights, not fresh ones
    advice: str = ""  # why there is no suggestion, when there is none

    def to_dict(self) -> dict:
        return asdict(self)


def _batches(n: int, batch_size: int, seed: int):
    """Shuffled batch indices forever (a new order each pass, seeded)."""
    rng = np.random.default_rng([seed, 0x1F])
    while True:
        order = rng.permutation(n)
        for lo in range(0, n - batch_size + 1 if n >= batch_size else 1, batch_size):
            yield order[lo : lo + batch_size]


def suggest(lrs: np.ndarray, losses: np.ndarray) -> tuple[float, float, float]:
    """(suggested, at the minimum, at the steepest descent) rate of a smoothed curve.

    The suggestion is the rate at the smoothed minimum divided by 10. The minimum sits just
    before the loss blows up, so a tenth of it is a rate that still learns fast yet leaves a
    safety margin (fastai's "min/10" rule). The steepest descent of the curve (the most
    negative d loss / d log lr) is the other classic choice and is returned too, but on a
    curve from a few hundred noisy batches it often lands on a random wiggle; the minimum
    is far more stable from run to run, which matters for a button a learner presses.
    """
    finite = np.isfinite(losses)
    if finite.sum() < 3:
        return float(lrs[0]), float(lrs[0]), float(lrs[0])
    lrs, losses = lrs[finite], losses[finite]
    skip = min(WARMUP, len(losses) // 4)
    best = skip + int(np.argmin(losses[skip:]))
    steepest = float(lrs[best])
    if best - skip >= 2:
        slopes = np.gradient(losses[skip : best + 1], np.log(lrs[skip : best + 1]))
        steepest = float(lrs[skip + int(np.argmin(slopes))])
    at_min = float(lrs[best])
    return max(at_min / 10, float(lrs[0])), at_min, steepest


def has_valley(lrs: np.ndarray, losses: np.ndarray) -> bool:
    """Whether the curve has a valley worth reading: the smoothed loss falls clearly (VALLEY
    of its start) below where it began, and its lowest point is not at the very start of the
    range (on trained weights the loss only rises from there: its "minimum" is noise)."""
    finite = np.isfinite(losses)
    lrs, losses = lrs[finite], losses[finite]
    if len(losses) < 3:
        return False
    start = losses[min(WARMUP, len(losses) // 4)]
    best = int(np.argmin(losses))
    span = math.log(lrs[-1] / lrs[0]) if lrs[-1] > lrs[0] else 0.0
    where = math.log(lrs[best] / lrs[0]) / span if span else 0.0
    return bool(start - losses[best] >= VALLEY * abs(start) and where >= EARLIEST_VALLEY)


def _diverged_at_once(x, batches: int, start_lr: float) -> str:
    """Why a test that blew up within its first batches suggests nothing."""
    from nnstudio.engine.fit.guard import unscaled_inputs

    cause = unscaled_inputs(x) or (
        "check the data (its scale, NaN values) and the model's settings"
    )
    return (
        f"the loss blew up after {batches} batch(es), already at the smallest rate "
        f"{start_lr:g}, so no learning rate can be suggested: {cause}"
    )


def find_lr(
    model,
    loss,
    optimizer,
    x,
    y,
    *,
    batch_size: int = 32,
    start_lr: float = START_LR,
    end_lr: float = END_LR,
    steps: int = STEPS,
    seed: int = 0,
    from_current: bool = False,
    cancel=None,
    progress=None,
) -> LRFinderResult:
    """The range test on copies of ``model`` and ``optimizer`` (both left untouched); the
    copy starts from fresh weights (``seed``) unless ``from_current``.

    ``loss``: a loss object or its name. ``cancel``: an object with ``is_set()`` (a
    ``threading.Event``) checked each batch. ``progress(done, total)``: called every 10
    batches. Raises ValueError for a range or step count that makes no test.
    """
    if not (0 < start_lr < end_lr and math.isfinite(end_lr)):
        raise ValueError(f"the rates must satisfy 0 < start_lr < end_lr; got {start_lr}, {end_lr}")
    if steps < 10:
        raise ValueError(f"steps must be at least 10 for a curve; got {steps}")
    if steps > MAX_STEPS:  # numpy said "Maximum allowed size exceeded"
        raise ValueError(f"steps (batches) must be at most {MAX_STEPS:,}; got {steps:,}")
    if isinstance(loss, str):
        from nnstudio.engine.losses import get_loss

        loss = get_loss(loss)
    if not model.parameters():
        raise ValueError(
            "the model has no weights to train (only layers such as ReLU or Flatten), so no "
            "learning rate changes anything; add a Dense or Conv2D layer"
        )
    trial, opt = copy.deepcopy(model), copy.deepcopy(optimizer)
    if not from_current:  # where a new run starts: fresh weights, an optimizer with no past
        trial.reset_parameters(seed)
        opt.reset()
    dtype = next(iter(trial.parameters().values())).dtype
    x, y = np.ascontiguousarray(x, dtype=dtype), np.asarray(y)
    if y.dtype.kind == "f":
        y = y.astype(dtype)
    params, grads = trial.parameters(), trial.gradients()
    rates = start_lr * (end_lr / start_lr) ** (np.arange(steps) / (steps - 1))
    lrs, smoothed = [], []
    average, best, stopped = 0.0, math.inf, "completed"
    batches = _batches(len(x), min(batch_size, len(x)), seed)
    # Overflow on the way to the explosion is what the test looks for: no warnings.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for step, lr in enumerate(rates):
            if cancel is not None and cancel.is_set():
                stopped = "cancelled"
                break
            index = next(batches)
            outputs = trial.forward(x[index], training=True)
            value, grad_outputs = loss.value_and_grad(outputs, y[index])
            trial.backward(grad_outputs, need_input_grad=False)
            value = float(value) + trial.penalty()
            average = SMOOTHING * average + (1 - SMOOTHING) * value
            current = average / (1 - SMOOTHING ** (step + 1))  # bias-corrected
            rose = current > DIVERGED * best and current > best + MIN_RISE
            if not math.isfinite(current) or (step > WARMUP and rose):
                stopped = "exploded"
                break
            lrs.append(float(lr))
            smoothed.append(current)
            best = min(best, current)
            opt.lr = float(lr)
            opt.step(params, grads)
            if progress is not None and step % 10 == 0:
                progress(step, steps)
    if stopped == "exploded" and len(lrs) < MIN_CURVE:
        raise ValueError(_diverged_at_once(x, len(lrs), start_lr))
    suggested, at_min, steepest = suggest(np.array(lrs or [start_lr]), np.array(smoothed or [0]))
    advice = "" if has_valley(np.array(lrs), np.array(smoothed)) else NO_VALLEY
    if advice and from_current:
        advice += CURRENT_WEIGHTS
    if advice:
        suggested = None
    return LRFinderResult(lrs, smoothed, suggested, at_min, steepest, stopped, from_current, advice)
