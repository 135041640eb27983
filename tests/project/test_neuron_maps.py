"""Per-neuron maps (issue 35): every drawn unit's map is the engine's forward pass of the
grid, layer by layer; a wide layer of a 2-D input's network draws its first units; one unit's
weights, bias and share of the next layer."""

from __future__ import annotations

import numpy as np
import pytest

from nnstudio.engine.model import Sequential
from nnstudio.project.diagram_layout import WIDE_SHOWN, columns_for
from nnstudio.project.neuron_maps import NeuronProbe, data_extent, plane_grid, unit_detail

CONFIG = {
    "input_shape": [2],
    "layers": [
        {"type": "Dense", "units": 3, "activation": "tanh"},
        {"type": "Dense", "units": 20, "activation": "relu"},
        {"type": "Dropout", "rate": 0.5},
        {"type": "Dense", "units": 4, "activation": "sigmoid"},
        {"type": "Dense", "units": 2},
    ],
}
EXTENT = (-1.5, 1.0, -0.5, 2.0)


@pytest.fixture
def probe_and_model():
    model = Sequential.from_config(CONFIG, seed=3)
    probe = NeuronProbe(CONFIG)
    probe.load(model.parameters())
    return probe, model


def test_every_map_is_the_engines_forward_pass_of_the_grid_layer_by_layer(probe_and_model):
    probe, model = probe_and_model
    columns = columns_for(CONFIG)
    size = 7
    maps = probe.neuron_maps(columns, EXTENT, size)
    x = plane_grid(EXTENT, size)
    outputs = []  # the engine's own layers, one after another, in evaluation mode
    for layer in model.layers:
        x = layer.forward(x, training=False)
        outputs.append(x)
    checked = 0
    for number, column in enumerate(columns[1:], start=1):
        for neuron in range(column.neurons):
            expected = outputs[column.last_index][:, neuron].reshape(size, size)
            np.testing.assert_allclose(maps[(number, neuron)], expected, rtol=1e-6, atol=1e-7)
            checked += 1
    assert checked == 3 + WIDE_SHOWN + 4 + 2
    # The first hidden layer by hand: tanh(w1·x1 + w2·x2 + b), top row the largest x2.
    W, b = model.parameters()["0.W"], model.parameters()["0.b"]
    gx, gy = np.meshgrid(np.linspace(-1.5, 1.0, size), np.linspace(2.0, -0.5, size))
    by_hand = np.tanh(gx * W[0, 1] + gy * W[1, 1] + b[1])
    np.testing.assert_allclose(maps[(1, 1)], by_hand, atol=1e-5)


def test_any_unit_of_a_wide_layer_has_its_map(probe_and_model):
    probe, model = probe_and_model
    columns = columns_for(CONFIG)
    beyond = WIDE_SHOWN + 3  # one of the "+k more"
    values = probe.unit_map(columns[2], beyond, EXTENT, 5)
    hidden = model.layers[1].forward(
        model.layers[0].forward(plane_grid(EXTENT, 5), training=False), training=False
    )
    np.testing.assert_allclose(values.ravel(), hidden[:, beyond], rtol=1e-6, atol=1e-7)


def test_a_wide_layer_of_a_plane_draws_its_first_units_and_counts_the_rest():
    columns = columns_for(CONFIG)
    assert [c.neurons for c in columns] == [2, 3, WIDE_SHOWN, 4, 2]
    assert [c.more for c in columns] == [0, 0, 20 - WIDE_SHOWN, 0, 0]
    assert columns[2].tags == ["relu", "dropout 0.5"]  # the dropout is folded into it
    images = columns_for({**CONFIG, "input_shape": [784]})
    assert images[2].neurons is None and images[2].more == 0  # not a plane: still a block


def test_unit_detail_reads_incoming_weights_bias_and_share_of_the_next_layer(probe_and_model):
    probe, _model = probe_and_model
    weights = probe.weights()
    columns = columns_for(CONFIG)
    first = unit_detail(columns, weights, 1, 2)
    assert first.title == "Dense 0 · tanh · unit 2"
    assert [name for name, _ in first.incoming] == ["x1", "x2"]
    np.testing.assert_allclose([w for _, w in first.incoming], weights["0.W"][:, 2], rtol=1e-6)
    assert first.bias == pytest.approx(float(weights["0.b"][2]))
    following = np.abs(weights["1.W"].astype(np.float64))
    assert first.next_title == "Dense 1"
    assert first.outgoing_share == pytest.approx(following[2].sum() / following.sum())
    shares = [unit_detail(columns, weights, 1, n).outgoing_share for n in range(3)]
    assert sum(shares) == pytest.approx(1.0)
    second = unit_detail(columns, weights, 2, 0)
    assert second.incoming[0][0] == "Dense 0 unit 0" and len(second.incoming) == 3
    last = unit_detail(columns, weights, 4, 1)
    assert last.next_title is None and last.outgoing_share is None


def test_data_extent_pads_the_range_and_survives_bad_points():
    points = np.array([[0.0, -1.0], [2.0, 1.0], [np.nan, 5.0]])
    assert data_extent(points) == pytest.approx((-0.2, 2.2, -1.2, 1.2))
    assert data_extent(np.full((3, 2), np.inf)) == (-1.0, 1.0, -1.0, 1.0)
