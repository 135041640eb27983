"""The window and ``nnstudio train`` accept and refuse the same projects (issue 33).

For every training and dataset setting (project/settings.py) a project file holds its edge
values: the lowest and highest allowed, just below and just above them, null and a value of
the wrong type (for a name: the first and last known ones, an unknown one). The command line
judges each file as ``nnstudio train FILE`` does before it trains (the parser and the project
checks), the window by opening it; both must give the same verdict, the verdict the setting
describes, and a value the window accepts must reach its controls unchanged (not clamped).
Nothing trains; one window opens every file.
"""

from __future__ import annotations

import json
import math

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox

from nnstudio.project import load_preset
from nnstudio.project.settings import DATASET_SETTINGS, TRAINING_SETTINGS

WRONG = object()  # an edge that must be refused
RIGHT = object()  # an edge that must be accepted
UNSET = object()  # null: accepted exactly when the setting may be unset


def _number_edges(setting) -> list[tuple[str, object, object]]:
    low, high = setting.minimum, setting.maximum
    if setting.kind == "int":
        below, above = low - 1, high + 1
    else:
        below, above = math.nextafter(low, -math.inf), math.nextafter(high, math.inf)
    return [
        ("min", low, RIGHT),
        ("max", high, RIGHT),
        ("below-min", below, WRONG),
        ("above-max", above, WRONG),
        ("wrong-type", "x", WRONG),
    ]


def _choice_edges(setting) -> list[tuple[str, object, object]]:
    first, last = setting.choices[0], setting.choices[-1]
    return [
        ("first", first, RIGHT),
        ("last", last, RIGHT),
        ("unknown", "no-such-choice", WRONG),
        ("wrong-type", 3, WRONG),
    ]


def _edges(setting) -> list[tuple[str, object, object]]:
    if setting.kind == "bool":
        edges = [("true", True, RIGHT), ("false", False, RIGHT), ("wrong-type", "yes", WRONG)]
    elif setting.kind == "choice":
        edges = _choice_edges(setting)
    else:
        edges = _number_edges(setting)
    return [*edges, ("null", None, UNSET)]


def _cases():
    for section, settings in (("training", TRAINING_SETTINGS), ("dataset", DATASET_SETTINGS)):
        for setting in settings:
            for edge, value, verdict in _edges(setting):
                yield pytest.param(
                    section, setting, value, verdict, id=f"{section}.{setting.name}-{edge}"
                )


CASES = list(_cases())


@pytest.fixture(scope="module")
def shared_window(qapp, tmp_path_factory):
    """One window for every case (opening a file replaces the whole project), with its
    settings and data folder out of the way and no dialog asking to save."""
    from nnstudio.ui.window.files import FileController
    from nnstudio.ui.window.main_window import MainWindow

    folder = tmp_path_factory.mktemp("agree")
    with pytest.MonkeyPatch.context() as patch:
        QSettings.setDefaultFormat(QSettings.Format.IniFormat)
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))
        patch.setenv("NNSTUDIO_DATA_DIR", str(folder / "data"))
        patch.setattr(
            FileController, "ask_save_changes", lambda self: QMessageBox.StandardButton.Discard
        )
        window = MainWindow()
        yield window
        window.training.shutdown()
        window.close()
        window.deleteLater()


@pytest.fixture(scope="module")
def train_parser():
    from nnstudio.cli.main import build_parser

    return build_parser()


def _project_file(folder, section, setting, value):
    project = load_preset("spiral-mlp")
    project.model["layers"] = [{"type": "Dense", "units": 4, "activation": "relu"}]
    project.model["layers"].append({"type": "Dense", "units": 2})
    project.dataset.options = {"samples": 200}
    data = project.to_dict()
    target = data["training"] if section == "training" else data["dataset"]["options"]
    target[setting.name] = value
    path = folder / "edge.nnsproj"
    path.write_text(json.dumps(data))
    return path


def _cli_accepts(parser, path) -> bool:
    from nnstudio.cli.train_options import project_from_args

    try:
        project_from_args(parser.parse_args(["train", str(path)]))
    except ValueError:  # what `nnstudio train` reports in one line, exit 2
        return False
    return True


def _shown_by_the_window(window, section, setting):
    """The value the window's controls and document hold for the setting after opening."""
    if section == "training":
        return getattr(window.document.training, setting.name)
    return window.data_panel.options.options("spiral").get(setting.name)


@pytest.mark.parametrize(("section", "setting", "value", "verdict"), CASES)
def test_the_window_and_the_cli_judge_every_edge_value_alike(
    qtbot, shared_window, train_parser, tmp_path, section, setting, value, verdict
):
    path = _project_file(tmp_path, section, setting, value)
    by_cli = _cli_accepts(train_parser, path)
    by_window = shared_window.open_project(path)
    assert by_cli == by_window, shared_window.message_bar.text()
    if verdict is UNSET:  # null: "the default" for a dataset option; "off" or "auto" where
        should_accept = section == "dataset" or setting.default is None  # a setting has one
    else:
        should_accept = verdict is RIGHT
    assert by_window == should_accept
    if by_window:  # its data loads on a worker: wait, so that no load overlaps the next
        qtbot.waitUntil(lambda: not shared_window.document.awaiting_dataset, timeout=20_000)
        shown_by_controls = setting.kind in ("int", "float") and value is not None
        if shown_by_controls and (section == "training" or setting.name in _TOY_CONTROLS):
            assert _shown_by_the_window(shared_window, section, setting) == value


# The Data dock's controls a toy set shows (the others belong to CSV files and pictures).
_TOY_CONTROLS = ("samples", "noise", "classes", "seed", "val_fraction", "test_fraction")
