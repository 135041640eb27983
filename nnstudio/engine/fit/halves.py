"""What both ways of training a batch as two halves share (parallel.py: the second half on a
thread; half_process.py: in a helper process): the smallest half worth handing over, one
half's forward and backward, and each half's augmentation.

Kept apart from half_process.py so that importing the fit loop does not import what starting
a process needs (subprocess, sockets, shared memory): the window's first frame waits on it.
"""

from __future__ import annotations

import numpy as np

#: Halves smaller than this are not worth the hand-off to another thread or process.
MIN_HALF = 8


def augmented(augment, x, seed, half: int):
    """``x`` through ``augment``, part ``half`` (0: the first half, 1: the second) of a batch
    whose augmentation seed is ``seed``: each half has its own stream, so a batch comes out
    the same whether its halves are augmented together, on two threads or in two processes."""
    if augment is None or seed is None or len(x) == 0:
        return x
    return augment(x, np.random.default_rng([seed, half]))


def augmented_in_halves(augment, x, seed):
    """The whole batch augmented as its two halves would be (see ``augmented``)."""
    half = len(x) // 2
    return np.concatenate(
        [augmented(augment, x[:half], seed, 0), augmented(augment, x[half:], seed, 1)]
    )


def forward_backward(model, loss, x, y) -> tuple[float, np.ndarray]:
    """One batch's mean loss and outputs; leaves its gradients in the model's."""
    outputs = model.forward(x, training=True)
    value, grad_outputs = loss.value_and_grad(outputs, y)
    model.backward(grad_outputs, need_input_grad=False)  # training: no input gradient
    return float(value), outputs
