"""Validation of a project file's JSON (``Project.from_dict``): every wrong type, range or
unknown key is a ProjectError naming the file and the field, e.g. "spiral.nnsproj:
training.batch_size must be at least 1, got 0"."""

from __future__ import annotations

import copy
import math
from typing import Any

from nnstudio.project.project_file import (
    FORMAT,
    MAX_LAYERS,
    VERSION,
    DatasetSpec,
    Project,
    ProjectError,
    TrainingSettings,
)
from nnstudio.project.runs import latest_runs
from nnstudio.safe_read import shorten

# The keys of a project file's top level (Project.to_dict writes them); any other is refused.
TOP_KEYS = {
    "format",
    "version",
    "name",
    "description",
    "dataset",
    "model",
    "training",
    "weights",
    "metadata",
}


def parse_project(data: Any, source=None) -> Project:
    """The Project the JSON form ``data`` describes; ``source`` names it in messages."""
    return _parse_project(data, _Where(source))


class _Where:
    """Prefix for messages: the file name when there is one."""

    def __init__(self, source):
        self.source = str(source) if source is not None else "project"

    def error(self, key: str, problem: str, fix: str = "") -> ProjectError:
        message = f"{self.source}: {key} {shorten(problem, 200)}"
        return ProjectError(message + (f"; {fix}" if fix else ""))


def _require_type(where: _Where, key: str, value, kinds, kind_name: str):
    if isinstance(value, bool) and bool not in kinds:
        raise where.error(key, f"must be {kind_name}, got {value!r}")
    if not isinstance(value, kinds):
        raise where.error(key, f"must be {kind_name}, got {value!r}")
    return value


def _positive_int(where: _Where, key: str, value) -> int:
    _require_type(where, key, value, (int,), "a whole number")
    if value < 1:
        raise where.error(key, f"must be at least 1, got {value}")
    return value


def _number(where: _Where, key: str, value, low: float, high: float, fix: str = "") -> float:
    _require_type(where, key, value, (int, float), "a number")
    if not math.isfinite(value) or not low <= value <= high:
        raise where.error(key, f"must be between {low:g} and {high:g}, got {value!r}", fix)
    return float(value)


def _unknown_keys(where: _Where, section: str, data: dict, known) -> None:
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise where.error(
            f"{section}" if section else "the file",
            f"has unknown key(s) {', '.join(map(repr, unknown))}",
            f"known keys: {', '.join(sorted(known))}",
        )


def _split_training_config(where: _Where, values: dict, key: str) -> None:
    """An optimizer or schedule written as a whole config ({"type": "cosine", "min_lr": 0}, or
    with "name" as older configs said) becomes its name plus ``<key>_settings``."""
    from nnstudio.engine.settings import split_config

    try:
        name, settings = split_config(values[key])
    except ValueError:
        raise where.error(f"training.{key}", 'has no "type"', 'e.g. "adam" or "cosine"') from None
    values[key] = name
    values[f"{key}_settings"] = {**values[f"{key}_settings"], **settings}


def _parse_training(where: _Where, data: Any) -> TrainingSettings:
    if data is None:
        return TrainingSettings()
    _require_type(where, "training", data, (dict,), "an object")
    defaults = TrainingSettings()
    _unknown_keys(where, "training", data, vars(defaults))
    values = {**vars(defaults), **data}
    for key in ("optimizer_settings", "schedule_settings"):
        _require_type(where, f"training.{key}", values[key], (dict,), "an object")
    for key in ("optimizer", "schedule"):
        if isinstance(values[key], dict):
            _split_training_config(where, values, key)
    for key in ("loss", "optimizer", "schedule"):
        _require_type(where, f"training.{key}", values[key], (str,), "a name")
    _number(
        where,
        "training.learning_rate",
        values["learning_rate"],
        0.0,
        1e9,
        "a good value is 1e-3 for Adam, 0.01-0.1 for SGD",
    )
    if values["learning_rate"] <= 0:
        raise where.error("training.learning_rate", "must be above 0", "try 1e-3")
    _positive_int(where, "training.batch_size", values["batch_size"])
    _positive_int(where, "training.epochs", values["epochs"])
    split = _number(where, "training.validation_split", values["validation_split"], 0.0, 0.9)
    if values["early_stopping"] is not None:
        _positive_int(where, "training.early_stopping", values["early_stopping"])
    _require_type(where, "training.seed", values["seed"], (int,), "a whole number")
    if values["seed"] < 0:
        raise where.error("training.seed", f"must be 0 or more, got {values['seed']}")
    _require_type(where, "training.augment", values["augment"], (bool,), "true or false")
    values["learning_rate"] = float(values["learning_rate"])
    values["validation_split"] = split
    return TrainingSettings(**copy.deepcopy(values))


def _parse_dataset(where: _Where, data: Any) -> DatasetSpec:
    if data is None:
        raise where.error("dataset", "is missing", 'add "dataset": {"name": "spiral"}')
    if isinstance(data, str):  # a bare name is accepted as shorthand
        data = {"name": data}
    _require_type(where, "dataset", data, (dict,), "an object")
    _unknown_keys(where, "dataset", data, {"name", "options"})
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise where.error(
            "dataset.name",
            f"must be a dataset name, got {name!r}",
            "e.g. spiral, mnist or csv:data.csv",
        )
    options = data.get("options") or {}
    _require_type(where, "dataset.options", options, (dict,), "an object")
    for key, value in options.items():
        kinds = _OPTION_TYPES.get(key)
        if kinds is not None and value is not None:
            _require_type(where, f"dataset.options.{key}", value, kinds[0], kinds[1])
        if key in _OPTION_RANGES and value is not None:
            low, high = _OPTION_RANGES[key]
            _number(where, f"dataset.options.{key}", value, low, high)
    # null means "the default", as an option left out does (the loaders take no None)
    options = {key: value for key, value in options.items() if value is not None}
    return DatasetSpec(name, copy.deepcopy(options))


# A toy set is made in memory: samples=10**10 would take the machine down before any check.
_OPTION_RANGES = {
    "samples": (1, 1_000_000),
    "classes": (1, 100),
    "noise": (0, 1e6),
    "val_fraction": (0, 0.9),
    "test_fraction": (0, 0.9),
}


# The JSON types of the dataset options (catalog.load_dataset's keywords); unknown keys are
# reported by Project.load_dataset, which knows the loader's signature.
_OPTION_TYPES = {
    "samples": ((int,), "a whole number"),
    "noise": ((int, float), "a number"),
    "seed": ((int,), "a whole number"),
    "classes": ((int,), "a whole number"),
    "val_fraction": ((int, float), "a number"),
    "test_fraction": ((int, float), "a number"),
    "scaling": ((str,), "a name"),
    "target": ((str, int), "a column name or number"),
    "columns": ((list, str, int), "a list of columns"),
    "impute": ((str,), "a name"),
    "task": ((str,), "a name"),
}


def _parse_model(where: _Where, data: Any) -> dict[str, Any]:
    if data is None:
        return {"layers": []}
    _require_type(where, "model", data, (dict,), "an object")
    layers = data.get("layers", [])
    _require_type(where, "model.layers", layers, (list,), "a list")
    if len(layers) > MAX_LAYERS:
        raise where.error(
            "model.layers", f"has {len(layers):,} layers, more than the {MAX_LAYERS:,} allowed"
        )
    for index, layer in enumerate(layers):
        key = f"model.layers[{index}]"
        _require_type(where, key, layer, (dict,), "an object")
        if not isinstance(layer.get("type"), str):
            raise where.error(key, 'has no "type"', 'e.g. {"type": "Dense", "units": 10}')
    shape = data.get("input_shape")
    if shape is not None and (
        not isinstance(shape, list)
        or not shape
        or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in shape)
    ):
        raise where.error(
            "model.input_shape",
            f"must be a list of sizes, got {shape!r}",
            "e.g. [1, 28, 28] or [2]",
        )
    return copy.deepcopy(data)


def _parse_project(data: Any, where: _Where) -> Project:
    _require_type(where, "the file", data, (dict,), "a JSON object")
    if data.get("format") != FORMAT:
        raise where.error(
            "the file",
            f'is not an nnstudio project (no "format": "{FORMAT}")',
            "open a .nnsproj file saved by nnstudio",
        )
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise where.error("version", f"must be a whole number, got {version!r}")
    if version > VERSION:
        raise ProjectError(
            f"{where.source} was written by a newer nnstudio (project format {version}; "
            f"this one reads up to {VERSION}). Update nnstudio."
        )
    _unknown_keys(where, "", data, TOP_KEYS)
    name = data.get("name", "untitled")
    _require_type(where, "name", name, (str,), "text")
    description = data.get("description", "")
    _require_type(where, "description", description, (str,), "text")
    metadata = data.get("metadata") or {}
    _require_type(where, "metadata", metadata, (dict,), "an object")
    weights = data.get("weights")
    if weights is not None:
        _require_type(where, "weights", weights, (str,), "a file path or null")
    return Project(
        name=name,
        dataset=_parse_dataset(where, data.get("dataset")),
        model=_parse_model(where, data.get("model")),
        training=_parse_training(where, data.get("training")),
        weights=weights,
        description=description,
        metadata=copy.deepcopy(latest_runs(metadata)),
    )
