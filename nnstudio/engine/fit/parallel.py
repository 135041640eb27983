"""Training on two cores: each batch is split in two halves that run at the same time.

NumPy runs its elementwise work (activations, pooling, im2col, the optimizer) on one core, and
only its BLAS matrix products on all of them. For a convolutional network most of a training
step is such one-core work, so half of a 2-core machine sits idle. :class:`HalfBatchRunner`
keeps a second copy of the model whose layers share the weight arrays of the first but keep
their own gradients and caches; the two halves of a batch go through forward, loss and
backward on the two copies at once (NumPy releases the GIL in its loops), each with a
single-threaded BLAS, and the two gradients are then averaged into the model's own. On the
MNIST CNN this made an epoch about a third faster; for the MLP, whose time is mostly matrix
products, it was slower, so only networks with convolutions are split (:func:`worth_splitting`).

The result is the same training as on whole batches up to float rounding (a mean over the
batch is the size-weighted mean of the halves' means), and as deterministic for a given seed.
Models with layers that keep running state (BatchNorm) are never split: their statistics
would be taken over half batches and both copies would update the same buffers.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from nnstudio.engine.blas import blas_controllable, cores_for_this_process
from nnstudio.engine.fit.halves import (
    MIN_HALF,
    augmented,
    augmented_in_halves,
    forward_backward,
)
from nnstudio.engine.layers.conv import Conv2D


def worth_splitting(model, batch_size: int) -> bool:
    """True when training ``model`` on two half batches at once is expected to be faster.

    NNSTUDIO_SPLIT_BATCHES=0 turns it off (=1 forces it on for any suitable model; =thread
    keeps the twin on a thread, see half_batch_runner)."""
    setting = os.environ.get("NNSTUDIO_SPLIT_BATCHES", "")
    if setting == "0" or not can_split(model) or batch_size < 2 * MIN_HALF:
        return False
    if cores_for_this_process() < 2 or not blas_controllable():  # each half needs a one-thread BLAS
        return False
    if setting == "1":
        return True
    return any(isinstance(layer, Conv2D) for layer in model.layers)  # where halves pay off


def can_split(model) -> bool:
    """A Sequential model whose layers keep no running state between batches."""
    layers = getattr(model, "layers", None)
    if not layers or not hasattr(model, "config") or not getattr(model, "built", False):
        return False
    return not any(layer.buffers for layer in layers)


def half_batch_runner(model, loss, augment=None):
    """The twin in a helper process (half_process.py) where one can be started, else on a
    thread. NNSTUDIO_SPLIT_BATCHES=thread keeps it on a thread."""
    if os.environ.get("NNSTUDIO_SPLIT_BATCHES", "") != "thread":
        from nnstudio.engine.fit.half_process import ProcessHalfBatchRunner

        try:
            return ProcessHalfBatchRunner(model, loss, HalfBatchRunner, augment)
        except Exception:  # noqa: BLE001 - no helper here: the thread does the same work, and
            pass  # an error of the model's own comes back from it
    return HalfBatchRunner(model, loss, augment)


class HalfBatchRunner:
    """Forward, loss and backward of a batch as two halves on two threads (see module doc).

    Use as ``value, outputs = runner.run(x_batch, y_batch)``; afterwards the model's
    gradients hold the whole batch's gradient, as ``model.backward(grad,
    need_input_grad=False)`` would have left them.
    Call ``close()`` when done (it stops the helper thread).
    """

    def __init__(self, model, loss, augment=None):
        self.model, self.loss, self.augment = model, loss, augment
        self.twin = type(model).from_config(model.config(), seed=model.seed, dtype=model.dtype)
        self.twin.build(model.input_shape)
        self.share_weights()
        self._grads = model.gradients()
        self._twin_grads = self.twin.gradients()
        self._helper = ThreadPoolExecutor(1, thread_name_prefix="nnstudio-half-batch")

    def share_weights(self) -> None:
        """Point the twin's layers at the model's weight arrays (again: call it after the
        model's layers replaced their parameter dicts, e.g. when rebuilt)."""
        for layer, twin_layer in zip(self.model.layers, self.twin.layers, strict=True):
            twin_layer.params = layer.params

    def reseed(self, words) -> None:
        """Give the twin's random layers (Dropout) their own streams:
        ``default_rng([*words, layer index])``."""
        for index, layer in enumerate(self.twin.layers):
            if isinstance(getattr(layer, "rng", None), np.random.Generator):
                layer.rng = np.random.default_rng([*words, index])

    def run(self, x, y, augment_seed=None) -> tuple[float, np.ndarray]:
        """The batch's mean loss and outputs; fills the model's gradients. With an
        ``augment_seed``, each half is augmented first (halves.augmented)."""
        n = len(x)
        half = n // 2
        if half < MIN_HALF:
            x = augmented_in_halves(self.augment, x, augment_seed)
            return forward_backward(self.model, self.loss, x, y)
        # np.errstate is per thread: the helper must ignore what the caller ignores.
        errors = np.geterr()
        other = self._helper.submit(
            self._twin_forward_backward, errors, x[half:], y[half:], augment_seed
        )
        try:
            mine = augmented(self.augment, x[:half], augment_seed, 0)
            value, outputs = forward_backward(self.model, self.loss, mine, y[:half])
        finally:
            twin_value, twin_outputs = other.result()
        share = half / n
        for name, grad in self._grads.items():
            # Each half's gradient is of its own mean loss: weigh them by their sizes.
            grad *= share
            grad += (1.0 - share) * self._twin_grads[name]
        value = share * value + (1.0 - share) * twin_value
        return value, np.concatenate([outputs, twin_outputs])

    def forward(self, x) -> np.ndarray:
        """The model's outputs for ``x`` in eval mode, the two halves at once."""
        half = len(x) // 2
        if half < MIN_HALF:
            return self.model.forward(x, training=False)
        errors = np.geterr()
        other = self._helper.submit(self._twin_forward, errors, x[half:])
        try:
            outputs = self.model.forward(x[:half], training=False)
        finally:
            twin_outputs = other.result()
        return np.concatenate([outputs, twin_outputs])

    def _twin_forward(self, errors, x):
        with np.errstate(**errors):
            return self.twin.forward(x, training=False)

    def _twin_forward_backward(self, errors, x, y, augment_seed):
        with np.errstate(**errors):
            x = augmented(self.augment, x, augment_seed, 1)
            return forward_backward(self.twin, self.loss, x, y)

    def close(self) -> None:
        self._helper.shutdown(wait=True)
