"""The network diagram's units large (issue 35): a click on a neuron opens its dialog with
that unit's map, value scale, weights and share; the dialog follows new weights; a wide
layer draws its first units and "+k more"."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from nnstudio.project.neuron_maps import plane_grid
from nnstudio.ui.builder.model_builder import QtModelBuilder
from nnstudio.ui.panels.neuron_dialog import MAP_SIZE, NeuronDialog


@pytest.fixture
def builder(qtbot):
    builder = QtModelBuilder()
    qtbot.addWidget(builder)
    builder.set_input_spec((2,), 2, "classification", "softmax_crossentropy")
    layers = [
        {"type": "Dense", "units": 3, "activation": "tanh"},
        {"type": "Dense", "units": 30, "activation": "relu"},
        {"type": "Dense", "units": 2},
    ]
    builder.set_config({"layers": layers})
    builder.resize(1100, 800)
    builder.show()
    qtbot.waitExposed(builder)
    return builder


def _weights(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    shapes = {"0.W": (2, 3), "0.b": (3,), "1.W": (3, 30), "1.b": (30,), "2.W": (30, 2)}
    return {name: rng.normal(size=shape).astype(np.float32) for name, shape in shapes.items()}


def test_a_click_on_a_neuron_opens_its_dialog(qtbot, builder):
    diagram = builder.diagram
    weights = _weights(0)
    diagram.update_weights({"weights": weights, "boundary": {"extent": (-1, 1, -1, 1)}})
    center = diagram.neuron_center(1, 2).toPoint()
    qtbot.mouseClick(diagram, Qt.MouseButton.LeftButton, pos=center)
    dialog = builder.neuron_dialog
    assert isinstance(dialog, NeuronDialog) and dialog.isVisible()
    assert (dialog.column, dialog.neuron) == (1, 2)
    assert "unit 2" in dialog.title.text() and "Dense 0" in dialog.title.text()
    # The large map: unit 2 of the first layer, tanh(w·x + b), over the diagram's plane.
    grid = plane_grid((-1, 1, -1, 1), MAP_SIZE)
    expected = np.tanh(grid @ weights["0.W"][:, 2] + weights["0.b"][2]).reshape(MAP_SIZE, -1)
    np.testing.assert_allclose(dialog.values, expected, atol=1e-5)
    scale = np.abs(expected).max()
    assert dialog.color_bar.levels() == pytest.approx((-scale, scale), rel=1e-5)
    assert dialog.detail.bias == pytest.approx(float(weights["0.b"][2]))
    text = dialog.numbers.text()
    assert f"{weights['0.W'][0, 2]:+.3f}" in text and "Share of Dense 1" in text
    # A click on an input neuron opens nothing new.
    qtbot.mouseClick(diagram, Qt.MouseButton.LeftButton, pos=diagram.neuron_center(0, 0).toPoint())
    assert builder.neuron_dialog is dialog


def test_the_dialog_follows_new_weights_and_reaches_every_unit(qtbot, builder):
    diagram = builder.diagram
    diagram.update_weights({"weights": _weights(0)})
    dialog = builder.open_neuron(2, 5)
    before = dialog.values.copy()
    diagram.update_weights({"weights": _weights(1)})  # training goes on, or another epoch
    assert not np.allclose(dialog.values, before)
    dialog.unit_box.setValue(29)  # one of the "+18 more": not drawn, still shown here
    assert dialog.neuron == 29 and "unit 29" in dialog.title.text()
    assert dialog.unit_box.maximum() == 29


def test_a_wide_layer_draws_its_first_units_and_how_many_more(qtbot, builder):
    diagram = builder.diagram
    diagram.update_weights({"weights": _weights(0)})
    assert diagram.columns[2].neurons == 12 and diagram.columns[2].more == 18
    assert diagram._dense_weights(2).shape == (3, 12)  # the lines of the drawn units only
    assert diagram._dense_weights(3).shape == (12, 2)
    assert diagram.more_rect(2).top() > diagram.neuron_center(2, 11).y()
    assert diagram.more_rect(2).bottom() < diagram.height()
    assert len(diagram._thumbs) == 3 + 12 + 2  # a picture in every drawn unit
    diagram.grab()  # paints: lines, pictures and "+18 more"


def test_a_hidden_diagram_makes_its_pictures_when_it_shows(qtbot, builder):
    diagram = builder.diagram
    diagram.hide()
    diagram.update_weights({"weights": _weights(0)})
    assert diagram._thumbs == {}  # nothing made while nobody sees it
    diagram.show()
    assert len(diagram._thumbs) == 17
