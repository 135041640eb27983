"""Name → class tables that the layer palette, the inspector, project files and the CLI read.

>>> LAYERS["Dense"].__name__
'Dense'
>>> layer_from_config({"type": "Dense", "units": 10})
Dense(10)
>>> list(layer_categories())[:2]
['Core', 'Convolution']

Losses, optimizers and schedules describe themselves the same way layers do (``label``,
``help``, ``SETTINGS``; losses also their ``task``), so menus are made from these tables:

>>> [(name, cls.label) for name, cls in OPTIMIZERS.items()][:2]
[('sgd', 'SGD'), ('rmsprop', 'RMSprop')]
>>> [name for name in losses_for_task("regression")]
['mse', 'mae', 'huber']

Every config names its class with "type"; the "name" key of older files is read too:

>>> schedule_from_config({"name": "step", "gamma": 0.5})
StepSchedule(step_size=10, gamma=0.5)
"""

from __future__ import annotations

from nnstudio.engine import layers
from nnstudio.engine.layers.base import CATEGORIES, Layer, required_settings

from .activations import ACTIVATIONS, ActivationFunction, get_activation
from .losses import LOSSES, Loss, get_loss
from .optimizers import OPTIMIZERS, Optimizer, get_optimizer
from .schedules import SCHEDULES, Schedule, get_schedule
from .settings import split_config

LAYERS: dict[str, type[Layer]] = {
    cls.__name__: cls
    for cls in (
        layers.Dense,
        layers.Flatten,
        layers.Reshape,
        layers.Conv2D,
        layers.MaxPool2D,
        layers.AvgPool2D,
        layers.BatchNorm,
        layers.Dropout,
        layers.Activation,
        layers.ReLU,
        layers.LeakyReLU,
        layers.ELU,
        layers.GELU,
        layers.Sigmoid,
        layers.Tanh,
        layers.Softmax,
    )
}

__all__ = [
    "LAYERS",
    "ACTIVATIONS",
    "LOSSES",
    "OPTIMIZERS",
    "SCHEDULES",
    "activation_from_config",
    "get_layer_class",
    "layer_categories",
    "layer_from_config",
    "loss_from_config",
    "losses_for_task",
    "optimizer_from_config",
    "optimizer_names",
    "schedule_from_config",
    "schedule_names",
]


# Layers that models may contain but people do not pick: not in the palette or LAYERS.
AUTOMATIC_LAYERS: dict[str, type[Layer]] = {"Rescale": layers.Rescale}


def get_layer_class(name: str) -> type[Layer]:
    """The layer class registered as ``name`` ("Dense", "Conv2D", ...)."""
    if name in AUTOMATIC_LAYERS:
        return AUTOMATIC_LAYERS[name]
    if name not in LAYERS:
        raise ValueError(f"Unknown layer type {name!r}. Known: {', '.join(LAYERS)}")
    return LAYERS[name]


def layer_from_config(config: dict) -> Layer:
    """Make a layer from ``get_config()`` output: {"type": "Dense", "units": 10, ...}.

    Unknown types and settings raise ValueError naming them and the known ones.
    """
    if not isinstance(config, dict) or not isinstance(config.get("type"), str):
        raise ValueError(f"A layer config needs a 'type' such as 'Dense'; got {config!r}.")
    cls = get_layer_class(config["type"])
    settings = {key: value for key, value in config.items() if key != "type"}
    unknown = sorted(set(settings) - {setting.name for setting in cls.SETTINGS})
    if unknown:
        known = ", ".join(setting.name for setting in cls.SETTINGS) or "none"
        raise ValueError(f"{cls.__name__} has no setting {unknown[0]!r}. Settings: {known}.")
    missing = sorted(required_settings(cls) - set(settings))
    if missing:
        raise ValueError(f"{cls.__name__} needs a value for {missing[0]!r}.")
    return cls(**settings)


def layer_categories() -> dict[str, list[str]]:
    """Category → layer names, in palette order (categories as in CATEGORIES)."""
    grouped: dict[str, list[str]] = {category: [] for category in CATEGORIES}
    for name, cls in LAYERS.items():
        grouped[cls.category].append(name)
    return {category: names for category, names in grouped.items() if names}


def optimizer_names() -> list[str]:
    """Names of the optimizers ("sgd", "adam", ...), for menus."""
    return list(OPTIMIZERS)


def schedule_names() -> list[str]:
    """Names of the learning-rate schedules ("constant", "cosine", ...), for menus."""
    return list(SCHEDULES)


def losses_for_task(task: str) -> dict[str, type[Loss]]:
    """The losses meant for "classification" or "regression", in menu order."""
    return {name: cls for name, cls in LOSSES.items() if cls.task == task}


def optimizer_from_config(config) -> Optimizer:
    """An optimizer from ``get_config()`` output: {"type": "SGD", "lr": 0.1, ...}."""
    kind, settings = split_config(config)
    return get_optimizer(kind, **settings)


def schedule_from_config(config) -> Schedule:
    """A schedule from ``get_config()`` output: {"type": "cosine", "min_lr": 0.0, ...}."""
    kind, settings = split_config(config)
    return get_schedule(kind, **settings)


def loss_from_config(config) -> Loss:
    """A loss from ``get_config()`` output: {"type": "huber", "delta": 1.0}."""
    kind, settings = split_config(config)
    return get_loss(kind, **settings)


def activation_from_config(config) -> ActivationFunction:
    """An activation function from ``get_config()`` output: {"type": "elu", "alpha": 1.0}."""
    kind, settings = split_config(config)
    return get_activation(kind, **settings)
