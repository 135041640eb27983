"""Scripted random window sessions (issue 23): a seeded random sequence of what a user does
(train, pause, step, stop, reset, switch dataset, edit layers, change hyperparameters, open
good and bad projects, save, evaluate, switch tabs) on a real MainWindow, asserting that no
exception reaches the user and that nothing hangs (every wait is bounded).

Quick by default (3 sessions of 30 actions); NNSTUDIO_FUZZ_SESSIONS=50 and
NNSTUDIO_FUZZ_ACTIONS=200 run longer. A failure names its seed: NNSTUDIO_FUZZ_SEED=<seed>
with NNSTUDIO_FUZZ_SESSIONS=1 replays it.
"""

from __future__ import annotations

import json
import os
import sys
import threading

import numpy as np
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox

from nnstudio.project import load_preset, save_project

SESSIONS = int(os.environ.get("NNSTUDIO_FUZZ_SESSIONS", "3") or 3)
ACTIONS = int(os.environ.get("NNSTUDIO_FUZZ_ACTIONS", "30") or 30)
FIRST_SEED = int(os.environ.get("NNSTUDIO_FUZZ_SEED", "0") or 0)
TOY_SETS = ("spiral", "moons", "circles", "xor", "gaussian")
WAIT_MS = 20_000  # the longest any single wait may take; past it the session has hung
LAYERS = ("Dense", "Dropout", "Activation", "BatchNorm")


@pytest.fixture
def isolated(tmp_path, monkeypatch, qapp):
    """Settings and autosaves inside tmp_path, and no dialog that could wait for a user."""
    from nnstudio.ui.window.files import FileController

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "cfg"))
    monkeypatch.setenv("NNSTUDIO_DATA_DIR", str(tmp_path / "data"))
    qapp.setOrganizationName("nnstudio-fuzz")
    qapp.setApplicationName("nnstudio-fuzz")
    QSettings().clear()
    monkeypatch.setattr(
        FileController, "ask_save_changes", lambda self: QMessageBox.StandardButton.Discard
    )
    for name in ("question", "warning", "information", "critical"):
        monkeypatch.setattr(QMessageBox, name, lambda *a, **k: QMessageBox.StandardButton.No)
    return tmp_path


@pytest.fixture
def uncaught(monkeypatch):
    """Exceptions that reach sys.excepthook or threading.excepthook (pytest-qt also fails the
    test for any raised in a Qt slot or virtual method)."""
    seen = []
    previous = sys.excepthook

    def hook(kind, value, trace):
        seen.append(value)
        previous(kind, value, trace)

    monkeypatch.setattr(sys, "excepthook", hook)
    monkeypatch.setattr(threading, "excepthook", lambda args: seen.append(args.exc_value))
    return seen


def project_files(folder):
    """A good project and bad ones (each a defect the fuzzing found)."""
    project = load_preset("spiral-mlp")
    project.model["layers"] = [
        {"type": "Dense", "units": 8, "activation": "relu"},
        {"type": "Dense", "units": 3},
    ]
    project.dataset.options = {"samples": 150, "noise": 0.1, "classes": 3}
    project.training.epochs = 3
    good = save_project(project, folder / "good.nnsproj")
    data = json.loads(good.read_text())
    bad = []
    for number, (section, key, value) in enumerate(
        [
            ("training", "seed", 2**80),
            ("training", "batch_size", 10**12),
            ("training", "optimizer_settings", {"momentum": "fast"}),
            ("dataset", "options", {"test_fraction": "a"}),
            ("dataset", "options", {"columns": 5}),
            ("model", "layers", [{"type": "Dense", "units": 100_000}] * 3),
        ]
    ):
        broken = json.loads(json.dumps(data))
        broken[section][key] = value
        path = folder / f"bad{number}.nnsproj"
        path.write_text(json.dumps(broken))
        bad.append(path)
    nested = folder / "nested.nnsproj"
    nested.write_text('{"format": "nnstudio-project", "version": 1, "model": ' + "[" * 100_000)
    bad.append(nested)
    return good, bad


class Session:
    """One random session on ``window``; each action is a method, chosen by the rng."""

    def __init__(self, qtbot, window, rng, folder):
        self.qtbot, self.window, self.rng, self.folder = qtbot, window, rng, folder
        self.good, self.bad = project_files(folder)
        self.saves = 0
        self.log: list[str] = []

    def run(self, count: int) -> None:
        actions = [name for name in dir(self) if name.startswith("do_")]
        for _ in range(count):
            name = actions[self.rng.integers(len(actions))]
            self.log.append(name)
            getattr(self, name)()
            self.qtbot.wait(int(self.rng.integers(0, 60)))
            assert self.window.state in ("idle", "training", "paused"), self.log

    def settle(self) -> None:
        """Stop whatever runs and wait (bounded) until the window is idle and loaded."""
        window = self.window
        window.actionStop.trigger()
        self.qtbot.waitUntil(lambda: window.session is None, timeout=WAIT_MS)
        self.wait_for_data()

    def wait_for_data(self) -> None:
        self.qtbot.waitUntil(lambda: not self.window.data_panel.is_loading(), timeout=WAIT_MS)

    # -- training --------------------------------------------------------------------------
    def do_train(self):
        self.window.actionTrain.trigger()

    def do_pause(self):
        self.window.actionPause.trigger()

    def do_step(self):
        self.window.actionStep.trigger()

    def do_stop(self):
        self.window.actionStop.trigger()
        self.qtbot.waitUntil(lambda: self.window.session is None, timeout=WAIT_MS)

    def do_reset(self):
        self.window.actionReset.trigger()

    # -- data, layers, settings ------------------------------------------------------------
    def do_switch_dataset(self):
        name = TOY_SETS[self.rng.integers(len(TOY_SETS))]
        picker = self.window.data_panel.picker
        picker.setCurrentIndex(picker.findData(name))
        self.wait_for_data()

    def do_edit_layers(self):
        builder = self.window.builder
        rows = len(builder.config()["layers"])
        choice = self.rng.integers(4)
        if choice == 0 or rows == 0:
            layer = LAYERS[self.rng.integers(len(LAYERS))]
            builder.insert_layer(int(self.rng.integers(rows + 1)), layer)
        elif choice == 1:
            builder.remove_layer(int(self.rng.integers(rows)))
        elif choice == 2:
            config = builder.config()
            dense = [i for i, layer in enumerate(config["layers"]) if layer["type"] == "Dense"]
            if dense:
                row = dense[self.rng.integers(len(dense))]
                builder.set_setting(row, "units", int(self.rng.choice([1, 2, 3, 8, 32])))
        else:
            builder.undo_stack.undo()

    def do_change_hyperparameters(self):
        panel, choice = self.window.hyperparameters, self.rng.integers(4)
        if choice == 0:
            panel.batch_size_box.setValue(int(self.rng.choice([1, 8, 32, 500])))
        elif choice == 1:
            self.window.toolbar_lr.setValue(float(self.rng.choice([1e-4, 0.01, 0.1, 50.0])))
        elif choice == 2:
            panel.epochs_box.setValue(int(self.rng.integers(1, 4)))
        else:
            box = panel.optimizer_box
            box.setCurrentIndex(int(self.rng.integers(box.count())))

    # -- files -----------------------------------------------------------------------------
    def do_open_good(self):
        assert self.window.open_project(self.good), self.window.message_bar.text()
        self.wait_for_data()

    def do_open_bad(self):
        before = self.window.document.to_project().to_dict(), self.window.document.path
        path = self.bad[self.rng.integers(len(self.bad))]
        assert not self.window.open_project(path)
        assert (self.window.document.to_project().to_dict(), self.window.document.path) == before
        assert self.window.message_bar.isVisible()

    def do_save(self):
        self.saves += 1
        self.window.files.write_project(self.folder / f"saved{self.saves}.nnsproj")

    # -- views -----------------------------------------------------------------------------
    def do_evaluate(self):
        self.window.evaluation.evaluate_button.click()

    def do_switch_tab(self):
        self.window.tabs.setCurrentIndex(int(self.rng.integers(self.window.tabs.count())))


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(FIRST_SEED, FIRST_SEED + SESSIONS))
def test_a_random_window_session(qtbot, isolated, uncaught, seed):
    from nnstudio.ui.window.main_window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    session = Session(qtbot, window, np.random.default_rng(seed), isolated)
    try:
        session.wait_for_data()
        window.hyperparameters.epochs_box.setValue(3)
        session.run(ACTIONS)
        session.settle()
        window.evaluation.wait(WAIT_MS)
    finally:
        window.training.shutdown()
    assert not uncaught, (seed, session.log, uncaught)
    assert window.close()


# -- hostile model files as a project's weights (issue 23, item 9) --------------------------------


@pytest.mark.slow
def test_hostile_weights_files_never_raise_in_the_window(qtbot, isolated, uncaught, tmp_path):
    """Every hostile .nnz of the corpus, named as the weights of a moons project whose layers
    match the corpus's good model: the window says the weights could not be used (or uses
    them), and always ends with a model to train."""
    import resource

    import hostile_corpus

    from nnstudio.ui.window.main_window import MainWindow

    folder = tmp_path / "corpus"
    folder.mkdir()
    _, info, weights = hostile_corpus.good_model(folder)
    variants = hostile_corpus._model_variants(folder, info, weights)
    project = load_preset("spiral-mlp")
    project.dataset = type(project.dataset)("moons", {"samples": 60})
    project.model = {"layers": [{"type": "Dense", "units": 8, "activation": "relu"}]}
    project.model["layers"].append({"type": "Dense", "units": 2})
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    outcomes = {}
    for name, path in sorted(variants.items()):
        project.weights = str(path)
        file = save_project(project, tmp_path / "hostile.nnsproj")
        window.message_bar.hide()
        assert window.open_project(file), (name, window.message_bar.text())
        qtbot.waitUntil(
            lambda: window.model is not None and not window.document.awaiting_dataset,
            timeout=WAIT_MS,
        )
        used = window.document.weights_restored
        outcomes[name] = "used" if used else "refused"
        if not used:  # and the user is told
            assert window.message_bar.isVisible(), name
            assert "could not be used" in window.message_bar.text(), name
        assert not uncaught, (name, uncaught)
    assert outcomes["zero-weights"] == "used"  # a file that fits is still loaded
    must_refuse = hostile_corpus.MUST_REFUSE & set(outcomes) - {"nan-weights", "inf-weights"}
    assert {name for name in must_refuse if outcomes[name] != "refused"} == set()
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) / 1024
    assert grown_mb < 1500, grown_mb  # the bombs were refused before being inflated
    window.training.shutdown()
