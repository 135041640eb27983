"""The second half of each batch trained in a process of its own (see parallel.py).

Two threads of one process take turns at Python's lock (the GIL) between their NumPy calls,
and a convolutional step makes hundreds of calls: on the same-padding CNN each half on a
thread spent 11-15 % of its time waiting for the other's turn to end (its wall time against
its CPU time), and an epoch of 12,800 images took 2.06 s. So the twin model lives in a helper
process, and the two share memory instead of a lock: one block of shared memory holds the
weights (copied in before every batch), the twin's gradients, and the half batch's inputs,
targets and outputs; a pipe carries only a few words per batch ("run 64 rows" and back the
loss). The same epoch takes 1.28-1.32 s.

The helper is started once (a fresh Python: it inherits nothing of the caller, a window's Qt
threads included), kept while this process lives, and given to the next fit when one ends. If it
cannot be started, or dies, training goes on with the twin on a thread (parallel.py). The
process itself, its requests and the shared memory are in helper_process.py.
"""

from __future__ import annotations

import numpy as np

from nnstudio.engine.fit.halves import (
    MIN_HALF,
    augmented,
    augmented_in_halves,
    forward_backward,
)
from nnstudio.engine.fit.helper_process import (
    SharedArrays,
    WorkerLost,
    give_back,
    take_helper,
)
from nnstudio.engine.flat import flat_base, views_like

__all__ = ["ProcessHalfBatchRunner", "WorkerLost"]


class ProcessHalfBatchRunner:
    """HalfBatchRunner's interface (parallel.py) with the twin in a helper process.

    Raises WorkerLost when the helper cannot be started; once running, a helper that dies
    is replaced by ``make_fallback(model, loss)`` (a twin on a thread) for the rest of the fit.
    """

    def __init__(self, model, loss, make_fallback, augment=None):
        self.model, self.loss, self.make_fallback = model, loss, make_fallback
        self.augment = augment
        self.helper = take_helper()
        self.shared: SharedArrays | None = None
        self.fallback = None  # a thread runner, once the helper is lost
        self.seed_words = None
        try:
            self.helper.call(
                "setup",
                model.config(),
                model.seed,
                model.dtype.str,
                model.input_shape,
                loss,
                augment,
            )
        except Exception:
            self.helper.close()
            raise
        self.share_weights()

    def share_weights(self) -> None:
        """Find the model's weight and gradient arrays again (after a rebuild, say)."""
        self.params = list(self.model.parameters().values())
        self.grads = list(self.model.gradients().values())
        self.flat_params = flat_base(self.params)
        self.flat_grads = flat_base(self.grads)
        if self.fallback is not None:
            self.fallback.share_weights()

    def reseed(self, words) -> None:
        """Dropout streams for the twin: ``default_rng([*words, layer index])``."""
        self.seed_words = tuple(words)
        if self.fallback is not None:
            self.fallback.reseed(words)
            return
        self._call_or_fall_back("reseed", self.seed_words)

    def run(self, x, y, augment_seed=None) -> tuple[float, np.ndarray]:
        """The batch's mean loss and outputs; fills the model's gradients. With an
        ``augment_seed``, each half is augmented first (``augmented``)."""
        if self.fallback is not None:
            return self.fallback.run(x, y, augment_seed)
        n = len(x)
        half = n // 2
        if half < MIN_HALF:
            x = augmented_in_halves(self.augment, x, augment_seed)
            return forward_backward(self.model, self.loss, x, y)

        def own_half():
            mine = augmented(self.augment, x[:half], augment_seed, 0)
            return forward_backward(self.model, self.loss, mine, y[:half])

        both = self._split(("run", augment_seed), x[half:], y[half:], own_half)
        if both is None:
            return self._fall_back().run(x, y, augment_seed)
        (value, outputs), twin_value = both
        share = half / n
        self._add_twin_gradients(share)
        twin_outputs = self.shared.arrays["outputs"][: n - half]
        value = share * value + (1.0 - share) * twin_value
        return value, np.concatenate([outputs, twin_outputs])

    def forward(self, x) -> np.ndarray:
        """The model's outputs for ``x`` in eval mode, the two halves at once (validation)."""
        if self.fallback is not None:
            return self.fallback.forward(x)
        half = len(x) // 2
        if half < MIN_HALF or self.shared is None:  # no batch yet: the targets' form unknown
            return self.model.forward(x, training=False)
        own = lambda: self.model.forward(x[:half], training=False)  # noqa: E731
        both = self._split(("forward", None), x[half:], None, own)
        if both is None:
            return self._fall_back().forward(x)
        outputs, _ = both
        return np.concatenate([outputs, self.shared.arrays["outputs"][: len(x) - half]])

    def _split(self, request: tuple, x, y, own_half):
        """Start the helper on ``request`` (its name and augmentation seed) for ``x`` (and
        ``y``), run ``own_half()`` here meanwhile, and return (its result, the helper's
        answer); None when the helper is lost (nothing of the batch is kept then)."""
        try:
            self._hand_over(request, x, y)
        except (WorkerLost, OSError):  # also: no room left for the shared memory
            return None
        try:
            mine = own_half()
        finally:
            try:
                theirs = self.helper.answer()[1]
            except WorkerLost:
                return None  # noqa: B012 - a lost helper: the caller falls back and redoes it
        return mine, theirs

    def _hand_over(self, request: tuple, x, y) -> None:
        """Give the helper the weights and its half batch, and start it."""
        rows = len(x)
        self._ensure_shared(x, y)
        arrays = self.shared.arrays
        np.copyto(arrays["x"][:rows], x)
        if y is not None:
            np.copyto(arrays["y"][:rows], y)
        if self.flat_params is not None:
            np.copyto(arrays["weights"], self.flat_params)
        else:
            for view, weights in zip(self._views("weights"), self.params, strict=True):
                np.copyto(view, weights)
        name, augment_seed = request
        self.helper.send(name, rows, np.geterr(), augment_seed)

    def _add_twin_gradients(self, share: float) -> None:
        """The model's gradients become the size-weighted mean of both halves' (each half's
        gradient is of its own mean loss)."""
        twin = self.shared.arrays["gradients"]
        if self.flat_grads is not None:
            pairs = [(self.flat_grads, twin)]
        else:
            pairs = list(zip(self.grads, self._views("gradients"), strict=True))
        for grad, twin_grad in pairs:
            grad *= share / (1.0 - share)
            grad += twin_grad
            grad *= 1.0 - share

    def _views(self, name):
        named = dict(enumerate(self.params))
        return list(views_like(self.shared.arrays[name], named).values())

    def _ensure_shared(self, x, y) -> None:
        """Shared arrays that hold ``x``, ``y`` (None: targets as the last batch had them)
        and their outputs; made anew when these do not fit."""
        size = sum(array.size for array in self.params)
        dtype = self.model.dtype.str
        rows = len(x)
        if y is None:
            _, (_, *target_shape), target_dtype = self.shared.layout[3]
        else:
            target_shape, target_dtype = y.shape[1:], y.dtype.str
        layout = [
            ("weights", (size,), dtype),
            ("gradients", (size,), dtype),
            ("x", x.shape, x.dtype.str),
            ("y", (rows, *target_shape), target_dtype),
            ("outputs", (rows, *self.model.output_shape), dtype),
        ]
        if self.shared is not None and self.shared.fits(layout):
            return
        shared = SharedArrays(layout)
        try:
            self.helper.send("map", layout)
            self.helper.send_descriptor(shared.descriptor)
            self.helper.answer()
        finally:
            shared.close_descriptor()
        self.shared = shared

    def _call_or_fall_back(self, *message) -> None:
        try:
            self.helper.call(*message)
        except WorkerLost:
            self._fall_back()

    def _fall_back(self):
        self.helper.close()
        self.fallback = self.make_fallback(self.model, self.loss, self.augment)
        if self.seed_words is not None:
            self.fallback.reseed(self.seed_words)
        return self.fallback

    def close(self) -> None:
        if self.fallback is not None:
            self.fallback.close()
        else:
            give_back(self.helper)
        self.shared = None
