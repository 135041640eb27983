"""The window stays responsive while it trains, and training in it is nearly as fast as headless.

    NNSTUDIO_BENCH=1 pytest tests/benchmarks/bench_gui.py -s

Goals (PRODUCT.md "Speed and size budgets"), with the mnist-mlp preset on real MNIST:
- a 10 ms QTimer in the GUI thread is late by at most 30 ms at the 99th percentile while the
  window trains (Training tab visible, curves and histograms updating);
- training inside the window runs at >= 95 % of the headless speed on the same data, in every
  one of 6 interleaved pairs (issue 39). Headless is what `nnstudio train` runs: the fit loop
  with the training doctor sampling layer health (the window shows the same health and
  warnings). The bare fit loop, without the doctor, is timed in the same pairs and its ratio
  printed too.
The second test holds the mnist-cnn preset to the same >= 95 % (4 pairs of one-epoch runs).
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
from PySide6.QtCore import Qt, QTimer

from tests.benchmarks.conftest import training_window

pytestmark = pytest.mark.benchmark

# Two epochs a run: speeds are per-epoch figures (a run's start and end, such as the thread
# start and the final evaluation, are not in them), and short runs make close pairs.
EPOCHS = 2
# Other tenants of the machine change its speed by up to 25 % within a minute: short,
# interleaved pairs, the order flipped from pair to pair; each pair must reach the goal.
PAIRS = 6
GOAL = 0.95
# The CNN: an epoch of the 54,000 images takes 5 s, long enough for one epoch a run.
CNN_EPOCHS = 1
CNN_PAIRS = 4


class LatenessProbe:
    """A 10 ms timer that records how late each timeout comes."""

    def __init__(self, interval_ms: int = 10):
        self.interval = interval_ms / 1000
        self.lateness: list[float] = []
        self.timer = QTimer(interval=interval_ms, timerType=Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self._tick)

    def start(self):
        self.last = time.perf_counter()
        self.timer.start()

    def _tick(self):
        now = time.perf_counter()
        self.lateness.append(max(0.0, now - self.last - self.interval))
        self.last = now

    def stop(self):
        self.timer.stop()
        return np.array(self.lateness) * 1000


def headless_speed(project, dataset, doctor: bool = True, epochs=EPOCHS) -> tuple[float, float]:
    from nnstudio.engine.fit import fit
    from nnstudio.project.doctor import TrainingDoctor

    model = project.build_model(dataset)
    config = project.fit_config()
    config.epochs = epochs
    optimizer = project.make_optimizer()
    callbacks = [TrainingDoctor(optimizer=optimizer)] if doctor else []
    started = time.perf_counter()
    result = fit(
        model,
        project.make_loss(),
        optimizer,
        dataset.x_train,
        dataset.y_train,
        config,
        validation_data=(dataset.x_val, dataset.y_val),
        callbacks=callbacks,
        augment=project.make_augment(dataset),  # as `nnstudio train` and the window do
    )
    wall = time.perf_counter() - started
    return float(np.mean([e["samples_per_second"] for e in result.history])), wall


def window_speed(qtbot, window, epochs=EPOCHS) -> tuple[float, float, np.ndarray, float]:
    """Mean epoch speed, wall time, timer lateness and the GUI thread's CPU seconds: every
    GUI-thread second is taken from the training thread and its BLAS helper on 2 cores."""
    window.hyperparameters.epochs_box.setValue(epochs)
    window.actionReset.trigger()
    # The window shows the reset (empty plots, histograms and health) before Train is
    # pressed, as it does for a user: not while the first batches train.
    qtbot.wait(200)
    probe = LatenessProbe()
    probe.start()
    started, gui_cpu = time.perf_counter(), time.thread_time()
    with qtbot.waitSignal(window.training_finished, timeout=600_000) as blocker:
        window.actionTrain.trigger()
    wall, gui_cpu = time.perf_counter() - started, time.thread_time() - gui_cpu
    lateness = probe.stop()
    history = blocker.args[0]["history"]
    return float(np.mean([e["samples_per_second"] for e in history])), wall, lateness, gui_cpu


def test_window_responsive_and_fast_while_training_mnist(
    qtbot, mnist_path, monkeypatch, isolated_settings
):
    window = training_window(qtbot, monkeypatch, mnist_path)
    ratios, lateness = interleaved_pairs(qtbot, window, EPOCHS, PAIRS)
    p99 = np.percentile(lateness, 99)
    assert p99 <= 30.0
    assert min(ratios) >= GOAL, f"pairs {[f'{r:.0%}' for r in ratios]}"


def test_cnn_trains_in_the_window_nearly_as_fast_as_headless(
    qtbot, mnist_path, monkeypatch, isolated_settings
):
    """The MNIST CNN, whose batches are split over the two cores (the second half in a
    helper process): the GUI thread shares Python's lock with the training thread only."""
    window = training_window(qtbot, monkeypatch, mnist_path, preset="mnist-cnn")
    ratios, _ = interleaved_pairs(qtbot, window, CNN_EPOCHS, CNN_PAIRS)
    assert min(ratios) >= GOAL, f"pairs {[f'{r:.0%}' for r in ratios]}"


def interleaved_pairs(qtbot, window, epochs: int, pairs: int):
    """Runs in the window, headless and bare, interleaved; prints them and returns the
    window-to-headless ratio of each pair and the 10 ms timer's lateness in the window."""
    project = window.document.to_project()
    # Warm-up: the first run in a window builds its plots' items and fills caches once.
    window_speed(qtbot, window, epochs=1)
    results = []
    # Interleaved pairs: what else the shared machine does drifts, so each pair compares like
    # with like, and flipping the order cancels a steady drift; the median of the pairs'
    # ratios ignores the odd pair that another job disturbed.
    for pair in range(pairs):
        order = ("headless", "window", "bare fit")
        for name in order if pair % 2 == 0 else order[::-1]:
            if name == "window":
                results.append(("window", *window_speed(qtbot, window, epochs)))
            else:
                doctor = name == "headless"
                run = headless_speed(project, window.dataset, doctor, epochs)
                results.append((name, *run))
    window.training.shutdown()
    return report(window, results, epochs)


def report(window, results, epochs: int):
    headless = [r[1] for r in results if r[0] == "headless"]
    bare = [r[1] for r in results if r[0] == "bare fit"]
    inside = [r[1] for r in results if r[0] == "window"]
    ratios = [w / h for w, h in zip(inside, headless, strict=True)]
    bare_ratios = [w / b for w, b in zip(inside, bare, strict=True)]
    lateness = np.concatenate([r[3] for r in results if r[0] == "window"])
    p50, p99, worst = np.percentile(lateness, 50), np.percentile(lateness, 99), lateness.max()
    layers = ", ".join(type(layer).__name__ for layer in window.model.layers)
    print(f"\n{layers} ({window.dataset.x_train.shape[0]} training images, {epochs} epochs/run)")
    for name, speed, wall, *rest in results:
        gui = f"   GUI thread CPU {rest[1]:5.2f} s ({rest[1] / epochs:.3f} s/epoch)" if rest else ""
        print(f"  {name:9s} {speed:10,.0f} samples/s   wall {wall:6.2f} s{gui}")
    gui_cpu = [r[4] / epochs for r in results if r[0] == "window"]
    print(
        f"  GUI thread CPU per epoch (a run's, start and end included): median "
        f"{np.median(gui_cpu):.3f} s "
        f"({min(gui_cpu):.3f}–{max(gui_cpu):.3f}); load average at the end "
        f"{os.getloadavg()[0]:.2f} (a shared machine: the GUI's CPU is the figure load "
        "changes least)"
    )
    print(
        f"  in-window speed = {np.median(ratios):.1%} of headless (median of {len(ratios)} "
        f"pairs; medians {np.median(inside):,.0f} vs {np.median(headless):,.0f} samples/s; "
        f"pairs {min(ratios):.0%}–{max(ratios):.0%}: {', '.join(f'{r:.0%}' for r in ratios)})"
    )
    print(
        f"  against the bare fit loop (no layer health): {np.median(bare_ratios):.1%} (pairs "
        f"{', '.join(f'{r:.0%}' for r in bare_ratios)})"
    )
    # Two headless runs that differ only by the doctor's ~1 %: how far this machine alone
    # moves a pair (the floor under the window's pairs).
    same = [h / b for h, b in zip(headless, bare, strict=True)]
    print(
        f"  headless against the bare fit loop, the machine's own scatter: pairs "
        f"{', '.join(f'{r:.0%}' for r in same)}"
    )
    print(
        f"  10 ms timer lateness over {len(lateness)} ticks: p50 {p50:.1f} ms, "
        f"p99 {p99:.1f} ms, max {worst:.1f} ms"
    )
    return ratios, lateness
