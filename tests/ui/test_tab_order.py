"""Tab walks each panel's fields in the order a person reads them (issue 21, item 10): from
the first field of a dock or tab, every Tab press lands on the next field to the right on the
same row, or further down — never back up to a field above in the same column."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QDockWidget, QWidget

from tests.ui.test_window_fit import SIZES

ROW_TOLERANCE = 6  # pixels: widgets on one form row differ by a few pixels in height


def _box(widget, panel):
    top_left = widget.mapTo(panel, QPoint(0, 0))
    return top_left.x(), top_left.y(), widget.width(), widget.height()


def _walk(qtbot, panel, first, limit=80):
    """Press Tab from ``first`` while the focus stays inside ``panel``: the fields reached."""
    first.setFocus(Qt.FocusReason.TabFocusReason)
    QApplication.processEvents()
    reached = [QApplication.focusWidget()]
    for _ in range(limit):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        widget = QApplication.focusWidget()
        if widget is None or widget in reached or not panel.isAncestorOf(widget):
            break
        reached.append(widget)
    return reached


def _jumps_back(panel, fields):
    """Pairs where the next field is above the previous one (and not in a column to its
    right), or on the same row but to its left."""
    wrong = []
    for before, after in zip(fields, fields[1:], strict=False):
        x0, y0, w0, _h0 = _box(before, panel)
        x1, y1, _w1, _h1 = _box(after, panel)
        same_row = abs(y1 - y0) <= ROW_TOLERANCE
        if (same_row and x1 < x0) or (not same_row and y1 < y0 and x1 < x0 + w0):
            wrong.append((_name(before), _name(after)))
    return wrong


def _name(widget):
    text = getattr(widget, "text", lambda: "")()
    return f"{type(widget).__name__}({widget.objectName() or text})"


def _first_field(panel):
    """The focusable field nearest the panel's top-left corner."""
    candidates = [
        w
        for w in panel.findChildren(QWidget)
        if w.isVisible() and w.isEnabled() and w.focusPolicy() & Qt.FocusPolicy.TabFocus
    ]
    return min(candidates, key=lambda w: (_box(w, panel)[1], _box(w, panel)[0]))


PANELS = {
    "Data dock": lambda w: w.data_panel,
    "Hyperparameters dock": lambda w: w.hyperparameters,
    "Runs dock": lambda w: w.runs_panel,
    "Layer health dock": lambda w: w.training_tab.health,
    "Model tab": lambda w: w.builder,
    "Training tab": lambda w: w.training_tab,
    "Evaluate tab": lambda w: w.evaluation,
    "Draw tab": lambda w: w.draw,
}


@pytest.mark.parametrize("which", list(PANELS))
def test_tab_walks_the_panel_in_reading_order(make_window, qtbot, which):
    window = make_window()
    window.resize(*SIZES[0])
    window.show()
    qtbot.waitExposed(window)
    panel = PANELS[which](window)
    tab = window.tabs.indexOf(panel)
    if tab >= 0:
        window.tabs.setCurrentIndex(tab)
    for dock in window.findChildren(QDockWidget):
        if dock.isAncestorOf(panel):
            dock.raise_()  # tabbed with other docks on a small screen
    QApplication.processEvents()
    fields = _walk(qtbot, panel, _first_field(panel))
    assert len(fields) >= 2, [_name(f) for f in fields]
    assert _jumps_back(panel, fields) == [], [_name(f) for f in fields]


def test_tab_walks_the_csv_options_in_their_rows(make_window, qtbot, tmp_path):
    """A CSV shows its target, columns and missing-value rows above the split rows: Tab
    follows (it went from the seed back up to the target)."""
    rows = ["a,b,kind"] + [f"{i},{i % 7},{'xy'[i % 2]}" for i in range(60)]
    path = tmp_path / "table.csv"
    path.write_text("\n".join(rows) + "\n")
    window = make_window()
    window.resize(*SIZES[1])
    window.show()
    qtbot.waitExposed(window)
    with qtbot.waitSignal(window.data_panel.dataset_changed, timeout=20_000):
        window.data_panel.open_file(path)
    panel, options = window.data_panel, window.data_panel.options
    fields = _walk(qtbot, panel, panel.picker)
    assert _jumps_back(panel, fields) == [], [_name(f) for f in fields]
    reached = set(fields)
    order = [options.target, options.impute, options.val_percent, options.seed]
    assert all(field in reached for field in order)
    assert sorted(order, key=fields.index) == order
    assert options.columns.list in reached and options.load_button in reached


def test_tab_leaves_a_read_only_table(make_window, qtbot):
    """The per-class table of the Evaluate tab kept Tab for its cells: focus never left it."""
    window = make_window()
    window.show()
    qtbot.waitExposed(window)
    window.tabs.setCurrentWidget(window.evaluation)
    table = window.evaluation.metrics
    table.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.keyClick(table, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is not table
