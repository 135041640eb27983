"""Files the size of their work (issue 31): a saved project with its model file.

    NNSTUDIO_BENCH=1 pytest tests/benchmarks/bench_project_size.py -s

The first-launch spiral trained for 200 epochs, then New and the same again (the held-out
check's path: nothing of the first project may reach the file), saved: under 3 MB. The MNIST
MLP preset trained for 20 epochs and saved: under 20 MB (needs the real MNIST).
"""

from __future__ import annotations

import pytest

from tests.benchmarks.conftest import open_mnist_preset

pytestmark = pytest.mark.benchmark

SPIRAL_EPOCHS, SPIRAL_GOAL = 200, 3_000_000
MNIST_EPOCHS, MNIST_GOAL = 20, 20_000_000


def _window(qtbot):
    from nnstudio.ui.window.main_window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.model is not None, timeout=60_000)
    return window


def _train(qtbot, window, epochs: int) -> None:
    window.hyperparameters.epochs_box.setValue(epochs)
    with qtbot.waitSignal(window.training_finished, timeout=1_800_000):
        window.actionTrain.trigger()


def _saved_bytes(window, path) -> int:
    assert window.files.write_project(path)
    sizes = {p.name: p.stat().st_size for p in path.parent.iterdir()}
    print(f"\n{sizes}")
    return sum(sizes.values())


def test_a_200_epoch_spiral_run_saves_under_3_mb(qtbot, isolated_settings, tmp_path):
    window = _window(qtbot)
    _train(qtbot, window, SPIRAL_EPOCHS)
    window.files.new_project()
    qtbot.waitUntil(lambda: not window.document.awaiting_dataset and window.model is not None)
    _train(qtbot, window, SPIRAL_EPOCHS)
    (tmp_path / "out").mkdir()
    assert _saved_bytes(window, tmp_path / "out" / "spiral.nnsproj") < SPIRAL_GOAL


def test_a_20_epoch_mnist_mlp_run_saves_under_20_mb(
    qtbot, isolated_settings, tmp_path, mnist_path, monkeypatch
):
    monkeypatch.setenv("NNSTUDIO_MNIST_DIR", str(mnist_path))
    window = _window(qtbot)
    open_mnist_preset(qtbot, window, "mnist-mlp")
    _train(qtbot, window, MNIST_EPOCHS)
    (tmp_path / "out").mkdir()
    assert _saved_bytes(window, tmp_path / "out" / "mnist.nnsproj") < MNIST_GOAL
