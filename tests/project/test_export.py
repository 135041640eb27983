"""Export to ONNX and to a NumPy script, and import from ONNX: the exported models give
nnstudio's own predictions (max absolute probability difference under 1e-5) on inputs as the
dataset files hold them, and a round trip gives the same predictions."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nnstudio.data.dataset import undo_scaling
from nnstudio.engine import registry
from nnstudio.engine.io import load_model, save_model
from nnstudio.engine.layers import (
    ELU,
    GELU,
    Activation,
    AvgPool2D,
    BatchNorm,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    LeakyReLU,
    MaxPool2D,
    ReLU,
    Rescale,
    Reshape,
    Sigmoid,
    Softmax,
    Tanh,
)
from nnstudio.engine.metrics import class_probabilities
from nnstudio.engine.model import Sequential
from nnstudio.paths import resource_path
from nnstudio.project.export_common import ExportError
from nnstudio.project.export_python import export_python

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from nnstudio.project.export_onnx import OPSET, export_onnx, onnx_model  # noqa: E402
from nnstudio.project.import_onnx import import_onnx, import_to_nnz  # noqa: E402

TOLERANCE = 1e-5
DIGIT_MODEL = resource_path("models/digit-model.nnz")


def _randomize_batchnorm(model, rng):
    """Running statistics away from 0 and 1, so their inference form is really tested."""
    for layer in model.layers:
        if isinstance(layer, BatchNorm):
            n = len(layer.params["gamma"])
            layer.params["gamma"][:] = rng.uniform(0.5, 1.5, n)
            layer.params["beta"][:] = rng.normal(0, 0.3, n)
            layer.buffers["running_mean"][:] = rng.normal(0, 0.5, n)
            layer.buffers["running_var"][:] = rng.uniform(0.5, 2.0, n)


def _standardize(rng, n):
    return {
        "method": "standardize",
        "mean": rng.normal(5, 2, n).tolist(),
        "std": rng.uniform(1, 3, n).tolist(),
    }


def mlp_with_batchnorm(tmp_path, rng):
    """20 standardized features, 3 classes: Dense, BatchNorm, Dropout and five activations."""
    layers = [
        Dense(32), BatchNorm(), ReLU(), Dropout(0.3),
        Dense(16, activation="leaky_relu"), LeakyReLU(0.2), Dense(12, activation="elu"),
        ELU(0.5), Dense(8, activation="gelu"), GELU(), Tanh(), Dense(3),
    ]  # fmt: skip
    model = Sequential(layers, input_shape=(20,), seed=1)
    _randomize_batchnorm(model, rng)
    preprocessing = {
        "dataset": "csv:table.csv",
        "input_shape": [20],
        "scaling": _standardize(rng, 20),
    }
    path = save_model(
        tmp_path / "mlp.nnz", model, class_names=["a", "b", "c"], preprocessing=preprocessing
    )
    raw = rng.normal(5, 3, (64, 20)).astype(np.float32)
    return path, raw


def small_cnn(tmp_path, rng):
    """3-channel 9×9 images with per-channel min-max scaling; 'same' padding with stride 2,
    both pools, BatchNorm on images, a softmax over channels, Reshape and sigmoid."""
    layers = [
        Conv2D(4, kernel_size=3, stride=2, padding="same", activation="gelu"), BatchNorm(),
        AvgPool2D(2, stride=1), Conv2D(3, kernel_size=2, activation="sigmoid"),
        Activation("softmax"), MaxPool2D(2), Flatten(), Dense(6, activation="tanh"),
        Reshape((1, 2, 3)), Softmax(), Flatten(), Dense(4, activation="relu"), Sigmoid(),
        Dense(5),
    ]  # fmt: skip
    model = Sequential(layers, input_shape=(3, 9, 9), seed=2)
    _randomize_batchnorm(model, rng)
    scaling = {"method": "minmax", "min": [0.0, 10.0, -5.0], "max": [1.0, 30.0, 5.0]}
    preprocessing = {"dataset": "npz:images.npz", "input_shape": [3, 9, 9], "scaling": scaling}
    path = save_model(tmp_path / "cnn.nnz", model, preprocessing=preprocessing)
    raw = undo_scaling(rng.random((32, 3, 9, 9), dtype=np.float32), scaling)
    return path, raw


def regression_model(tmp_path, rng):
    """Two targets in the data's units through Rescale, standardized inputs, mse."""
    layers = [Dense(16, activation="relu"), Dense(2), Rescale([3.0, 0.5], [100.0, -2.0])]
    model = Sequential(layers, input_shape=(4,), seed=3)
    preprocessing = {
        "dataset": "gaussians-regression",
        "input_shape": [4],
        "scaling": _standardize(rng, 4),
    }
    path = save_model(tmp_path / "regression.nnz", model, loss="mse", preprocessing=preprocessing)
    return path, rng.normal(5, 3, (50, 4)).astype(np.float32)


def two_d_classifier(tmp_path, rng):
    """The moons set: one sigmoid output (binary cross-entropy) gives two probabilities."""
    from nnstudio.data.catalog import load_dataset

    dataset = load_dataset("moons", samples=200, seed=0, scaling="standardize")
    model = Sequential([Dense(16, activation="tanh"), Dense(1)], input_shape=(2,), seed=4)
    path = save_model(
        tmp_path / "moons.nnz",
        model,
        loss="binary_crossentropy",
        class_names=dataset.class_names,
        preprocessing=dataset.preprocessing(),
    )
    return path, undo_scaling(dataset.x_test, dataset.scaling)


def digit_model(tmp_path, rng):
    raw = rng.integers(0, 256, (32, 1, 28, 28)).astype(np.float32)
    return DIGIT_MODEL, raw


MODELS = [digit_model, mlp_with_batchnorm, small_cnn, regression_model, two_d_classifier]


def nnstudio_outputs(bundle, raw):
    """nnstudio's own answer for inputs as the dataset files hold them."""
    from nnstudio.data.dataset import apply_scaling, saved_scaling
    from nnstudio.project.export_common import input_preparation

    x = raw.astype(np.float32)
    if input_preparation(bundle).pixel_scale is not None:
        x = x * np.float32(1 / 255)  # as catalog._unit_float loads uint8 pixels
    outputs = bundle.model.predict(apply_scaling(x, saved_scaling(bundle.preprocessing)))
    if bundle.make_loss().task == "classification":
        return class_probabilities(outputs, bundle.loss), outputs
    return outputs, outputs


def run_onnx(path, raw):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": raw.astype(np.float32)})


def load_script(path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_test_models_use_every_engine_layer(tmp_path):
    rng = np.random.default_rng(0)
    used = set()
    for make in MODELS:
        path, _ = make(tmp_path, rng)
        used |= {type(layer).__name__ for layer in load_model(path).model.layers}
    every = {name for names in registry.layer_categories().values() for name in names}
    assert every and not every - used, f"no test exports {sorted(every - used)}"
    assert "Rescale" in used  # not in the palette, but regression models end in it


@pytest.mark.parametrize("make", MODELS, ids=lambda make: make.__name__)
def test_onnx_export_gives_nnstudios_predictions(tmp_path, make):
    path, raw = make(tmp_path, np.random.default_rng(0))
    bundle = load_model(path)
    export_onnx(bundle, tmp_path / "model.onnx")
    model = onnx.load(tmp_path / "model.onnx")
    onnx.checker.check_model(model, full_check=True)
    expected, logits = nnstudio_outputs(bundle, raw)
    outputs = run_onnx(tmp_path / "model.onnx", raw)
    if bundle.make_loss().task == "classification":
        assert [o.name for o in model.graph.output] == ["probabilities", "logits"]
        assert np.abs(outputs[0] - expected).max() < TOLERANCE
        np.testing.assert_allclose(outputs[1], logits, rtol=1e-5, atol=1e-5)
    else:
        assert [o.name for o in model.graph.output] == ["values"]
        np.testing.assert_allclose(outputs[0], expected, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("make", MODELS, ids=lambda make: make.__name__)
def test_python_export_gives_nnstudios_predictions(tmp_path, make):
    path, raw = make(tmp_path, np.random.default_rng(0))
    bundle = load_model(path)
    script, weights = export_python(bundle, tmp_path / "exported_model.py")
    assert weights == tmp_path / "exported_model.npz" and weights.exists()
    expected, _ = nnstudio_outputs(bundle, raw)
    predicted = load_script(script).predict(raw)
    if bundle.make_loss().task == "classification":
        assert np.abs(predicted - expected).max() < TOLERANCE
    else:
        np.testing.assert_allclose(predicted, expected, rtol=1e-5, atol=1e-4)


def test_the_scripts_import_only_numpy_and_pass_ruff(tmp_path):
    rng = np.random.default_rng(0)
    scripts = []
    for make in MODELS:
        path, _ = make(tmp_path, rng)
        scripts.append(export_python(load_model(path), tmp_path / f"{make.__name__}.py")[0])
    for script in scripts:
        source = script.read_text()
        starts = ("import ", "from ")
        imports = {line.split()[1] for line in source.splitlines() if line.startswith(starts)}
        assert imports == {"sys", "pathlib", "numpy"}, script.name
        assert "allow_pickle=False" in source and "def forward" in source
    assert "def im2col" in scripts[0].read_text()  # the digit model's convolutions
    ruff = [sys.executable, "-m", "ruff"]
    if subprocess.run([*ruff, "--version"], capture_output=True).returncode != 0:
        pytest.skip("ruff is not installed")
    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"  # the project's rules
    config = ["--config", str(pyproject)] if pyproject.exists() else []
    check = subprocess.run(
        [*ruff, "check", *config, *map(str, scripts)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout


def test_the_script_runs_from_a_shell(tmp_path):
    path, raw = two_d_classifier(tmp_path, np.random.default_rng(0))
    script, _ = export_python(load_model(path), tmp_path / "moons_model.py")
    np.save(tmp_path / "inputs.npy", raw[:3])
    result = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "inputs.npy")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 3


def test_onnx_model_has_metadata_dynamic_batch_and_readable_names():
    bundle = load_model(DIGIT_MODEL)
    model = onnx_model(bundle)
    props = {p.key: p.value for p in model.metadata_props}
    assert props["dataset"] == "mnist" and props["classes"].startswith('["0", "1"')
    assert props["nnstudio_version"] and "0–255" in props["input"]
    assert model.opset_import[0].version == OPSET >= 21
    batch = model.graph.input[0].type.tensor_type.shape.dim[0]
    assert batch.dim_param == "batch" and not batch.HasField("dim_value")
    names = [node.name for node in model.graph.node]
    assert "prepare_pixels_to_unit" in names and "layer0_conv2d_relu" in names
    assert run_onnx_bytes(model, np.zeros((3, 1, 28, 28), np.float32))[0].shape == (3, 10)


def run_onnx_bytes(model, x):
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x})


def test_digit_model_reads_the_mnist_test_set_as_nnstudio_does(mnist_path):
    from nnstudio.data import idx

    bundle = load_model(DIGIT_MODEL)
    _, _, images, labels = idx.read_idx_folder(mnist_path, 10)
    raw = images.astype(np.float32)[:, None]  # the files' pixels, 0-255
    probabilities = run_onnx_bytes(onnx_model(bundle), raw)[0]
    ours, _ = nnstudio_outputs(bundle, raw)
    assert np.abs(probabilities - ours).max() < TOLERANCE
    onnx_accuracy = float(np.mean(probabilities.argmax(axis=1) == labels))
    assert onnx_accuracy == float(np.mean(ours.argmax(axis=1) == labels)) > 0.98


@pytest.mark.parametrize("make", MODELS, ids=lambda make: make.__name__)
def test_round_trip_gives_equal_predictions(tmp_path, make):
    path, raw = make(tmp_path, np.random.default_rng(0))
    bundle = load_model(path)
    export_onnx(bundle, tmp_path / "model.onnx")
    imported = load_model(import_to_nnz(tmp_path / "model.onnx", tmp_path / "back.nnz"))
    assert imported.loss == bundle.loss and imported.class_names == bundle.class_names
    assert imported.preprocessing == bundle.preprocessing
    x = np.random.default_rng(1).normal(size=(16, *bundle.model.input_shape)).astype(np.float32)
    np.testing.assert_array_equal(imported.model.predict(x), bundle.model.predict(x))


# -- models from elsewhere ------------------------------------------------------------------------


def _foreign(nodes, initializers, input_shape, output="y"):
    """A PyTorch-style ONNX model (no nnstudio metadata)."""
    helper = onnx.helper
    graph = helper.make_graph(
        nodes,
        "torch_jit",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["N", *input_shape])],
        [helper.make_tensor_value_info(output, onnx.TensorProto.FLOAT, ["N", None])],
        [
            onnx.numpy_helper.from_array(
                np.asarray(v, np.float32 if np.asarray(v).dtype.kind == "f" else np.int64), k
            )
            for k, v in initializers.items()
        ],
    )
    return helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="pytorch"
    )


def test_imports_a_pytorch_style_cnn(tmp_path):
    rng = np.random.default_rng(0)
    make = onnx.helper.make_node
    weights = {
        "conv.weight": rng.normal(0, 0.3, (4, 1, 3, 3)), "conv.bias": rng.normal(0, 0.1, 4),
        "bn.scale": rng.uniform(0.5, 1.5, 4), "bn.B": rng.normal(0, 0.1, 4),
        "bn.mean": rng.normal(0, 0.1, 4), "bn.var": rng.uniform(0.5, 2, 4),
        "fc.weight": rng.normal(0, 0.3, (3, 4 * 4 * 4)), "fc.bias": rng.normal(0, 0.1, 3),
        "fc2.W": rng.normal(0, 0.3, (3, 2)), "fc2.b": rng.normal(0, 0.1, 2),
    }  # fmt: skip
    nodes = [
        make(
            "Conv", ["x", "conv.weight", "conv.bias"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]
        ),
        make("BatchNormalization", ["c", "bn.scale", "bn.B", "bn.mean", "bn.var"], ["b"]),
        make("Relu", ["b"], ["r"]),
        make("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
        make("Flatten", ["p"], ["f"]),
        make("Dropout", ["f"], ["d"]),
        make("Gemm", ["d", "fc.weight", "fc.bias"], ["g"], transB=1),
        make("Tanh", ["g"], ["t"]),
        make("MatMul", ["t", "fc2.W"], ["m"]),
        make("Add", ["m", "fc2.b"], ["a"]),
        make("Softmax", ["a"], ["y"], axis=1),
    ]
    foreign = _foreign(nodes, weights, [1, 8, 8])
    onnx.save(foreign, tmp_path / "torch.onnx")
    bundle = import_onnx(tmp_path / "torch.onnx")
    types = [type(layer).__name__ for layer in bundle.model.layers]
    assert types == [
        "Conv2D", "BatchNorm", "Activation", "MaxPool2D", "Flatten", "Dropout", "Dense", "Dense"
    ]  # fmt: skip
    assert bundle.model.layers[6].activation == "tanh"  # Gemm + Tanh: one Dense
    assert bundle.model.layers[0].padding == "same" and bundle.loss == "softmax_crossentropy"
    x = rng.normal(size=(5, 1, 8, 8)).astype(np.float32)
    expected = run_onnx_bytes_named(foreign, x)
    assert (
        np.abs(class_probabilities(bundle.model.predict(x), bundle.loss) - expected).max()
        < TOLERANCE
    )


def run_onnx_bytes_named(model, x):
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


def test_an_unsupported_node_is_named(tmp_path):
    make = onnx.helper.make_node
    nodes = [
        make("Relu", ["x"], ["r"], name="relu1"),
        make("Sin", ["r"], ["y"], name="sin1"),
    ]
    onnx.save(_foreign(nodes, {}, [4]), tmp_path / "sin.onnx")
    with pytest.raises(ExportError, match=r"node 'sin1' \(Sin\) cannot be imported") as error:
        import_onnx(tmp_path / "sin.onnx")
    assert "\n" not in str(error.value)


def test_a_file_that_is_not_onnx_is_refused(tmp_path):
    (tmp_path / "notes.onnx").write_text("these are not weights\n" * 20)
    with pytest.raises(ExportError, match="is not an ONNX model"):
        import_onnx(tmp_path / "notes.onnx")


def test_a_read_only_folder_leaves_nothing_behind(read_only_folder):
    bundle = load_model(DIGIT_MODEL)
    with pytest.raises(ValueError, match="not writable"):
        export_onnx(bundle, read_only_folder / "model.onnx")
    with pytest.raises(ValueError, match="not writable"):
        export_python(bundle, read_only_folder / "model.py")
    with pytest.raises(ValueError, match="not writable"):
        import_to_nnz(DIGIT_MODEL, read_only_folder / "model.nnz")  # refused before reading
    assert list(read_only_folder.iterdir()) == []


def test_the_project_layer_imports_without_onnx():
    code = (
        "import sys; sys.modules['onnx'] = None\n"
        "import nnstudio.project, nnstudio.project.export_onnx, nnstudio.project.import_onnx\n"
        "import nnstudio.project.onnx_nodes, nnstudio.cli.export\n"
        "from nnstudio.project.export_onnx import onnx_model\n"
        "from nnstudio.engine.io import load_model\n"
        "from nnstudio.paths import resource_path\n"
        "try:\n"
        "    onnx_model(load_model(resource_path('models/digit-model.nnz')))\n"
        "except ValueError as error:\n"
        "    print(error)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "pip install 'nnstudio[onnx]'" in result.stdout


@pytest.mark.parametrize("name", sorted({**registry.LAYERS, **registry.AUTOMATIC_LAYERS}))
def test_every_registered_layer_class_knows_its_export_steps(name):
    from nnstudio.project.export_common import LAYER_STEPS

    cls = {**registry.LAYERS, **registry.AUTOMATIC_LAYERS}[name]
    assert any(base in LAYER_STEPS for base in cls.__mro__), name
