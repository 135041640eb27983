"""The Lessons panel in the window: Help → Lessons, Set up through the normal open path, hints
one at a time, the live check turning green after a short training, Show me, progress marks
and a malformed lesson file named in the panel."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt

from nnstudio.project.lessons import load_progress
from nnstudio.ui.panels.lessons import PASSED_MARK


def open_lesson(qtbot, window, ready, lesson_id):
    window.actionLessons.trigger()
    panel = window.lessons.panel
    panel.select(lesson_id)
    qtbot.mouseClick(panel.set_up_button, Qt.MouseButton.LeftButton)
    ready(window)
    return panel


def train_and_wait(qtbot, window):
    with qtbot.waitSignal(window.training_finished, timeout=30_000):
        window.actionTrain.trigger()


def test_help_lessons_shows_the_panel_with_every_lesson(window):
    window.actionLessons.trigger()
    panel = window.findChild(type(window.lessons.panel), "lessonsPanel")
    assert panel is window.lessons.panel and window.lessons.dock.isVisibleTo(window)
    assert panel.list.count() >= 12
    assert window.lessons.lesson.id == "architecture"  # the first one not passed yet
    assert "Your task:" in panel.text.toPlainText()


def test_the_dock_shown_from_the_view_menu_has_a_lesson_too(qtbot, window):
    window.show()
    qtbot.waitExposed(window)
    window.lessons.dock.toggleViewAction().trigger()  # View → Lessons, not Help → Lessons
    qtbot.waitUntil(lambda: window.lessons.dock.isVisible(), timeout=2000)
    assert window.lessons.lesson is not None
    assert "Your task:" in window.lessons.panel.text.toPlainText()


def test_set_up_opens_the_start_and_hints_come_one_at_a_time(qtbot, window, ready):
    panel = open_lesson(qtbot, window, ready, "epochs-batches")
    assert window.document.training.batch_size == 512  # the lesson's starting project
    assert window.dataset.name == "circle"
    assert window.document.path.name == "epochs-batches.nnsproj"
    assert not panel.passed and panel.check_label.text().startswith("Not yet")
    assert "Hint 1" not in panel.text.toPlainText()
    qtbot.mouseClick(panel.hint_button, Qt.MouseButton.LeftButton)
    assert "Hint 1" in panel.text.toPlainText() and "Hint 2" not in panel.text.toPlainText()
    assert panel.hint_button.text() == "Hint (2 left)"


def test_the_check_turns_green_after_the_learners_own_short_training(qtbot, window, ready):
    panel = open_lesson(qtbot, window, ready, "epochs-batches")
    train_and_wait(qtbot, window)  # batch 512: one update per epoch, not enough
    assert not panel.passed
    window.hyperparameters.batch_size_box.setValue(16)
    window.actionReset.trigger()
    train_and_wait(qtbot, window)
    assert panel.passed, panel.check_label.text()
    assert panel.check_label.text().startswith("Passed")
    assert load_progress()["epochs-batches"]["passed"] is True
    row = next(
        panel.list.item(i)
        for i in range(panel.list.count())
        if panel.list.item(i).data(Qt.ItemDataRole.UserRole) == "epochs-batches"
    )
    assert row.text().startswith(PASSED_MARK)


def test_show_me_applies_the_solution_and_explains_it(qtbot, window, ready):
    panel = open_lesson(qtbot, window, ready, "adam")
    assert window.document.training.optimizer == "sgd"
    qtbot.mouseClick(panel.solution_button, Qt.MouseButton.LeftButton)
    assert window.document.training.optimizer == "adam"
    assert window.hyperparameters.settings()["optimizer"] == "adam"  # the dock follows
    assert "Solution:" in panel.text.toPlainText()
    assert load_progress()["adam"]["solution_shown"] is True
    ready(window)
    train_and_wait(qtbot, window)
    assert panel.passed, panel.check_label.text()


def test_show_me_before_set_up_opens_the_lessons_project_first(qtbot, window, ready):
    """Lesson 1's solution ends in Dense(2), for its 2-arm spiral: put on the first launch's
    3-arm spiral it left a network that cannot train, under "press Train"."""
    window.actionLessons.trigger()
    panel = window.lessons.panel
    panel.select("architecture")
    assert window.dataset.class_names and len(window.dataset.class_names) == 3
    qtbot.mouseClick(panel.solution_button, Qt.MouseButton.LeftButton)
    ready(window)
    assert window.document.dataset.options["classes"] == 2
    assert [layer["units"] for layer in window.document.model["layers"]] == [32, 32, 2]
    qtbot.waitUntil(lambda: window.model is not None and window.actionTrain.isEnabled())
    assert "Solution:" in panel.text.toPlainText()


def test_a_malformed_lesson_file_is_named_and_the_rest_still_load(make_window, tmp_path):
    folder = tmp_path / "data" / "lessons"  # make_window's user data folder
    folder.mkdir(parents=True)
    (folder / "99-broken.json").write_text(json.dumps({"id": "broken", "title": ""}))
    window = make_window()
    window.actionLessons.trigger()
    panel = window.lessons.panel
    assert not panel.problems.isHidden()
    assert "99-broken.json" in panel.problems.text() and "'title'" in panel.problems.text()
    assert panel.list.count() >= 12


def mark_of(panel, lesson_id):
    row = next(
        panel.list.item(i)
        for i in range(panel.list.count())
        if panel.list.item(i).data(Qt.ItemDataRole.UserRole) == lesson_id
    )
    return row.text().split()[0]


def test_lessons_opened_one_after_another_do_not_tick_themselves(qtbot, window, ready):
    """Lesson 1 solved, then lessons 2 and 3 opened: the previous lesson's run and project
    do not pass them, and a run on lesson 1's spiral does not pass lesson 3 (the circle)."""
    panel = open_lesson(qtbot, window, ready, "architecture")
    qtbot.mouseClick(panel.solution_button, Qt.MouseButton.LeftButton)
    ready(window)
    train_and_wait(qtbot, window)
    assert panel.passed, panel.check_label.text()
    for lesson_id in ("initialization", "forward-pass"):
        panel.select(lesson_id)
        assert window.lessons.lesson.id == lesson_id
        assert not panel.passed, panel.check_label.text()
        assert mark_of(panel, lesson_id) != PASSED_MARK
        assert "passed" not in load_progress().get(lesson_id, {})
    train_and_wait(qtbot, window)  # lesson 3 open, lesson 1's spiral project still there
    assert not panel.passed
    assert "circle" in panel.check_label.text() and "Set up" in panel.check_label.text()
    assert "passed" not in load_progress().get("forward-pass", {})
    panel.select("architecture")  # opened again: a fresh try, and the ✓ it earned stays
    assert not panel.passed and "passed this lesson before" in panel.check_label.text()
    assert mark_of(panel, "architecture") == PASSED_MARK


def test_a_run_finished_before_the_lesson_is_not_called_no_run(qtbot, window):
    """A learner who trained first and then opened a lesson is told why that run does not
    count, not that no run has finished while its curves are on screen."""
    window.hyperparameters.epochs_box.setValue(1)
    train_and_wait(qtbot, window)
    window.actionLessons.trigger()
    window.lessons.panel.select("architecture")
    text = window.lessons.panel.check_label.text()
    assert "No run finished since this lesson opened" in text
    assert "No finished run yet" not in text


def test_the_check_follows_every_edit_not_only_the_end_of_a_run(qtbot, window, ready):
    panel = open_lesson(qtbot, window, ready, "initialization")
    window.hyperparameters.epochs_box.setValue(3)
    train_and_wait(qtbot, window)
    assert "initializer = 'zeros'" in panel.check_label.text()
    window.builder.set_settings_everywhere({"initializer": "he"})
    assert "initializer = 'zeros'" not in panel.check_label.text()
    assert "train again" in panel.check_label.text()
    assert not panel.passed


def test_the_split_and_scaling_lesson_reads_the_data_the_run_trained_on(qtbot, window, ready):
    panel = open_lesson(qtbot, window, ready, "scaling-split")
    assert window.dataset.scaling["method"] == "minmax"
    train_and_wait(qtbot, window)
    assert not panel.passed and "The validation split is 5 % " in panel.check_label.text()
    qtbot.mouseClick(panel.solution_button, Qt.MouseButton.LeftButton)  # split 20/20, standardize
    qtbot.waitUntil(lambda: window.dataset.scaling["method"] == "standardize", timeout=10_000)
    ready(window)
    assert "train again" in panel.check_label.text()  # the run's data is not the project's now
    train_and_wait(qtbot, window)
    assert panel.passed, panel.check_label.text()


def test_a_sweeps_trials_count_as_the_search_lessons_runs(qtbot, window, ready):
    from tests.ui.test_sweep_dialog import set_grid

    panel = open_lesson(qtbot, window, ready, "hyperparameter-search")
    window.hyperparameters.epochs_box.setValue(2)
    dialog = window.sweeps.open_dialog(workers=1)
    set_grid(dialog, [("learning_rate", "0.004, 0.01")])
    with qtbot.waitSignal(dialog.finished, timeout=60_000):
        dialog.run_button.click()
    dialog.reject()
    assert [run.settings["learning_rate"] for run in window.lessons.runs] == [0.004, 0.01]
    text = panel.check_label.text()
    assert "learning rate tried: 2 (0.004, 0.01)" in text and not panel.passed
