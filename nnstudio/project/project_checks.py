"""What a project must be to be used whole, checked before anything changes: the window opens
only a project that passes (a file that fails leaves the window and the document exactly as
they were, issue 23), and ``nnstudio train`` trains only one that passes, so both accept and
refuse the same projects. Qt-free.

The parser (``load_project``) checks each value against its setting (project/settings.py);
this checks the same of a project made or changed in code (the command line's options), that
the dataset's options are ones ``load_dataset`` takes, that each layer, the loss, the
optimizer and the schedule can be made from their settings, and that the model is small
enough to build.
"""

from __future__ import annotations

from pathlib import Path

from nnstudio import safe_read
from nnstudio.project.model_lifecycle import model_size_problem
from nnstudio.project.project_data import Project
from nnstudio.project.project_file import check_named_files, load_project
from nnstudio.project.settings import (
    check_dataset_options,
    check_known_options,
    check_training_values,
)


class OpenRefused(ValueError):
    """A project that cannot be used; the message names the file and what is wrong."""


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
    """Raise OpenRefused when ``project`` could not be shown or built (in the window or by
    ``nnstudio train``)."""
    try:
        check_training(project)
        check_dataset(project.dataset.options)
        check_layers(project.model)
    except (ValueError, TypeError, KeyError, RecursionError) as error:
        raise OpenRefused(f"{source}: {safe_read.shorten(str(error))}") from None


def check_training(project: Project) -> None:
    """Every training value in its setting's range, and the loss, optimizer (with its
    settings) and schedule can be made."""
    values = vars(project.training)
    if values["loss"] == "":  # made in code: "the dataset decides" (finish_project)
        values = {key: value for key, value in values.items() if key != "loss"}
    check_training_values(values)
    if project.training.loss:
        project.make_loss()
    project.make_optimizer()
    project.fit_config()  # makes the schedule from its settings


def check_dataset(options: dict) -> None:
    """The options are ``load_dataset``'s keywords, each in its setting's range."""
    check_known_options(options)
    check_dataset_options(options)


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
    "read_project",
]
