"""The data layer's speed goals (data issue), measured on this machine.

    NNSTUDIO_BENCH=1 pytest tests/benchmarks/bench_data.py -s
    python tests/benchmarks/bench_data.py          # the same figures, without pytest

- Loading the full MNIST (60,000 + 10,000 gzip IDX images, split, float32 in [0, 1]) through
  `load_dataset("mnist")`: median of 5 runs under 2 s.
- Augmenting a batch of 128 MNIST images (`augment_images`, default settings): median well
  under one training step on that batch — at most half a step of the mnist-cnn preset, and
  the MLP step is printed next to it.

Every figure is printed (run with -s); the assertions are the goals.
"""

import contextlib
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.benchmark

MNIST_LOAD_GOAL_SECONDS = 2.0
AUGMENT_SHARE_OF_CNN_STEP_GOAL = 0.5


def median_seconds(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@contextlib.contextmanager
def mnist_dir(folder):
    """NNSTUDIO_MNIST_DIR=folder for the duration, so `load_dataset("mnist")` finds it."""
    old = os.environ.get("NNSTUDIO_MNIST_DIR")
    os.environ["NNSTUDIO_MNIST_DIR"] = str(folder)
    try:
        yield
    finally:
        if old is None:
            del os.environ["NNSTUDIO_MNIST_DIR"]
        else:
            os.environ["NNSTUDIO_MNIST_DIR"] = old


def measure_mnist_load(folder) -> dict:
    from nnstudio.data import load_dataset

    with mnist_dir(folder):
        seconds = median_seconds(lambda: load_dataset("mnist"), 5)
    return {"mnist_load_median_s": seconds}


def training_step(preset: str, x: np.ndarray, y: np.ndarray):
    """One forward/backward/update of a preset's model on the batch, as fit() does it."""
    from nnstudio.engine.losses import get_loss
    from nnstudio.engine.model import Sequential
    from nnstudio.engine.optimizers import get_optimizer
    from nnstudio.project import load_preset

    project = load_preset(preset)
    model = Sequential.from_config(project.model)
    model.build(tuple(x.shape[1:]))
    loss = get_loss("softmax_crossentropy")
    optimizer = get_optimizer("adam", lr=1e-3)

    def step():
        outputs = model.forward(x, training=True)
        _, grad = loss.value_and_grad(outputs, y)
        model.backward(grad)
        optimizer.step(model.parameters(), model.gradients())

    return step


def measure_augmentation(folder) -> dict:
    from nnstudio.data import augment_images, load_dataset

    with mnist_dir(folder):
        dataset = load_dataset("mnist")
    x, y = dataset.x_train[:128], dataset.y_train[:128]
    rng = np.random.default_rng(0)
    augment = median_seconds(lambda: augment_images(x, rng), 50)
    results = {"augment_128_median_ms": augment * 1e3}
    for preset, repeats in (("mnist-mlp", 50), ("mnist-cnn", 10)):
        step = training_step(preset, x, y)
        step()  # warm up
        results[f"{preset}_step_128_median_ms"] = median_seconds(step, repeats) * 1e3
    results["augment_share_of_cnn_step"] = (
        results["augment_128_median_ms"] / results["mnist-cnn_step_128_median_ms"]
    )
    results["augment_share_of_mlp_step"] = (
        results["augment_128_median_ms"] / results["mnist-mlp_step_128_median_ms"]
    )
    return results


def test_full_mnist_loads_in_under_two_seconds(mnist_path):
    result = measure_mnist_load(mnist_path)
    print(
        f"\nload_dataset('mnist'): median of 5 runs {result['mnist_load_median_s']:.3f} s "
        f"(goal < {MNIST_LOAD_GOAL_SECONDS} s)"
    )
    assert result["mnist_load_median_s"] < MNIST_LOAD_GOAL_SECONDS


def test_augmenting_a_batch_costs_well_under_a_training_step(mnist_path):
    result = measure_augmentation(mnist_path)
    print()
    for key, value in result.items():
        print(f"  {key}: {value:.3f}")
    assert result["augment_share_of_cnn_step"] <= AUGMENT_SHARE_OF_CNN_STEP_GOAL


if __name__ == "__main__":
    root = Path(__file__).resolve().parents[2]
    folder = os.environ.get("NNSTUDIO_MNIST_DIR") or root.parent / "shared" / "data" / "mnist"
    for measure in (measure_mnist_load, measure_augmentation):
        for key, value in measure(folder).items():
            print(f"{key}: {value:.3f}")
    sys.exit(0)
