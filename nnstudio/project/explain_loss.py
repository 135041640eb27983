"""The loss page of "See the math": each loss's formula and its gradient's, and the formula
with one sample's numbers filled in."""

from __future__ import annotations

import numpy as np

from nnstudio.engine import activations as act
from nnstudio.project.explain_steps import format_number

LOSS_FORMULAS = {
    "softmax_crossentropy": (
        "p = softmax(z), p_k = exp(z_k) / Σ_j exp(z_j);  L = −log p_true",
        "dL/dz = p − onehot(true class)",
    ),
    "binary_crossentropy": (
        "p = sigmoid(z);  L = mean(−t·log p − (1 − t)·log(1 − p))",
        "dL/dz = (p − t) / n",
    ),
    "mse": ("L = mean((y − t)²)", "dL/dy = 2·(y − t) / n"),
    "mae": ("L = mean(|y − t|)", "dL/dy = sign(y − t) / n"),
    "huber": (
        "L = mean(½(y − t)² where |y − t| ≤ δ, else δ·(|y − t| − ½δ))",
        "dL/dy = clip(y − t, −δ, δ) / n",
    ),
}


def target_batch(loss, target) -> np.ndarray:
    """One sample's target as the loss takes a batch of them: a class label, or targets."""
    target = np.asarray(target)
    if loss.name == "softmax_crossentropy" and target.ndim == 0:
        return target.reshape(1).astype(np.intp)
    return target.reshape((1, *target.shape)) if target.ndim else target.reshape(1, 1)


def loss_lines(loss, outputs, target, value, probabilities) -> list[str]:
    """The loss formula with this sample's numbers filled in."""
    f = format_number
    if loss.name == "softmax_crossentropy":
        true = int(np.ravel(target)[0])
        p = float(probabilities[true])
        shown = ", ".join(f"{k}: {f(v)}" for k, v in enumerate(probabilities[:10]))
        more = " …" if len(probabilities) > 10 else ""
        return [
            f"z = [{', '.join(f(v) for v in outputs[:10])}{more}]",
            f"p = softmax(z) = [{shown}{more}]",
            f"L = −log p_{true} = −log({f(p)}) = {f(value)}",
        ]
    y, t = np.ravel(outputs), np.ravel(target).astype(np.float64)
    n = len(y)
    terms = y - t
    if loss.name == "mse":
        parts = " + ".join(f"({f(a)} − {f(b)})²" for a, b in zip(y[:6], t[:6], strict=False))
        more = " + …" if n > 6 else ""
        return [f"L = ({parts}{more}) / {n} = {f(value)}"]
    if loss.name == "mae":
        parts = " + ".join(f"|{f(a)} − {f(b)}|" for a, b in zip(y[:6], t[:6], strict=False))
        return [f"L = ({parts}{' + …' if n > 6 else ''}) / {n} = {f(value)}"]
    if loss.name == "binary_crossentropy":
        p = act.sigmoid(y.astype(np.float64))
        return [
            f"p = sigmoid(z) = [{', '.join(f(v) for v in p[:6])}]",
            f"t = [{', '.join(f(v) for v in t[:6])}]   L = {f(value)}",
        ]
    return [f"y − t = [{', '.join(f(v) for v in terms[:6])}]   L = {f(value)}"]
