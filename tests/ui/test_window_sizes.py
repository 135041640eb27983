"""The window fits every screen (issue 32): resized to 1024×600, 1280×720, 1366×768 and
1920×1080 (what a 3840×2160 screen at 200 % gives), and 1536×824 (a 1920×1080 laptop at
125 %, less its task bar), with the docks arranged as a first launch
on that screen arranges them, each tab keeps every control apart and every button's and
label's text whole. One window serves every size."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QSize, Qt
from PySide6.QtWidgets import QApplication

from nnstudio.ui.widgets import fit_text
from nnstudio.ui.window import dock_layout
from tests.ui.layout_checks import layout_problems, overlapping_siblings
from tests.ui.test_main_window import app_look  # noqa: F401 - a fixture, used below
from tests.ui.test_window_fit import _cut_combos

DOCTORS_WARNINGS = [
    {
        "kind": kind,
        "layer": "1 Dense",
        "message": "53% of the ReLU units of layer 1 Dense never fire.",
        "fix": "Use LeakyReLU or a smaller learning rate",
    }
    for kind in ("dead_relu", "nan", "overfitting")
]

SCREENS = [(1024, 600), (1280, 720), (1366, 768), (1536, 824), (1920, 1080)]


@pytest.fixture(autouse=True)
def _with_the_app_look(app_look):  # noqa: F811 - sizes depend on the style sheet and fonts
    yield


def test_the_arrangement_follows_the_screen():
    assert dock_layout.arrangement_for(QSize(1024, 600)) == dock_layout.ONE_COLUMN
    assert dock_layout.arrangement_for(QSize(1280, 720)) == dock_layout.ONE_COLUMN
    assert dock_layout.arrangement_for(QSize(1366, 768)) == dock_layout.ONE_COLUMN
    assert dock_layout.arrangement_for(QSize(1536, 824)) == dock_layout.SIDE
    assert dock_layout.arrangement_for(QSize(1920, 1080)) == dock_layout.WIDE


def _at_each_screen(window):
    """Yield each screen's (width, height) with ``window`` arranged and sized for it."""
    for width, height in SCREENS:
        dock_layout.arrange_docks(window, dock_layout.arrangement_for(QSize(width, height)))
        window.resize(width, height)
        QApplication.processEvents()
        assert window.size().toTuple() == (width, height)
        yield width, height


def _report(problems: dict) -> str:
    return "\n".join(f"{where}: {found}" for where, found in problems.items())


def test_every_tab_fits_every_screen(make_window, qtbot):
    window = make_window()
    window.show()
    qtbot.waitExposed(window)
    with qtbot.waitSignal(window.evaluation.evaluated, timeout=20_000):
        window.tabs.setCurrentWidget(window.evaluation)  # its tables and matrix filled in
    problems = {}
    for width, height in _at_each_screen(window):
        for index in range(window.tabs.count()):
            window.tabs.setCurrentIndex(index)
            QApplication.processEvents()
            fit_text.ELIDED.clear()
            if window.tabs.currentWidget() is window.builder:
                window.builder.grab()  # paints the cards and the diagram: they note any cut
            found = layout_problems(window) + _cut_combos(window) + fit_text.ELIDED
            if found:
                problems[f"{width}×{height} {window.tabs.tabText(index)}"] = found
    assert problems == {}, _report(problems)


def test_every_dock_fits_every_screen(make_window, qtbot):
    window = make_window()
    window.show()
    qtbot.waitExposed(window)
    window.training_tab.health.set_warnings(DOCTORS_WARNINGS)  # the widest fix buttons
    problems = {}
    for width, height in _at_each_screen(window):
        for dock in (window.data_dock, window.hyper_dock, window.runs_dock, window.health_dock):
            dock.raise_()  # each one of a tabbed group in turn
            QApplication.processEvents()
            found = layout_problems(dock) + _cut_combos(dock)
            if found:
                problems[f"{width}×{height} {dock.windowTitle()} dock"] = found
    assert problems == {}, _report(problems)


def test_a_first_launch_arranges_the_docks_for_its_screen(make_window, monkeypatch):
    from nnstudio.ui.window.main_window import MainWindow

    area = Qt.DockWidgetArea
    for room, runs_area in (
        (QSize(1920, 1040), area.BottomDockWidgetArea),
        (QSize(1024, 570), area.LeftDockWidgetArea),
    ):
        monkeypatch.setattr(MainWindow, "_screen_room", lambda self, room=room: room)
        window = make_window(load_default=False)
        assert window.dockWidgetArea(window.runs_dock) == runs_area
        assert window.width() <= room.width() and window.height() <= room.height()


def test_the_users_own_arrangement_is_kept(make_window, monkeypatch):
    from nnstudio.ui.window.main_window import MainWindow

    monkeypatch.setattr(MainWindow, "_screen_room", lambda self: QSize(1920, 1040))
    window = make_window(load_default=False)
    window.addDockWidget(Qt.DockWidgetArea.TopDockWidgetArea, window.runs_dock)  # moved there
    window.files.save_settings()
    again = make_window(load_default=False)
    assert again.dockWidgetArea(again.runs_dock) == Qt.DockWidgetArea.TopDockWidgetArea
    again.actionArrangeDocks.trigger()  # View → Arrange docks for this screen
    assert again.dockWidgetArea(again.runs_dock) == Qt.DockWidgetArea.BottomDockWidgetArea


def _quit_on_a_large_screen(make_window, qtbot, monkeypatch) -> bytes:
    """A window on a 1920×1080 screen, on its Training tab, closed: its dock layout (Runs and
    Layer health under the tabs, Hyperparameters on the right) saved in the settings."""
    from nnstudio.ui.window.main_window import MainWindow

    monkeypatch.setattr(MainWindow, "_screen_room", lambda self: QSize(1920, 1040))
    window = make_window(load_default=False)
    window.tabs.setCurrentIndex(1)
    window.show()
    qtbot.waitExposed(window)
    window.files.save_settings()
    window.hide()
    return window.saveState().data()


def _open_on_a_screen(make_window, qtbot, monkeypatch, room: QSize, size: QSize, draw_width=0):
    """The next launch on a screen with ``room``, the saved window ``size`` fitted to it;
    a ``draw_width`` makes the Draw page that wide at least."""
    from nnstudio.ui.window.main_window import MainWindow

    monkeypatch.setattr(MainWindow, "_screen_room", lambda self: room)
    window = make_window(load_default=False)
    window.resize(size)  # what restoreGeometry makes of the saved size on that screen
    if draw_width:
        window.draw.setMinimumWidth(draw_width)
    window.show()
    qtbot.waitExposed(window)
    return window


def test_a_layout_saved_on_a_large_screen_is_arranged_anew_on_a_small_one(
    make_window, qtbot, monkeypatch
):
    """At 1024×600 the docks sized for 1920 left the Training page 490 pixels of the 661 it
    needs: it scrolled sideways. This screen's arrangement is used instead, and said."""
    _quit_on_a_large_screen(make_window, qtbot, monkeypatch)
    window = _open_on_a_screen(make_window, qtbot, monkeypatch, QSize(1024, 600), QSize(1024, 568))
    assert window.dockWidgetArea(window.runs_dock) == Qt.DockWidgetArea.LeftDockWidgetArea
    hint = window.minimumSizeHint()
    assert hint.width() <= 1024 and hint.height() <= 568, hint
    assert window.size().toTuple() == (1024, 568)
    assert window.tabs.currentWidget() is window.training_tab
    assert window.tabs.shortfall().toTuple() == (0, 0)  # no page scrolls
    window.message_bar.clear_routine()  # what the first dataset's arrival does
    assert "the saved layout did not fit this screen" in window.message_bar.text()
    assert "Ctrl+Shift+A" in window.message_bar.text()  # the key that arranges them again


def test_a_saved_layout_that_fits_is_restored_exactly(make_window, qtbot, monkeypatch):
    saved = _quit_on_a_large_screen(make_window, qtbot, monkeypatch)
    window = _open_on_a_screen(make_window, qtbot, monkeypatch, QSize(1920, 1040), QSize(1400, 880))
    assert window.dockWidgetArea(window.runs_dock) == Qt.DockWidgetArea.BottomDockWidgetArea
    assert window.saveState().data() == saved
    assert window.message_bar.text() == ""


def test_a_layout_this_screens_arrangement_would_not_improve_is_kept(
    make_window, qtbot, monkeypatch
):
    """A page wider than any arrangement of a 1024×600 screen leaves it room for (here the
    Draw page, made 900 pixels wide): the saved layout stays as it was, and nothing is said."""
    room, size = QSize(1024, 600), QSize(1024, 568)
    first = _open_on_a_screen(make_window, qtbot, monkeypatch, room, size, draw_width=900)
    # Runs under Data instead of tabbed with it: the column, and so the pages' room, is alike.
    first.removeDockWidget(first.runs_dock)
    first.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, first.runs_dock)
    first.runs_dock.show()
    QApplication.processEvents()
    assert first.runs_dock not in first.tabifiedDockWidgets(first.data_dock)
    assert first.tabs.shortfall().width() > 0
    first.files.save_settings()
    first.hide()
    again = _open_on_a_screen(make_window, qtbot, monkeypatch, room, size, draw_width=900)
    assert again.runs_dock not in again.tabifiedDockWidgets(again.data_dock)
    assert again.saveState().data() == first.saveState().data()
    assert again.message_bar.text() == ""


BLOW_UP = {
    "kind": "nan",
    "layer": None,
    "message": "The loss became NaN at epoch 3, batch 118, after the gradient norm grew "
    "1,000× in 20 batches: the learning rate is too high. The weights it reached are not "
    "worth keeping.",
    "fix": "Start again from fresh weights with a smaller learning rate",
    "action": "reset_and_lower_lr",
    "changes": {"learning_rate": 0.001},
}


def test_the_layer_health_dock_under_the_tabs_shows_a_warning_whole(make_window, qtbot):
    """Runs and Layer health under the tabs, as a 1920×1080 screen's first launch puts them,
    restored on a 1366×768 or 1280×720 screen: the doctor's warning and its fix button show
    whole (the dock was 140 pixels high and the button's lower half was cut), and the Training
    page above keeps its room."""
    window = make_window(load_default=False)
    window.resize(1400, 880)  # the first-launch size on a 1920×1080 screen
    dock_layout.arrange_docks(window, dock_layout.WIDE)
    window.tabs.setCurrentIndex(1)  # Training
    window.show()
    qtbot.waitExposed(window)
    window.health_dock.raise_()
    window.health_panel.set_warnings([BLOW_UP])
    for width, height in ((1366, 736), (1280, 688)):
        window.resize(width, height)
        QApplication.processEvents()
        row = window.health_panel.warning_rows[0]
        viewport = row.parentWidget().parentWidget()  # the warnings' scroll area shows this
        button = row.buttons["reset_and_lower_lr"]
        assert button.mapTo(viewport, QPoint(0, button.height())).y() <= viewport.height()
        assert row.height() >= row.heightForWidth(row.width()) - 1  # every line of its text
        assert window.tabs.shortfall().height() == 0, (width, height)  # the page above too


def test_lessons_open_beside_the_hyperparameters_and_leave_nothing_behind(make_window, qtbot):
    window = make_window(load_default=False)
    window.resize(1280, 720)
    window.show()
    qtbot.waitExposed(window)
    for arrangement in (dock_layout.WIDE, dock_layout.ONE_COLUMN, dock_layout.SIDE):
        dock_layout.arrange_docks(window, arrangement)
        window.actionLessons.trigger()
        assert window.lessons.dock in window.tabifiedDockWidgets(window.hyper_dock)
        QApplication.processEvents()
        assert overlapping_siblings(window) == [], arrangement
        window.lessons.dock.close()
        QApplication.processEvents()
        assert overlapping_siblings(window) == [], arrangement


def test_a_long_network_in_the_narrowest_model_tab_cuts_no_card_title(qtbot):
    from nnstudio.ui.builder.model_builder import QtModelBuilder

    builder = QtModelBuilder()
    qtbot.addWidget(builder)
    builder.set_input_spec((2,), 3, "classification", "softmax_crossentropy")
    dense = {"type": "Dense", "units": 64, "activation": "relu"}
    builder.set_config({"layers": [dense] * 8 + [{"type": "Dense", "units": 3}]})
    builder.resize(builder.minimumSizeHint().width(), 520)  # a 1024×600 screen's Model tab
    builder.show()
    qtbot.waitExposed(builder)
    assert builder.stack.view.verticalScrollBar().isVisible()  # it takes the cards' room
    fit_text.ELIDED.clear()
    builder.grab()
    assert fit_text.ELIDED == []


def test_the_inspector_shows_a_dense_layers_fields_at_1024x600(make_window, qtbot):
    from PySide6.QtCore import QPoint
    from PySide6.QtWidgets import (
        QAbstractButton,
        QAbstractSpinBox,
        QComboBox,
        QScrollArea,
        QWidget,
    )

    window = make_window()
    dock_layout.arrange_docks(window, dock_layout.ONE_COLUMN)
    window.resize(1024, 600)
    window.show()
    qtbot.waitExposed(window)
    window.builder.stack.select_row(0)  # Dense: units, activation, initializer, bias, L1, L2
    QApplication.processEvents()
    viewport = window.builder.inspector.findChild(QScrollArea).viewport()
    kinds = (QAbstractSpinBox, QComboBox, QAbstractButton)
    fields = [w for w in viewport.findChildren(QWidget) if isinstance(w, kinds) and w.isVisible()]
    in_view = [
        w for w in fields if w.mapTo(viewport, QPoint(0, w.height())).y() <= viewport.height()
    ]
    assert len(fields) >= 6 and len(in_view) >= 5, (len(in_view), len(fields))  # was 3


def test_the_draw_page_fits_a_first_launch_at_1024x600(make_window, qtbot, monkeypatch):
    """The Draw page on a first launch at 1024×600, its selector naming the bundled model's
    accuracy: it needed 690 pixels across of the 683 it had, and scrolled sideways."""
    from PySide6.QtWidgets import QScrollArea

    from nnstudio.ui.window.main_window import MainWindow

    monkeypatch.setattr(MainWindow, "_screen_room", lambda self: QSize(1024, 600))
    window = make_window(load_default=False)
    window.show()
    qtbot.waitExposed(window)
    window.tabs.setCurrentWidget(window.draw)
    window.draw._bundled_model()  # "Bundled model · 99.2% on MNIST": the selector's widest
    QApplication.processEvents()
    holder = window.draw.parentWidget().parentWidget()
    assert isinstance(holder, QScrollArea)
    need, room = holder.page_need(), holder.maximumViewportSize()
    assert need.width() <= room.width() and need.height() <= room.height(), (need, room)
    assert not holder.horizontalScrollBar().isVisible()
    assert window.tabs.shortfall().toTuple() == (0, 0)


def _narrowest_cnn_builder(qtbot):
    """The Model tab as a 1024×600 screen leaves it, holding the mnist-cnn preset's network."""
    from nnstudio.project.presets import load_preset
    from nnstudio.ui.builder.model_builder import QtModelBuilder

    builder = QtModelBuilder()
    qtbot.addWidget(builder)
    builder.set_input_spec((1, 28, 28), 10, "classification", "softmax_crossentropy")
    builder.set_config({"layers": load_preset("mnist-cnn").model["layers"]})
    builder.resize(builder.minimumSizeHint().width(), 450)
    builder.show()
    qtbot.waitExposed(builder)
    return builder


def test_the_inspector_shows_a_conv_layer_whole_in_the_narrowest_model_tab(qtbot):
    """Its line "→ 32×11×11 · 4,640 parameters" made the inspector wider than its column:
    it scrolled sideways, the description and the fields cut at the right edge."""
    from PySide6.QtWidgets import QScrollArea

    builder = _narrowest_cnn_builder(qtbot)
    builder.stack.select_row(2)  # Conv2D 32 filters
    QApplication.processEvents()
    inspector = builder.inspector
    assert "4,640" in inspector.shape_label.text()
    scroll = inspector.findChild(QScrollArea)
    assert scroll.widget().minimumSizeHint().width() <= scroll.viewport().width()
    assert not scroll.horizontalScrollBar().isVisible()


def test_cards_in_the_narrowest_model_tab_name_their_layer_whole(qtbot):
    """Beside a shape like 16×26×26, "Conv2D 16 3×3" was cut to "Conv2…" at 1024×600: the
    card now says "Conv2D" (its filters and kernel read in the inspector and the diagram).
    "MaxPool2D" was still cut to "MaxPo…": its shape now goes to the card's second line."""
    builder = _narrowest_cnn_builder(qtbot)
    fit_text.ELIDED.clear()
    builder.grab()
    assert [text for where, text in fit_text.ELIDED if where == "layer card"] == []


def test_the_model_tab_shares_its_width_as_the_window_has_it(make_window, qtbot, monkeypatch):
    """The tab was first shown at its size hint (1180 wide), shared out for that, and then
    fitted to the window: at 1280×720 the cards had 283 pixels and the settings 424. It is
    shared for the width it has; a handle the user drags stays where it was put."""
    from PySide6.QtCore import QPoint

    from nnstudio.ui.window.main_window import MainWindow

    monkeypatch.setattr(MainWindow, "_screen_room", lambda self: QSize(1280, 720))
    window = make_window(load_default=False)
    window.show()
    qtbot.waitExposed(window)
    builder = window.builder
    palette, stack, settings = builder.splitter.sizes()
    assert stack > settings > palette, builder.splitter.sizes()
    assert sum(builder.splitter.sizes()) <= builder.width()
    handle = builder.splitter.handle(2)  # between the stack and the settings
    middle = handle.rect().center()
    qtbot.mousePress(handle, Qt.MouseButton.LeftButton, pos=middle)
    qtbot.mouseMove(handle, middle - QPoint(60, 0))
    qtbot.mouseRelease(handle, Qt.MouseButton.LeftButton, pos=middle - QPoint(60, 0))
    dragged = builder.splitter.sizes()
    assert dragged[1] < stack  # the handle moved
    window.resize(window.width() - 40, window.height())
    QApplication.processEvents()
    assert builder.splitter.sizes()[2] == dragged[2]  # the settings keep what the user gave


def test_lessons_leave_the_pages_their_room_at_1024x600(make_window, qtbot, monkeypatch):
    """Tabbed into the one column of a 1024×600 screen, the Lessons dock was 8 pixels wider
    than the others (its three buttons on one row, and "No more hints" is wider still): the
    column took them from the tabs and the Model page scrolled sideways."""
    from nnstudio.ui.window.main_window import MainWindow

    monkeypatch.setattr(MainWindow, "_screen_room", lambda self: QSize(1024, 600))
    window = make_window(load_default=False)
    window.show()
    qtbot.waitExposed(window)
    for index in range(window.tabs.count()):
        window.tabs.setCurrentIndex(index)  # every page made, so each one's need counts
    window.actionLessons.trigger()
    panel = window.lessons.panel
    assert panel.hint_button.isEnabled() and "left" in panel.hint_button.text()
    QApplication.processEvents()
    assert window.tabs.shortfall().toTuple() == (0, 0)
    while panel.hint_button.isEnabled():
        panel.hint_button.click()
    assert panel.hint_button.text() == "No more hints"
    QApplication.processEvents()
    assert window.tabs.shortfall().toTuple() == (0, 0)
    assert layout_problems(window.lessons.dock) == []


def test_drop_down_buttons_give_their_arrow_the_room_open_has(make_window):
    """Presets and Export drew their arrow in the corner, against the text and the border;
    the Data dock's Open… button leaves it room. Each drop-down button leaves as much."""
    window = make_window()

    def room_beside_text(button) -> int:
        icon = 0 if button.icon().isNull() else button.iconSize().width()
        text = button.fontMetrics().horizontalAdvance(button.text())
        return button.sizeHint().width() - text - icon

    open_room = room_beside_text(window.data_panel.open_button)
    for button in (window.builder.presets_button, window.evaluation.export_button):
        assert button.menu() is not None
        assert room_beside_text(button) >= open_room - 2, button.text()  # a pixel of rounding
