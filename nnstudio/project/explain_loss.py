"""The loss page of "See the math": the formula with one sample's numbers filled in.

Each loss class writes its own formula and its gradient's (``FORMULA``, ``GRADIENT_FORMULA``
in engine/losses.py); how one sample's numbers fill a formula in is ``FILLED_IN`` below,
keyed by loss class and found along the class's bases, so a new loss needs no name checked
here (one without an entry shows y − t and its value).
"""

from __future__ import annotations

import numpy as np

from nnstudio.engine import activations as act
from nnstudio.engine import losses
from nnstudio.project.explain_steps import format_number as f

SHOWN = 6  # outputs written out in a regression formula; "…" stands for the rest
SHOWN_CLASSES = 10


def target_batch(loss, target) -> np.ndarray:
    """One sample's target as the loss takes a batch of them: a class label, or targets."""
    target = np.asarray(target)
    if loss.takes_class_labels and target.ndim == 0:
        return target.reshape(1).astype(np.intp)
    return target.reshape((1, *target.shape)) if target.ndim else target.reshape(1, 1)


def _softmax_lines(outputs, target, value, probabilities) -> list[str]:
    true = int(np.ravel(target)[0])
    p = float(probabilities[true])
    shown = ", ".join(f"{k}: {f(v)}" for k, v in enumerate(probabilities[:SHOWN_CLASSES]))
    more = " …" if len(probabilities) > SHOWN_CLASSES else ""
    return [
        f"z = [{', '.join(f(v) for v in outputs[:SHOWN_CLASSES])}{more}]",
        f"p = softmax(z) = [{shown}{more}]",
        f"L = −log p_{true} = −log({f(p)}) = {f(value)}",
    ]


def _sum_of(term: str):
    """Lines for a mean over the outputs of ``term`` ("({y} − {t})²") per output."""

    def lines(outputs, target, value, _probabilities) -> list[str]:
        y, t = np.ravel(outputs), np.ravel(target).astype(np.float64)
        pairs = zip(y[:SHOWN], t[:SHOWN], strict=False)
        parts = " + ".join(term.format(y=f(a), t=f(b)) for a, b in pairs)
        more = " + …" if len(y) > SHOWN else ""
        return [f"L = ({parts}{more}) / {len(y)} = {f(value)}"]

    return lines


def _binary_lines(outputs, target, value, _probabilities) -> list[str]:
    p = act.sigmoid(np.ravel(outputs).astype(np.float64))
    t = np.ravel(target).astype(np.float64)
    return [
        f"p = sigmoid(z) = [{', '.join(f(v) for v in p[:SHOWN])}]",
        f"t = [{', '.join(f(v) for v in t[:SHOWN])}]   L = {f(value)}",
    ]


def _difference_lines(outputs, target, value, _probabilities) -> list[str]:
    terms = np.ravel(outputs) - np.ravel(target).astype(np.float64)
    return [f"y − t = [{', '.join(f(v) for v in terms[:SHOWN])}]   L = {f(value)}"]


FILLED_IN = {
    losses.SoftmaxCrossEntropy: _softmax_lines,
    losses.MeanSquaredError: _sum_of("({y} − {t})²"),
    losses.MeanAbsoluteError: _sum_of("|{y} − {t}|"),
    losses.BinaryCrossEntropy: _binary_lines,
    losses.Loss: _difference_lines,  # Huber, and any loss without its own entry
}


def loss_lines(loss, outputs, target, value, probabilities) -> list[str]:
    """The loss formula with this sample's numbers filled in."""
    lines = next(FILLED_IN[cls] for cls in type(loss).__mro__ if cls in FILLED_IN)
    return lines(outputs, target, value, probabilities)
