"""Evaluate on a model that makes no mistake (issue 23, item 11): the mistakes gallery is
empty instead of failing to reshape nothing."""

from __future__ import annotations

import numpy as np

from nnstudio.ui.panels.mistakes_gallery import ExamplesView, example_columns, example_tiles


def test_no_mistakes_make_an_empty_table_and_an_empty_grid(qtbot):
    from nnstudio.data import load_dataset

    dataset = load_dataset("moons", samples=100, noise=0.0, seed=0)
    n = len(dataset.x_test)
    result = {
        "x": dataset.x_test,
        "y_true": dataset.y_test,
        "y_pred": dataset.y_test,
        "probabilities": np.eye(2, dtype=np.float32)[dataset.y_test],
        "split": "test",
    }
    none = np.array([], dtype=np.int64)
    assert example_columns(result, none, dataset.class_names, None) == []
    assert example_columns(result, [], dataset.class_names, None) == []  # a plain empty list
    assert example_tiles(result, none, dataset.class_names) == []
    view = ExamplesView("No mistakes")
    qtbot.addWidget(view)
    view.show_examples(result, none, dataset)
    assert view.example_count() == 0
    view.show_examples(result, np.arange(n), dataset)  # and the same view still shows rows
    assert view.example_count() == n


def test_evaluate_a_model_trained_to_100_percent(qtbot, window, ready):
    """Moons without noise, trained until the test split has no mistake, then Evaluate."""
    layers = [{"type": "Dense", "units": 16, "activation": "relu"} for _ in range(2)]
    window.builder.set_config({"layers": [*layers, {"type": "Dense", "units": 2}]})
    window.data_panel.set_spec("moons", {"samples": 300, "noise": 0.0})
    ready(window, "moons")
    window.hyperparameters.epochs_box.setValue(60)
    window.toolbar_lr.setValue(0.03)
    window.tabs.setCurrentWidget(window.evaluation)
    report = None
    for _ in range(6):  # each round trains 60 more epochs; moons without noise get there
        with qtbot.waitSignal(window.training_finished, timeout=60_000):
            window.actionTrain.trigger()
        with qtbot.waitSignal(window.evaluation.evaluated, timeout=30_000) as blocker:
            window.evaluation.evaluate_button.click()
        report = blocker.args[0]
        if report["accuracy"] == 1.0:
            break
    assert report is not None and report["accuracy"] == 1.0, report
    assert window.evaluation.mistakes.example_count() == 0
    assert "0 mistakes" in window.evaluation.summary.text()
