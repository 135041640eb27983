"""Name → class tables that the layer palette, the inspector, project files and the CLI read.

>>> LAYERS["Dense"].__name__
'Dense'
>>> layer_from_config({"type": "Dense", "units": 10})
Dense(10)
>>> list(layer_categories())[:2]
['Core', 'Convolution']

``OPTIMIZERS`` and ``SCHEDULES`` come from optimizers.py and schedules.py, imported on first
use (``registry.OPTIMIZERS`` or ``optimizer_names()``), so this module works without them.
"""

from __future__ import annotations

import importlib

from . import layers
from .activations import ACTIVATIONS
from .layers_base import CATEGORIES, Layer
from .losses import LOSSES

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
    "layer_from_config",
    "layer_categories",
    "get_layer_class",
    "optimizer_names",
    "schedule_names",
]


def get_layer_class(name: str) -> type[Layer]:
    """The layer class registered as ``name`` ("Dense", "Conv2D", ...)."""
    if name not in LAYERS:
        raise ValueError(f"Unknown layer type {name!r}. Known: {', '.join(LAYERS)}")
    return LAYERS[name]


def layer_from_config(config: dict) -> Layer:
    """Make a layer from ``get_config()`` output: {"type": "Dense", "units": 10, ...}.

    Unknown types and settings raise ValueError naming them and the known ones.
    """
    if not isinstance(config, dict) or "type" not in config:
        raise ValueError(f"A layer config needs a 'type' such as 'Dense'; got {config!r}.")
    settings = {key: value for key, value in config.items() if key != "type"}
    return get_layer_class(config["type"])(**settings)


def layer_categories() -> dict[str, list[str]]:
    """Category → layer names, in palette order (categories as in CATEGORIES)."""
    grouped: dict[str, list[str]] = {category: [] for category in CATEGORIES}
    for name, cls in LAYERS.items():
        grouped[cls.category].append(name)
    return {category: names for category, names in grouped.items() if names}


def _optional_table(module_name: str, table: str) -> dict:
    """``module.TABLE`` from a sibling module, or {} while that module does not exist yet."""
    try:
        module = importlib.import_module(f"{__package__}.{module_name}")
    except ModuleNotFoundError as error:
        if error.name != f"{__package__}.{module_name}":
            raise
        return {}
    return dict(getattr(module, table, {}))


def optimizer_names() -> list[str]:
    """Names of the optimizers in optimizers.py (empty until that module exists)."""
    return list(_optional_table("optimizers", "OPTIMIZERS"))


def schedule_names() -> list[str]:
    """Names of the learning-rate schedules in schedules.py (empty until it exists)."""
    return list(_optional_table("schedules", "SCHEDULES"))


def __getattr__(name: str):
    # OPTIMIZERS / SCHEDULES are looked up lazily (PEP 562) to avoid importing those modules
    # (and depending on them) when only layers are needed.
    if name == "OPTIMIZERS":
        return _optional_table("optimizers", "OPTIMIZERS")
    if name == "SCHEDULES":
        return _optional_table("schedules", "SCHEDULES")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
