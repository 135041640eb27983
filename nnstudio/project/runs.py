"""Training runs of one session (Qt-free): what each run was trained with and what came out.

The project document keeps the list; the Runs dock and its Compare dialog only show it. The
words used for statuses and settings live here too, so every view names them the same way.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

STATUS_WORDS = {
    "training": "training…",
    "paused": "paused",
    "completed": "done",
    "stopped": "stopped",
    "early_stopping": "early stop",
    "nan": "stopped: blew up",
    "failed": "failed",
}

# Setting names in words (the keys are the project file's).
# The rows of a run's own settings; an optimizer's or a schedule's settings are labelled as
# the engine describes them (their SETTINGS), the same words the Hyperparameters dock shows.
ROW_LABELS = {
    "dataset": "Dataset",
    "model": "Model",
    "loss": "Loss",
    "optimizer": "Optimizer",
    "learning_rate": "Learning rate",
    "batch_size": "Batch size",
    "epochs": "Epochs planned",
    "schedule": "Learning-rate schedule",
    "validation_split": "Validation split",
    "early_stopping": "Early stopping (patience)",
    "seed": "Seed",
    "augment": "Augment images",
}


def _setting_labels() -> dict[str, str]:
    """Every optimizer and schedule setting's label by name ("beta1" -> "β₁")."""
    from nnstudio.engine.registry import OPTIMIZERS, SCHEDULES

    return {
        setting.name: setting.label
        for cls in (*OPTIMIZERS.values(), *SCHEDULES.values())
        for setting in cls.SETTINGS
    }


def row_label(name: str) -> str:
    """ "optimizer_settings.beta1" -> "β₁", "schedule_settings.min_lr" -> "Min lr"."""
    section, _, key = name.rpartition(".")
    if section in ("optimizer_settings", "schedule_settings"):
        return _setting_labels().get(key, key.replace("_", " ").capitalize())
    return ROW_LABELS.get(key, key.replace("_", " ").capitalize())


def value_text(value, key: str = "") -> str:
    """A setting or metric as a table shows it: "—" for nothing, "on"/"off", 4 digits."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "on" if value else "off"
    if key == "validation_split" and not value:
        return "the dataset's"  # 0: fit validates on the dataset's own validation split
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


@dataclass(eq=False)  # two runs with the same numbers are still two runs
class Run:
    """One training run: what it was trained with and what came out.

    >>> run = Run(1, "spiral", {"layers": [{"type": "Dense", "units": 3}]}, {"batch_size": 32})
    >>> run.label, run.model_summary()
    ('Run 1', 'Dense(3)')
    """

    number: int
    dataset: str
    model_config: dict
    settings: dict
    history: list = field(default_factory=list)
    status: str = "training"
    # The weights of past epochs (nnstudio.project.timeline.RunTimeline), or None; kept in the
    # project's checkpoint, not in the project file's JSON.
    timeline: object = field(default=None, repr=False)
    # {"run": parent number, "epoch": k} for a run continued from epoch k of another one
    branched_from: dict | None = None
    # The project file a run was added from to compare with ("" for this project's own)
    source: str = ""

    @property
    def label(self) -> str:
        return f"Run {self.number}" + (f" ({self.source})" if self.source else "")

    @property
    def branch_epoch(self) -> int:
        """The epoch this run's own curves start from (0 unless it was branched)."""
        return int((self.branched_from or {}).get("epoch", 0))

    def model_summary(self) -> str:
        parts = []
        for layer in self.model_config.get("layers", []):
            size = layer.get("units", layer.get("filters"))
            parts.append(f"{layer.get('type', '?')}{f'({size})' if size is not None else ''}")
        return " → ".join(parts)

    def final(self, key: str):
        """The last value of a metric in the history (None when it was never reported)."""
        for epoch in reversed(self.history):
            if epoch.get(key) is not None:
                return epoch[key]
        return None

    def comparison_rows(self) -> dict[str, str]:
        """Flat name → text of everything worth comparing between runs."""
        rows = {"dataset": self.dataset, "model": self.model_summary()}
        for key, value in self.settings.items():
            if isinstance(value, dict):
                rows.update({f"{key}.{k}": value_text(v) for k, v in value.items()})
            else:
                rows[key] = value_text(value, key)
        rows["epochs trained"] = str(len(self.history))
        for key in ("loss", "val_loss", "accuracy", "val_accuracy"):
            rows[f"final {key}"] = value_text(self.final(key))
        rows["status"] = STATUS_WORDS.get(self.status, self.status)
        return rows


# -- kept in the project file (issue 21: reopening a project shows its runs) ---------------------


def _plain_number(value):
    """JSON has no NaN: a diverged epoch's loss is kept as None ("—" in the tables)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _epoch_to_dict(epoch: dict) -> dict:
    """An epoch's report as JSON: its numbers and words, and the per-layer gradient norms
    (the Training tab's gradient plot after the project is opened again)."""
    plain = {str(k): _plain_number(v) for k, v in epoch.items() if isinstance(v, (int, float, str))}
    norms = epoch.get("grad_norms")
    if isinstance(norms, dict):
        plain["grad_norms"] = {
            str(name): None if value is None else _plain_number(float(value))
            for name, value in norms.items()
            if value is None or _is_number(value)  # None: a norm read back as null
        }
    return plain


def _epoch_from_dict(epoch: dict) -> dict:
    """An epoch read back; gradient norms that are not {layer: number or null} are dropped
    (a hand-edited file loses them, not the run)."""
    norms = epoch.get("grad_norms")
    valid = isinstance(norms, dict) and all(
        value is None or _is_number(value) for value in norms.values()
    )
    if norms is None or valid:
        return epoch
    return {key: value for key, value in epoch.items() if key != "grad_norms"}


# The runs a project file brings back (the latest): far more than anyone compares, few enough
# that opening a file stays quick (a hand-made one of 100,000 runs took a minute and 1.9 GB).
MAX_SAVED_RUNS = 500


def latest_runs(metadata: dict) -> dict:
    """``metadata`` with at most MAX_SAVED_RUNS runs, the latest; the rest is not copied."""
    runs = metadata.get("runs")
    if not isinstance(runs, list) or len(runs) <= MAX_SAVED_RUNS:
        return metadata
    return {**metadata, "runs": runs[-MAX_SAVED_RUNS:]}


def run_to_dict(run: Run) -> dict:
    """The JSON form of a run, as the project file's metadata keeps it."""
    history = [_epoch_to_dict(epoch) for epoch in run.history if isinstance(epoch, dict)]
    settings = json.loads(json.dumps(run.settings, default=str))
    return {
        "number": run.number,
        "dataset": run.dataset,
        "model": run.model_config,
        "settings": settings,
        "history": history,
        "status": "stopped" if run.status in ("training", "paused") else run.status,
        **({"branched_from": dict(run.branched_from)} if run.branched_from else {}),
        **({"source": run.source} if run.source else {}),
    }


def run_from_dict(data) -> Run | None:
    """A run read back from a project file; None for an entry that is not one (a hand-edited
    file loses that run, never the project)."""
    if not isinstance(data, dict):
        return None
    number, history = data.get("number"), data.get("history")
    if not isinstance(number, int) or isinstance(number, bool) or not isinstance(history, list):
        return None
    model, settings = data.get("model"), data.get("settings")
    branch = data.get("branched_from")
    valid_branch = isinstance(branch, dict) and all(
        isinstance(branch.get(key), int) and not isinstance(branch.get(key), bool)
        for key in ("run", "epoch")
    )
    return Run(
        number,
        str(data.get("dataset", "")),
        model if isinstance(model, dict) else {},
        settings if isinstance(settings, dict) else {},
        [_epoch_from_dict(epoch) for epoch in history if isinstance(epoch, dict)],
        str(data.get("status", "stopped")),
        branched_from={"run": branch["run"], "epoch": branch["epoch"]} if valid_branch else None,
        source=str(data.get("source") or ""),
    )
