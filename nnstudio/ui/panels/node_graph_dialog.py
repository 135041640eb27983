"""NodeGraphDialog: a tiny network's pass for one sample, node by node (micrograd style).

Every node shows its value a and its gradient dL/da; every edge is drawn as thick as its
weight is large (red positive, blue negative) and says w and dL/dw on hover. "▶ Forward"
reveals the values column by column from the inputs; "◀ Backward" reveals the gradients from
the outputs back. The numbers are nnstudio.project.node_graph's, i.e. the engine's.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, QTimer
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import (
    QDialog,
    QGraphicsScene,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
)

from nnstudio.project.explain import format_number
from nnstudio.project.node_graph import NodeGraph
from nnstudio.ui.widgets.dialog_size import resize_within_screen

STEP_MS = 700
NODE_W, NODE_H, COLUMN_GAP, ROW_GAP = 118, 44, 110, 14
POSITIVE, NEGATIVE = QColor(178, 24, 43), QColor(33, 102, 172)


class NodeGraphDialog(QDialog):
    """``NodeGraphDialog(graph)``: ``forward_shown`` columns show their values, and the last
    ``backward_shown`` columns their gradients."""

    def __init__(self, graph: NodeGraph, title: str = "", parent=None):
        super().__init__(parent)
        self.setObjectName("nodeGraphDialog")
        self.setWindowTitle("Node by node")
        self.graph = graph
        self.forward_shown = len(graph.columns)
        self.backward_shown = len(graph.columns)
        self._direction = 0
        self._timer = QTimer(self, interval=STEP_MS)
        self._timer.timeout.connect(self._advance)
        self.scene = QGraphicsScene(self)
        self.view = QGraphicsView(self.scene, objectName="nodeGraphView")
        self.view.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.forward_button = QPushButton("▶ Forward", objectName="nodeGraphForward")
        self.forward_button.setToolTip("Show the values flowing from the inputs, layer by layer")
        self.forward_button.clicked.connect(lambda: self.play(+1))
        self.backward_button = QPushButton("◀ Backward", objectName="nodeGraphBackward")
        self.backward_button.setToolTip(
            "Show the gradients flowing back from the loss, layer by layer"
        )
        self.backward_button.clicked.connect(lambda: self.play(-1))
        self.caption = QLabel(
            f"{title} — each node: a (its value) and ∂ = dL/da; each edge: its weight "
            f"(thickness, red + / blue −), w and dL/dw on hover. Loss "
            f"{format_number(graph.loss)}.",
            objectName="nodeGraphCaption",
        )
        self.caption.setWordWrap(True)
        controls = QHBoxLayout()
        controls.addWidget(self.forward_button)
        controls.addWidget(self.backward_button)
        controls.addWidget(self.caption, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(self.view, 1)
        self.redraw()
        resize_within_screen(self, min(1200, 160 + len(graph.columns) * (NODE_W + COLUMN_GAP)), 620)

    # -- playing ----------------------------------------------------------------------------

    def play(self, direction: int) -> None:
        """+1: values appear from the inputs on; -1: gradients appear from the outputs back."""
        self._direction = direction
        if direction > 0:
            self.forward_shown, self.backward_shown = 1, 0
        else:
            self.forward_shown, self.backward_shown = len(self.graph.columns), 0
        self.redraw()
        self._timer.start()

    def _advance(self) -> None:
        columns = len(self.graph.columns)
        if self._direction > 0 and self.forward_shown < columns:
            self.forward_shown += 1
        elif self._direction < 0 and self.backward_shown < columns:
            self.backward_shown += 1
        else:
            self._timer.stop()
        self.redraw()

    # -- drawing ------------------------------------------------------------------------------

    def _position(self, column: int, row: int) -> tuple[float, float]:
        count = len(self.graph.columns[column].nodes)
        tallest = max(len(c.nodes) for c in self.graph.columns)
        top = (tallest - count) * (NODE_H + ROW_GAP) / 2
        return column * (NODE_W + COLUMN_GAP), 30 + top + row * (NODE_H + ROW_GAP)

    def redraw(self) -> None:
        self.scene.clear()
        self._draw_edges()
        for c, column in enumerate(self.graph.columns):
            x, _y = self._position(c, 0)
            bold = QFont(self.font())
            bold.setBold(True)
            title = self.scene.addText(column.title, bold)
            title.setPos(x, 0)
            for r, node in enumerate(column.nodes):
                self._draw_node(c, r, node)
        self.scene.setSceneRect(self.scene.itemsBoundingRect().adjusted(-10, -10, 10, 10))

    def _draw_edges(self) -> None:
        biggest = max((abs(e.weight) for e in self.graph.edges), default=1.0) or 1.0
        for edge in self.graph.edges:
            x1, y1 = self._position(edge.layer - 1, edge.source)
            x2, y2 = self._position(edge.layer, edge.target)
            colour = QColor(POSITIVE if edge.weight >= 0 else NEGATIVE)
            colour.setAlpha(170)
            pen = QPen(colour, 0.5 + 4.5 * abs(edge.weight) / biggest)
            line = self.scene.addLine(x1 + NODE_W, y1 + NODE_H / 2, x2, y2 + NODE_H / 2, pen)
            line.setToolTip(
                f"{edge.name}: w = {format_number(edge.weight)}, dL/dw = {format_number(edge.grad)}"
            )

    def _draw_node(self, c: int, r: int, node) -> None:
        x, y = self._position(c, r)
        box = self.scene.addRect(
            QRectF(x, y, NODE_W, NODE_H), QPen(QColor("#555555")), QBrush(QColor("#ffffff"))
        )
        value_shown = c < self.forward_shown
        grad_shown = c >= len(self.graph.columns) - self.backward_shown
        lines = [
            f"a = {format_number(node.value)}" if value_shown else "a = ?",
            f"∂ = {format_number(node.grad)}" if grad_shown else "∂ = ?",
        ]
        text = self.scene.addText("\n".join(lines), QFont("monospace", 9))
        text.setPos(x + 4, y + 2)
        tip = [f"a = {format_number(node.value)}", f"dL/da = {format_number(node.grad)}"]
        if node.pre_activation is not None:
            tip.insert(0, f"z = {format_number(node.pre_activation)}")
        if node.bias is not None:
            tip.append(f"b = {format_number(node.bias)}, dL/db = {format_number(node.bias_grad)}")
        box.setToolTip("\n".join(tip))
        box.setZValue(1)
        text.setZValue(2)
