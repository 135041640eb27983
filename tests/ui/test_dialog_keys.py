"""Escape closes every dialog with a plot, straight after it opens and after a click on its
plot: the dialog opens as the active window (a click in the main window opened it, and without
a window manager handing the focus over, Escape went to the main window), and the plot's focus
after a click passes Escape on to the dialog.

The offscreen platform the tests run on makes every window it shows the active one, which
no window manager that prevents focus stealing does: ``focus_stays_where_it_was`` gives the
focus back to the window that had it as each new window shows, so a dialog that does not ask
for the focus itself (``show_in_front``) fails here as it would on such a desktop."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget

from nnstudio.engine.layers import Dense
from nnstudio.engine.model import Sequential
from nnstudio.ui.panels.sample_inspector import InspectorSample, SampleInspector


@pytest.fixture(autouse=True)
def focus_stays_where_it_was(monkeypatch):
    """Showing a window leaves the focus in the window that had it (see the module doc)."""
    show = QWidget.show

    def show_without_the_focus(widget) -> None:
        before = QApplication.activeWindow()
        show(widget)
        if before is not None and before is not widget.window():
            QApplication.processEvents()  # the platform's own activation of the new window
            before.activateWindow()
            QApplication.processEvents()

    monkeypatch.setattr(QWidget, "show", show_without_the_focus)


def in_front_and_active(qtbot, window) -> None:
    """``window`` shown and holding the keys, as when the learner clicks in it."""
    window.show()
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)


def click_then_escape(qtbot, dialog, view) -> None:
    """The dialog is active as it opens; then a learner's click in ``view`` and Escape, as the
    window system delivers it: to the focus window, whatever widget has the focus."""
    qtbot.waitExposed(dialog)
    # Times out when the dialog does not ask for the keys: Escape would reach the window below.
    qtbot.waitUntil(lambda: QApplication.activeWindow() is dialog, timeout=2000)
    viewport = view.viewport()
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=viewport.rect().center())
    qtbot.waitUntil(lambda: QGuiApplication.focusWindow() is dialog.windowHandle())
    QTest.keyClick(QGuiApplication.focusWindow(), Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=1000)


def test_escape_closes_the_units_dialog_after_a_click_on_its_map(qtbot, window):
    in_front_and_active(qtbot, window)
    diagram = window.builder.diagram
    center = diagram.neuron_center(1, 0).toPoint()
    qtbot.mouseClick(diagram, Qt.MouseButton.LeftButton, pos=center)
    dialog = window.builder.neuron_dialog
    click_then_escape(qtbot, dialog, dialog.plot)


@pytest.mark.parametrize(
    ("controller", "plot"),
    [
        ("warped_space", lambda dialog: dialog.plot),
        ("landscape", lambda dialog: dialog.plot),
        ("activations", lambda dialog: dialog.plots[0][0]),
    ],
)
def test_escape_closes_the_training_menus_plot_dialogs(qtbot, window, controller, plot):
    in_front_and_active(qtbot, window)
    dialog = getattr(window, controller).open()
    qtbot.addWidget(dialog)
    click_then_escape(qtbot, dialog, plot(dialog))


@pytest.fixture
def inspector(qtbot):
    widget = SampleInspector()
    qtbot.addWidget(widget)
    tiny = Sequential([Dense(4, activation="tanh"), Dense(3)], input_shape=(2,), seed=0)
    sample = InspectorSample(tiny, "softmax_crossentropy", np.array([0.5, -1.0], "f4"), 2, "x")
    widget.show_sample(sample)
    in_front_and_active(qtbot, widget)
    return widget


def test_escape_closes_the_wiggle_and_node_graph_dialogs(qtbot, inspector):
    wiggle = inspector.wiggle_weight()
    click_then_escape(qtbot, wiggle, wiggle.plot)
    graph = inspector.show_node_graph()
    click_then_escape(qtbot, graph, graph.view)
