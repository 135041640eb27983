"""What the builder knows about layer types, read from the engine's registry (Qt-free).

Everything the palette, the cards and the inspector show about a layer type comes from the
layer class itself (``category``, ``description``, ``SETTINGS``), so a new layer in the engine
appears in the builder without touching this package.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any

CATEGORIES = ("Core", "Convolution", "Pooling", "Normalization", "Regularization", "Activation")

# Settings without a default in the engine (they are required arguments) still need a value
# when the user drops a fresh layer: these are the values a tutorial would start with.
_STARTING_VALUES = {"units": 64, "filters": 16, "kernel_size": 3, "rate": 0.5}

# The settings worth reading on a card, in the order they read best ("Conv2D 32 3×3 same").
_KEY_SETTINGS = ("units", "filters", "kernel_size", "pool_size", "stride", "padding", "rate")
_ACTIVATION_KEYS = ("activation", "function")


# Layers are numbered as the engine numbers them in its messages and parameter names
# ("0.W", "layer 0 (Dense)"), so the cards, the training tab and the CLI agree.
FIRST_LAYER_NUMBER = 0


def layer_number(index: int) -> int:
    return index + FIRST_LAYER_NUMBER


def registry():
    from nnstudio.engine import registry as engine_registry

    return engine_registry


def layer_categories() -> OrderedDict[str, list[str]]:
    """Category → layer type names, in the palette's order (the engine's order within one)."""
    found = registry().layer_categories()
    ordered: OrderedDict[str, list[str]] = OrderedDict()
    for category in CATEGORIES:
        if found.get(category):
            ordered[category] = list(found[category])
    for category, names in found.items():  # a category the engine adds later still shows
        if category not in ordered and names:
            ordered[category] = list(names)
    return ordered


def layer_class(type_name: str):
    return registry().LAYERS[type_name]


def is_known(type_name: str) -> bool:
    return type_name in registry().LAYERS


def category_of(type_name: str) -> str:
    if not is_known(type_name):
        return "Core"
    return getattr(layer_class(type_name), "category", "Core")


# Layers of these categories keep their input's shape and change no representation: the
# diagram folds them into the column before them, the output-size fix looks through them.
SHAPE_KEEPING_CATEGORIES = ("Activation", "Regularization", "Normalization")


def keeps_shape(type_name: str) -> bool:
    """Whether the layer type is one of those (by its class's category, so a new dropout or
    normalization layer needs no list of names)."""
    return category_of(type_name) in SHAPE_KEEPING_CATEGORIES


def description_of(type_name: str) -> str:
    if not is_known(type_name):
        return f"Unknown layer type {type_name!r}"
    doc = getattr(layer_class(type_name), "description", "") or ""
    return doc.strip().splitlines()[0] if doc.strip() else type_name


def settings_of(type_name: str) -> list:
    if not is_known(type_name):
        return []
    return list(getattr(layer_class(type_name), "SETTINGS", []))


def default_config(type_name: str, input_shape: tuple | None = None) -> dict:
    """A fresh layer config with every setting filled, ready to insert."""
    config: dict[str, Any] = {"type": type_name}
    for setting in settings_of(type_name):
        value = setting.default
        if value is None and setting.name in _STARTING_VALUES:
            value = _STARTING_VALUES[setting.name]
        if setting.kind == "shape":
            # Reshape usually turns a flat input into an image: guess one that fits.
            value = guess_image_shape(input_shape) or (list(value) if value else None)
        config[setting.name] = value
    return config


def guess_image_shape(shape: tuple | None) -> list[int] | None:
    """(1, s, s) when a flat input of s*s values could be a square image (for Reshape)."""
    if not shape:
        return None
    size = math.prod(shape)
    side = math.isqrt(size)
    if side * side == size and side > 1:
        return [1, side, side]
    return [size]


def _kernel(value) -> str:
    if isinstance(value, (list, tuple)):
        return "×".join(str(v) for v in value)
    return f"{value}×{value}"


def _describe_setting(name: str, value) -> str | None:
    """The card's words for one setting, or None when it is not worth showing."""
    if value is None:
        return None
    if name in ("kernel_size", "pool_size"):
        return _kernel(value)
    if name == "stride":
        return None if value == 1 else f"stride {value}"
    if name == "padding":
        return value if value == "same" else None
    if name == "rate":
        return f"{float(value):g}"
    return str(value)


def card_title(config: dict) -> str:
    """Type plus its key settings, e.g. ``"Dense 128 · relu"`` or ``"Conv2D 32 3×3 same"``."""
    type_name = config.get("type", "?")
    words = [type_name]
    for name in _KEY_SETTINGS:
        if name in config:
            text = _describe_setting(name, config[name])
            if text:
                words.append(text)
    if config.get("shape") is not None and type_name == "Reshape":
        words.append("→ " + format_shape(config["shape"]))
    title = " ".join(words)
    activation = next((config[k] for k in _ACTIVATION_KEYS if config.get(k)), None)
    if activation and activation != "linear":
        title += f" · {activation}"
    if "alpha" in config and type_name in ("LeakyReLU", "ELU"):
        title += f" α {config['alpha']:g}"
    return title


def format_shape(shape) -> str:
    """``(1, 28, 28)`` → ``"1×28×28"``; unknown → ``"?"``."""
    if shape is None:
        return "?"
    return "×".join(str(int(v)) for v in shape) if len(shape) else "scalar"


def format_count(count: int | None) -> str:
    if count is None:
        return "?"
    return f"{count:,}"


def format_bytes(count: int) -> str:
    for unit in ("B", "KB", "MB"):
        if count < 1024:
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} GB"
