"""The direction of dependencies (ARCHITECTURE.md): ui → training → project → engine, data and
cli → project → engine, data; never the reverse, and Qt only in the ui (and training's thin
QThread adapter).

Each rule imports every module of its packages, one after another, in a fresh interpreter and
looks at ``sys.modules`` after each import: what appeared was loaded by that module. A lazy
import inside a function (``nnstudio.cli.main`` opens the window that way) is not an import
of the module, so it is allowed.
"""

import json
import subprocess
import sys
from dataclasses import dataclass

import pytest

QT = ("PySide6", "shiboken6", "pyqtgraph")
ENGINE, DATA, PROJECT = "nnstudio.engine", "nnstudio.data", "nnstudio.project"
TRAINING, UI, CLI = "nnstudio.training", "nnstudio.ui", "nnstudio.cli"


@dataclass(frozen=True)
class Rule:
    text: str  # what the failure message names
    modules: tuple[str, ...]  # packages (all their modules) or single modules
    forbidden: tuple[str, ...]  # module names, each with everything under it

    def __str__(self) -> str:
        return self.text


RULES = [
    Rule(
        "the engine imports no data, project, training, ui or cli layer, and no Qt",
        (ENGINE,),
        (DATA, PROJECT, TRAINING, UI, CLI, *QT),
    ),
    Rule(
        "the data layer imports no engine, project, training, ui or cli layer, and no Qt",
        (DATA,),
        (ENGINE, PROJECT, TRAINING, UI, CLI, *QT),
    ),
    Rule("the project layer imports no Qt and no ui", (PROJECT,), (UI, *QT)),
    Rule(
        "training's reporting imports no Qt and no ui",
        (f"{TRAINING}.reporting",),  # with its package, but not the Qt adapter beside it
        (UI, *QT),
    ),
    Rule("the command line imports no Qt and no ui", (CLI,), (UI, *QT)),
    Rule("the ui imports no cli", (UI,), (CLI,)),
]

# Run in a fresh interpreter: argv[1] is the JSON of (modules, forbidden). Modules are found
# on disk before any is imported (finding them through the import system would import their
# packages first, unchecked), so each import below is the first of its module.
CHECK = r"""
import importlib, json, os, pkgutil, sys, traceback

import nnstudio  # its version and names only; every layer is found in its folder

subjects, forbidden = json.loads(sys.argv[1])

def is_forbidden(name):
    return any(name == f or name.startswith(f + ".") for f in forbidden)

def modules_of(name):
    yield name
    folder = os.path.join(nnstudio.__path__[0], *name.split(".")[1:])
    if not os.path.isdir(folder):
        return
    for info in sorted(pkgutil.iter_modules([folder]), key=lambda info: info.name):
        if info.ispkg:
            yield from modules_of(f"{name}.{info.name}")
        else:
            yield f"{name}.{info.name}"

report = []
for module in [module for subject in subjects for module in modules_of(subject)]:
    before = set(sys.modules)
    try:
        importlib.import_module(module)
    except Exception:
        report.append({"module": module, "error": traceback.format_exc(limit=3)})
        continue
    loaded = sorted(n for n in set(sys.modules) - before if is_forbidden(n))
    if loaded:
        report.append({"module": module, "loaded": loaded})
print(json.dumps(report))
"""


def violations(modules, forbidden) -> list[dict]:
    result = subprocess.run(
        [sys.executable, "-c", CHECK, json.dumps([list(modules), list(forbidden)])],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def describe(rule: Rule, found: list[dict]) -> str:
    lines = []
    for entry in found:
        module = entry["module"]
        if "error" in entry:
            lines.append(f"rule: {rule}; {module} could not be imported:\n{entry['error']}")
            continue
        # The top-level forbidden modules are enough to name (PySide6, not its 40 submodules).
        loaded = entry["loaded"]
        shown = [n for n in loaded if not any(n.startswith(m + ".") for m in loaded)]
        lines.append(f"rule: {rule}; {module} loaded {', '.join(shown)}")
    return "\n".join(lines)


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.modules[-1].replace("nnstudio.", ""))
def test_dependencies_point_one_way(rule):
    found = violations(rule.modules, rule.forbidden)
    assert not found, describe(rule, found)


def test_a_broken_rule_is_named_with_the_module_and_what_it_loaded():
    # The Qt adapter of training does import Qt: the check must see it and say so.
    rule = Rule("the session imports no Qt", (f"{TRAINING}.session",), ("PySide6",))
    found = violations(rule.modules, rule.forbidden)
    assert [entry["module"] for entry in found] == [f"{TRAINING}.session"]
    assert describe(rule, found).startswith(
        "rule: the session imports no Qt; nnstudio.training.session loaded PySide6"
    )
