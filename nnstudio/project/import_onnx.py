"""Import an ONNX model built from the engine's layers into an nnstudio model (.nnz).

What fits: nnstudio's own exports (their preprocessing, loss and classes come back from the
metadata) and the MLPs and small CNNs PyTorch and Keras export — one chain of Gemm or
MatMul + Add, Conv, Relu, LeakyRelu, Elu, Gelu, Sigmoid, Tanh, Softmax, MaxPool, AveragePool,
BatchNormalization, Flatten, Reshape, Dropout and Identity nodes on NCHW inputs. Anything else
is refused with one line naming the first node that does not fit.

A model from elsewhere that ends in Softmax (or one Sigmoid output) becomes a classifier
whose last activation moves into the loss, as nnstudio trains them; one that ends in raw
scores is a classifier for several outputs and a regression for one.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from nnstudio.project.export_common import ExportError, require_onnx
from nnstudio.project.export_onnx import METADATA_PREFIX, PREPARE_PREFIX
from nnstudio.project.onnx_nodes import NodeReader, Unsupported

# nnstudio's exports end their chain in an Identity named after the raw outputs.
RAW_OUTPUTS = ("logits", "values")


def read_onnx(path):
    """The ModelProto in ``path``, or an ExportError saying why it is not an ONNX model."""
    from nnstudio.safe_read import FileReadError, read_bytes, shorten

    onnx = require_onnx()
    try:
        data = read_bytes(path, "an ONNX model file")
    except FileReadError as error:
        raise ExportError(str(error)) from None
    not_onnx = f"{path} is not an ONNX model (it cannot be read as one); choose a .onnx file"
    try:
        model = onnx.load_model_from_string(data)
    except Exception as error:  # noqa: BLE001 - protobuf raises several kinds
        raise ExportError(not_onnx) from error
    if not model.ir_version or not model.graph.node or not model.graph.output:
        raise ExportError(not_onnx)  # protobuf reads some other bytes as an empty model
    try:
        onnx.checker.check_model(model)
    except Exception as error:  # noqa: BLE001 - the checker's ValidationError and others
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ExportError(f"{path} is not a valid ONNX model: {shorten(first, 200)}") from error
    return model


def _metadata(model) -> dict[str, str]:
    return {prop.key: prop.value for prop in model.metadata_props}


def _graph_input(model, constants):
    """(name, per-sample shape) of the one data input."""
    inputs = [value for value in model.graph.input if value.name not in constants]
    if len(inputs) != 1:
        raise ExportError(f"the model has {len(inputs)} data inputs; nnstudio models have one")
    tensor = inputs[0].type.tensor_type
    dims = [dim.dim_value if dim.HasField("dim_value") else None for dim in tensor.shape.dim]
    if len(dims) < 2 or any(d is None or d < 1 for d in dims[1:]):
        raise ExportError(
            f"input {inputs[0].name!r} has shape {dims}; nnstudio needs (batch, ...) with fixed "
            "sizes after the batch"
        )
    return inputs[0].name, tuple(dims[1:])


def _chain(model, path, own_export: bool) -> tuple[NodeReader, str]:
    onnx = require_onnx()
    constants = {tensor.name: _array(onnx, tensor, path) for tensor in model.graph.initializer}
    name, shape = _graph_input(model, constants)
    outputs = [value.name for value in model.graph.output]
    end = next((o for o in RAW_OUTPUTS if o in outputs), outputs[0]) if own_export else outputs[0]
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 13)
    reader = NodeReader(constants, shape, opset)
    current = name
    for node in model.graph.node:
        if current == end:
            break
        if node.op_type == "Constant":
            reader.add_constant(node)
            continue
        if own_export and (node.name.startswith(PREPARE_PREFIX) or node.name == "flatten_outputs"):
            current = node.output[0]  # the input scaling: it comes back as preprocessing
            continue
        if not node.input or node.input[0] != current:
            raise _unsupported(path, node, "it does not continue the chain of layers")
        try:
            reader.read(node)
        except Unsupported as error:
            raise _unsupported(path, node, str(error)) from None
        current = node.output[0]
    if current != end:
        raise ExportError(f"{path}: the chain of layers never reaches the output {end!r}")
    return reader, end


def _array(onnx, tensor, path) -> np.ndarray:
    if tensor.data_location == onnx.TensorProto.EXTERNAL:
        raise ExportError(f"{path} keeps its weights in external files; nnstudio reads one file")
    return onnx.numpy_helper.to_array(tensor)


def _unsupported(path, node, why: str) -> ExportError:
    name = node.name or node.output[0]
    return ExportError(f"{path}: node {name!r} ({node.op_type}) cannot be imported: {why}")


def _foreign_loss(reader: NodeReader) -> tuple[str, int]:
    """The loss of a model from elsewhere, taking its last softmax/sigmoid into the loss."""
    last = reader.specs[-1] if reader.specs else None
    width = int(np.prod(reader.shape))
    function = None
    if last is not None:
        function = last["settings"].get("activation") or last["settings"].get("function")
    if function == "softmax" and len(reader.shape) == 1:
        reader.drop_last_activation()
        return "softmax_crossentropy", width
    if function == "sigmoid" and width == 1:
        reader.drop_last_activation()
        return "binary_crossentropy", 2
    return ("softmax_crossentropy", width) if width > 1 else ("mse", 0)


def _build(reader: NodeReader):
    from nnstudio.engine.model import Sequential

    layers = [{"type": spec["type"], **spec["settings"]} for spec in reader.specs]
    model = Sequential.from_config({"input_shape": list(reader.input_shape), "layers": layers})
    state = {
        f"{index}.{name}": value
        for index, spec in enumerate(reader.specs)
        for name, value in spec["arrays"].items()
    }
    model.load_state_dict(state)
    return model


def import_onnx(path):
    """An ONNX file as a ModelBundle (model, loss, classes, preprocessing, metadata)."""
    from nnstudio.engine.io import ModelBundle

    path = Path(path)
    model_proto = read_onnx(path)
    info = _metadata(model_proto)
    own = f"{METADATA_PREFIX}preprocessing" in info
    reader, _ = _chain(model_proto, path, own)
    if not reader.specs:
        raise ExportError(f"{path}: the model has no layers nnstudio can use")
    if own:
        loss = info.get("loss", "softmax_crossentropy")
        loss_settings = json.loads(info.get(f"{METADATA_PREFIX}loss_settings", "{}"))
        classes = json.loads(info.get(f"{METADATA_PREFIX}class_names", "null"))
        preprocessing = json.loads(info[f"{METADATA_PREFIX}preprocessing"])
        metadata = json.loads(info.get(f"{METADATA_PREFIX}metadata", "{}"))
    else:
        loss, n_classes = _foreign_loss(reader)
        loss_settings, preprocessing, metadata = {}, None, {}
        classes = [str(k) for k in range(n_classes)] if n_classes else None
    try:
        built = _build(reader)
    except ValueError as error:
        raise ExportError(f"{path}: the layers do not fit together: {error}") from None
    producer = f"{model_proto.producer_name} {model_proto.producer_version}".strip()
    return ModelBundle(
        model=built,
        loss=loss,
        loss_settings=loss_settings,
        class_names=classes,
        preprocessing=preprocessing,
        metadata={**metadata, "imported_from": path.name, "producer": producer or "unknown"},
        path=path,
    )


def import_to_nnz(path, out) -> Path:
    """Import ``path`` (.onnx) and save it as the model file ``out`` (.nnz), atomically."""
    from nnstudio.atomic_file import check_writable
    from nnstudio.engine.io import save_model

    check_writable(out)
    bundle = import_onnx(path)
    return save_model(
        out,
        bundle.model,
        loss=bundle.make_loss(),
        class_names=bundle.class_names,
        preprocessing=bundle.preprocessing,
        metadata=bundle.metadata,
    )
