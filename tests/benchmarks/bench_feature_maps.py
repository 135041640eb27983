"""The feature-map view costs the window's training loop less than 5 %.

    NNSTUDIO_BENCH=1 pytest tests/benchmarks/bench_feature_maps.py -s

A small CNN (Conv2D(8, 5×5) → MaxPool → Conv2D(16, 3×3) → MaxPool → Dense(10)) trains on real
MNIST in the window, on the Training tab, with Training → Feature maps… open (updating at
most twice a second) and closed, in interleaved pairs; the goal is on the median of the
pairs' speed ratios (the loop's own samples per second), as in bench_gui.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

from tests.benchmarks.bench_gui import window_speed
from tests.benchmarks.conftest import open_mnist_preset

pytestmark = pytest.mark.benchmark

EPOCHS = 1
PAIRS = 8
GOAL = 0.95  # open / closed
SMALL_CNN = {
    "input_shape": [1, 28, 28],
    "layers": [
        {"type": "Conv2D", "filters": 8, "kernel_size": 5, "activation": "relu"},
        {"type": "MaxPool2D", "pool_size": 2},
        {"type": "Conv2D", "filters": 16, "kernel_size": 3, "activation": "relu"},
        {"type": "MaxPool2D", "pool_size": 2},
        {"type": "Flatten"},
        {"type": "Dense", "units": 10},
    ],
}


def _speed(qtbot, window, view_open: bool) -> tuple[float, float, int]:
    """Mean epoch speed, wall time and the view's updates of one run."""
    dialog = window.feature_maps.dialog
    dialog.setVisible(view_open)
    updates = dialog.updates
    speed, wall, _lateness, _gui = window_speed(qtbot, window, epochs=EPOCHS)
    return speed, wall, dialog.updates - updates


def test_the_feature_map_view_costs_training_under_5_percent(
    qtbot, mnist_path, monkeypatch, isolated_settings
):
    from nnstudio.ui.style import apply_style
    from nnstudio.ui.window.main_window import MainWindow

    monkeypatch.setenv("NNSTUDIO_MNIST_DIR", str(mnist_path))
    apply_style(QApplication.instance())
    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(1366, 768)
    window.show()
    open_mnist_preset(qtbot, window, "mnist-cnn")
    window.builder.set_config(SMALL_CNN)
    qtbot.waitUntil(lambda: window.model is not None and len(window.model.layers) == 6)
    window.tabs.setCurrentWidget(window.training_tab)
    assert window.feature_maps.open() is not None

    _speed(qtbot, window, view_open=True)  # warm-up: the first run fills caches once
    results = []
    for pair in range(PAIRS):  # interleaved, the order flipped each pair (see bench_gui.py)
        for view_open in (True, False) if pair % 2 == 0 else (False, True):
            results.append((view_open, *_speed(qtbot, window, view_open)))
    opened = [speed for view_open, speed, *_ in results if view_open]
    closed = [speed for view_open, speed, *_ in results if not view_open]
    ratios = [o / c for o, c in zip(opened, closed, strict=True)]
    ratio = float(np.median(ratios))
    print(f"\nsmall CNN on MNIST ({window.dataset.x_train.shape[0]} images, {EPOCHS} epoch/run)")
    for view_open, speed, wall, updates in results:
        state = f"open ({updates:3d} updates)" if view_open else "closed           "
        print(f"  view {state} {speed:8,.0f} samples/s   wall {wall:6.2f} s")
    print(
        f"  with the view open: {ratio:.1%} of the speed with it closed (median of {PAIRS} "
        f"pairs; pairs {min(ratios):.0%}–{max(ratios):.0%})"
    )
    assert all(updates > 0 for view_open, *_r, updates in results if view_open)
    window.training.shutdown()
    assert ratio >= GOAL
