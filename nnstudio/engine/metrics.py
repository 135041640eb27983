"""Metrics: accuracy, confusion matrix, per-class precision/recall/F1, regression errors.

Labels may be given as integer labels (N,), one-hot rows (N, K) or scores/probabilities
(N, K) — rows are turned into labels by argmax, a single score column by ``> 0.5``.
Reports contain plain Python floats and lists only, so they go straight into JSON.

>>> import numpy as np
>>> y_true = np.array([0, 1, 1, 2])
>>> y_pred = np.array([0, 1, 2, 2])
>>> accuracy(y_true, y_pred)
0.75
>>> confusion_matrix(y_true, y_pred, 3).tolist()
[[1, 0, 0], [0, 1, 1], [0, 0, 1]]
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "accuracy",
    "class_probabilities",
    "classification_report",
    "confusion_matrix",
    "evaluate",
    "outputs_and_loss",
    "predicted_labels",
    "regression_report",
    "task_report",
    "to_labels",
]


def to_labels(y: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Integer labels from labels (N,), one-hot/score rows (N, K) or one score column (N, 1).

    >>> to_labels(np.array([[0.1, 0.9], [0.8, 0.2]])).tolist()
    [1, 0]
    >>> to_labels(np.array([[0.7], [0.2]])).tolist()
    [1, 0]
    """
    y = np.asarray(y)
    if y.ndim == 1:
        if y.dtype.kind == "f" and not np.all(np.mod(y, 1) == 0):
            return (y > threshold).astype(np.int64)  # probabilities of the positive class
        return y.astype(np.int64, copy=False)
    if y.ndim == 2 and y.shape[1] == 1:
        return (y[:, 0] > threshold).astype(np.int64)
    if y.ndim == 2:
        return np.argmax(y, axis=1)
    raise ValueError(f"Labels must be (N,) or (N, classes); got shape {y.shape}")


def predicted_labels(outputs: np.ndarray) -> np.ndarray:
    """Labels from raw model outputs (logits): argmax, or ``logit > 0`` for one output."""
    outputs = np.asarray(outputs)
    if outputs.ndim == 2 and outputs.shape[1] == 1:
        return (outputs[:, 0] > 0).astype(np.int64)
    return np.argmax(outputs.reshape(len(outputs), -1), axis=1)


def class_probabilities(outputs: np.ndarray, loss) -> np.ndarray:
    """(N, K) class probabilities from raw model outputs and the classification loss they were
    trained with (its softmax or sigmoid). One sigmoid output, the probability of class 1,
    becomes the two columns (1 - p, p), so every caller reads K columns for K classes.

    >>> class_probabilities(np.array([[0.0], [np.log(3.0)]]), "binary_crossentropy").tolist()
    [[0.5, 0.5], [0.25, 0.75]]
    """
    loss = _loss_object(loss)
    if loss.task != "classification":
        raise ValueError(f"the loss {loss.name!r} is for regression: it gives no probabilities")
    probabilities = np.asarray(loss.output_activation(np.asarray(outputs)))
    probabilities = probabilities.reshape(len(probabilities), -1)
    if probabilities.shape[1] == 1:
        probabilities = np.concatenate([1.0 - probabilities, probabilities], axis=1)
    return probabilities


def _loss_object(loss):
    """A loss object from itself or its name ("softmax_crossentropy")."""
    if isinstance(loss, str):
        from nnstudio.engine.losses import get_loss

        return get_loss(loss)
    return loss


def _pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    true, pred = to_labels(y_true), to_labels(y_pred)
    if true.shape != pred.shape:
        raise ValueError(
            f"y_true and y_pred must have the same number of samples; "
            f"got {len(true)} and {len(pred)}"
        )
    return true, pred


def accuracy(y_true, y_pred) -> float:
    """Fraction of samples whose predicted label equals the true one.

    >>> accuracy([1, 0, 1], np.array([[0.2, 0.8], [0.6, 0.4], [0.9, 0.1]]))
    0.6666666666666666
    """
    true, pred = _pair(y_true, y_pred)
    if true.size == 0:
        raise ValueError("accuracy needs at least one sample; got none")
    return float(np.count_nonzero(true == pred) / true.size)


def confusion_matrix(y_true, y_pred, n_classes: int | None = None) -> np.ndarray:
    """Counts ``C[i, j]`` of samples of true class i predicted as class j (int64, K x K).

    >>> confusion_matrix([0, 0, 1], [0, 1, 1]).tolist()
    [[1, 1], [0, 1]]
    """
    true, pred = _pair(y_true, y_pred)
    if n_classes is None:
        n_classes = int(max(true.max(initial=-1), pred.max(initial=-1))) + 1
    n_classes = int(n_classes)
    if n_classes < 1:
        raise ValueError(f"n_classes must be >= 1; got {n_classes}")
    for name, labels in (("y_true", true), ("y_pred", pred)):
        if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
            raise ValueError(
                f"{name} has labels outside 0..{n_classes - 1} "
                f"(min {labels.min()}, max {labels.max()}); check n_classes"
            )
    # One bincount over combined indices: no Python loop over samples or classes.
    counts = np.bincount(true * n_classes + pred, minlength=n_classes * n_classes)
    return counts.reshape(n_classes, n_classes).astype(np.int64)


def _safe_divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Element-wise division giving 0 where the denominator is 0 (sklearn's zero_division=0)."""
    out = np.zeros(numerator.shape, dtype=np.float64)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def classification_report(
    y_true, y_pred, n_classes: int | None = None, class_names: list[str] | None = None
) -> dict:
    """Accuracy, per-class precision/recall/F1/support, macro and weighted averages.

    >>> report = classification_report([0, 1, 1, 1], [0, 1, 1, 0], class_names=["cat", "dog"])
    >>> report["per_class"][1]
    {'class': 'dog', 'precision': 1.0, 'recall': 0.6666666666666666, 'f1': 0.8, 'support': 3}
    >>> round(report["macro"]["f1"], 4)
    0.7333
    """
    matrix = confusion_matrix(y_true, y_pred, n_classes)
    k = matrix.shape[0]
    if class_names is not None and len(class_names) != k:
        raise ValueError(f"class_names has {len(class_names)} names for {k} classes")
    names = list(class_names) if class_names is not None else [str(i) for i in range(k)]
    true_positive = np.diag(matrix).astype(np.float64)
    support = matrix.sum(axis=1)
    precision = _safe_divide(true_positive, matrix.sum(axis=0))
    recall = _safe_divide(true_positive, support)
    f1 = _safe_divide(2 * precision * recall, precision + recall)
    total = int(support.sum())
    weights = support / total if total else np.zeros(k)
    per_class = [
        {
            "class": names[i],
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i in range(k)
    ]
    return {
        "accuracy": float(true_positive.sum() / total) if total else 0.0,
        "per_class": per_class,
        "macro": {
            "precision": float(precision.mean()),
            "recall": float(recall.mean()),
            "f1": float(f1.mean()),
            "support": total,
        },
        "weighted": {
            "precision": float(weights @ precision),
            "recall": float(weights @ recall),
            "f1": float(weights @ f1),
            "support": total,
        },
        "confusion_matrix": matrix.tolist(),
    }


def regression_report(y_true, y_pred) -> dict:
    """MSE, RMSE, MAE and R² (R² over all outputs together, 1.0 = perfect, 0 = the mean).

    >>> regression_report(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 4.0]))
    {'mse': 0.3333333333333333, 'rmse': 0.5773502691896257, 'mae': 0.3333333333333333, 'r2': 0.5}
    """
    true = np.asarray(y_true, dtype=np.float64)
    pred = np.asarray(y_pred, dtype=np.float64)
    if true.ndim == 1 and pred.ndim == 2 and pred.shape[1] == 1:
        pred = pred[:, 0]
    if true.shape != pred.shape:
        raise ValueError(f"y_true has shape {true.shape} but y_pred has shape {pred.shape}")
    if true.size == 0:
        raise ValueError("regression_report needs at least one sample; got none")
    error = pred - true
    mse = float(np.mean(error**2))
    total = float(np.sum((true - true.mean(axis=0)) ** 2))
    residual = float(np.sum(error**2))
    # A constant target has no variance to explain: perfect predictions count as 1, else 0.
    r2 = 1.0 - residual / total if total > 0 else (1.0 if residual == 0 else 0.0)
    return {"mse": mse, "rmse": float(np.sqrt(mse)), "mae": float(np.mean(np.abs(error))), "r2": r2}


def outputs_and_loss(model, loss, x, y, batch_size: int = 1024) -> tuple[np.ndarray, float]:
    """The model's raw outputs over ``x`` in eval mode, batch by batch (memory stays bounded on
    a big test set), and the mean loss over all samples (batches weighted by size)."""
    loss = _loss_object(loss)
    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} samples but y has {len(y)}")
    if len(x) == 0:
        raise ValueError("evaluate needs at least one sample; got none")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1; got {batch_size}")
    outputs = []
    total_loss = 0.0
    for start in range(0, len(x), batch_size):
        out = model.forward(x[start : start + batch_size], training=False)
        total_loss += loss.value(out, y[start : start + batch_size]) * len(out)
        outputs.append(out)
    return np.concatenate(outputs), float(total_loss / len(x))


def task_report(outputs, y, loss, class_names=None, n_classes: int | None = None) -> dict:
    """The report for the loss's task from raw outputs: classification_report (labels by
    argmax, or logit > 0 for one output) plus ``"n_classes"``, or regression_report (a
    regression network's outputs are its predictions)."""
    loss = _loss_object(loss)
    y = np.asarray(y)
    if getattr(loss, "task", "classification") != "classification":
        return regression_report(y, outputs.reshape(y.shape) if outputs.size == y.size else outputs)
    if n_classes is None:
        n_classes = max(outputs.shape[1] if outputs.ndim == 2 else 1, 2)
    report = classification_report(to_labels(y), predicted_labels(outputs), n_classes, class_names)
    report["n_classes"] = int(n_classes)
    return report


def evaluate(model, loss, x, y, batch_size: int = 1024, class_names=None) -> dict:
    """Run ``model`` in eval mode over ``x`` in batches; the report for the loss's task + "loss".

    ``loss`` is a loss object (``value``, ``task``) or its name. Classification reports also
    hold ``"n_classes"``; the loss is the mean over all samples (batches weighted by size).
    ``nnstudio.project.evaluation`` adds probabilities, mistakes and saliency on top.
    """
    outputs, mean_loss = outputs_and_loss(model, loss, x, y, batch_size)
    report = task_report(outputs, y, loss, class_names)
    report["loss"] = mean_loss
    return report
