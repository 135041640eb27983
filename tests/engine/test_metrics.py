"""Metrics: accuracy, confusion matrix, precision/recall/F1 by hand, regression errors."""

import doctest
import json

import numpy as np
import pytest

from nnstudio.engine import metrics
from nnstudio.engine.metrics import (
    accuracy,
    classification_report,
    confusion_matrix,
    evaluate,
    predicted_labels,
    regression_report,
    to_labels,
)


def test_docstring_examples_run():
    assert doctest.testmod(metrics).failed == 0


def test_accuracy_accepts_labels_onehot_and_scores():
    y = np.array([0, 2, 1, 2])
    onehot = np.eye(3)[y]
    scores = np.array([[0.9, 0.05, 0.05], [0.1, 0.2, 0.7], [0.3, 0.3, 0.4], [0.0, 0.0, 1.0]])
    assert accuracy(y, y) == 1.0
    assert accuracy(onehot, scores) == 0.75
    assert accuracy(y, np.array([[0.8], [0.1], [0.9], [0.4]]) > 0.5) == 0.25


def test_to_labels_binary_probabilities():
    assert to_labels(np.array([0.2, 0.7])).tolist() == [0, 1]
    assert to_labels(np.array([1.0, 0.0])).tolist() == [1, 0]
    assert predicted_labels(np.array([[-1.0], [2.0]])).tolist() == [0, 1]


def test_confusion_matrix_counts():
    matrix = confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2], 3)
    assert matrix.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    assert matrix.dtype == np.int64
    assert confusion_matrix([0], [0], 4).shape == (4, 4)


def test_confusion_matrix_rejects_labels_out_of_range():
    with pytest.raises(ValueError, match="y_pred has labels outside 0..1"):
        confusion_matrix([0, 1], [0, 2], 2)


def test_classification_report_by_hand():
    # classes: 0 -> tp 1, fp 1 (a 2 predicted as 0), fn 1 (a 0 predicted as 1)
    # precision0 = 1/2, recall0 = 1/2, f1 = 1/2
    # class 1: tp 1, fp 1, fn 0 -> p = 1/2, r = 1, f1 = 2/3
    # class 2: tp 2, fp 0, fn 1 -> p = 1, r = 2/3, f1 = 0.8
    report = classification_report(
        [0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2], 3, class_names=["a", "b", "c"]
    )
    per_class = {row["class"]: row for row in report["per_class"]}
    assert per_class["a"] == {
        "class": "a",
        "precision": 0.5,
        "recall": 0.5,
        "f1": 0.5,
        "support": 2,
    }
    assert per_class["b"]["precision"] == 0.5 and per_class["b"]["f1"] == pytest.approx(2 / 3)
    assert per_class["c"]["recall"] == pytest.approx(2 / 3) and per_class["c"][
        "f1"
    ] == pytest.approx(0.8)
    assert report["accuracy"] == pytest.approx(4 / 6)
    assert report["macro"]["precision"] == pytest.approx((0.5 + 0.5 + 1) / 3)
    assert report["macro"]["f1"] == pytest.approx((0.5 + 2 / 3 + 0.8) / 3)
    assert report["weighted"]["recall"] == pytest.approx((2 * 0.5 + 1 * 1 + 3 * 2 / 3) / 6)
    assert report["confusion_matrix"] == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    json.dumps(report)  # plain values only


def test_class_never_predicted_gets_zero_precision_without_warning():
    report = classification_report([0, 1], [0, 0], 2)
    assert report["per_class"][1]["precision"] == 0.0
    assert report["per_class"][1]["f1"] == 0.0


def test_class_names_must_match_classes():
    with pytest.raises(ValueError, match="class_names has 2 names for 3 classes"):
        classification_report([0, 1, 2], [0, 1, 2], 3, class_names=["x", "y"])


def test_regression_report_by_hand():
    # errors 0, 0, 1 -> mse 1/3, mae 1/3; total sum of squares 2 -> r2 = 1 - 1/2
    report = regression_report([1.0, 2.0, 3.0], np.array([[1.0], [2.0], [4.0]]))
    assert report == pytest.approx({"mse": 1 / 3, "rmse": (1 / 3) ** 0.5, "mae": 1 / 3, "r2": 0.5})


def test_regression_report_multi_output_and_constant_target():
    y = np.array([[1.0, 0.0], [3.0, 2.0]])
    assert regression_report(y, y)["r2"] == 1.0
    assert regression_report([2.0, 2.0], [2.0, 2.0])["r2"] == 1.0
    assert regression_report([2.0, 2.0], [1.0, 3.0])["r2"] == 0.0
    with pytest.raises(ValueError, match="shape"):
        regression_report(y, y[:, :1])


class LinearModel:
    """A stand-in model: outputs = x @ W, eval mode only, records batch sizes."""

    def __init__(self, weights):
        self.weights = weights
        self.batches = []

    def forward(self, x, training=False):
        assert training is False
        self.batches.append(len(x))
        return x @ self.weights


class MeanSquared:
    task = "regression"

    def value(self, outputs, targets):
        return float(np.mean((outputs - targets) ** 2))


class ArgmaxLoss:
    task = "classification"

    def value(self, outputs, targets):
        return float(np.mean(np.argmax(outputs, axis=1) != targets))


def test_evaluate_classification_in_batches():
    x = np.eye(3)[[0, 1, 2, 0, 1]]
    model = LinearModel(np.eye(3))
    report = evaluate(model, ArgmaxLoss(), x, np.array([0, 1, 1, 0, 1]), batch_size=2)
    assert model.batches == [2, 2, 1]
    assert report["accuracy"] == pytest.approx(0.8)
    assert report["loss"] == pytest.approx(0.2)  # weighted by batch size, not per batch
    assert report["n_classes"] == 3
    assert report["confusion_matrix"][2] == [0, 0, 0]


def test_evaluate_regression():
    x = np.array([[1.0], [2.0], [3.0]])
    report = evaluate(
        LinearModel(np.array([[2.0]])), MeanSquared(), x, np.array([[2.0], [4.0], [7.0]])
    )
    assert report["mse"] == pytest.approx(1 / 3)
    assert report["loss"] == pytest.approx(1 / 3)


def test_evaluate_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="x has 2 samples but y has 3"):
        evaluate(LinearModel(np.eye(2)), ArgmaxLoss(), np.eye(2), np.array([0, 1, 1]))


def test_class_probabilities_from_softmax_and_from_one_sigmoid_output():
    from nnstudio.engine.metrics import class_probabilities

    logits = np.array([[1.0, 2.0, 0.5], [0.0, 0.0, 0.0]], np.float32)
    probabilities = class_probabilities(logits, "softmax_crossentropy")
    assert probabilities.dtype == np.float32  # the outputs' precision, not a float64 copy
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(probabilities[1], [1 / 3] * 3, rtol=1e-6)
    assert probabilities[0].argmax() == 1
    one_output = class_probabilities(np.array([[2.0], [-1.0]]), "binary_crossentropy")
    p = 1.0 / (1.0 + np.exp(-np.array([2.0, -1.0])))
    np.testing.assert_allclose(one_output, np.stack([1.0 - p, p], axis=1))
    # Labels read from the probabilities agree with the labels read from the logits.
    assert (
        one_output.argmax(axis=1).tolist() == predicted_labels(np.array([[2.0], [-1.0]])).tolist()
    )
    with pytest.raises(ValueError, match="regression"):
        class_probabilities(np.zeros((2, 1)), "mse")
