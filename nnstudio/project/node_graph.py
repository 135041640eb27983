"""A tiny network, node by node: the explained sample's pass as a graph (micrograd style).

Each column is a layer's units (the first: the inputs); each node carries its value a and
its gradient dL/da, each edge its weight w and dL/dw. Built from an Explanation
(nnstudio.project.explain), so every number is the engine's own. Only for small networks of
Dense layers: past ``MAX_UNITS`` nodes a picture of every edge says nothing.

>>> import numpy as np
>>> from nnstudio.engine.layers import Dense
>>> from nnstudio.engine.model import Sequential
>>> from nnstudio.project.explain import explain_sample
>>> model = Sequential([Dense(3, activation="tanh"), Dense(2)], input_shape=(2,), seed=0)
>>> graph = node_graph(explain_sample(model, "softmax_crossentropy", np.ones(2, "f4"), 1))
>>> [len(column.nodes) for column in graph.columns], len(graph.edges)
([2, 3, 2], 12)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nnstudio.project.explain_steps import Explanation

MAX_UNITS = 40


@dataclass
class Node:
    value: float  # a: what the node passes on
    grad: float  # dL/da
    pre_activation: float | None = None  # z, for a unit with an activation
    bias: float | None = None
    bias_grad: float | None = None


@dataclass
class Column:
    title: str  # "input", "0 Dense tanh"
    nodes: list[Node] = field(default_factory=list)


@dataclass
class Edge:
    layer: int  # the column it ends in (1 = the first Dense layer)
    source: int
    target: int
    weight: float
    grad: float
    name: str  # the engine's name, "0.W[1, 2]"


@dataclass
class NodeGraph:
    columns: list[Column]
    edges: list[Edge]
    loss: float


def too_big_or_unsupported(explanation: Explanation) -> str | None:
    """Why the graph cannot be drawn for this network, or None when it can."""
    layers = _drawn_layers(explanation)
    units = explanation.input.size + sum(step.output.size for step in layers)
    if units > MAX_UNITS:
        return f"node by node shows networks of up to {MAX_UNITS} units; this one has {units}"
    others = sorted({step.kind for step in layers if step.explainer.node_by_node != "column"})
    if others:
        return f"node by node shows networks of Dense layers only; this one has {', '.join(others)}"
    return None


def _drawn_layers(explanation: Explanation) -> list:
    """The layers that become columns: a Flatten passes its values on unchanged."""
    return [step for step in explanation.layers if step.explainer.node_by_node != "skipped"]


def node_graph(explanation: Explanation) -> NodeGraph:
    """The graph of the explained pass; raises ValueError for a network it cannot show."""
    problem = too_big_or_unsupported(explanation)
    if problem:
        raise ValueError(problem)
    layers = _drawn_layers(explanation)
    inputs = np.ravel(explanation.input)
    first_grads = layers[0].grad_input
    input_grads = np.zeros_like(inputs) if first_grads is None else np.ravel(first_grads)
    columns = [
        Column(
            "input", [Node(float(v), float(g)) for v, g in zip(inputs, input_grads, strict=True)]
        )
    ]
    edges = []
    for number, step in enumerate(layers, start=1):
        columns.append(_unit_column(step))
        weights, grads = step.params["W"], step.grads["W"]
        for (i, j), weight in np.ndenumerate(weights):
            name = f"{step.parameter_name('W')}[{i}, {j}]"
            edges.append(Edge(number, i, j, float(weight), float(grads[i, j]), name))
    return NodeGraph(columns, edges, float(explanation.loss.value))


def _unit_column(step) -> Column:
    z = step.z if step.z is not None else step.output
    bias, bias_grad = step.params.get("b"), step.grads.get("b")
    title = f"{step.name} {step.activation or ''}".strip()
    nodes = []
    for j, (a, grad) in enumerate(zip(step.output, step.grad_output, strict=True)):
        nodes.append(
            Node(
                float(a),
                float(grad),
                pre_activation=float(z[j]),
                bias=None if bias is None else float(bias[j]),
                bias_grad=None if bias_grad is None else float(bias_grad[j]),
            )
        )
    return Column(title, nodes)
