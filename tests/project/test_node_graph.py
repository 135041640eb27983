"""Node by node: every node's a and dL/da and every edge's w and dL/dw are the engine's
numbers of the explained pass; big or convolutional networks are declined in words."""

import numpy as np
import pytest

from nnstudio.engine.layers import Conv2D, Dense, Flatten
from nnstudio.engine.model import Sequential
from nnstudio.project.explain import explain_sample
from nnstudio.project.node_graph import MAX_UNITS, node_graph, too_big_or_unsupported


def explained(model, x, target=1):
    return explain_sample(model, "softmax_crossentropy", np.asarray(x, np.float32), target)


def test_nodes_and_edges_carry_the_passes_numbers():
    model = Sequential([Dense(4, activation="relu"), Dense(3)], input_shape=(2,), seed=4)
    explanation = explained(model, [0.5, -1.5])
    graph = node_graph(explanation)
    assert [c.title for c in graph.columns] == ["input", "0 Dense relu", "1 Dense linear"]
    assert [len(c.nodes) for c in graph.columns] == [2, 4, 3]
    hidden, output = explanation.layers
    np.testing.assert_allclose([n.value for n in graph.columns[1].nodes], hidden.output)
    np.testing.assert_allclose([n.grad for n in graph.columns[1].nodes], hidden.grad_output)
    np.testing.assert_allclose([n.pre_activation for n in graph.columns[1].nodes], hidden.z)
    np.testing.assert_allclose([n.grad for n in graph.columns[0].nodes], hidden.grad_input)
    np.testing.assert_allclose(
        [n.grad for n in graph.columns[2].nodes], explanation.loss.grad_outputs
    )
    assert len(graph.edges) == 2 * 4 + 4 * 3
    edge = next(e for e in graph.edges if e.name == "1.W[2, 1]")
    assert (edge.layer, edge.source, edge.target) == (2, 2, 1)
    assert edge.weight == pytest.approx(float(output.params["W"][2, 1]))
    # dL/dw = a of the source node × dL/dz of the target unit (no activation at the output)
    source = graph.columns[1].nodes[2].value
    assert edge.grad == pytest.approx(source * graph.columns[2].nodes[1].grad, rel=1e-5)
    assert graph.loss == pytest.approx(explanation.loss.value)


def test_big_and_convolutional_networks_are_declined_in_words():
    wide = Sequential([Dense(64, activation="relu"), Dense(2)], input_shape=(2,), seed=0)
    assert f"up to {MAX_UNITS} units" in too_big_or_unsupported(explained(wide, [1, 1]))
    conv = Sequential([Conv2D(1, 2), Flatten(), Dense(2)], input_shape=(1, 3, 3), seed=0)
    problem = too_big_or_unsupported(explained(conv, np.ones((1, 3, 3))))
    assert "Dense layers only" in problem and "Conv2D" in problem
    with pytest.raises(ValueError, match="Dense layers only"):
        node_graph(explained(conv, np.ones((1, 3, 3))))


def test_a_flattened_image_input_is_drawn_as_its_values():
    model = Sequential([Flatten(), Dense(3), Dense(2)], input_shape=(1, 2, 2), seed=0)
    graph = node_graph(explained(model, np.arange(4).reshape(1, 2, 2)))
    assert [len(c.nodes) for c in graph.columns] == [4, 3, 2]
    assert [n.value for n in graph.columns[0].nodes] == [0, 1, 2, 3]
    assert graph.edges[0].name == "1.W[0, 0]"  # the engine's own layer numbers
