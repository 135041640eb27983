"""Evaluating a model on a dataset: the numbers ``nnstudio evaluate`` prints and the Evaluate
tab shows both come from here (Qt-free, so a worker thread or a test runs it as it is).

``evaluate`` is plain NumPy over the engine (outputs and loss in batches, the metrics report,
class probabilities, the most confident mistakes and their saliency), and deterministic: the
same model, loss and data always give the same report, order of mistakes and saliency maps.

>>> from nnstudio.data import load_dataset
>>> from nnstudio.engine.layers import Dense
>>> from nnstudio.engine.model import Sequential
>>> dataset = load_dataset("moons", samples=100, seed=0)
>>> model = Sequential([Dense(2)], input_shape=(2,), seed=0)
>>> result = evaluate_dataset(model, "softmax_crossentropy", dataset)
>>> result["split"], result["report"]["samples"], result["probabilities"].shape
('test', 15, (15, 2))
"""

from __future__ import annotations

import numpy as np

from nnstudio.engine import metrics
from nnstudio.engine.losses import get_loss

MISTAKES_SHOWN = 24
EXAMPLES_SHOWN = 60
BATCH = 1024


def evaluate(
    model, loss, x, y, *, class_names=None, n_classes=None, saliency=False, cancel=None
) -> dict:
    """Outputs, report and what the views need, for inputs ``x`` (already scaled for the
    model) and targets ``y``; ``loss`` is a loss or its name.

    Keys: ``x``, ``y_true``, ``outputs``, ``y_pred``, ``task`` and ``report`` (the engine's
    metrics report plus ``"loss"``); classification adds ``probabilities`` (N, K),
    ``mistakes`` (indices, most confident first) and ``saliency`` (the gradient of the
    predicted class for each mistake when ``saliency`` is true, else None). ``cancel``, a
    threading.Event, skips the saliency once set.
    """
    loss = get_loss(loss)  # a name or the loss itself
    outputs, mean_loss = metrics.outputs_and_loss(model, loss, x, y, BATCH)
    report = metrics.task_report(outputs, y, loss, class_names, n_classes)
    report["loss"] = mean_loss
    result = {"x": x, "y_true": y, "outputs": outputs, "task": loss.task, "report": report}
    if loss.task != "classification":
        result["y_pred"] = outputs.reshape(np.shape(y)) if outputs.size == np.size(y) else outputs
        return result
    predicted = metrics.predicted_labels(outputs)
    probabilities = metrics.class_probabilities(outputs, loss)
    mistakes = confident_mistakes(y, predicted, probabilities)
    cancelled = cancel is not None and cancel.is_set()
    result.update(
        y_pred=predicted,
        probabilities=probabilities,
        mistakes=mistakes,
        saliency=_saliency(model, x, predicted, mistakes) if saliency and not cancelled else None,
    )
    return result


def mean_loss(model, loss, x, y) -> float:
    """The mean loss over ``x``, ``y`` in evaluation mode, computed as `evaluate` reports it
    (same batches, same sums)."""
    return metrics.outputs_and_loss(model, get_loss(loss), x, y, BATCH)[1]


def evaluate_dataset(model, loss, dataset, cancel=None) -> dict:
    """`evaluate` on the test split (the validation split when there is no test split), after
    checking that the model fits the dataset. Adds ``split`` to the result, and ``task``,
    ``split`` and ``samples`` to its report. Saliency is computed for image data."""
    loss = get_loss(loss)  # a name or the loss itself
    split, x, y = evaluation_split(dataset)
    if len(x) == 0:
        raise ValueError(
            f"{dataset.name} has no test or validation samples to evaluate on. "
            "Give the test split a share above 0 % in the data panel."
        )
    check_fits(model, loss, dataset)
    classes = dataset.n_classes if loss.task == "classification" else None
    result = evaluate(
        model,
        loss,
        x,
        y,
        class_names=dataset.class_names,
        n_classes=classes,
        saliency=dataset.is_image,
        cancel=cancel,
    )
    result["split"] = split
    result["report"].update(task=loss.task, split=split, samples=int(len(x)))
    return result


def evaluation_split(dataset) -> tuple[str, np.ndarray, np.ndarray]:
    """The test split, or the validation split when there is no test split."""
    if len(dataset.x_test):
        return "test", dataset.x_test, dataset.y_test
    return "validation", dataset.x_val, dataset.y_val


def fit_problem(model, loss, dataset) -> tuple[str, str] | None:
    """What keeps ``model``, trained with ``loss`` (or its name), from being evaluated on
    ``dataset``: (the problem, said of the model, and what to do), or None when it fits.

    >>> from nnstudio.data import load_dataset
    >>> from nnstudio.engine.layers import Dense
    >>> from nnstudio.engine.model import Sequential
    >>> moons = load_dataset("moons", samples=40)
    >>> fit_problem(Sequential([Dense(3)], input_shape=(2,)), "softmax_crossentropy", moons)[0]
    "has 3 outputs but dataset 'moons' has 2 classes"
    """
    loss = get_loss(loss)
    name, expected = dataset.name, tuple(dataset.input_shape)
    shape = getattr(model, "input_shape", None)
    if shape is not None and tuple(shape) != expected:
        return (
            f"takes inputs of shape {tuple(shape)} but dataset {name!r} has {expected}",
            "Train a model on this dataset, or pick the dataset it was trained on.",
        )
    if loss.task != dataset.task:
        return (
            f"was trained with {loss.name!r}, a {loss.task} loss, but dataset {name!r} is a "
            f"{dataset.task} dataset",
            "Choose a matching loss in the hyperparameters and train again.",
        )
    output_shape = getattr(model, "output_shape", None)
    if loss.task == "classification" and output_shape is not None:
        outputs = int(np.prod(output_shape))
        one_sigmoid = loss.name == "binary_crossentropy" and dataset.n_classes == 2
        if outputs != (1 if one_sigmoid else dataset.n_classes):
            return (
                f"has {outputs} outputs but dataset {name!r} has {dataset.n_classes} classes",
                "Give the last layer one output per class and train again.",
            )
    return None


def check_fits(model, loss, dataset) -> None:
    """Refuse, in words, a model whose input, loss or outputs do not match the dataset."""
    problem = fit_problem(model, loss, dataset)
    if problem is not None:
        what, advice = problem
        raise ValueError(f"the model {what}. {advice}")


def confident_mistakes(y_true, y_pred, probabilities, count: int = MISTAKES_SHOWN) -> np.ndarray:
    """Indices of wrong predictions, most confident first (ties broken by index: stable)."""
    wrong = np.flatnonzero(np.asarray(y_true) != np.asarray(y_pred))
    confidence = probabilities[wrong, np.asarray(y_pred)[wrong]]
    return wrong[np.argsort(-confidence, kind="stable")][:count]


def cell_examples(
    result: dict, true_class: int, predicted_class: int, count: int = EXAMPLES_SHOWN
) -> np.ndarray:
    """Indices behind a confusion-matrix cell, most confident first."""
    y_true, y_pred = result["y_true"], result["y_pred"]
    chosen = np.flatnonzero((y_true == true_class) & (y_pred == predicted_class))
    confidence = result["probabilities"][chosen, predicted_class]
    return chosen[np.argsort(-confidence, kind="stable")][:count]


def _saliency(model, x, predicted, indices):
    """d output[predicted] / d input for the mistakes (where a model's attention reads)."""
    if len(indices) == 0:
        return None
    return np.asarray(model.input_gradient(x[indices], class_index=predicted[indices]))
