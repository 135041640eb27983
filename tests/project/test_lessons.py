"""Lessons: the shipped files, their checks on the start and on their own solution, the check
kinds one by one, malformed files and the progress file."""

import copy
import json
import re

import pytest

from nnstudio.project import lesson_checks as checks
from nnstudio.project.lesson_checks import LessonState, RunRecord, validate_check
from nnstudio.project.lesson_runner import evaluation_report, run_check, train_project
from nnstudio.project.lessons import (
    NOT_YOUR_WORK,
    LessonError,
    apply_solution,
    apply_step,
    check_own_work,
    load_lesson,
    load_lessons,
    load_progress,
    progress_path,
    record_progress,
    set_up,
)
from nnstudio.project.project_data import Project

CURRICULUM = [
    "architecture",
    "initialization",
    "forward-pass",
    "losses",
    "backpropagation",
    "gradient-descent",
    "adam",
    "epochs-batches",
    "metrics",
    "regression-rmse",
    "l1-l2",
    "dropout",
    "batch-norm",
    "mnist-mlp",
    "confusion-matrix",
    "momentum",
    "early-stopping",
    "reading-units",
    "scaling-split",
    "hyperparameter-search",
]
SHIPPED, PROBLEMS = load_lessons()
BY_ID = {lesson.id: lesson for lesson in SHIPPED}
MNIST_LESSONS = {"mnist-mlp", "confusion-matrix"}


def test_the_shipped_lessons_all_load_in_curriculum_order():
    assert PROBLEMS == []
    assert [lesson.id for lesson in SHIPPED][: len(CURRICULUM)] == CURRICULUM
    for lesson in SHIPPED:
        assert (
            lesson.hints and lesson.task and lesson.explanation and lesson.solution["explanation"]
        )


@pytest.mark.parametrize(
    "lesson_id",
    [
        pytest.param(lesson_id, marks=pytest.mark.slow if lesson_id in MNIST_LESSONS else ())
        for lesson_id in CURRICULUM
    ],
)
def test_a_lessons_check_fails_on_its_start_and_passes_on_its_solution(
    lesson_id, request, monkeypatch
):
    if lesson_id in MNIST_LESSONS:
        monkeypatch.setenv("NNSTUDIO_MNIST_DIR", str(request.getfixturevalue("mnist_path")))
    lesson = BY_ID[lesson_id]
    passed, message = run_check(lesson, solution=False)
    assert not passed, message
    passed, message = run_check(lesson, solution=True)
    assert passed, message


def test_set_up_takes_the_preset_and_the_lessons_changes(tmp_path):
    lesson_file = tmp_path / "01-x.json"
    data = _minimal()
    data["start"] = {"preset": "spiral-mlp", "project": {"training": {"epochs": 3}}}
    lesson_file.write_text(json.dumps(data))
    lesson = load_lesson(lesson_file)
    project = set_up(lesson)
    assert project.dataset.name == "spiral"  # from the preset
    assert project.training.epochs == 3  # the lesson's change
    assert project.name == "lesson-x"


def test_apply_solution_returns_a_changed_copy():
    lesson = BY_ID["adam"]
    start = set_up(lesson)
    solved = apply_solution(start, lesson)
    assert (start.training.optimizer, solved.training.optimizer) == ("sgd", "adam")
    l2 = BY_ID["l1-l2"]
    regularized = apply_solution(set_up(l2), l2)
    assert all(layer["l2"] == 0.001 for layer in regularized.model["layers"])


# -- malformed files ----------------------------------------------------------------------------


def _minimal(**changes) -> dict:
    data = {
        "id": "x",
        "title": "X",
        "explanation": "Words.",
        "start": {
            "project": {
                "dataset": {"name": "moons", "options": {"samples": 50}},
                "model": {"layers": [{"type": "Dense", "units": 2}]},
            }
        },
        "task": "Do it.",
        "hints": ["One."],
        "check": {"kind": "final_metric", "metric": "val_accuracy", "at_least": 0.9},
        "solution": {"explanation": "Like this.", "training": {"epochs": 5}},
    }
    data.update(changes)
    return data


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"check": {"kind": "magic"}}, "'check.kind'"),
        ({"check": {"kind": []}}, "'check.kind'"),  # issue 38: exit 1, unhashable type
        (
            {"check": {"kind": "final_metric", "metric": "val_accuracy", "at_least": "lots"}},
            "'check.at_least'",
        ),
        ({"check": {"kind": "all", "checks": [{"kind": "layer_count"}]}}, "'check.checks[0].type'"),
        ({"title": ""}, "'title'"),
        ({"hints": 3}, "'hints'"),
        ({"start": {"preset": "no-such-preset"}}, "'start.preset'"),
        ({"solution": {"explanation": "x", "steps": [{"weights": 1}]}}, "'solution.steps[0]'"),
        ({"check": {"kind": "confused_pair"}}, "'answer'"),
        ({"colour": "red"}, "'colour'"),
    ],
)
def test_a_malformed_lesson_is_skipped_with_the_file_and_the_field(tmp_path, changes, field):
    (tmp_path / "01-good.json").write_text(json.dumps(_minimal()))
    (tmp_path / "02-bad.json").write_text(json.dumps(_minimal(id="bad", **changes)))
    lessons, problems = load_lessons([tmp_path])
    assert [lesson.id for lesson in lessons] == ["x"]
    assert len(problems) == 1
    assert "02-bad.json" in problems[0] and field in problems[0]


@pytest.mark.parametrize(
    "changes, field",
    [
        (
            {"start": {"project": {**_minimal()["start"]["project"], "dataset": "csv:/x.csv"}}},
            "'start'",
        ),
        (
            {"solution": {"explanation": "x", "dataset": {"name": "csv:../../etc/passwd"}}},
            "'solution.steps'",
        ),
    ],
)
def test_a_lesson_naming_a_data_file_is_skipped_without_reading_it(
    tmp_path, changes, field, monkeypatch
):
    """A lesson file is not a file the learner named: the file it names is never opened."""
    import nnstudio.data.catalog as catalog

    monkeypatch.setattr(catalog, "load_dataset", lambda *a, **k: pytest.fail("data read"))
    (tmp_path / "01-bad.json").write_text(json.dumps(_minimal(**changes)))
    lessons, problems = load_lessons([tmp_path])
    assert lessons == [] and len(problems) == 1
    assert field in problems[0] and "built-in datasets" in problems[0]


def test_a_file_that_is_not_json_or_repeats_an_id_is_skipped(tmp_path):
    (tmp_path / "01-a.json").write_text(json.dumps(_minimal()))
    (tmp_path / "02-b.json").write_text(json.dumps(_minimal()))
    (tmp_path / "03-c.json").write_text("{not json")
    lessons, problems = load_lessons([tmp_path])
    assert len(lessons) == 1
    assert any("02-b.json" in p and "'id'" in p for p in problems)
    assert any("03-c.json" in p for p in problems)
    with pytest.raises(LessonError, match="03-c.json"):
        load_lesson(tmp_path / "03-c.json")


# -- progress -----------------------------------------------------------------------------------


def test_progress_is_kept_in_the_user_data_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("NNSTUDIO_DATA_DIR", str(tmp_path / "data"))
    assert load_progress() == {}
    record_progress("adam", passed=True)
    record_progress("adam", solution_shown=True)
    assert progress_path() == tmp_path / "data" / "lessons-progress.json"
    assert load_progress() == {"adam": {"passed": True, "solution_shown": True}}
    progress_path().write_text("[broken")
    assert load_progress() == {}  # a broken file never stops the app


# -- the check kinds ----------------------------------------------------------------------------


def _project(layers=None, **training) -> Project:
    project = Project()
    project.model = {
        "layers": layers
        or [{"type": "Dense", "units": 8, "activation": "relu"}, {"type": "Dense", "units": 2}]
    }
    for key, value in training.items():
        setattr(project.training, key, value)
    return project


def _run(project=None, history=None, status="completed", spread=None) -> RunRecord:
    project = project or _project()
    return RunRecord(history or [], status, dict(vars(project.training)), project.model, spread)


def _ok(check, state) -> bool:
    validate_check(check)
    return checks.evaluate_check(check, state)[0]


def test_final_metric_reads_the_last_epoch_of_the_latest_run():
    check = {"kind": "final_metric", "metric": "val_accuracy", "at_least": 0.9}
    state = LessonState(_project())
    assert not _ok(check, state)  # no run yet
    state.runs.append(_run(history=[{"val_accuracy": 0.95}, {"val_accuracy": 0.8}]))
    assert not _ok(check, state)
    state.runs.append(_run(history=[{"val_accuracy": 0.92}]))
    assert _ok(check, state)


def test_metrics_of_a_run_no_longer_count_once_the_network_was_edited():
    """Lesson 2: the initializers changed after a run of zeros: the check says so at once
    (train again), rather than waiting for the next run's end."""
    check = {"kind": "final_metric", "metric": "val_accuracy", "at_least": 0.9}
    trained = _project()
    state = LessonState(trained, runs=[_run(trained, history=[{"val_accuracy": 0.95}])])
    assert _ok(check, state)
    state.project = _project([{"type": "Dense", "units": 8, "initializer": "he"},
                              {"type": "Dense", "units": 2}])  # fmt: skip
    passed, message = checks.evaluate_check(check, state)
    assert not passed and "train again" in message
    state.project = _project(learning_rate=0.5)
    assert not checks.evaluate_check(check, state)[0]


def test_evaluation_metric_reads_the_report():
    report = {
        "accuracy": 0.9,
        "macro": {"f1": 0.88, "precision": 0.9, "recall": 0.9},
        "per_class": [{"recall": 0.95, "precision": 0.9}, {"recall": 0.7, "precision": 0.9}],
    }
    state = LessonState(_project(), evaluation=report)
    assert _ok({"kind": "evaluation_metric", "metric": "macro_f1", "at_least": 0.85}, state)
    assert not _ok({"kind": "evaluation_metric", "metric": "min_recall", "at_least": 0.8}, state)
    regression = LessonState(_project(), evaluation={"rmse": 0.1})
    assert _ok({"kind": "evaluation_metric", "metric": "rmse", "at_most": 0.16}, regression)
    assert not _ok(
        {"kind": "evaluation_metric", "metric": "rmse", "at_most": 0.16}, LessonState(_project())
    )


def test_structure_checks_read_the_network_the_latest_run_trained():
    small, big = (
        _project(),
        _project([{"type": "Dense", "units": 64}, {"type": "Dense", "units": 2}]),
    )
    check = {"kind": "max_hidden_units", "at_most": 8}
    assert _ok(check, LessonState(small))  # before a run: the project itself
    assert not _ok(check, LessonState(big, runs=[_run(big)]))  # the run used 64 units
    # Edited after the run: the check follows the edit at once, not only at the next run's end.
    edited = LessonState(small, runs=[_run(big)])
    assert edited.edited_since_run and _ok(check, edited)
    assert _ok(
        {"kind": "layer_setting", "setting": "activation", "not_in": ["linear"]}, LessonState(small)
    )
    assert not _ok(
        {"kind": "layer_setting", "setting": "activation", "not_in": ["linear"]}, LessonState(big)
    )  # linear by default
    assert not _ok({"kind": "layer_count", "type": "Dropout", "at_least": 1}, LessonState(small))
    with_dropout = _project(
        [{"type": "Dense", "units": 8}, {"type": "Dropout"}, {"type": "Dense", "units": 2}]
    )
    assert _ok({"kind": "layer_count", "type": "Dropout", "at_least": 1}, LessonState(with_dropout))


def test_training_setting_checks_choices_and_bounds():
    state = LessonState(_project(optimizer="sgd", epochs=40))
    assert not _ok({"kind": "training_setting", "setting": "optimizer", "one_of": ["adam"]}, state)
    assert _ok({"kind": "training_setting", "setting": "optimizer", "one_of": ["sgd"]}, state)
    assert _ok({"kind": "training_setting", "setting": "epochs", "at_most": 50}, state)
    assert not _ok({"kind": "training_setting", "setting": "epochs", "at_least": 50}, state)


def test_weight_spread_ratio_compares_with_the_run_without_regularization():
    plain = _project()
    l2 = _project(
        [{"type": "Dense", "units": 8, "l2": 0.01}, {"type": "Dense", "units": 2, "l2": 0.01}]
    )
    check = {"kind": "weight_spread_ratio", "at_most": 0.5}
    assert not _ok(check, LessonState(l2, runs=[_run(l2, spread=0.1)]))  # nothing to compare
    assert _ok(check, LessonState(l2, runs=[_run(plain, spread=0.4), _run(l2, spread=0.1)]))
    assert not _ok(check, LessonState(l2, runs=[_run(plain, spread=0.4), _run(l2, spread=0.3)]))
    assert checks.weight_spread({"0.W": [1.0, -1.0], "0.b": [50.0]}) == 1.0  # biases left out


def test_diverges_then_converges_needs_a_blow_up_before_a_good_run():
    sgd = _project(optimizer="sgd")
    check = {
        "kind": "diverges_then_converges",
        "optimizer": "sgd",
        "metric": "val_accuracy",
        "at_least": 0.9,
    }
    good = _run(
        sgd, history=[{"loss": 0.7, "val_accuracy": 0.5}, {"loss": 0.1, "val_accuracy": 0.95}]
    )
    blown = _run(sgd, status="nan")
    climbing = _run(sgd, history=[{"loss": 0.7}, {"loss": 3.0}])
    assert not _ok(check, LessonState(sgd, runs=[good]))
    assert not _ok(check, LessonState(sgd, runs=[good, blown]))  # the order matters
    assert _ok(check, LessonState(sgd, runs=[blown, good]))
    assert _ok(check, LessonState(sgd, runs=[climbing, good]))
    adam_good = _run(_project(optimizer="adam"), history=good.history)
    assert not _ok(check, LessonState(sgd, runs=[blown, adam_good]))


def test_every_share_is_said_as_a_percentage_and_other_values_as_they_are():
    """An accuracy of 1 reads "100 %", never "1"; a loss or an RMSE keeps its own number."""
    perfect = LessonState(_project(), runs=[_run(history=[{"val_accuracy": 1.0, "loss": 0.05}])])
    accuracy = {"kind": "final_metric", "metric": "val_accuracy", "at_least": 0.9}
    assert checks.evaluate_check(accuracy, perfect) == (
        True,
        "Validation accuracy is 100 % after the last run (goal met).",
    )
    loss = {"kind": "final_metric", "metric": "loss", "at_most": 0.01}
    assert checks.evaluate_check(loss, perfect)[1].startswith("Training loss is 0.05 after")
    report = {"per_class": [{"recall": 0.8234}, {"recall": 1.0}], "macro": {}, "rmse": 0.2}
    recall = {"kind": "evaluation_metric", "metric": "min_recall", "at_least": 0.85}
    message = checks.evaluate_check(recall, LessonState(_project(), evaluation=report))[1]
    assert "recall is 82.3 % on the test split; it needs at least 85 %." in message
    rmse = {"kind": "evaluation_metric", "metric": "rmse", "at_most": 0.16}
    message = checks.evaluate_check(rmse, LessonState(_project(), evaluation=report))[1]
    assert "Test RMSE is 0.2 on the test split; it needs at most 0.16." in message


def test_confused_pair_compares_the_answer_with_the_matrix():
    report = {"confusion_matrix": [[9, 1, 0], [4, 5, 1], [0, 2, 7]], "class_names": ["a", "b", "c"]}
    check = {"kind": "confused_pair"}
    assert not _ok(check, LessonState(_project(), evaluation=report))  # no answer
    assert not _ok(check, LessonState(_project(), evaluation=report, answer="b c"))
    assert _ok(check, LessonState(_project(), evaluation=report, answer="B and A"))
    assert checks.solve_confused_pair(LessonState(_project(), evaluation=report)) == "a b"


def test_all_passes_only_when_every_part_does_and_names_what_is_missing():
    check = {
        "kind": "all",
        "checks": [
            {"kind": "max_hidden_units", "at_most": 8},
            {"kind": "final_metric", "metric": "val_accuracy", "at_least": 0.9},
        ],
    }
    state = LessonState(_project(), runs=[_run(history=[{"val_accuracy": 0.5}])])
    validate_check(check)
    passed, message = checks.evaluate_check(check, state)
    assert not passed and "hidden units" not in message
    assert "Validation accuracy is 50 % after the last run; it needs at least 90 %" in message
    state.runs.append(_run(history=[{"val_accuracy": 0.95}]))
    assert checks.evaluate_check(check, state)[0]


def test_only_the_learners_own_work_on_the_lessons_data_passes():
    lessons, _ = load_lessons()
    forward = next(lesson for lesson in lessons if lesson.id == "forward-pass")
    assert forward.datasets == {"circle"}
    solved = apply_solution(set_up(forward), forward)
    good = [{"val_accuracy": 0.99}]
    run = RunRecord(good, "completed", dict(vars(solved.training)), solved.model, dataset="circle")
    assert check_own_work(forward, LessonState(solved, runs=[run]), opened=set_up(forward))[0]
    # The same run on another lesson's moons: not this lesson's task.
    moons = RunRecord(good, "completed", dict(vars(solved.training)), solved.model, dataset="moons")
    passed, message = check_own_work(forward, LessonState(solved, runs=[moons]), opened=None)
    assert not passed and "circle" in message and "Set up" in message
    # A project that met a structure-only check when the lesson was opened: not the learner's.
    structure = copy.deepcopy(forward)
    structure.check = {"kind": "layer_setting", "setting": "activation", "not_in": ["linear"]}
    passed, message = check_own_work(structure, LessonState(solved), opened=solved)
    assert not passed and message == NOT_YOUR_WORK
    assert check_own_work(structure, LessonState(solved), opened=set_up(forward))[0]  # edited


def test_activation_count_finds_the_sigmoid_in_either_place():
    """Dense(sigmoid), or Dense → BatchNorm → Sigmoid (the usual order, lesson 13)."""
    check = {"kind": "activation_count", "activation": "sigmoid", "at_least": 2}
    fused = _project([{"type": "Dense", "units": 4, "activation": "sigmoid"}] * 2)
    apart = _project([{"type": "Dense", "units": 4}, {"type": "BatchNorm"}, {"type": "Sigmoid"},
                      {"type": "Activation", "function": "sigmoid"}])  # fmt: skip
    assert _ok(check, LessonState(fused)) and _ok(check, LessonState(apart))
    assert not _ok(check, LessonState(_project()))  # ReLU only


# -- what the lesson texts promise, measured ----------------------------------------------------


def _lesson(lesson_id):
    return next(lesson for lesson in load_lessons()[0] if lesson.id == lesson_id)


def _last_epoch(lesson_id, step=None, solution=False):
    lesson = _lesson(lesson_id)
    project = set_up(lesson)
    if solution:
        project = apply_solution(project, lesson)
    if step:
        project = apply_step(project, step)
    record, _model = train_project(project, project.load_dataset())
    return record.history


def test_lesson_losses_start_is_above_the_guess_as_its_text_says():
    """04: one epoch at 1e-4 leaves the random weights' loss near 1.7, above ln 3."""
    (epoch,) = _last_epoch("losses")
    assert 1.5 < epoch["val_loss"] < 1.9 and epoch["val_accuracy"] < 0.1
    text = " ".join(_lesson("losses").explanation)
    assert "1.7" in text and "stays near that guess" not in text


def test_lesson_architecture_one_layer_is_slow_not_impossible():
    """01: one hidden layer of 64 stays near 67 % in the lesson's 50 epochs; two pass 90 %."""
    one = [{"type": "Dense", "units": 64, "activation": "relu"}, {"type": "Dense", "units": 2}]
    assert _last_epoch("architecture", {"layers": one})[-1]["val_accuracy"] < 0.8
    assert _last_epoch("architecture", solution=True)[-1]["val_accuracy"] >= 0.9
    assert "one layer is not enough" not in " ".join(_lesson("architecture").hints).lower()


def test_lesson_backpropagation_gradient_shrinks_thousands_of_times():
    """05: the first layer's gradient in the first epoch, against the last layer's."""
    norms = [row["grad_norm"] for row in _last_epoch("backpropagation")[0]["health"].values()]
    assert norms[0] / norms[-1] < 1e-3
    text = " ".join(_lesson("backpropagation").explanation)
    assert "Wᵀ" in text and "at most 0.25⁶" in text


def test_lesson_adam_compares_each_optimizer_at_its_own_rates():
    """07: Adam at 0.001 is no faster than SGD at 0.01 (70 %); at 0.01 it passes 90 %."""
    slow = {"training": {"optimizer": "adam", "learning_rate": 0.001}}
    assert _last_epoch("adam", slow)[-1]["val_accuracy"] < 0.8
    assert _last_epoch("adam", solution=True)[-1]["val_accuracy"] >= 0.9
    assert "at the same learning rate" not in " ".join(_lesson("adam").explanation)


def test_lesson_batch_norm_goes_before_the_sigmoid_and_keeps_the_gradient():
    """13: Dense → BatchNorm → Sigmoid in the solution; the first layer's gradient stays within
    a few times of the last layer's (without BatchNorm: about 1/14,000)."""
    layers = apply_solution(set_up(_lesson("batch-norm")), _lesson("batch-norm")).model["layers"]
    kinds = [layer["type"] for layer in layers]
    assert all(kinds[i + 1] == "Sigmoid" for i, kind in enumerate(kinds) if kind == "BatchNorm")
    health = _last_epoch("batch-norm", solution=True)[0]["health"]
    norms = [row["grad_norm"] for name, row in health.items() if name.endswith("Dense")]
    assert norms[0] / norms[-1] > 0.1


def test_run_epochs_counts_what_the_last_run_trained_in_all():
    """One meaning of Epochs (issue 31): Train on a trained run adds epochs to it, so "keep
    50 epochs" is about the run, not the setting."""
    check = {"kind": "run_epochs", "at_most": 2}
    state = LessonState(_project())
    assert not _ok(check, state)
    state.runs.append(_run(history=[{"loss": 1.0}] * 4))  # 2 epochs, then Train again
    passed, message = checks.evaluate_check(check, state)
    assert not passed and "Reset weights" in message
    state.runs.append(_run(history=[{"loss": 1.0}] * 2))
    assert _ok(check, state)


def test_a_dotted_training_setting_reads_inside_the_optimizers_settings():
    check = {"kind": "training_setting", "setting": "optimizer_settings.momentum", "at_least": 0.5}
    state = LessonState(_project())
    state.project.training.optimizer_settings = {"momentum": 0.9}
    passed, message = checks.evaluate_check(check, state)
    assert passed and message.startswith("Momentum is 0.9")
    state.project.training.optimizer_settings = {}
    passed, message = checks.evaluate_check(check, state)
    assert not passed and message == "Momentum is off; it needs at least 0.5."


def test_all_says_each_missing_thing_once():
    check = {"kind": "all", "checks": [
        {"kind": "run_epochs", "at_most": 60},
        {"kind": "final_metric", "metric": "val_accuracy", "at_least": 0.85},
    ]}  # fmt: skip
    passed, message = checks.evaluate_check(check, LessonState(_project()))
    assert not passed and message.count("No run finished since this lesson opened") == 1


def test_dataset_setting_reads_the_runs_split_and_scaling_until_the_data_is_edited():
    scaling = {"kind": "dataset_setting", "setting": "scaling", "one_of": ["standardize"]}
    split = {"kind": "dataset_setting", "setting": "test_fraction", "at_least": 0.15}
    state = LessonState(_project())
    passed, message = checks.evaluate_check(scaling, state)  # no run: the project's defaults
    assert not passed and message == "The data uses the scaling 'none'; use standardize."
    assert _ok(split, state)  # 0.15 unless the project says otherwise
    state.project.dataset.options = {"scaling": "standardize", "test_fraction": 0.05}
    assert _ok(scaling, state) and not _ok(split, state)
    run = _run()
    run.dataset_options = {"scaling": "standardize", "test_fraction": 0.2, "val_fraction": 0.2}
    state.runs.append(run)
    assert state.edited_since_run  # the project's test split is not the one the run had
    state.project.dataset.options = dict(run.dataset_options)
    assert not state.edited_since_run and _ok(split, state)
    state.project.dataset.options["scaling"] = "minmax"  # edited after the run
    assert state.edited_since_run and not _ok(scaling, state)


def test_lesson_scaling_split_min_max_is_no_better_than_a_guess():
    """19: the solution's split with min-max scaling instead of standardize stays far below
    the goal, so the scaling (not only the split) is what passes it."""
    lesson = _lesson("scaling-split")
    step = {"dataset": {"options": {"val_fraction": 0.2, "test_fraction": 0.2}}}
    project = apply_step(set_up(lesson), step)
    assert project.dataset.options["scaling"] == "minmax"
    dataset = project.load_dataset()
    record, model = train_project(project, dataset)
    state = LessonState(project, [record], evaluation_report(model, project.make_loss(), dataset))
    passed, message = checks.evaluate_check(lesson.check, state)
    assert not passed and re.search(r"Test accuracy is 5\d(\.\d)? %", message)  # a guess


def test_settings_tried_counts_the_different_values_of_the_lessons_runs():
    check = {"kind": "settings_tried", "setting": "learning_rate", "at_least": 3}
    state = LessonState(_project())
    passed, message = checks.evaluate_check(check, state)
    assert not passed and message.startswith("Values of the learning rate tried: none yet.")
    for rate in (0.01, 0.01, 0.003):  # the same rate twice is one value
        state.runs.append(_run(_project(learning_rate=rate)))
    passed, message = checks.evaluate_check(check, state)
    assert not passed and "learning rate tried: 2 (0.003, 0.01). A search" in message
    state.runs.append(_run(_project(learning_rate=0.03)))
    passed, message = checks.evaluate_check(check, state)
    assert passed and message.endswith("learning rate: 0.003, 0.01, 0.03.")


def test_best_run_metric_takes_the_best_run_not_the_last():
    check = {"kind": "best_run_metric", "metric": "val_accuracy", "at_least": 0.95}
    state = LessonState(_project())
    assert not _ok(check, state)
    for rate, accuracy in ((0.004, 0.7), (0.03, 0.98), (0.1, float("nan")), (0.3, 0.5)):
        state.runs.append(_run(_project(learning_rate=rate), [{"val_accuracy": accuracy}]))
    passed, message = checks.evaluate_check(check, state)
    assert passed and "98 % in the best run at learning rate 0.03 (goal met)" in message
    loss = {"kind": "best_run_metric", "metric": "val_loss", "at_most": 0.5}
    state.runs = [_run(history=[{"val_loss": v}]) for v in (0.9, 0.4, 0.7)]
    assert _ok(loss, state)  # the lowest loss is the best


def test_lesson_hyperparameter_search_sweeps_from_the_lr_finders_suggestion():
    """20: the solution's rates run from the LR finder's suggestion for the start up to
    below the rate where its loss is lowest, as the lesson says."""
    from nnstudio.engine.fit.lr_finder import find_lr

    lesson = _lesson("hyperparameter-search")
    project = set_up(lesson)
    dataset = project.load_dataset()
    found = find_lr(
        project.build_model(dataset),
        project.make_loss(),
        project.make_optimizer(),
        dataset.x_train,
        dataset.y_train,
    )
    rates = [step["training"]["learning_rate"] for step in lesson.steps]
    assert found.suggested_lr == pytest.approx(rates[0], rel=0.25)
    assert rates[-1] < found.min_loss_lr < 10 * rates[-1]
