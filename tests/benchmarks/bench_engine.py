"""The engine's speed and accuracy goals (engine issue), measured on this machine.

    NNSTUDIO_BENCH=1 pytest tests/benchmarks -s

- MLP 784-128-10 (ReLU, softmax cross-entropy, Adam, batch 128, float32, 60,000 images):
  median epoch time at most 0.5x PyTorch's (same model, optimizer, batch, threads; epochs
  interleaved with PyTorch's) and within 2.5x of the matrix-product floor.
- CNN conv3x3(16)-relu-maxpool-conv3x3(32)-relu-maxpool-dense(128)-dense(10): at most 0.8x
  PyTorch's epoch time (issue 22).
- The fused Conv2D + MaxPool2D training step (layers/fused.py): the CNN's epoch faster with it
  than without (NNSTUDIO_FUSE_CONV_POOL=0), the two interleaved.
- MNIST test accuracy: the mnist-mlp preset >= 98.0 % trained in under 60 s, the mnist-cnn
  preset >= 99.0 %.

Every figure is printed (run with -s); the assertions are the goals.
"""

import pytest

from nnstudio.cli import bench

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
