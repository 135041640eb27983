"""The project file (.nnsproj): dataset + model + training settings as versioned JSON.

A project is what the window saves and what ``nnstudio train PROJECT.nnsproj`` runs. The
helpers on `Project` turn it into the engine's objects, so the window and the command line
build the same dataset, model, loss, optimizer and fit configuration from the same file::

    project = load_project("spiral.nnsproj")
    dataset = project.load_dataset()
    model = project.build_model(dataset)
    result = fit(model, project.make_loss(), project.make_optimizer(),
                 dataset.x_train, dataset.y_train, project.fit_config())

Presets (resources/presets/*.nnsproj) are ordinary projects: see presets.py.
"""

from __future__ import annotations

import copy
import inspect
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nnstudio.atomic_file import write_atomically

FORMAT = "nnstudio-project"
VERSION = 1
SUFFIX = ".nnsproj"

_TOP_KEYS = {
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


class ProjectError(ValueError):
    """A project file that cannot be used; the message names the file, the field and the fix."""


@dataclass
class DatasetSpec:
    """Which dataset, by catalog name ("spiral", "mnist", "csv:data.csv"), and its options."""

    name: str = "spiral"
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrainingSettings:
    """How to train: the "training" object of the file, one attribute per key."""

    loss: str = "softmax_crossentropy"
    optimizer: str = "adam"
    optimizer_settings: dict[str, Any] = field(default_factory=dict)
    learning_rate: float = 0.01
    batch_size: int = 32
    epochs: int = 50
    schedule: str = "constant"
    schedule_settings: dict[str, Any] = field(default_factory=dict)
    validation_split: float = 0.0
    early_stopping: int | None = None
    seed: int = 0
    augment: bool = False


@dataclass
class Project:
    """A whole project. ``path`` is where it was loaded from (relative files resolve there)."""

    name: str = "untitled"
    dataset: DatasetSpec = field(default_factory=DatasetSpec)
    model: dict[str, Any] = field(default_factory=lambda: {"layers": []})
    training: TrainingSettings = field(default_factory=TrainingSettings)
    weights: str | None = None
    description: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    # -- file form ---------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The JSON form written to disk (see the module docstring for the layout)."""
        data: dict[str, Any] = {
            "format": FORMAT,
            "version": VERSION,
            "name": self.name,
            "dataset": {"name": self.dataset.name, "options": copy.deepcopy(self.dataset.options)},
            "model": copy.deepcopy(self.model),
            "training": copy.deepcopy(vars(self.training)),
            "weights": self.weights,
        }
        if self.description:
            data["description"] = self.description
        if self.metadata:
            data["metadata"] = copy.deepcopy(self.metadata)
        return data

    @classmethod
    def from_dict(cls, data: Any, source: str | os.PathLike | None = None) -> Project:
        """Validate the JSON form and build a Project; ProjectError says what is wrong."""
        return _parse_project(data, _Where(source))

    def copy(self) -> Project:
        return copy.deepcopy(self)

    # -- turning the project into engine objects ----------------------------------------------

    def resolve(self, relative: str) -> Path:
        """A path written in the project, relative to the project's folder."""
        path = Path(relative).expanduser()
        if not path.is_absolute() and self.path is not None:
            path = self.path.parent / path
        return path

    def weights_path(self) -> Path | None:
        """The trained weights (.nnz) the project points to, resolved, or None."""
        return None if self.weights is None else self.resolve(self.weights)

    def dataset_name(self) -> str:
        """The catalog name with a file path made relative to the project's folder."""
        name = self.dataset.name
        for prefix in ("csv:", "npz:", "idx:"):
            if name.startswith(prefix):
                return prefix + str(self.resolve(name[len(prefix) :]))
        return name

    def load_dataset(self, progress=None, download: bool = False):
        """Load the dataset through nnstudio.data.catalog with the project's options."""
        from nnstudio.data.catalog import load_dataset

        options = dict(self.dataset.options)
        known = set(inspect.signature(load_dataset).parameters) - {"name", "progress", "download"}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ProjectError(
                f"{self.name}: dataset.options has unknown key(s) {', '.join(map(repr, unknown))}; "
                f"known keys: {', '.join(sorted(known))}"
            )
        options.setdefault("seed", self.training.seed)
        return load_dataset(self.dataset_name(), progress=progress, download=download, **options)

    def build_model(self, dataset=None):
        """The Sequential of the project, built for the dataset's input shape and checked
        against its outputs (classes or regression targets)."""
        from nnstudio.engine.model import Sequential

        if not self.model.get("layers"):
            raise ProjectError(f"{self.name}: the model has no layers; add at least one Dense")
        config = copy.deepcopy(self.model)
        input_shape = config.get("input_shape")
        if dataset is not None:
            if input_shape is not None and tuple(input_shape) != tuple(dataset.input_shape):
                raise ProjectError(
                    f"{self.name}: the model takes input {tuple(input_shape)} but dataset "
                    f"{dataset.name!r} gives {tuple(dataset.input_shape)}; remove model."
                    "input_shape or pick a matching dataset"
                )
            config["input_shape"] = list(dataset.input_shape)
        model = Sequential.from_config(config, seed=self.training.seed)
        if dataset is not None:
            check_outputs(model, dataset, self.training.loss)
            if dataset.task == "regression" and len(dataset.y_train):
                add_target_scale(model, dataset.y_train)
        return model

    def make_loss(self):
        from nnstudio.engine.losses import get_loss

        return get_loss(self.training.loss)

    def make_optimizer(self):
        from nnstudio.engine.optimizers import get_optimizer

        settings = dict(self.training.optimizer_settings)
        settings["lr"] = self.training.learning_rate
        return get_optimizer(self.training.optimizer, **settings)

    def fit_config(self):
        from nnstudio.engine.fit import FitConfig

        t = self.training
        return FitConfig(
            epochs=t.epochs,
            batch_size=t.batch_size,
            seed=t.seed,
            validation_split=t.validation_split,
            early_stopping_patience=t.early_stopping,
            schedule=t.schedule,
            schedule_settings=dict(t.schedule_settings),
        )

    def make_augment(self, dataset=None):
        """The image augmentation function for fit(), or None when off or not images."""
        if not self.training.augment or (dataset is not None and not dataset.is_image):
            return None
        from nnstudio.data.augmentation import augment_images

        return augment_images


# Layers whose weights L1/L2 apply to (the Hyperparameters dock sets them on all of them).
def _has_regularized_weights(layer: dict) -> bool:
    """Whether the engine's layer class of this config takes L1/L2 (unknown types do not)."""
    from nnstudio.engine.registry import LAYERS

    layer_class = LAYERS.get(layer.get("type"))
    return layer_class is not None and layer_class.has_regularized_weights


def apply_regularization(config: dict, l1: float, l2: float) -> dict:
    """A copy of a model config with L1/L2 set on every weight layer (the dock's values)."""
    config = copy.deepcopy(config)
    for layer in config.get("layers", []):
        if _has_regularized_weights(layer):
            layer["l1"], layer["l2"] = float(l1), float(l2)
    return config


def common_regularization(config: dict) -> tuple[float, float]:
    """The L1/L2 of the first weight layer (what the dock shows)."""
    for layer in config.get("layers", []):
        if _has_regularized_weights(layer):
            return float(layer.get("l1", 0.0) or 0.0), float(layer.get("l2", 0.0) or 0.0)
    return 0.0, 0.0


def default_layers(dataset) -> list[dict[str, Any]]:
    """A sensible first network for a dataset: Flatten for images, ReLU hidden layers and
    one output per class (or regression target)."""
    layers: list[dict[str, Any]] = []
    if len(dataset.input_shape) > 1:
        layers.append({"type": "Flatten"})
    if dataset.is_image:
        layers.append({"type": "Dense", "units": 128, "activation": "relu"})
    else:
        layers += [{"type": "Dense", "units": 32, "activation": "relu"} for _ in range(2)]
    layers.append({"type": "Dense", "units": int(dataset.n_outputs)})
    return layers


def add_target_scale(model, y_train) -> None:
    """End a regression model with a fixed Rescale to its targets' spread and mean, so the
    layers learn outputs of size ~1 whatever the targets' units (see engine Rescale)."""
    from nnstudio.engine.layers import Rescale

    input_shape = model.input_shape
    model.add(Rescale.for_targets(y_train))
    model.build(input_shape)  # the same seed: the same initial weights as before


def check_outputs(model, dataset, loss_name: str) -> None:
    """Raise ProjectError when the last layer's size does not fit the dataset and the loss."""
    shape = tuple(model.output_shape)
    outputs = int(math.prod(shape))
    if dataset.task == "classification":
        classes = dataset.n_classes
        # A binary cross-entropy on two classes uses one logit; everything else one per class.
        binary = loss_name == "binary_crossentropy" and classes == 2
        wanted = 1 if binary else classes
        if outputs != wanted or len(shape) != 1:
            raise ProjectError(
                f"the last layer gives {shape} outputs but dataset {dataset.name!r} has "
                f"{classes} classes; end the model with Dense({wanted})"
            )
    else:
        wanted = dataset.n_outputs
        if outputs != wanted or len(shape) != 1:
            raise ProjectError(
                f"the last layer gives {shape} outputs but dataset {dataset.name!r} has "
                f"{wanted} target value(s); end the model with Dense({wanted})"
            )


# -- validation ---------------------------------------------------------------------------------


class _Where:
    """Prefix for messages: the file name when there is one."""

    def __init__(self, source):
        self.source = str(source) if source is not None else "project"

    def error(self, key: str, problem: str, fix: str = "") -> ProjectError:
        message = f"{self.source}: {key} {problem}"
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
    return DatasetSpec(name, copy.deepcopy(options))


def _parse_model(where: _Where, data: Any) -> dict[str, Any]:
    if data is None:
        return {"layers": []}
    _require_type(where, "model", data, (dict,), "an object")
    layers = data.get("layers", [])
    _require_type(where, "model.layers", layers, (list,), "a list")
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
    _unknown_keys(where, "", data, _TOP_KEYS)
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
        metadata=copy.deepcopy(metadata),
    )


# -- files --------------------------------------------------------------------------------------


def load_project(path: str | os.PathLike) -> Project:
    """Read and validate a project file. Every problem is a ProjectError naming file and key."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProjectError(f"{path}: no such project file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ProjectError(f"{path}: cannot read the project file ({error})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ProjectError(
            f"{path}: not valid JSON at line {error.lineno}, column {error.colno} "
            f"({error.msg}); fix the file or save the project again"
        ) from None
    project = Project.from_dict(data, source=path)
    project.path = path.resolve()
    return project


def save_project(project: Project, path: str | os.PathLike) -> Path:
    """Write the project as JSON, atomically: the old file stays whole if writing fails."""
    path = Path(path)
    text = json.dumps(project.to_dict(), indent=2, allow_nan=False) + "\n"
    write_atomically(path, text)
    project.path = path.resolve()
    return path
