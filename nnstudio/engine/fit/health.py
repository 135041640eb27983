"""Layer health while training: the numbers behind "why doesn't it learn?".

:class:`HealthMonitor` is sampled by the fit loop every ``health_every`` batches, around the
optimizer's step (``before_update`` after backward, ``after_update`` after the step), and
summarises each epoch per layer:

- ``dead_fraction``: share of ReLU units that were never active on any sampled batch;
- ``saturated_fraction``: share of sigmoid/tanh units stuck in a flat tail (their gradient is
  almost zero) on nearly all samples;
- ``grad_norm``: L2 norm of the layer's gradients (before clipping);
- ``update_ratio``: ‖Δw‖ / ‖w‖ of one optimizer step (healthy near 1e-3); None while the
  weights are all about zero, where the ratio would say nothing but "huge";
- ``zero_weights``: the layer's weight matrix was all zero on every sample of the epoch;
- ``identical_units``: its units had identical weights (and biases) on every sample: they
  compute the same thing, get the same update and stay copies of one another (symmetry);
- ``activation_mean`` / ``activation_std``: of the layer's outputs.

It only reads what the layers keep anyway (their last output, see ``Layer.last_activation``)
and copies the weights once per sample into buffers made once, so it is cheap enough to leave
on: taken every ``HEALTH_EVERY`` batches, and at most MAX_SAMPLES_PER_EPOCH times an epoch,
it costs the MNIST MLP about 1 % of its epoch.

>>> import numpy as np
>>> from nnstudio.engine.model import Sequential
>>> from nnstudio.engine.layers import Dense
>>> model = Sequential([Dense(8, activation="relu"), Dense(2)], input_shape=(3,))
>>> monitor = HealthMonitor(every=1)
>>> _ = model.forward(np.ones((4, 3), np.float32), training=True)
>>> model.backward(np.ones((4, 2), np.float32))  # doctest: +ELLIPSIS
array(...)
>>> monitor.before_update(model)
>>> monitor.after_update(model)
>>> sorted(monitor.epoch_summary())
['0 Dense', '1 Dense']
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["HEALTH_EVERY", "RELU_LIKE", "SQUASHING", "HealthMonitor", "layer_label"]

#: Batches between two samples, at most (see MAX_SAMPLES_PER_EPOCH).
HEALTH_EVERY = 10
#: Long epochs are sampled less often, so that an epoch has at most this many samples (after
#: its first batch's): a sample costs about half an MNIST MLP batch on one core (0.3 ms
#: against 0.6 ms), so every 10th of its 400 batches took 4 % of the epoch, every 25th 1.5 %.
MAX_SAMPLES_PER_EPOCH = 16
#: Samples of a batch whose activations are looked at (enough to see a dead unit).
ACTIVATION_ROWS = 64
#: Fewer samples than this say too little to call a unit dead (a last batch of 3, say).
MIN_ROWS_FOR_DEAD = 32
RELU_LIKE = ("relu",)  # leaky_relu, elu and gelu keep a gradient below 0: they cannot die
SQUASHING = {"sigmoid": (0.01, 0.99), "tanh": (-0.99, 0.99)}  # the flat tails begin here
#: A unit counts as saturated when most of its outputs are in a flat tail.
SATURATED_SHARE = 0.5
#: Weights whose root mean square is below this are "about zero": He or Glorot weights of even
#: a 4096-input layer have an RMS near 0.02, so only a zero (or broken) start gets here.
ZERO_WEIGHTS_RMS = 1e-3
#: Two units whose weights differ by less than this share of the largest weight are copies.
IDENTICAL = 1e-6


def layer_label(model, index: int) -> str:
    """ "3 Dense": the layer's position and type, as the gradient-norm plot names it."""
    return f"{index} {type(model.layers[index]).__name__}"


def _norm(arrays) -> float:
    total = 0.0
    for array in arrays:
        flat = array.reshape(-1)
        total += float(np.dot(flat, flat))
    return math.sqrt(total)


def _unit_rows(layer, weights: np.ndarray) -> np.ndarray:
    """The weight matrix with one row a unit: Conv2D keeps (filters, ...), Dense (inputs, units)."""
    if hasattr(layer, "filters"):
        return weights.reshape(weights.shape[0], -1)
    return weights.reshape(-1, weights.shape[-1]).T


def _about_zero(params: list[np.ndarray]) -> bool:
    """Whether a layer's weight matrices (its biases when it has none) are all about zero: a
    zero-initialized layer, whose biases alone move, has no size to compare a step with."""
    matrices = [p for p in params if p.ndim >= 2] or params
    size = sum(p.size for p in matrices)
    return _norm(matrices) <= ZERO_WEIGHTS_RMS * math.sqrt(max(size, 1))


def _differ(first: np.ndarray, second: np.ndarray) -> bool:
    """A cheap first look (two units, not the whole matrix): clearly different weights."""
    scale = float(np.max(np.abs(first)))
    return scale > 0 and float(np.max(np.abs(second - first))) > IDENTICAL * scale


def _all_copies(rows: np.ndarray, scale: float) -> bool:
    """Whether every row equals the first (within IDENTICAL of ``scale``)."""
    return float(np.max(np.abs(rows - rows[:1]), initial=0.0)) <= IDENTICAL * scale


def _units_axis(y: np.ndarray) -> tuple[int, ...]:
    """Axes over which a unit repeats: the batch (Dense) or batch, height, width (Conv2D)."""
    return (0,) if y.ndim == 2 else (0, *range(2, y.ndim))


class _LayerTally:
    """What one layer's samples added up to during the epoch."""

    def __init__(self, label: str, activation: str | None):
        self.label, self.activation = label, activation
        self.samples = 0
        self.grad_norm = self.update_ratio = 0.0
        self.act_mean = self.act_std = 0.0
        self.act_samples = 0
        self.saturated = 0.0
        self.ever_active: np.ndarray | None = None  # ReLU units seen active at least once
        self.rows = 0  # samples whose activations were looked at
        self.max_grad_norm = 0.0
        self.ratio_samples = 0  # steps whose ‖Δw‖/‖w‖ was measured (not against zero weights)
        self.weight_samples = self.zero_samples = self.copies_samples = 0

    def add_weights(self, layer) -> None:
        """Whether the weight matrix is all zero, and whether its units are copies of one
        another (a constant start: nothing tells them apart, so they learn the same)."""
        weights, bias = layer.params.get("W"), layer.params.get("b")
        if weights is None or weights.ndim < 2:
            return  # BatchNorm's scale and shift: one number a channel, no units to compare
        rows = _unit_rows(layer, weights)
        if len(rows) < 2:
            return  # a single unit has no copies
        self.weight_samples += 1
        if _differ(rows[0], rows[1]):
            return  # two units already differ: neither all zero nor all copies (the usual case)
        largest = float(np.max(np.abs(weights)))
        self.zero_samples += largest == 0.0
        biases = np.zeros((len(rows), 1)) if bias is None else bias.reshape(-1, 1)
        scale = max(largest, float(np.max(np.abs(biases))))
        if _all_copies(rows, scale) and _all_copies(biases, scale):
            self.copies_samples += 1

    def add_activation(self, y: np.ndarray) -> None:
        rows = y[:ACTIVATION_ROWS]
        self.act_samples += 1
        self.rows += len(rows)
        self.act_mean += float(rows.mean())
        self.act_std += float(rows.std())
        axes = _units_axis(rows)
        if self.activation in RELU_LIKE:
            active = (rows > 0).any(axis=axes)
            self.ever_active = active if self.ever_active is None else self.ever_active | active
        elif self.activation in SQUASHING:
            low, high = SQUASHING[self.activation]
            flat_share = ((rows <= low) | (rows >= high)).mean(axis=axes)
            self.saturated += float(np.mean(flat_share >= SATURATED_SHARE))

    def summary(self) -> dict:
        n, m = max(self.samples, 1), max(self.act_samples, 1)
        dead = None
        if self.ever_active is not None and self.rows >= MIN_ROWS_FOR_DEAD:
            dead = 1.0 - float(np.mean(self.ever_active))
        every = self.weight_samples > 0
        return {
            "activation": self.activation,
            "dead_fraction": dead,
            "saturated_fraction": self.saturated / m if self.activation in SQUASHING else None,
            "grad_norm": self.grad_norm / n if self.samples else None,
            "max_grad_norm": self.max_grad_norm if self.samples else None,
            "update_ratio": self.update_ratio / self.ratio_samples if self.ratio_samples else None,
            "activation_mean": self.act_mean / m if self.act_samples else None,
            "activation_std": self.act_std / m if self.act_samples else None,
            "zero_weights": self.zero_samples == self.weight_samples if every else None,
            "identical_units": self.copies_samples == self.weight_samples if every else None,
        }


class HealthMonitor:
    """Per-layer health of a training run; a fit callback (``health_every`` = batches between
    samples). Call :meth:`epoch_summary` at the end of an epoch: {"1 Dense": {...}}."""

    def __init__(self, every: int = HEALTH_EVERY):
        if int(every) < 1:
            raise ValueError(f"every must be a whole number >= 1; got {every!r}")
        self.health_every = int(every)
        self.sample_interval = self.health_every  # in the current epoch (see interval_for)
        self._tallies: dict[int, _LayerTally] = {}
        self._before: dict[int, list[np.ndarray]] = {}  # weights before the step, reused
        self.grad_norm_trace: list[tuple[int, float]] = []  # (sample number, global norm)
        self._sample = 0
        self.start_loss: float | None = None  # the first batch's loss, before any step

    # -- called by the fit loop around the optimizer's step -------------------------------------

    def interval_for(self, batches: int) -> int:
        """Batches between samples in an epoch of ``batches``: every ``health_every``, or
        fewer, so that the epoch has at most MAX_SAMPLES_PER_EPOCH samples."""
        self.sample_interval = max(self.health_every, -(-batches // MAX_SAMPLES_PER_EPOCH))
        return self.sample_interval

    def before_update(self, model, loss: float | None = None) -> None:
        """After backward: activations and gradients of this batch; keep the weights.
        ``loss``: the batch's loss (the first one is where the run started from)."""
        if self.start_loss is None and loss is not None and math.isfinite(loss):
            self.start_loss = float(loss)
        total = 0.0
        for index, layer in enumerate(getattr(model, "layers", ())):
            tally = self._tally(model, index)
            if tally is None:
                continue
            output = layer.last_activation()
            if output is not None:
                tally.add_activation(output[1])
            if layer.params:
                norm = _norm(layer.grads.values())
                tally.grad_norm += norm
                tally.max_grad_norm = max(tally.max_grad_norm, norm)
                total += norm * norm
                tally.add_weights(layer)
                self._keep_weights(index, layer)
        self._sample += 1
        self.grad_norm_trace.append((self._sample, math.sqrt(total)))
        del self.grad_norm_trace[:-200]  # a bounded trace: enough to tell a blow-up's story

    def after_update(self, model) -> None:
        """After the step: ‖Δw‖ / ‖w‖ per weighted layer."""
        for index, before in self._before.items():
            tally = self._tallies[index]
            params = list(model.layers[index].params.values())
            for old, new in zip(before, params, strict=True):
                np.subtract(new, old, out=old)  # the buffer now holds the update
            weight = _norm(params)
            tally.samples += 1
            if not _about_zero(params):
                # Against weights of about zero any step looks huge: no ratio is better.
                tally.update_ratio += _norm(before) / weight
                tally.ratio_samples += 1

    # -- the epoch ------------------------------------------------------------------------------

    def epoch_summary(self) -> dict[str, dict]:
        """Each sampled layer's numbers for the epoch, then start counting the next one."""
        summary = {tally.label: tally.summary() for tally in self._tallies.values()}
        for tally in self._tallies.values():
            tally.__init__(tally.label, tally.activation)
        return summary

    def last_grad_norms(self, count: int) -> list[float]:
        return [norm for _sample, norm in self.grad_norm_trace[-count:]]

    # -- helpers --------------------------------------------------------------------------------

    def _tally(self, model, index: int) -> _LayerTally | None:
        tally = self._tallies.get(index)
        if tally is None:
            layer = model.layers[index]
            output = layer.last_activation()
            if not layer.params and output is None:
                return None  # Flatten, pooling, dropout: nothing to say about them
            activation = output[0] if output is not None else None
            tally = self._tallies[index] = _LayerTally(layer_label(model, index), activation)
        return tally

    def _keep_weights(self, index: int, layer) -> None:
        buffers = self._before.get(index)
        params = list(layer.params.values())
        shapes = [p.shape for p in params]
        if buffers is None or [b.shape for b in buffers] != shapes:
            buffers = self._before[index] = [np.empty_like(p) for p in params]
        for buffer, value in zip(buffers, params, strict=True):
            np.copyto(buffer, value)
