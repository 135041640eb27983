"""The engine's speed and accuracy goals (engine issue), measured on this machine.

    NNSTUDIO_BENCH=1 pytest tests/benchmarks -s

- MLP 784-128-10 (ReLU, softmax cross-entropy, Adam, batch 128, float32, 60,000 images):
  median epoch time at most 0.5x PyTorch's (same model, optimizer, batch, threads; epochs
  interleaved with PyTorch's) and within 2.5x of the matrix-product floor.
- CNN conv3x3(16)-relu-maxpool-conv3x3(32)-relu-maxpool-dense(128)-dense(10): at most 0.8x
  PyTorch's epoch time (issue 22).
- The fused Conv2D + MaxPool2D training step (layers/fused.py): the CNN's epoch faster with it
  than without (NNSTUDIO_FUSE_CONV_POOL=0), the two interleaved.
- The same-padding CNN (cnn-same) on one thread, whole batches: at most 1.0x PyTorch's CPU
  time per epoch (issue 39), the two interleaved.
- The optimizer step over one flat buffer (engine/flat.py): a Playground-sized network's
  batches faster with the weights packed than apart, the two interleaved.
- MNIST test accuracy: the mnist-mlp preset >= 98.0 % trained in under 60 s, the mnist-cnn
  preset >= 99.0 %.

Every figure is printed (run with -s); the assertions are the goals.
"""

import time

import numpy as np
import pytest

from nnstudio.cli import bench
from nnstudio.engine.model import Sequential
from nnstudio.engine.optimizers import get_optimizer

TOY_LAYERS = [
    {"type": "Dense", "units": 8, "activation": "tanh"},
    {"type": "Dense", "units": 8, "activation": "tanh"},
    {"type": "Dense", "units": 2},
]

pytestmark = pytest.mark.benchmark


def print_results(results):
    print()
    print(bench.format_report(results))


def test_mlp_epoch_time_against_pytorch_and_the_gemm_floor():
    results = bench.run_benchmarks(["mlp"], epochs=3, report=print)
    print_results(results)
    mlp = results["models"]["mlp"]
    assert mlp["ratio_to_floor"] <= bench.GOALS["mlp"]["ratio_to_floor"]
    if "torch" in mlp:
        assert mlp["ratio_to_torch"] <= bench.GOALS["mlp"]["ratio_to_torch"]


def test_cnn_epoch_time_against_pytorch():
    if not bench.torch_available():
        pytest.skip("PyTorch is not installed: nothing to compare the CNN with")
    results = bench.run_benchmarks(["cnn"], epochs=3, report=print)
    print_results(results)
    assert results["models"]["cnn"]["ratio_to_torch"] <= bench.GOALS["cnn"]["ratio_to_torch"]


def test_fused_conv_pool_step_against_the_layers_apart(monkeypatch):
    """Epochs of 20,000 images, fused and apart in turn (the order alternating), so that the
    machine's drift slows both alike; the ratio of the medians is printed."""
    x, y, source = bench.load_training_images(limit=20_000)
    runners = {
        "fused": bench.NnstudioEpochs("cnn", x, y),
        "apart": bench.NnstudioEpochs("cnn", x, y),
    }
    for round_number in range(6 + bench.WARMUP_EPOCHS):
        names = list(runners) if round_number % 2 == 0 else list(reversed(runners))
        for name in names:
            monkeypatch.setenv("NNSTUDIO_FUSE_CONV_POOL", "1" if name == "fused" else "0")
            runners[name].run_epoch()
    # Each runner's median leaves out its warm-up epochs, as the bench does.
    medians = {name: runner.result()["median"] for name, runner in runners.items()}
    ratio = medians["fused"] / medians["apart"]
    print(
        f"\nCNN on {len(x)} images ({source}): fused {medians['fused']:.2f} s, apart "
        f"{medians['apart']:.2f} s per epoch -> {ratio:.2f}x"
    )
    assert ratio < 1.0


def test_same_padding_cnn_cpu_time_against_pytorch(monkeypatch):
    """cnn-same with one BLAS thread and whole batches against PyTorch on one thread: CPU
    seconds per epoch (time.process_time, which other programs on a shared machine disturb
    far less than the clock), the two interleaved; the ratio of the medians is printed."""
    if not bench.torch_available():
        pytest.skip("PyTorch is not installed: nothing to compare the CNN with")
    from nnstudio.cli.bench_torch import TorchEpochs

    monkeypatch.setenv("NNSTUDIO_SPLIT_BATCHES", "0")
    monkeypatch.setenv("NNSTUDIO_BLAS_THREADS", "1")
    x, y, source = bench.load_training_images(limit=8_000)
    layers = bench.MODELS["cnn-same"]
    runners = {
        "nnstudio": bench.NnstudioEpochs("cnn-same", x, y),
        "PyTorch": TorchEpochs(layers, x, y, bench.BATCH_SIZE, threads=1),
    }
    seconds = {name: [] for name in runners}
    for epoch in range(5 + bench.WARMUP_EPOCHS):
        for name, runner in runners.items():
            start = time.process_time()
            runner.run_epoch()
            if epoch >= bench.WARMUP_EPOCHS:
                seconds[name].append(time.process_time() - start)
    medians = {name: float(np.median(values)) for name, values in seconds.items()}
    ratio = medians["nnstudio"] / medians["PyTorch"]
    print(
        f"\ncnn-same on {len(x)} images ({source}), CPU seconds per epoch on one thread: "
        f"nnstudio {medians['nnstudio']:.2f}, PyTorch {medians['PyTorch']:.2f} -> {ratio:.2f}x"
    )
    assert ratio <= 1.0


def _toy_epochs(x, y, packed: bool):
    """A Playground-sized network (2-8-8-2, tanh, Adam, batch 16) on a 2-D set, one epoch
    per call; ``packed=False`` gives every layer separate arrays again (the state before
    engine/flat.py), so its optimizer steps array by array."""
    runner = bench.NnstudioEpochs("mlp", x, y, batch_size=16)
    runner.model = Sequential.from_config({"input_shape": [2], "layers": TOY_LAYERS}, seed=0)
    runner.optimizer = get_optimizer("adam", lr=1e-2)
    if not packed:
        for layer in runner.model.layers:
            layer.params = {name: array.copy() for name, array in layer.params.items()}
            layer.grads = {name: array.copy() for name, array in layer.grads.items()}
    return runner


def test_flat_optimizer_step_on_a_small_network():
    """The time per batch of a Playground-sized network, whose steps are mostly NumPy's
    per-call overhead, with the weights in one buffer and apart, interleaved."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8000, 2)).astype(np.float32)
    y = (x[:, 0] * x[:, 1] > 0).astype(np.int64)
    runners = {"flat": _toy_epochs(x, y, packed=True), "apart": _toy_epochs(x, y, packed=False)}
    for round_number in range(8 + bench.WARMUP_EPOCHS):
        names = list(runners) if round_number % 2 == 0 else list(reversed(runners))
        for name in names:
            runners[name].run_epoch()
    batches = len(x) / 16
    per_batch = {name: r.result()["median"] / batches * 1e6 for name, r in runners.items()}
    ratio = per_batch["flat"] / per_batch["apart"]
    print(
        f"\n2-8-8-2 network, batch 16: {per_batch['flat']:.0f} us per batch with one buffer, "
        f"{per_batch['apart']:.0f} us apart -> {ratio:.2f}x"
    )
    assert ratio < 1.0


def test_mnist_mlp_preset_reaches_98_percent_in_under_a_minute(mnist_path, monkeypatch):
    monkeypatch.setenv("NNSTUDIO_MNIST_DIR", str(mnist_path))
    result = bench.train_preset("mnist-mlp", report=print)
    print(result)
    assert result["test_accuracy"] >= 0.98
    assert result["fit_seconds"] < 60


@pytest.mark.slow
def test_mnist_cnn_preset_reaches_99_percent(mnist_path, monkeypatch):
    monkeypatch.setenv("NNSTUDIO_MNIST_DIR", str(mnist_path))
    result = bench.train_preset("mnist-cnn", report=print)
    print(result)
    assert result["test_accuracy"] >= 0.99
