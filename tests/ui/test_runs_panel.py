"""The Runs panel keeps the newest run in sight, leaves the scroll alone otherwise, and shows
its columns whole in a narrow dock."""

from __future__ import annotations

from nnstudio.project.runs import Run
from nnstudio.ui.panels.runs import RunsPanel


def _runs(count):
    config = {"layers": [{"type": "Dense", "units": 3}]}
    return [Run(number, "spiral", config, {"batch_size": 32}) for number in range(1, count + 1)]


def test_a_new_run_scrolls_into_view_in_a_short_panel(qtbot):
    panel = RunsPanel()
    qtbot.addWidget(panel)
    panel.resize(900, 90)  # one or two rows tall, as at 1366x768
    panel.show()
    runs = _runs(6)
    panel.set_runs(runs[:5])
    bar = panel.table.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0)
    bar.setValue(0)  # the user looks at the first runs
    panel.set_runs(runs[:5])  # a refresh with no new run: their view stays
    assert bar.value() == 0
    panel.set_runs(runs)  # Run 6 starts
    qtbot.waitUntil(lambda: bar.value() == bar.maximum())
    last = panel.table.visualItemRect(panel.table.item(5, 0))
    assert panel.table.viewport().rect().intersects(last)


def _cnn_run(status="training"):
    from nnstudio.project.presets import load_preset

    layers = load_preset("mnist-cnn").model["layers"]
    settings = {"optimizer": "adam", "learning_rate": 0.001, "batch_size": 64}
    history = [{"loss": 0.21, "val_loss": 0.12, "accuracy": 0.93, "val_accuracy": 0.96}]
    return Run(1, "mnist", {"layers": layers}, settings, history, status)


def _text_fits(table, column: int) -> bool:
    return table.columnWidth(column) >= table.sizeHintForColumn(column)


def test_a_narrow_runs_dock_shows_the_status_and_the_model_whole(qtbot):
    """In the side column of a 1024×600 screen the Status cell read "training…" (as if cut)
    and the Model column, stretched amid the others, showed "Conv2D(" even when scrolled to."""
    from nnstudio.ui.panels.runs import COLUMNS

    panel = RunsPanel()
    qtbot.addWidget(panel)
    panel.set_side_by_side(False)
    panel.resize(250, 200)
    panel.show()
    run = _cnn_run()
    panel.set_runs([run])
    table = panel.table
    status = table.item(0, COLUMNS.index("Status"))
    assert status.text() == "training" and status.toolTip() == "Training now."
    assert COLUMNS[-1] == "Model"  # after the results: they come into view first
    assert table.item(0, len(COLUMNS) - 1).text() == run.model_summary()
    assert all(_text_fits(table, column) for column in range(len(COLUMNS)))
    run.status = "nan"
    panel.update_run(run)
    assert status.text() == "blew up" and "NaN" in status.toolTip()
    assert _text_fits(table, COLUMNS.index("Status"))


def test_a_wide_runs_dock_gives_the_model_column_the_rest_of_the_row(qtbot):
    panel = RunsPanel()
    qtbot.addWidget(panel)
    panel.resize(1200, 120)
    panel.show()
    panel.set_runs(_runs(1))  # "Dense(3)": a short model
    table, last = panel.table, panel.table.columnCount() - 1
    qtbot.waitUntil(lambda: table.columnViewportPosition(last) > 0)
    right_edge = table.columnViewportPosition(last) + table.columnWidth(last)
    assert right_edge == table.viewport().width()
    panel.resize(300, 120)  # narrower than the columns: the Model column keeps its text
    qtbot.waitUntil(lambda: table.horizontalScrollBar().maximum() > 0)
    assert _text_fits(table, last)
