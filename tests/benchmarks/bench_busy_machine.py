"""One epoch on a busy machine: another process spins on one core, nnstudio and PyTorch side
by side (issue 39).

    NNSTUDIO_BENCH=1 CI=true NNSTUDIO_MNIST_DIR=... pytest -s tests/benchmarks/bench_busy_machine.py

Rounds alternate a quiet phase and a busy one (a `while True: pass` process running), the
order alternating; in each phase nnstudio and PyTorch train one epoch each, in turns. Each
one's slowdown is its busy median over its quiet median. nnstudio runs as it does for users
(BLAS threads chosen from the free cores before every epoch, the CNN's batches split over
two cores); PyTorch with its threads set to the cores, as its default is. Goal: nnstudio's
slowdown no worse than PyTorch's.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from contextlib import contextmanager

import pytest

from nnstudio.cli import bench
from nnstudio.engine.blas import busy_elsewhere, cores_for_this_process

pytestmark = pytest.mark.benchmark

ROUNDS = 3
#: Images per epoch: enough for a steady epoch, few enough for PyTorch's busy CNN epochs.
IMAGES = {"mlp": 10_000, "cnn-same": 2_000}


@contextmanager
def spinning_process():
    """Another program keeping one core busy for the duration of the block."""
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield
    finally:
        spinner.kill()
        spinner.wait()


def _epoch_pairs(kind):
    x, y, _ = bench.load_training_images(limit=IMAGES[kind])
    ours = bench.NnstudioEpochs(kind, x, y)
    theirs = bench.TorchEpochs(
        bench.MODELS[kind], x, y, bench.BATCH_SIZE, threads=cores_for_this_process()
    )
    ours.run_epoch(), theirs.run_epoch()  # warm-up for both
    return ours, theirs


@pytest.mark.parametrize("kind", list(IMAGES))
def test_a_busy_core_slows_nnstudio_no_more_than_pytorch(kind, mnist_path, monkeypatch):
    if not bench.torch_available():
        pytest.skip("PyTorch is not installed: nothing to compare with")
    monkeypatch.setenv("NNSTUDIO_MNIST_DIR", str(mnist_path))
    ours, theirs = _epoch_pairs(kind)
    times = {(who, phase): [] for who in ("nnstudio", "torch") for phase in ("quiet", "busy")}
    loads = []
    for round_number in range(ROUNDS):
        phases = ["quiet", "busy"] if round_number % 2 == 0 else ["busy", "quiet"]
        for phase in phases:
            with spinning_process() if phase == "busy" else _nothing():
                loads.append((phase, busy_elsewhere()))
                pair = [("nnstudio", ours), ("torch", theirs)]
                for who, runner in pair if round_number % 2 == 0 else pair[::-1]:
                    times[who, phase].append(runner.run_epoch())
    medians = {key: statistics.median(values) for key, values in times.items()}
    slowdown = {who: medians[who, "busy"] / medians[who, "quiet"] for who in ("nnstudio", "torch")}
    print(f"\n{kind.upper()} on {IMAGES[kind]} images, cores busy elsewhere at each phase: {loads}")
    for who in ("nnstudio", "torch"):
        print(
            f"  {who}: quiet {[round(s, 2) for s in times[who, 'quiet']]} s, busy "
            f"{[round(s, 2) for s in times[who, 'busy']]} s -> slowdown {slowdown[who]:.2f}x"
        )
    assert slowdown["nnstudio"] <= slowdown["torch"]


@contextmanager
def _nothing():
    yield
