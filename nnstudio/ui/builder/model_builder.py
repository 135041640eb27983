"""QtModelBuilder: the Model tab — palette, layer stack, inspector and network diagram.

Public API (what the main window uses):

- ``QtModelBuilder(parent=None)``
- ``set_input_spec(input_shape, n_classes, task, loss_name)``: what the network is checked
  against (for regression pass the number of target values as ``n_classes``, or None)
- ``config() -> dict`` / ``set_config(cfg)`` (replaces the network, clears the undo history)
- ``is_valid()`` / ``problem()``: the first blocking problem in words ("" when valid)
- signals ``config_changed(dict)``, ``validity_changed(bool, str)``, ``preset_loaded(str, dict)``
- ``undo_stack`` (QUndoStack), ``undo_action`` / ``redo_action`` (Ctrl+Z / Ctrl+Shift+Z)
- ``diagram``: QtNetworkDiagram with ``update_weights(snapshot)`` and ``set_config(cfg)``;
  a click on one of its neurons opens ``neuron_dialog`` (that unit large, following training)
- ``set_settings_everywhere({"l2": 1e-4})``: one undoable step for dock-wide settings
- ``load_preset(name)`` (undoable) and ``save_preset(title)``

Every edit becomes a command on ``undo_stack``; the BuilderModel announces what changed and the
views follow. The main window wires three things (``validity_changed`` is only emitted when the
answer changes, so read ``is_valid()`` / ``problem()`` once after connecting):

    builder.validity_changed.connect(lambda ok, why: (train.setEnabled(ok), train.setToolTip(why)))
    builder.undo_stack.cleanChanged.connect(lambda clean: window.setWindowModified(not clean))
    edit_menu.addActions([builder.undo_action, builder.redo_action])
"""

from __future__ import annotations

import copy

from PySide6.QtCore import QPointF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QIcon,
    QKeySequence,
    QPainter,
    QPainterPath,
    QPalette,
    QPen,
    QPixmap,
    QUndoStack,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMenu,
    QMessageBox,
    QPushButton,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from nnstudio.project import layer_meta, presets
from nnstudio.project.builder_model import BuilderModel
from nnstudio.project.problems import Edit, Fix
from nnstudio.ui.builder.layer_inspector import QtLayerInspector
from nnstudio.ui.builder.layer_palette import QtLayerPalette
from nnstudio.ui.builder.layer_stack import QtLayerStack
from nnstudio.ui.builder.network_diagram import QtNetworkDiagram
from nnstudio.ui.builder.undo_commands import (
    FixCommand,
    InsertLayerCommand,
    MoveLayerCommand,
    RemoveLayerCommand,
    ReplaceLayersCommand,
    SetSettingCommand,
)
from nnstudio.ui.widgets.show_dialog import show_in_front


def normalized_layers(layers: list[dict]) -> list[dict]:
    """Each config as the engine writes it (every setting filled in); broken ones kept as is,
    so the builder can show what is wrong with them instead of refusing the file."""
    from nnstudio.engine import registry

    result = []
    for number, layer in enumerate(layers):
        if not isinstance(layer, dict):
            raise ValueError(
                f"Layer {number} of the model is {layer!r}, not a layer config such as "
                '{"type": "Dense", "units": 10}. Fix the project file.'
            )
        try:
            result.append(registry.layer_from_config(copy.deepcopy(layer)).get_config())
        except (ValueError, TypeError, KeyError):
            result.append(copy.deepcopy(layer))
    return result


def describe_input(shape: tuple | None, n_classes: int | None, task: str) -> str:
    """ "1-channel 28×28 images · 10 classes" — what the input card says about the data."""
    if shape is None:
        return "No dataset chosen yet"
    if len(shape) == 3:
        what = f"{shape[0]}-channel {shape[1]}×{shape[2]} images"
    elif len(shape) == 1:
        what = f"{shape[0]} feature{'s' if shape[0] != 1 else ''} per example"
    else:
        what = f"examples of shape {layer_meta.format_shape(shape)}"
    if task == "classification" and n_classes:
        return f"{what} · {n_classes} classes"
    if n_classes:
        return f"{what} · {n_classes} target value{'s' if n_classes != 1 else ''}"
    return f"{what} · {task}"


def _arrow_icon(color: QColor, mirrored: bool) -> QIcon:
    """A curved undo arrow (mirrored: redo), painted so it matches any theme."""
    pixmap = QPixmap(40, 40)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    if mirrored:
        painter.translate(40, 0)
        painter.scale(-1, 1)
    pen = QPen(
        color, 3.2, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin
    )
    painter.setPen(pen)
    path = QPainterPath(QPointF(10, 16))
    path.lineTo(24, 16)
    path.cubicTo(36, 16, 36, 33, 24, 33)
    path.lineTo(16, 33)
    painter.drawPath(path)
    painter.drawPolyline([QPointF(16, 9), QPointF(9, 16), QPointF(16, 23)])
    painter.end()
    return QIcon(pixmap)


def _caption(text: str) -> QLabel:
    label = QLabel(text.upper())
    font = QFont(label.font())
    font.setPointSizeF(font.pointSizeF() * 0.8)
    font.setBold(True)
    font.setLetterSpacing(QFont.SpacingType.PercentageSpacing, 110)
    label.setFont(font)
    label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
    label.setContentsMargins(10, 8, 10, 2)
    return label


def _column(caption: str, widget: QWidget, extra: QWidget | None = None) -> QWidget:
    holder = QWidget()
    layout = QVBoxLayout(holder)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(2)
    header = QHBoxLayout()
    header.addWidget(_caption(caption))
    header.addStretch(1)
    if extra is not None:
        header.addWidget(extra)
    layout.addLayout(header)
    layout.addWidget(widget, 1)
    return holder


class QtModelBuilder(QWidget):
    """The layer builder. See the module docstring for how the window wires it."""

    config_changed = Signal(dict)
    validity_changed = Signal(bool, str)
    preset_loaded = Signal(str, dict)  # preset name, its whole project (to switch dataset too)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.model = BuilderModel()
        self.undo_stack = QUndoStack(self)
        # Set by a window: opens a shipped preset as a whole project (its dataset, settings
        # and layers: one project at a time, asking first to save edited work). Without it,
        # a preset only replaces the layers, as an undoable edit.
        self.open_project_preset = None
        self.undo_action = self.undo_stack.createUndoAction(self, "Undo")
        self.undo_action.setShortcuts(QKeySequence.StandardKey.Undo)
        self.redo_action = self.undo_stack.createRedoAction(self, "Redo")
        # PRODUCT.md promises Ctrl+Shift+Z; Ctrl+Y is what Windows users try first.
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        # The tooltips name the edit, like the menu text does ("Undo Insert Dense (Ctrl+Z)").
        self.undo_stack.undoTextChanged.connect(self._update_undo_tooltips)
        self.undo_stack.redoTextChanged.connect(self._update_undo_tooltips)
        self._update_undo_tooltips()
        self._pending_row: int | None = None
        self._last_validity: tuple[bool, str] | None = None
        self.palette_view = QtLayerPalette()
        self.stack = QtLayerStack(self.model)
        self.inspector = QtLayerInspector(self.model)
        self.diagram = QtNetworkDiagram()
        self.neuron_dialog = None
        self._build_layout()
        self._connect()
        self._sync()

    def _update_undo_tooltips(self, _text: str = "") -> None:
        undo, redo = self.undo_stack.undoText(), self.undo_stack.redoText()
        self.undo_action.setToolTip(
            f"Undo {undo} (Ctrl+Z)" if undo else "Nothing to undo yet (Ctrl+Z)"
        )
        self.redo_action.setToolTip(
            f"Redo {redo} (Ctrl+Shift+Z)" if redo else "Nothing to redo (Ctrl+Shift+Z)"
        )

    # -- layout --------------------------------------------------------------------------------
    def _build_layout(self):
        # A push button with a menu, as the Data dock's Open…: a tool button's arrow sat
        # in its corner, against the text and the border.
        self.presets_button = QPushButton("Presets")
        self.presets_button.setToolTip("Start from a ready-made network (undoable)")
        self.presets_menu = QMenu(self.presets_button)
        self.presets_menu.aboutToShow.connect(self._fill_presets_menu)
        self.presets_button.setMenu(self.presets_menu)
        toolbar = QHBoxLayout()
        toolbar.setContentsMargins(0, 0, 6, 0)
        toolbar.setSpacing(2)
        for action, mirrored in ((self.undo_action, False), (self.redo_action, True)):
            action.setIcon(
                _arrow_icon(self.palette().color(QPalette.ColorRole.ButtonText), mirrored)
            )
            button = QToolButton()
            button.setDefaultAction(action)
            button.setAutoRaise(True)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
            toolbar.addWidget(button)
        toolbar.addWidget(self.presets_button)
        stack_column = _column("Network", self.stack, self._toolbar_widget(toolbar))
        self.right_splitter = right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(_column("Layer settings", self.inspector))
        self.gradient_flow = QCheckBox("Gradient flow", objectName="diagramGradientFlow")
        self.gradient_flow.setToolTip(
            "Colour the lines by the last batch's |dL/dW| while the network trains, on one "
            "scale for all layers (four powers of ten): gradients that vanish on their way "
            "back show as faint early layers"
        )
        self.gradient_flow.toggled.connect(self.diagram.set_gradient_flow)
        right.addWidget(_column("Diagram", self.diagram, extra=self.gradient_flow))
        right.setSizes([370, 390])
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(_column("Layers", self.palette_view))
        self.splitter.addWidget(stack_column)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setStretchFactor(2, 0)
        self.splitter.setSizes([220, 480, 380])
        self.splitter.setChildrenCollapsible(False)
        # The stack is the heart of the tab: it keeps room for readable cards.
        self.palette_view.setMinimumWidth(150)
        self.stack.setMinimumWidth(280)
        right.setMinimumWidth(240)
        # Until the user drags a splitter handle, the columns keep their shares of the width.
        self._user_sized = False
        for splitter in (self.splitter, self.right_splitter):
            splitter.splitterMoved.connect(self._note_user_sizes)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)

    @staticmethod
    def _toolbar_widget(layout: QHBoxLayout) -> QWidget:
        widget = QWidget()
        widget.setLayout(layout)
        return widget

    def sizeHint(self) -> QSize:
        return QSize(1180, 720)

    def resizeEvent(self, event):
        # Shared out at each new size, not once when first shown: the tab is first shown at
        # its size hint (1180 wide) and only then fitted to the window, and the shrinking came
        # all out of the stack (at 1280×720: 283 pixels for the cards, 424 for the settings).
        super().resizeEvent(event)
        if not self._user_sized:
            self._share_room()

    def _note_user_sizes(self, *_args) -> None:
        self._user_sized = True

    def _share_room(self) -> None:
        width = self.width()
        palette = max(150, min(230, int(width * 0.19)))
        right = max(260, int(width * 0.36))
        self.splitter.setSizes([palette, max(320, width - palette - right), right])
        # The inspector's fields before the diagram: on a short screen it showed three.
        height = self.height()
        diagram = max(180, int(height * 0.35))
        self.right_splitter.setSizes([height - diagram, diagram])

    def _connect(self):
        self.palette_view.layer_activated.connect(self.add_layer_after_selection)
        self.stack.insert_requested.connect(self.insert_layer)
        self.stack.move_requested.connect(self.move_layer)
        self.stack.remove_requested.connect(self.remove_layer)
        self.stack.duplicate_requested.connect(self.duplicate_layer)
        self.stack.fix_requested.connect(self.apply_fix)
        self.stack.current_changed.connect(self.inspector.show_layer)
        self.stack.edit_requested.connect(self._edit_layer)
        self.inspector.setting_edited.connect(self.set_setting)
        self.inspector.fix_requested.connect(self.apply_fix)
        events = self.model.events
        events.inserted.connect(self._select_later)
        events.removed.connect(lambda row: self._select_later(min(row, len(self.model) - 1)))
        events.moved.connect(lambda _source, destination: self._select_later(destination))
        events.changed.connect(lambda row, _name: self._select_later(row))
        events.reset.connect(lambda: self._select_later(-1))
        events.settled.connect(self._sync)
        self.diagram.neuron_clicked.connect(self.open_neuron)

    def open_neuron(self, column: int, neuron: int):
        """The diagram's unit large, in one dialog (a second click shows the other unit)."""
        from nnstudio.ui.panels.neuron_dialog import NeuronDialog

        if self.neuron_dialog is not None:
            self.neuron_dialog.close()
            self.neuron_dialog.deleteLater()
        self.neuron_dialog = NeuronDialog(self.diagram, column, neuron, parent=self)
        show_in_front(self.neuron_dialog)
        return self.neuron_dialog

    # -- the public API used by the main window -------------------------------------------------
    def set_input_spec(self, input_shape: tuple, n_classes: int | None, task: str, loss_name: str):
        """What the network is checked against: the dataset's input shape and classes (for
        regression, the number of target values or None), the task and the loss."""
        self.model.set_spec(input_shape, n_classes, task, loss_name)
        self.stack.input_card.set_shape(
            self.model.input_shape, describe_input(self.model.input_shape, n_classes, task)
        )

    def config(self) -> dict:
        """The Sequential config: ``{"input_shape": [...], "layers": [...]}``."""
        return self.model.config()

    def set_config(self, cfg: dict) -> None:
        """Replace the whole network (opening a project); clears the undo history."""
        layers = normalized_layers(list(cfg.get("layers", [])))
        if cfg.get("input_shape") is not None and self.model.input_shape is None:
            self.model.input_shape = tuple(int(v) for v in cfg["input_shape"])
        self.model.replace(layers)
        self.undo_stack.clear()
        self.undo_stack.setClean()
        self.stack.select_row(-1)

    def is_valid(self) -> bool:
        return self.model.is_valid()

    def problem(self) -> str:
        return self.model.problem()

    # -- edits (each one an undo command) ---------------------------------------------------------
    def insert_layer(self, row: int, type_name: str) -> None:
        if not layer_meta.is_known(type_name):
            return
        row = max(0, min(row, len(self.model)))
        self.undo_stack.push(
            InsertLayerCommand(self.model, row, self.model.new_layer(type_name, row))
        )

    def append_layer(self, type_name: str) -> None:
        self.insert_layer(len(self.model), type_name)

    def add_layer_after_selection(self, type_name: str) -> None:
        """The palette's Enter and double-click: after the selected layer, and never after the
        output layer (the last one), which must stay last to give the classes or targets."""
        count = len(self.model)
        selected = self.stack.current_row()
        row = selected + 1 if 0 <= selected < count else count
        self.insert_layer(max(0, min(row, count - 1)), type_name)

    def remove_layer(self, row: int) -> None:
        if 0 <= row < len(self.model):
            self.undo_stack.push(RemoveLayerCommand(self.model, row))

    def duplicate_layer(self, row: int) -> None:
        if 0 <= row < len(self.model):
            layer = self.model.layer(row)
            text = f"Duplicate {layer['type']}"
            self.undo_stack.push(InsertLayerCommand(self.model, row + 1, layer, text))

    def move_layer(self, source: int, destination: int) -> None:
        count = len(self.model)
        if source != destination and 0 <= source < count and 0 <= destination < count:
            self.undo_stack.push(MoveLayerCommand(self.model, source, destination))

    def set_setting(self, row: int, name: str, value) -> None:
        if 0 <= row < len(self.model) and self.model.layer(row).get(name) != value:
            self.undo_stack.push(SetSettingCommand(self.model, row, name, value))

    def apply_fix(self, fix: Fix) -> None:
        self.undo_stack.push(FixCommand(self.model, fix))

    def set_settings_everywhere(self, values: dict, text: str = "") -> None:
        """Set e.g. ``{"l1": 0, "l2": 1e-4}`` on every layer that has those settings, as one
        undoable step (the hyperparameter dock's regularization goes through here)."""
        edits = []
        for row, layer in enumerate(self.model.layers):
            names = {setting.name for setting in layer_meta.settings_of(layer.get("type", ""))}
            for name, value in values.items():
                if name in names and layer.get(name) != value:
                    edits.append(Edit("set", row, name=name, value=value))
        if edits:
            label = text or "Set " + ", ".join(
                f"{k} to {v:g}" if isinstance(v, float) else f"{k} to {v}"
                for k, v in values.items()
            )
            self.undo_stack.push(FixCommand(self.model, Fix(label, tuple(edits))))

    def replace_layers(self, layers: list[dict], text: str) -> None:
        """Swap every layer in one undoable step (presets, clearing)."""
        self.undo_stack.push(ReplaceLayersCommand(self.model, normalized_layers(layers), text))

    def _edit_layer(self, row: int) -> None:
        self.inspector.show_layer(row)
        self.inspector.focus_first_editor()

    # -- presets ------------------------------------------------------------------------------
    def load_preset(self, name: str) -> None:
        preset = presets.find_preset(name)
        if preset.source == "shipped" and self.open_project_preset is not None:
            self.open_project_preset(preset.name)
            return
        self.replace_layers(preset.model.get("layers", []), f"Load preset {preset.title}")
        self.preset_loaded.emit(preset.name, dict(preset.project or {}))

    def save_preset(self, title: str):
        """Save the current network as the user's preset ``title``; returns the file path."""
        return presets.save_user_preset(title, self.config())

    def _fill_presets_menu(self):
        self.presets_menu.clear()
        last_source = None
        for preset in presets.available_presets():
            if last_source is not None and preset.source != last_source:
                if preset.source == "user":
                    self.presets_menu.addSection("Yours")
                else:
                    self.presets_menu.addSeparator()
            last_source = preset.source
            action = self.presets_menu.addAction(preset.title)
            action.setToolTip(preset.description or preset.title)
            action.triggered.connect(lambda _=False, n=preset.name: self.load_preset(n))
        self.presets_menu.addSeparator()
        save = self.presets_menu.addAction("Save as preset…")
        save.setToolTip("Keep this network in the Presets menu")
        save.triggered.connect(self._ask_save_preset)
        clear = self.presets_menu.addAction("Clear network")
        clear.setToolTip("Remove every layer (undoable)")
        clear.triggered.connect(lambda: self.replace_layers([], "Clear network"))

    def _ask_save_preset(self):
        title, ok = QInputDialog.getText(self, "Save as preset", "Name of the preset:")
        if not ok or not title.strip():
            return
        taken = {p.title.lower() for p in presets.available_presets() if p.source == "user"}
        if title.strip().lower() in taken:
            answer = QMessageBox.question(
                self,
                "Replace preset?",
                f"You already have a preset called “{title.strip()}”. "
                "Replace it with this network?",
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
        try:
            self.save_preset(title)
        except (OSError, ValueError) as error:
            QMessageBox.warning(self, "Could not save the preset", str(error))

    # -- following the model --------------------------------------------------------------------
    def _select_later(self, row: int) -> None:
        """The row to select once the model settles (the edited layer, or none)."""
        self._pending_row = row

    def _sync(self):
        if self._pending_row is not None:
            self.stack.select_row(self._pending_row)
            self.inspector.show_layer(self.stack.current_row())
            self._pending_row = None
        self.inspector.refresh()
        config = self.config()
        self.diagram.set_config(config)
        self.config_changed.emit(config)
        validity = (self.model.is_valid(), self.model.problem())
        if validity != self._last_validity:
            self._last_validity = validity
            self.validity_changed.emit(*validity)
