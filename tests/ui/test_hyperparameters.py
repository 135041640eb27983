"""The Hyperparameters dock: generated from the engine's descriptions, same settings() form."""

from __future__ import annotations

import doctest

import pytest
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QAbstractSpinBox, QCheckBox, QComboBox

from nnstudio.engine import registry
from nnstudio.engine.settings import Setting
from nnstudio.project.project_data import Project, TrainingSettings
from nnstudio.ui.panels.hyperparameters import (
    HyperparametersPanel,
    ScientificSpinBox,
    link_spin_boxes,
)
from nnstudio.ui.widgets import number_input
from nnstudio.ui.widgets.number_input import number_state, parse_number
from nnstudio.ui.widgets.setting_widgets import FloatEditor

TRAINING_KEYS = set(vars(TrainingSettings()))


@pytest.fixture
def panel(qtbot):
    widget = HyperparametersPanel()
    qtbot.addWidget(widget)
    return widget


def choose(combo: QComboBox, key: str) -> None:
    combo.setCurrentIndex(combo.findData(key))


def visible_rows(panel, rows) -> set[str]:
    """Names of the generated editors whose rows the dock shows (the panel is not on screen,
    so ask the form rather than the widgets)."""
    shown = set()
    for key, editors in rows.editors.items():
        for name, editor in editors.items():
            form = editor.parentWidget().layout()
            if form.isRowVisible(editor):
                shown.add(f"{key}.{name}")
    return shown


def test_menus_come_from_the_registry(panel):
    for combo, table in (
        (panel.loss_box, registry.LOSSES),
        (panel.optimizer_box, registry.OPTIMIZERS),
        (panel.schedule_box, registry.SCHEDULES),
    ):
        assert [combo.itemData(i) for i in range(combo.count())] == list(table)
        assert [combo.itemText(i) for i in range(combo.count())] == [
            c.label for c in table.values()
        ]
        assert combo.itemData(0, 3) == next(iter(table.values())).help  # 3: Qt.ToolTipRole


def test_only_the_chosen_optimizers_settings_show(panel):
    choose(panel.optimizer_box, "sgd")
    assert visible_rows(panel, panel.optimizer_rows) == {
        "sgd.momentum",
        "sgd.nesterov",
        "sgd.weight_decay",
        "sgd.clip_norm",
    }
    choose(panel.optimizer_box, "adam")
    shown = visible_rows(panel, panel.optimizer_rows)
    assert {"adam.beta1", "adam.beta2", "adam.eps"} <= shown
    assert not any(name.startswith("sgd.") for name in shown)
    choose(panel.schedule_box, "cosine")
    # total_steps follows the epochs, so only the other cosine settings have rows.
    assert visible_rows(panel, panel.schedule_rows) == {"cosine.min_lr", "cosine.warmup_steps"}


def test_fields_use_the_engines_labels_ranges_and_help(panel):
    momentum = panel.optimizer_rows.editors["sgd"]["momentum"]
    form = momentum.parentWidget().layout()
    assert form.labelForField(momentum).text() == "Momentum"
    assert momentum.minimum() == 0.0 and momentum.maximum() < 1.0
    setting = next(s for s in registry.OPTIMIZERS["sgd"].SETTINGS if s.name == "momentum")
    assert setting.help in momentum.toolTip()
    beta1 = panel.optimizer_rows.editors["adam"]["beta1"]
    assert beta1.parentWidget().layout().labelForField(beta1).text() == "β₁"
    clip = panel.optimizer_rows.editors["adam"]["clip_norm"]
    assert clip.value() is None and clip.text() == "off"


def test_learning_rate_tooltip_follows_the_optimizer(panel):
    choose(panel.optimizer_box, "sgd")
    assert "0.01 to 0.1" in panel.learning_rate_box.toolTip()
    choose(panel.optimizer_box, "adam")
    assert "1e-3" in panel.learning_rate_box.toolTip()
    assert "Can change while training" in panel.learning_rate_box.toolTip()


def test_settings_keep_the_training_object_form_and_round_trip(panel, qtbot):
    choose(panel.optimizer_box, "sgd")
    panel.optimizer_rows.editors["sgd"]["momentum"].setValue(0.9)
    choose(panel.schedule_box, "cosine")
    panel.schedule_rows.editors["cosine"]["warmup_steps"].setValue(2)
    panel.epochs_box.setValue(30)
    settings = panel.settings()
    assert set(settings) == TRAINING_KEYS
    assert settings["optimizer"] == "sgd"
    assert settings["optimizer_settings"] == {
        "momentum": 0.9,
        "nesterov": False,
        "weight_decay": 0.0,
        "clip_norm": None,
    }
    assert settings["schedule_settings"] == {"total_steps": 30, "min_lr": 0.0, "warmup_steps": 2}
    # What the dock writes is a valid project "training" object the engine can use.
    project = Project(training=TrainingSettings(**settings))
    assert project.make_optimizer().momentum == 0.9
    assert project.fit_config().make_schedule().warmup_steps == 2

    other = HyperparametersPanel()
    qtbot.addWidget(other)
    with qtbot.assertNotEmitted(other.changed):
        other.set_settings(settings)
    assert other.settings() == settings


def test_an_old_project_without_new_settings_gets_the_defaults(panel):
    panel.set_settings(
        {
            "optimizer": "adamw",
            "optimizer_settings": {"beta1": 0.8, "unknown": 3},
            "schedule": "step",
            "schedule_settings": {"step_size": 5, "gamma": None},
        }
    )
    assert panel.settings()["optimizer_settings"] == {
        "beta1": 0.8,
        "beta2": 0.999,
        "eps": 1e-8,
        "weight_decay": 0.01,
        "clip_norm": None,
    }
    assert panel.settings()["schedule_settings"] == {"step_size": 5, "gamma": 0.1}


def test_edits_fire_changed_and_learning_rate_changed(panel, qtbot):
    with qtbot.waitSignal(panel.changed):
        panel.optimizer_rows.editors["adam"]["beta2"].setValue(0.99)
    with qtbot.waitSignal(panel.learning_rate_changed) as blocker:
        panel.learning_rate_box.setValue(0.003)
    assert blocker.args == [pytest.approx(0.003)]
    with qtbot.waitSignal(panel.regularization_changed):
        panel.l2_box.setValue(1e-4)
    assert panel.regularization() == (0.0, pytest.approx(1e-4))


def test_set_task_offers_only_fitting_losses(panel):
    panel.set_task("regression")
    assert panel.settings()["loss"] == "mse"
    model = panel.loss_box.model()
    enabled = {
        panel.loss_box.itemData(i)
        for i in range(panel.loss_box.count())
        if model.item(i).isEnabled()
    }
    assert enabled == set(registry.losses_for_task("regression"))


def test_locked_training_leaves_only_the_learning_rate(panel):
    panel.set_training_locked(True)
    assert panel.learning_rate_box.isEnabled()
    assert not panel.epochs_box.isEnabled()
    assert not any(e.isEnabled() for e in panel.optimizer_rows.all_editors())
    panel.early_box.setChecked(True)  # cannot happen through the UI, but must not unlock
    assert not panel.patience_box.isEnabled()
    panel.set_training_locked(False)
    assert panel.patience_box.isEnabled() and panel.epochs_box.isEnabled()


def test_every_control_says_what_it_does(panel):
    for kind in (QAbstractSpinBox, QComboBox, QCheckBox):
        for widget in panel.findChildren(kind):
            if widget.objectName() != "qt_spinbox_lineedit":
                assert widget.toolTip(), widget.objectName()


def test_link_spin_boxes(qtbot, panel):
    toolbar = ScientificSpinBox(1e-7, 1e9)
    qtbot.addWidget(toolbar)
    link_spin_boxes(panel.learning_rate_box, toolbar)
    toolbar.setValue(0.05)
    assert panel.learning_rate_box.value() == pytest.approx(0.05)


# -- one number parser and validator for every box -----------------------------------------


def test_number_input_examples():
    assert doctest.testmod(number_input).failed == 0


@pytest.mark.parametrize(
    ("text", "state"),
    [
        ("1e-3", QValidator.State.Acceptable),
        (" .5", QValidator.State.Acceptable),
        ("1e", QValidator.State.Intermediate),
        ("-", QValidator.State.Intermediate),
        ("5", QValidator.State.Intermediate),  # above the maximum: keep typing or fix it
        ("abc", QValidator.State.Invalid),
        ("1..2", QValidator.State.Invalid),
    ],
)
def test_number_state(text, state):
    assert number_state(text, 0.0, 1.0) == state


def test_both_number_boxes_use_the_same_rules(qtbot):
    scientific = ScientificSpinBox(0.0, 1.0)
    editor = FloatEditor(Setting("rate", "float", 0.5, minimum=0, maximum=1))
    qtbot.addWidget(scientific)
    qtbot.addWidget(editor)
    for text in ("1e-3", "1e", "abc", "5"):
        assert scientific.validate(text, 0)[0] == editor.validate(text, 0)[0], text
    assert parse_number("2.5e-1") == scientific.valueFromText("2.5e-1") == 0.25


def test_log_scale_settings_step_by_factors(qtbot):
    editor = FloatEditor(Setting("wd", "float", 1e-3, minimum=0, log_scale=True))
    qtbot.addWidget(editor)
    editor.set_value(1e-3)
    editor.stepBy(4)
    assert editor.value() == pytest.approx(1e-2)
