"""What a project file must be for the window to open it whole, checked before anything in
the window changes: a file that fails here leaves the window and the document exactly as they
were (issue 23). Qt-free.

The parser (``load_project``) checks types; this adds what the window's panels can show (the
ranges of the Hyperparameters and Data docks, whose spin boxes would otherwise overflow or
silently clamp), that each layer, the loss, the optimizer and the schedule can be made from
their settings, and that the model is small enough to build.
"""

from __future__ import annotations

import inspect
from pathlib import Path

from nnstudio import safe_read
from nnstudio.engine.settings import Setting
from nnstudio.project.model_lifecycle import model_size_problem
from nnstudio.project.project_file import Project, check_named_files, load_project

LEARNING_RATE = Setting("learning_rate", "float", 0.01, minimum=1e-7, maximum=1e9)


class OpenRefused(ValueError):
    """A project the window cannot open; the message names the file and what is wrong."""


def read_project(path) -> Project:
    """The project in ``path``, checked as a whole; OpenRefused says why it cannot open."""
    path = Path(path)
    try:
        safe_read.check_file(path, "a project file", safe_read.json_max_bytes())
        project = load_project(path)
        check_named_files(project, project.path.parent, path.name)
    except ValueError as error:  # ProjectError, FileReadError
        raise OpenRefused(safe_read.shorten(str(error))) from None
    except RecursionError:
        raise OpenRefused(f"{path}: the file is nested too deeply to be a project") from None
    except MemoryError:
        raise OpenRefused(f"{path}: the file is too large to open") from None
    except Exception as error:  # noqa: BLE001 - whatever the file holds, the user gets words
        raise OpenRefused(f"{path}: cannot use this project file ({error!r})") from None
    check_project(project, path.name)
    return project


def check_project(project: Project, source: str = "project") -> None:
    """Raise OpenRefused when the window could not show or build ``project``."""
    try:
        check_training(project)
        check_dataset_options(project.dataset.name, project.dataset.options)
        check_layers(project.model)
    except (ValueError, TypeError, KeyError, RecursionError) as error:
        raise OpenRefused(f"{source}: {safe_read.shorten(str(error))}") from None


def check_training(project: Project) -> None:
    from nnstudio.ui.panels.hyperparameter_fields import (
        BATCH_SIZE,
        EPOCHS,
        PATIENCE,
        SEED,
        VALIDATION_SPLIT,
    )

    t = project.training
    for setting, value in (
        (EPOCHS, t.epochs),
        (BATCH_SIZE, t.batch_size),
        (SEED, t.seed),
        (VALIDATION_SPLIT, t.validation_split),
        (LEARNING_RATE, t.learning_rate),
    ):
        setting.validate(value, "training.")
    if t.early_stopping is not None:
        PATIENCE.validate(t.early_stopping, "training.early_stopping:")
    project.make_loss()
    project.make_optimizer()
    project.fit_config()  # makes the schedule from its settings


def check_dataset_options(name: str, options: dict) -> None:
    """Each option of the Data dock has the type and range its control takes."""
    from nnstudio.data import load_dataset
    from nnstudio.ui.panels.data_options import check_options

    known = set(inspect.signature(load_dataset).parameters) - {"name", "progress", "download"}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ValueError(
            f"dataset.options has unknown key(s) {', '.join(map(repr, unknown))}; "
            f"known keys: {', '.join(sorted(known))}"
        )
    check_options(options, name)


def check_layers(model: dict) -> None:
    """Every layer can be made from its settings, and the whole is not too big to build."""
    from nnstudio.engine.registry import layer_from_config

    for index, config in enumerate(model.get("layers", [])):
        try:
            layer_from_config(dict(config))
        except (ValueError, TypeError, KeyError) as error:
            raise ValueError(f"model.layers[{index}]: {error}") from None
    input_shape = model.get("input_shape")
    if input_shape is not None:
        problem = model_size_problem(model.get("layers", []), tuple(input_shape))
        if problem:
            raise ValueError(problem)


__all__ = [
    "OpenRefused",
    "check_project",
    "model_size_problem",
    "read_project",
]
