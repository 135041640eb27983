"""Comparing runs: a legend entry per overlaid run, an epoch axis that fits them all, only runs
of the same dataset overlaid, Compare on the ticked runs, and the LR column following a live
change (issue 21, item 7)."""

from __future__ import annotations

import pytest

from nnstudio.ui.panels import runs as runs_module


def _train(qtbot, window, epochs):
    window.hyperparameters.epochs_box.setValue(epochs)
    with qtbot.waitSignal(window.training_finished, timeout=30_000):
        window.actionTrain.trigger()


def _legend_labels(plot):
    return [label.text for _sample, label in plot.getPlotItem().legend.items]


@pytest.fixture
def two_runs(qtbot, make_window):
    window = make_window()
    _train(qtbot, window, 12)
    window.actionReset.trigger()
    _train(qtbot, window, 3)
    return window


def test_overlaid_run_is_named_and_fits_the_axis(two_runs):
    window, plots = two_runs, two_runs.training_tab.plots
    first = window.document.runs[0]
    window.runs_panel.set_checked(first, True)
    assert "Run 1" in _legend_labels(plots.loss_plot)
    assert "Run 1" in _legend_labels(plots.accuracy_plot)
    low, high = plots.loss_plot.getPlotItem().getViewBox().viewRange()[0]
    assert high >= 12  # the live run planned 3 epochs; Run 1 had 12
    window.runs_panel.set_checked(first, False)
    assert "Run 1" not in _legend_labels(plots.loss_plot)


def test_compare_uses_the_ticked_runs(two_runs, monkeypatch):
    window = two_runs
    shown = []
    monkeypatch.setattr(runs_module.CompareDialog, "exec", lambda self: shown.append(self))
    first, second = window.document.runs
    window.runs_panel.table.selectRow(0)  # selected: only the first
    window.runs_panel.set_checked(first, True)
    window.runs_panel.set_checked(second, True)
    window.runs_panel.compare_button.click()
    assert shown and shown[0].table.columnCount() == 2


def test_a_run_on_another_dataset_is_not_overlaid(qtbot, make_window, ready):
    window = make_window()
    _train(qtbot, window, 2)
    window.data_panel.set_spec("gaussian", {"samples": 300, "classes": 3})
    ready(window, "gaussian")
    _train(qtbot, window, 2)
    spiral_run = window.document.runs[0]
    window.runs_panel.set_checked(spiral_run, True)
    assert window.training_tab.plots._overlay_items == []
    assert "Run 1" in window.statusBar().currentMessage()


def test_lr_column_follows_a_live_change(qtbot, make_window):
    window = make_window()
    window.hyperparameters.epochs_box.setValue(100_000)
    window.actionTrain.trigger()
    qtbot.waitUntil(lambda: window.session is not None)
    window.toolbar_lr.setValue(0.002)
    window.toolbar_lr.editingFinished.emit()
    lr_column = runs_module.COLUMNS.index("LR")
    qtbot.waitUntil(lambda: window.runs_panel.table.item(0, lr_column).text() == "0.002")
    window.training.shutdown()


def test_compare_overlays_the_ticked_runs_curves_and_marks_what_differs(two_runs, monkeypatch):
    window = two_runs
    shown = []
    monkeypatch.setattr(runs_module.CompareDialog, "exec", lambda self: shown.append(self))
    for run in window.document.runs:
        window.runs_panel.set_checked(run, True)
    window.runs_panel.compare_button.click()
    dialog = shown[0]
    for key in ("loss", "accuracy"):
        labels = _legend_labels(dialog.plots[key])
        assert "Run 1" in labels and "Run 2" in labels
        lengths = sorted(
            len(item.getData()[0]) for item in dialog.plots[key].getPlotItem().listDataItems()
        )
        assert lengths[0] == 3 and lengths[-1] == 12  # each run by its own epochs
    assert "epochs" in dialog.differing  # 12 and 3 planned
    headers = [dialog.table.verticalHeaderItem(r) for r in range(dialog.table.rowCount())]
    bold = [r for r, header in enumerate(headers) if header.font().bold()]
    assert len(bold) == len(dialog.differing) > 0
    assert dialog.table.item(bold[0], 0).background().color().name() == "#fff3d6"
    assert "differ" in dialog.note.text()
