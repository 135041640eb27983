"""The "See the math" inspector: the real widgets, stepped and clicked, with the engine's
numbers; and the window's four ways in (menu, Training tab, Evaluate, Draw)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from nnstudio.engine.layers import Conv2D, Dense, Dropout, Flatten, MaxPool2D
from nnstudio.engine.model import Sequential
from nnstudio.engine.optimizers import get_optimizer
from nnstudio.project.explain import chain_rule, explain_sample
from nnstudio.project.explain_steps import format_number
from nnstudio.ui.panels.mistakes_gallery import ExamplesView
from nnstudio.ui.panels.sample_inspector import InspectorSample, SampleInspector
from nnstudio.ui.widgets.dialog_size import MARGIN
from tests.ui.test_main_window import app_look  # noqa: F401 - the app's own style

DIGITS = [str(k) for k in range(10)]


def mnist_mlp(dropout: float = 0.0) -> Sequential:
    layers = [Flatten(), Dense(128, activation="relu")]
    layers += [Dropout(dropout)] if dropout else []
    return Sequential([*layers, Dense(10)], input_shape=(1, 28, 28), seed=1)


def image(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((1, 28, 28)).astype(np.float32)


@pytest.fixture
def inspector(qtbot):
    widget = SampleInspector()
    qtbot.addWidget(widget)
    return widget


def show(inspector, model=None, **options) -> SampleInspector:
    sample = InspectorSample(
        model or mnist_mlp(),
        "softmax_crossentropy",
        image(),
        3,
        "a test image",
        optimizer=options.pop("optimizer", get_optimizer("sgd", lr=0.1)),
        class_names=DIGITS,
        image_shape=(28, 28),
        **options,
    )
    inspector.show_sample(sample)
    return inspector


def test_steps_walk_forward_loss_backward_update_check(inspector):
    show(inspector)
    texts = [inspector.steps.item(r).text() for r in range(inspector.steps.count())]
    assert texts == [
        "Input",
        "→ 0 Flatten",
        "→ 1 Dense",
        "→ 2 Dense",
        "Loss",
        "← 2 Dense",
        "← 1 Dense",
        "← 0 Flatten",
        "Update",
        "Check",
    ]
    assert inspector.current_step() == ("input", None)
    assert not inspector.previous_button.isEnabled()
    for expected in [("forward", 0), ("forward", 1), ("forward", 2), ("loss", None)]:
        inspector.next_button.click()
        assert inspector.current_step() == expected
    inspector.previous_button.click()
    assert inspector.current_step() == ("forward", 2)
    assert "−log p_3" in inspector.heading.text() or "loss" in inspector.heading.text()


def test_forward_page_shows_the_units_terms_and_show_all(inspector):
    show(inspector)
    inspector.go_to("forward", 1)
    inspector.unit_box.setValue(7)
    assert inspector.unit() == 7
    table = inspector.forward_page.table
    assert table.rowCount() == 10
    contributions = inspector.explanation.layers[1]
    z = float(contributions.z[7])
    assert f"= {format_number(z)}" in inspector.forward_page.text.text()
    inspector.forward_page.show_all.setChecked(True)
    assert table.rowCount() == 784
    # hovering says what a value is
    assert "weight" in table.item(0, 2).toolTip().lower()
    assert "pre-activation" in inspector.forward_page.views[1].title.text()
    assert "z[7]" in inspector.forward_page.views[1].describe(7)


def test_a_new_sample_resets_the_unit_box(inspector):
    show(inspector)
    inspector.go_to("forward", 1)
    inspector.unit_box.setValue(100)
    small = Sequential([Flatten(), Dense(4, activation="relu"), Dense(10)], input_shape=(1, 28, 28))
    show(inspector, model=small)
    assert inspector.unit_box.maximum() == 9  # the last layer's units, chosen first
    assert inspector.unit_box.value() == inspector.unit() == 3  # the true class


def test_clicking_a_heatmap_cell_picks_the_unit(inspector, qtbot):
    show(inspector)
    inspector.go_to("forward", 2)  # z of 10 units in one row
    view = inspector.forward_page.views[1]
    cell = view._cell
    qtbot.mouseClick(view.image, Qt.MouseButton.LeftButton, pos=QPoint(int(4.5 * cell), 2))
    assert inspector.unit() == 4


def test_backward_page_writes_the_chain_rule_with_numbers(inspector):
    show(inspector)
    inspector.go_to("backward", 1)
    inspector.set_unit(5)
    step = inspector.explanation.layers[1]
    rule = chain_rule(step, 5)
    text = inspector.backward_page.text.text()
    assert rule["text"] in text and "relu'(z)" in text
    table = inspector.backward_page.table
    x, gz = np.ravel(step.input), float(step.grad_z[5])
    row = int(table.item(0, 0).text())
    assert float(table.item(0, 3).text()) == pytest.approx(x[row] * gz, rel=2e-3)


def test_loss_page_lists_probabilities_and_marks_the_true_class(inspector):
    show(inspector)
    inspector.go_to("loss")
    table = inspector.loss_page.table
    assert table.rowCount() == 10
    assert table.item(3, 0).text().endswith("← true")
    p = inspector.explanation.loss.probabilities
    assert f"−log({format_number(p[3])})" in inspector.loss_page.lines.text()


def test_update_page_shows_adams_terms(inspector):
    show(inspector, optimizer=get_optimizer("adam", lr=1e-3))
    inspector.go_to("backward", 1)
    inspector.go_to("update")
    table = inspector.update_page.table
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    assert {"m", "v", "m̂", "v̂", "step Δw", "w after"} <= set(headers)
    assert table.rowCount() == 11  # ten weights and the bias of the unit
    assert "Adam" in inspector.update_page.title.text()


def test_check_button_compares_with_finite_differences(inspector, qtbot):
    show(inspector)
    inspector.go_to("check")
    with qtbot.waitSignal(inspector.checked, timeout=20_000) as blocker:
        inspector.check_page.check_button.click()
    assert blocker.args[0]["max_relative_error"] < 1e-5
    assert inspector.check_page.table.rowCount() == blocker.args[0]["entries"] > 0
    assert "they agree" in inspector.check_page.result.text()


def test_check_at_a_kink_explains_itself_instead_of_calling_backprop_wrong(inspector, qtbot):
    """A conv layer on a blank background: its biases start at 0, so many units sit at
    ReLU's kink and the central difference of a bias is not the slope."""
    from tests.project.test_gradient_check import blank_background_image

    model = Sequential(
        [Conv2D(2, 3, activation="relu"), MaxPool2D(2), Flatten(), Dense(3)],
        input_shape=(1, 10, 10),
        seed=4,
    )
    inspector.show_sample(
        InspectorSample(model, "softmax_crossentropy", blank_background_image(), 1, "a stroke")
    )
    inspector.go_to("backward", 0)
    with qtbot.waitSignal(inspector.checked, timeout=20_000):
        inspector.backward_page.check_button.click()
    page = inspector.check_page
    assert "they agree" in page.result.text() and "at a kink" in page.result.text()
    assert "they differ" not in page.result.text()
    assert "averages two different slopes" in page.kinks.text()
    table = page.table
    verdicts = {table.item(r, 0).text(): table.item(r, 5) for r in range(table.rowCount())}
    bias = verdicts[f"0.b[{inspector.unit()}]"]
    assert bias.text() == "at a kink: left slope agrees"
    assert "relu's kink at z = 0" in bias.toolTip()
    assert table.horizontalHeaderItem(5).text() == "verdict"


def test_training_mode_shows_the_dropout_mask(inspector):
    show(inspector, model=mnist_mlp(dropout=0.5))
    inspector.go_to("forward", 2)
    assert inspector.explanation.layers[2].mask is None
    assert inspector.forward_page.views[1].isHidden()
    inspector.training_mode.setChecked(True)
    assert inspector.current_step() == ("forward", 2)
    mask = inspector.explanation.layers[2].mask
    assert mask is not None and (mask == 0).any()
    assert not inspector.forward_page.views[1].isHidden()
    assert "mask" in inspector.forward_page.views[1].title.text()
    assert "drops" in inspector.forward_page.text.text()


def test_play_forward_then_backward(inspector, qtbot, monkeypatch):
    show(inspector)
    inspector._play.setInterval(5)
    inspector.play_forward.click()
    qtbot.waitUntil(lambda: not inspector._play.isActive(), timeout=5000)
    assert inspector.current_step() == ("loss", None)
    inspector.play_backward.click()
    qtbot.waitUntil(lambda: not inspector._play.isActive(), timeout=5000)
    assert inspector.current_step() == ("backward", 0)


def test_the_sample_box_fetches_another_sample(inspector):
    images = [image(seed) for seed in range(5)]
    show(
        inspector,
        count=5,
        index=0,
        fetch=lambda i: (images[i], i, f"sample {i}"),
    )
    assert inspector.sample_box.isVisible()
    inspector.sample_box.setValue(4)
    inspector.sample_box.editingFinished.emit()
    np.testing.assert_array_equal(inspector.explanation.input, images[4])
    assert "sample 4" in inspector.heading.text()


def test_examples_view_tile_click_asks_for_that_sample(qtbot):
    view = ExamplesView("nothing")
    qtbot.addWidget(view)
    view.resize(400, 300)
    view.show()
    rng = np.random.default_rng(0)
    probabilities = rng.dirichlet(np.ones(3), size=6)
    result = {
        "x": rng.random((6, 1, 8, 8)).astype(np.float32),
        "y_true": np.array([0, 1, 2, 0, 1, 2]),
        "y_pred": probabilities.argmax(1),
        "probabilities": probabilities,
        "split": "test",
    }
    dataset = SimpleNamespace(is_image=True, class_names=["a", "b", "c"])
    view.show_examples(result, [5, 2], dataset)
    centre = view.grid._cell_rect(1).center()
    assert view.grid.tile_at(centre) == 1
    with qtbot.waitSignal(view.example_chosen) as blocker:
        qtbot.mouseClick(view.grid, Qt.MouseButton.LeftButton, pos=centre)
    assert blocker.args == [2]  # the second tile shows sample 2
    assert "see the math" in view.grid.tiles()[0].tooltip.lower()


# -- in the window -------------------------------------------------------------------------


def test_menu_action_explains_a_training_sample_with_the_windows_numbers(window):
    before = {name: value.copy() for name, value in window.model.parameters().items()}
    window.actionExplainSample.trigger()
    dialog = window.inspector.dialog
    assert dialog is not None and dialog.isVisible()
    assert "Sample 0 of the training split" in dialog.heading.text()
    assert dialog.sample.model is not window.model
    dataset = window.dataset
    expected = explain_sample(
        window.model,
        window.document.to_project().make_loss(),
        dataset.x_train[0],
        dataset.y_train[0],
    )
    for name, value in expected.gradients.items():
        np.testing.assert_array_equal(dialog.explanation.gradients[name], value)
    for name, value in window.model.parameters().items():
        np.testing.assert_array_equal(value, before[name])
    dialog.close()


def test_training_tab_button_opens_while_a_run_trains(qtbot, window):
    window.hyperparameters.epochs_box.setValue(200)
    window.actionTrain.trigger()
    qtbot.waitUntil(lambda: window.state == "training", timeout=10_000)
    qtbot.waitUntil(lambda: window.inspector._snapshot_weights is not None, timeout=10_000)
    qtbot.mouseClick(window.training_tab.explain_button, Qt.MouseButton.LeftButton)
    dialog = window.inspector.dialog
    assert dialog.isVisible() and window.state == "training"  # the run went on
    assert dialog.sample.model is not window.model
    assert set(dialog.explanation.gradients) == set(window.model.parameters())
    with qtbot.waitSignal(window.training_finished, timeout=20_000):
        window.actionStop.trigger()
    dialog.close()


def test_evaluate_table_double_click_explains_that_sample(qtbot, window):
    window.show()
    qtbot.waitExposed(window)
    window.tabs.setCurrentWidget(window.evaluation)
    qtbot.waitUntil(lambda: window.evaluation.report() is not None, timeout=20_000)
    evaluation = window.evaluation
    evaluation.tabs.setCurrentIndex(1)
    mistakes = evaluation.mistakes
    assert mistakes.currentIndex() == 1  # spiral: a table, not images
    assert mistakes.table.model().rowCount() > 0
    sample_index = int(mistakes.table.model().index(0, 0).data())
    rect = mistakes.table.visualRect(mistakes.table.model().index(0, 1))
    viewport = mistakes.table.viewport()
    # A double-click as a mouse makes it: a press and release, then the double-click.
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(viewport, Qt.MouseButton.LeftButton, pos=rect.center())
    dialog = window.inspector.dialog
    assert dialog is not None and dialog.isVisible()
    assert f"Sample {sample_index} of the" in dialog.heading.text()
    source = evaluation.explain_source()
    np.testing.assert_array_equal(dialog.explanation.input, source["x"][sample_index])
    dialog.close()


def test_draw_tab_button_explains_the_drawing(qtbot, window):
    draw = window.draw
    window.tabs.setCurrentWidget(draw)
    centre = draw.canvas.rect().center()
    qtbot.mousePress(draw.canvas, Qt.MouseButton.LeftButton, pos=centre - QPoint(0, 40))
    for dy in range(-40, 41, 10):
        qtbot.mouseMove(draw.canvas, centre + QPoint(0, dy))
    qtbot.mouseRelease(draw.canvas, Qt.MouseButton.LeftButton, pos=centre + QPoint(0, 40))
    qtbot.waitUntil(lambda: draw.prepared_digit() is not None, timeout=10_000)
    qtbot.mouseClick(draw.explainButton, Qt.MouseButton.LeftButton)
    dialog = window.inspector.dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.target_box.isVisible()  # a drawing has no label: the learner picks one
    predicted = int(np.argmax(draw.probabilities()))
    assert int(dialog.explanation.target) == predicted
    other = (predicted + 1) % 10
    dialog.target_box.setValue(other)
    assert int(dialog.explanation.target) == other
    p = dialog.explanation.loss.probabilities
    assert dialog.explanation.loss.value == pytest.approx(-np.log(p[other]), rel=1e-4)
    dialog.close()


def test_empty_draw_canvas_says_what_to_do(window):
    assert window.inspector.explain_drawing() is None
    assert "Draw a digit" in window.message_bar.text()


def test_wiggle_a_weight_follows_the_loss_and_puts_the_weight_back(inspector, qtbot):
    model = mnist_mlp()
    before = {name: value.copy() for name, value in model.parameters().items()}
    show(inspector, model)
    dialog = inspector.wiggle_weight()
    qtbot.addWidget(dialog)
    wiggle = dialog.wiggle
    assert wiggle.parameter.endswith(".W") and wiggle.gradient != 0
    assert wiggle.gradient == pytest.approx(wiggle.numeric_slope, rel=1e-3, abs=1e-6)
    middle = dialog.slider.value()
    assert dialog.delta == 0 and "L(w + Δ)" in dialog.readout.text()
    dialog.slider.setValue(dialog.slider.maximum())  # the weight moved by the span
    assert dialog.delta == pytest.approx(wiggle.deltas[-1])
    assert format_number(wiggle.losses[-1]) in dialog.readout.text()
    assert dialog.point.data["y"][0] == pytest.approx(wiggle.losses[-1])
    dialog.slider.sliderReleased.emit()  # letting go puts the weight back
    assert dialog.slider.value() == middle
    dialog.parameter_box.setCurrentText("2.b")  # any parameter: the output layer's bias
    assert dialog.wiggle.parameter == "2.b" and dialog.index_label.text() == "2.b[0]"
    for name, value in model.parameters().items():  # the model never changed
        np.testing.assert_array_equal(value, before[name])


def test_a_wide_layer_shows_the_units_weights_as_the_input_image(inspector):
    show(inspector)
    inspector.go_to("backward", 1)
    inspector.set_unit(5)
    page, step = inspector.backward_page, inspector.explanation.layers[1]
    weights_view, grads_view = page.unit_images
    assert weights_view.isVisibleTo(page) and grads_view.isVisibleTo(page)
    assert "into unit 5, as the input 28×28" in weights_view.title.text()
    np.testing.assert_array_equal(weights_view._values, step.params["W"][:, 5])
    np.testing.assert_array_equal(grads_view._values, step.grads["W"][:, 5])
    assert weights_view._grid.shape == (28, 28)
    # Every heatmap says what its colours stand for: ± its largest value.
    top = format_number(np.abs(step.grads["W"][:, 5]).max())
    assert f"−{top}" in grads_view.scale.text() and top in grads_view.scale.text()
    inspector.go_to("backward", 2)  # the output layer's input is not an image
    assert not page.unit_images[0].isVisibleTo(page)


def test_w_after_shows_the_digits_that_differ_from_w(inspector):
    from nnstudio.ui.panels.sample_inspector_update import digits_that_differ

    assert digits_that_differ(0.2, 0.2000013) == "0.200001"  # not "0.2" again
    assert digits_that_differ(0.123456, 0.113456) == "0.1135"
    show(inspector, optimizer=get_optimizer("sgd", lr=1e-4))
    inspector.go_to("backward", 1)
    inspector.go_to("update")
    table = inspector.update_page.table
    last = table.columnCount() - 1
    changed = [r for r in range(table.rowCount()) if float(table.item(r, last).text()) != 0]
    for r in changed:
        assert table.item(r, last).text() != table.item(r, 1).text()


def test_node_by_node_plays_the_values_forward_and_the_gradients_back(inspector, qtbot):
    show(inspector)  # an MNIST MLP: far too many units to draw
    assert not inspector.node_graph_button.isEnabled()
    assert "up to 40 units" in inspector.node_graph_button.toolTip()
    tiny = Sequential([Dense(4, activation="tanh"), Dense(3)], input_shape=(2,), seed=0)
    sample = InspectorSample(tiny, "softmax_crossentropy", np.array([0.5, -1.0], "f4"), 2, "x")
    inspector.show_sample(sample)
    assert inspector.node_graph_button.isEnabled()
    dialog = inspector.show_node_graph()
    qtbot.addWidget(dialog)
    texts = lambda: [i.toPlainText() for i in dialog.scene.items() if hasattr(i, "toPlainText")]  # noqa: E731
    hidden = inspector.explanation.layers[0]
    assert f"a = {format_number(hidden.output[1])}" in "\n".join(texts())
    dialog.play(+1)  # only the inputs have values at first
    assert dialog.forward_shown == 1 and sum("a = ?" in t for t in texts()) == 7
    qtbot.waitUntil(lambda: dialog.forward_shown == 3, timeout=5000)
    dialog.play(-1)
    assert sum("∂ = ?" in t for t in texts()) == 9
    qtbot.waitUntil(lambda: dialog.backward_shown == 3, timeout=5000)
    assert not any("?" in t for t in texts())
    edge = next(i for i in dialog.scene.items() if i.toolTip().startswith("1.W[2, 0]"))
    assert format_number(tiny.parameters()["1.W"][2, 0]) in edge.toolTip()


def test_a_colour_input_shows_as_a_picture_beside_its_three_channels(inspector):
    from nnstudio.engine.layers import Conv2D

    model = Sequential(
        [Conv2D(2, 3, activation="relu"), Flatten(), Dense(2)], input_shape=(3, 8, 8), seed=1
    )
    picture = np.zeros((3, 8, 8), np.float32)
    picture[0] = 1.0  # pure red
    sample = InspectorSample(
        model,
        "softmax_crossentropy",
        picture,
        0,
        "a red picture",
        optimizer=get_optimizer("sgd", lr=0.1),
        class_names=["red", "blue"],
        image_shape=(3, 8, 8),
    )
    inspector.show_sample(sample)
    page = inspector.input_page
    assert not page.colour.isHidden()
    shown = page.colour.pixmap().toImage()
    assert shown.width() >= 8 and shown.pixelColor(2, 2).name() == "#ff0000"
    assert page.view.title.text() == "x — its red, green and blue channels"
    show(inspector)  # a grey digit: no colour picture, one channel
    assert page.colour.isHidden() and page.view.title.text() == "x"


@pytest.mark.usefixtures("app_look")  # the app's own style sheet: its sizes
def test_see_the_math_opens_no_larger_than_the_screen(qtbot):
    """It opened at 1180 × 690 whatever the screen, and its controls in one row needed
    1,050 px: on 1024 × 600 its right side (Node by node…) and its bottom were off the screen.
    A drawing's sample, with its True class box, is the widest."""
    inspector = SampleInspector()
    qtbot.addWidget(inspector)
    tiny = Sequential([Dense(4, activation="tanh"), Dense(3)], input_shape=(2,), seed=0)
    x = np.array([0.5, -1.0], "f4")
    inspector.show_sample(
        InspectorSample(tiny, "softmax_crossentropy", x, 2, "x", choose_target=True)
    )
    room = inspector.screen().availableGeometry()
    assert inspector.width() <= room.width() and inspector.height() <= room.height()
    assert inspector.minimumSizeHint().width() <= 1024 - MARGIN
    assert inspector.node_graph_button.geometry().right() <= inspector.width()


@pytest.mark.parametrize(
    ("dropout", "training", "says_mask"),
    [(0.0, False, False), (0.0, True, False), (0.5, False, False), (0.5, True, True)],
)
def test_check_page_speaks_of_a_dropout_mask_only_when_the_pass_drew_one(
    inspector, dropout, training, says_mask
):
    show(inspector, model=mnist_mlp(dropout=dropout))
    inspector.training_mode.setChecked(training)
    inspector.go_to("check")
    text = inspector.check_page.text.text()
    assert ("dropout mask" in text) is says_mask
    assert ("in training mode" in text) is says_mask
