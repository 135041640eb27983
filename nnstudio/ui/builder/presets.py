"""Model presets: the ones shipped as project files, a few built in, and the user's own.

Shipped presets are ``nnstudio/resources/presets/*.nnsproj`` read through
``nnstudio.project``; the user's are project files in ``<user data>/presets/``. A preset's
"model" is a Sequential config; the builder only takes its layers (the input shape comes from
the dataset that is chosen).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

# Used only when a name is not among the shipped project files, so the menu is never empty.
BUILTIN_PRESETS: dict[str, dict] = {
    "xor-net": {
        "title": "XOR net",
        "description": "2 → 4 tanh → 2: the smallest network that learns XOR",
        "dataset": "xor",
        "layers": [
            {"type": "Dense", "units": 4, "activation": "tanh"},
            {"type": "Dense", "units": 2},
        ],
    },
    "2d-classifier": {
        "title": "2-D classifier",
        "description": "Two hidden layers of 16 ReLU units for circles, moons and spirals",
        "dataset": "spiral",
        "layers": [
            {"type": "Dense", "units": 16, "activation": "relu"},
            {"type": "Dense", "units": 16, "activation": "relu"},
            {"type": "Dense", "units": 2},
        ],
    },
    "mnist-mlp": {
        "title": "MNIST MLP",
        "description": "784 → 128 ReLU → 10: about 98 % on MNIST in a minute",
        "dataset": "mnist",
        "layers": [
            {"type": "Flatten"},
            {"type": "Dense", "units": 128, "activation": "relu"},
            {"type": "Dense", "units": 10},
        ],
    },
    "mnist-cnn": {
        "title": "LeNet-style CNN",
        "description": "Two convolution blocks and a Dense head: about 99 % on MNIST",
        "dataset": "mnist",
        "layers": [
            {"type": "Conv2D", "filters": 8, "kernel_size": 3, "activation": "relu"},
            {"type": "MaxPool2D", "pool_size": 2},
            {"type": "Conv2D", "filters": 16, "kernel_size": 3, "activation": "relu"},
            {"type": "MaxPool2D", "pool_size": 2},
            {"type": "Flatten"},
            {"type": "Dense", "units": 64, "activation": "relu"},
            {"type": "Dense", "units": 10},
        ],
    },
}

_TITLES = {
    "xor-net": "XOR net",
    "2d-classifier": "2-D classifier",
    "spiral-mlp": "Spiral MLP",
    "mnist-mlp": "MNIST MLP",
    "mnist-cnn": "LeNet-style CNN",
    "digit-model": "Digit model",
}


@dataclass
class Preset:
    name: str
    title: str
    source: str  # "shipped", "builtin" or "user"
    description: str = ""
    model: dict = field(default_factory=dict)
    project: dict | None = None  # the whole project, for a window that also sets the dataset


def _title(name: str) -> str:
    return _TITLES.get(name, name.replace("-", " ").replace("_", " ").capitalize())


def user_presets_dir() -> Path:
    """``user_data_dir()/presets`` (NNSTUDIO_DATA_DIR first, as the data package does)."""
    try:
        from nnstudio.data.catalog import user_data_dir

        base = Path(user_data_dir())
    except ImportError:
        env = os.environ.get("NNSTUDIO_DATA_DIR")
        base = Path(env) if env else Path.home() / ".local" / "share" / "nnstudio"
    return base / "presets"


def _shipped() -> list[Preset]:
    try:
        from nnstudio import project as project_module
    except ImportError:
        return []
    found = []
    for name in project_module.list_presets():
        try:
            project = project_module.load_preset(name)
        except ValueError:
            continue  # a broken shipped file must not take the menu down
        found.append(
            Preset(
                name,
                _title(name),
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
    """Shipped presets, then built-in ones not shipped, then the user's own."""
    shipped = _shipped()
    names = {preset.name for preset in shipped}
    builtin = [
        Preset(
            name,
            spec["title"],
            "builtin",
            spec["description"],
            {"layers": spec["layers"]},
            {
                "name": spec["title"],
                "dataset": {"name": spec["dataset"], "options": {}},
                "model": {"layers": spec["layers"]},
            },
        )
        for name, spec in BUILTIN_PRESETS.items()
        if name not in names
    ]
    return shipped + builtin + _user()


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
    temporary = path.with_suffix(".nnsproj.tmp")
    temporary.write_text(json.dumps(data, indent=2), encoding="utf-8")
    os.replace(temporary, path)  # never a half-written preset
    return path
