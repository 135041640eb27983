"""The pages of the "See the math" inspector: the input, a layer's forward step, the loss and
a layer's backward step (the update and the check are in sample_inspector_update.py). Each
page is built once and refilled for every step (only numbers change), so stepping stays
instant."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QImage, QPixmap
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from nnstudio.project.explain_layers import unit_parameter_entries
from nnstudio.project.explain_steps import format_number as fmt
from nnstudio.ui.panels.sample_inspector_views import HeatmapView, fill_table, numbers_table
from nnstudio.ui.widgets.image_gallery import to_display_rgb


def position(shape: tuple, index: int) -> str:
    """A flat index as the array's own index: "[2, 5, 7]" for a feature map, "[12]" else."""
    if len(shape) <= 1:
        return f"[{index}]"
    return "[" + ", ".join(str(int(i)) for i in np.unravel_index(index, shape)) + "]"


def wrapped_label(text: str = "", name: str = "", big: bool = False) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if name:
        label.setObjectName(name)
    if big:
        font = QFont(label.font())
        font.setPointSize(font.pointSize() + 3)
        label.setFont(font)
    return label


def monospace(label: QLabel) -> QLabel:
    font = QFont("monospace")
    font.setStyleHint(QFont.StyleHint.Monospace)
    label.setFont(font)
    return label


class InspectorPage(QWidget):
    unit_clicked = Signal(int)

    def __init__(self):
        super().__init__()
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(6, 4, 6, 4)

    def finish(self, table=None) -> None:
        """End the page with a spring that takes the room of a hidden table, so the content
        stays at the top instead of being spread out."""
        self._table, self._spring = table, self.layout_.count()
        self.layout_.addStretch(0 if table is not None else 1)

    def keep_at_top(self) -> None:
        if getattr(self, "_table", None) is not None:
            self.layout_.setStretch(self._spring, 0 if self._table.isVisibleTo(self) else 1)

    def _heatmaps(self, titles: list[str], size: int = 200) -> list[HeatmapView]:
        row = QHBoxLayout()
        views = []
        for title in titles:
            view = HeatmapView(title, size)
            row.addWidget(view, 0, Qt.AlignmentFlag.AlignTop)
            views.append(view)
        row.addStretch(1)
        self.layout_.addLayout(row)
        return views


class InputPage(InspectorPage):
    COLOUR_SIZE = 160  # pixels of the colour picture's longer side

    def __init__(self):
        super().__init__()
        self.title = wrapped_label("The input, as the model sees it (after scaling)", big=True)
        self.layout_.addWidget(self.title)
        # A colour image is also shown as the picture it is: the heatmaps show each channel.
        self.colour = QLabel(objectName="inspectorInputColour")
        self.colour.setToolTip("The three channels (red, green, blue) together: the picture")
        self.layout_.addWidget(self.colour)
        (self.view,) = self._heatmaps(["x"], 240)
        self.text = wrapped_label(name="inspectorInputText")
        self.layout_.addWidget(self.text)
        self.layout_.addStretch(1)

    def show(self, explanation, sample, class_name) -> None:
        x = explanation.input
        shape = sample.image_shape if sample.image_shape else x.shape
        if x.ndim == 3 and x.shape[0] == 1:
            shape = x.shape[1:]
        shown = x.reshape(shape) if int(np.prod(shape)) == x.size else x
        is_colour = shown.ndim == 3 and shown.shape[0] == 3
        self._show_colour(shown if is_colour else None)
        self.view.set_values(
            shown,
            title="x — its red, green and blue channels" if is_colour else "x",
            signed=False,
            describe=lambda i, v: (
                f"x{position(shown.shape, i)} = {fmt(v)}: input value {i} "
                "(pixel or feature, scaled as in training)"
            ),
        )
        target = explanation.target
        truth = (
            f"true class {class_name(int(np.ravel(target)[0]))}"
            if explanation.loss.probabilities is not None and target.size == 1
            else f"target {', '.join(fmt(v) for v in np.ravel(target)[:8])}"
        )
        values = f"x = [{', '.join(fmt(v) for v in x.ravel())}]; " if x.size <= 16 else ""
        self.text.setText(
            f"{values}{x.size} values, shape {tuple(x.shape)}, from {fmt(x.min())} to "
            f"{fmt(x.max())}; {truth}. Press Next ▶ to send it through the first layer."
        )

    def _show_colour(self, image) -> None:
        """The (3, H, W) input as one colour picture, or nothing for other inputs."""
        self.colour.setVisible(image is not None)
        if image is None:
            return
        rgb = to_display_rgb(image[None])[0]
        height, width = rgb.shape[:2]
        picture = QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()
        scale = max(1, self.COLOUR_SIZE // max(height, width))
        self.colour.setPixmap(QPixmap.fromImage(picture.scaled(width * scale, height * scale)))


class ForwardPage(InspectorPage):
    def __init__(self):
        super().__init__()
        self.formula = wrapped_label(name="inspectorFormula", big=True)
        self.layout_.addWidget(self.formula)
        self.views = self._heatmaps(["x — the layer's input", "z", "a — the output"])
        for view in self.views[1:]:
            view.cell_clicked.connect(self.unit_clicked)
        self.text = monospace(wrapped_label(name="inspectorForwardText"))
        self.layout_.addWidget(self.text)
        header = QHBoxLayout()
        self.table_title = wrapped_label()
        self.show_all = QCheckBox("Show all", objectName="inspectorShowAll")
        self.show_all.setToolTip("List every input's contribution w_ij·x_i, not just the top 10")
        header.addWidget(self.table_title, 1)
        header.addWidget(self.show_all)
        self.layout_.addLayout(header)
        self.table = numbers_table("inspectorContributions")
        self.table.setMinimumHeight(160)
        self.layout_.addWidget(self.table, 1)
        self.finish(self.table)

    def show(self, step, unit: int, contributions, input_shape) -> None:
        self.formula.setText(f"<b>{step.name}</b> — forward:  {step.formula}")
        x = step.input.reshape(input_shape)
        self.views[0].set_values(
            x,
            signed=bool(x.min() < 0),
            describe=lambda i, v: f"x{position(x.shape, i)} = {fmt(v)}: input {i} of {step.name}",
        )
        self._middle(step, unit)
        marked = step.explainer.cells_of(step.output, unit)
        act = step.activation or "f"
        self.views[2].set_values(
            step.output,
            marked=marked,
            describe=lambda i, v: (
                f"a{position(step.output.shape, i)} = {fmt(v)}: output of "
                f"{step.name} ({act}(z) for unit {i})"
                if step.z is not None
                else f"a{position(step.output.shape, i)} = {fmt(v)}: output {i} of {step.name}"
            ),
        )
        text = step.explainer.describe_unit(step, unit)
        self.text.setText(f"{text}\n({step.note})" if step.note else text)
        dense = contributions is not None
        self.show_all.setVisible(dense)
        self.table.setVisible(dense)
        self.table_title.setVisible(dense)
        if dense:
            self._fill_contributions(step, unit, contributions)
        self.keep_at_top()

    def _middle(self, step, unit: int) -> None:
        view = self.views[1]
        view.setVisible(step.z is not None or step.mask is not None)
        if step.mask is not None:
            view.set_values(
                step.mask,
                signed=False,
                title="mask — 0 drops a value, 1/(1 − rate) keeps it",
                describe=lambda i, v: (
                    f"mask[{i}] = {fmt(v)}: "
                    + ("dropped in this pass" if v == 0 else "kept, scaled by 1/(1 − rate)")
                ),
            )
        elif step.z is not None:
            marked = step.explainer.cells_of(step.z, unit)
            view.set_values(
                step.z,
                marked=marked,
                title="z — pre-activation (click a unit)",
                describe=lambda i, v: (
                    f"z{position(step.z.shape, i)} = {fmt(v)}: the weighted "
                    f"sum of unit {i} before {step.activation}"
                ),
            )

    def _fill_contributions(self, step, unit: int, contributions) -> None:
        shown, total = len(contributions["rows"]), contributions["count"]
        self.table_title.setText(
            f"What z_{unit} is made of: {'all' if shown == total else f'the top {shown} of'} "
            f"{total} terms w_i,{unit}·x_i, largest first"
        )
        headers = [
            ("input i", "Which input of the layer"),
            ("x_i", "The input's value"),
            (f"w_i,{unit}", f"The weight from input i to unit {unit}"),
            ("w·x", f"The term w_i,{unit}·x_i it adds to z_{unit}"),
        ]
        rows, tips = [], []
        for i, x, w, product in contributions["rows"]:
            rows.append([i, x, w, product])
            tips.append(
                [
                    f"input {i} of {step.name}",
                    f"x_{i} = {fmt(x)}: input {i}",
                    f"W[{i}, {unit}] = {fmt(w)}: the weight from input {i} to unit {unit} "
                    f"(engine name {step.parameter_name('W')})",
                    f"w·x = {fmt(w)} × {fmt(x)} = {fmt(product)}",
                ]
            )
        fill_table(self.table, headers, rows, tips)


class LossPage(InspectorPage):
    def __init__(self):
        super().__init__()
        self.formula = wrapped_label(name="inspectorLossFormula", big=True)
        self.lines = monospace(wrapped_label(name="inspectorLossNumbers"))
        self.gradient = wrapped_label()
        for widget in (self.formula, self.lines, self.gradient):
            self.layout_.addWidget(widget)
        self.table = numbers_table("inspectorLossTable")
        self.layout_.addWidget(self.table, 1)

    def show(self, loss, class_name) -> None:
        self.formula.setText(f"<b>Loss — {loss.label}</b>:  {loss.formula}")
        penalty = f"\n+ L1/L2 penalty {fmt(loss.penalty)}" if loss.penalty else ""
        self.lines.setText("\n".join(loss.lines) + penalty)
        self.gradient.setText(
            f"The backward pass starts here: {loss.grad_formula} "
            "(the gradient of the loss with respect to the network's outputs)."
        )
        outputs, grad = np.ravel(loss.outputs), np.ravel(loss.grad_outputs)
        if loss.probabilities is not None:
            true = int(np.ravel(loss.target)[0]) if loss.target.size == 1 else -1
            headers = [
                ("class", "The output unit"),
                ("z (logit)", "The network's raw score for the class"),
                ("p", "softmax probability"),
                ("dL/dz", "p − 1 for the true class, p for the others"),
            ]
            rows = [
                [class_name(k) + (" ← true" if k == true else ""), outputs[k], p, grad[k]]
                for k, p in enumerate(loss.probabilities)
            ]
            tips = [
                [
                    f"class {class_name(k)}",
                    f"z_{k} = {fmt(outputs[k])}: the score of class {class_name(k)}",
                    f"p_{k} = exp(z_{k}) / Σ exp(z) = {fmt(p)}",
                    f"dL/dz_{k} = {fmt(grad[k])}",
                ]
                for k, p in enumerate(loss.probabilities)
            ]
        else:
            target = np.ravel(loss.target)
            headers = [
                ("output", "The output unit"),
                ("y", "The network's output"),
                ("t", "The target"),
                ("dL/dy", "The gradient handed to the last layer"),
            ]
            rows = [[k, outputs[k], target[k], grad[k]] for k in range(len(outputs))]
            tips = [
                [
                    f"output {k}",
                    f"y_{k} = {fmt(outputs[k])}",
                    f"t_{k} = {fmt(target[k])}",
                    f"dL/dy_{k} = {fmt(grad[k])}",
                ]
                for k in range(len(outputs))
            ]
        fill_table(self.table, headers, rows, tips)


class BackwardPage(InspectorPage):
    def __init__(self):
        super().__init__()
        self.formula = wrapped_label(name="inspectorChainRule", big=True)
        self.layout_.addWidget(self.formula)
        self.views = self._heatmaps(["dL/da", "dL/dz", "dL/dW", "dL/db"], 170)
        for view in self.views[:2]:
            view.cell_clicked.connect(self.unit_clicked)
        # A wide layer's dL/dW (784 × 128) is a strip nobody can read: the chosen unit's
        # incoming weights and their gradients drawn as the input image instead.
        self.unit_images = self._heatmaps(["w of the unit", "dL/dw of the unit"], 170)
        self.text = monospace(wrapped_label(name="inspectorBackwardText"))
        self.layout_.addWidget(self.text)
        header = QHBoxLayout()
        self.table_title = wrapped_label()
        self.check_button = QPushButton("Check this gradient", objectName="inspectorCheckHere")
        self.check_button.setAutoDefault(False)
        self.check_button.setToolTip(
            "Compare these gradients with central finite differences (L(w + ε) − L(w − ε)) / 2ε"
        )
        header.addWidget(self.table_title, 1)
        header.addWidget(self.check_button)
        self.layout_.addLayout(header)
        self.table = numbers_table("inspectorGradientTable")
        self.table.setMinimumHeight(150)
        self.layout_.addWidget(self.table, 1)
        self.finish(self.table)

    def show(self, step, unit: int, rule: dict, input_shape) -> None:
        self.formula.setText(f"<b>{step.name}</b> — backward (chain rule)")
        shape = step.output.shape
        self.views[0].set_values(
            step.grad_output,
            marked=unit,
            describe=lambda i, v: (
                f"dL/da{position(shape, i)} = {fmt(v)}: how the loss changes "
                f"with output {i} of {step.name}"
            ),
        )
        self.views[1].setVisible(step.grad_z is not None)
        if step.grad_z is not None:
            self.views[1].set_values(
                step.grad_z,
                marked=unit,
                describe=lambda i, v: (
                    f"dL/dz{position(shape, i)} = {fmt(v)}: dL/da · f'(z) for unit {i}"
                ),
            )
        self._weights(step)
        self._unit_weight_images(step, unit, input_shape)
        lines = [rule["text"], *step.explainer.backward_lines(step, unit)]
        self.text.setText("\n".join(lines))
        self._fill_gradients(step, unit)
        self.keep_at_top()

    def _weights(self, step) -> None:
        for view, key in ((self.views[2], "W"), (self.views[3], "b")):
            grad = step.grads.get(key)
            if grad is None and key == "W":
                grad = step.grads.get("gamma")
                key = "gamma" if grad is not None else key
            if grad is None and key == "b":
                grad = step.grads.get("beta")
                key = "beta" if grad is not None else key
            view.setVisible(grad is not None)
            if grad is None:
                continue
            shown = grad.reshape(grad.shape[0], -1) if grad.ndim > 2 else grad
            name = step.parameter_name(key)
            view.set_values(
                shown,
                title=f"dL/d{key} {tuple(grad.shape)}",
                describe=lambda i, v, g=grad, n=name: (
                    f"dL/d{n}{position(g.shape, i)} = "
                    f"{fmt(v)}: the gradient of weight {n}{position(g.shape, i)}"
                ),
            )

    def _unit_weight_images(self, step, unit: int, input_shape) -> None:
        """For a Dense layer on an image (a flat 784-vector drawn as 28×28): the unit's
        incoming weights W[:, unit] and their gradients, each as an image of the input."""
        weights, grads = step.params.get("W"), step.grads.get("W")
        image = (
            step.explainer.fully_connected
            and weights is not None
            and grads is not None
            and len(input_shape) >= 2
            and int(np.prod(input_shape)) == weights.shape[0]
        )
        for view in self.unit_images:
            view.setVisible(bool(image))
        if not image:
            return
        shape = tuple(input_shape)
        name = step.parameter_name("W")
        for view, values, what in (
            (self.unit_images[0], weights[:, unit], "w"),
            (self.unit_images[1], grads[:, unit], "dL/dw"),
        ):
            view.set_values(
                values.reshape(shape),
                title=f"{what} into unit {unit}, as the input {'×'.join(map(str, shape))}",
                describe=lambda i, v, what=what: (
                    f"{what} of {name}[{i}, {unit}] = {fmt(v)}: input pixel {position(shape, i)}"
                    f" to unit {unit}"
                ),
            )

    def _fill_gradients(self, step, unit: int) -> None:
        self.table_title.setVisible(bool(step.grads))
        self.table.setVisible(bool(step.grads))
        self.check_button.setVisible(bool(step.grads))
        if not step.grads:
            return
        if step.explainer.fully_connected:
            self._dense_rows(step, unit)
            return
        entries = unit_parameter_entries(step, step.explainer.unit_of_flat(step, unit), 10)
        self.table_title.setText(f"The largest gradients of {step.name}'s weights")
        headers = [("weight", "Engine name and index"), ("w", "Its value"), ("dL/dw", "Gradient")]
        rows, tips = [], []
        for name, indices in entries.items():
            key = name.partition(".")[2]
            for index in indices:
                index = tuple(int(i) for i in index)
                w, g = float(step.params[key][index]), float(step.grads[key][index])
                rows.append([f"{name}{list(index)}", w, g])
                tips.append([f"weight {name}{list(index)}", f"w = {fmt(w)}", f"dL/dw = {fmt(g)}"])
        fill_table(self.table, headers, rows, tips)

    def _dense_rows(self, step, unit: int) -> None:
        x = np.ravel(step.input)
        column = step.grads["W"][:, unit]
        order = np.argsort(-np.abs(column), kind="stable")[:10]
        gz = float(np.ravel(step.grad_z)[unit])
        self.table_title.setText(
            f"Unit {unit}'s weight gradients (top 10 of {len(column)}): dL/dW_i,{unit} = "
            f"x_i · dL/dz_{unit}"
        )
        headers = [
            ("input i", "Which input"),
            ("x_i", "The input's value in the forward pass"),
            (f"dL/dz_{unit}", "The unit's gradient before the activation"),
            (f"dL/dW_i,{unit}", "x_i · dL/dz: the weight's gradient"),
        ]
        rows = [[int(i), float(x[i]), gz, float(column[i])] for i in order]
        tips = [
            [
                f"input {i}",
                f"x_{i} = {fmt(x[i])}",
                f"dL/dz_{unit} = {fmt(gz)}",
                f"dL/dW[{i}, {unit}] = {fmt(x[i])} × {fmt(gz)} = {fmt(column[i])}"
                + (" (+ L1/L2 term)" if step.settings.get("l1") or step.settings.get("l2") else ""),
            ]
            for i in order
        ]
        fill_table(self.table, headers, rows, tips)
