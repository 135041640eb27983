"""Losses: value and gradient with respect to the network's raw outputs, averaged over the batch.

>>> import numpy as np
>>> loss = get_loss("softmax_crossentropy")
>>> value, grad = loss.value_and_grad(np.array([[2.0, 0.0]]), np.array([0]))
>>> round(value, 4), grad.shape
(0.1269, (1, 2))

The classification losses take logits (no softmax/sigmoid layer at the end) and fuse the output
function into the loss, which is both faster and stable: the values stay finite for logits of
±1e4. ``output_activation(outputs)`` turns outputs into what a user reads (probabilities for
classification, the outputs themselves for regression).

Element-wise losses (mse, mae, huber, binary cross-entropy) average over every output of every
sample, as Keras does; softmax cross-entropy averages over samples.

Each loss says what it is for (``task``: "classification" or "regression"), has a ``label`` and
``help`` for menus, and lists its settings (Huber's ``delta``) in ``SETTINGS``:

>>> Huber.task, Huber.label, [setting.name for setting in Huber.SETTINGS]
('regression', 'Huber', ['delta'])
>>> get_loss("huber", delta=2.0).get_config()
{'type': 'huber', 'delta': 2.0}
"""

from __future__ import annotations

import functools

import numpy as np

from .activations import sigmoid, softmax
from .blas import ones
from .settings import Configurable, Setting

#: Up to this many outputs per sample, softmax cross-entropy takes the row maxima on the
#: transposed scores (see _row_maxima).
SHORT_ROWS = 32


class Loss(Configurable):
    """Base class. Subclasses implement ``value_and_grad``."""

    name = "base"
    task = "regression"
    # How "See the math" writes the loss and its gradient (y: an output, t: its target).
    FORMULA = ""
    GRADIENT_FORMULA = "dL/dy"
    # True when a target is a class label (an integer), not a value for each output.
    takes_class_labels = False

    @classmethod
    def config_type(cls) -> str:
        return cls.name

    def value_and_grad(self, outputs: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
        raise NotImplementedError

    def value(self, outputs: np.ndarray, targets: np.ndarray) -> float:
        return self.value_and_grad(outputs, targets)[0]

    def output_activation(self, outputs: np.ndarray) -> np.ndarray:
        """What the outputs mean to a user: the predictions themselves for regression."""
        return outputs


def _regression_targets(outputs: np.ndarray, targets) -> np.ndarray:
    """Targets in the outputs' dtype and shape; (N,) targets fit (N, 1) outputs."""
    targets = np.asarray(targets, dtype=outputs.dtype)
    if (
        targets.shape != outputs.shape
        and targets.size == outputs.size
        and len(targets) == len(outputs)
    ):
        targets = targets.reshape(outputs.shape)
    if targets.shape != outputs.shape:
        raise ValueError(
            f"targets of shape {targets.shape} do not match the network's outputs "
            f"{outputs.shape}; the last layer needs one unit per target column."
        )
    return targets


class MeanSquaredError(Loss):
    """mean((y - t)^2). The usual regression loss; punishes large errors strongly."""

    name = "mse"
    label = "Mean squared error"
    FORMULA = "L = mean((y − t)²)"
    GRADIENT_FORMULA = "dL/dy = 2·(y − t) / n"
    help = "For predicting numbers; punishes big errors strongly."

    def value_and_grad(self, outputs, targets):
        diff = outputs - _regression_targets(outputs, targets)
        value = float(np.vdot(diff, diff)) / diff.size
        diff *= 2.0 / diff.size
        return value, diff


class MeanAbsoluteError(Loss):
    """mean(|y - t|). Robust to outliers; its gradient has constant size."""

    name = "mae"
    label = "Mean absolute error"
    FORMULA = "L = mean(|y − t|)"
    GRADIENT_FORMULA = "dL/dy = sign(y − t) / n"
    help = "For predicting numbers; robust to outliers, slower to settle."

    def value_and_grad(self, outputs, targets):
        diff = outputs - _regression_targets(outputs, targets)
        value = float(np.abs(diff).sum()) / diff.size
        grad = np.sign(diff)
        grad *= 1.0 / diff.size
        return value, grad


class Huber(Loss):
    """Squared error for |y - t| <= delta, linear beyond: MSE near the target, MAE far away.

    >>> Huber(delta=1.0).value(np.array([[3.0]]), np.array([[0.0]]))
    2.5
    """

    name = "huber"
    label = "Huber"
    FORMULA = "L = mean(½(y − t)² where |y − t| ≤ δ, else δ·(|y − t| − ½δ))"
    GRADIENT_FORMULA = "dL/dy = clip(y − t, −δ, δ) / n"
    help = "For predicting numbers: squared for small errors, absolute for big ones."
    SETTINGS = (
        Setting(
            "delta",
            "float",
            1.0,
            minimum=0,
            exclusive_minimum=True,
            label="δ",
            help="The error size where the loss turns from squared to linear, in the targets' "
            "units. 1.0 is standard.",
        ),
    )

    def value_and_grad(self, outputs, targets):
        diff = outputs - _regression_targets(outputs, targets)
        magnitude = np.abs(diff)
        small = magnitude <= self.delta
        quadratic = 0.5 * diff * diff
        linear = self.delta * (magnitude - 0.5 * self.delta)
        value = float(np.where(small, quadratic, linear).sum()) / diff.size
        grad = np.clip(diff, -self.delta, self.delta)
        grad *= 1.0 / diff.size
        return value, grad


class BinaryCrossEntropy(Loss):
    """Binary cross-entropy from logits: one sigmoid output per yes/no target in {0, 1}.

    Uses max(z, 0) - z t + log(1 + exp(-|z|)), which never overflows.
    """

    name = "binary_crossentropy"
    task = "classification"
    label = "Binary cross-entropy"
    FORMULA = "p = sigmoid(z);  L = mean(−t·log p − (1 − t)·log(1 − p))"
    GRADIENT_FORMULA = "dL/dz = (p − t) / n"
    help = "For two classes with one output (the sigmoid is applied inside)."

    def value_and_grad(self, outputs, targets):
        targets = _regression_targets(outputs, targets)
        per_element = np.maximum(outputs, 0.0) - outputs * targets
        per_element += np.log1p(np.exp(-np.abs(outputs)))
        value = float(per_element.sum()) / outputs.size
        grad = sigmoid(outputs)
        grad -= targets
        grad *= 1.0 / outputs.size
        return value, grad

    def output_activation(self, outputs):
        return sigmoid(outputs)


class SoftmaxCrossEntropy(Loss):
    """Softmax cross-entropy from logits; targets are int labels (N,) or one-hot (N, K).

    Fused with the softmax: loss = logsumexp(z) - z[target], gradient = softmax(z) - onehot,
    both computed from z - max(z) so nothing overflows.
    """

    name = "softmax_crossentropy"
    task = "classification"
    label = "Softmax cross-entropy"
    FORMULA = "p = softmax(z), p_k = exp(z_k) / Σ_j exp(z_j);  L = −log p_true"
    GRADIENT_FORMULA = "dL/dz = p − onehot(true class)"
    takes_class_labels = True
    help = (
        "For one class per sample out of several (MNIST, spiral). "
        "The last layer gives one raw score per class."
    )

    def value_and_grad(self, outputs, targets):
        if outputs.ndim != 2:
            raise ValueError(
                f"softmax_crossentropy needs outputs of shape (batch, classes); got "
                f"{outputs.shape}. End the network with Dense(n_classes)."
            )
        n, k = outputs.shape
        # C order whatever the outputs' layout: the true-class entries are picked by their
        # place in the flattened array.
        shifted = np.subtract(outputs, _row_maxima(outputs), order="C")
        exp = np.exp(shifted)
        # The row sums as a product with ones: a BLAS call, 2-4x faster than exp.sum(axis=1)
        # for a batch's few class scores.
        sum_exp = np.matmul(exp, ones(k, exp.dtype))
        log_sum_exp = np.log(sum_exp)
        # The gradient is of the mean over the batch: 1/n folds into the softmax's division.
        sum_exp *= n
        grad = np.divide(exp, sum_exp[:, None], out=exp)
        targets = np.asarray(targets)
        if targets.ndim == 1:
            picked = _row_starts(n, k) + _labels(targets, k)
            picked_sum = float(np.add.reduce(shifted.ravel().take(picked)))
            value = (float(np.add.reduce(log_sum_exp)) - picked_sum) / n
            grad.ravel()[picked] -= 1.0 / n
        elif targets.shape == outputs.shape:
            targets = targets.astype(outputs.dtype, copy=False)
            # sum_k t_k (lse - z_k); t need not be exactly one-hot (label smoothing works).
            weights = targets.sum(axis=1)
            value = (float(np.dot(log_sum_exp, weights)) - float(np.vdot(targets, shifted))) / n
            grad *= weights[:, None]
            grad -= targets * (1.0 / n)
        else:
            raise ValueError(
                f"softmax_crossentropy targets must be int labels of shape ({n},) or one-hot of "
                f"shape {outputs.shape}; got {targets.shape}."
            )
        return value, grad

    def output_activation(self, outputs):
        return softmax(outputs, axis=1)


def _row_maxima(z: np.ndarray) -> np.ndarray:
    """Each row's maximum, as a column. NumPy reduces a short last axis row by row: for a
    batch of 128 with 10 classes, the maxima down the columns of the transposed copy take
    a third of the time (and an eighth for 1,024 rows); long rows reduce well as they are."""
    if z.shape[1] <= SHORT_ROWS:
        # The ufunc's own reduction: ndarray.max adds a Python-level wrapper per call.
        return np.maximum.reduce(np.ascontiguousarray(z.T), axis=0)[:, None]
    return np.maximum.reduce(z, axis=1, keepdims=True)


@functools.lru_cache(maxsize=64)  # a few batch shapes
def _row_starts(rows: int, columns: int) -> np.ndarray:
    """Where each row of a C-ordered (rows, columns) array starts in its flattened form
    (read-only; made once per batch shape)."""
    starts = np.arange(0, rows * columns, columns, dtype=np.intp)
    starts.flags.writeable = False
    return starts


def _labels(targets: np.ndarray, n_classes: int) -> np.ndarray:
    """Integer class labels, checked against the number of outputs."""
    if targets.dtype.kind not in "iub":
        rounded = np.rint(targets)
        if not np.array_equal(rounded, targets):
            raise ValueError(
                "softmax_crossentropy needs whole-number class labels; got fractional values. "
                "Pass int labels or one-hot rows."
            )
        targets = rounded
    labels = targets.astype(np.intp, copy=False)
    if labels.size and (np.minimum.reduce(labels) < 0 or np.maximum.reduce(labels) >= n_classes):
        raise ValueError(
            f"class labels must be in 0..{n_classes - 1} for a network with {n_classes} "
            f"outputs; got labels from {labels.min()} to {labels.max()}. Make the last Dense "
            "layer have one unit per class."
        )
    return labels


LOSSES: dict[str, type[Loss]] = {
    cls.name: cls
    for cls in (MeanSquaredError, MeanAbsoluteError, Huber, BinaryCrossEntropy, SoftmaxCrossEntropy)
}


def loss_names() -> list[str]:
    """All loss names, in a stable order."""
    return list(LOSSES)


def loss_class(name: str) -> type[Loss]:
    """The loss class called ``name`` ("mse", "softmax_crossentropy", ...)."""
    if name not in LOSSES:
        raise ValueError(f"Could not interpret loss {name!r}. Known: {', '.join(LOSSES)}")
    return LOSSES[name]


def get_loss(name, **settings) -> Loss:
    """The loss called ``name`` (instances pass through); ``settings`` go to its constructor.

    >>> get_loss("huber", delta=2.0)
    Huber(delta=2.0)
    >>> get_loss("mse", delta=1.0)
    Traceback (most recent call last):
    ...
    ValueError: MeanSquaredError has no setting 'delta'. Known settings: none.
    """
    if isinstance(name, Loss):
        return name
    return loss_class(name)(**settings)
