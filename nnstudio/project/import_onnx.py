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

import math
from pathlib import Path

import numpy as np

from nnstudio.project.export_common import ExportError, require_onnx
from nnstudio.project.export_onnx import METADATA_PREFIX, PREPARE_PREFIX
from nnstudio.project.onnx_nodes import NodeReader, Unsupported
from nnstudio.safe_read import shorten

# nnstudio's exports end their chain in an Identity named after the raw outputs.
RAW_OUTPUTS = ("logits", "values")
# The input scaling nnstudio's exports put first (it comes back from the metadata) and the
# flattening before their outputs: only these names with these operators are skipped.
OWN_PREPARATION = {
    f"{PREPARE_PREFIX}pixels_to_unit": "Mul",
    f"{PREPARE_PREFIX}scaling_subtract": "Sub",
    f"{PREPARE_PREFIX}scaling_divide": "Div",
}
# A classifier's class list is made from its outputs: a declared size of 10**12 must be
# refused before a list of that length is.
MAX_CLASSES = 100_000


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


def _graph_input(model, constants, path):
    """(name, per-sample shape) of the one data input."""
    inputs = [value for value in model.graph.input if value.name not in constants]
    if len(inputs) != 1:
        raise ExportError(
            f"{path}: the model has {len(inputs)} data inputs; nnstudio models have one"
        )
    tensor = inputs[0].type.tensor_type
    dims = [dim.dim_value if dim.HasField("dim_value") else None for dim in tensor.shape.dim]
    if len(dims) < 2 or any(d is None or d < 1 for d in dims[1:]):
        raise ExportError(
            f"{path}: input {inputs[0].name!r} has shape {dims}; nnstudio needs (batch, ...) "
            "with fixed sizes after the batch"
        )
    _check_sample_size(f"{path}: input {inputs[0].name!r}", dims[1:])
    return inputs[0].name, tuple(dims[1:])


def _check_sample_size(what: str, shape: list[int]) -> None:
    """One sample must fit the file-size limit, as a model file's input_shape must: everything
    sized from it (activations, the class list) stays bounded."""
    from nnstudio.safe_read import format_size, limit_hint, max_file_bytes

    limit = max_file_bytes()
    needed = math.prod(shape) * 4
    if needed > limit:
        raise ExportError(
            f"{what} declares {format_size(needed)} per sample ({shorten(shape, 60)}), "
            f"more than {limit_hint(limit)}"
        )


def _chain(model, path, own_export: bool) -> tuple[NodeReader, str]:
    onnx = require_onnx()
    constants = {tensor.name: _array(onnx, tensor, path) for tensor in model.graph.initializer}
    name, shape = _graph_input(model, constants, path)
    outputs = [value.name for value in model.graph.output]
    end = next((o for o in RAW_OUTPUTS if o in outputs), outputs[0]) if own_export else outputs[0]
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 13)
    reader = NodeReader(constants, shape, opset)
    current = name
    for node in model.graph.node:
        if current == end:
            break
        if node.op_type == "Constant":
            _read_node(path, node, reader.add_constant)
            continue
        if own_export and _own_preparation(node, reader):
            # The input scaling comes back as preprocessing; its constants are compared with
            # the metadata's once that is read (_check_preparation).
            if node.op_type != "Reshape":
                reader.preparation[node.op_type] = _constant_of(reader, node)
            current = node.output[0]
            continue
        if not node.input or node.input[0] != current:
            raise _unsupported(path, node, "it does not continue the chain of layers")
        _read_node(path, node, reader.read)
        current = node.output[0]
    if current != end:
        raise ExportError(f"{path}: the chain of layers never reaches the output {end!r}")
    return reader, end


def _read_node(path, node, read) -> None:
    """``read(node)``, a node it cannot use refused in one line naming the node."""
    try:
        read(node)
    except Unsupported as error:
        raise _unsupported(path, node, str(error)) from None


def _own_preparation(node, reader: NodeReader) -> bool:
    """A node nnstudio's export adds around the layers: the input scaling before the first
    layer, the Reshape that flattens the outputs. Any other node named so is read as a layer
    (skipping it would import another model than the file's)."""
    if node.name == "flatten_outputs":
        return node.op_type == "Reshape" and bool(reader.specs)
    return OWN_PREPARATION.get(node.name) == node.op_type and not reader.specs


def _constant_of(reader: NodeReader, node) -> np.ndarray | None:
    name = node.input[1] if len(node.input) > 1 else ""
    value = reader.constants.get(name)
    return None if value is None else np.asarray(value, np.float64).reshape(-1)


def _check_preparation(reader: NodeReader, bundle, path) -> None:
    """The scaling nodes of an nnstudio export must be the ones its metadata describes: the
    metadata is what the imported model applies, the nodes what onnxruntime computes."""
    from nnstudio.project.export_common import input_preparation

    expected = input_preparation(bundle)
    wanted = {"Mul": expected.pixel_scale, "Sub": expected.offset, "Div": expected.divisor}
    for op, value in wanted.items():
        found = reader.preparation.get(op)
        value = None if value is None else np.asarray(value, np.float64).reshape(-1)
        same = (found is None) == (value is None) and (
            found is None or (found.shape == value.shape and np.allclose(found, value))
        )
        if not same:
            raise ExportError(
                f"{path}: its input scaling nodes differ from its nnstudio metadata (the file "
                "was changed after export), so the imported model would compute something "
                "else than the file; export it again from nnstudio"
            )


def _array(onnx, tensor, path) -> np.ndarray:
    if tensor.data_location == onnx.TensorProto.EXTERNAL:
        raise ExportError(f"{path} keeps its weights in external files; nnstudio reads one file")
    return _tensor_array(onnx, tensor, f"{path}: its weights {tensor.name!r}")


def _tensor_array(onnx, tensor, what: str) -> np.ndarray:
    """A tensor's values; a damaged one (an unknown data type, too few values for its shape)
    raises ExportError naming ``what`` instead of whatever onnx raises (KeyError: 29)."""
    try:
        return onnx.numpy_helper.to_array(tensor)
    except Exception as error:  # noqa: BLE001 - onnx raises KeyError, ValueError, TypeError...
        kind = type(error).__name__
        raise ExportError(f"{what} cannot be read ({kind}: {shorten(error, 80)})") from None


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


def _own_metadata(info: dict, path) -> tuple:
    """(loss, loss settings, classes, preprocessing, metadata) from an nnstudio export's
    metadata, each of the type a model file needs (checked as load_model checks them)."""
    from nnstudio.engine.model_file_checks import field_problem
    from nnstudio.safe_read import FileReadError, parse_json

    def field(key: str, default: str):
        where = f"{path}: metadata {METADATA_PREFIX}{key}"
        try:
            return parse_json(info.get(f"{METADATA_PREFIX}{key}", default), where)
        except FileReadError as error:
            raise ExportError(str(error)) from None

    fields = {
        "loss_settings": field("loss_settings", "{}"),
        "class_names": field("class_names", "null"),
        "preprocessing": field("preprocessing", "null"),
        "metadata": field("metadata", "{}"),
    }
    problem = field_problem(fields)
    loss = info.get("loss", "softmax_crossentropy")
    if problem is None and fields["metadata"] is None:
        problem = "metadata must be an object, got None"
    if problem:
        raise ExportError(f"{path}: its nnstudio metadata is damaged: {problem}")
    return (
        loss,
        fields["loss_settings"] or {},
        fields["class_names"],
        fields["preprocessing"],
        fields["metadata"],
    )


def _build(reader: NodeReader):
    from nnstudio.engine.model import Sequential
    from nnstudio.engine.model_file_checks import check_model_size

    layers = [{"type": spec["type"], **spec["settings"]} for spec in reader.specs]
    config = {"input_shape": list(reader.input_shape), "layers": layers}
    check_model_size(config)  # the layer count and sizes a model file may have
    model = Sequential.from_config(config)
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
        loss, loss_settings, classes, preprocessing, metadata = _own_metadata(info, path)
    else:
        loss, n_classes = _foreign_loss(reader)
        if n_classes > MAX_CLASSES:
            raise ExportError(
                f"{path}: the model gives {n_classes:,} outputs; nnstudio reads classifiers of "
                f"up to {MAX_CLASSES:,} classes"
            )
        loss_settings, preprocessing, metadata = {}, None, {}
        classes = [str(k) for k in range(n_classes)] if n_classes else None
    try:
        built = _build(reader)
    except (ValueError, TypeError) as error:
        raise ExportError(f"{path}: the layers do not fit together: {error}") from None
    producer = f"{model_proto.producer_name} {model_proto.producer_version}".strip()
    bundle = ModelBundle(
        model=built,
        loss=loss,
        loss_settings=loss_settings,
        class_names=classes,
        preprocessing=preprocessing,
        metadata={**metadata, "imported_from": path.name, "producer": producer or "unknown"},
        path=path,
    )
    if own:
        _check_preparation(reader, bundle, path)
    return bundle


def import_to_nnz(path, out) -> Path:
    """Import ``path`` (.onnx) and save it as the model file ``out`` (.nnz), atomically, and
    only once the model reads back as nnstudio reads a model file: a model nnstudio would
    refuse (NaN weights, too many layers, damaged metadata) never replaces ``out``."""
    from nnstudio.atomic_file import check_writable, refuse_same_file
    from nnstudio.engine.io import ModelFileError, save_model

    refuse_same_file(path, out, "--out")
    check_writable(out)
    bundle = import_onnx(path)
    try:
        return save_model(
            out,
            bundle.model,
            loss=bundle.make_loss(),
            class_names=bundle.class_names,
            preprocessing=bundle.preprocessing,
            metadata=bundle.metadata,
            verify=True,
        )
    except ModelFileError as error:
        raise ExportError(f"{path} was not imported ({out} is unchanged): {error}") from None
