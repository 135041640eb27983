"""Export a saved model (.nnz) to ONNX, the exchange format every runtime and viewer reads.

The exported graph takes inputs exactly as the dataset files hold them (MNIST: float32
pixels 0–255, N×1×28×28): the dataset's input scaling is its first nodes. A classifier returns
``probabilities`` and ``logits``, a regression model ``values``. The batch dimension is
dynamic, nodes are named after the layer they come from ("layer2_conv2d_relu"), and the
metadata carries the nnstudio version, the dataset, the classes and the preprocessing (which
``import_onnx`` reads back, so a round trip keeps them).

``onnx`` is an optional extra, imported only inside the functions here, so the project layer
imports without it. Use: ``export_onnx(load_model("digits.nnz"), "digits.onnx")``.
"""

from __future__ import annotations

import json

import numpy as np

import nnstudio
from nnstudio.engine.io import json_plain
from nnstudio.project.export_common import (
    broadcast_shape,
    class_names,
    dataset_name,
    input_preparation,
    model_steps,
    output_function,
    require_onnx,
    task_of,
)

# Opset 21 (ONNX 1.16, 2024): recent enough for Gelu, read by onnxruntime 1.18 and later.
OPSET = 21
INPUT_NAME = "input"
PREPARE_PREFIX = "prepare_"
METADATA_PREFIX = "nnstudio."


class _Graph:
    """Nodes and initializers collected while walking the steps; ``current`` is the tensor
    the next node reads."""

    def __init__(self, onnx):
        self.onnx = onnx
        self.nodes, self.initializers = [], []
        self.current = INPUT_NAME

    def constant(self, name: str, array) -> str:
        array = np.asarray(array)
        if array.dtype.kind == "f":
            array = array.astype(np.float32)
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def node(self, op: str, name: str, extra_inputs=(), output=None, **attributes) -> str:
        output = output or name
        inputs = [self.current, *extra_inputs]
        self.nodes.append(self.onnx.helper.make_node(op, inputs, [output], name=name, **attributes))
        self.current = output
        return output


def _add_preparation(graph: _Graph, preparation, input_shape) -> None:
    if preparation.pixel_scale is not None:
        scale = graph.constant("pixel_scale", np.float32(preparation.pixel_scale))
        graph.node("Mul", f"{PREPARE_PREFIX}pixels_to_unit", [scale])
    if preparation.offset is not None:
        shape = broadcast_shape(preparation.offset, input_shape)
        offset = graph.constant("scaling_offset", preparation.offset.reshape(shape))
        divisor = graph.constant("scaling_divisor", preparation.divisor.reshape(shape))
        graph.node("Sub", f"{PREPARE_PREFIX}scaling_subtract", [offset])
        graph.node("Div", f"{PREPARE_PREFIX}scaling_divide", [divisor])


def _add_dense(graph, step) -> None:
    inputs = [graph.constant(f"{step.name}.W", step.arrays["W"])]
    if "b" in step.arrays:
        inputs.append(graph.constant(f"{step.name}.b", step.arrays["b"]))
    graph.node("Gemm", step.name, inputs)


def _add_conv(graph, step) -> None:
    W = step.arrays["W"]
    inputs = [graph.constant(f"{step.name}.W", W)]
    if "b" in step.arrays:
        inputs.append(graph.constant(f"{step.name}.b", step.arrays["b"]))
    (top, bottom), (left, right) = step.settings["pads"]
    stride = step.settings["stride"]
    graph.node(
        "Conv",
        step.name,
        inputs,
        kernel_shape=list(W.shape[2:]),
        strides=[stride, stride],
        pads=[top, left, bottom, right],
    )


def _add_batchnorm(graph, step) -> None:
    names = [
        graph.constant(f"{step.name}.{key}", step.arrays[key])
        for key in ("gamma", "beta", "mean", "var")
    ]
    graph.node("BatchNormalization", step.name, names, epsilon=float(step.settings["epsilon"]))


def _add_rescale(graph, step) -> None:
    scale = graph.constant(f"{step.name}.scale", step.arrays["scale"])
    offset = graph.constant(f"{step.name}.offset", step.arrays["offset"])
    graph.node("Mul", f"{step.name}_scale", [scale])
    graph.node("Add", f"{step.name}_offset", [offset])


def _add_reshape(graph, step) -> None:
    shape = graph.constant(f"{step.name}.shape", np.array([-1, *step.settings["shape"]], np.int64))
    graph.node("Reshape", step.name, [shape])


ACTIVATION_OPS = {
    "relu": "Relu",
    "sigmoid": "Sigmoid",
    "tanh": "Tanh",
    "leaky_relu": "LeakyRelu",
    "elu": "Elu",
}


def _add_step(graph, step) -> None:
    kind = step.kind
    if kind == "dense":
        _add_dense(graph, step)
    elif kind == "conv":
        _add_conv(graph, step)
    elif kind in ("maxpool", "avgpool"):
        size, stride = step.settings["size"], step.settings["stride"]
        op = "MaxPool" if kind == "maxpool" else "AveragePool"
        graph.node(op, step.name, kernel_shape=[size, size], strides=[stride, stride])
    elif kind == "batchnorm":
        _add_batchnorm(graph, step)
    elif kind == "dropout":  # the identity at prediction time; the node keeps the layer visible
        graph.node("Identity", step.name)
    elif kind == "flatten":
        graph.node("Flatten", step.name, axis=1)
    elif kind == "reshape":
        _add_reshape(graph, step)
    elif kind == "rescale":
        _add_rescale(graph, step)
    elif kind == "softmax":  # the engine's softmax runs over axis 1 (features or channels)
        graph.node("Softmax", step.name, axis=1)
    elif kind == "gelu":  # the engine's GELU is the tanh approximation
        graph.node("Gelu", step.name, approximate="tanh")
    else:
        alpha = {"alpha": step.settings["alpha"]} if "alpha" in step.settings else {}
        graph.node(ACTIVATION_OPS[kind], step.name, **alpha)


def _add_two_class_probabilities(graph) -> None:
    make = graph.onnx.helper.make_node
    p = graph.node("Sigmoid", "probability_of_class_1")
    one = graph.constant("one", np.float32(1.0))
    graph.nodes.append(make("Sub", [one, p], ["probability_of_class_0"], name="class_0"))
    concat = make("Concat", ["probability_of_class_0", p], ["probabilities"], axis=1)
    graph.nodes.append(concat)
    concat.name = "probabilities"


def _add_outputs(graph, bundle) -> list[tuple[str, list]]:
    """The output nodes; returns (name, shape) of each graph output."""
    width = int(np.prod(bundle.model.output_shape))
    function = output_function(bundle)
    if function is None:
        graph.node("Identity", "values")
        return [("values", ["batch", *bundle.model.output_shape])]
    if len(bundle.model.output_shape) != 1:
        shape = graph.constant("flat_shape", np.array([-1, width], np.int64))
        graph.node("Reshape", "flatten_outputs", [shape])
    logits = graph.node("Identity", "logits")
    if function == "softmax":
        graph.node("Softmax", "probabilities", axis=1)
    elif width == 1:  # one sigmoid output: the columns (1 - p, p), as class_probabilities
        _add_two_class_probabilities(graph)
        width = 2
    else:
        graph.node("Sigmoid", "probabilities")
    return [
        ("probabilities", ["batch", width]),
        (logits, ["batch", int(np.prod(bundle.model.output_shape))]),
    ]


def _metadata(bundle, preparation) -> dict[str, str]:
    task = task_of(bundle)
    info = {
        "nnstudio_version": nnstudio.__version__,
        "dataset": dataset_name(bundle),
        "task": task,
        "input": preparation.description,
        "loss": bundle.loss,
        f"{METADATA_PREFIX}preprocessing": json.dumps(json_plain(bundle.preprocessing)),
        f"{METADATA_PREFIX}loss_settings": json.dumps(json_plain(bundle.loss_settings)),
        f"{METADATA_PREFIX}class_names": json.dumps(bundle.class_names),  # None stays None
        f"{METADATA_PREFIX}metadata": json.dumps(json_plain(bundle.metadata or {})),
    }
    if task == "classification":
        info["classes"] = json.dumps(class_names(bundle))
    return info


def onnx_model(bundle):
    """The ONNX ModelProto of a loaded model bundle (see :func:`export_onnx`)."""
    onnx = require_onnx()
    helper, proto = onnx.helper, onnx.TensorProto
    preparation = input_preparation(bundle)
    graph = _Graph(onnx)
    input_shape = tuple(bundle.model.input_shape)
    _add_preparation(graph, preparation, input_shape)
    for step in model_steps(bundle.model):
        _add_step(graph, step)
    outputs = _add_outputs(graph, bundle)
    name = (bundle.path.stem if bundle.path else "") or "nnstudio-model"
    onnx_graph = helper.make_graph(
        graph.nodes,
        name,
        [helper.make_tensor_value_info(INPUT_NAME, proto.FLOAT, ["batch", *input_shape])],
        [helper.make_tensor_value_info(out, proto.FLOAT, shape) for out, shape in outputs],
        graph.initializers,
        doc_string=f"Input: {preparation.description}.",
    )
    opsets = [helper.make_opsetid("", OPSET)]
    model = helper.make_model(
        onnx_graph,
        opset_imports=opsets,
        producer_name="nnstudio",
        producer_version=nnstudio.__version__,
        ir_version=helper.find_min_ir_version_for(opsets),
        doc_string=f"Exported by nnstudio {nnstudio.__version__} from {name}.",
    )
    helper.set_model_props(model, _metadata(bundle, preparation))
    onnx.checker.check_model(model, full_check=True)
    return model


def export_onnx(bundle, path) -> None:
    """Write ``bundle`` (from ``engine.io.load_model``) as an ONNX file, atomically."""
    from nnstudio.atomic_file import check_writable, write_atomically

    check_writable(path)
    data = onnx_model(bundle).SerializeToString()
    write_atomically(path, data)
