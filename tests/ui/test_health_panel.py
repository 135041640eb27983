"""The Layer health panel in a narrow side column (a 1024×600 screen): a warning that
arrives while a run trains wraps within the dock from its first paint."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QVBoxLayout, QWidget

from nnstudio.ui.panels.health import HealthPanel
from tests.ui.test_main_window import app_look  # noqa: F401 - a fixture, used below

OVERFITTING = {
    "kind": "overfitting",
    "layer": None,
    "message": "The validation loss rose from 0.123 (around epoch 12) to 0.456 while the "
    "training loss kept falling: the network memorises the training data instead of "
    "learning what generalises.",
    "fix": "Add Dropout or turn on early stopping",
}
HEALTH = {"0 Dense": {"dead_fraction": 0.1, "activation": "relu", "grad_norm": 0.2}}


def _in_a_side_column(qtbot, width=260):
    column = QWidget()
    panel = HealthPanel()
    QVBoxLayout(column).addWidget(panel)
    panel.set_side_by_side(False)  # as in a dock on the left or right
    column.setFixedSize(width, 520)
    qtbot.addWidget(column)
    column.show()
    qtbot.waitExposed(column)
    return column, panel


def test_a_new_warning_is_never_wider_than_the_dock_not_even_before_its_layout(qtbot):
    column, panel = _in_a_side_column(qtbot)
    panel.show_epoch({"epoch": 11, "health": HEALTH, "warnings": []})
    panel.show_epoch({"epoch": 12, "health": HEALTH, "warnings": [OVERFITTING]})
    # No events processed yet: this is what the next paint would show.
    [row] = panel.warning_rows
    assert 0 < row.width() <= panel.width(), "the warning painted wider than the dock"
    qtbot.wait(50)
    assert row.width() <= panel.width() and column.width() == 260
    assert row.height() >= row.heightForWidth(row.width()) - 1  # all of its wrapped lines


BLOW_UP = {
    "kind": "blow_up",
    "layer": None,
    "message": "The loss exploded at epoch 1, batch 2: the learning rate is too high.",
    "fix": "Start again from fresh weights with a smaller learning rate",
    "action": "reset_and_lower_lr",
    "changes": {"learning_rate": 0.001},
}


def test_a_long_fix_button_wraps_its_words_instead_of_widening_the_dock(
    qtbot,
    app_look,  # noqa: F811 - sizes depend on the style sheet and fonts
):
    """ "Reset weights and use rate 0.001" is wider than the Layer health dock at 1024×600
    (270 pixels): the dock grew to 282 for it, and stayed so."""
    column, panel = _in_a_side_column(qtbot, width=270)
    panel.set_warnings([BLOW_UP])
    qtbot.wait(50)
    button = panel.warning_rows[0].buttons["reset_and_lower_lr"]
    assert button.text() == "Reset weights and use rate 0.001"
    assert panel.minimumSizeHint().width() <= panel.width()  # the dock has no reason to grow
    assert button.geometry().right() < panel.warning_rows[0].width()
    assert button.height() >= button.label.heightForWidth(button.label.width())  # every line
    clicked = []
    panel.fix_requested.connect(lambda action, _warning: clicked.append(action))
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert clicked == ["reset_and_lower_lr"]


def test_a_fix_button_keeps_its_words_on_one_line_where_it_has_room(
    qtbot,
    app_look,  # noqa: F811 - sizes depend on the style sheet and fonts
):
    """Under the tabs at 1366×768 the warnings' column is 500 pixels wide: "Reset weights
    and use rate 0.001" broke in two there all the same, a line more than the short dock had."""
    column, panel = _in_a_side_column(qtbot, width=1300)
    panel.set_side_by_side(True)  # under the tabs: table and warnings side by side
    panel.set_warnings([BLOW_UP])
    qtbot.wait(50)
    button = panel.warning_rows[0].buttons["reset_and_lower_lr"]
    one_line = button.label.fontMetrics().height()
    assert button.label.height() < 2 * one_line  # one line of words
    assert button.label.heightForWidth(button.label.width()) < 2 * one_line


def _table(panel):
    table = panel.table
    return [
        [
            (item.text(), item.background().color().name(), item.foreground().style())
            for item in (table.item(row, column) for column in range(table.columnCount()))
        ]
        for row in range(table.rowCount())
    ]


def test_each_epoch_changes_the_health_table_in_place_to_what_a_fresh_one_shows(qtbot):
    """Cells are changed where they differ, not made anew: the table after several epochs
    (a shade that comes and goes, a layer that goes away) is the one a new panel draws."""
    column, panel = _in_a_side_column(qtbot)
    second = {"dead_fraction": 0.3, "activation": "relu", "grad_norm": 0.01}
    reports = [
        {"0 Dense": HEALTH["0 Dense"], "2 Dense": second},
        {"0 Dense": {**HEALTH["0 Dense"], "dead_fraction": 0.6}, "2 Dense": second},
        {"0 Dense": {**HEALTH["0 Dense"], "grad_norm": 0.5}},
    ]
    for epoch, health in enumerate(reports, start=1):
        panel.show_epoch({"epoch": epoch, "health": health, "warnings": []})
        fresh_column, fresh = _in_a_side_column(qtbot)
        fresh.show_epoch({"epoch": epoch, "health": health, "warnings": []})
        assert _table(panel) == _table(fresh)
    assert panel.table.rowCount() == 1 and panel.table.item(0, 3).text() == "0.5"


def test_the_title_follows_every_epoch_and_gets_the_lines_a_longer_one_needs(qtbot):
    """The title is held in a box that lays out the dock again only when its size changes
    (it changes its epoch number every report): a longer title still gets its lines."""
    column, panel = _in_a_side_column(qtbot, width=200)
    title = panel.title

    def all_lines_shown() -> bool:
        return title.height() >= title.heightForWidth(title.width())

    for epoch in (9, 10, 11):
        panel.show_epoch({"epoch": epoch, "health": HEALTH, "warnings": []})
        assert title.text() == f"After epoch {epoch}, per layer:"
    qtbot.waitUntil(all_lines_shown)
    lines = title.height()
    panel.clear()
    panel.show_final_warnings([BLOW_UP], epochs_reported=0)  # a title of several lines
    qtbot.waitUntil(lambda: all_lines_shown() and title.height() > lines)
    assert title.width() <= panel.width()
