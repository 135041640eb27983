"""Lesson checks about the data and about a search over several runs (Qt-free).

``dataset_setting`` reads the split and scaling the last run's data was loaded with;
``settings_tried`` counts the different values of a setting the lesson's runs used (a sweep's
trials are runs too); ``best_run_metric`` takes the best of those runs, as a search keeps its
best trial. Registered in lesson_checks.KINDS with the other kinds.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from nnstudio.project.lesson_words import (
    METRIC_WORDS,
    NO_RUN,
    SHARES,
    Result,
    bound_result,
    choice_words,
    in_choice,
    number,
)

if TYPE_CHECKING:
    from nnstudio.project.lesson_checks import LessonState

DATASET_WORDS = {
    "val_fraction": "the validation split",
    "test_fraction": "the test split",
    "scaling": "the scaling",
}


def dataset_setting(check: dict, state: LessonState) -> Result:
    """A dataset option of the latest run's data (the split, the scaling), or the project's
    when it was edited since."""
    name = check["setting"]
    value = state.trained_dataset_options().get(name)
    label = DATASET_WORDS.get(name, name.replace("_", " "))
    if "one_of" in check or "not_in" in check:
        if not in_choice(value, check):
            return False, f"The data uses {label} {value!r}; use {choice_words(check)}."
        return True, f"The data uses {label} {value!r}."
    return bound_result(label, value, check, "in the data settings", name in SHARES)


def read_setting(settings: dict, name: str):
    """A run's setting; a dotted name reads inside one ("optimizer_settings.momentum")."""
    value = settings
    for part in name.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def settings_tried(check: dict, state: LessonState) -> Result:
    """At least ``at_least`` different values of ``setting`` among the lesson's runs."""
    name, wanted = check["setting"], int(check["at_least"])
    values = sorted({read_setting(run.settings, name) for run in state.runs} - {None})
    label = name.rsplit(".", 1)[-1].replace("_", " ")
    tried = ", ".join(number(v) if isinstance(v, (int, float)) else str(v) for v in values)
    if len(values) >= wanted:
        return True, f"The runs tried {len(values)} values of the {label}: {tried}."
    found = f"{len(values)} ({tried})" if values else "none yet"
    return False, (
        f"Values of the {label} tried: {found}. A search tries at least {wanted}: "
        "Training → Sweep… trains one run for each."
    )


def best_run_metric(check: dict, state: LessonState) -> Result:
    """The best final ``metric`` of the lesson's runs (lowest for a loss, else highest)."""
    metric = check["metric"]
    finals = [(run.history[-1].get(metric), run) for run in state.runs if run.history]
    finals = [(v, run) for v, run in finals if v is not None and math.isfinite(v)]
    if not finals:
        return False, NO_RUN
    pick = min if "loss" in metric else max
    value, run = pick(finals, key=lambda pair: pair[0])
    rate = run.settings.get("learning_rate")
    where = f"in the best run at learning rate {number(rate)}" if rate else "in the best run"
    return bound_result(METRIC_WORDS[metric], value, check, where, metric in SHARES)
