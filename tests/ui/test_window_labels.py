"""Labels and silent changes (issue 21, item 10): the project name follows a preset, one
validation setting, the dataset does not change under a running training without asking,
Dropout after the output layer is warned, and Help explains the keys and every setting."""

from __future__ import annotations

import copy

from PySide6.QtWidgets import QMessageBox

from nnstudio.engine.registry import OPTIMIZERS


def test_project_name_follows_a_preset(make_window, ready, qtbot):
    window = make_window()
    window.builder.load_preset("xor-net")
    assert window.document.name != "spiral-mlp"
    assert "xor" in window.document.name.lower()
    assert window.document.name in window.windowTitle()


def test_one_validation_setting(make_window):
    window = make_window()
    assert window.document.training.validation_split == 0
    assert window.hyperparameters.validation_box.isHidden()


def test_dataset_change_while_training_asks_first(make_window, qtbot, monkeypatch):
    window = make_window()
    window.hyperparameters.epochs_box.setValue(100_000)
    window.actionTrain.trigger()
    qtbot.waitUntil(lambda: window.session is not None)
    asked = []

    def say_no(*args, **kwargs):
        asked.append(args)
        return QMessageBox.StandardButton.No

    monkeypatch.setattr(QMessageBox, "question", say_no)
    window.data_panel.set_spec("moons", {"samples": 300})
    assert asked
    assert window.session is not None and window.state == "training"
    assert window.data_panel.current_name() == "spiral"
    window.training.shutdown()


def test_dropout_after_the_output_is_warned(make_window, qtbot):
    window = make_window()
    config = copy.deepcopy(window.document.model)
    config["layers"].append({"type": "Dropout", "rate": 0.5})
    window.builder.set_config(config)
    problems = [p.message for p in window.builder.model.analysis().problems]
    assert any("Dropout after the output layer" in text for text in problems)


def test_help_lists_the_keys_and_every_optimizer_setting(make_window):
    window = make_window()
    shortcuts = window.window_actions.show_shortcuts()
    text = shortcuts.findChild(object, "shortcutsText").toPlainText()
    assert "Space" in text and "Train" in text and "Ctrl+S" in text
    settings = window.window_actions.show_settings_help()
    text = settings.findChild(object, "settingsHelpText").toPlainText()
    for cls in OPTIMIZERS.values():
        assert cls.label in text
        for setting in cls.SETTINGS:
            assert setting.label in text
    assert window.actionShortcuts in window.help_menu.actions()
