"""``nnstudio bench``: the engine's speed on this machine (also tests/benchmarks/bench_engine.py).

Measures the median epoch time over MNIST-shaped data (the real MNIST training set when it is
found, random data of the same shape otherwise) for

- the MLP 784-128-10 (ReLU, softmax cross-entropy, Adam, batch 128, float32),
- the CNN conv3x3(16)-relu-maxpool-conv3x3(32)-relu-maxpool-dense(128)-dense(10),
- the same CNN with "same" padding (``cnn-same``: 28×28 and 14×14 convolutions), and its
  stride-2 form without pooling (``cnn-same-s2``),

through the real fit loop, next to PyTorch's CPU build (bench_torch.py: same model, optimizer,
batch size and threads; only when torch is importable — it is never a dependency) and, for the
MLP, the matrix-product floor: the same GEMMs alone, with no activation, loss or optimizer work.
nnstudio's and PyTorch's epochs are interleaved (one of each per round, the order alternating)
so that other work on the machine slows both alike; the medians and their ratio are reported.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from nnstudio.cli.bench_torch import (
    LEARNING_RATE,
    WARMUP_EPOCHS,
    TorchEpochs,
    torch_available,
)
from nnstudio.engine.blas import describe_blas

EXIT_OK = 0

BATCH_SIZE = 128
MLP_LAYERS = [
    {"type": "Flatten"},
    {"type": "Dense", "units": 128, "activation": "relu"},
    {"type": "Dense", "units": 10},
]
CNN_LAYERS = [
    {"type": "Conv2D", "filters": 16, "kernel_size": 3, "activation": "relu"},
    {"type": "MaxPool2D", "pool_size": 2},
    {"type": "Conv2D", "filters": 32, "kernel_size": 3, "activation": "relu"},
    {"type": "MaxPool2D", "pool_size": 2},
    {"type": "Flatten"},
    {"type": "Dense", "units": 128, "activation": "relu"},
    {"type": "Dense", "units": 10},
]


def same_padding_cnn(stride: int) -> list[dict]:
    """c16-same-c32-same-128-10: with a 2×2 max-pool after each conv for stride 1 (the
    padded counterpart of CNN_LAYERS), without for stride 2 (the stride halves the size)."""
    layers = []
    for filters in (16, 32):
        layers.append(
            {
                "type": "Conv2D",
                "filters": filters,
                "kernel_size": 3,
                "stride": stride,
                "padding": "same",
                "activation": "relu",
            }
        )
        if stride == 1:
            layers.append({"type": "MaxPool2D", "pool_size": 2})
    return layers + CNN_LAYERS[-3:]


MODELS = {
    "mlp": MLP_LAYERS,
    "cnn": CNN_LAYERS,
    "cnn-same": same_padding_cnn(stride=1),
    "cnn-same-s2": same_padding_cnn(stride=2),
}


def load_training_images(limit: int | None = None, seed: int = 0):
    """MNIST's 60,000 training images as (N, 1, 28, 28) float32 and int64 labels, or random
    data of the same shape when MNIST is not on this machine. Returns (x, y, source)."""
    x = y = None
    source = "synthetic (MNIST not found)"
    try:
        from nnstudio.data.catalog import find_mnist, load_dataset

        folder = find_mnist("mnist")
        if folder is not None:
            # No validation/test carve-out: the benchmark is defined on all 60,000 images.
            dataset = load_dataset("mnist", val_fraction=0.0)
            x, y = dataset.x_train, dataset.y_train
            source = f"MNIST from {folder}"
    except (ImportError, ValueError, OSError):
        x = None
    if x is None:
        rng = np.random.default_rng(seed)
        n = 60_000 if limit is None else min(limit, 60_000)
        x = rng.random((n, 1, 28, 28), dtype=np.float32)
        y = rng.integers(0, 10, n).astype(np.int64)
    if limit is not None:
        x, y = x[:limit], y[:limit]
    return np.ascontiguousarray(x, dtype=np.float32), np.asarray(y, dtype=np.int64), source


def blas_description() -> str:
    """Which BLAS numpy uses, its run-time kernel and threads, e.g.
    "openblas 0.3.31 kernel SkylakeX, 2 threads" (plus the OPENBLAS_* and OMP_* settings)."""
    text = describe_blas() or _numpy_build_blas()
    environment = {
        k: os.environ[k]
        for k in (
            "OPENBLAS_CORETYPE",
            "OPENBLAS_L2_SIZE",
            "OPENBLAS_NUM_THREADS",
            "OMP_NUM_THREADS",
        )
        if k in os.environ
    }
    if environment:
        text += " (" + ", ".join(f"{k}={v}" for k, v in environment.items()) + ")"
    return text


def _numpy_build_blas() -> str:
    """The BLAS numpy was built with, when the loaded one cannot be asked."""
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version')}"
    except (TypeError, KeyError, AttributeError):
        return "unknown BLAS"


def _median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


# -- nnstudio -----------------------------------------------------------------------------------


class _EpochTimes:
    """fit() callback that keeps each epoch's seconds and loss."""

    def __init__(self, report: Callable[[str], None] | None):
        self.seconds: list[float] = []
        self.losses: list[float] = []
        self.report = report

    def on_epoch_end(self, info: dict[str, Any]) -> None:
        self.seconds.append(float(info["seconds"]))
        self.losses.append(float(info["loss"]))
        if self.report:
            self.report(
                f"  nnstudio epoch {info['epoch']}: {info['seconds']:.2f} s, "
                f"loss {info['loss']:.4f}"
            )


class NnstudioEpochs:
    """The model trained one epoch per call to :meth:`run_epoch` through the real fit loop
    (the same model and optimizer carry on, as in one long ``fit``)."""

    def __init__(self, kind: str, x, y, batch_size: int = BATCH_SIZE, seed: int = 0, report=None):
        from nnstudio.engine.losses import get_loss
        from nnstudio.engine.model import Sequential
        from nnstudio.engine.optimizers import get_optimizer

        config = {"input_shape": list(x.shape[1:]), "layers": MODELS[kind]}
        self.model = Sequential.from_config(config, seed=seed)
        self.loss = get_loss("softmax_crossentropy")
        self.optimizer = get_optimizer("adam", lr=LEARNING_RATE)
        self.x, self.y, self.batch_size, self.seed = x, y, batch_size, seed
        self.times = _EpochTimes(report)

    def run_epoch(self) -> float:
        """Train one more epoch; returns its seconds (as the fit loop measured them)."""
        from nnstudio.engine.fit import FitConfig, fit

        done = len(self.times.seconds)
        config = FitConfig(
            epochs=done + 1, batch_size=self.batch_size, shuffle=True, seed=self.seed
        )
        fit(
            self.model,
            self.loss,
            self.optimizer,
            self.x,
            self.y,
            config,
            callbacks=[self.times],
            initial_epoch=done,
        )
        return self.times.seconds[-1]

    def result(self) -> dict[str, Any]:
        seconds = self.times.seconds[WARMUP_EPOCHS:]
        return {"seconds": seconds, "losses": self.times.losses, "median": _median(seconds)}


def time_nnstudio(
    kind: str,
    x,
    y,
    epochs: int = 3,
    batch_size: int = BATCH_SIZE,
    seed: int = 0,
    report: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Train the model with nnstudio's fit loop; returns epoch seconds and losses."""
    runner = NnstudioEpochs(kind, x, y, batch_size, seed, report)
    for _ in range(epochs + WARMUP_EPOCHS):
        runner.run_epoch()
    return runner.result()


# -- PyTorch ------------------------------------------------------------------------------------


def time_torch(
    kind: str,
    x,
    y,
    epochs: int = 3,
    batch_size: int = BATCH_SIZE,
    seed: int = 0,
    threads: int = 2,
    report: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """The same model, Adam, batch size and threads in PyTorch (CPU); epoch seconds."""
    runner = TorchEpochs(MODELS[kind], x, y, batch_size, seed, threads, report)
    for _ in range(epochs + WARMUP_EPOCHS):
        runner.run_epoch()
    return runner.result()


# -- the matrix-product floor ---------------------------------------------------------------------


def time_gemm_floor(
    x,
    epochs: int = 3,
    batch_size: int = BATCH_SIZE,
    hidden: int = 128,
    classes: int = 10,
    seed: int = 0,
) -> dict[str, Any]:
    """Time only the five GEMMs of one MLP training step per batch, for a whole epoch:
    forward x@W1 and h@W2, backward h.T@g (dW2), g@W2.T (dh) and x.T@dh (dW1). The input
    gradient of the first layer is not needed, so it is not counted."""
    rng = np.random.default_rng(seed)
    flat = np.ascontiguousarray(x.reshape(len(x), -1), dtype=np.float32)
    features = flat.shape[1]
    w1 = rng.standard_normal((features, hidden), dtype=np.float32) * 0.05
    w2 = rng.standard_normal((hidden, classes), dtype=np.float32) * 0.05
    dw1, dw2 = np.empty_like(w1), np.empty_like(w2)
    seconds = []
    for _ in range(epochs + WARMUP_EPOCHS):
        start = time.perf_counter()
        for first in range(0, len(flat), batch_size):
            batch = flat[first : first + batch_size]
            h = batch @ w1
            g = h @ w2
            np.matmul(h.T, g, out=dw2)
            dh = g @ w2.T
            np.matmul(batch.T, dh, out=dw1)
        seconds.append(time.perf_counter() - start)
    seconds = seconds[WARMUP_EPOCHS:]
    return {"seconds": seconds, "median": _median(seconds)}


# -- all together -------------------------------------------------------------------------------


def run_benchmarks(
    kinds=("mlp", "cnn"),
    epochs: int = 3,
    limit: int | None = None,
    use_torch: bool | None = None,
    threads: int = 2,
    report: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run every measurement; returns plain data (see `format_report`)."""
    x, y, source = load_training_images(limit)
    use_torch = torch_available() if use_torch is None else use_torch
    results: dict[str, Any] = {
        "data": source,
        "samples": int(len(x)),
        "epochs": epochs,
        "batch_size": BATCH_SIZE,
        "blas": blas_description(),
        "cpu_count": os.cpu_count(),
        "threads": threads,
        # Other work on the machine slows BLAS threads badly: keep the load with the figures.
        "load_average_before": _load_average(),
        "models": {},
    }
    for kind in kinds:
        if report:
            report(f"{kind.upper()}: nnstudio" + (" and PyTorch, interleaved" if use_torch else ""))
        results["models"][kind] = _time_interleaved(kind, x, y, epochs, use_torch, threads, report)
    results["load_average_after"] = _load_average()
    return results


def _time_interleaved(kind, x, y, epochs, use_torch, threads, report) -> dict[str, Any]:
    """nnstudio's epochs and (with ``use_torch``) PyTorch's taken in turns, so that both
    meet the same load on the machine; who goes first alternates from round to round."""
    contenders = [NnstudioEpochs(kind, x, y, report=report)]
    if use_torch:
        contenders.append(
            TorchEpochs(MODELS[kind], x, y, BATCH_SIZE, threads=threads, report=report)
        )
    for round_number in range(epochs + WARMUP_EPOCHS):
        turn = contenders if round_number % 2 == 0 else contenders[::-1]
        for contender in turn:
            contender.run_epoch()
    entry: dict[str, Any] = {"nnstudio": contenders[0].result()}
    if use_torch:
        entry["torch"] = contenders[1].result()
        entry["ratio_to_torch"] = entry["nnstudio"]["median"] / entry["torch"]["median"]
    if kind == "mlp":
        entry["gemm_floor"] = time_gemm_floor(x, epochs)
        entry["ratio_to_floor"] = entry["nnstudio"]["median"] / entry["gemm_floor"]["median"]
    return entry


def _load_average() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):  # not on Windows
        return None


GOALS = {
    "mlp": {"ratio_to_torch": 0.5, "ratio_to_floor": 2.5},
    "cnn": {"ratio_to_torch": 0.8},
    "cnn-same": {"ratio_to_torch": 1.0},
    "cnn-same-s2": {"ratio_to_torch": 1.0},
}


def format_report(results: dict[str, Any]) -> str:
    """A small table of median epoch times and the ratios against the goals."""
    lines = [
        f"data: {results['data']}, {results['samples']} samples, batch {results['batch_size']}, "
        f"median of {results['epochs']} epochs after {WARMUP_EPOCHS} warm-up",
        f"numpy BLAS: {results['blas']}; CPUs: {results['cpu_count']}; load average "
        f"{results.get('load_average_before')} before, {results.get('load_average_after')} after",
    ]
    for kind, entry in results["models"].items():
        lines.append(f"{kind.upper()}: nnstudio {entry['nnstudio']['median']:.2f} s/epoch")
        if "torch" in entry:
            goal = GOALS[kind]["ratio_to_torch"]
            lines.append(
                f"  PyTorch {entry['torch']['version']} ({entry['torch']['threads']} threads) "
                f"{entry['torch']['median']:.2f} s/epoch -> nnstudio/PyTorch "
                f"{entry['ratio_to_torch']:.2f}x (goal <= {goal}x)"
            )
        if "gemm_floor" in entry:
            goal = GOALS[kind]["ratio_to_floor"]
            lines.append(
                f"  GEMM floor {entry['gemm_floor']['median']:.2f} s/epoch -> nnstudio/floor "
                f"{entry['ratio_to_floor']:.2f}x (goal <= {goal}x)"
            )
    return "\n".join(lines)


def train_preset(name: str, report: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Train a shipped preset as `nnstudio train --preset NAME` does; returns the test
    accuracy and the seconds spent in the fit loop (data loading not counted)."""
    from nnstudio.engine.fit import fit
    from nnstudio.engine.metrics import evaluate
    from nnstudio.project import load_preset

    project = load_preset(name)
    dataset = project.load_dataset()
    model = project.build_model(dataset)
    loss = project.make_loss()

    class Report:
        def on_epoch_end(self, info):
            if report:
                report(
                    f"  {name} epoch {info['epoch']}: {info['seconds']:.1f} s, "
                    f"val_accuracy {info.get('val_accuracy')}"
                )

    started = time.perf_counter()
    result = fit(
        model,
        loss,
        project.make_optimizer(),
        dataset.x_train,
        dataset.y_train,
        project.fit_config(),
        validation_data=dataset.validation_data,
        callbacks=[Report()],
        augment=project.make_augment(dataset),
    )
    seconds = time.perf_counter() - started
    test = evaluate(model, loss, dataset.x_test, dataset.y_test)
    return {
        "preset": name,
        "test_accuracy": float(test["accuracy"]),
        "fit_seconds": seconds,
        "epochs": result.epochs_completed,
        "train_samples": int(len(dataset.x_train)),
    }


# -- the command --------------------------------------------------------------------------------


class BenchUsageError(ValueError):
    """A bad --models value."""


def _models(text: str) -> list[str]:
    kinds = [part.strip().lower() for part in text.split(",") if part.strip()]
    unknown = [kind for kind in kinds if kind not in MODELS]
    if unknown or not kinds:
        raise BenchUsageError(
            f"--models: unknown model {', '.join(unknown) or text!r}; use {', '.join(MODELS)}"
        )
    return kinds


def run_bench(args: argparse.Namespace) -> int:
    kinds = _models(args.models)
    if not args.no_torch and not torch_available():
        print("nnstudio: PyTorch is not installed; timing nnstudio alone", file=sys.stderr)

    # Progress goes to stderr so that --json leaves stdout to the result alone.
    def report(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    results = run_benchmarks(
        kinds,
        epochs=args.epochs,
        limit=args.samples,
        use_torch=False if args.no_torch else None,
        threads=args.threads,
        report=report,
    )
    print(json.dumps(results) if args.json else format_report(results))
    return EXIT_OK
