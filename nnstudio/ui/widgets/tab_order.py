"""Tab walks a panel the way a person reads it.

Qt's default Tab order is the order in which widgets were created, and the panels create
their controls by kind (all the spin boxes, then the CSV controls) rather than in the order
their rows show; read-only tables also keep Tab for moving between their cells, so a Tab
that enters one never leaves. ``follow_layout(panel)`` chains the panel's fields in the order
of its layouts — a form row by row, a box left to right or top to bottom, a grid row by row —
and lets tables pass Tab on (the arrow keys still move between cells).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QGridLayout,
    QLayout,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QWidget,
)

_FORM_ROLES = (
    QFormLayout.ItemRole.LabelRole,
    QFormLayout.ItemRole.FieldRole,
    QFormLayout.ItemRole.SpanningRole,
)


def follow_layout(panel: QWidget) -> list[QWidget]:
    """Chain ``panel``'s focusable fields in layout order; return them in that order."""
    fields = list(dict.fromkeys(_fields_in_widget(panel, top=True)))
    for before, after in zip(fields, fields[1:], strict=False):
        QWidget.setTabOrder(before, after)
    for view in panel.findChildren(QAbstractItemView):
        if view.editTriggers() == QAbstractItemView.EditTrigger.NoEditTriggers:
            view.setTabKeyNavigation(False)  # nothing to edit in a cell: Tab moves on
    return fields


def _fields_in_widget(widget: QWidget, top: bool = False):
    if not top and widget.focusPolicy() & Qt.FocusPolicy.TabFocus and widget.focusProxy() is None:
        yield widget
    for child in _children_in_order(widget):
        yield from _fields_in_widget(child)


def _children_in_order(widget: QWidget) -> list[QWidget]:
    """The widgets ``widget`` shows, in the order they are laid out."""
    if isinstance(widget, QScrollArea):
        return [widget.widget()] if widget.widget() is not None else []
    if isinstance(widget, QTabWidget):  # its tab bar above (or beside) the pages
        return [widget.tabBar(), *(widget.widget(i) for i in range(widget.count()))]
    if isinstance(widget, (QSplitter, QStackedWidget)):
        return [widget.widget(i) for i in range(widget.count())]
    if widget.layout() is not None:
        return list(_widgets_in_layout(widget.layout()))
    return []


def _widgets_in_layout(layout: QLayout):
    for item in _items_in_order(layout):
        if item.widget() is not None:
            yield item.widget()
        elif item.layout() is not None:
            yield from _widgets_in_layout(item.layout())


def _items_in_order(layout: QLayout):
    if isinstance(layout, QFormLayout):
        for row in range(layout.rowCount()):
            for role in _FORM_ROLES:
                item = layout.itemAt(row, role)
                if item is not None:
                    yield item
        return
    items = [layout.itemAt(i) for i in range(layout.count())]
    if isinstance(layout, QGridLayout):
        places = {id(item): layout.getItemPosition(i)[:2] for i, item in enumerate(items)}
        items.sort(key=lambda item: places[id(item)])
    yield from items
