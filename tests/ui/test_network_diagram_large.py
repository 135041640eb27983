"""The network diagram of a very deep network (issue 23, minor): painting is linear in the
number of layers, and beyond MAX_DRAWN_COLUMNS the diagram draws the first ones and says so."""

from __future__ import annotations

from PySide6.QtGui import QColor, QImage

from nnstudio.project import diagram_layout
from nnstudio.ui.builder import network_diagram
from nnstudio.ui.builder.network_diagram import QtNetworkDiagram

DEEP = 1000


def deep_config(n=DEEP):
    layers = [{"type": "Dense", "units": 4, "activation": "relu"} for _ in range(n)]
    return {"input_shape": [2], "layers": [*layers, {"type": "Dense", "units": 3}]}


def counting_neurons(monkeypatch):
    """Counts how often a column is asked how many neurons it has (the O(n²) was there)."""
    calls = {"n": 0}
    original = diagram_layout.Column.neurons

    def neurons(column):
        calls["n"] += 1
        return original.fget(column)

    monkeypatch.setattr(diagram_layout.Column, "neurons", property(neurons))
    return calls


def render(diagram) -> QImage:
    image = QImage(diagram.size(), QImage.Format.Format_ARGB32)
    image.fill(QColor("white"))
    diagram.render(image)
    return image


def test_a_thousand_layers_build_and_paint_in_linear_work(qtbot, monkeypatch):
    diagram = QtNetworkDiagram()
    qtbot.addWidget(diagram)
    diagram.resize(900, 400)
    diagram.set_config(deep_config())
    assert len(diagram.columns) == DEEP + 2  # input, the 1,000 layers, the output
    assert [c.neurons for c in diagram.columns[1:3]] == [4, 4]
    drawn = []
    original_paint = QtNetworkDiagram._paint_column
    monkeypatch.setattr(
        QtNetworkDiagram,
        "_paint_column",
        lambda self, painter, number: (drawn.append(number), original_paint(self, painter, number)),
    )
    calls = counting_neurons(monkeypatch)
    image = render(diagram)
    shown = network_diagram.MAX_DRAWN_COLUMNS
    assert drawn == list(range(shown))  # the first columns, each once
    assert calls["n"] < 50 * shown, calls  # per column, not per column squared
    assert f"of {DEEP + 2}" in diagram.cut_note()
    inked = sum(image.pixelColor(x, 200) != QColor("white") for x in range(0, 900, 3))
    assert inked > 20  # it drew the network across the widget


def test_a_small_network_is_drawn_whole_without_a_note(qtbot):
    diagram = QtNetworkDiagram()
    qtbot.addWidget(diagram)
    diagram.resize(600, 300)
    diagram.set_config(deep_config(3))
    assert diagram.shown == len(diagram.columns) == 5
    assert diagram.cut_note() == ""
    render(diagram)
