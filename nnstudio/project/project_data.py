"""What a project holds (dataset, model, training settings) and the engine objects it builds.

A project is what the window saves and what ``nnstudio train PROJECT.nnsproj`` runs. The
helpers on `Project` turn it into the engine's objects, so the window and the command line
build the same dataset, model, loss, optimizer and fit configuration from the same project::

    project = load_project("spiral.nnsproj")  # project_file.py reads it, project_parse.py checks it
    dataset = project.load_dataset()
    model = project.build_model(dataset)
    result = project.fit(model, dataset)  # fit() with the project's loss, optimizer, config

This module imports neither the file's reader nor its parser: both build the classes here.
"""

from __future__ import annotations

import copy
import functools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nnstudio.project import settings
from nnstudio.safe_read import max_file_bytes

FORMAT = "nnstudio-project"
VERSION = 1
MAX_LAYERS = 1000  # as in model files (engine.io): far beyond any real network

# Project.fit's default validation: the dataset's own split unless the project holds out some.
PROJECT_RULE = object()


class ProjectError(ValueError):
    """A project file that cannot be used; the message names the file, the field and the fix."""


@dataclass
class DatasetSpec:
    """Which dataset, by catalog name ("spiral", "mnist", "csv:data.csv"), and its options."""

    name: str = "spiral"
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrainingSettings:
    """How to train: the "training" object of the file, one attribute per key; the defaults,
    ranges and help of each are its Setting in settings.py."""

    loss: str = settings.LOSS.default
    optimizer: str = settings.OPTIMIZER.default
    optimizer_settings: dict[str, Any] = field(default_factory=dict)
    learning_rate: float = settings.LEARNING_RATE.default
    batch_size: int = settings.BATCH_SIZE.default
    epochs: int = settings.EPOCHS.default
    schedule: str = settings.SCHEDULE.default
    schedule_settings: dict[str, Any] = field(default_factory=dict)
    validation_split: float = settings.VALIDATION_SPLIT.default
    early_stopping: int | None = settings.EARLY_STOPPING.default
    seed: int = settings.SEED.default
    augment: bool = settings.AUGMENT.default


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
        from nnstudio.data.catalog import FILE_PREFIXES

        name = self.dataset.name
        for prefix in FILE_PREFIXES:
            if name.startswith(prefix):
                return prefix + str(self.resolve(name[len(prefix) :]))
        return name

    def load_dataset(self, progress=None, download: bool = False):
        """Load the dataset through nnstudio.data.catalog with the project's options."""
        from nnstudio.data.catalog import load_dataset

        options = dict(self.dataset.options)
        try:
            settings.check_known_options(options)
        except ValueError as error:
            raise ProjectError(f"{self.name}: {error}") from None
        options.setdefault("seed", self.training.seed)
        return load_dataset(self.dataset_name(), progress=progress, download=download, **options)

    def build_model(self, dataset=None):
        """The Sequential of the project, built for the dataset's input shape and checked
        against its outputs (classes or regression targets)."""
        from nnstudio.engine.io import check_model_size
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
        try:  # refuse Dense(100000) x 3 before allocating gigabytes; training holds about
            # four copies of the weights (weights, gradients, two optimizer moments)
            check_model_size(config, limit=max_file_bytes() // 4)
        except (ValueError, TypeError, KeyError) as error:
            # Sized beyond the limit, or a layer that cannot take its input: say which.
            problem = "is too large" if "limit" in str(error) else "cannot be built"
            raise ProjectError(f"{self.name}: the model {problem}: {error}") from None
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
        from nnstudio.data.augmentation import augment_images, augment_photos

        if dataset is not None and dataset.input_shape[0] == 3:
            # Colour pictures: no stroke thickness; mirrored only where a mirror image is
            # still of its class (CIFAR-10's animals and vehicles; not arbitrary own pictures).
            return functools.partial(augment_photos, flip=dataset.name == "cifar10")
        return augment_images

    def fit(
        self,
        model,
        dataset,
        config=None,
        callbacks=(),
        optimizer=None,
        initial_epoch=0,
        history=None,
        validation_data=PROJECT_RULE,
    ):
        """Train ``model`` on ``dataset`` with this project's loss, optimizer (unless one
        carrying a run's state is given), augmentation and (unless ``config`` is given) fit
        configuration; validation is the dataset's own split unless the project holds out a
        part of the training data instead (or ``validation_data`` when given, as the window
        validates). ``initial_epoch`` and ``history`` continue a run."""
        from nnstudio.engine.fit import fit

        config = config if config is not None else self.fit_config()
        if validation_data is PROJECT_RULE:
            validation_data = None if config.validation_split else dataset.validation_data
        return fit(
            model,
            self.make_loss(),
            optimizer if optimizer is not None else self.make_optimizer(),
            dataset.x_train,
            dataset.y_train,
            config,
            validation_data=validation_data,
            callbacks=callbacks,
            augment=self.make_augment(dataset),
            initial_epoch=initial_epoch,
            history=history,
        )


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


def finish_project(project: Project, dataset) -> None:
    """Fill in what only the dataset decides: the loss and, with no layers given, a model
    (``nnstudio train``, ``lr-find`` and every sweep trial alike)."""
    if not project.training.loss:
        regression = dataset.task == "regression"
        project.training.loss = "mse" if regression else "softmax_crossentropy"
    if not project.model.get("layers"):
        project.model = {"layers": default_layers(dataset)}


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
