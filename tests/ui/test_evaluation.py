"""Evaluation tab: numbers match the engine, confusion cells show the right examples, export."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from nnstudio.data import load_dataset
from nnstudio.engine import metrics
from nnstudio.engine.fit import FitConfig, fit
from nnstudio.engine.layers import Dense, Flatten
from nnstudio.engine.losses import get_loss
from nnstudio.engine.model import Sequential
from nnstudio.engine.optimizers import get_optimizer
from nnstudio.ui.panels.evaluation import EvaluationPanel


def trained(dataset, loss_name, epochs=15, hidden=16):
    model = Sequential(
        [Dense(hidden, activation="relu"), Dense(dataset.n_outputs)],
        input_shape=dataset.input_shape,
        seed=0,
    )
    loss = get_loss(loss_name)
    fit(
        model,
        loss,
        get_optimizer("adam", lr=0.02),
        dataset.x_train,
        dataset.y_train,
        FitConfig(epochs=epochs, batch_size=32, seed=0),
    )
    return model, loss


@pytest.fixture
def panel(qtbot):
    widget = EvaluationPanel()
    qtbot.addWidget(widget)
    widget.resize(1000, 760)
    yield widget
    widget.wait()


@pytest.fixture(scope="module")
def spiral():
    dataset = load_dataset("spiral", samples=600, noise=0.2, seed=0, classes=3)
    model, loss = trained(dataset, "softmax_crossentropy", epochs=10)
    return dataset, model, loss


def evaluate(qtbot, panel, model, loss, dataset):
    with qtbot.waitSignal(panel.evaluated, timeout=30000) as blocker:
        panel.evaluate(model, loss, dataset)
    return blocker.args[0]


def test_table_matches_the_engine_metrics(qtbot, panel, spiral):
    dataset, model, loss = spiral
    report = evaluate(qtbot, panel, model, loss, dataset)
    predicted = loss.output_activation(model.predict(dataset.x_test)).argmax(axis=1)
    expected = metrics.classification_report(dataset.y_test, predicted, 3, dataset.class_names)
    assert report["accuracy"] == pytest.approx(expected["accuracy"])
    assert report["split"] == "test" and report["samples"] == len(dataset.x_test)
    table = panel.metrics
    assert table.source.rowCount() == 3
    for row, values in enumerate(expected["per_class"]):
        assert table.cell_text(row, 0) == values["class"]
        assert float(table.cell_text(row, 1)) == pytest.approx(values["precision"], abs=1e-4)
        assert float(table.cell_text(row, 2)) == pytest.approx(values["recall"], abs=1e-4)
        assert float(table.cell_text(row, 3)) == pytest.approx(values["f1"], abs=1e-4)
        assert int(table.cell_text(row, 4)) == values["support"]
    assert float(panel.averages.cell_text(0, 3)) == pytest.approx(expected["macro"]["f1"], abs=1e-4)
    assert float(panel.averages.cell_text(1, 1)) == pytest.approx(
        expected["weighted"]["precision"], abs=1e-4
    )
    assert panel.confusion.matrix().tolist() == expected["confusion_matrix"]
    assert f"{100 * expected['accuracy']:.2f} %" in panel.summary.text()


def test_metrics_table_sorts_by_a_column(qtbot, panel, spiral):
    dataset, model, loss = spiral
    report = evaluate(qtbot, panel, model, loss, dataset)
    from PySide6.QtCore import Qt

    panel.metrics.sortByColumn(3, Qt.SortOrder.DescendingOrder)
    shown = [panel.metrics.cell_text(row, 0) for row in range(3)]
    by_f1 = sorted(report["per_class"], key=lambda r: -r["f1"])
    assert shown == [r["class"] for r in by_f1]


def test_clicking_a_cell_shows_its_examples(qtbot, panel, spiral):
    from PySide6.QtCore import Qt

    dataset, model, loss = spiral
    report = evaluate(qtbot, panel, model, loss, dataset)
    matrix = np.array(report["confusion_matrix"])
    off = matrix - np.diag(np.diag(matrix))
    true_class, predicted_class = np.unravel_index(off.argmax(), off.shape)
    assert off[true_class, predicted_class] > 0, "the fixture model should make some mistakes"
    panel.show()
    # Before a click the empty grid asks for one, once: no caption line repeats it.
    assert panel.examples_label.isHidden()
    center = panel.confusion.cell_rect(int(true_class), int(predicted_class)).center()
    with qtbot.waitSignal(panel.cell_selected) as blocker:
        qtbot.mouseClick(panel.confusion, Qt.MouseButton.LeftButton, pos=center)
    assert blocker.args == [int(true_class), int(predicted_class)]
    assert panel.examples_label.isVisible() and "predicted" in panel.examples_label.text()
    table = panel.examples.table
    assert panel.examples.example_count() == matrix[true_class, predicted_class]
    names = dataset.class_names
    samples = [int(table.source.value(r, 0)) for r in range(table.source.rowCount())]
    assert all(dataset.y_test[s] == true_class for s in samples)
    probabilities = loss.output_activation(model.predict(dataset.x_test[samples]))
    assert (probabilities.argmax(axis=1) == predicted_class).all()
    assert table.source.value(0, 1) == names[true_class]
    p_column = 3 + int(predicted_class)
    assert table.source.value(0, p_column) == pytest.approx(
        probabilities[0, predicted_class], abs=1e-5
    )


def test_regression_shows_errors_and_scatter(qtbot, panel):
    dataset = load_dataset("plane", samples=300, noise=0.05, seed=0)
    model, loss = trained(dataset, "mse", epochs=10)
    report = evaluate(qtbot, panel, model, loss, dataset)
    expected = metrics.regression_report(dataset.y_test, model.predict(dataset.x_test))
    for key in ("mse", "rmse", "mae", "r2"):
        assert report[key] == pytest.approx(expected[key], rel=1e-5)
    values = {
        panel.metrics.source.value(r, 0): panel.metrics.source.value(r, 1)
        for r in range(panel.metrics.source.rowCount())
    }
    assert values["R²"] == pytest.approx(expected["r2"], rel=1e-5)
    assert panel.plot_stack.currentWidget() is panel.scatter
    assert len(panel.scatter.points.data) == len(dataset.x_test)


def test_exports_write_csv_and_png(qtbot, panel, spiral, tmp_path):
    dataset, model, loss = spiral
    report = evaluate(qtbot, panel, model, loss, dataset)
    panel.export_metrics_csv(tmp_path / "m.csv")
    panel.export_confusion_csv(tmp_path / "c.csv")
    assert panel.export_plot_png(tmp_path / "cm.png")
    rows = list(csv.reader((tmp_path / "m.csv").read_text().splitlines()))
    assert rows[0] == ["class", "precision", "recall", "f1", "support"]
    assert float(rows[1][3]) == pytest.approx(report["per_class"][0]["f1"])
    assert rows[4][0] == "macro avg"
    matrix = list(csv.reader((tmp_path / "c.csv").read_text().splitlines()))
    assert [[int(v) for v in row[1:]] for row in matrix[1:]] == report["confusion_matrix"]
    assert (tmp_path / "cm.png").stat().st_size > 1000


def test_evaluation_is_deterministic_and_clear_resets(qtbot, panel, spiral):
    dataset, model, loss = spiral
    first = evaluate(qtbot, panel, model, loss, dataset)
    second = evaluate(qtbot, panel, model, loss, dataset)
    assert first == second
    panel.clear()
    assert panel.report() is None
    assert panel.confusion.matrix().size == 0


@pytest.mark.slow
def test_mnist_mistakes_carry_saliency(qtbot, panel, mnist_path, monkeypatch):
    monkeypatch.setenv("NNSTUDIO_MNIST_DIR", str(mnist_path))
    dataset = load_dataset("mnist", seed=0)
    model = Sequential([Flatten(), Dense(10)], input_shape=(1, 28, 28), seed=0)
    loss = get_loss("softmax_crossentropy")
    fit(
        model,
        loss,
        get_optimizer("adam", lr=0.01),
        dataset.x_train[:3000],
        dataset.y_train[:3000],
        FitConfig(epochs=1, batch_size=64, seed=0),
    )
    report = evaluate(qtbot, panel, model, loss, dataset)
    assert report["samples"] == 10000
    tiles = panel.mistakes.grid.tiles()
    assert len(tiles) == 24
    result = panel._result
    saliency = result["saliency"]
    assert saliency.shape == (24, 1, 28, 28)
    expected = model.input_gradient(
        dataset.x_test[result["mistakes"][:2]], class_index=result["y_pred"][result["mistakes"][:2]]
    )
    np.testing.assert_allclose(saliency[:2], expected, rtol=1e-5, atol=1e-6)
    assert all(t.caption_color == "#b00020" for t in tiles)
    # A confusion cell of image data shows those images, with the model's probabilities.
    matrix = np.array(report["confusion_matrix"])
    off = matrix - np.diag(np.diag(matrix))
    true_class, predicted_class = (int(v) for v in np.unravel_index(off.argmax(), off.shape))
    panel.show_cell(true_class, predicted_class)
    cell_tiles = panel.examples.grid.tiles()
    assert len(cell_tiles) == min(60, matrix[true_class, predicted_class])
    for tile in cell_tiles:
        assert tile.marked_class == true_class
        assert int(np.argmax(tile.probabilities)) == predicted_class
        assert tile.probabilities.sum() == pytest.approx(1.0, abs=1e-4)


def test_clicking_a_gallery_tile_reports_its_index(qtbot):
    from PySide6.QtCore import Qt

    from nnstudio.ui.widgets.image_gallery import ImageGrid, Tile

    grid = ImageGrid(image_size=28)
    qtbot.addWidget(grid)
    grid.resize(400, 300)
    grid.set_tiles([Tile(np.zeros((28, 28, 3), np.uint8), caption=str(i)) for i in range(7)])
    grid.show()
    target = grid._cell_rect(5).center()
    with qtbot.waitSignal(grid.tile_clicked) as blocker:
        qtbot.mouseClick(grid, Qt.MouseButton.LeftButton, pos=target)
    assert blocker.args == [5]
    assert grid.tile_at(grid._cell_rect(0).topLeft()) == 0


def test_binary_sigmoid_model_and_validation_fallback(qtbot, panel):
    dataset = load_dataset("moons", samples=300, noise=0.1, seed=0, test_fraction=0.0)
    model = Sequential([Dense(16, activation="relu"), Dense(1)], input_shape=(2,), seed=0)
    loss = get_loss("binary_crossentropy")
    fit(
        model,
        loss,
        get_optimizer("adam", lr=0.02),
        dataset.x_train,
        dataset.y_train,
        FitConfig(epochs=10, batch_size=32, seed=0),
    )
    report = evaluate(qtbot, panel, model, loss, dataset)
    assert report["split"] == "validation"
    assert report["samples"] == len(dataset.x_val)
    predicted = (loss.output_activation(model.predict(dataset.x_val))[:, 0] > 0.5).astype(int)
    assert report["accuracy"] == pytest.approx(np.mean(predicted == dataset.y_val))
    assert panel.confusion.matrix().shape == (2, 2)


def test_a_model_that_does_not_fit_the_data_is_explained(qtbot, panel, spiral):
    dataset, _, loss = spiral
    model = Sequential([Dense(3)], input_shape=(5,), seed=0)
    panel.evaluate(model, loss, dataset)
    qtbot.waitUntil(lambda: panel.message.text() != "", timeout=10000)
    assert panel.message.text().startswith("Could not evaluate")
    assert "(5,)" in panel.message.text() and "(2,)" in panel.message.text()
    assert panel.report() is None
    assert panel.evaluate_button.isEnabled()


def test_evaluate_button_evaluates_on_demand(qtbot, panel, spiral, tmp_path):
    dataset, model, loss = spiral
    first = evaluate(qtbot, panel, model, loss, dataset)
    panel.clear()
    assert not panel.export_metrics_action.isEnabled()
    with qtbot.waitSignal(panel.evaluated, timeout=30000) as blocker:
        panel.evaluate_button.click()  # nobody listens to evaluate_requested: evaluates again
    assert blocker.args[0] == first
    assert panel.export_gallery_action.isEnabled()
    assert panel.export_mistakes_png(tmp_path / "mistakes.png")
    requests = []
    panel.evaluate_requested.connect(lambda: requests.append(True))
    panel.evaluate_button.click()  # the window listens: it is asked instead
    assert requests == [True]


def test_shutdown_cancels_a_running_evaluation_and_waits_for_its_thread(
    qtbot, panel, spiral, monkeypatch
):
    from nnstudio.ui.panels import evaluation

    started, finished = [], []

    def slow_evaluation(model, loss, dataset, cancel_event):
        started.append(True)
        cancel_event.wait(10)  # a long evaluation that listens for cancel
        finished.append(cancel_event.is_set())
        return None

    monkeypatch.setattr(evaluation, "evaluate_dataset", slow_evaluation)
    dataset, model, loss = spiral
    panel.evaluate(model, loss, dataset)
    qtbot.waitUntil(lambda: bool(started), timeout=5000)
    assert panel.shutdown(msecs=5000)
    assert finished == [True]  # cancelled, and over before shutdown returned
    assert panel._runner.pool.activeThreadCount() == 0


def test_closing_the_window_ends_a_running_evaluation(qtbot, window, monkeypatch):
    from nnstudio.ui.panels import evaluation

    started, finished = [], []

    def slow_evaluation(model, loss, dataset, cancel_event):
        started.append(True)
        cancel_event.wait(10)
        finished.append(cancel_event.is_set())

    monkeypatch.setattr(evaluation, "evaluate_dataset", slow_evaluation)
    window.evaluation.evaluate_requested.emit()  # the Evaluate button
    qtbot.waitUntil(lambda: bool(started), timeout=5000)
    window.setWindowModified(False)
    window.close()
    assert finished == [True]


def test_export_menu_saves_the_chosen_file(qtbot, panel, spiral, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    dataset, model, loss = spiral
    evaluate(qtbot, panel, model, loss, dataset)
    target = tmp_path / "metrics.csv"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    assert panel.export_metrics_action in panel.export_button.menu().actions()
    panel.export_metrics_action.trigger()
    assert target.read_text().splitlines()[0].startswith("class,precision")


def test_a_long_headline_wraps_instead_of_widening_the_window(qtbot, panel, spiral):
    dataset, model, loss = spiral
    evaluate(qtbot, panel, model, loss, dataset)
    panel.summary.setText("A long headline, " * 20)
    assert panel.minimumSizeHint().width() < 700
