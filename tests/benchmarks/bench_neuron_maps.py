"""The per-neuron maps cost the window's training loop less than 5 % (issue 35).

    NNSTUDIO_BENCH=1 NNSTUDIO_TEST_HANG_SECONDS=900 \
        pytest tests/benchmarks/bench_neuron_maps.py -s -n0

(about three minutes: longer than the test suite's one-minute watchdog allows a test.)

The window trains its first-launch project (the spiral: 2-D points, three hidden layers of 64
ReLU units) on the Model tab, once with the diagram visible — its maps made from every
training snapshot, and one unit's dialog open and following them — and once with the diagram
hidden (no maps made, no dialog). Other tenants of the machine change its speed within a
minute: short runs in interleaved pairs, the order flipped from pair to pair, and the median
of the pairs' speed ratios.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

pytestmark = pytest.mark.benchmark

EPOCHS = 100  # 42,000 samples: a few seconds a run on 2 cores
PAIRS = 12


class RefreshTimer:
    """Counts the diagram's picture refreshes while it shows (the open unit dialog's own
    refresh runs inside them) and the GUI-thread CPU time they take."""

    def __init__(self, diagram):
        self.diagram = diagram
        self.count, self.seconds = 0, 0.0
        self._refresh = diagram._refresh_pictures
        diagram._refresh_pictures = self

    def __call__(self):
        started = time.thread_time()
        self._refresh()
        if self.diagram.isVisible():
            self.seconds += time.thread_time() - started
            self.count += 1


def window_speed(qtbot, window, maps: bool, timer: RefreshTimer) -> tuple[float, float, int]:
    """Mean epoch speed, wall time and the picture refreshes of one run."""
    builder = window.builder
    window.actionReset.trigger()
    builder.diagram.setVisible(maps)
    if maps:
        builder.open_neuron(1, 0)
    elif builder.neuron_dialog is not None:
        builder.neuron_dialog.close()
    refreshes = timer.count
    started = time.perf_counter()
    with qtbot.waitSignal(window.training_finished, timeout=300_000) as blocker:
        window.actionTrain.trigger()
        window.tabs.setCurrentWidget(builder)  # Train shows the Training tab: back
    wall = time.perf_counter() - started
    history = blocker.args[0]["history"]
    speed = float(np.mean([e["samples_per_second"] for e in history]))
    return speed, wall, timer.count - refreshes


def test_the_maps_cost_training_less_than_five_percent(qtbot, isolated_settings):
    from nnstudio.ui.style import apply_style
    from nnstudio.ui.window.main_window import MainWindow

    apply_style(QApplication.instance())
    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(1366, 768)
    window.show()
    qtbot.waitUntil(lambda: window.dataset is not None and window.model is not None)
    assert window.builder.diagram.shows_plane
    window.hyperparameters.epochs_box.setValue(EPOCHS)
    timer = RefreshTimer(window.builder.diagram)

    window_speed(qtbot, window, True, timer)  # warm-up: first items, caches
    runs = []
    for pair in range(PAIRS):
        for maps in (True, False) if pair % 2 == 0 else (False, True):
            runs.append((maps, *window_speed(qtbot, window, maps, timer)))
    shown = [speed for maps, speed, *_ in runs if maps]
    hidden = [speed for maps, speed, *_ in runs if not maps]
    ratios = [s / h for s, h in zip(shown, hidden, strict=True)]
    ratio = float(np.median(ratios))
    refreshes = sum(count for maps, _s, _w, count in runs if maps)
    seconds = sum(wall for maps, _s, wall, _c in runs if maps)
    print(f"\nSpiral 2-64-64-64-3, {EPOCHS} epochs a run, {PAIRS} pairs")
    for maps, speed, wall, count in runs:
        label = "maps shown" if maps else "maps hidden"
        print(f"  {label:11s} {speed:8,.0f} samples/s   wall {wall:5.2f} s   refreshes {count}")
    per_refresh = timer.seconds / max(timer.count, 1)
    print(
        f"  with the maps = {ratio:.1%} of the speed without (median of {PAIRS} pairs; "
        f"pairs {min(ratios):.0%}–{max(ratios):.0%})\n"
        f"  {refreshes / seconds:.1f} refreshes a second while training, "
        f"{1000 * per_refresh:.1f} ms of GUI-thread CPU each: "
        f"{refreshes / seconds * per_refresh:.1%} of one core"
    )
    window.training.shutdown()
    assert ratio >= 0.95
