"""ONNX nodes as engine layers: one reader per operator, for ``import_onnx``.

Each reader turns a node into a layer spec (``{"type", "settings", "arrays"}``, the arrays
named as the layer's parameters and buffers) or folds it into the previous one: MatMul + Add
is one Dense with a bias, and an activation right after a Dense or Conv2D becomes its
``activation`` (as nnstudio builds them). Shapes are followed node by node, so a Conv's
padding can be matched against the engine's "same".
"""

from __future__ import annotations

import numpy as np

ACTIVATIONS = {
    "Relu": "relu",
    "Sigmoid": "sigmoid",
    "Tanh": "tanh",
    "Softmax": "softmax",
    "LeakyRelu": "leaky_relu",
    "Elu": "elu",
    "Gelu": "gelu",
}
DEFAULT_ALPHA = {"leaky_relu": 0.01, "elu": 1.0}


class Unsupported(ValueError):
    """A node nnstudio has no layer for; the message says why."""


def _attributes(node) -> dict:
    from onnx import helper

    return {attribute.name: helper.get_attribute_value(attribute) for attribute in node.attribute}


def _square_pair(values: list) -> bool:
    """Two equal sizes of at least 1 (a kernel or strides nnstudio's 2-D layers take); an
    empty or one-number list from a hostile file is refused here, not as an IndexError."""
    if len(values) != 2 or values[0] != values[1]:
        return False
    return isinstance(values[0], int) and values[0] >= 1


def _text(value):
    return value.decode() if isinstance(value, bytes) else value


class NodeReader:
    """Reads one chain of nodes; ``specs`` are the layers so far, ``shape`` the current
    per-sample shape."""

    def __init__(self, constants: dict, input_shape: tuple, opset: int):
        self.constants = dict(constants)
        self.input_shape = tuple(int(d) for d in input_shape)
        self.shape = self.input_shape
        self.opset = opset
        self.specs: list[dict] = []
        self.preparation: dict[str, np.ndarray | None] = {}  # an export's scaling, by op

    # -- bookkeeping ------------------------------------------------------------------------------

    def add_constant(self, node) -> None:
        from onnx import numpy_helper

        value = _attributes(node).get("value")
        if value is None:
            raise Unsupported("only Constant nodes with a tensor value are read")
        try:
            self.constants[node.output[0]] = numpy_helper.to_array(value)
        except Exception as error:  # noqa: BLE001 - a damaged tensor: onnx raises anything
            raise Unsupported(f"its value cannot be read ({type(error).__name__})") from None

    def _const(self, node, position: int, required: bool = True):
        name = node.input[position] if len(node.input) > position else ""
        if not name:
            if required:
                raise Unsupported(f"input {position} is missing")
            return None
        if name not in self.constants:
            raise Unsupported(f"its input {name!r} is not a constant (weights must be fixed)")
        return np.asarray(self.constants[name])

    def _add(self, layer_type: str, settings=None, arrays=None) -> None:
        from nnstudio.engine.registry import get_layer_class

        settings = dict(settings or {})
        try:
            layer = get_layer_class(layer_type)(**settings)
            self.shape = tuple(layer.compute_output_shape(self.shape))
        except ValueError as error:  # ShapeError too
            raise Unsupported(str(error)) from None
        arrays = {name: np.asarray(value, np.float32) for name, value in (arrays or {}).items()}
        self.specs.append({"type": layer_type, "settings": settings, "arrays": arrays})

    def drop_last_activation(self) -> None:
        """Remove the last softmax/sigmoid (it moves into the loss)."""
        last = self.specs[-1]
        if "activation" in last["settings"]:
            last["settings"]["activation"] = "linear"
        else:
            self.specs.pop()
            self.shape = self._shape_before_last()

    def _shape_before_last(self) -> tuple:
        shape = self.input_shape
        from nnstudio.engine.registry import get_layer_class

        for spec in self.specs:
            shape = tuple(
                get_layer_class(spec["type"])(**spec["settings"]).compute_output_shape(shape)
            )
        return shape

    # -- nodes ----------------------------------------------------------------------------------

    def read(self, node) -> None:
        if node.op_type in ACTIVATIONS:
            self._activation(node, _attributes(node), ACTIVATIONS[node.op_type])
            return
        handler = getattr(self, f"_read_{node.op_type.lower()}", None)
        if handler is None:
            raise Unsupported(
                "nnstudio has no layer for it (it reads Gemm, MatMul, Add, Mul, Conv, "
                "MaxPool, AveragePool, BatchNormalization, Flatten, Reshape, Dropout, Identity "
                "and the activations Relu, LeakyRelu, Elu, Gelu, Sigmoid, Tanh, Softmax)"
            )
        handler(node, _attributes(node))

    def _read_identity(self, node, attributes) -> None:
        pass

    def _read_dropout(self, node, attributes) -> None:
        ratio = self._const(node, 1, required=False)
        ratio = np.asarray(attributes.get("ratio", 0.5) if ratio is None else ratio)
        if ratio.size != 1 or ratio.dtype.kind not in "fiu" or not np.isfinite(ratio).all():
            raise Unsupported(f"its ratio must be one number, got {ratio.size} values")
        rate = float(ratio.reshape(-1)[0])
        self._add("Dropout", {"rate": min(max(rate, 0.0), 0.95)})

    def _dense(self, W, b) -> None:
        if W.ndim != 2 or len(self.shape) != 1 or W.shape[0] != self.shape[0]:
            raise Unsupported(f"weights {W.shape} do not fit inputs {self.shape}")
        arrays = {"W": W} if b is None else {"W": W, "b": np.broadcast_to(b, (W.shape[1],))}
        self._add("Dense", {"units": int(W.shape[1]), "use_bias": b is not None}, arrays)

    def _read_gemm(self, node, attributes) -> None:
        if attributes.get("transA", 0):
            raise Unsupported("transA=1 (the inputs transposed) has no Dense equivalent")
        W = self._const(node, 1).astype(np.float64)
        b = self._const(node, 2, required=False)
        W = W.T if attributes.get("transB", 0) else W
        W = W * attributes.get("alpha", 1.0)
        if b is not None:
            b = np.asarray(b, np.float64).reshape(-1) * attributes.get("beta", 1.0)
        self._dense(W, b)

    def _read_matmul(self, node, attributes) -> None:
        self._dense(self._const(node, 1), None)

    def _read_add(self, node, attributes) -> None:
        value = self._const(node, 1).reshape(-1)
        last = self.specs[-1] if self.specs else None
        if last and last["type"] == "Dense" and not last["settings"]["use_bias"]:
            last["settings"]["use_bias"] = True  # MatMul + Add: one Dense with a bias
            last["arrays"]["b"] = np.broadcast_to(value, (last["settings"]["units"],)).astype(
                np.float32
            )
            return
        if last and last["type"] == "Rescale" and not any(last["settings"]["offset"]):
            last["settings"]["offset"] = self._per_feature(value)  # Mul + Add: one Rescale
            return
        self._rescale(np.ones(self.shape[0] if len(self.shape) == 1 else 1), value)

    def _read_mul(self, node, attributes) -> None:
        self._rescale(self._const(node, 1).reshape(-1), np.zeros(1))

    def _per_feature(self, value) -> list[float]:
        if len(self.shape) != 1 or value.size not in (1, self.shape[0]):
            raise Unsupported(f"a constant of {value.size} values on inputs {self.shape}")
        return np.broadcast_to(value, self.shape).astype(float).tolist()

    def _rescale(self, scale, offset) -> None:
        scale, offset = self._per_feature(scale), self._per_feature(offset)
        if min(scale) <= 0:
            raise Unsupported("a scale of 0 or below (nnstudio's Rescale multiplies by > 0)")
        self._add("Rescale", {"scale": scale, "offset": offset})

    def _read_conv(self, node, attributes) -> None:
        W = self._const(node, 1)
        b = self._const(node, 2, required=False)
        kernel = list(attributes.get("kernel_shape", W.shape[2:]))
        strides = list(attributes.get("strides", [1, 1]))
        if W.ndim != 4 or not _square_pair(kernel) or not _square_pair(strides):
            raise Unsupported("nnstudio's Conv2D has square kernels and equal strides")
        if attributes.get("group", 1) != 1 or any(d != 1 for d in attributes.get("dilations", [])):
            raise Unsupported("grouped or dilated convolutions have no Conv2D equivalent")
        settings = {
            "filters": int(W.shape[0]),
            "kernel_size": int(kernel[0]),
            "stride": int(strides[0]),
            "padding": self._conv_padding(attributes, int(kernel[0]), int(strides[0])),
            "use_bias": b is not None,
        }
        arrays = {"W": W} if b is None else {"W": W, "b": b}
        self._add("Conv2D", settings, arrays)

    def _conv_padding(self, attributes, kernel: int, stride: int) -> str:
        auto = _text(attributes.get("auto_pad", "NOTSET"))
        if auto == "VALID":
            return "valid"
        if len(self.shape) != 3:
            raise Unsupported(
                f"a convolution needs (channels, height, width) inputs; got {self.shape}"
            )
        from nnstudio.engine.layers import Conv2D

        same = Conv2D(1, kernel_size=kernel, stride=stride, padding="same")
        same_pads = [same._padding_for(size) for size in self.shape[1:]]
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            pads = same_pads if auto == "SAME_UPPER" else [(b, a) for a, b in same_pads]
            top, left, bottom, right = pads[0][0], pads[1][0], pads[0][1], pads[1][1]
        else:
            top, left, bottom, right = list(attributes.get("pads", [0, 0, 0, 0]))
        if not any((top, left, bottom, right)):
            return "valid"
        if [(top, bottom), (left, right)] == [tuple(p) for p in same_pads]:
            return "same"
        raise Unsupported(
            f"padding {[top, left, bottom, right]} is neither 'valid' nor nnstudio's 'same' "
            f"({[same_pads[0][0], same_pads[1][0], same_pads[0][1], same_pads[1][1]]})"
        )

    def _pool(self, layer_type: str, attributes) -> None:
        kernel = list(attributes.get("kernel_shape", []))
        strides = list(attributes.get("strides", [1, 1]))
        pads = list(attributes.get("pads", [0, 0, 0, 0]))
        auto = _text(attributes.get("auto_pad", "NOTSET"))
        if not _square_pair(kernel) or not _square_pair(strides):
            raise Unsupported("nnstudio pools with square windows and equal strides")
        if any(pads) or auto not in ("NOTSET", "VALID") or attributes.get("ceil_mode", 0):
            raise Unsupported("padded or ceil_mode pooling has no nnstudio equivalent")
        if any(d != 1 for d in attributes.get("dilations", [])):
            raise Unsupported("dilated pooling has no nnstudio equivalent")
        stride = None if strides[0] == kernel[0] else int(strides[0])
        self._add(layer_type, {"pool_size": int(kernel[0]), "stride": stride})

    def _read_maxpool(self, node, attributes) -> None:
        if len(node.output) > 1 and node.output[1]:
            raise Unsupported("MaxPool's indices output is not supported")
        self._pool("MaxPool2D", attributes)

    def _read_averagepool(self, node, attributes) -> None:
        self._pool("AvgPool2D", attributes)

    def _read_batchnormalization(self, node, attributes) -> None:
        if attributes.get("training_mode", 0):
            raise Unsupported("training_mode=1; export the model in inference mode")
        gamma, beta, mean, var = (self._const(node, k) for k in range(1, 5))
        momentum = min(max(float(attributes.get("momentum", 0.9)), 0.0), 0.9999)
        settings = {"momentum": momentum, "epsilon": float(attributes.get("epsilon", 1e-5))}
        arrays = {"gamma": gamma, "beta": beta, "running_mean": mean, "running_var": var}
        self._add("BatchNorm", settings, arrays)

    def _read_flatten(self, node, attributes) -> None:
        if attributes.get("axis", 1) != 1:
            raise Unsupported("only Flatten with axis=1 (each sample to one row) is supported")
        self._add("Flatten")

    def _read_reshape(self, node, attributes) -> None:
        target = [int(d) for d in self._const(node, 1).reshape(-1)]
        if not target or target[0] not in (0, -1) or -1 in target[1:] and target[0] == -1:
            raise Unsupported(f"shape {target} does not keep the batch as its first dimension")
        rest = [
            self.shape[i] if d == 0 and i < len(self.shape) else d for i, d in enumerate(target[1:])
        ]
        rest = self._infer_size(rest)
        if len(rest) == 1:
            self._add("Flatten")
        else:
            self._add("Reshape", {"shape": rest})

    def _infer_size(self, shape: list[int]) -> list[int]:
        """``shape`` with its one -1 worked out; refused unless it holds exactly the values of
        the current shape (a Reshape of 4 features to 3 is not a Flatten)."""
        size = int(np.prod(self.shape))
        known = int(np.prod([d for d in shape if d != -1]))
        if shape.count(-1) > 1 or any(d < -1 or d == 0 for d in shape) or known < 1:
            raise Unsupported(f"shape {shape} is not a reshape nnstudio can follow")
        if -1 in shape and size % known == 0:
            shape = [size // known if d == -1 else d for d in shape]
        if int(np.prod(shape)) != size:
            raise Unsupported(f"shape {shape} does not hold the {size} values of {self.shape}")
        return shape

    def _activation(self, node, attributes, function: str) -> None:
        alpha = attributes.get("alpha")
        if function == "gelu" and _text(attributes.get("approximate", "none")) != "tanh":
            raise Unsupported("nnstudio's GELU is the tanh approximation (approximate='tanh')")
        if function == "softmax":
            self._check_softmax_axis(attributes)
        last = self.specs[-1] if self.specs else None
        default_alpha = alpha is None or np.isclose(alpha, DEFAULT_ALPHA.get(function, alpha))
        fusable = last and last["type"] in ("Dense", "Conv2D") and default_alpha
        if fusable and last["settings"].get("activation", "linear") == "linear":
            last["settings"]["activation"] = function
            return
        settings = {"function": function}
        if function in DEFAULT_ALPHA:
            settings["alpha"] = float(alpha if alpha is not None else DEFAULT_ALPHA[function])
        self._add("Activation", settings)

    def _check_softmax_axis(self, attributes) -> None:
        rank = len(self.shape) + 1
        axis = attributes.get("axis", 1 if self.opset < 13 else -1)
        if axis < 0:
            axis += rank
        if axis != 1 or (self.opset < 13 and rank != 2):
            raise Unsupported(f"softmax over axis {axis}; nnstudio's runs over axis 1")
