"""Tabs whose pages scroll when the window is smaller than they are.

A page's minimum size used to be the window's: the Draw tab's row of controls and the Model
tab's three columns made the window 1320 pixels wide at least, so on a 1280×720 or 1024×600
screen it hung off the edge. Each page now sits in a scroll area: the window may be as small
as the screen, the page keeps its own minimum (so its controls never overlap or get cut) and
scroll bars show what does not fit.

The tab widget speaks of the pages, not of their scroll areas: ``widget(i)``,
``currentWidget()``, ``indexOf(page)`` and ``setCurrentWidget(page)`` take and give the page.

A page can also be made on first use (``add_lazy_tab``): the window opens sooner when the
pages it does not show yet (their plots, their modules) wait until the tab is opened or the
page is asked for. ``when_built`` runs code on the page once it exists.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QSize, QTimer
from PySide6.QtWidgets import QFrame, QScrollArea, QStyle, QTabWidget, QWidget


class PageScrollArea(QScrollArea):
    """Holds one page at the full size of the tab, or at the page's minimum with scroll bars.

    Not Qt's ``widgetResizable``: for a page with word-wrapped labels that sizes the page to
    its *preferred* height for the width, so the Draw and Evaluate tabs scrolled although
    their controls fitted. Here the page is as large as the room, and never smaller than its
    minimum."""

    MINIMUM = QSize(240, 160)  # what the tab asks of the window, whatever the page needs

    def __init__(self, page: QWidget, parent=None):
        super().__init__(parent)
        self.setWidgetResizable(False)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setWidget(page)
        page.installEventFilter(self)  # its minimum changes: fit it again
        # Once the page's layout has its new minimum; owned here, so it dies with the area.
        self._refit = QTimer(self, singleShot=True, interval=0, timeout=self.fit_page)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return self.MINIMUM

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return self.widget().sizeHint()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self.fit_page()

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt override
        if watched is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self._refit.start()
        return False

    def page_need(self) -> QSize:
        """The smallest size the page takes without scrolling."""
        page = self.widget()
        return page.minimumSizeHint().expandedTo(page.minimumSize())

    def fit_page(self) -> None:
        page = self.widget()
        if page is None:
            return
        need, room = self.page_need(), self.maximumViewportSize()
        bar = self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent, None, self)
        wide, tall = need.width() > room.width(), need.height() > room.height()
        # A scroll bar for one direction takes its width from the other.
        tall = tall or (wide and need.height() > room.height() - bar)
        wide = wide or (tall and need.width() > room.width() - bar)
        page.resize(
            max(need.width(), room.width() - (bar if tall else 0)),
            max(need.height(), room.height() - (bar if wide else 0)),
        )


class LazyPageScrollArea(PageScrollArea):
    """A ``PageScrollArea`` whose page is made by ``factory`` the first time it is needed."""

    def __init__(self, factory: Callable[[], QWidget], parent=None):
        super().__init__(QWidget(), parent)  # an empty stand-in until the page is made
        self._factory: Callable[[], QWidget] | None = factory
        self._when_built: list[Callable[[QWidget], None]] = []

    @property
    def built(self) -> bool:
        return self._factory is None

    def page(self) -> QWidget:
        """The page, made now if it was not yet."""
        if self._factory is not None:
            factory, self._factory = self._factory, None
            page = factory()
            self.setWidget(page)  # deletes the stand-in
            page.installEventFilter(self)
            page.show()  # a child added to a shown area stays hidden until told
            self.fit_page()
            callbacks, self._when_built = self._when_built, []
            for callback in callbacks:
                callback(page)
        return self.widget()

    def when_built(self, callback: Callable[[QWidget], None]) -> None:
        if self.built:
            callback(self.widget())
        else:
            self._when_built.append(callback)


class ScrollingTabWidget(QTabWidget):
    """A QTabWidget whose pages are wrapped in a ``PageScrollArea`` each."""

    def __init__(self, parent=None):
        super().__init__(parent)
        # Opening a tab makes its page before it is painted.
        self.currentChanged.connect(self._make_page)

    def addTab(self, page: QWidget, *args) -> int:  # noqa: N802 - Qt override
        return super().addTab(PageScrollArea(page), *args)

    def _make_page(self, index: int) -> None:
        # Not connected to widget() itself: PySide6 takes that name for the C++ slot, and
        # finding out costs tens of milliseconds.
        self.widget(index)

    def add_lazy_tab(self, factory: Callable[[], QWidget], *args) -> int:
        """A tab whose page ``factory`` makes when the tab is opened or the page asked for."""
        return super().addTab(LazyPageScrollArea(factory), *args)

    def shortfall(self) -> QSize:
        """The pixels across and down that the largest page made so far lacks in the room
        the tabs have now (0 where they fit): how far a page scrolls at its worst."""
        room = super().currentWidget().maximumViewportSize()  # the same for every page
        shortfall = QSize(0, 0)
        for index in range(self.count()):
            if self.is_built(index):
                shortfall = shortfall.expandedTo(super().widget(index).page_need() - room)
        return shortfall

    def is_built(self, index: int) -> bool:
        holder = super().widget(index)
        return not isinstance(holder, LazyPageScrollArea) or holder.built

    def when_built(self, index: int, callback: Callable[[QWidget], None]) -> None:
        """Call ``callback(page)`` once tab ``index``'s page exists (now, if it does)."""
        holder = super().widget(index)
        if isinstance(holder, LazyPageScrollArea):
            holder.when_built(callback)
        else:
            callback(self.widget(index))

    def widget(self, index: int) -> QWidget | None:
        holder = super().widget(index)
        if isinstance(holder, LazyPageScrollArea):
            return holder.page()
        return holder.widget() if isinstance(holder, PageScrollArea) else holder

    def currentWidget(self) -> QWidget | None:  # noqa: N802 - Qt override
        return self.widget(self.currentIndex())

    def indexOf(self, page: QWidget) -> int:  # noqa: N802 - Qt override
        # A page not made yet cannot be ``page``: look only at those that are.
        for index in range(self.count()):
            if self.is_built(index) and self.widget(index) is page:
                return index
        return -1

    def setCurrentWidget(self, page: QWidget) -> None:  # noqa: N802 - Qt override
        index = self.indexOf(page)
        if index >= 0:
            self.setCurrentIndex(index)
