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
from dataclasses import dataclass

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox

from nnstudio.project import load_preset
from nnstudio.project.settings import DATASET_SETTINGS, TRAINING_SETTINGS

WRONG = object()  # an edge that must be refused
RIGHT = object()  # an edge that must be accepted
UNSET = object()  # null: accepted where the setting may be unset (or means "the default")
ANY = object()  # judged alike, whichever way (a rule across settings may refuse it)
# Far beyond any use, for a setting with no upper bound: if accepted, never clamped.
HUGE = {"int": 10**7, "float": 1e12}


def _bound_edges(setting, bound, side: int) -> list[tuple[str, object, object]]:
    """The bound and the value just outside it (side -1: the minimum, +1: the maximum); for an
    exclusive bound, the bound itself is outside and a value just inside is accepted."""
    name = "min" if side < 0 else "max"
    exclusive = setting.exclusive_minimum if side < 0 else setting.exclusive_maximum
    step = 1 if setting.kind == "int" else max(abs(bound), 1.0) * 1e-6
    if exclusive:
        return [(f"inside-{name}", bound - side * step, RIGHT), (name, bound, WRONG)]
    outside = bound + side if setting.kind == "int" else math.nextafter(bound, side * math.inf)
    return [(name, bound, RIGHT), (f"beyond-{name}", outside, WRONG)]


def _number_edges(setting) -> list[tuple[str, object, object]]:
    edges = [("wrong-type", "x", WRONG)]
    if setting.minimum is not None:
        edges += _bound_edges(setting, setting.minimum, -1)
    if setting.maximum is not None:
        edges += _bound_edges(setting, setting.maximum, +1)
    else:
        edges.append(("huge", HUGE[setting.kind], ANY))
    return edges


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


@dataclass(frozen=True)
class Place:
    """Where a setting lives in a project file, and where the window shows it."""

    section: str  # "training", "dataset", "optimizer" or "schedule"
    owner: str = ""  # the optimizer or schedule whose setting it is

    def write(self, data: dict, name: str, value) -> None:
        training = data["training"]
        if self.section == "training":
            training[name] = value
        elif self.section == "dataset":
            data["dataset"]["options"][name] = value
        else:  # the chosen optimizer's or schedule's own settings
            training[self.section] = self.owner
            training[f"{self.section}_settings"] = {**_GOES_WITH.get(name, {}), name: value}

    def shown(self, window, name: str):
        if self.section == "training":  # the Hyperparameters dock's controls
            return window.hyperparameters.settings()[name]
        if self.section == "dataset":
            return window.data_panel.options.options("spiral").get(name)
        rows = getattr(window.hyperparameters, f"{self.section}_rows")
        return rows.values(self.owner)[name]

    def label(self, name: str) -> str:
        return f"{self.owner or self.section}.{name}"


# Settings that another setting must accompany (Nesterov momentum needs some momentum).
_GOES_WITH = {"nesterov": {"momentum": 0.9}}


def _places():
    from nnstudio.engine.registry import OPTIMIZERS, SCHEDULES
    from nnstudio.ui.panels.hyperparameter_fields import OWNED_BY_THE_DOCK

    yield from ((Place("training"), s) for s in TRAINING_SETTINGS)
    yield from ((Place("dataset"), s) for s in DATASET_SETTINGS)
    for section, table in (("optimizer", OPTIMIZERS), ("schedule", SCHEDULES)):
        for key, cls in table.items():
            # lr and total_steps are the project's learning rate and epochs, described above
            shown = [s for s in cls.SETTINGS if s.name not in OWNED_BY_THE_DOCK]
            yield from ((Place(section, key), s) for s in shown)


def _cases():
    for place, setting in _places():
        for edge, value, verdict in _edges(setting):
            yield pytest.param(
                place, setting, value, verdict, id=f"{place.label(setting.name)}-{edge}"
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


def _project_file(folder, place, setting, value):
    project = load_preset("spiral-mlp")
    project.model["layers"] = [{"type": "Dense", "units": 4, "activation": "relu"}]
    project.model["layers"].append({"type": "Dense", "units": 2})
    project.dataset.options = {"samples": 200}
    data = project.to_dict()
    place.write(data, setting.name, value)
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


@pytest.mark.parametrize(("place", "setting", "value", "verdict"), CASES)
def test_the_window_and_the_cli_judge_every_edge_value_alike(
    qtbot, shared_window, train_parser, tmp_path, place, setting, value, verdict
):
    path = _project_file(tmp_path, place, setting, value)
    by_cli = _cli_accepts(train_parser, path)
    by_window = shared_window.open_project(path)
    assert by_cli == by_window, shared_window.message_bar.text()
    if verdict is UNSET:  # null: "the default" for a dataset option; "off" or "auto" where
        should_accept = place.section == "dataset" or setting.default is None  # one exists
    else:
        should_accept = by_window if verdict is ANY else verdict is RIGHT
    assert by_window == should_accept
    if by_window:  # its data loads on a worker: wait, so that no load overlaps the next
        qtbot.waitUntil(lambda: not shared_window.document.awaiting_dataset, timeout=20_000)
        toy_only = place.section != "dataset" or setting.name in _TOY_CONTROLS
        if setting.kind in ("int", "float") and value is not None and toy_only:
            assert place.shown(shared_window, setting.name) == value  # not clamped


# The Data dock's controls a toy set shows (the others belong to CSV files and pictures).
_TOY_CONTROLS = ("samples", "noise", "classes", "seed", "val_fraction", "test_fraction")
