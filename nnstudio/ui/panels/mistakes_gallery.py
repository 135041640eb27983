"""What the evaluation tab shows, computed off the GUI thread, and its example views.

``compute_evaluation`` is plain NumPy over the engine (predict, output_activation, metrics,
input_gradient), so it runs in a worker job and is deterministic: the same model, loss and data
always give the same report, order of examples and saliency maps.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QStackedWidget

from nnstudio.engine import metrics
from nnstudio.ui.plots.data_preview import class_label
from nnstudio.ui.widgets.image_gallery import (
    ImageGrid,
    Tile,
    saliency_overlay,
    scrolling,
    to_display_rgb,
)
from nnstudio.ui.widgets.table_preview import ColumnTable

MISTAKES_SHOWN = 24
EXAMPLES_SHOWN = 60
BATCH = 512


def evaluation_split(dataset) -> tuple[str, np.ndarray, np.ndarray]:
    """The test split, or the validation split when there is no test split."""
    if len(dataset.x_test):
        return "test", dataset.x_test, dataset.y_test
    return "validation", dataset.x_val, dataset.y_val


def class_probabilities(loss, outputs: np.ndarray) -> np.ndarray:
    """(N, K) probabilities; a single sigmoid output becomes the two columns (1 − p, p)."""
    probabilities = np.asarray(loss.output_activation(outputs), dtype=np.float64)
    probabilities = probabilities.reshape(len(probabilities), -1)
    if probabilities.shape[1] == 1:
        probabilities = np.concatenate([1.0 - probabilities, probabilities], axis=1)
    return probabilities


def compute_evaluation(model, loss, dataset, cancel=None) -> dict:
    """Report plus everything the views need (predictions, probabilities, mistakes, saliency)."""
    split, x, y = evaluation_split(dataset)
    if len(x) == 0:
        raise ValueError(
            f"{dataset.name} has no test or validation samples to evaluate on. "
            "Give the test split a share above 0 % in the data panel."
        )
    check_fits(model, loss, dataset)
    outputs = model.predict(x, batch_size=BATCH)
    result = {"split": split, "x": x, "y_true": y, "outputs": outputs, "task": loss.task}
    if loss.task == "regression":
        target = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
        predicted = np.asarray(loss.output_activation(outputs), np.float64).reshape(len(y), -1)
        report = metrics.regression_report(target, predicted)
        result.update(y_pred=predicted)
    else:
        probabilities = class_probabilities(loss, outputs)
        predicted = probabilities.argmax(axis=1)
        report = metrics.classification_report(y, predicted, dataset.n_classes, dataset.class_names)
        mistakes = confident_mistakes(y, predicted, probabilities)
        result.update(
            y_pred=predicted,
            probabilities=probabilities,
            mistakes=mistakes,
            saliency=_saliency(model, dataset, x, predicted, mistakes, cancel),
        )
    report.update(
        loss=float(loss.value(outputs, y)), task=loss.task, split=split, samples=int(len(x))
    )
    result["report"] = report
    return result


def check_fits(model, loss, dataset) -> None:
    """Refuse, in words, a model whose input or output does not match the dataset."""
    expected = tuple(dataset.input_shape)
    shape = getattr(model, "input_shape", None)
    if shape is not None and tuple(shape) != expected:
        raise ValueError(
            f"the model takes inputs of shape {tuple(shape)} but {dataset.name} has "
            f"{expected}. Train a model on this dataset, or pick the dataset it was trained on."
        )
    if loss.task != dataset.task:
        raise ValueError(
            f"the loss {loss.name!r} is for {loss.task} but {dataset.name} is a {dataset.task} "
            "dataset. Choose a matching loss in the hyperparameters and train again."
        )


def confident_mistakes(y_true, y_pred, probabilities, count: int = MISTAKES_SHOWN) -> np.ndarray:
    """Indices of wrong predictions, most confident first (ties broken by index: stable)."""
    wrong = np.flatnonzero(np.asarray(y_true) != np.asarray(y_pred))
    confidence = probabilities[wrong, np.asarray(y_pred)[wrong]]
    return wrong[np.argsort(-confidence, kind="stable")][:count]


def _saliency(model, dataset, x, predicted, indices, cancel):
    """d output[predicted] / d input for the mistakes (images only: that is where it reads)."""
    if not dataset.is_image or len(indices) == 0 or (cancel is not None and cancel.is_set()):
        return None
    return np.asarray(model.input_gradient(x[indices], class_index=predicted[indices]))


def cell_examples(
    result: dict, true_class: int, predicted_class: int, count: int = EXAMPLES_SHOWN
) -> np.ndarray:
    """Indices behind a confusion cell, most confident first."""
    y_true, y_pred = result["y_true"], result["y_pred"]
    chosen = np.flatnonzero((y_true == true_class) & (y_pred == predicted_class))
    confidence = result["probabilities"][chosen, predicted_class]
    return chosen[np.argsort(-confidence, kind="stable")][:count]


def probability_text(probabilities, class_names) -> str:
    ranked = np.argsort(-probabilities, kind="stable")
    return "\n".join(
        f"{class_label(class_names, int(k))}: {100 * probabilities[k]:.1f} %" for k in ranked[:10]
    )


def example_tiles(result, indices, class_names, saliency=None) -> list[Tile]:
    """Image tiles: "true → predicted p %" captions, probability bars, optional saliency."""
    if len(indices) == 0:
        return []
    rgb = to_display_rgb(result["x"][indices])
    tiles = []
    for position, index in enumerate(indices):
        true, pred = int(result["y_true"][index]), int(result["y_pred"][index])
        probabilities = result["probabilities"][index]
        image = rgb[position]
        if saliency is not None:
            image = saliency_overlay(image, saliency[position])
        name = class_label(class_names, pred)
        caption = (
            f"{name} {100 * probabilities[pred]:.0f}%"
            if true == pred
            else f"{class_label(class_names, true)}→{name} {100 * probabilities[pred]:.0f}%"
        )
        tip = (
            f"Sample {int(index)} of the {result['split']} split\n"
            f"true: {class_label(class_names, true)}, predicted: {name}\n\n"
            + probability_text(probabilities, class_names)
        )
        tiles.append(
            Tile(
                image,
                caption,
                "#202020" if true == pred else "#b00020",
                tip,
                probabilities,
                marked_class=true,
            )
        )
    return tiles


def example_columns(result, indices, class_names, feature_names) -> list:
    """Table columns: the sample's features, true and predicted class, and the probabilities."""
    x = np.asarray(result["x"])[indices].reshape(len(indices), -1)
    features = [
        (feature_names[i] if feature_names and i < len(feature_names) else f"x{i + 1}", x[:, i])
        for i in range(min(x.shape[1], 40))
    ]
    probabilities = result["probabilities"][indices]
    columns = [
        ("sample", np.asarray(indices)),
        ("true", [class_label(class_names, int(v)) for v in result["y_true"][indices]]),
        ("predicted", [class_label(class_names, int(v)) for v in result["y_pred"][indices]]),
    ]
    columns += [
        (f"P({class_label(class_names, k)})", probabilities[:, k])
        for k in range(probabilities.shape[1])
    ]
    return columns + features


class ExamplesView(QStackedWidget):
    """Images as a grid, anything else as a table — whichever suits the data."""

    def __init__(self, empty_text: str, parent=None):
        super().__init__(parent)
        self.grid = ImageGrid(image_size=56)
        self.grid.set_empty_text(empty_text)
        self.table = ColumnTable()
        self.addWidget(scrolling(self.grid))
        self.addWidget(self.table)

    def show_examples(self, result, indices, dataset, saliency=None) -> None:
        if dataset.is_image:
            self.grid.set_tiles(example_tiles(result, indices, dataset.class_names, saliency))
            self.setCurrentIndex(0)
        else:
            self.table.set_columns(
                example_columns(result, indices, dataset.class_names, dataset.feature_names)
            )
            self.setCurrentIndex(1)

    def clear(self) -> None:
        self.grid.set_tiles([])
        self.table.set_columns([])
        self.setCurrentIndex(0)

    def example_count(self) -> int:
        if self.currentIndex() == 0:
            return len(self.grid.tiles())
        return self.table.source.rowCount()
