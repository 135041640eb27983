"""Modified means unsaved work, on every path (issue 31): the title's * and the "Save the
changes?" question agree, opening a file is not a change, and a preset or a lesson that would
replace edited work asks first."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox


def _train(qtbot, window, epochs=2):
    window.hyperparameters.epochs_box.setValue(epochs)
    with qtbot.waitSignal(window.training_finished, timeout=30_000):
        window.actionTrain.trigger()


def _asks(window, monkeypatch) -> list:
    """Every "Save the changes?" question the window asks from now on (answered Cancel)."""
    asked = []

    def ask(_files):
        asked.append(True)
        return QMessageBox.StandardButton.Cancel

    monkeypatch.setattr(type(window.files), "ask_save_changes", ask)
    return asked


def test_an_opened_model_file_is_not_unsaved_work(qtbot, window, ready, tmp_path, monkeypatch):
    _train(qtbot, window)
    path = tmp_path / "model.nnz"
    assert window.files.models.save_model(path)
    window.files.maybe_save = lambda: True  # the trained project is not the point here
    assert window.open_project(path)
    ready(window)
    del window.files.maybe_save
    assert not window.document.is_modified() and not window.isWindowModified()
    asked = _asks(window, monkeypatch)
    assert window.files.maybe_save() and asked == []


def test_the_title_star_and_the_question_agree_after_training(qtbot, window, monkeypatch):
    _train(qtbot, window)
    assert window.document.is_modified() and window.isWindowModified()
    asked = _asks(window, monkeypatch)
    assert not window.files.maybe_save() and asked == [True]


def test_a_builder_preset_over_edited_work_asks_first(window, monkeypatch):
    window.hyperparameters.batch_size_box.setValue(7)  # an edit: unsaved work
    assert window.document.is_modified()
    before = window.document.model
    asked = _asks(window, monkeypatch)
    window.builder.load_preset("xor-net")
    assert asked == [True]
    assert window.document.model == before  # cancelled: the edited network stays
    assert window.document.training.batch_size == 7


def test_a_lesson_set_up_over_edited_work_asks_first(window, monkeypatch):
    window.hyperparameters.batch_size_box.setValue(7)
    asked = _asks(window, monkeypatch)
    lessons = window.lessons
    lessons.select(lessons.lessons[0].id)
    assert not lessons.set_up()
    assert asked == [True] and window.document.training.batch_size == 7


def test_a_set_up_lesson_is_not_unsaved_work(window, ready, monkeypatch):
    lessons = window.lessons
    lessons.select(lessons.lessons[0].id)
    assert lessons.set_up()
    ready(window)
    assert not window.document.is_modified() and not window.isWindowModified()


def test_a_preset_on_unedited_work_opens_without_a_question(make_window, ready, monkeypatch):
    window = make_window()
    asked = _asks(window, monkeypatch)
    window.builder.load_preset("xor-net")
    ready(window, "xor")
    assert asked == [] and window.document.name == "XOR net"
    assert not window.document.is_modified() and not window.isWindowModified()
