"""Validation of a project file's JSON (``parse_project``): every wrong type, range or
unknown key is a ProjectError naming the file and the field, e.g. "spiral.nnsproj:
training.batch_size must be at least 1, got 0"."""

from __future__ import annotations

import copy
from typing import Any

from nnstudio.project.project_data import (
    FORMAT,
    MAX_LAYERS,
    VERSION,
    DatasetSpec,
    Project,
    ProjectError,
    TrainingSettings,
)
from nnstudio.project.runs import latest_runs
from nnstudio.project.settings import check_dataset_options, check_training_values
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


def parse_training(data: Any, source=None) -> TrainingSettings:
    """A "training" object checked as a project file's is (a preset's settings alone)."""
    return _parse_training(_Where(source), data)


def parse_dataset(data: Any, source=None) -> DatasetSpec:
    """A "dataset" object (or bare name) checked as a project file's is."""
    return _parse_dataset(_Where(source), data)


class _Where:
    """Prefix for messages: the file name when there is one."""

    def __init__(self, source):
        self.source = str(source) if source is not None else "project"

    def error(self, key: str, problem: str, fix: str = "") -> ProjectError:
        message = f"{self.source}: {f'{key} ' if key else ''}{shorten(problem, 200)}"
        return ProjectError(message + (f"; {fix}" if fix else ""))


def _require_type(where: _Where, key: str, value, kinds, kind_name: str):
    if isinstance(value, bool) and bool not in kinds:
        raise where.error(key, f"must be {kind_name}, got {value!r}")
    if not isinstance(value, kinds):
        raise where.error(key, f"must be {kind_name}, got {value!r}")
    return value


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
    try:  # every value against its setting (project/settings.py): type, range, known name
        values = check_training_values(values)
    except ValueError as error:
        raise where.error("", str(error)) from None
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
    try:  # unknown keys are reported by check_project, which knows load_dataset's keywords
        options = check_dataset_options(options)
    except ValueError as error:
        raise where.error("", str(error)) from None
    # null means "the default", as an option left out does (the loaders take no None)
    options = {key: value for key, value in options.items() if value is not None}
    return DatasetSpec(name, copy.deepcopy(options))


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
