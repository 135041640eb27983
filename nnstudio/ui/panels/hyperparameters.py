"""The Hyperparameters dock: loss, optimizer and its settings, schedule, batch size, epochs,
L1/L2, early stopping, seed. Every control says in its tooltip what it does and a good range.

The panel edits a plain dict in the form of the project's "training" object
(``settings()`` / ``set_settings()``); L1/L2 are layer settings in the engine, so the window
writes them into every weight layer of the model (``regularization()``).
"""

from __future__ import annotations

import math

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

LOSSES = {
    "softmax_crossentropy": (
        "Softmax cross-entropy",
        "classification",
        "For one class per sample out of several (MNIST, spiral). "
        "The last layer gives one raw score per class.",
    ),
    "binary_crossentropy": (
        "Binary cross-entropy",
        "classification",
        "For two classes with one output (sigmoid applied inside).",
    ),
    "mse": (
        "Mean squared error",
        "regression",
        "For predicting numbers; punishes big errors strongly.",
    ),
    "mae": (
        "Mean absolute error",
        "regression",
        "For predicting numbers; robust to outliers, slower to settle.",
    ),
    "huber": (
        "Huber",
        "regression",
        "For predicting numbers: squared for small errors, absolute for big ones.",
    ),
}
OPTIMIZERS = {
    "sgd": (
        "SGD",
        "Plain stochastic gradient descent; with momentum 0.9 a solid baseline. "
        "Good learning rates: 0.01–0.1.",
    ),
    "rmsprop": ("RMSprop", "Scales each step by recent gradient size. Good rate: ~1e-3."),
    "adam": (
        "Adam",
        "Adaptive and forgiving — the usual first choice. Good rate: 1e-3 "
        "(up to 1e-2 for tiny 2-D problems).",
    ),
    "adamw": ("AdamW", "Adam with decoupled weight decay; good rate 1e-3, weight decay 0.01."),
}
SCHEDULES = {
    "constant": ("Constant", "The learning rate stays as set."),
    "step": ("Step decay", "Multiplies the rate by gamma every 'step size' epochs."),
    "exponential": ("Exponential", "Multiplies the rate by gamma after every epoch."),
    "cosine": (
        "Cosine",
        "Glides the rate down to 'min rate' along a cosine, after an "
        "optional warm-up. Often the best final accuracy.",
    ),
}
# (key, label, kind, default, minimum, maximum, tooltip, which optimizers/schedules show it)
OPTIMIZER_FIELDS = [
    (
        "momentum",
        "Momentum",
        "float",
        0.0,
        0.0,
        0.999,
        "Keeps a running direction so steps build up speed. 0 = none; 0.9 is typical.",
        {"sgd"},
    ),
    (
        "nesterov",
        "Nesterov",
        "bool",
        False,
        None,
        None,
        "Look-ahead momentum; often converges a little faster. Needs momentum > 0.",
        {"sgd"},
    ),
    (
        "beta1",
        "β₁",
        "float",
        0.9,
        0.0,
        0.999,
        "How much of the past gradient direction Adam keeps. 0.9 is almost always right.",
        {"adam", "adamw"},
    ),
    (
        "beta2",
        "β₂",
        "float",
        0.999,
        0.0,
        0.99999,
        "How much of the past gradient size Adam keeps. 0.999 is the standard.",
        {"adam", "adamw"},
    ),
    (
        "rho",
        "ρ",
        "float",
        0.9,
        0.0,
        0.999,
        "Decay of RMSprop's running gradient size. 0.9 is the standard.",
        {"rmsprop"},
    ),
    (
        "weight_decay",
        "Weight decay",
        "float",
        0.0,
        0.0,
        1.0,
        "Pulls weights towards zero each step to fight overfitting. 0 = off; 1e-4–1e-2 typical "
        "(0.01 for AdamW).",
        {"sgd", "rmsprop", "adam", "adamw"},
    ),
]
SCHEDULE_FIELDS = [
    (
        "step_size",
        "Step size",
        "int",
        10,
        1,
        100000,
        "Epochs between two decays. Around a third of the planned epochs is a good start.",
        {"step"},
    ),
    (
        "gamma",
        "Gamma",
        "float",
        0.5,
        0.0,
        1.0,
        "Factor applied at each decay: 0.1–0.5 for step decay, 0.9–0.99 for exponential.",
        {"step", "exponential"},
    ),
    (
        "min_lr",
        "Min rate",
        "float",
        0.0,
        0.0,
        10.0,
        "Where the cosine ends. 0 or a hundredth of the learning rate.",
        {"cosine"},
    ),
    (
        "warmup_steps",
        "Warm-up epochs",
        "int",
        0,
        0,
        100000,
        "Epochs over which the rate rises from 0 to its value; helps large rates start calmly.",
        {"cosine"},
    ),
]


class ScientificSpinBox(QDoubleSpinBox):
    """A spin box for values spanning decades (1e-5 … 10): shows 1e-3, steps ×/÷ 10^(1/4)."""

    def __init__(self, minimum: float, maximum: float, parent=None):
        super().__init__(parent)
        self.setDecimals(12)
        self.setRange(minimum, maximum)
        self.setKeyboardTracking(False)

    def textFromValue(self, value: float) -> str:  # noqa: N802 - Qt override
        return f"{value:.3g}"

    def valueFromText(self, text: str) -> float:  # noqa: N802 - Qt override
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text, pos):
        from PySide6.QtGui import QValidator

        try:
            float(text)
            return QValidator.State.Acceptable, text, pos
        except ValueError:
            return QValidator.State.Intermediate, text, pos

    def stepBy(self, steps: int) -> None:  # noqa: N802 - Qt override
        value = self.value()
        if value <= 0:
            value = max(self.minimum(), 1e-6)
        new = value * 10 ** (steps / 4)
        digits = 2 - int(math.floor(math.log10(abs(new))))
        self.setValue(round(new, digits))
        self.editingFinished.emit()


def _field_widget(kind: str, default, minimum, maximum):
    if kind == "bool":
        widget = QCheckBox()
        widget.setChecked(bool(default))
    elif kind == "int":
        widget = QSpinBox()
        widget.setRange(int(minimum), int(maximum))
        widget.setValue(int(default))
    else:
        widget = QDoubleSpinBox()
        widget.setDecimals(5)
        widget.setSingleStep(0.01)
        widget.setRange(minimum, maximum)
        widget.setValue(float(default))
    return widget


def _value(widget):
    return widget.isChecked() if isinstance(widget, QCheckBox) else widget.value()


def _set_value(widget, value) -> None:
    if isinstance(widget, QCheckBox):
        widget.setChecked(bool(value))
    else:
        widget.setValue(value)


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
        self._fields: dict[str, tuple] = {}
        content = QWidget()
        column = QVBoxLayout(content)
        column.setContentsMargins(8, 4, 8, 8)
        column.setSpacing(6)
        column.addWidget(self._objective_group())
        column.addWidget(self._optimizer_group())
        column.addWidget(self._schedule_group())
        column.addWidget(self._regularization_group())
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        self._loading = False
        self._update_visible_rows()

    # -- building -------------------------------------------------------------------------------

    def _form(self, title: str) -> tuple[QGroupBox, QFormLayout]:
        group = QGroupBox(title)
        form = QFormLayout(group)
        form.setContentsMargins(8, 6, 8, 6)
        form.setHorizontalSpacing(10)
        form.setVerticalSpacing(6)
        return group, form

    def _add(self, form, key, label, widget, tooltip, shown_for=None):
        widget.setToolTip(tooltip)
        widget.setObjectName(f"hp_{key}")
        form.addRow(label, widget)
        form.labelForField(widget).setToolTip(tooltip)
        self._fields[key] = (form, widget, shown_for)
        signal = (
            widget.toggled
            if isinstance(widget, QCheckBox)
            else (
                widget.currentIndexChanged if isinstance(widget, QComboBox) else widget.valueChanged
            )
        )
        signal.connect(self._edited)
        return widget

    def _combo(self, entries: dict) -> QComboBox:
        combo = QComboBox()
        for name, (label, *rest) in entries.items():
            combo.addItem(label, name)
            combo.setItemData(combo.count() - 1, rest[-1], role=3)  # Qt.ToolTipRole
        return combo

    def _objective_group(self) -> QGroupBox:
        group, form = self._form("Objective")
        self.loss_box = self._add(
            form,
            "loss",
            "Loss",
            self._combo(LOSSES),
            "What the network minimises. Must fit the task: cross-entropy "
            "for classes, squared/absolute error for numbers.",
        )
        self.epochs_box = self._add(
            form,
            "epochs",
            "Epochs",
            _field_widget("int", 50, 1, 100000),
            "Passes over the training data. 2-D toy sets: 100–500; MNIST: 5–20.",
        )
        self.batch_size_box = self._add(
            form,
            "batch_size",
            "Batch size",
            _field_widget("int", 32, 1, 65536),
            "Samples per weight update. Small (16–64) = noisier, "
            "more updates; large (128–512) = faster per sample.",
        )
        self.seed_box = self._add(
            form,
            "seed",
            "Seed",
            _field_widget("int", 0, 0, 2**31 - 1),
            "Fixes the random start and shuffling: the same seed gives "
            "the same run. Change it to see how much luck matters.",
        )
        return group

    def _optimizer_group(self) -> QGroupBox:
        group, form = self._form("Optimizer")
        self.optimizer_box = self._add(
            form,
            "optimizer",
            "Optimizer",
            self._combo(OPTIMIZERS),
            "How gradients turn into weight updates. Adam is the "
            "forgiving default; SGD + momentum for the classic feel.",
        )
        self.learning_rate_box = self._add(
            form,
            "learning_rate",
            "Learning rate",
            ScientificSpinBox(1e-7, 1e9),
            "Size of each update step. Adam: 1e-4–1e-2 (1e-3 default); SGD: 0.01–0.1. Too large "
            "and the loss explodes; too small and nothing happens. Can change while training.",
        )
        self.learning_rate_box.setValue(0.01)
        for key, label, kind, default, low, high, tip, shown in OPTIMIZER_FIELDS:
            self._add(form, key, label, _field_widget(kind, default, low, high), tip, shown)
        return group

    def _schedule_group(self) -> QGroupBox:
        group, form = self._form("Learning-rate schedule")
        self.schedule_box = self._add(
            form,
            "schedule",
            "Schedule",
            self._combo(SCHEDULES),
            "How the learning rate changes over the epochs. "
            "Constant is fine to start; cosine for the last percent.",
        )
        for key, label, kind, default, low, high, tip, shown in SCHEDULE_FIELDS:
            self._add(form, key, label, _field_widget(kind, default, low, high), tip, shown)
        return group

    def _regularization_group(self) -> QGroupBox:
        group, form = self._form("Regularization")
        self.l1_box = self._add(
            form,
            "l1",
            "L1",
            ScientificSpinBox(0.0, 1.0),
            "Penalty on |weights| in every weight layer: pushes weights to "
            "exactly 0. 0 = off; try 1e-5–1e-3.",
        )
        self.l2_box = self._add(
            form,
            "l2",
            "L2",
            ScientificSpinBox(0.0, 1.0),
            "Penalty on weights² in every weight layer: keeps weights small "
            "and smooths the boundary. 0 = off; try 1e-4–1e-2.",
        )
        self.early_box = self._add(
            form,
            "early_stop_on",
            "Early stopping",
            QCheckBox("on"),
            "Stop when the validation loss has not improved for "
            "'patience' epochs, and keep the best weights.",
        )
        self.patience_box = self._add(
            form,
            "patience",
            "Patience",
            _field_widget("int", 10, 1, 10000),
            "Epochs without improvement before stopping: 5–20.",
        )
        self.validation_box = self._add(
            form,
            "validation_split",
            "Validation split",
            _field_widget("float", 0.0, 0.0, 0.9),
            "Share of the training data held out to watch "
            "overfitting, used only when the dataset has no "
            "validation part. 0.1–0.2 typical.",
        )
        self.augment_box = self._add(
            form,
            "augment",
            "Augment images",
            QCheckBox("on"),
            "Randomly shift, rotate and scale training images each "
            "epoch (images only): better on hand-drawn digits.",
        )
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
        schedule = self.schedule_box.currentData()
        for form, widget, shown in self._fields.values():
            if shown is not None:
                form.setRowVisible(widget, optimizer in shown or schedule in shown)
        self.patience_box.setEnabled(self.early_box.isChecked())

    def set_task(self, task: str) -> None:
        """Offer only the losses that fit the task; switch to a fitting one if needed."""
        self._task = task
        model = self.loss_box.model()
        for index in range(self.loss_box.count()):
            fits = LOSSES[self.loss_box.itemData(index)][1] == task
            model.item(index).setEnabled(fits)
        if LOSSES[self.loss_box.currentData()][1] != task:
            default = "softmax_crossentropy" if task == "classification" else "mse"
            self.loss_box.setCurrentIndex(self.loss_box.findData(default))

    def set_training_locked(self, locked: bool) -> None:
        """While a run is going, only the learning rate can change (it applies per batch)."""
        for _form, widget, _shown in self._fields.values():
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
            "optimizer_settings": self._group_values(OPTIMIZER_FIELDS, optimizer),
            "learning_rate": float(self.learning_rate_box.value()),
            "batch_size": self.batch_size_box.value(),
            "epochs": self.epochs_box.value(),
            "schedule": schedule,
            "schedule_settings": self._group_values(SCHEDULE_FIELDS, schedule),
            "validation_split": float(self.validation_box.value()),
            "early_stopping": self.patience_box.value() if self.early_box.isChecked() else None,
            "seed": self.seed_box.value(),
            "augment": self.augment_box.isChecked(),
        }

    def _group_values(self, fields, selected: str) -> dict:
        values = {}
        for key, *_rest, shown in fields:
            if selected in shown:
                values[key] = _value(self._fields[key][1])
        if selected == "cosine":
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
        for key, _label, _kind, default, *_rest in OPTIMIZER_FIELDS + SCHEDULE_FIELDS:
            _set_value(self._fields[key][1], default)
        for box, key in (
            (self.loss_box, "loss"),
            (self.optimizer_box, "optimizer"),
            (self.schedule_box, "schedule"),
        ):
            index = box.findData(s.get(key))
            if index >= 0:
                box.setCurrentIndex(index)
        self.learning_rate_box.setValue(float(s.get("learning_rate", 0.01)))
        self.batch_size_box.setValue(int(s.get("batch_size", 32)))
        self.epochs_box.setValue(int(s.get("epochs", 50)))
        self.seed_box.setValue(int(s.get("seed", 0)))
        self.validation_box.setValue(float(s.get("validation_split", 0.0)))
        patience = s.get("early_stopping")
        self.early_box.setChecked(patience is not None)
        if patience is not None:
            self.patience_box.setValue(int(patience))
        self.augment_box.setChecked(bool(s.get("augment", False)))
        for group in ("optimizer_settings", "schedule_settings"):
            for key, value in (s.get(group) or {}).items():
                if key in self._fields and value is not None:
                    _set_value(self._fields[key][1], value)


def link_spin_boxes(first, second) -> None:
    """Keep two spin boxes showing the same value (the dock's and the toolbar's)."""
    second.setValue(first.value())
    first.valueChanged.connect(lambda value: second.value() != value and second.setValue(value))
    second.valueChanged.connect(lambda value: first.value() != value and first.setValue(value))
