"""The direction of dependencies (the README's layout, under Development): ui → training →
project → engine, data and cli → project → engine, data; never the reverse, and Qt only in the
ui and training's thin QThread adapter (training/session.py).

The rules read the import graph from the source (``ast`` over every module), every import
statement wherever it is: at module level, inside a function (a lazy import is still a
dependency), under ``if``. Only ``if TYPE_CHECKING:`` blocks are left out: they never run.
The one import that may point upward is named in its rule (the command line opens the window).
A second test finds import cycles among module-level imports.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

import nnstudio

PACKAGE_DIR = Path(nnstudio.__file__).parent
QT = ("PySide6", "shiboken6", "pyqtgraph")
ENGINE, DATA, PROJECT = "nnstudio.engine", "nnstudio.data", "nnstudio.project"
TRAINING, UI, CLI = "nnstudio.training", "nnstudio.ui", "nnstudio.cli"
# The modules every layer may use: they import no layer themselves.
SHARED = ("nnstudio.paths", "nnstudio.atomic_file", "nnstudio.safe_read", "nnstudio.events")
QT_ADAPTER = f"{TRAINING}.session"


@dataclass(frozen=True)
class Import:
    importer: str
    target: str  # the module imported (the most specific one that exists in nnstudio)
    line: int
    local: bool  # inside a function: runs when it is called, not when the module loads

    def __str__(self) -> str:
        where = "inside a function" if self.local else "at module level"
        return f"{self.importer} (line {self.line}, {where}) imports {self.target}"


def under(name: str, prefixes) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def modules_in(package_dir: Path) -> dict[str, Path]:
    """Dotted module name → file, for every module of the package in ``package_dir``."""
    modules = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = path.relative_to(package_dir.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return getattr(test, "id", None) == "TYPE_CHECKING" or getattr(test, "attr", "") == (
        "TYPE_CHECKING"
    )


def imports_of(module: str, path: Path, known: dict) -> list[Import]:
    """Every import in ``module``'s source, with relative imports resolved."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[Import] = []

    def target(base: str, name: str) -> str:
        # ``from nnstudio.project import layer_meta`` imports the module layer_meta.
        return f"{base}.{name}" if f"{base}.{name}" in known else base

    def visit(node: ast.AST, local: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                continue
            inner = local or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.Import):
                found.extend(Import(module, a.name, child.lineno, local) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:  # from . import x, from .dataset import y
                    parent = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join(parent + ([child.module] if child.module else []))
                found.extend(
                    Import(module, target(base, a.name), child.lineno, local) for a in child.names
                )
            visit(child, inner)

    visit(ast.parse(path.read_text(encoding="utf-8"), str(path)), False)
    return found


def import_graph(package_dir: Path = PACKAGE_DIR) -> list[Import]:
    known = modules_in(package_dir)
    return [found for module, path in known.items() for found in imports_of(module, path, known)]


@dataclass(frozen=True)
class Rule:
    text: str  # what the failure message names
    importers: tuple[str, ...]  # the modules the rule is about, each with everything under it
    forbidden: tuple[str, ...]  # what they never import, each with everything under it
    exempt: tuple[str, ...] = ()  # modules among the importers the rule leaves out
    # (importer, target) imports the rule allows, inside a function only
    sanctioned: tuple[tuple[str, str], ...] = ()

    def broken_by(self, graph: list[Import]) -> list[Import]:
        return [
            found
            for found in graph
            if under(found.importer, self.importers)
            and not under(found.importer, self.exempt)
            and under(found.target, self.forbidden)
            and not (found.local and (found.importer, found.target) in self.sanctioned)
        ]


RULES = [
    Rule(
        "the engine imports no data, project, training, ui or cli layer",
        (ENGINE,),
        (DATA, PROJECT, TRAINING, UI, CLI),
    ),
    Rule(
        "the data layer imports no engine, project, training, ui or cli layer",
        (DATA,),
        (ENGINE, PROJECT, TRAINING, UI, CLI),
    ),
    Rule("the project layer imports no training, ui or cli", (PROJECT,), (TRAINING, UI, CLI)),
    Rule("training imports no ui or cli", (TRAINING,), (UI, CLI)),
    Rule(
        "the command line imports no ui, except nnstudio.cli.main opening the window "
        "(nnstudio.ui.app, inside the function that opens it)",
        (CLI,),
        (UI,),
        sanctioned=(("nnstudio.cli.main", "nnstudio.ui.app"),),
    ),
    Rule("the ui imports no cli", (UI,), (CLI,)),
    Rule(
        "the shared modules (paths, atomic_file, safe_read, events) import no layer",
        SHARED,
        (ENGINE, DATA, PROJECT, TRAINING, UI, CLI),
    ),
    Rule(
        "no Qt outside the ui and training's Qt adapter (training/session.py)",
        ("nnstudio",),
        QT,
        exempt=(UI, QT_ADAPTER),
    ),
]


def describe(rule: Rule, broken: list[Import]) -> str:
    return "\n".join(f"rule: {rule.text}; {found}" for found in broken)


@pytest.fixture(scope="module")
def graph() -> list[Import]:
    return import_graph()


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.text.split(" imports")[0])
def test_dependencies_point_one_way(graph, rule):
    broken = rule.broken_by(graph)
    assert not broken, describe(rule, broken)


def test_the_sanctioned_upward_import_is_the_only_one_and_still_exists(graph):
    """The exception in the cli rule names a real import (a rule about nothing hides
    nothing), and it stays inside a function: ``nnstudio train`` never loads Qt."""
    opening = [
        f for f in graph if (f.importer, f.target) == ("nnstudio.cli.main", "nnstudio.ui.app")
    ]
    assert opening and all(found.local for found in opening)


def cycles(graph: list[Import], with_local: bool = False) -> list[list[str]]:
    """Groups of modules that import each other at module level (strongly connected
    components of more than one module, or a module importing itself); ``with_local``: by
    imports inside functions too."""
    edges: dict[str, set[str]] = {}
    modules = {found.importer for found in graph}  # a module that imports nothing has no cycle
    for found in graph:
        if (with_local or not found.local) and found.target in modules:
            edges.setdefault(found.importer, set()).add(found.target)
    order, low, stack, groups = {}, {}, [], []

    def visit(module: str) -> None:  # Tarjan's algorithm
        order[module] = low[module] = len(order)
        stack.append(module)
        for other in sorted(edges.get(module, ())):
            if other not in order:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in stack:
                low[module] = min(low[module], order[other])
        if low[module] == order[module]:
            group = []
            while not group or group[-1] != module:
                group.append(stack.pop())
            if len(group) > 1 or module in edges.get(module, ()):
                groups.append(sorted(group))

    for module in sorted(edges):
        if module not in order:
            visit(module)
    return groups


def test_no_module_level_import_cycles(graph):
    found = cycles(graph)
    assert not found, "modules that import each other: " + "; ".join(" ↔ ".join(c) for c in found)


def test_imports_inside_functions_close_no_cycle_either(graph):
    found = cycles(graph, with_local=True)
    assert not found, "modules that import each other: " + "; ".join(" ↔ ".join(c) for c in found)


# -- the checker itself, on a small package made for it ----------------------------------------


def make_package(root: Path, files: dict[str, str]) -> Path:
    for name, source in files.items():
        path = root / "pkg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    return root / "pkg"


def test_a_lazy_import_is_seen_and_named_with_its_line(tmp_path):
    package = make_package(
        tmp_path,
        {
            "__init__.py": "",
            "low.py": "import os\n\n\ndef later():\n    from pkg.high import thing\n",
            "high.py": "from . import low\nthing = 1\n",
        },
    )
    rule = Rule("low imports nothing above it", ("pkg.low",), ("pkg.high",))
    broken = rule.broken_by(import_graph(package))
    assert describe(rule, broken) == (
        "rule: low imports nothing above it; pkg.low (line 5, inside a function) imports pkg.high"
    )


def test_a_cycle_is_found_and_type_checking_imports_are_not_counted(tmp_path):
    package = make_package(
        tmp_path,
        {
            "__init__.py": "",
            "a.py": "from pkg.b import x\n",
            "b.py": "from pkg import a\nx = 1\n",
            "c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import d\n",
            "d.py": "import pkg.c\n",
        },
    )
    assert cycles(import_graph(package)) == [["pkg.a", "pkg.b"]]
