"""Checks of a model file's contents before they are used: field types, the model's size
(counted, never allocated) and non-finite weights. ``engine.io`` turns their findings into
``ModelFileError``s naming the file; the project layer sizes a project's model with
``check_model_size`` the same way."""

from __future__ import annotations

import math

import numpy as np

from nnstudio.safe_read import format_size, limit_hint, max_file_bytes, shorten

# Far beyond any real network (the largest shipped preset has 8 layers); a file with more is
# damaged or hostile, and building it would take minutes.
MAX_LAYERS = 1000

# model.json's optional fields and the JSON types they must have when present.
_FIELD_TYPES = {
    "config": (dict, "an object"),
    "dtype": (str, "a dtype name"),
    "loss_settings": (dict, "an object"),
    "class_names": (list, "a list of names"),
    "preprocessing": (dict, "an object"),
    "metadata": (dict, "an object"),
    "nnstudio_version": (str, "a version"),
}


def field_problem(info: dict) -> str | None:
    """What is wrong with model.json's field types ("model.json's metadata must be an object,
    got 5"), or None. Refused here, naming the field, rather than failing later as a TypeError
    wherever the value happens to be used."""
    for key, (kind, words) in _FIELD_TYPES.items():
        value = info.get(key)
        if value is not None and not isinstance(value, kind):
            return f"model.json's {key} must be {words}, got {shorten(repr(value), 60)}"
    names = info.get("class_names") or []
    if not all(isinstance(name, (str, int, float)) for name in names):
        return "model.json's class_names must be names (text)"
    if info.get("dtype", "float32") not in ("float32", "float64"):
        return (
            "model.json's dtype must be float32 or float64, got "
            f"{shorten(repr(info.get('dtype')), 40)}"
        )
    return _preprocessing_problem(info.get("preprocessing") or {})


def _is_list_of(value, kind) -> bool:
    return isinstance(value, list) and all(
        isinstance(item, kind) and not isinstance(item, bool) for item in value
    )


# preprocessing's optional parts: how each is checked, and what it must be.
_PREPROCESSING_PARTS = {
    "scaling": (lambda v: isinstance(v, dict) and isinstance(v.get("method", ""), str),
                "an object with a method name"),
    "encoding": (lambda v: isinstance(v, dict), "an object"),
    "image_reading": (lambda v: isinstance(v, dict), "an object"),
    "feature_names": (lambda v: _is_list_of(v, str), "a list of names"),
    "input_shape": (lambda v: _is_list_of(v, int), "a list of sizes"),
}  # fmt: skip


def _preprocessing_problem(preprocessing: dict) -> str | None:
    """What is wrong with the types of preprocessing's parts (a scaling of 0.5 failed as
    "'float' object has no attribute 'get'", exit 1, in export), or None."""
    for key, (fits, words) in _PREPROCESSING_PARTS.items():
        value = preprocessing.get(key)
        if value is not None and not fits(value):
            return (
                f"model.json's preprocessing.{key} must be {words}, got {shorten(repr(value), 60)}"
            )
    return None


def non_finite(weights: dict[str, np.ndarray]) -> str | None:
    """The name of the first array holding NaN or infinity, or None."""
    for name, array in weights.items():
        if array.dtype.kind in "fc" and not np.isfinite(array).all():
            return name
    return None


def _layers_of(config: dict) -> list:
    from nnstudio.engine.registry import layer_from_config

    layers = config.get("layers")
    if not isinstance(layers, list):
        raise ValueError("the model config has no 'layers' list")
    if len(layers) > MAX_LAYERS:
        raise ValueError(f"it has {len(layers):,} layers, more than the {MAX_LAYERS:,} allowed")
    return [layer_from_config(layer) for layer in layers]


def check_model_size(config: dict, dtype="float32", limit: int | None = None) -> None:
    """Refuse, before allocating anything, a model config whose weights or one sample's
    activations would need more than ``limit`` bytes (default: ``max_file_bytes()``), e.g.
    ``Dense(100000)`` three times or an ``input_shape`` of [1e12]. Raises ValueError.

    >>> check_model_size({"input_shape": [784], "layers": [{"type": "Dense", "units": 10}]})
    """
    limit = max_file_bytes() if limit is None else limit
    itemsize = np.dtype(dtype).itemsize
    layers = _layers_of(config)
    shape = config.get("input_shape")
    if shape is None:
        return
    if not isinstance(shape, list) or not all(
        isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in shape
    ):
        raise ValueError(f"input_shape must be a list of sizes, got {shorten(repr(shape), 60)}")
    total, shape = 0, tuple(shape)
    for index, layer in enumerate(layers):
        if math.prod(shape) * itemsize > limit:
            raise ValueError(f"layer {index} takes inputs of {shorten(shape, 60)}: too large")
        total += layer.parameter_count(shape)
        if total * itemsize > limit:
            raise ValueError(
                f"its layers up to {index} ({type(layer).__name__}) hold {total:,} parameters "
                f"({format_size(total * itemsize)}), more than {limit_hint(limit)}"
            )
        shape = tuple(layer.compute_output_shape(shape))
