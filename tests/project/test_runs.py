"""A run's settings in words: the labels come from the engine's own setting descriptions."""

from nnstudio.engine.registry import OPTIMIZERS, SCHEDULES
from nnstudio.project.runs import row_label


def test_optimizer_and_schedule_rows_use_the_engines_labels():
    assert row_label("optimizer_settings.beta1") == "β₁"
    for cls in (*OPTIMIZERS.values(), *SCHEDULES.values()):
        section = "optimizer_settings" if cls in OPTIMIZERS.values() else "schedule_settings"
        for setting in cls.SETTINGS:
            assert row_label(f"{section}.{setting.name}") == setting.label


def test_a_runs_own_settings_keep_their_row_names():
    assert row_label("batch_size") == "Batch size"
    assert row_label("early_stopping") == "Early stopping (patience)"
    assert row_label("some_new_key") == "Some new key"
