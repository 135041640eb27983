"""How each layer class is explained and inspected: one registry (project/explain_layers.py)
covers every layer class the engine registers, and the inspector asks it, not class names."""

import doctest

import numpy as np
import pytest

from nnstudio.engine.layers import Conv2D, Dense, Flatten, Layer
from nnstudio.engine.model import Sequential
from nnstudio.engine.registry import AUTOMATIC_LAYERS, LAYERS
from nnstudio.project import explain, explain_layers, explain_steps
from nnstudio.project.explain import explain_sample
from nnstudio.project.explain_layers import EXPLAINERS, UNKNOWN, explainer_for


@pytest.mark.parametrize("module", [explain, explain_layers, explain_steps])
def test_docstring_examples_run(module):
    assert doctest.testmod(module).failed == 0


@pytest.mark.parametrize("name", sorted({**LAYERS, **AUTOMATIC_LAYERS}))
def test_the_registry_covers_every_registered_layer_class(name):
    cls = {**LAYERS, **AUTOMATIC_LAYERS}[name]
    explainer = explainer_for(cls)
    assert explainer is not UNKNOWN, f"{name} has no entry in explain_layers.EXPLAINERS"
    assert any(base in EXPLAINERS for base in cls.__mro__)


def test_a_subclass_is_explained_as_its_base_and_an_unknown_layer_by_its_name():
    class WideDense(Dense):
        pass

    class Mystery(Layer):
        pass

    assert explainer_for(WideDense(3)) is EXPLAINERS[Dense]
    assert explainer_for(Mystery) is UNKNOWN and UNKNOWN.formula(Mystery()) == "Mystery"


def test_a_convolutions_unit_is_a_channel_and_a_dense_unit_a_value():
    model = Sequential(
        [Conv2D(3, 3, activation="relu"), Flatten(), Dense(2)], input_shape=(1, 6, 6)
    )
    x = np.random.default_rng(0).normal(size=(1, 6, 6)).astype(np.float32)
    conv, flatten, dense = explain_sample(model, "softmax_crossentropy", x, 1).layers
    assert conv.explainer.unit_word == "channel" and conv.explainer.unit_count(conv) == 3
    assert list(conv.explainer.cells_of(conv.output, 1)) == list(range(16, 32))
    flat = conv.explainer.flat_unit(conv, 2)
    assert 32 <= flat < 48 and conv.explainer.unit_of_flat(conv, flat) == 2
    assert dense.explainer.fully_connected and not conv.explainer.fully_connected
    assert dense.explainer.unit_count(dense) == 2 and dense.explainer.cells_of(dense.z, 1) == 1
    assert dense.explainer.describe_unit(dense, 1).startswith("unit 1:  z_1 = Σ_i w_i,1·x_i")
    assert conv.explainer.describe_unit(conv, 0).startswith("channel 0: z = W_0 ∗ x")
    assert flatten.explainer.node_by_node == "skipped"
    assert dense.explainer.backward_lines(dense, 0)[0].startswith("dL/dW_i,0 = x_i")


def test_no_page_compares_layer_class_names():
    """What differs between layer classes is asked of the registry, not of ``step.kind``."""
    import re
    from pathlib import Path

    root = Path(explain.__file__).parents[1]
    pages = [
        *root.glob("project/explain*.py"),
        root / "project/gradient_check.py",
        root / "project/node_graph.py",
        *root.glob("ui/panels/sample_inspector*.py"),
        root / "cli/explain.py",
    ]
    names = "|".join(sorted({**LAYERS, **AUTOMATIC_LAYERS}))
    comparison = re.compile(rf'(==|!=|\bin \(|\bin \{{)\s*"({names})"|__name__\s*(==|!=|in\b)')
    found = [
        f"{path.relative_to(root)}:{number}"
        for path in pages
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if comparison.search(line)
    ]
    assert found == []
