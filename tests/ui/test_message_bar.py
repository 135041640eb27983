"""The one message bar of the window and the panels: levels, actions, progress, its text."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from nnstudio.ui.widgets import jobs
from nnstudio.ui.widgets.message_bar import MessageBar


@pytest.fixture
def bar(qtbot):
    widget = MessageBar()
    qtbot.addWidget(widget)
    return widget


def test_a_message_shows_its_level_and_hides_with_its_text(bar):
    assert bar.isHidden() and bar.text() == ""
    bar.show_message("The file is not a CSV.", "error")
    assert not bar.isHidden() and bar.text() == "The file is not a CSV."
    assert bar.property("level") == "error" == bar.level  # the style sheet colours by it
    assert not bar.icon.pixmap().isNull()
    bar.close_button.click()
    assert bar.text() == ""
    with pytest.raises(ValueError, match="'success'"):
        bar.show_message("Done.", "success")


def test_actions_belong_to_the_message_that_offered_them(bar, qtbot):
    clicked = []
    download = ("Download…", "Fetch it.", lambda: clicked.append("download"))
    bar.show_message("MNIST is not here.", "warning", [download])
    bar.progress.show()
    bar.action("Download…").click()
    assert clicked == ["download"]
    bar.show_message("Downloaded.", "info")
    assert bar.action("Download…") is None
    assert bar.progress.isHidden()  # a new message starts without the old progress


def test_there_is_one_message_bar_class():
    assert not hasattr(jobs, "MessageBar")


def test_an_error_stays_over_routine_notes_until_the_user_acts(bar, qtbot):
    """A refused file's reason is not cleared by the default data arriving: an error waits
    for the user (a click, a key) or a newer error; routine notes never cover it."""
    bar.show()
    bar.show_message("Could not open the project: samples must be <= 100000.", "error")
    bar.clear_routine()  # the default project's data arrived
    bar.show_message("Loaded spiral.", "info", routine=True)
    assert bar.text().startswith("Could not open the project") and bar.level == "error"
    bar.show_message("Could not read data.csv.", "error", routine=True)  # equal priority
    assert bar.text() == "Could not read data.csv."
    qtbot.mouseClick(bar.label, Qt.MouseButton.LeftButton)  # the user acts
    bar.clear_routine()
    assert bar.isHidden()


def test_routine_notes_replace_and_clear_anything_but_a_waiting_error(bar):
    bar.show()
    bar.show_message("MNIST is not here.", "warning")
    bar.show_message("Loaded spiral.", "info", routine=True)
    assert bar.text() == "Loaded spiral."
    bar.clear_routine()
    assert bar.isHidden()
    bar.show_message("Could not read data.csv.", "error")
    bar.show_message("Weights reset: press Train for a fresh run.", "info")  # the user's act
    assert bar.level == "info"
    bar.clear_routine()
    assert bar.isHidden()


def test_a_note_shown_until_acted_outlasts_the_first_dataset(bar, qtbot):
    """The window's note that its docks were arranged for a smaller screen shows as it opens,
    before its first dataset arrives: that arrival must not take it away unread."""
    bar.show()
    bar.show_message("The saved dock layout did not fit this screen.", until_acted=True)
    bar.clear_routine()  # the first dataset arrived
    assert bar.text().startswith("The saved dock layout") and bar.level == "info"
    qtbot.keyClick(bar.label, Qt.Key.Key_Escape)  # the user acts
    bar.clear_routine()
    assert bar.isHidden()
