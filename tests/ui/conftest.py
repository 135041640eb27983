"""Shared fixtures for window tests: settings, autosaves and dialogs kept out of the way."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox


@pytest.fixture
def isolated_settings(tmp_path, monkeypatch, qapp):
    """QSettings and the user data folder (autosaves) inside tmp_path for this test only."""
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "cfg"))
    monkeypatch.setenv("NNSTUDIO_DATA_DIR", str(tmp_path / "data"))
    qapp.setOrganizationName("nnstudio-tests")
    qapp.setApplicationName("nnstudio-tests")
    QSettings().clear()
    return tmp_path


def wait_until_ready(qtbot, window, name=None):
    """The data panel loads datasets on a worker thread: wait for the dataset and the model."""
    qtbot.waitUntil(
        lambda: (
            window.dataset is not None
            and (name is None or window.dataset.name == name)
            and window.model is not None
            and not window.document.awaiting_dataset
        ),
        timeout=20_000,
    )


@pytest.fixture
def make_window(qtbot, isolated_settings, monkeypatch):
    """Build MainWindows that never block on a dialog and always stop their training."""
    from nnstudio.ui.window.files import FileController
    from nnstudio.ui.window.main_window import MainWindow

    monkeypatch.setattr(
        FileController, "ask_save_changes", lambda self: QMessageBox.StandardButton.Discard
    )
    windows = []

    def make(**kwargs):
        window = MainWindow(**kwargs)
        qtbot.addWidget(window)
        windows.append(window)
        if kwargs.get("load_default", True):
            wait_until_ready(qtbot, window)
        return window

    yield make
    for window in windows:
        window.training.shutdown()


@pytest.fixture
def window(make_window):
    """The first-launch window (spiral + small MLP) with short runs."""
    window = make_window()
    window.hyperparameters.epochs_box.setValue(8)
    return window


@pytest.fixture
def ready(qtbot):
    """``ready(window, name=None)`` waits until the window's dataset and model are there."""
    return lambda window, name=None: wait_until_ready(qtbot, window, name)


def _epochs(n, start=1):
    return [
        {
            "epoch": e,
            "loss": 1.0 / e,
            "val_loss": 1.2 / e,
            "accuracy": 1 - 0.5 / e,
            "val_accuracy": 1 - 0.6 / e,
            "lr": 0.01,
            "seconds": 0.1,
            "samples_per_second": 1e4,
            "grad_norms": {"0 Dense": 0.5 / e, "1 Dense": 0.0},
        }
        for e in range(start, start + n)
    ]


@pytest.fixture
def epochs():
    """``epochs(n, start=1)``: n made-up epoch reports, as the training worker sends them."""
    return _epochs
