"""Model presets: the ones shipped as project files and the user's own.

Shipped presets are ``resources/presets/*.nnsproj`` (ordinary project files: `list_presets()`,
`load_preset(name)`); the user's are project files in ``<user data>/presets/``. A preset's
"model" is a Sequential config; the builder only takes its layers (the input shape comes from
the dataset that is chosen).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from nnstudio.atomic_file import write_atomically
from nnstudio.paths import resource_path, user_data_dir
from nnstudio.project.project_data import Project, ProjectError
from nnstudio.project.project_file import SUFFIX, load_project


@dataclass
class Preset:
    name: str
    title: str
    source: str  # "shipped" or "user"
    description: str = ""
    model: dict = field(default_factory=dict)
    project: dict | None = None  # the whole project, for a window that also sets the dataset


def shipped_presets_dir() -> Path:
    """The presets that ship with nnstudio (``resources/presets``)."""
    return resource_path("presets")


def list_presets() -> list[str]:
    """Names of the shipped presets ("mnist-mlp", ...), sorted."""
    folder = shipped_presets_dir()
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob(f"*{SUFFIX}"))


def load_preset(name: str) -> Project:
    """A shipped preset as a Project (not tied to a file: saving it asks for a new path)."""
    path = shipped_presets_dir() / f"{name}{SUFFIX}"
    if not path.is_file():
        known = ", ".join(list_presets()) or "none"
        raise ProjectError(f"unknown preset {name!r}. Known: {known}")
    project = load_project(path)
    project.path = None
    return project


def user_presets_dir() -> Path:
    """``user_data_dir()/presets``: the user's own presets, kept with nnstudio's other data."""
    return Path(user_data_dir()) / "presets"


def _shipped() -> list[Preset]:
    found = []
    for name in list_presets():
        try:
            project = load_preset(name)
        except ValueError:
            continue  # a broken shipped file must not take the menu down
        found.append(
            Preset(
                name,
                project.name or name,
                "shipped",
                project.description,
                dict(project.model),
                project.to_dict(),
            )
        )
    return found


def _user() -> list[Preset]:
    folder = user_presets_dir()
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob("*.nnsproj")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            model = data["model"]
            model["layers"]  # noqa: B018 - a preset without layers is not one
        except (OSError, ValueError, KeyError, TypeError):
            continue
        title = data.get("name") or path.stem
        found.append(Preset(path.stem, title, "user", data.get("description", ""), model, data))
    return found


def available_presets() -> list[Preset]:
    """The shipped presets, then the user's own."""
    return _shipped() + _user()


def find_preset(name: str) -> Preset:
    for preset in available_presets():
        if preset.name == name or preset.title == name:
            return preset
    known = ", ".join(p.name for p in available_presets())
    raise ValueError(f"Unknown preset {name!r}. Known: {known}")


def _file_stem(title: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", title.strip()).strip("-.").lower()
    if not stem:
        raise ValueError("A preset needs a name with at least one letter or digit.")
    return stem


def save_user_preset(title: str, model: dict, project: dict | None = None) -> Path:
    """Write the user's preset as a project file; returns its path. Replaces one of that name."""
    folder = user_presets_dir()
    folder.mkdir(parents=True, exist_ok=True)
    data = dict(project or {})
    data.update({"format": "nnstudio-project", "version": 1, "name": title.strip(), "model": model})
    data.setdefault("dataset", {"name": "spiral", "options": {}})
    data.setdefault("weights", None)
    path = folder / f"{_file_stem(title)}.nnsproj"
    return write_atomically(path, json.dumps(data, indent=2))  # never a half-written preset
