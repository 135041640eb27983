"""Where the four docks go, chosen for the screen the window first opens on.

- ``WIDE`` (1600×900 and more): Data on the left, Hyperparameters on the right, Runs and
  Layer health tabbed under the tabs.
- ``SIDE`` (1536×864, 1600×900 less its task bar): Data on the left; Hyperparameters, Runs
  and Layer health tabbed on the right, at the window's full height (under the tabs they
  showed about one row each, and the tabs lost the height they took).
- ``ONE_COLUMN`` (1366×768, 1280×720, 1024×600): all four tabbed in one column on the left,
  so the tabs keep the width the Model and Draw tabs need (about 700 pixels).

Only a first launch is arranged this way: the window's saved state (the user's own
arrangement) wins afterwards, unless it does not fit the screen the window opens on
(MainWindow._fit_restored_layout). View → Arrange docks for this screen brings it back.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QApplication, QTabBar, QTabWidget

WIDE = "wide"
SIDE = "side"
ONE_COLUMN = "one column"

# Runs and Layer health tabbed under the tabs (WIDE), their tab bar included: room for a
# doctor's warning of three lines with its fix button whole, also when this layout is restored
# on a 1366×768 or 1280×720 screen (at 170 the warning had 88 pixels and its button was cut),
# and no more: there the Training page keeps its whole height above the docks.
BOTTOM_DOCKS_HEIGHT = 185

_LEFT = Qt.DockWidgetArea.LeftDockWidgetArea
_RIGHT = Qt.DockWidgetArea.RightDockWidgetArea
_BOTTOM = Qt.DockWidgetArea.BottomDockWidgetArea


def arrangement_for(available: QSize) -> str:
    """The arrangement for a screen with ``available`` room (its size less task bars)."""
    if available.width() >= 1600 and available.height() >= 900:
        return WIDE
    if available.width() >= 1500:
        return SIDE
    return ONE_COLUMN


def arrange_docks(window, arrangement: str) -> None:
    """Put ``window``'s Data, Hyperparameters, Runs and Layer health docks in ``arrangement``."""
    data, hyper = window.data_dock, window.hyper_dock
    runs, health = window.runs_dock, window.health_dock
    places = {
        WIDE: [(_LEFT, [data]), (_RIGHT, [hyper]), (_BOTTOM, [runs, health])],
        SIDE: [(_LEFT, [data]), (_RIGHT, [hyper, runs, health])],
        ONE_COLUMN: [(_LEFT, [data, hyper, runs, health])],
    }[arrangement]
    lessons = getattr(getattr(window, "lessons", None), "dock", None)  # once it is built
    shown = [lessons] if lessons is not None and lessons.isVisible() else []
    for dock in [data, hyper, runs, health, *shown]:
        window.removeDockWidget(dock)
    for area, docks in places:
        _tabbed(window, area, docks)
    for dock in shown:  # open Lessons stay tabbed with Hyperparameters (see lessons.py)
        window.tabifyDockWidget(hyper, dock)
        dock.show()
    # Three or four docks tabbed in a ~300-pixel column: their tab names read whole only
    # along its height, as in an IDE's side bar.
    position = QTabWidget.TabPosition
    window.setTabPosition(_LEFT, position.West if arrangement == ONE_COLUMN else position.South)
    window.setTabPosition(_RIGHT, position.East if arrangement == SIDE else position.South)
    window.setTabPosition(_BOTTOM, position.South)
    if arrangement == WIDE:
        window.resizeDocks([runs], [BOTTOM_DOCKS_HEIGHT], Qt.Orientation.Vertical)


def _tabbed(window, area, docks) -> None:
    """``docks`` in ``area``, tabbed together, the first one in front."""
    first, *others = docks
    window.addDockWidget(area, first)
    first.show()
    for dock in others:
        window.tabifyDockWidget(first, dock)
        dock.show()
    first.raise_()


def show_dock_tabs_whole(tab_bar: QTabBar) -> None:
    """A dock tab says its whole name (Qt's default elides: "Hyperpa…", "R…")."""
    tab_bar.setElideMode(Qt.TextElideMode.ElideNone)
    tab_bar.setUsesScrollButtons(True)


def lay_out_for_area(dock, panel) -> None:
    """``panel.set_side_by_side``: its parts side by side under the tabs (the dock is short),
    one above the other in a side column (the dock is narrow), wherever ``dock`` goes."""

    def follow(area) -> None:
        panel.set_side_by_side(area in (_BOTTOM, Qt.DockWidgetArea.TopDockWidgetArea))

    dock.dockLocationChanged.connect(follow)


# -- View → a dock (and its key) ----------------------------------------------------------------


def bring_forward_on_toggle(dock, place=None) -> None:
    """View → ``dock`` (and its key) opens the dock and brings it forward; it closes the dock
    only when the dock is already in front. ``place()``, when given, puts a closed dock where
    it belongs before it opens.

    Qt's own toggle closes a dock that is open behind another tab of its group, where the user
    asked to see it. So that slot is disconnected and this one takes its place: call this
    before anything else connects to the toggle action's ``triggered``. The action keeps its
    text, key and check mark (checked = open; Qt sets it when the dock is shown or hidden).
    """
    action = dock.toggleViewAction()
    action.triggered.disconnect()  # Qt's slot: its only connection at this point
    action.triggered.connect(lambda _checked: _show_or_hide(dock, place))


def is_in_front(dock) -> bool:
    """True when ``dock`` is open and some of it can be seen: not behind another tab of its
    group (Qt moves those off the window, so nothing of them shows)."""
    return not dock.isHidden() and not dock.visibleRegion().isEmpty()


def _show_or_hide(dock, place) -> None:
    if is_in_front(dock):
        dock.close()
        return
    if dock.isHidden() and place is not None:
        place()
    dock.show()
    dock.raise_()  # the front tab of its group
    dock.toggleViewAction().setChecked(True)  # Qt unchecked it on the way here: it is open
    _focus_inside(dock)


def _focus_inside(dock) -> None:
    """The keyboard goes to the dock's first field (unless it is in the dock already), as
    when a side bar's key opens a view in an IDE."""
    focused = QApplication.focusWidget()
    if focused is not None and dock.isAncestorOf(focused):
        return
    widget = dock.widget()
    candidate = widget.nextInFocusChain()
    while candidate is not widget and candidate is not dock:
        if (
            widget.isAncestorOf(candidate)
            and candidate.isVisibleTo(dock)
            and candidate.isEnabled()
            and candidate.focusPolicy() & Qt.FocusPolicy.TabFocus
        ):
            candidate.setFocus(Qt.FocusReason.ShortcutFocusReason)
            return
        candidate = candidate.nextInFocusChain()
