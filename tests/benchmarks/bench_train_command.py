"""The MLP 784-128-10 epoch through `nnstudio train` (the real command: the project, the
training doctor, validation, progress) against PyTorch, in one interleaved run (issue 39).

    NNSTUDIO_BENCH=1 NNSTUDIO_MNIST_DIR=... pytest -s tests/benchmarks/bench_train_command.py

Each round runs `nnstudio train --epochs 2 --json` in a fresh process (its second epoch is
timed: the first pays for start-up, as the bench's warm-up epoch does) and one PyTorch epoch
in this process, the order alternating from round to round, so that other work on the machine
slows both alike. PyTorch trains on the same 51,000 images with the same model, Adam, batch
size and rate, evaluates the same 9,000 validation images after its epoch (nnstudio's epoch
time includes its validation) and gets the BLAS threads nnstudio's rule gives (the free
cores: nnstudio/engine/blas.py). Goal: nnstudio's median at most 0.55× PyTorch's.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from nnstudio.cli import bench
from nnstudio.engine.blas import threads_for_the_load

pytestmark = pytest.mark.benchmark

ROUNDS = 5
GOAL = 0.55
REPOSITORY = Path(__file__).resolve().parents[2]
TRAIN = [
    "train",
    "--dataset",
    "mnist",
    "--layers",
    "Flatten,Dense(128,relu),Dense(10)",
    "--epochs",
    "2",
    "--batch-size",
    "128",
    "--optimizer",
    "adam",
    "--lr",
    "0.001",
    "--json",
]


def nnstudio_train_epoch(mnist_path) -> float:
    """The second epoch's seconds of a fresh `nnstudio train` process."""
    environment = {**os.environ, "NNSTUDIO_MNIST_DIR": str(mnist_path)}
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(REPOSITORY), environment.get("PYTHONPATH")])
    )
    done = subprocess.run(
        [sys.executable, "-m", "nnstudio", *TRAIN],
        capture_output=True,
        text=True,
        env=environment,
        check=True,
        timeout=600,
    )
    epochs = [json.loads(line) for line in done.stdout.splitlines() if '"epoch"' in line]
    return float(epochs[-1]["seconds"])


def test_mlp_epoch_through_nnstudio_train_against_pytorch(mnist_path, monkeypatch):
    if not bench.torch_available():
        pytest.skip("PyTorch is not installed: nothing to compare with")
    monkeypatch.setenv("NNSTUDIO_MNIST_DIR", str(mnist_path))
    from nnstudio.data.catalog import load_dataset

    dataset = load_dataset("mnist")  # what `train --dataset mnist` trains and validates on
    threads = threads_for_the_load()
    torch_epochs = bench.TorchEpochs(
        bench.MLP_LAYERS, dataset.x_train, dataset.y_train, bench.BATCH_SIZE, threads=threads
    )
    torch_epochs.validate_on(*dataset.validation_data)
    torch_epochs.run_epoch()  # PyTorch's warm-up (nnstudio's is each process's first epoch)
    ours, theirs = [], []
    for round_number in range(ROUNDS):
        turns = ["nnstudio", "torch"] if round_number % 2 == 0 else ["torch", "nnstudio"]
        for who in turns:
            if who == "nnstudio":
                ours.append(nnstudio_train_epoch(mnist_path))
            else:
                theirs.append(torch_epochs.run_epoch())
    ratio = statistics.median(ours) / statistics.median(theirs)
    print(
        f"\nMLP 784-128-10 on {len(dataset.x_train)} images (+{len(dataset.validation_data[0])}"
        f" validated), load average {os.getloadavg()[0]:.1f}, PyTorch on {threads} threads:"
        f"\n  nnstudio train {[round(s, 3) for s in ours]} s, median "
        f"{statistics.median(ours):.3f} s\n  PyTorch {[round(s, 3) for s in theirs]} s, median "
        f"{statistics.median(theirs):.3f} s\n  -> {ratio:.2f}x (goal <= {GOAL}x)"
    )
    assert ratio <= GOAL
