"""A run's settings in words (the labels come from the engine's own setting descriptions),
and what of a run the project file keeps."""

import json

from nnstudio.engine.registry import OPTIMIZERS, SCHEDULES
from nnstudio.project.runs import Run, row_label, run_from_dict, run_to_dict


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


def test_the_gradient_norms_of_each_epoch_survive_the_project_file():
    """The Training tab's gradient plot after the project is opened again: the per-layer
    norms go into the file (NaN as null), and bad ones in a hand-edited file are dropped."""
    history = [
        {"epoch": 1, "loss": 0.5, "grad_norms": {"0 Dense": 0.25, "1 Dense": float("nan")}},
        {"epoch": 2, "loss": 0.4, "grad_norms": {"0 Dense": 0.125, "1 Dense": 0.5}},
    ]
    run = Run(1, "spiral", {"layers": [{"type": "Dense", "units": 3}]}, {}, history, "done")
    data = json.loads(json.dumps(run_to_dict(run), allow_nan=False))  # plain JSON
    again = run_from_dict(data)
    assert again.history[0]["grad_norms"] == {"0 Dense": 0.25, "1 Dense": None}
    assert again.history[1]["grad_norms"] == {"0 Dense": 0.125, "1 Dense": 0.5}
    # Written again unchanged: a reopened project does not count as modified.
    assert run_to_dict(again) == data
    data["history"][1]["grad_norms"] = {"0 Dense": "big"}
    assert "grad_norms" not in run_from_dict(data).history[1]
    assert run_from_dict(data).history[1]["loss"] == 0.4
