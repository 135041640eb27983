"""The words lesson checks answer in (Qt-free): metric names, bounds and choices said plainly.

Shared by lesson_checks.py and lesson_search.py, so each check kind says "Validation accuracy
is 82 % after the last run; it needs at least 90 %." the same way: a share (an accuracy, a
recall, a split) is said as a percentage, as the lessons' own words and the app say it.
"""

from __future__ import annotations

import math

Result = tuple[bool, str]

METRIC_WORDS = {
    "accuracy": "training accuracy",
    "val_accuracy": "validation accuracy",
    "loss": "training loss",
    "val_loss": "validation loss",
}
EVALUATION_WORDS = {
    "accuracy": "test accuracy",
    "macro_f1": "macro F1",
    "macro_precision": "macro precision",
    "macro_recall": "macro recall",
    "min_recall": "the worst class's recall",
    "min_precision": "the worst class's precision",
    "rmse": "test RMSE",
    "mae": "test MAE",
    "r2": "test R²",
}
#: Values that are shares of a whole (0 to 1): said as percentages ("1" read as one, not 100 %).
SHARES = frozenset(
    {
        "accuracy",
        "val_accuracy",
        "macro_f1",
        "macro_precision",
        "macro_recall",
        "min_recall",
        "min_precision",
        "val_fraction",
        "test_fraction",
    }
)
# Runs finished before the lesson opened do not count: saying "no run yet" under a finished
# run's curves would not be true.
NO_RUN = "No run finished since this lesson opened: press Train and let it finish."
EDITED = "You changed the network or the settings after the last run: train again to measure it."


def number(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 1e4 else f"{value:.3e}"


def amount(value: float, share: bool = False) -> str:
    """A number as a lesson says it: "0.0123", or for a share "82.3 %"."""
    return f"{number(100 * value)} %" if share else number(value)


def bound_result(
    name: str, value: float | None, check: dict, where: str, share: bool = False
) -> Result:
    """``value`` against ``at_least`` / ``at_most``, said in words (as percentages when the
    value is a ``share`` of 0 to 1)."""
    if value is None or not math.isfinite(value):
        return False, f"{where} has no {name} (a NaN or a run without it)."
    low, high = check.get("at_least"), check.get("at_most")
    name = name[0].upper() + name[1:]
    said = amount(value, share)
    if low is not None and value < low:
        return False, f"{name} is {said} {where}; it needs at least {amount(low, share)}."
    if high is not None and value > high:
        return False, f"{name} is {said} {where}; it needs at most {amount(high, share)}."
    return True, f"{name} is {said} {where} (goal met)."


def in_choice(value, check: dict) -> bool:
    one_of, not_in = check.get("one_of"), check.get("not_in")
    return (one_of is None or value in one_of) and (not_in is None or value not in not_in)


def choice_words(check: dict) -> str:
    one_of = check.get("one_of")
    if one_of is not None:
        return str(one_of[0]) if len(one_of) == 1 else "one of " + ", ".join(map(str, one_of))
    return "anything but " + ", ".join(map(str, check["not_in"]))
