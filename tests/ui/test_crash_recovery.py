"""Crash recovery (issue 23, item 4): the window autosaves while training runs, from a copy
of the weights the worker hands over at an epoch end, and a relaunch after a crash restores
those weights (not only the layers)."""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QMessageBox

from nnstudio.engine.io import load_model
from nnstudio.project import load_project
from nnstudio.project.autosave import Autosave

DEAD_PID = 2**22 + 4242  # above Linux's default pid_max: a process that is gone


def test_autosave_during_training_is_what_a_relaunch_restores(
    qtbot, window, make_window, ready, monkeypatch, tmp_path
):
    # The window writes its autosave as the killed process would have: under a pid that is
    # gone, which is how the next launch recognises a leftover.
    crashed = Autosave(window.files.autosave.folder, pid=DEAD_PID)
    window.files.autosave = crashed
    initial = {k: v.copy() for k, v in window.model.parameters().items()}
    window.hyperparameters.epochs_box.setValue(100_000)
    # Ask for a copy at (about) each epoch end.
    monkeypatch.setattr("nnstudio.ui.window.training.AUTOSAVE_CHEAP_MS", 50)
    window.actionTrain.trigger()
    qtbot.waitUntil(lambda: crashed.weights_path.exists(), timeout=20_000)
    assert window.session is not None  # written while the worker owned the model
    # The "crash": the process stops writing there (later saves go elsewhere); stop it.
    window.files.autosave = Autosave(tmp_path / "elsewhere")
    window.training.shutdown()
    saved_project = load_project(crashed.path)
    assert saved_project.weights == crashed.weights_path.name
    autosaved = load_model(crashed.weights_path).model.parameters()
    assert any(not np.array_equal(autosaved[k], initial[k]) for k in initial)  # trained

    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    relaunched = make_window()
    assert crashed.path in relaunched.files.autosave.leftovers()
    relaunched.offer_restore()
    ready(relaunched)
    assert "could not be used" not in relaunched.message_bar.text()
    for name, value in autosaved.items():
        np.testing.assert_array_equal(relaunched.model.parameters()[name], value)
    assert relaunched.isWindowModified() and relaunched.document.path is None
    assert not relaunched.files.autosave.leftovers()  # adopted: not offered a second time
    assert relaunched.files.autosave.weights_path.exists()  # safe until a clean exit


def test_no_autosave_while_an_opened_project_waits_for_its_dataset(window):
    window.document.mark_weights_changed()  # unsaved work
    window.document.awaiting_dataset = True
    window.files.autosave_now()
    assert not window.files.autosave.path.exists()


def test_no_autosave_after_a_clean_close(qtbot, make_window, monkeypatch):
    """Issue 38: the autosave timer outlived the window's close and wrote again after the
    clean exit removed the file; the next start then asked about a crash."""
    window = make_window()
    window.show()
    window.builder.set_settings_everywhere({"l2": 0.001})  # something unsaved
    monkeypatch.setattr(window.files, "maybe_save", lambda: True)
    window.close()
    assert not window.files._autosave_timer.isActive()
    window.files.autosave_now()  # a timer event still queued
    assert not window.files.autosave.path.exists()
