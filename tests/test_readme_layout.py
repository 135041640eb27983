"""The README's layout (under Development) names every module of nnstudio/, in its package,
and nothing that is not there.

The tree's rules: a line whose first word ends in ``/`` (and starts left of the description
column) opens a package, inside the nearest less indented one; every ``name.py`` on the lines
up to the next package line is a module of it. ``__init__.py`` files go unnamed.
"""

from __future__ import annotations

import re
from pathlib import Path

import nnstudio

PACKAGE_DIR = Path(nnstudio.__file__).parent
README = PACKAGE_DIR.parent / "README.md"
DESCRIPTION_COLUMN = 24  # where the tree's descriptions start
MODULE = re.compile(r"(?<![\w/.])(\w+)\.py\b")


def layout_tree(readme: str) -> list[str]:
    """The lines of the code block in the Development section's layout item."""
    development = readme.split("\n## Development\n", 1)[1]
    block = development.split("```\n", 2)[1]
    return block.splitlines()


def modules_in_tree(lines: list[str]) -> set[str]:
    """Paths relative to nnstudio/ (``engine/fit/loop.py``) of the modules the tree names."""
    packages: list[tuple[int, str]] = []  # (indent, name) from nnstudio/ down to the current
    named = set()
    for line in lines:
        indent = len(line) - len(line.lstrip())
        first = line.split()[0] if line.split() else ""
        if first.endswith("/") and indent < DESCRIPTION_COLUMN:
            packages = [(i, name) for i, name in packages if i < indent]
            packages.append((indent, first.rstrip("/")))
        if not packages or packages[0][1] != "nnstudio":
            continue  # resources/, tests/: not the package
        folder = "/".join(name for _, name in packages[1:])
        for module in MODULE.findall(line):
            named.add(f"{folder}/{module}.py".lstrip("/"))
    return named


def modules_on_disk() -> set[str]:
    return {
        path.relative_to(PACKAGE_DIR).as_posix()
        for path in PACKAGE_DIR.rglob("*.py")
        if path.name != "__init__.py"
    }


def test_every_module_is_in_the_readme_layout_and_every_named_one_exists():
    named = modules_in_tree(layout_tree(README.read_text(encoding="utf-8")))
    on_disk = modules_on_disk()
    assert not on_disk - named, f"modules missing from the README's layout: {on_disk - named}"
    assert not named - on_disk, (
        f"the README's layout names modules that are not there: {named - on_disk}"
    )


def test_the_tree_reader_places_modules_in_their_package():
    tree = [
        "pyproject.toml  nnstudio/",
        "tests/                helpers.py are not the package's",
        "nnstudio/",
        "  paths.py            shipped resources (not nnstudio/paths.py twice)",
        "  engine/             model.py, io.py",
        "                      (continued) losses.py",
        "    fit/              loop.py",
        "  ui/                 app.py",
    ]
    assert modules_in_tree(tree) == {
        "paths.py",
        "engine/model.py",
        "engine/io.py",
        "engine/losses.py",
        "engine/fit/loop.py",
        "ui/app.py",
    }
