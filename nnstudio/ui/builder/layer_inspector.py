"""QtLayerInspector: edits the selected layer's settings, applied as you type.

The form is generated from the layer class's SETTINGS, so every layer the engine adds gets a
proper editor. Values are never written to the model here: ``setting_edited`` goes to the
builder, which pushes an undo command; the inspector then shows what the model holds.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from nnstudio.project import layer_meta
from nnstudio.project.builder_model import BuilderModel
from nnstudio.ui.builder.layer_icons import layer_pixmap
from nnstudio.ui.builder.problem_box import ProblemBox
from nnstudio.ui.widgets.setting_widgets import make_editor


def _muted(label: QLabel) -> None:
    label.setForegroundRole(QPalette.ColorRole.PlaceholderText)


class QtLayerInspector(QWidget):
    """The settings of the layer at ``row`` of the BuilderModel (-1: nothing selected).

    Signals: ``setting_edited(row, name, value)`` while the user edits; ``fix_requested(Fix)``.
    """

    setting_edited = Signal(int, str, object)
    fix_requested = Signal(object)

    def __init__(self, builder: BuilderModel, parent=None):
        super().__init__(parent)
        self.setObjectName("layerInspector")
        self.builder = builder
        self.row = -1
        self._type: str | None = None
        self.editors: dict[str, QWidget] = {}
        self._build_ui()
        events = builder.events
        for edited in (events.inserted, events.removed, events.moved, events.changed):
            edited.connect(lambda *_: self._forget_a_removed_layer())
        for edited in (events.reset, events.spec):
            edited.connect(self._forget_a_removed_layer)
        events.settled.connect(self._on_settled)
        self.show_layer(-1)

    def _build_ui(self):
        self.icon = QLabel()
        self.icon.setFixedSize(40, 40)
        self.title = QLabel()
        title_font = QFont(self.font())
        title_font.setPointSizeF(self.font().pointSizeF() * 1.3)
        title_font.setWeight(QFont.Weight.DemiBold)
        self.title.setFont(title_font)
        self.subtitle = QLabel()
        self.subtitle.setWordWrap(True)
        _muted(self.subtitle)
        self.shape_label = QLabel()
        # Wrapped: on one line "→ 32×11×11  ·  4,640 parameters" was wider than the column
        # leaves at 1024×600, and the whole inspector scrolled sideways, its fields cut.
        self.shape_label.setWordWrap(True)
        self.shape_label.setToolTip("What this layer outputs for one example, and its parameters")
        heading = QVBoxLayout()
        heading.setSpacing(2)
        heading.addWidget(self.title)
        heading.addWidget(self.shape_label)
        top = QHBoxLayout()
        top.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignTop)
        top.addLayout(heading, 1)
        self.problem_box = ProblemBox()
        self.problem_box.fix_requested.connect(self.fix_requested)
        self.form_host = QWidget()
        self.form = QFormLayout(self.form_host)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.form.setContentsMargins(0, 6, 0, 0)
        self.empty = QLabel("Select a layer in the network to edit its settings.")
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setContentsMargins(24, 24, 24, 24)
        _muted(self.empty)
        self.details = QWidget()
        details = QVBoxLayout(self.details)
        details.setContentsMargins(0, 0, 0, 0)
        details.addLayout(top)
        details.addWidget(self.subtitle)
        details.addWidget(self.problem_box)
        details.addWidget(self.form_host)
        details.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        holder = QWidget()
        column = QVBoxLayout(holder)
        column.setContentsMargins(12, 10, 12, 10)
        column.addWidget(self.empty)
        column.addWidget(self.details)
        scroll.setWidget(holder)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)

    # -- showing a layer ----------------------------------------------------------------------
    def show_layer(self, row: int) -> None:
        valid = 0 <= row < len(self.builder)
        self.row = row if valid else -1
        self.empty.setVisible(not valid)
        self.details.setVisible(valid)
        if not valid:
            self._type = None
            return
        config = self.builder.layer(row)
        if config.get("type") != self._type or not self.editors:
            self._make_form(config["type"])
        self.refresh()

    def _make_form(self, type_name: str) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        self.editors = {}
        self._type = type_name
        for setting in layer_meta.settings_of(type_name):
            editor = make_editor(setting)
            editor.setObjectName(f"setting_{setting.name}")
            # Keep editors full height in a short panel: the scroll area scrolls instead.
            editor.setMinimumHeight(editor.sizeHint().height())
            editor.edited.connect(lambda value, name=setting.name: self._edited(name, value))
            label = QLabel(setting.label)
            label.setToolTip(editor.toolTip())
            self.form.addRow(label, editor)
            self.editors[setting.name] = editor
        if not self.editors:
            note = QLabel("This layer has no settings.")
            _muted(note)
            self.form.addRow(note)

    def refresh(self) -> None:
        """Show what the model holds for the current layer (without emitting edits)."""
        if self.row < 0:
            return
        config = self.builder.layer(self.row)
        info_list = self.builder.analysis().layers
        info = info_list[self.row] if self.row < len(info_list) else None
        type_name = config["type"]
        self.icon.setPixmap(layer_pixmap(type_name, 40, str(config.get("function", ""))))
        number = layer_meta.layer_number(self.row)
        self.title.setText(
            f"{type_name}  <span style='color:gray;font-weight:normal'>layer {number}</span>"
        )
        self.subtitle.setText(layer_meta.description_of(type_name))
        self.shape_label.setText(self._shape_text(info))
        self.problem_box.show_problem((info.error or info.warning) if info else None)
        defaults = {s.name: s.default for s in layer_meta.settings_of(type_name)}
        for name, editor in self.editors.items():
            value = config.get(name, defaults.get(name))
            if editor.value() != value:
                editor.set_value(value)

    @staticmethod
    def _shape_text(info) -> str:
        if info is None or info.output_shape is None:
            return "Output shape unknown until the layers above fit"
        params = layer_meta.format_count(info.n_params)
        # Non-breaking spaces inside each half: a narrow column breaks the line at the "·".
        shape = layer_meta.format_shape(info.output_shape)
        return f"→\u00a0{shape}  ·  {params}\u00a0parameters"

    def focus_first_editor(self) -> bool:
        """Put the keyboard in the first setting (Enter on a card); False if it has none."""
        for editor in self.editors.values():
            editor.setFocus(Qt.FocusReason.TabFocusReason)
            return True
        return False

    def _edited(self, name: str, value) -> None:
        if self.row >= 0:
            self.setting_edited.emit(self.row, name, value)

    # -- following the model --------------------------------------------------------------------
    def _forget_a_removed_layer(self) -> bool:
        """Show nothing once the shown layer is gone; True if it was."""
        gone = self.row >= len(self.builder)
        if gone:
            self.show_layer(-1)
        return gone

    def _on_settled(self) -> None:
        if not self._forget_a_removed_layer() and self.row >= 0:
            self.refresh()  # after insert/remove/move the builder re-selects via show_layer
