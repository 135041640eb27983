"""What the ONNX and Python exporters (and the ONNX importer) share: the model as a list of
plain steps, the input preparation baked into an export, and the errors.

A step is one operation with its numbers: a Dense layer with ``activation="relu"`` becomes a
``dense`` step and a ``relu`` step, so each exporter maps one small vocabulary instead of
every layer's settings. Dropout is the identity at prediction time and BatchNorm uses its
running statistics (its inference form).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nnstudio.data.dataset import saved_scaling
from nnstudio.engine import layers

INSTALL_ONNX = "install it with pip install 'nnstudio[onnx]'"
# Datasets whose files hold uint8 pixels that loading divides by 255 (catalog._unit_float):
# an export multiplies by the same float32(1/255), so it reads the files' own values.
PIXEL_DATASETS = ("mnist", "fashion-mnist", "cifar10")
PIXEL_SCALE = np.float32(1 / 255)


class ExportError(ValueError):
    """A model that cannot be exported or imported; the message says why (exit 2)."""


def require_onnx():
    """The ``onnx`` module, or an ExportError saying how to install it."""
    try:
        import onnx
    except ImportError:
        raise ExportError(f"ONNX export and import need the onnx package: {INSTALL_ONNX}") from None
    return onnx


@dataclass
class Step:
    """One operation: ``kind`` (dense, conv, maxpool, relu, ...), its settings and arrays."""

    kind: str
    layer: int  # index of the engine layer it comes from
    name: str  # readable: "layer0_conv2d"
    settings: dict = field(default_factory=dict)
    arrays: dict = field(default_factory=dict)


def _activation_step(name: str, alpha, index: int, base: str) -> Step | None:
    if name == "linear":
        return None
    settings = {}
    if name in ("leaky_relu", "elu"):
        settings["alpha"] = float(
            alpha if alpha is not None else (0.01 if name == "leaky_relu" else 1.0)
        )
    return Step(name, index, f"{base}_{name}", settings)


def _weighted_steps(step: Step, layer) -> list[Step]:
    """A Dense or Conv2D step and the step of its activation (none for linear)."""
    arrays = {"W": layer.params["W"]}
    if layer.use_bias:
        arrays["b"] = layer.params["b"]
    step.arrays = arrays
    follow = _activation_step(layer.activation, None, step.layer, step.name)
    return [step] + ([follow] if follow else [])


def _dense(layer, index: int, base: str) -> list[Step]:
    return _weighted_steps(Step("dense", index, base), layer)


def _conv(layer, index: int, base: str) -> list[Step]:
    _, height, width = layer.input_shape
    pads = (layer._padding_for(height), layer._padding_for(width))
    return _weighted_steps(Step("conv", index, base, {"stride": layer.stride, "pads": pads}), layer)


def _pool(kind: str):
    def steps(layer, index: int, base: str) -> list[Step]:
        return [Step(kind, index, base, {"size": layer.pool_size, "stride": layer.step})]

    return steps


def _batchnorm(layer, index: int, base: str) -> list[Step]:
    arrays = {
        "gamma": layer.params["gamma"],
        "beta": layer.params["beta"],
        "mean": layer.buffers["running_mean"],
        "var": layer.buffers["running_var"],
    }
    return [Step("batchnorm", index, base, {"epsilon": layer.epsilon}, arrays)]


def _dropout(layer, index: int, base: str) -> list[Step]:
    return [Step("dropout", index, base, {"rate": layer.rate})]


def _flatten(layer, index: int, base: str) -> list[Step]:
    return [Step("flatten", index, base)]


def _reshape(layer, index: int, base: str) -> list[Step]:
    return [Step("reshape", index, base, {"shape": tuple(layer.output_shape)})]


def _rescale(layer, index: int, base: str) -> list[Step]:
    arrays = {
        "scale": np.asarray(layer.scale, np.float32),
        "offset": np.asarray(layer.offset, np.float32),
    }
    return [Step("rescale", index, base, {}, arrays)]


def _activation(layer, index: int, base: str) -> list[Step]:
    """Activation and ReLU, Tanh, ... (their subclasses, the function fixed)."""
    step = _activation_step(layer.function, layer.alpha, index, base)
    return [step] if step else []


#: How each layer class becomes steps, looked up along the class's bases: a new layer type
#: is exported by adding its entry here.
LAYER_STEPS = {
    layers.Dense: _dense,
    layers.Conv2D: _conv,
    layers.MaxPool2D: _pool("maxpool"),
    layers.AvgPool2D: _pool("avgpool"),
    layers.BatchNorm: _batchnorm,
    layers.Dropout: _dropout,
    layers.Flatten: _flatten,
    layers.Reshape: _reshape,
    layers.Rescale: _rescale,
    layers.Activation: _activation,
}


def layer_steps(layer, index: int) -> list[Step]:
    """The steps of one built engine layer at position ``index``."""
    kind = type(layer).__name__
    make = next((LAYER_STEPS[c] for c in type(layer).__mro__ if c in LAYER_STEPS), None)
    if make is None:
        raise ExportError(f"layer {index} ({kind}) cannot be exported: nnstudio does not know it")
    return make(layer, index, f"layer{index}_{kind.lower()}")


def model_steps(model) -> list[Step]:
    """Every step of a built Sequential, in order."""
    if not getattr(model, "built", False):
        raise ExportError("the model is not built, so it has no weights to export; train it first")
    return [step for index, layer in enumerate(model.layers) for step in layer_steps(layer, index)]


# -- the input preparation and the outputs ---------------------------------------------------------


@dataclass
class InputPreparation:
    """How raw inputs (as the dataset files hold them) become the network's inputs:
    x · pixel_scale, then (x - offset) / divisor, per feature or per image channel."""

    pixel_scale: np.float32 | None
    offset: np.ndarray | None
    divisor: np.ndarray | None
    description: str


def _shape_text(shape) -> str:
    return "N×" + "×".join(str(d) for d in shape)


def input_preparation(bundle) -> InputPreparation:
    """What an export does to its inputs first, from the model file's preprocessing."""
    preprocessing = bundle.preprocessing if isinstance(bundle.preprocessing, dict) else {}
    shape = tuple(bundle.model.input_shape)
    named = str(preprocessing.get("dataset", ""))
    pixels = named in PIXEL_DATASETS or named.startswith(("idx:", "images:"))
    scaling = saved_scaling(preprocessing)
    method = scaling.get("method", "none")
    offset = divisor = None
    if method == "standardize":
        offset, divisor = scaling["mean"], scaling["std"]
    elif method == "minmax":
        offset = scaling["min"]
        divisor = np.asarray(scaling["max"], np.float32) - np.asarray(offset, np.float32)
    elif method != "none":
        raise ExportError(f"the model file's scaling method {method!r} is unknown")
    if offset is not None:
        offset, divisor = np.asarray(offset, np.float32), np.asarray(divisor, np.float32)
        if not (np.abs(divisor) > 0).all() or offset.shape != divisor.shape:
            raise ExportError("the model file's input scaling is damaged; save the model again")
    what = "float32 pixels 0–255" if pixels else "float32 values as the dataset holds them"
    return InputPreparation(
        PIXEL_SCALE if pixels else None, offset, divisor, f"{what}, shape {_shape_text(shape)}"
    )


def broadcast_shape(values: np.ndarray, input_shape) -> tuple:
    """Per-channel statistics of images broadcast over height and width (as apply_scaling)."""
    if len(input_shape) == 3:
        return (1, len(values), 1, 1)
    return (1, len(values))


def task_of(bundle) -> str:
    """ "classification" (softmax or sigmoid probabilities) or "regression" (the values)."""
    return bundle.make_loss().task


def output_function(bundle) -> str | None:
    """ "softmax" or "sigmoid" for a classifier's probabilities (None for regression)."""
    if task_of(bundle) != "classification":
        return None
    return "sigmoid" if bundle.loss == "binary_crossentropy" else "softmax"


def class_names(bundle) -> list[str]:
    """The class names, or "0", "1", ... when the file has none."""
    if bundle.class_names:
        return list(bundle.class_names)
    width = int(np.prod(bundle.model.output_shape))
    return [str(k) for k in range(2 if width == 1 else width)]


def dataset_name(bundle) -> str:
    """The dataset the model was trained on, from its preprocessing or its metadata."""
    preprocessing = bundle.preprocessing if isinstance(bundle.preprocessing, dict) else {}
    named = preprocessing.get("dataset") or (bundle.metadata or {}).get("dataset") or ""
    return str(named.get("name", "") if isinstance(named, dict) else named)
