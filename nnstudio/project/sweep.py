"""Hyperparameter sweeps (Qt-free): which trials a grid or a random search makes, and one trial.

A trial is plain JSON: the project's own form (``Project.to_dict()``) with the swept settings
applied, plus the settings and the trial number. That is all that travels to a worker — a
worker loads the dataset itself by name and options, so no array of the user's data is ever
pickled and sent (sweep_runner.py runs trials locally or on a Dask cluster)::

    grid = parse_grid("lr=1e-3,1e-2;layers.0.units=16,32")
    trials = make_trials(project, grid_settings(grid))
    record = run_trial(trials[0])          # {"trial": 1, "settings": ..., "metrics": ...}

Setting names are the project file's: training keys (``learning_rate`` or ``lr``,
``batch_size``, ``epochs``, ``optimizer``, ``seed``, ...), ``optimizer_settings.NAME`` and
``schedule_settings.NAME``, ``dataset.OPTION`` (``dataset.noise``), ``layers.N.SETTING`` for
one layer, and a bare layer setting (``units``, ``activation``, ``l2``) for every hidden layer
that has it.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
import os
import re
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from nnstudio.data.catalog import FILE_PREFIXES
from nnstudio.project.project_data import Project, TrainingSettings
from nnstudio.project.project_parse import parse_project

TRAINING_KEYS = tuple(
    key
    for key in TrainingSettings.__dataclass_fields__
    if key not in ("optimizer_settings", "schedule_settings")
)
ALIASES = {"lr": "learning_rate", "val_split": "validation_split", "batch-size": "batch_size"}
METRICS = ("val_accuracy", "val_loss")
RANGE_KINDS = ("log", "int", "uniform")
# Far more than a machine trains in a day; every trial is built before the first starts, so
# --random 100000000000 must be refused before its list is.
MAX_TRIALS = 10_000
RANGE_LIMIT = 1e15  # no setting needs more; int(0,1e30) cannot be drawn as a 64-bit integer


class SweepError(ValueError):
    """A sweep that cannot run: a bad --grid or --random text, an unknown setting, a value
    the project refuses, or a dataset file missing on a worker. The message says which."""


# -- reading the specs ---------------------------------------------------------------------------


def _value(text: str) -> Any:
    """ "1e-3" → 0.001, "32" → 32, "true" → True, "none" → None, anything else a word."""
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    return text


def _items(text: str, option: str) -> list[tuple[str, str]]:
    """ "a=1,2; b=3" → [("a", "1,2"), ("b", "3")]; every item needs a name and a value."""
    items = []
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        name, equals, values = part.partition("=")
        if not equals or not name.strip() or not values.strip():
            raise SweepError(
                f'{option}: {part!r} is not NAME=VALUES; write e.g. "lr=1e-3,1e-2;batch_size=32"'
            )
        items.append((canonical_name(name.strip()), values.strip()))
    if not items:
        raise SweepError(f'{option}: name at least one setting, e.g. "lr=1e-3,1e-2"')
    names = [name for name, _ in items]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise SweepError(f"{option}: {', '.join(repeated)} given twice; list its values once")
    return items


def _value_list(name: str, text: str, option: str) -> list[Any]:
    values = [_value(v.strip()) for v in text.split(",")]
    if any(v == "" for v in values):
        raise SweepError(f"{option}: {name}={text} has an empty value; separate values by commas")
    return values


def parse_grid(text: str) -> dict[str, list[Any]]:
    """ "lr=1e-3,1e-2;batch_size=32,128" → {"learning_rate": [0.001, 0.01], "batch_size": [...]}.

    >>> parse_grid("lr=1e-3,1e-2; layers.1.units=32,64")
    {'learning_rate': [0.001, 0.01], 'layers.1.units': [32, 64]}
    """
    grid = {}
    for name, values in _items(text, "--grid"):
        if _RANGE.fullmatch(values):
            raise SweepError(f"--grid: {name}={values} is a range; ranges go with --random N")
        grid[name] = _value_list(name, values, "--grid")
    return grid


_RANGE = re.compile(r"(?P<kind>\w+)\((?P<low>[^,()]+),(?P<high>[^,()]+)\)")


def _range(name: str, text: str) -> tuple[str, float, float]:
    match = _RANGE.fullmatch(text.replace(" ", ""))
    kind = match["kind"].lower() if match else ""
    if kind not in RANGE_KINDS:
        raise SweepError(
            f"--ranges: {name}={text} is not a range; write log(1e-4,1e-1), int(16,128), "
            "uniform(0,0.5) or a list of values"
        )
    try:
        low, high = float(match["low"]), float(match["high"])
    except ValueError:
        raise SweepError(f"--ranges: {name}={text}: the bounds must be numbers") from None
    if not (math.isfinite(low) and math.isfinite(high)) or low >= high:
        raise SweepError(f"--ranges: {name}={text}: the first bound must be below the second")
    if max(abs(low), abs(high)) > RANGE_LIMIT:  # int64 draws, and a uniform width that fits
        raise SweepError(f"--ranges: {name}={text}: the bounds must lie within ±{RANGE_LIMIT:g}")
    if kind == "log" and low <= 0:
        raise SweepError(f"--ranges: {name}={text}: a log range needs bounds above 0")
    if kind == "int" and (low != int(low) or high != int(high)):
        raise SweepError(f"--ranges: {name}={text}: an int range needs whole-number bounds")
    return kind, low, high


def parse_ranges(text: str) -> dict[str, Any]:
    """ "lr=log(1e-4,1e-1);units=int(16,128);optimizer=adam,sgd" → name → range or list."""
    space: dict[str, Any] = {}
    for name, values in _items(text, "--ranges"):
        is_range = "(" in values
        space[name] = _range(name, values) if is_range else _value_list(name, values, "--ranges")
    return space


def _draw(spec, rng: np.random.Generator) -> Any:
    if isinstance(spec, list):
        return spec[int(rng.integers(len(spec)))]
    kind, low, high = spec
    if kind == "int":
        return int(rng.integers(int(low), int(high) + 1))
    if kind == "log":
        value = math.exp(rng.uniform(math.log(low), math.log(high)))
    else:
        value = rng.uniform(low, high)
    return float(f"{value:.4g}")  # what is printed is exactly what trains: reproducible by hand


def _check_trial_count(count: int, option: str) -> None:
    if count > MAX_TRIALS:
        raise SweepError(
            f"{option}: {count:,} trials; a sweep runs at most {MAX_TRIALS:,} (fewer values, "
            "or --random N over ranges)"
        )


def grid_settings(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination, the last setting varying fastest (as the grid reads); their count
    is checked before any is made."""
    _check_trial_count(math.prod(len(values) for values in grid.values()), "--grid")
    names = list(grid)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*grid.values())]


def random_settings(space: dict[str, Any], count: int, seed: int = 0) -> list[dict[str, Any]]:
    """``count`` draws from the ranges, seeded: the same command draws the same trials."""
    if count < 1:
        raise SweepError(f"--random: {count} trials; give at least 1")
    _check_trial_count(count, "--random")
    rng = np.random.default_rng(seed)
    return [{name: _draw(spec, rng) for name, spec in space.items()} for _ in range(count)]


# -- applying settings to a project --------------------------------------------------------------


def canonical_name(name: str) -> str:
    """ "lr" → "learning_rate", "training.seed" → "seed"; other names stay as written."""
    name = name.removeprefix("training.")
    return ALIASES.get(name, name)


def _hidden_layers_with(layers: list[dict], key: str) -> list[int]:
    """The layers a bare layer setting changes: every one that has it, but never the output
    layer's size (the dataset fixes it)."""
    found = [i for i, layer in enumerate(layers) if key in layer]
    if key in ("units", "filters") and layers and found and found[-1] == len(layers) - 1:
        found = found[:-1]
    return found


def _layer_index(name: str, part: str, count: int) -> int:
    try:
        index = int(part)
    except ValueError:
        raise SweepError(f"{name}: {part!r} is not a layer number (0 is the first)") from None
    if not -count <= index < count:
        raise SweepError(f"{name}: the model has {count} layers, numbered 0 to {count - 1}")
    return index % count


def apply_setting(data: dict, name: str, value: Any) -> None:
    """Set one swept setting in a project's JSON form (see the module docstring for names)."""
    training, layers = data["training"], data["model"]["layers"]
    head, _, rest = name.partition(".")
    if name in TRAINING_KEYS:
        section = {"optimizer": "optimizer_settings", "schedule": "schedule_settings"}.get(name)
        if section and str(value).lower() != str(training[name]).lower():
            training[section] = {}  # SGD's momentum means nothing to Adam (as train does)
        training[name] = value
    elif head in ("optimizer_settings", "schedule_settings") and rest:
        training[head][rest] = value
    elif head == "dataset" and rest:
        data["dataset"]["options"][rest] = value
    elif head == "layers" and rest.count(".") == 1:
        index, key = rest.split(".")
        layers[_layer_index(name, index, len(layers))][key] = value
    elif "." not in name and _hidden_layers_with(layers, name):
        for index in _hidden_layers_with(layers, name):
            layers[index][name] = value
    else:
        raise SweepError(
            f"unknown setting {name!r}; sweep {', '.join(TRAINING_KEYS)} (lr for "
            "learning_rate), optimizer_settings.NAME, schedule_settings.NAME, dataset.OPTION, "
            "layers.N.SETTING or a setting the model's layers have (units, activation, ...)"
        )


def _check_trial(data: dict, settings: dict) -> None:
    """Fail before any trial runs when a value cannot work (a batch size of 0, "units=abc"),
    naming the setting; what only the dataset can tell is found by the trial itself."""
    from nnstudio.engine.model import Sequential

    shown = ", ".join(f"{k}={v}" for k, v in settings.items())
    try:
        project = parse_project(data)
        project.fit_config()
        project.make_optimizer()
        if project.training.loss:
            project.make_loss()
        Sequential.from_config({"layers": project.model["layers"]})
    except (ValueError, TypeError, KeyError) as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise SweepError(f"the trial {shown} cannot run: {message}") from None


def make_trials(project: Project, settings_list: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One plain-JSON trial per settings dict: {"trial", "settings", "seed", "project"}.

    A dataset file is named by its full path (a worker has no project folder to resolve a
    relative one against); the project's trained weights stay behind.
    """
    base = project.to_dict()
    base["dataset"]["name"] = project.dataset_name()
    base["weights"] = None
    trials = []
    for number, settings in enumerate(settings_list, start=1):
        data = copy.deepcopy(base)
        for name, value in settings.items():
            apply_setting(data, name, value)
        _check_trial(data, settings)
        seed = data["training"]["seed"]
        trials.append({"trial": number, "settings": settings, "seed": seed, "project": data})
    return trials


# -- one trial, on whichever process runs it ----------------------------------------------------


def worker_name() -> str:
    """Where this trial runs: the Dask worker's address, else host and process id."""
    import sys

    if "distributed" in sys.modules:  # only a Dask worker process has it loaded for us
        try:
            return sys.modules["distributed"].get_worker().address
        except ValueError:  # distributed loaded, but this is no worker
            pass
    return f"{socket.gethostname()}/pid {os.getpid()}"


_split_lock = threading.Lock()
_split_users = 0
_split_before: str | None = None


@contextmanager
def one_core_per_trial():
    """No two-core batch split inside a trial: the sweep already keeps every core busy with
    its own trial, and a split would put two threads on one core. The engine reads the
    setting from the environment; concurrent trials on one Dask worker are counted."""
    global _split_users, _split_before
    with _split_lock:
        if _split_users == 0:
            _split_before = os.environ.get("NNSTUDIO_SPLIT_BATCHES")
            os.environ["NNSTUDIO_SPLIT_BATCHES"] = "0"
        _split_users += 1
    try:
        yield
    finally:
        with _split_lock:
            _split_users -= 1
            if _split_users == 0:
                if _split_before is None:
                    os.environ.pop("NNSTUDIO_SPLIT_BATCHES", None)
                else:
                    os.environ["NNSTUDIO_SPLIT_BATCHES"] = _split_before


def _check_dataset_file(project: Project, worker: str) -> None:
    name = project.dataset.name
    for prefix in FILE_PREFIXES:
        if name.startswith(prefix) and not Path(name[len(prefix) :]).exists():
            raise SweepError(
                f"{name[len(prefix) :]}: no such file on worker {worker}; a dataset file must "
                "be at the same path on every worker (copy it there or use a shared folder)"
            )


HISTORY_KEYS = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds")


def _metrics(project: Project, dataset, model, result) -> dict[str, Any]:
    from nnstudio.engine.io import json_plain
    from nnstudio.engine.metrics import evaluate

    last = result.history[-1] if result.history else {}
    metrics = {k: last.get(k) for k in ("loss", "accuracy", "val_loss", "val_accuracy")}
    if len(dataset.x_test):
        report = evaluate(model, project.make_loss(), dataset.x_test, dataset.y_test)
        metrics["test_loss"] = report.get("loss")
        metrics["test_accuracy"] = report.get("accuracy")
    metrics["epochs_completed"] = result.epochs_completed
    metrics["stopped_reason"] = result.stopped_reason
    history = [{key: epoch.get(key) for key in HISTORY_KEYS} for epoch in result.history]
    return json_plain(metrics), json_plain(history)


def _train(project: Project, worker: str) -> tuple[dict[str, Any], list[dict]]:
    from nnstudio.engine.blas import single_threaded_blas
    from nnstudio.project.project_data import finish_project

    _check_dataset_file(project, worker)
    with single_threaded_blas(), one_core_per_trial():
        dataset = project.load_dataset()
        finish_project(project, dataset)  # the loss and model `nnstudio train` would pick
        model = project.build_model(dataset)
        return _metrics(project, dataset, model, project.fit(model, dataset))


def run_trial(trial_json: str) -> str:
    """Train one trial (JSON text in, JSON text out: only settings and numbers travel).

    The answer holds the trial's number, settings, seed, metrics, seconds and worker, or an
    ``error`` for a trial the user's input makes impossible (that error is the same on every
    worker, so it is returned rather than raised: Dask retries what raises). A trial with
    ``"history": true`` also returns its epochs (the window draws their curves).
    """
    trial = json.loads(trial_json)
    worker = worker_name()
    started = time.perf_counter()
    record = {key: trial[key] for key in ("trial", "settings", "seed")}
    try:
        metrics, history = _train(parse_project(trial["project"]), worker)
    except (ValueError, OSError) as error:
        record["error"] = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
    else:
        record["metrics"] = metrics
        if trial.get("history"):
            record["history"] = history
    record["seconds"] = time.perf_counter() - started
    record["worker"] = worker
    return json.dumps(record, allow_nan=False)


# -- the best trial ------------------------------------------------------------------------------


def default_metric(records: list[dict]) -> str:
    """val_accuracy when the trials report one (classification), else val_loss."""
    has_accuracy = any((r.get("metrics") or {}).get("val_accuracy") is not None for r in records)
    return "val_accuracy" if has_accuracy else "val_loss"


def best_trial(records: list[dict], metric: str) -> dict | None:
    """The finished trial with the highest accuracy or the lowest loss (None when none has it);
    a tie goes to the earlier trial."""
    scored = [r for r in records if (r.get("metrics") or {}).get(metric) is not None]
    if not scored:
        return None
    sign = -1.0 if metric.endswith("accuracy") else 1.0
    return min(scored, key=lambda r: (sign * r["metrics"][metric], r["trial"]))
