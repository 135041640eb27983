"""The project file (.nnsproj): a Project (project_data.py) as versioned JSON, read, checked
(project_parse.py) and written.

Presets (resources/presets/*.nnsproj) are ordinary projects: see presets.py.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from nnstudio.atomic_file import write_atomically
from nnstudio.project.project_data import Project, ProjectError
from nnstudio.project.project_parse import parse_project
from nnstudio.safe_read import (
    FileReadError,
    MissingFile,
    json_max_bytes,
    parse_json,
    read_bytes,
    shorten,
)

SUFFIX = ".nnsproj"

# -- files --------------------------------------------------------------------------------------


def load_project(path: str | os.PathLike) -> Project:
    """Read and validate a project file. Every problem is a ProjectError naming file and key.

    The file must be a regular file within the JSON size limit (a 2 GB file or /dev/zero fails
    at once, before reading) and nested at most ``MAX_JSON_DEPTH`` levels."""
    path = Path(path)
    try:
        raw = read_bytes(path, "a project file", json_max_bytes())
    except MissingFile:
        raise ProjectError(f"{path}: no such project file") from None
    except FileReadError as error:
        raise ProjectError(str(error)) from None
    try:
        data = parse_json(raw, str(path), allow_nan=False)
    except FileReadError as error:
        raise ProjectError(f"{error} Fix the file or save the project again.") from None
    project = parse_project(data, source=path)
    project.path = path.resolve()
    return project


FILE_DATASET_PREFIXES = ("csv:", "npz:", "idx:")


def named_data_file(name: str) -> str | None:
    """The path in a file dataset's name ("csv:data.csv" -> "data.csv"), else None."""
    for prefix in FILE_DATASET_PREFIXES:
        if name.lower().startswith(prefix):
            return name[len(prefix) :]
    return None


def _inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` lies in ``folder`` once links and ".." are resolved (a link in the
    folder pointing at /etc/shadow is outside)."""
    try:
        return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(folder))
    except (OSError, ValueError):
        return False


def check_named_files(project: Project, folder, source) -> None:
    """Refuse a project read from a file (a project, a checkpoint) whose dataset or weights
    name a file outside ``folder``, the folder of the file the user named.

    nnstudio reads only the files a user names and those beside them: a downloaded project
    or checkpoint naming csv:/etc/shadow or ../../secret.csv must not be read (its first line
    would be echoed in an error). A path relative to the project resolves from ``folder``.
    """
    folder = Path(folder)
    named = named_data_file(project.dataset.name)
    prefix = project.dataset.name.split(":", 1)[0]
    for what, value, hint in (
        ("dataset", named, f"give --dataset {prefix}:PATH (or open it in the Data panel)"),
        ("weights", project.weights, "open the weights file yourself"),
    ):
        if not value:
            continue
        path = Path(value).expanduser()
        path = path if path.is_absolute() else folder / path
        if not _inside(path, folder):
            raise ProjectError(
                f"{source}: its {what} file {shorten(value, 60)} is outside the folder "
                f"{folder.name or folder}; nnstudio reads only files you name or files in that "
                f"folder: move it there or {hint}"
            )


def save_project(project: Project, path: str | os.PathLike) -> Path:
    """Write the project as JSON, atomically: the old file stays whole if writing fails."""
    path = Path(path)
    text = json.dumps(project.to_dict(), indent=2, allow_nan=False) + "\n"
    write_atomically(path, text)
    project.path = path.resolve()
    return path
