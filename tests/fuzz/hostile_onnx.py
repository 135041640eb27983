"""A corpus of hostile ONNX files for ``nnstudio import`` (issue 38), made with onnx.helper.

    python tests/fuzz/hostile_onnx.py OUT_FOLDER          write the files, list them
    python tests/fuzz/hostile_onnx.py OUT_FOLDER --run    also import each in a subprocess and
                                                          print exit codes and peak memory

Every import must end with exit 0, or exit 2 and one line on stderr; a refused import leaves
``--out`` as it was. ``tests/fuzz/test_fuzz_onnx.py`` runs the corpus in-process.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MB = 1 << 20


@dataclass
class OnnxCase:
    name: str
    path: Path
    expect: frozenset = frozenset({2})
    heavy: bool = False  # measured for peak memory in a subprocess too


def _float(array) -> np.ndarray:
    return np.asarray(array, np.float32)


def build_model(
    nodes: list[tuple],
    initializers: dict | None = None,
    input_shape=(None, 4),
    output: str | None = None,
    metadata: dict | None = None,
    opset: int = 13,
):
    """A ModelProto: ``nodes`` are (op, inputs, output, attributes[, name]) in a chain."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    made = []
    for index, (op, inputs, out, attributes, *name) in enumerate(nodes):
        node_name = name[0] if name else f"n{index}"
        empty = {key for key, value in attributes.items() if value == []}
        full = {key: value for key, value in attributes.items() if key not in empty}
        node = helper.make_node(op, inputs, [out], name=node_name, **full)
        for key in sorted(empty):  # helper cannot infer the type of an empty list
            ints = onnx.AttributeProto.INTS
            node.attribute.append(helper.make_attribute(key, [], attr_type=ints))
        made.append(node)
    inits = [numpy_helper.from_array(value, key) for key, value in (initializers or {}).items()]
    dims = ["batch" if d is None else d for d in input_shape]
    graph = helper.make_graph(
        made,
        "hostile",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, dims)],
        [helper.make_tensor_value_info(output or nodes[-1][2], TensorProto.FLOAT, ["batch", None])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    for key, value in (metadata or {}).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    return onnx._serialize(model) if hasattr(onnx, "_serialize") else model.SerializeToString()


def _dense(width_in=4, width_out=3, fill=0.1) -> dict:
    return {"W": _float(np.full((width_in, width_out), fill)), "b": _float(np.zeros(width_out))}


def _gemm_chain(weights=None, extra=(), **kwargs) -> bytes:
    weights = weights or _dense()
    return build_model([("Gemm", ["x", "W", "b"], "y", {}), *extra], weights, **kwargs)


def _conv(kernel_attr: dict) -> bytes:
    weights = {"W": _float(np.ones((2, 1, 3, 3)))}
    return build_model(
        [("Conv", ["x", "W"], "y", kernel_attr)], weights, input_shape=(None, 1, 8, 8)
    )


def _pool(op: str, attributes: dict) -> bytes:
    return build_model([(op, ["x"], "y", attributes)], {}, input_shape=(None, 1, 8, 8))


def _own_export(**metadata) -> bytes:
    """A chain carrying nnstudio's export metadata (its own fields replaced by ``metadata``)."""
    meta = {
        "nnstudio.preprocessing": "null",
        "nnstudio.class_names": '["a", "b", "c"]',
        "nnstudio.loss_settings": "{}",
        "nnstudio.metadata": "{}",
        "loss": "softmax_crossentropy",
    }
    meta.update({key.replace("__", "."): value for key, value in metadata.items()})
    return _gemm_chain(metadata={k: v for k, v in meta.items() if v is not None})


def corpus() -> dict[str, tuple[bytes, frozenset]]:
    """name -> (file bytes, allowed exit codes)."""
    refuse, ok = frozenset({2}), frozenset({0})
    nan = _dense()
    nan["W"][0, 0] = np.nan
    cases = {
        "good-gemm": (_gemm_chain(), ok),
        "good-relu-chain": (_gemm_chain(extra=[("Relu", ["y"], "z", {})]), ok),
        # item 2: 88 bytes whose input declares 10**12 features per sample
        "input-1e12-relu": (
            build_model([("Relu", ["x"], "y", {})], input_shape=(None, 10**12)),
            refuse,
        ),
        "input-2e9-identity": (
            build_model([("Identity", ["x"], "y", {})], input_shape=(None, 50_000, 50_000)),
            refuse,
        ),
        "outputs-200000": (
            build_model([("Relu", ["x"], "y", {})], input_shape=(None, 200_000)),
            refuse,
        ),
        # item 3: a model nnstudio would refuse must not be written
        "nan-weights": (_gemm_chain(nan), refuse),
        "inf-bias": (_gemm_chain({**_dense(), "b": _float([np.inf, 0, 0])}), refuse),
        "1500-layers": (
            build_model(
                [("Relu", ["x" if i == 0 else f"r{i - 1}"], f"r{i}", {}) for i in range(1500)],
                input_shape=(None, 4),
            ),
            refuse,
        ),
        "metadata-classes-int": (_own_export(nnstudio__class_names="5"), refuse),
        "metadata-classes-nested": (_own_export(nnstudio__class_names="[[1]]"), refuse),
        "metadata-not-json": (_own_export(nnstudio__metadata="{nope"), refuse),
        "metadata-list": (_own_export(nnstudio__metadata="[1]"), refuse),
        "metadata-deep": (_own_export(nnstudio__metadata="[" * 100_000 + "]" * 100_000), refuse),
        "loss-settings-list": (_own_export(nnstudio__loss_settings="[]"), refuse),
        "preprocessing-number": (_own_export(nnstudio__preprocessing="5"), refuse),
        "loss-unknown": (_own_export(loss="nope"), refuse),
        "own-export-good": (_own_export(), ok),
        # item 6: refused in one line, not as an IndexError or TypeError
        "conv-empty-kernel": (_conv({"kernel_shape": []}), refuse),
        "conv-short-strides": (_conv({"strides": [1]}), refuse),
        "conv-empty-strides": (_conv({"strides": []}), refuse),
        "maxpool-empty-kernel": (_pool("MaxPool", {"kernel_shape": []}), refuse),
        "avgpool-short-strides": (
            _pool("AveragePool", {"kernel_shape": [2, 2], "strides": [2]}),
            refuse,
        ),
        "dropout-vector-ratio": (
            _gemm_chain(
                {**_dense(), "ratio": _float([0.1, 0.2])},
                extra=[("Dropout", ["y", "ratio"], "z", {})],
            ),
            refuse,
        ),
        # item 7: another model must not come out
        "reshape-4-to-3": (
            build_model(
                [("Reshape", ["x", "shape"], "y", {})],
                {"shape": np.array([-1, 3], np.int64)},
            ),
            refuse,
        ),
        "prepare-named-gemm": (
            build_model(
                [("Gemm", ["x", "W", "b"], "y", {}, "prepare_evil")],
                _dense(),
                metadata={
                    "nnstudio.preprocessing": "null",
                    "nnstudio.class_names": '["a","b","c"]',
                },
            ),
            frozenset({0, 2}),
        ),
        "not-onnx": (b"hello, not a protobuf", refuse),
        "empty": (b"", refuse),
    }
    whole = cases["good-relu-chain"][0]
    cases["truncated"] = (whole[: len(whole) // 2], refuse)
    return cases


def build(folder) -> list[OnnxCase]:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    cases = []
    for name, (data, expect) in corpus().items():
        path = folder / f"{name}.onnx"
        path.write_bytes(data)
        heavy = name.startswith(("input-", "outputs-"))
        cases.append(OnnxCase(name, path, expect, heavy))
    return cases


def runs(folder) -> list:
    """The corpus as the hostile_corpus runner's runs: ``nnstudio import FILE --out ...``."""
    from hostile_corpus import Run

    return [
        Run(
            f"import {case.name}",
            ["import", str(case.path), "--out", str(case.path) + ".nnz"],
            case.expect,
            case.heavy,
        )
        for case in build(folder)
    ]


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    from hostile_corpus import main

    sys.exit(main(sys.argv[1:], runs, __doc__))
