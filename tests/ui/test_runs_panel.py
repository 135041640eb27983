"""The Runs panel keeps the newest run in sight, and leaves the scroll alone otherwise."""

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
