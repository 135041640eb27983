"""Opening a project is transactional: a file that cannot be used leaves the window and the
document exactly as they were, with a message saying what is wrong (issue 23, item 5), and
no bad file makes an exception reach the user (item 9)."""

from __future__ import annotations

import contextlib
import json
import os
import threading

import pytest

from nnstudio.project import load_preset, load_project, save_project
from tests.ui.conftest import wait_until_ready


def good_project(tmp_path, name="good"):
    project = load_preset("spiral-mlp")
    project.model["layers"] = [
        {"type": "Dense", "units": 8, "activation": "relu"},
        {"type": "Dense", "units": 3},
    ]
    project.dataset.options = {"samples": 120, "noise": 0.1, "classes": 3}
    project.training.epochs = 3
    return save_project(project, tmp_path / f"{name}.nnsproj")


def project_dict(tmp_path):
    return json.loads(good_project(tmp_path, "template").read_text())


def _set(section, key, value):
    def change(data):
        data[section][key] = value

    return change


def _set_option(key, value):
    def change(data):
        data["dataset"]["options"][key] = value

    return change


def _momentum(data):
    data["training"]["optimizer"] = "sgd"
    data["training"]["optimizer_settings"] = {"momentum": "fast"}


# (what is wrong, how to break the file, words the message must contain)
BAD_PROJECTS = [
    ("seed 2**80", _set("training", "seed", 2**80), "seed"),
    ("batch size 1e12", _set("training", "batch_size", 10**12), "batch_size"),
    ("batch size 1e12 as a float", _set("training", "batch_size", 1e12), "batch_size"),
    ("momentum not a number", _momentum, "momentum"),
    ("test_fraction text", _set_option("test_fraction", "a"), "test_fraction"),
    ("columns a number", _set_option("columns", 5), "columns"),
    ("epochs 1e9", _set("training", "epochs", 10**9), "epochs"),
    ("units text", lambda d: d["model"]["layers"][0].update(units="many"), "units"),
    ("unknown layer", lambda d: d["model"]["layers"].insert(0, {"type": "Nope"}), "Nope"),
    # issue 38: a file outside the project's folder is not read (its first line was shown)
    ("dataset /etc/passwd", _set("dataset", "name", "csv:/etc/passwd"), "outside the folder"),
    ("dataset ../", _set("dataset", "name", "csv:../../etc/passwd"), "outside the folder"),
    ("weights ../", lambda d: d.update(weights="../elsewhere.nnz"), "outside the folder"),
]


def write_bad(tmp_path, change):
    data = project_dict(tmp_path)
    change(data)
    path = tmp_path / "bad.nnsproj"
    path.write_text(json.dumps(data))
    return path


def window_state(window):
    """Everything a failed open must leave as it was."""
    document = window.document
    return {
        "project": document.to_project().to_dict(),
        "path": document.path,
        "modified": document.is_modified(),
        "awaiting": document.awaiting_dataset,
        "title": window.windowTitle(),
        "hyperparameters": window.hyperparameters.settings(),
        "builder": window.builder.config(),
        "data": window.data_panel.spec(),
        "recent": list(window.files.recent_files),
        "model": window.model,
    }


@pytest.fixture
def opened(window, tmp_path, ready):
    """A window with a good project open and ready."""
    path = good_project(tmp_path)
    window.show()
    assert window.open_project(path)
    ready(window)
    return window, path


def assert_window_still_works(qtbot, window, good_path):
    # Builder edits reach the model again.
    config = window.builder.config()
    config["layers"][0]["units"] = 5
    window.builder.set_config(config)
    qtbot.waitUntil(lambda: window.model.parameters()["0.W"].shape == (2, 5), timeout=5000)
    # Save writes the good project's file, which opens again.
    assert window.files.save()
    assert window.document.path == good_path
    assert load_project(good_path).model["layers"][0]["units"] == 5


@pytest.mark.parametrize("what, change, words", BAD_PROJECTS, ids=[b[0] for b in BAD_PROJECTS])
def test_a_bad_project_leaves_the_window_as_it_was(qtbot, opened, tmp_path, what, change, words):
    window, good_path = opened
    bad = write_bad(tmp_path, change)
    before = window_state(window)
    bad_text = bad.read_text()
    assert not window.open_project(bad)
    assert window_state(window) == before, what
    message = window.message_bar.text()
    assert window.message_bar.isVisible() and words in message, message
    assert "bad.nnsproj" in message
    assert_window_still_works(qtbot, window, good_path)
    assert bad.read_text() == bad_text  # Save never wrote the file that failed to open


def test_deeply_nested_json_is_refused_with_a_message(qtbot, opened, tmp_path):
    window, good_path = opened
    bad = tmp_path / "nested.nnsproj"
    bad.write_text('{"format": "nnstudio-project", "version": 1, "metadata": ' + "[" * 200_000)
    before = window_state(window)
    assert not window.open_project(bad)
    assert window_state(window) == before
    assert "nested.nnsproj" in window.message_bar.text()
    assert_window_still_works(qtbot, window, good_path)


def test_a_model_too_big_to_build_is_refused(qtbot, opened, tmp_path):
    """Three Dense(100000) would need 80 GB of weights: refused before anything is built."""
    window, good_path = opened
    huge = [{"type": "Dense", "units": 100_000, "activation": "relu"} for _ in range(3)]

    def change(data):
        data["model"]["layers"] = [*huge, {"type": "Dense", "units": 3}]

    bad = write_bad(tmp_path, change)
    before = window_state(window)
    assert not window.open_project(bad)
    assert window_state(window) == before
    message = window.message_bar.text()
    assert "parameters" in message and "bad.nnsproj" in message, message
    assert_window_still_works(qtbot, window, good_path)


def test_a_model_too_big_built_in_the_builder_is_refused(qtbot, opened):
    window, _ = opened
    config = window.builder.config()
    config["layers"] = [
        *[{"type": "Dense", "units": 100_000} for _ in range(3)],
        {"type": "Dense", "units": 3},
    ]
    window.builder.set_config(config)
    qtbot.waitUntil(lambda: window.model is None, timeout=5000)
    assert "parameters" in window.message_bar.text()
    assert not window.actionTrain.isEnabled() or window.model is None


# -- files that would block or flood the GUI thread (items 2 and 3) ------------------------------


@contextlib.contextmanager
def fifo_watchdog(fifo, seconds=5.0):
    """If the code under test opens ``fifo`` and blocks, this writes a small CSV into it after
    ``seconds`` so the test ends (and fails) instead of hanging; ``unblocked`` tells."""
    state = {"unblocked": False}
    done = threading.Event()

    def rescue():
        if done.wait(seconds):
            return
        state["unblocked"] = True
        with open(fifo, "w") as writer:  # blocks until the reader under test is there
            writer.write("a,b,label\n1,2,0\n")

    thread = threading.Thread(target=rescue, daemon=True)
    thread.start()
    yield state
    done.set()
    if state["unblocked"]:
        thread.join(5)


def project_with(tmp_path, dataset=None, weights=None):
    data = project_dict(tmp_path)
    if dataset is not None:
        data["dataset"] = {"name": dataset, "options": {}}
    data["weights"] = weights
    path = tmp_path / "special.nnsproj"
    path.write_text(json.dumps(data))
    return path


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "pipe.csv"
    os.mkfifo(path)
    return path


def test_a_dataset_that_is_a_fifo_does_not_freeze_the_window(qtbot, opened, tmp_path, fifo):
    window, _ = opened
    path = project_with(tmp_path, dataset=f"csv:{fifo}")
    with fifo_watchdog(fifo) as watchdog:
        window.open_project(path)
        qtbot.waitUntil(lambda: not window.data_panel.is_loading(), timeout=10_000)
    assert not watchdog["unblocked"], "the window blocked opening the FIFO"
    assert "FIFO" in window.data_panel.message.text(), window.data_panel.message.text()


def test_a_project_file_that_is_a_fifo_is_refused(opened, tmp_path):
    window, _ = opened
    pipe = tmp_path / "pipe.nnsproj"
    os.mkfifo(pipe)
    before = window_state(window)
    with fifo_watchdog(pipe) as watchdog:
        assert not window.open_project(pipe)
    assert not watchdog["unblocked"]
    assert window_state(window) == before
    assert "FIFO" in window.message_bar.text()


def test_weights_that_are_a_fifo_do_not_freeze_the_window(qtbot, opened, tmp_path, ready):
    window, _ = opened
    pipe = tmp_path / "weights.nnz"
    os.mkfifo(pipe)
    path = project_with(tmp_path, weights="weights.nnz")
    with fifo_watchdog(pipe) as watchdog:
        assert window.open_project(path)
        ready(window)
    assert not watchdog["unblocked"], "the window blocked opening the FIFO"
    assert "weights.nnz could not be used" in window.message_bar.text()
    assert "FIFO" in window.message_bar.text()


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_a_dataset_of_dev_zero_is_refused_without_reading_it(qtbot, opened, tmp_path):
    window, _ = opened
    # Named by a project: outside its folder, so the project does not open (issue 38).
    assert not window.open_project(project_with(tmp_path, dataset="csv:/dev/zero"))
    assert "/dev/zero" in window.message_bar.text()
    assert "outside the folder" in window.message_bar.text()
    # Named by the user in the Data panel: refused as a device, before anything reads it.
    window.data_panel.set_spec("csv:/dev/zero", {})
    qtbot.waitUntil(lambda: not window.data_panel.is_loading(), timeout=10_000)
    assert "/dev/zero" in window.data_panel.message.text()
    assert "device" in window.data_panel.message.text()


def test_the_csv_preview_reads_a_bounded_head(tmp_path):
    from nnstudio.ui.panels import csv_preview

    endless = tmp_path / "one-line.csv"
    endless.write_bytes(b"a" * (csv_preview.PREVIEW_BYTES + 10))
    with pytest.raises(ValueError, match="no line break"):
        csv_preview.read_csv_head(str(endless))
    wide = tmp_path / "long.csv"
    row = ",".join(["1"] * 50) + "\n"
    wide.write_text(",".join(f"c{i}" for i in range(50)) + "\n" + row * 100_000)
    header, rows = csv_preview.read_csv_head(str(wide))
    assert len(header) == 50 and len(rows) == csv_preview.CSV_PREVIEW_ROWS
    assert all(len(r) == 50 for r in rows)


def test_a_panel_failing_while_it_takes_the_project_puts_everything_back(
    qtbot, opened, tmp_path, monkeypatch
):
    """Whatever the checks did not foresee: an exception while the panels show the new
    project rolls the document and the panels back, and is a message."""
    window, good_path = opened
    other = load_preset("spiral-mlp")
    other.training.batch_size = 77
    other.model["layers"][0]["units"] = 9
    path = save_project(other, tmp_path / "other.nnsproj")
    before = window_state(window)
    original = type(window.data_panel).set_spec

    def broken(panel, name, options=None):
        raise RuntimeError("the panel broke")

    monkeypatch.setattr(type(window.data_panel), "set_spec", broken)
    assert not window.open_project(path)
    monkeypatch.setattr(type(window.data_panel), "set_spec", original)
    assert window_state(window) == before
    assert "the panel broke" in window.message_bar.text()
    assert_window_still_works(qtbot, window, good_path)


def test_every_bundled_preset_passes_the_open_checks():
    from nnstudio.project import list_presets
    from nnstudio.project.project_checks import check_project

    names = list_presets()
    assert names
    for name in names:
        check_project(load_preset(name), name)  # raises OpenRefused if one would be refused


def test_a_failed_open_keeps_the_runs_and_their_curves(qtbot, window, tmp_path, monkeypatch):
    """One project at a time (issue 31) must not cost the current one its runs when the other
    cannot be opened."""
    window.hyperparameters.epochs_box.setValue(1)
    with qtbot.waitSignal(window.training_finished, timeout=20_000):
        window.actionTrain.trigger()
    run = window.current_run
    path = save_project(load_preset("spiral-mlp"), tmp_path / "other.nnsproj")

    def broken(panel, name, options=None):
        raise RuntimeError("the panel broke")

    monkeypatch.setattr(type(window.data_panel), "set_spec", broken)
    assert not window.open_project(path)
    assert window.document.runs == [run] and window.runs_panel.runs == [run]
    assert len(window.training_tab.plots.epochs) == 1


def test_launched_with_a_refused_file_the_reason_stays_after_the_default_loads(
    qtbot, make_window, tmp_path
):
    """nnstudio BAD.nnsproj (a double click in the file manager) opens the first-launch
    project instead; its dataset arriving must not clear the reason the file was refused."""
    data = project_dict(tmp_path)
    data["dataset"]["options"]["samples"] = 500_000
    path = tmp_path / "big.nnsproj"
    path.write_text(json.dumps(data))
    window = make_window(load_default=False)
    assert not window.open_project(path)
    wait_until_ready(qtbot, window)
    assert window.message_bar.isVisibleTo(window)
    assert "samples must be >= 20 and <= 100000; got 500000" in window.message_bar.text()
