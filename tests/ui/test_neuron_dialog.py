"""The network diagram's units large (issue 35): a click on a neuron opens its dialog with
that unit's map, value scale, weights and share; the dialog follows new weights; a wide
layer draws its first units and "+k more"."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from nnstudio.project.diagram_layout import WIDE_SHOWN
from nnstudio.project.neuron_maps import UnitDetail, plane_grid
from nnstudio.ui.builder.model_builder import QtModelBuilder
from nnstudio.ui.builder.network_diagram import QtNetworkDiagram
from nnstudio.ui.panels.neuron_dialog import (
    CHANGED,
    MAP_SIZE,
    MAX_LISTED,
    NeuronDialog,
    numbers_text,
)

LAYERS = [
    {"type": "Dense", "units": 3, "activation": "tanh"},
    {"type": "Dense", "units": 30, "activation": "relu"},
    {"type": "Dense", "units": 2},
]


@pytest.fixture
def builder(qtbot):
    builder = QtModelBuilder()
    qtbot.addWidget(builder)
    builder.set_input_spec((2,), 2, "classification", "softmax_crossentropy")
    builder.set_config({"layers": LAYERS})
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
    dialog.unit_box.setValue(29)  # one of the "+k more": not drawn, still shown here
    assert dialog.neuron == 29 and "unit 29" in dialog.title.text()
    assert dialog.unit_box.maximum() == 29


def test_a_wide_layer_draws_as_many_units_as_fit_and_how_many_more(qtbot):
    diagram = QtNetworkDiagram()
    qtbot.addWidget(diagram)
    diagram.resize(600, 520)
    diagram.show()
    qtbot.waitExposed(diagram)
    diagram.set_config({"input_shape": [2], "layers": LAYERS})
    diagram.update_weights({"weights": _weights(0)})
    assert diagram.columns[2].neurons == WIDE_SHOWN and diagram.columns[2].more == 30 - WIDE_SHOWN
    assert diagram._dense_weights(2).shape == (3, WIDE_SHOWN)  # lines of the drawn units only
    assert diagram._dense_weights(3).shape == (WIDE_SHOWN, 2)
    assert diagram.more_rect(2).top() > diagram.neuron_center(2, WIDE_SHOWN - 1).y()
    assert diagram.more_rect(2).bottom() < diagram.height()
    assert len(diagram._thumbs) == 3 + WIDE_SHOWN + 2  # a picture in every drawn unit
    diagram.grab()  # paints: lines, pictures and "+18 more"

    assert diagram.more_text(2) == f"+{30 - WIDE_SHOWN} more"
    deep = [{"type": "Dense", "units": 30, "activation": "relu"}] * 6 + LAYERS[-1:]
    diagram.set_config({"input_shape": [2], "layers": deep})
    diagram.resize(320, 520)  # close columns: the count alone, inside the room between them
    assert diagram.more_text(2) == f"+{30 - WIDE_SHOWN}"
    assert diagram.more_rect(2).width() < diagram.column_x(3) - diagram.column_x(2)
    diagram.set_config({"input_shape": [2], "layers": LAYERS})
    diagram.update_weights({"weights": _weights(0)})

    diagram.resize(600, 240)  # a short diagram: fewer units, each still with its picture
    shown = diagram.columns[2].neurons
    assert 2 <= shown < WIDE_SHOWN and diagram.columns[2].more == 30 - shown
    assert diagram.node_radius() * 2 >= 10  # large enough for a picture
    assert set(diagram._thumbs) == {
        (number, n) for number in (1, 2, 3) for n in range(diagram.columns[number].neurons)
    }


def test_a_hidden_diagram_makes_its_pictures_when_it_shows(qtbot, builder):
    diagram = builder.diagram
    diagram.hide()
    diagram.update_weights({"weights": _weights(0)})
    assert diagram._thumbs == {}  # nothing made while nobody sees it
    diagram.show()
    assert len(diagram._thumbs) == sum(column.neurons for column in diagram.columns[1:])


def test_a_wide_layers_unit_lists_its_largest_incoming_weights():
    incoming = [(f"Dense 0 unit {i}", (-1) ** i * i / 10) for i in range(30)]
    text = numbers_text(UnitDetail("Dense 1 · unit 0", incoming, 0.5, "Dense 2", 0.25))
    assert f"The {MAX_LISTED} largest of its 30 incoming weights" in text
    assert "Dense 0 unit 29<" in text and "-2.900" in text  # the largest, with its sign
    assert "Dense 0 unit 21<" not in text  # the ninth largest is left out
    assert "Share of Dense 2</b> 25%" in text and "Bias</b> +0.500" in text


def test_the_dialog_says_so_when_the_network_changes(qtbot, builder):
    builder.diagram.update_weights({"weights": _weights(0)})
    dialog = builder.open_neuron(2, 1)
    builder.set_config({"layers": [{"type": "Dense", "units": 2}]})  # no hidden layer now
    assert dialog.title.text() == CHANGED


def test_a_dead_unit_is_named(qtbot, builder):
    weights = _weights(0)
    weights["1.W"][:, 4], weights["1.b"][4] = 0.0, -1.0  # relu(-1) everywhere: dead
    weights["1.b"][3] = 50.0  # and unit 3 positive everywhere
    builder.diagram.update_weights({"weights": weights})
    dialog = builder.open_neuron(2, 4)
    assert not dialog.values.any() and "a dead unit" in dialog.numbers.text()
    dialog.unit_box.setValue(3)
    assert dialog.values.all() and "a dead unit" not in dialog.numbers.text()


def test_the_hover_caption_names_the_unit_as_its_dialog_does(qtbot, builder):
    """The hover picture and the dialog a click opens speak of the same "unit" (lesson 18's
    word too), not of a "neuron" in one and a "unit" in the other."""
    diagram = builder.diagram
    diagram.update_weights({"weights": _weights(0)})
    _picture, _rect, caption = diagram.hover_frame(1, 2)
    dialog = builder.open_neuron(1, 2)
    assert caption == "Dense 0 · unit 2"
    assert "unit 2" in dialog.title.text() and "neuron" not in caption
