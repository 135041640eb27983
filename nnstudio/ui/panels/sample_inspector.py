"""SampleInspector: "See the math" for one sample — forward, loss, backward, update, check —
with the real numbers of the model (computed by nnstudio.project.explain on a copy of it).

The dialog walks the pass as a list of steps (Input, each layer forward, Loss, each layer
backward, Update, Check); Previous / Next move one step, ▶ Forward and ◀ Backward play the
pass. A unit (a neuron, or a channel of a convolution) is chosen with the Unit box or by
clicking it in a heatmap; the tables and the chain rule follow it. Every value says what it is
on hover. The gradient check runs off the GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
)

from nnstudio.project.explain import chain_rule, explain_sample
from nnstudio.project.explain_layers import top_contributions, unit_parameter_entries
from nnstudio.project.explain_steps import format_number
from nnstudio.project.gradient_check import check_gradients
from nnstudio.project.node_graph import node_graph, too_big_or_unsupported
from nnstudio.ui.panels.sample_inspector_pages import BackwardPage, ForwardPage, InputPage, LossPage
from nnstudio.ui.panels.sample_inspector_update import CheckPage, UpdatePage
from nnstudio.ui.widgets.dialog_size import resize_within_screen
from nnstudio.ui.widgets.jobs import JobRunner
from nnstudio.ui.widgets.show_dialog import show_in_front

PLAY_MS = 900  # one step of ▶ Forward / ◀ Backward


@dataclass
class InspectorSample:
    """What the inspector explains: a model (a copy, never the one a run trains), its loss,
    one sample as the model sees it (scaled) and its target."""

    model: object
    loss: object
    x: np.ndarray
    target: object
    title: str
    optimizer: object = None  # a copy of the project's optimizer, with its state
    class_names: list | None = None
    image_shape: tuple | None = None  # how to draw a flat input (784 → 28×28)
    choose_target: bool = False  # a drawing has no true class: the learner picks one
    count: int = 0  # samples reachable with the Sample box (0: just this one)
    index: int = 0
    fetch: Callable[[int], tuple] | None = None  # index → (x, target, title)


class SampleInspector(QDialog):
    """The "See the math" window. ``show_sample(sample)`` explains a sample; ``explained``
    follows every new explanation, ``checked(dict)`` every finished gradient check."""

    explained = Signal()
    checked = Signal(dict)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("sampleInspector")
        self.setWindowTitle("See the math — one sample")
        self.sample: InspectorSample | None = None
        self.explanation = None
        self.last_check = None
        self._steps: list[tuple[str, int | None]] = []
        self._units: dict[int, int] = {}
        self._focus_layer = 0
        self._play_direction = 0
        self._play = QTimer(self, interval=PLAY_MS)
        self._play.timeout.connect(self._play_step)
        self._checker = JobRunner(self)
        self._checker.done.connect(self._on_checked)
        self._checker.failed.connect(self._on_check_failed)
        self._build()
        resize_within_screen(self, 1180, 690)  # a 1024×600 screen shows it whole

    # -- building ---------------------------------------------------------------------------

    def _build(self) -> None:
        self.heading = QLabel(objectName="inspectorHeading")
        self.heading.setWordWrap(True)
        self.heading.setTextFormat(Qt.TextFormat.RichText)
        self.steps = QListWidget(objectName="inspectorSteps")
        self.steps.setMaximumWidth(190)
        self.steps.setToolTip(
            "The pass, one step at a time: forward through the layers, the loss, backward "
            "through the layers (last first), the optimizer's update and the gradient check."
        )
        self.steps.currentRowChanged.connect(self._show_step)
        self.pages = QStackedWidget()
        self.input_page, self.forward_page = InputPage(), ForwardPage()
        self.loss_page, self.backward_page = LossPage(), BackwardPage()
        self.update_page, self.check_page = UpdatePage(), CheckPage()
        for page in (
            self.input_page,
            self.forward_page,
            self.loss_page,
            self.backward_page,
            self.update_page,
            self.check_page,
        ):
            self.pages.addWidget(page)
        for page in (self.forward_page, self.backward_page):
            page.unit_clicked.connect(self.set_unit)
        self.forward_page.show_all.toggled.connect(lambda _on: self._refresh())
        self.check_page.check_button.clicked.connect(self.check_gradient)
        self.backward_page.check_button.clicked.connect(self._check_from_backward)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.pages)
        body = QHBoxLayout()
        body.addWidget(self.steps)
        body.addWidget(scroll, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.heading)
        layout.addLayout(self._build_controls())
        layout.addLayout(body, 1)

    def _button(self, text: str, name: str, tip: str, slot) -> QPushButton:
        button = QPushButton(text, objectName=name)
        button.setAutoDefault(False)  # Enter in the Sample box must not step or play
        button.setToolTip(tip)
        button.clicked.connect(slot)
        return button

    def _build_controls(self) -> QVBoxLayout:
        self.previous_button = self._button(
            "◀ Previous", "inspectorPrevious", "The step before (Page Up)", self.previous_step
        )
        self.next_button = self._button(
            "Next ▶", "inspectorNext", "The next step (Page Down)", self.next_step
        )
        self.play_forward = self._button(
            "▶ Forward",
            "inspectorPlayForward",
            "Play the forward pass, layer by layer",
            lambda: self.play(+1),
        )
        self.play_backward = self._button(
            "◀ Backward",
            "inspectorPlayBackward",
            "Play the backward pass: from the loss back to the first layer",
            lambda: self.play(-1),
        )
        self.unit_box = QSpinBox(objectName="inspectorUnit")
        self.unit_box.setToolTip(
            "The unit (neuron; for a convolution, the channel) the tables and the chain rule "
            "follow. Clicking a cell of a heatmap picks it too."
        )
        self.unit_box.valueChanged.connect(self.set_unit)
        self.unit_label = QLabel("Unit")
        self.sample_box = QSpinBox(objectName="inspectorSample")
        self.sample_box.setToolTip("Which sample of the split to explain")
        self.sample_box.editingFinished.connect(self._fetch_sample)
        self.sample_label = QLabel("Sample")
        self.target_box = QSpinBox(objectName="inspectorTarget")
        self.target_box.setToolTip(
            "The true class the loss compares with. A drawing has none: pick the digit you "
            "meant and see what the gradient would teach the network."
        )
        self.target_box.valueChanged.connect(self._on_target_changed)
        self.target_label = QLabel("True class")
        self.training_mode = QCheckBox("Training mode", objectName="inspectorTrainingMode")
        self.training_mode.setToolTip(
            "Run the layers as training does: Dropout draws a mask (shown on its step) and "
            "BatchNorm normalises with this sample's statistics. Off: as in evaluation."
        )
        self.training_mode.toggled.connect(lambda _on: self._explain())
        self.wiggle_button = self._button(
            "Wiggle a weight…",
            "inspectorWiggle",
            "Move one weight of the chosen unit with a slider and watch the loss follow its "
            "curve beside the tangent line the gradient promises",
            self.wiggle_weight,
        )
        self.node_graph_button = self._button(
            "Node by node…",
            "inspectorNodeGraph",
            "Every unit of a small network with its value and gradient, every weight as an edge",
            self.show_node_graph,
        )
        # Two rows, the pass and what it follows, then the tools: in one row they needed
        # 1,050 px, more than a 1024×600 screen has.
        steps, tools = QHBoxLayout(), QHBoxLayout()
        for widget in (
            self.previous_button,
            self.next_button,
            self.play_forward,
            self.play_backward,
            self.unit_label,
            self.unit_box,
            self.sample_label,
            self.sample_box,
            self.target_label,
            self.target_box,
        ):
            steps.addWidget(widget)
        for widget in (self.training_mode, self.wiggle_button, self.node_graph_button):
            tools.addWidget(widget)
        rows = QVBoxLayout()
        for row in (steps, tools):
            row.addStretch(1)
            rows.addLayout(row)
        return rows

    # -- public API ---------------------------------------------------------------------------

    def show_sample(self, sample: InspectorSample) -> None:
        """Explain ``sample`` and show its first step (the window is shown too)."""
        self.sample = sample
        self._units = {}
        self.sample_box.blockSignals(True)
        self.sample_box.setRange(0, max(sample.count - 1, 0))
        self.sample_box.setValue(sample.index)
        self.sample_box.blockSignals(False)
        for widget in (self.sample_box, self.sample_label):
            widget.setVisible(sample.count > 1)
        classes = self._class_count(sample)
        for widget in (self.target_box, self.target_label):
            widget.setVisible(sample.choose_target and classes > 0)
        self.target_box.blockSignals(True)
        self.target_box.setRange(0, max(classes - 1, 0))
        if classes:
            self.target_box.setValue(int(np.ravel(sample.target)[0]))
        self.target_box.blockSignals(False)
        self._explain(first=True)
        self.show()
        self.raise_()

    def next_step(self) -> None:
        self.steps.setCurrentRow(min(self.steps.currentRow() + 1, self.steps.count() - 1))

    def previous_step(self) -> None:
        self.steps.setCurrentRow(max(self.steps.currentRow() - 1, 0))

    def play(self, direction: int) -> None:
        """▶ Forward from the input to the loss, ◀ Backward from the loss to the first layer."""
        start = "input" if direction > 0 else "loss"
        self.steps.setCurrentRow(self._row_of(start))
        self._play_direction = direction
        self._play.start()

    def stop_playing(self) -> None:
        self._play.stop()
        self._play_direction = 0

    def current_step(self) -> tuple[str, int | None]:
        row = self.steps.currentRow()
        return self._steps[row] if 0 <= row < len(self._steps) else ("", None)

    def go_to(self, kind: str, layer: int | None = None) -> None:
        self.steps.setCurrentRow(self._row_of(kind, layer))

    def unit(self) -> int:
        return self._units.get(self._focus_layer, self._default_unit(self._focus_layer))

    def set_unit(self, unit: int) -> None:
        """Follow another unit of the current layer."""
        if self.explanation is None:
            return
        limit = self._unit_count(self._focus_layer)
        unit = int(min(max(unit, 0), max(limit - 1, 0)))
        if self._units.get(self._focus_layer) == unit:
            return
        self._units[self._focus_layer] = unit
        self._sync_unit_box()
        self._refresh()

    def check_gradient(self) -> None:
        """Compare the chosen unit's gradients with central finite differences (off the GUI
        thread); ``checked`` carries the result."""
        if self.explanation is None:
            return
        step = self.explanation.layers[self._focus_layer]
        if not step.grads:
            step = self._layer_with_weights()
            if step is None:
                return
        entries = unit_parameter_entries(step, self._unit_for_entries(step))
        explanation = self.explanation
        self.check_page.show_running()
        self._checker.start(lambda job: check_gradients(explanation, entries))

    def wiggle_weight(self):
        """Open "Wiggle a weight" on the chosen unit's weight with the largest gradient."""
        from nnstudio.ui.panels.wiggle_dialog import WiggleDialog

        if self.explanation is None:
            return None
        step = self._layer_with_weights()
        if step is None:
            return None
        entries = unit_parameter_entries(step, self._unit_for_entries(step), count=1)
        parameter, (index, *_rest) = next(iter(entries.items()))
        dialog = WiggleDialog(self.explanation, parameter, index, parent=self)
        show_in_front(dialog)
        return dialog

    def show_node_graph(self):
        """Open "Node by node" for a small network of Dense layers."""
        from nnstudio.ui.panels.node_graph_dialog import NodeGraphDialog

        if self.explanation is None or too_big_or_unsupported(self.explanation):
            return None
        graph = node_graph(self.explanation)
        dialog = NodeGraphDialog(graph, self.sample.title, parent=self)
        show_in_front(dialog)
        return dialog

    def wait_for_check(self, msecs: int = 30000) -> bool:
        return self._checker.wait(msecs)

    # -- computing ----------------------------------------------------------------------------

    @staticmethod
    def _class_count(sample) -> int:
        if sample.class_names:
            return len(sample.class_names)
        output = getattr(sample.model, "output_shape", None) or ()
        return int(np.prod(output)) if sample.choose_target else 0

    def _explain(self, first: bool = False) -> None:
        sample = self.sample
        if sample is None:
            return
        step = self.current_step()
        self.explanation = explain_sample(
            sample.model,
            sample.loss,
            sample.x,
            sample.target,
            optimizer=sample.optimizer,
            training=self.training_mode.isChecked(),
        )
        self.last_check = None
        self.check_page.clear()
        self._fill_steps()
        if first:
            self._focus_layer = self._default_focus()
        self._sync_unit_box()
        self._update_heading()
        self._sync_node_graph_button()
        if first or not step[0]:
            self.steps.setCurrentRow(0)
        else:
            self.steps.setCurrentRow(self._row_of(*step))
        self._refresh()
        self.explained.emit()

    def _fetch_sample(self) -> None:
        sample = self.sample
        if sample is None or sample.fetch is None or self.sample_box.value() == sample.index:
            return
        sample.index = self.sample_box.value()
        sample.x, sample.target, sample.title = sample.fetch(sample.index)
        self._explain()

    def _on_target_changed(self, value: int) -> None:
        if self.sample is not None and self.sample.choose_target:
            self.sample.target = int(value)
            self._explain()

    def _check_from_backward(self) -> None:
        self.go_to("check")
        self.check_gradient()

    def _on_checked(self, check) -> None:
        self.last_check = check
        self.check_page.show_check(check, self.explanation)
        self.checked.emit(
            {"max_relative_error": check.max_relative_error, "entries": len(check.rows)}
        )

    def _on_check_failed(self, error) -> None:
        self.check_page.show_error(str(error))

    # -- steps --------------------------------------------------------------------------------

    def _fill_steps(self) -> None:
        layers = self.explanation.layers
        steps = [("input", None)] + [("forward", s.index) for s in layers] + [("loss", None)]
        steps += [("backward", s.index) for s in reversed(layers)]
        steps += [("update", None), ("check", None)]
        names = {"input": "Input", "loss": "Loss", "update": "Update", "check": "Check"}
        self.steps.blockSignals(True)
        self.steps.clear()
        for kind, index in steps:
            if index is None:
                self.steps.addItem(names[kind])
            else:
                arrow = "→" if kind == "forward" else "←"
                self.steps.addItem(f"{arrow} {layers[index].name}")
        self.steps.blockSignals(False)
        self._steps = steps

    def _row_of(self, kind: str, layer: int | None = None) -> int:
        for row, step in enumerate(self._steps):
            if step[0] == kind and (layer is None or step[1] == layer):
                return row
        return 0

    def _play_step(self) -> None:
        kind, _ = self.current_step()
        end = "loss" if self._play_direction > 0 else "backward"
        row = self.steps.currentRow()
        last_backward = self._row_of("update") - 1
        if (self._play_direction > 0 and kind == end) or (
            self._play_direction < 0 and row >= last_backward
        ):
            self.stop_playing()
            return
        self.next_step()

    def _show_step(self, row: int) -> None:
        if self.explanation is None or not 0 <= row < len(self._steps):
            return
        kind, layer = self._steps[row]
        if layer is not None:
            self._focus_layer = layer
            self._sync_unit_box()
        self._refresh()

    # -- units --------------------------------------------------------------------------------

    def _default_focus(self) -> int:
        step = self._layer_with_weights(last=True)
        return step.index if step is not None else 0

    def _layer_with_weights(self, last: bool = False):
        layers = self.explanation.layers
        chosen = [s for s in layers if s.grads]
        if not chosen:
            return None
        if self._focus_layer < len(layers) and not last:
            before = [s for s in chosen if s.index <= self._focus_layer]
            return before[-1] if before else chosen[0]
        return chosen[-1]

    def _unit_count(self, layer: int) -> int:
        step = self.explanation.layers[layer]
        return step.explainer.unit_count(step)

    def _default_unit(self, layer: int) -> int:
        step = self.explanation.layers[layer]
        if (
            layer == len(self.explanation.layers) - 1
            and self.explanation.loss.probabilities is not None
        ):
            return (
                int(np.ravel(self.explanation.target)[0])
                if self.explanation.target.size == 1
                else 0
            )
        return step.explainer.busiest_unit(step)

    def _unit_for_entries(self, step) -> int:
        return self._units.get(step.index, self._default_unit(step.index))

    def _sync_unit_box(self) -> None:
        count = self._unit_count(self._focus_layer)
        self.unit_box.blockSignals(True)
        self.unit_box.setRange(0, max(count - 1, 0))
        self.unit_box.setValue(self.unit())
        self.unit_box.blockSignals(False)
        step = self.explanation.layers[self._focus_layer]
        self.unit_label.setText(step.explainer.unit_word.capitalize())

    # -- showing ------------------------------------------------------------------------------

    def _sync_node_graph_button(self) -> None:
        problem = too_big_or_unsupported(self.explanation) if self.explanation else "no sample"
        self.node_graph_button.setEnabled(problem is None)
        self.node_graph_button.setToolTip(
            problem[0].upper() + problem[1:]
            if problem
            else "Every unit of this small network with its value and gradient, every weight "
            "as an edge; play the forward and the backward pass"
        )

    def _update_heading(self) -> None:
        sample, explanation = self.sample, self.explanation
        loss = explanation.loss
        parts = [f"<b>{sample.title}</b>"]
        if loss.probabilities is not None:
            predicted = int(np.argmax(loss.probabilities))
            parts.append(
                f"predicted <b>{self._class_name(predicted)}</b> "
                f"({100 * loss.probabilities[predicted]:.1f} %)"
            )
        parts.append(f"loss {format_number(loss.value)}")
        if explanation.optimizer:
            parts.append(f"update: one {explanation.optimizer} step on this sample alone")
        mode = "training mode" if explanation.training else "inference mode"
        self.heading.setText(" · ".join(parts) + f" · {mode}")

    def _class_name(self, index: int) -> str:
        names = self.sample.class_names if self.sample is not None else None
        return str(names[index]) if names and index < len(names) else str(index)

    def _refresh(self) -> None:
        if self.explanation is None:
            return
        kind, layer = self.current_step()
        explanation, unit = self.explanation, self.unit()
        row = self.steps.currentRow()
        self.previous_button.setEnabled(row > 0)
        self.next_button.setEnabled(row < len(self._steps) - 1)
        if kind == "input":
            self.input_page.show(explanation, self.sample, self._class_name)
            self.pages.setCurrentWidget(self.input_page)
        elif kind == "forward":
            step = explanation.layers[layer]
            contributions = None
            if step.explainer.fully_connected:
                count = None if self.forward_page.show_all.isChecked() else 10
                contributions = top_contributions(step, unit, count)
            self.forward_page.show(step, unit, contributions, self._input_shape(step))
            self.pages.setCurrentWidget(self.forward_page)
        elif kind == "loss":
            self.loss_page.show(explanation.loss, self._class_name)
            self.pages.setCurrentWidget(self.loss_page)
        elif kind == "backward":
            step = explanation.layers[layer]
            flat = step.explainer.flat_unit(step, unit)
            self.backward_page.show(step, flat, chain_rule(step, flat), self._input_shape(step))
            self.pages.setCurrentWidget(self.backward_page)
        elif kind == "update":
            step = explanation.layers[self._focus_layer]
            if not step.grads:
                step = self._layer_with_weights()
            self.update_page.show(explanation, step, self._unit_for_entries(step) if step else 0)
            self.pages.setCurrentWidget(self.update_page)
        elif kind == "check":
            step = self._layer_with_weights()
            unit = self._unit_for_entries(step) if step else 0
            self.check_page.describe(step, unit, explanation.dropout_drew_a_mask)
            self.pages.setCurrentWidget(self.check_page)

    def _input_shape(self, step) -> tuple:
        """How to draw a layer's input: a flat 784-vector of an image model as 28×28."""
        shape = self.sample.image_shape if self.sample is not None else None
        if step.input.ndim == 1 and shape and int(np.prod(shape)) == step.input.size:
            return tuple(shape)
        return step.input.shape

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt override
        if event.key() == Qt.Key.Key_PageDown:
            self.next_step()
        elif event.key() == Qt.Key.Key_PageUp:
            self.previous_step()
        else:
            super().keyPressEvent(event)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.stop_playing()
        self._checker.wait(10000)
        super().closeEvent(event)
