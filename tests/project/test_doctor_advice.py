"""The doctor's fixes, each one object (project/doctor_advice.py): applied to a project, every
fix changes what its button says it changes, and nothing else."""

import doctest

import pytest

from nnstudio.engine.fit.guard import format_rate
from nnstudio.engine.optimizers import SGD
from nnstudio.project import doctor_advice, load_preset
from nnstudio.project.doctor_advice import (
    ADVICE,
    REMEDIES,
    FixContext,
    HealthWarning,
    offered_changes,
)

LAYERS = [
    {"type": "Dense", "units": 16, "activation": "sigmoid", "initializer": "zeros"},
    {"type": "Dense", "units": 16, "activation": "relu"},
    {"type": "Dense", "units": 3},
]
CONTEXT = FixContext(learning_rate=0.4, optimizer=SGD, relu_only=True)
CHANGES_A_PROJECT = sorted(action for action, remedy in REMEDIES.items() if not remedy.opens)


def project_to_fix():
    project = load_preset("spiral-mlp")
    project.model = {"layers": [dict(layer) for layer in LAYERS]}
    project.training.learning_rate = CONTEXT.learning_rate
    project.training.early_stopping = None
    return project


def test_docstring_examples_run():
    assert doctest.testmod(doctor_advice).failed == 0


@pytest.mark.parametrize("action", CHANGES_A_PROJECT)
def test_each_fix_changes_the_project_as_it_says(action):
    remedy, project = REMEDIES[action], project_to_fix()
    changes = remedy.changes(CONTEXT)
    assert set(changes) == {remedy.sets}
    fixed = remedy.apply_to(project, changes)
    layers, training = fixed.model["layers"], vars(fixed.training)
    if remedy.edits is not None:  # a fix of the layers: exactly its edits, under its label
        fix = remedy.layer_fix(project.model["layers"], changes)
        assert fix.label == remedy.button_text(changes)
        assert layers == fix.applied_to(project.model["layers"]) != project.model["layers"]
        assert training == vars(project.training)
    else:  # a training setting: that one, set to the value the button names
        assert training == {**vars(project.training), remedy.sets: changes[remedy.sets]}
        assert layers == project.model["layers"]
    if remedy.sets == "learning_rate":
        assert format_rate(fixed.training.learning_rate) in remedy.button_text(changes)


def test_what_each_fix_says_is_what_the_project_then_holds():
    project = project_to_fix()

    def fixed(action):
        return REMEDIES[action].apply_to(project, REMEDIES[action].changes(CONTEXT))

    assert "zeros" not in [
        layer.get("initializer") for layer in fixed("reinitialize").model["layers"]
    ]
    assert REMEDIES["reinitialize"].button_text({"initializer": "he"}).endswith("He initialization")
    activations = [layer.get("activation") for layer in fixed("switch_to_relu").model["layers"]]
    assert "sigmoid" not in activations and activations[0] == "relu"
    leaky = [layer.get("activation") for layer in fixed("switch_to_leaky_relu").model["layers"]]
    assert "relu" not in leaky
    types = [layer["type"] for layer in fixed("add_dropout").model["layers"]]
    assert types == ["Dense", "Dropout", "Dense", "Dropout", "Dense"]
    assert fixed("early_stopping").training.early_stopping == doctor_advice.PATIENCE
    assert fixed("halve_lr").training.learning_rate == 0.2
    assert fixed("raise_lr").training.learning_rate == 4.0
    assert fixed("reset_and_lower_lr").training.learning_rate == 0.01  # SGD's default rate


def test_a_fix_without_the_runs_rate_changes_nothing_and_says_so_plainly():
    remedy = REMEDIES["halve_lr"]
    assert remedy.changes(FixContext()) == {}
    assert remedy.button_text({}) == "Halve the rate"
    assert remedy.apply_to(project_to_fix(), {}).training.learning_rate == CONTEXT.learning_rate


def test_the_lr_finder_opens_a_tool_and_changes_no_project():
    remedy = REMEDIES["find_lr"]
    assert remedy.opens == "lr_finder" and remedy.changes(CONTEXT) == {}


def test_every_kind_offers_fixes_that_exist_and_a_warning_carries_their_values():
    for kind, advice in ADVICE.items():
        assert advice.text and all(action in REMEDIES for action in advice.actions), kind
    warning = HealthWarning("dead_relu", "m").prescribe(CONTEXT).to_dict()
    assert offered_changes(warning, "halve_lr") == {"learning_rate": 0.2}
    assert offered_changes(warning, "switch_to_leaky_relu") == {"activation": "leaky_relu"}
    assert offered_changes({"kind": "dead_relu"}, "halve_lr") is None  # an older run's
