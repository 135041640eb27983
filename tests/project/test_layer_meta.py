"""What the builder reads from the layer classes: which layers keep their input's shape (the
diagram folds them, the output-size fix looks through them) follows from each class's
category, and that category tells the truth."""

from __future__ import annotations

import numpy as np
import pytest

from nnstudio.engine import registry
from nnstudio.project import layer_meta
from nnstudio.project.diagram_layout import columns_for
from nnstudio.project.network_checks import output_size_problem

SHAPE_KEEPING = sorted(name for name in registry.LAYERS if layer_meta.keeps_shape(name))


def test_the_shape_keeping_layers_are_the_activations_dropout_and_batch_norm():
    assert {"Dropout", "BatchNorm", "Activation", "ReLU", "Softmax"} <= set(SHAPE_KEEPING)
    assert not {"Dense", "Conv2D", "Flatten", "Reshape", "MaxPool2D"} & set(SHAPE_KEEPING)


@pytest.mark.parametrize("name", SHAPE_KEEPING)
def test_a_shape_keeping_layer_keeps_the_shape(name):
    layer = registry.layer_from_config(layer_meta.default_config(name))
    for shape in ((16,), (3, 8, 8)):
        assert tuple(layer.build(shape, np.random.default_rng(0))) == shape


def test_the_diagram_folds_them_and_the_output_fix_looks_through_them():
    layers = [
        {"type": "Dense", "units": 8, "activation": "relu"},
        {"type": "BatchNorm"},
        {"type": "Dropout", "rate": 0.25},
        {"type": "Dense", "units": 4},
        {"type": "Sigmoid"},
    ]
    columns = columns_for({"input_shape": [2], "layers": layers})
    assert [column.title for column in columns] == ["Input", "Dense", "Dense"]
    assert columns[1].tags == ["relu", "batch norm", "dropout 0.25"]
    problem = output_size_problem(layers, (4,), 3, "classification")
    assert problem.index == 3 and problem.fixes[0].label == "Set units to 3"
