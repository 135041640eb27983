"""The Hyperparameters dock: loss, optimizer and its settings, schedule, batch size, epochs,
L1/L2, early stopping, seed. Every control says in its tooltip what it does and a good range.

The menus and the optimizer's and schedule's fields are generated from the engine's
descriptions (``registry``: label, help, ``SETTINGS``), so a setting added to an optimizer
shows up here by itself; only the chosen optimizer's and schedule's fields are visible.

The panel edits a plain dict in the form of the project's "training" object
(``settings()`` / ``set_settings()``); L1/L2 are layer settings in the engine, so the window
writes them into every weight layer of the model (``regularization()``).
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QVBoxLayout,
    QWidget,
)

from nnstudio.engine import registry
from nnstudio.project.model_lifecycle import DEFAULT_LOSS
from nnstudio.project.settings import AUGMENT, L1, L2, LEARNING_RATE, LOSS, OPTIMIZER, SCHEDULE
from nnstudio.ui.panels.hyperparameter_fields import (
    BATCH_SIZE,
    EPOCHS,
    PATIENCE,
    SEED,
    VALIDATION_SPLIT,
    SettingRows,
    registry_combo,
)
from nnstudio.ui.widgets.number_input import ScientificSpinBox
from nnstudio.ui.widgets.scroll_area import VerticalScrollArea
from nnstudio.ui.widgets.setting_widgets import make_editor, setting_tooltip

__all__ = ["HyperparametersPanel", "ScientificSpinBox", "link_spin_boxes"]


class HyperparametersPanel(QWidget):
    """The dock's content. ``changed`` fires on every edit; the learning rate also fires
    ``learning_rate_changed`` so a running session can pick it up on the next batch."""

    changed = Signal()
    learning_rate_changed = Signal(float)
    regularization_changed = Signal(float, float)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("hyperparameters")
        self._loading = True  # widgets fire signals while the form is being built
        self._task = "classification"
        self._locked = False
        self._fields: dict[str, tuple[QFormLayout, QWidget]] = {}
        content = QWidget()
        column = QVBoxLayout(content)
        column.setContentsMargins(8, 4, 8, 8)
        column.setSpacing(6)
        column.addWidget(self._objective_group())
        column.addWidget(self._optimizer_group())
        column.addWidget(self._schedule_group())
        column.addWidget(self._regularization_group())
        column.addStretch(1)
        scroll = VerticalScrollArea(content)  # never cuts a field off at the side
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        self._loading = False
        self._update_visible_rows()

    # -- building -------------------------------------------------------------------------------

    def _form(self, title: str) -> tuple[QGroupBox, QFormLayout]:
        group = QGroupBox(title)
        form = QFormLayout(group)
        # In a narrow dock a field too wide to sit beside its label goes under it.
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        form.setContentsMargins(8, 6, 8, 6)
        form.setHorizontalSpacing(10)
        form.setVerticalSpacing(6)
        return group, form

    def _add(self, form, key, label, widget, tooltip=None):
        """A fixed row; ``tooltip`` None keeps the editor's own (from its Setting)."""
        if tooltip is not None:
            widget.setToolTip(tooltip)
        widget.setObjectName(f"hp_{key}")
        form.addRow(label, widget)
        form.labelForField(widget).setToolTip(widget.toolTip())
        self._fields[key] = (form, widget)
        if hasattr(widget, "edited"):
            widget.edited.connect(self._edited)
        elif isinstance(widget, QCheckBox):
            widget.toggled.connect(self._edited)
        elif isinstance(widget, QComboBox):
            widget.currentIndexChanged.connect(self._edited)
        else:
            widget.valueChanged.connect(self._edited)
        return widget

    def _add_setting(self, form, setting):
        """A fixed row edited through the editor of a dock-level Setting."""
        editor = make_editor(setting)
        editor.set_value(setting.default)
        return self._add(form, setting.name, setting.label, editor)

    def _objective_group(self) -> QGroupBox:
        group, form = self._form("Objective")
        self.loss_box = self._add(
            form,
            "loss",
            "Loss",
            registry_combo(registry.LOSSES),
            LOSS.help,
        )
        self.epochs_box = self._add_setting(form, EPOCHS)
        self.batch_size_box = self._add_setting(form, BATCH_SIZE)
        self.seed_box = self._add_setting(form, SEED)
        return group

    def _optimizer_group(self) -> QGroupBox:
        group, form = self._form("Optimizer")
        self.optimizer_box = self._add(
            form,
            "optimizer",
            "Optimizer",
            registry_combo(registry.OPTIMIZERS),
            OPTIMIZER.help,
        )
        rate = ScientificSpinBox(LEARNING_RATE.minimum, LEARNING_RATE.maximum)
        self.learning_rate_box = self._add(form, "learning_rate", LEARNING_RATE.label, rate)
        self.learning_rate_box.setValue(LEARNING_RATE.default)
        self.optimizer_rows = SettingRows(form, registry.OPTIMIZERS, self._edited)
        return group

    def _schedule_group(self) -> QGroupBox:
        group, form = self._form("Learning-rate schedule")
        self.schedule_box = self._add(
            form,
            "schedule",
            "Schedule",
            registry_combo(registry.SCHEDULES),
            SCHEDULE.help,
        )
        self.schedule_rows = SettingRows(form, registry.SCHEDULES, self._edited)
        return group

    def _regularization_group(self) -> QGroupBox:
        group, form = self._form("Regularization")
        self.l1_box, self.l2_box = (
            self._add(form, s.name, s.label, ScientificSpinBox(s.minimum, s.maximum), s.help)
            for s in (L1, L2)
        )
        self.early_box = self._add(
            form,
            "early_stop_on",
            "Early stopping",
            QCheckBox("on"),
            "Stop when the validation loss has not improved for "
            "'patience' epochs, and keep the best weights.",
        )
        self.patience_box = self._add_setting(form, PATIENCE)
        self.validation_box = self._add_setting(form, VALIDATION_SPLIT)
        self.validation_box.setSingleStep(0.05)  # a share: 0.1, 0.15, 0.2 ...
        self.augment_box = self._add(form, "augment", AUGMENT.label, QCheckBox("on"), AUGMENT.help)
        return group

    # -- behaviour ------------------------------------------------------------------------------

    def _edited(self, *_args) -> None:
        if self._loading:
            return
        self._update_visible_rows()
        sender = self.sender()
        if sender is self.learning_rate_box:
            self.learning_rate_changed.emit(self.learning_rate_box.value())
        if sender in (self.l1_box, self.l2_box):
            self.regularization_changed.emit(*self.regularization())
        self.changed.emit()

    def _update_visible_rows(self) -> None:
        optimizer = self.optimizer_box.currentData()
        self.optimizer_rows.show_only(optimizer)
        self.schedule_rows.show_only(self.schedule_box.currentData())
        self.patience_box.setEnabled(self.early_box.isChecked() and not self._locked)
        # One validation setting in the window: the Data dock's split. This row only shows
        # for a project that asks fit to split the training data itself (a value above 0).
        form, _widget = self._fields["validation_split"]
        form.setRowVisible(self.validation_box, self.validation_box.value() > 0)
        self._describe_learning_rate(optimizer)

    def _describe_learning_rate(self, optimizer: str) -> None:
        """The learning rate's tooltip is the chosen optimizer's advice on its ``lr``."""
        lr = next(s for s in registry.OPTIMIZERS[optimizer].SETTINGS if s.name == "lr")
        tip = f"{setting_tooltip(lr)}<br>Can change while training."
        self.learning_rate_box.setToolTip(tip)
        form = self._fields["learning_rate"][0]
        form.labelForField(self.learning_rate_box).setToolTip(tip)

    def set_task(self, task: str) -> None:
        """Offer only the losses that fit the task; switch to a fitting one if needed."""
        self._task = task
        model = self.loss_box.model()
        for index in range(self.loss_box.count()):
            fits = registry.LOSSES[self.loss_box.itemData(index)].task == task
            model.item(index).setEnabled(fits)
        if registry.LOSSES[self.loss_box.currentData()].task != task:
            default = DEFAULT_LOSS.get(task, DEFAULT_LOSS["classification"])
            self.loss_box.setCurrentIndex(self.loss_box.findData(default))

    def set_training_locked(self, locked: bool) -> None:
        """While a run is going, only the learning rate can change (it applies per batch)."""
        self._locked = locked
        widgets = [widget for _form, widget in self._fields.values()]
        widgets += [*self.optimizer_rows.all_editors(), *self.schedule_rows.all_editors()]
        for widget in widgets:
            widget.setEnabled(not locked or widget is self.learning_rate_box)
        if not locked:
            self._update_visible_rows()

    def regularization(self) -> tuple[float, float]:
        return self.l1_box.value(), self.l2_box.value()

    def set_regularization(self, l1: float, l2: float) -> None:
        self._loading = True
        try:
            self.l1_box.setValue(l1)
            self.l2_box.setValue(l2)
        finally:
            self._loading = False

    def settings(self) -> dict:
        """The project's "training" object."""
        optimizer, schedule = self.optimizer_box.currentData(), self.schedule_box.currentData()
        return {
            "loss": self.loss_box.currentData(),
            "optimizer": optimizer,
            "optimizer_settings": self.optimizer_rows.values(optimizer),
            "learning_rate": float(self.learning_rate_box.value()),
            "batch_size": self.batch_size_box.value(),
            "epochs": self.epochs_box.value(),
            "schedule": schedule,
            "schedule_settings": self._schedule_settings(schedule),
            "validation_split": float(self.validation_box.value()),
            "early_stopping": self.patience_box.value() if self.early_box.isChecked() else None,
            "seed": self.seed_box.value(),
            "augment": self.augment_box.isChecked(),
        }

    def _schedule_settings(self, schedule: str) -> dict:
        values = self.schedule_rows.values(schedule)
        names = {setting.name for setting in registry.SCHEDULES[schedule].SETTINGS}
        if "total_steps" in names:  # the schedule spans the planned epochs
            values["total_steps"] = self.epochs_box.value()
        return values

    def set_settings(self, settings: dict) -> None:
        """Show a project's "training" object (without firing ``changed``)."""
        self._loading = True
        try:
            self._apply(settings)
        finally:
            self._loading = False
        self._update_visible_rows()

    def _apply(self, s: dict) -> None:
        for box, key in (
            (self.loss_box, "loss"),
            (self.optimizer_box, "optimizer"),
            (self.schedule_box, "schedule"),
        ):
            index = box.findData(s.get(key))
            if index >= 0:
                box.setCurrentIndex(index)
        self.learning_rate_box.setValue(float(s.get("learning_rate", LEARNING_RATE.default)))
        self.batch_size_box.setValue(int(s.get("batch_size", BATCH_SIZE.default)))
        self.epochs_box.setValue(int(s.get("epochs", EPOCHS.default)))
        self.seed_box.setValue(int(s.get("seed", SEED.default)))
        self.validation_box.setValue(float(s.get("validation_split", VALIDATION_SPLIT.default)))
        self._update_visible_rows()
        patience = s.get("early_stopping")
        self.early_box.setChecked(patience is not None)
        if patience is not None:
            self.patience_box.setValue(int(patience))
        self.augment_box.setChecked(bool(s.get("augment", AUGMENT.default)))
        for rows, box, key in (
            (self.optimizer_rows, self.optimizer_box, "optimizer_settings"),
            (self.schedule_rows, self.schedule_box, "schedule_settings"),
        ):
            rows.reset()
            rows.set_values(box.currentData(), s.get(key) or {})


def link_spin_boxes(first, second) -> None:
    """Keep two spin boxes showing the same value (the dock's and the toolbar's)."""
    second.setValue(first.value())
    first.valueChanged.connect(lambda value: second.value() != value and second.setValue(value))
    second.valueChanged.connect(lambda value: first.value() != value and first.setValue(value))
