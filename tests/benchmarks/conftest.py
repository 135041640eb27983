"""Speed benchmarks run on demand: `NNSTUDIO_BENCH=1 pytest tests/benchmarks -s`.

Files here are named bench_*.py (collected through `python_files` in pyproject.toml); this
conftest skips them unless NNSTUDIO_BENCH=1, so the normal test run times nothing.
"""

import os
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    if os.environ.get("NNSTUDIO_BENCH") == "1":
        return
    skip = pytest.mark.skip(reason="benchmarks run only with NNSTUDIO_BENCH=1")
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(skip)


@pytest.fixture
def isolated_settings(tmp_path, monkeypatch, qapp):
    """Window settings and autosaves in tmp_path, not in the user's folders; closing a window
    at teardown never waits on a "save changes?" dialog."""
    from PySide6.QtCore import QSettings

    from nnstudio.ui.window.files import FileController

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path))
    monkeypatch.setenv("NNSTUDIO_DATA_DIR", str(tmp_path / "data"))
    qapp.setOrganizationName("nnstudio-bench")
    monkeypatch.setattr(FileController, "maybe_save", lambda self: True)
    return tmp_path


def open_mnist_preset(qtbot, window, preset: str) -> None:
    """Open the shipped MNIST preset ``preset`` and wait until its data and model are there."""
    from nnstudio.project.presets import shipped_presets_dir

    assert window.open_project(shipped_presets_dir() / f"{preset}.nnsproj")
    qtbot.waitUntil(
        lambda: (
            window.dataset is not None
            and window.dataset.name == "mnist"
            and window.model is not None
        ),
        timeout=120_000,
    )


def training_window(qtbot, monkeypatch, mnist_path, preset: str = "mnist-mlp"):
    """A desktop-sized window (bigger plots cost more to paint) with an MNIST preset (the
    MLP unless told) open on its Training tab, as the GUI benchmarks train it."""
    from PySide6.QtWidgets import QApplication

    from nnstudio.ui.style import apply_style
    from nnstudio.ui.window.main_window import MainWindow

    monkeypatch.setenv("NNSTUDIO_MNIST_DIR", str(mnist_path))
    apply_style(QApplication.instance())
    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(1400, 880)
    window.show()
    open_mnist_preset(qtbot, window, preset)
    window.tabs.setCurrentWidget(window.training_tab)
    return window
