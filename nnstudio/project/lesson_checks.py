"""The checks a lesson declares, evaluated against the app's own state (Qt-free).

A lesson file says what "done" means as data, e.g. ``{"kind": "final_metric", "metric":
"val_accuracy", "at_least": 0.9}``. Each kind here has a validator (what fields it takes, so
a malformed lesson is refused when it is loaded) and an evaluator that reads a
:class:`LessonState`: the project as it stands, the finished runs with their histories, the
evaluation of the latest run's model and, for questions, the learner's answer. Never a widget:
the window and ``nnstudio lessons check`` fill the same state.

Checks about the network or the settings read the latest finished run's (what actually
produced the numbers), or the current project before any run and once it was edited after
the run: then the check follows every edit, and the run's numbers, made by another network,
no longer count until the edited one is trained.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from nnstudio.project.lesson_search import (
    best_run_metric,
    dataset_setting,
    read_setting,
    settings_tried,
)
from nnstudio.project.lesson_words import (
    EDITED,
    EVALUATION_WORDS,
    METRIC_WORDS,
    NO_RUN,
    SHARES,
    Result,
    amount,
)
from nnstudio.project.lesson_words import bound_result as _bound_result
from nnstudio.project.lesson_words import choice_words as _choice_words
from nnstudio.project.lesson_words import in_choice as _in_choice
from nnstudio.project.lesson_words import number as _number
from nnstudio.project.project_data import Project
from nnstudio.safe_read import shorten


class CheckError(ValueError):
    """A check that cannot be used; the message names the field (``check.at_least``)."""


@dataclass
class RunRecord:
    """A finished run as a check sees it (the window copies it from the document's run)."""

    history: list[dict]
    status: str
    settings: dict
    model_config: dict
    weight_spread: float | None = None  # std of every weight matrix, after training
    dataset: str | None = None  # the dataset's name, when known
    dataset_options: dict | None = None  # the options it was loaded with (split, scaling)


@dataclass
class LessonState:
    project: Project
    runs: list[RunRecord] = field(default_factory=list)
    evaluation: dict | None = None  # the latest run's model on the test split (a report)
    answer: str | None = None

    @property
    def latest(self) -> RunRecord | None:
        return self.runs[-1] if self.runs else None

    @property
    def edited_since_run(self) -> bool:
        """Whether the network or the training settings changed after the latest run."""
        run = self.latest
        if run is None:
            return False
        now = vars(self.project.training)
        changed = any(now.get(key) != value for key, value in run.settings.items() if key in now)
        changed = changed or run.model_config.get("layers") != self.project.model.get("layers")
        return changed or self._data_changed(run)

    def _data_changed(self, run: RunRecord) -> bool:
        """Whether a dataset option the run's data was loaded with (the split, the scaling)
        is set otherwise now."""
        if run.dataset_options is None:
            return False
        now = {**DATASET_DEFAULTS, **self.project.dataset.options}
        # Only the options the loader kept (MNIST has its own test set: no test_fraction).
        kept = DATASET_DEFAULTS.keys() & run.dataset_options.keys()
        return any(run.dataset_options[key] != now[key] for key in kept)

    def _trained(self) -> RunRecord | None:
        """The run whose network and settings the checks read: the latest, unless edited."""
        return None if self.edited_since_run else self.latest

    def trained_layers(self) -> list[dict]:
        run = self._trained()
        return (run.model_config if run else self.project.model).get("layers", [])

    def trained_settings(self) -> dict:
        run = self._trained()
        return dict(run.settings) if run else dict(vars(self.project.training))

    def trained_dataset_options(self) -> dict:
        run = self._trained()
        if run is not None and run.dataset_options is not None:
            return {**DATASET_DEFAULTS, **run.dataset_options}
        return {**DATASET_DEFAULTS, **self.project.dataset.options}


#: A built-in dataset's options when the project leaves them out (data/catalog.py's defaults;
#: a lesson uses built-in datasets only, and those are not scaled unless asked).
DATASET_DEFAULTS = {"val_fraction": 0.15, "test_fraction": 0.15, "scaling": "none"}


def weight_spread(parameters: dict) -> float | None:
    """The spread (standard deviation) of all weight matrices together, biases left out: the
    width of the Training tab's weight histograms."""
    weights = [np.ravel(v) for name, v in parameters.items() if name.endswith(".W")]
    return float(np.concatenate(weights).std()) if weights else None


def _hidden_dense(layers: list[dict]) -> list[dict]:
    dense = [layer for layer in layers if layer.get("type") == "Dense"]
    return dense[:-1]


def _setting_value(layer: dict, name: str):
    """A layer's setting as the engine reads it: the file's value, else the layer's default."""
    if name in layer:
        return layer[name]
    from nnstudio.engine.registry import LAYERS

    for setting in getattr(LAYERS.get(layer.get("type")), "SETTINGS", ()):
        if setting.name == name:
            return setting.default
    return None


# -- the kinds ----------------------------------------------------------------------------------


def final_metric(check: dict, state: LessonState) -> Result:
    run = state.latest
    if run is None or not run.history:
        return False, NO_RUN
    if state.edited_since_run:
        return False, EDITED
    name = METRIC_WORDS[check["metric"]]
    metric = check["metric"]
    value = run.history[-1].get(metric)
    return _bound_result(name, value, check, "after the last run", metric in SHARES)


def evaluation_metric(check: dict, state: LessonState) -> Result:
    report = state.evaluation
    name = EVALUATION_WORDS[check["metric"]]
    if report is None:
        return False, f"{NO_RUN} Then the test split is evaluated for {name}."
    if state.edited_since_run:
        return False, EDITED
    metric = check["metric"]
    if metric.startswith(("macro_", "min_")) or metric == "accuracy":
        if "per_class" not in report:
            return False, f"{name} needs a classification dataset."
        kind, _, part = metric.partition("_")
        if kind == "macro":
            value = report["macro"][part]
        elif kind == "min":
            value = min(row[part] for row in report["per_class"])
        else:
            value = report["accuracy"]
    else:
        value = report.get(metric)
    return _bound_result(name, value, check, "on the test split", metric in SHARES)


def max_hidden_units(check: dict, state: LessonState) -> Result:
    units = sum(int(layer.get("units", 0)) for layer in _hidden_dense(state.trained_layers()))
    limit = check["at_most"]
    if units > limit:
        return False, f"The network has {units} hidden units in all; use at most {limit}."
    return True, f"The network has {units} hidden units (at most {limit} allowed)."


def layer_setting(check: dict, state: LessonState) -> Result:
    layers = _hidden_dense(state.trained_layers())
    name = check["setting"]
    if not layers:
        return False, "The network has no hidden Dense layer yet: add one."
    wrong = [
        i for i, layer in enumerate(layers) if not _in_choice(_setting_value(layer, name), check)
    ]
    if wrong:
        value = _setting_value(layers[wrong[0]], name)
        return False, (
            f"{len(wrong)} of the {len(layers)} hidden Dense layers have {name} = {value!r}; "
            f"use {_choice_words(check)}."
        )
    return True, f"Every hidden Dense layer has a fitting {name}."


def layer_count(check: dict, state: LessonState) -> Result:
    kind = check["type"]
    count = sum(1 for layer in state.trained_layers() if layer.get("type") == kind)
    low, high = check.get("at_least"), check.get("at_most")
    if low is not None and count < low:
        return False, f"The network has {count} {kind} layer(s); it needs at least {low}."
    if high is not None and count > high:
        return False, f"The network has {count} {kind} layer(s); it may have at most {high}."
    return True, f"The network has {count} {kind} layer(s)."


def _applies(layer: dict, activation: str) -> bool:
    """Whether the layer applies ``activation``: as its own (Dense, Conv2D), as an Activation
    layer's function, or as the standalone layer of that name (Sigmoid after a BatchNorm)."""
    if layer.get("type") == "Activation":
        return layer.get("function") == activation
    standalone = activation.replace("_", "").lower()
    return layer.get("activation") == activation or layer.get("type", "").lower() == standalone


def activation_count(check: dict, state: LessonState) -> Result:
    name = check["activation"]
    count = sum(_applies(layer, name) for layer in state.trained_layers())
    if count < check["at_least"]:
        return (
            False,
            f"The network applies {name} {count} times; it needs at least {check['at_least']}.",
        )
    return True, f"The network applies {name} {count} times."


def training_setting(check: dict, state: LessonState) -> Result:
    """A setting of the latest run; a dotted name reads inside one ("optimizer_settings.
    momentum")."""
    name = check["setting"]
    value = read_setting(state.trained_settings(), name)
    if "one_of" in check or "not_in" in check:
        if not _in_choice(value, check):
            return False, f"Training uses {name} = {value!r}; use {_choice_words(check)}."
        return True, f"Training uses {name} = {value!r}."
    label = name.rsplit(".", 1)[-1].replace("_", " ")  # "optimizer_settings.momentum": momentum
    if value is None and "at_least" in check:  # a setting left off (early stopping: None)
        return False, f"{label.capitalize()} is off; it needs at least {check['at_least']}."
    return _bound_result(label, value, check, "in the training settings")


def run_epochs(check: dict, state: LessonState) -> Result:
    """The epochs the latest run trained in all (Train on a trained run adds the Epochs
    setting's count to it; Reset weights starts a new run)."""
    run = state.latest
    if run is None:
        return False, NO_RUN
    result = _bound_result("epochs trained", len(run.history), check, "in the last run")
    if not result[0] and "at_most" in check:
        return False, result[1] + " Press Reset weights, then Train: a fresh run."
    return result


def _regularized(run: RunRecord) -> bool:
    return any(layer.get("l1") or layer.get("l2") for layer in run.model_config.get("layers", []))


def weight_spread_ratio(check: dict, state: LessonState) -> Result:
    with_reg = next((r for r in reversed(state.runs) if _regularized(r)), None)
    if with_reg is None:
        return False, "Train a run with L1 or L2 above 0 (and one without it to compare)."
    index = state.runs.index(with_reg)
    without = next((r for r in reversed(state.runs[:index]) if not _regularized(r)), None)
    if without is None:
        return False, "Train a run without L1/L2 first, then the one with it, to compare."
    if not (with_reg.weight_spread and without.weight_spread):
        return False, "The runs' weights are not known (train again)."
    ratio = with_reg.weight_spread / without.weight_spread
    words = (
        f"The weights' spread is {_number(with_reg.weight_spread)} with regularization and "
        f"{_number(without.weight_spread)} without: {ratio:.0%} of it"
    )
    if ratio > check["at_most"]:
        return False, f"{words}; it needs to be under {check['at_most']:.0%}. Raise L2."
    return True, f"{words} (goal: under {check['at_most']:.0%})."


def _diverged(run: RunRecord) -> bool:
    if run.status == "nan":
        return True
    losses = [e.get("loss") for e in run.history if e.get("loss") is not None]
    return bool(losses) and (not math.isfinite(losses[-1]) or losses[-1] > losses[0])


def diverges_then_converges(check: dict, state: LessonState) -> Result:
    optimizer = check.get("optimizer")
    runs = [r for r in state.runs if optimizer is None or r.settings.get("optimizer") == optimizer]
    with_what = f" with {optimizer.upper()}" if optimizer else ""
    first = next((i for i, r in enumerate(runs) if _diverged(r)), None)
    if first is None:
        return False, f"No run{with_what} has diverged yet: raise the learning rate until it does."
    metric, high_rate = check["metric"], runs[first].settings.get("learning_rate")
    for run in runs[first + 1 :]:
        value = run.history[-1].get(metric) if run.history else None
        if value is not None and value >= check["at_least"]:
            return True, (
                f"Training{with_what} diverged at learning rate {high_rate} and converged at "
                f"{run.settings.get('learning_rate')} ({METRIC_WORDS[metric]} "
                f"{amount(value, metric in SHARES)})."
            )
    goal = amount(check["at_least"], metric in SHARES)
    return False, (
        f"Training{with_what} diverged at learning rate {high_rate}. Now find a rate that "
        f"converges ({METRIC_WORDS[metric]} at least {goal})."
    )


def _most_confused(report: dict) -> tuple[list[tuple[int, int]], np.ndarray]:
    matrix = np.asarray(report["confusion_matrix"])
    both = matrix + matrix.T
    np.fill_diagonal(both, -1)
    upper = np.triu(both, 1) - np.tril(np.ones_like(both))  # each pair once
    best = upper.max()
    return [tuple(map(int, ij)) for ij in np.argwhere(upper == best)], matrix


def _named_classes(answer: str, names: list[str]) -> set[int]:
    words = [w.lower() for w in re.findall(r"[A-Za-z0-9/_-]+", answer or "")]
    lowered = [str(n).lower() for n in names]
    return {lowered.index(w) for w in words if w in lowered}


def confused_pair(check: dict, state: LessonState) -> Result:
    report = state.evaluation
    if report is None or "confusion_matrix" not in report:
        return False, f"{NO_RUN} Then read its confusion matrix on the Evaluate tab."
    names = report.get("class_names") or [str(i) for i in range(len(report["confusion_matrix"]))]
    pairs, matrix = _most_confused(report)
    chosen = _named_classes(state.answer or "", names)
    if len(chosen) != 2:
        return False, 'Type the two classes you think are confused most, e.g. "4 9".'
    i, j = sorted(chosen)
    count = int(matrix[i, j] + matrix[j, i])
    said = f"{names[i]} and {names[j]} are mixed up {count} times"
    if (i, j) not in pairs:
        return False, f"Not quite: {said}; another pair is mixed up more often."
    return True, f"Right: {said} ({names[i]} read as {names[j]}: {int(matrix[i, j])}, " + (
        f"{names[j]} read as {names[i]}: {int(matrix[j, i])})."
    )


def solve_confused_pair(state: LessonState) -> str | None:
    """The answer "Show me" gives: the most confused pair of the latest evaluation."""
    if state.evaluation is None or "confusion_matrix" not in state.evaluation:
        return None
    names = state.evaluation.get("class_names") or []
    (i, j), *_ = _most_confused(state.evaluation)[0]
    return f"{names[i] if names else i} {names[j] if names else j}"


def all_of(check: dict, state: LessonState) -> Result:
    results = [evaluate_check(part, state) for part in check["checks"]]
    failed = [message for passed, message in results if not passed]
    if failed:  # once each: two checks on the last run both say there is none yet
        return False, " ".join(dict.fromkeys(failed))
    return True, " ".join(message for _, message in results)


# -- validation ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    evaluate: Callable[[dict, LessonState], Result]
    required: dict  # field -> validator
    optional: dict
    needs: frozenset = frozenset()  # "evaluation", "weights", "answer"


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _choice(options):
    def valid(value):
        return value in options

    valid.words = "one of " + ", ".join(sorted(options))
    return valid


def _number_field(value):
    return _is_number(value)


_number_field.words = "a number"


def _text(value):
    return isinstance(value, str) and bool(value)


_text.words = "a name"


def _list(value):
    return isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value)


_list.words = "a list of values"

BOUNDS = {"at_least": _number_field, "at_most": _number_field}
CHOICES = {"one_of": _list, "not_in": _list}

KINDS: dict[str, Kind] = {
    "final_metric": Kind(final_metric, {"metric": _choice(METRIC_WORDS)}, BOUNDS),
    "evaluation_metric": Kind(
        evaluation_metric, {"metric": _choice(EVALUATION_WORDS)}, BOUNDS, frozenset({"evaluation"})
    ),
    "max_hidden_units": Kind(max_hidden_units, {"at_most": _number_field}, {}),
    "layer_setting": Kind(layer_setting, {"setting": _text}, CHOICES),
    "layer_count": Kind(layer_count, {"type": _text}, BOUNDS),
    "activation_count": Kind(
        activation_count, {"activation": _text, "at_least": _number_field}, {}
    ),
    "training_setting": Kind(training_setting, {"setting": _text}, {**BOUNDS, **CHOICES}),
    "dataset_setting": Kind(dataset_setting, {"setting": _text}, {**BOUNDS, **CHOICES}),
    "run_epochs": Kind(run_epochs, {}, BOUNDS),
    "settings_tried": Kind(settings_tried, {"setting": _text, "at_least": _number_field}, {}),
    "best_run_metric": Kind(best_run_metric, {"metric": _choice(METRIC_WORDS)}, BOUNDS),
    "weight_spread_ratio": Kind(
        weight_spread_ratio, {"at_most": _number_field}, {}, frozenset({"weights"})
    ),
    "diverges_then_converges": Kind(
        diverges_then_converges,
        {"metric": _choice(METRIC_WORDS), "at_least": _number_field},
        {"optimizer": _text},
    ),
    "confused_pair": Kind(confused_pair, {}, {}, frozenset({"evaluation", "answer"})),
    "all": Kind(all_of, {"checks": lambda v: isinstance(v, list) and bool(v)}, {}),
}
KINDS["all"].required["checks"].words = "a list of checks"


def validate_check(check, where: str = "check") -> None:
    """Raise CheckError naming the field (``check.checks[1].at_least``) of a bad check."""
    if not isinstance(check, dict):
        raise CheckError(f'field {where!r}: must be an object with a "kind"')
    kind_name = check.get("kind")
    kind = KINDS.get(kind_name) if isinstance(kind_name, str) else None  # [] is unhashable
    if kind is None:
        raise CheckError(
            f"field '{where}.kind': unknown check kind {shorten(repr(kind_name), 40)}; "
            f"known: {', '.join(KINDS)}"
        )
    allowed = {"kind", *kind.required, *kind.optional}
    for name in sorted(set(check) - allowed):
        raise CheckError(f"field '{where}.{name}': not a field of {check['kind']!r} checks")
    for name, valid in {**kind.required, **kind.optional}.items():
        if name not in check:
            if name in kind.required:
                raise CheckError(f"field '{where}.{name}': missing")
            continue
        if not valid(check[name]):
            raise CheckError(f"field '{where}.{name}': must be {valid.words}")
    if check["kind"] == "all":
        for index, part in enumerate(check["checks"]):
            validate_check(part, f"{where}.checks[{index}]")


def evaluate_check(check: dict, state: LessonState) -> Result:
    return KINDS[check["kind"]].evaluate(check, state)


def needs(check: dict) -> set[str]:
    """What the state must hold beyond the project and runs: evaluation, weights, answer."""
    found = set(KINDS[check["kind"]].needs)
    for part in check.get("checks", ()) if check["kind"] == "all" else ():
        found |= needs(part)
    return found
