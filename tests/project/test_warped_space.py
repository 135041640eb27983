"""The warped input space (issue 35): each hidden layer's picture of the grid and the data is
the engine's forward pass of them; wider layers are projected by PCA, said so, and turned to
follow the stage before."""

from __future__ import annotations

import numpy as np
import pytest

from nnstudio.engine.model import Sequential
from nnstudio.project.diagram_layout import columns_for
from nnstudio.project.warped_space import (
    LINE_POINTS,
    LINES,
    blend,
    grid_lines,
    principal_axes,
    warped_space,
)

CONFIG = {
    "input_shape": [2],
    "layers": [
        {"type": "Dense", "units": 2, "activation": "tanh"},
        {"type": "Dense", "units": 6, "activation": "relu"},
        {"type": "Dense", "units": 1, "activation": "sigmoid"},
        {"type": "Dense", "units": 2},
    ],
}


@pytest.fixture
def space_and_model():
    model = Sequential.from_config(CONFIG, seed=2)
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(300, 2)).astype(np.float32)
    classes = (x[:, 0] * x[:, 1] > 0).astype(int)
    return warped_space(model, columns_for(CONFIG), x, classes), model, x


def test_stages_are_the_input_and_every_hidden_layer(space_and_model):
    space, _model, x = space_and_model
    titles = [stage.title for stage in space.stages]
    assert titles == ["Input", "Dense 0 · tanh", "Dense 1 · relu", "Dense 2 · sigmoid"]
    assert space.stages[0].lines.shape == (2 * LINES, LINE_POINTS, 2)
    np.testing.assert_allclose(space.stages[0].points, x, rtol=1e-6)
    assert len(space.classes) == len(x)


def test_a_two_unit_layer_is_the_forward_pass_of_the_grid_and_the_points(space_and_model):
    space, model, x = space_and_model
    lines = grid_lines(space.extent).reshape(-1, 2).astype(np.float32)
    first = model.layers[0]
    np.testing.assert_allclose(
        space.stages[1].lines.reshape(-1, 2), first.forward(lines, training=False), atol=1e-6
    )
    np.testing.assert_allclose(space.stages[1].points, first.forward(x, training=False), atol=1e-6)
    assert not space.stages[1].projected and "drawn as they are" in space.stages[1].describe()


def test_a_wider_layer_is_its_forward_pass_projected_by_pca(space_and_model):
    space, model, x = space_and_model
    hidden = model.layers[1].forward(model.layers[0].forward(x, training=False), training=False)
    stage = space.stages[2]
    assert stage.projected and stage.units == 6
    basis, mean, kept = principal_axes(hidden.astype(np.float64))
    expected = (hidden - mean) @ basis
    # The same projection, up to the sign of each axis (turned to follow the stage before).
    for axis in range(2):
        sign = np.sign(expected[:, axis] @ stage.points[:, axis])
        np.testing.assert_allclose(stage.points[:, axis], sign * expected[:, axis], atol=1e-5)
    assert stage.kept == pytest.approx(kept) and 0 < kept <= 1
    assert "projected to 2-D by PCA" in stage.describe() and f"{kept:.0%}" in stage.describe()
    before = space.stages[1].points
    for axis in range(2):  # the axes point the same way as the stage before's
        a, b = before[:, axis] - before[:, axis].mean(), stage.points[:, axis]
        assert a @ (b - b.mean()) >= 0


def test_a_one_unit_layer_lies_on_a_line(space_and_model):
    space, model, x = space_and_model
    stage = space.stages[3]
    assert stage.units == 1 and not stage.projected and "on a line" in stage.describe()
    assert np.all(stage.points[:, 1] == 0)
    h = x
    for layer in model.layers[:3]:
        h = layer.forward(h, training=False)
    np.testing.assert_allclose(stage.points[:, 0], h[:, 0], atol=1e-6)


def test_pca_keeps_all_of_a_layer_that_is_flat_in_two_directions():
    rng = np.random.default_rng(1)
    plane = rng.normal(size=(200, 2)) @ rng.normal(size=(2, 5))  # 5 units, rank 2
    _basis, _mean, kept = principal_axes(plane)
    assert kept == pytest.approx(1.0)


def test_blend_goes_from_one_stage_to_the_next(space_and_model):
    space, _model, _x = space_and_model
    first, second = space.stages[0], space.stages[1]
    lines, points = blend(first, second, 0.0)
    np.testing.assert_allclose(points, first.points)
    lines, points = blend(first, second, 1.0)
    np.testing.assert_allclose(lines, second.lines)
    _lines, middle = blend(first, second, 0.5)
    np.testing.assert_allclose(middle, (first.points + second.points) / 2)
