"""What a window squeezed too small shows: controls on top of each other, buttons and labels
whose text is cut. Each function returns the problems it finds in words (empty: none)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractScrollArea,
    QLabel,
    QToolButton,
    QWidget,
)

# Parts Qt lays over each other on purpose: a scroll area's viewport and its scroll bars'
# corner, a tab widget's bar over its pane's top border, a dock's float/close buttons in its
# title, pyqtgraph's own items.
_QT_PARTS = (
    "qt_scrollarea",
    "qt_tabwidget",
    "qt_dockwidget",
    "qt_toolbar_ext_button",
    "qt_qmainwindow",
)


def _name(widget: QWidget) -> str:
    text = getattr(widget, "text", None)
    label = text() if callable(text) else ""
    return f"{type(widget).__name__}({widget.objectName() or label})"


def _controls(parent: QWidget) -> list[QWidget]:
    """``parent``'s visible child widgets that are controls it laid out (a dock tabbed
    behind another is "visible" but parked outside the window)."""
    children = [
        child
        for child in parent.children()
        if isinstance(child, QWidget)
        and child.isVisible()
        and not child.isWindow()
        and parent.rect().intersects(child.geometry())
    ]
    return [c for c in children if not c.objectName().startswith(_QT_PARTS)]


def overlapping_siblings(root: QWidget) -> list[str]:
    """Pairs of visible sibling controls whose rectangles overlap, anywhere under ``root``."""
    found = []
    for parent in [root, *root.findChildren(QWidget)]:
        if parent.visibleRegion().isEmpty() or isinstance(parent, QAbstractScrollArea):
            continue  # a scroll area's own parts (viewport, bars) are Qt's business
        siblings = _controls(parent)
        for i, first in enumerate(siblings):
            for second in siblings[i + 1 :]:
                if first.geometry().intersects(second.geometry()):
                    found.append(
                        f"{_name(first)} {first.geometry().getRect()} × {_name(second)} "
                        f"{second.geometry().getRect()} in {_name(parent)}"
                    )
    return found


def _shows_text(button: QAbstractButton) -> bool:
    if not button.text():
        return False
    if isinstance(button, QToolButton):
        return button.toolButtonStyle() != button.toolButtonStyle().ToolButtonIconOnly
    return True


def cut_buttons(root: QWidget) -> list[str]:
    """Visible buttons narrower (or lower) than their text and icon need."""
    return [
        f"{_name(button)} {button.width()}×{button.height()} < {button.minimumSizeHint().toTuple()}"
        for button in root.findChildren(QAbstractButton)
        if button.isVisible()
        and _shows_text(button)
        and (
            button.width() < button.minimumSizeHint().width()
            or button.height() < button.minimumSizeHint().height()
        )
    ]


def _scrolls(widget: QWidget, across: bool) -> bool:
    """True when the scroll area around ``widget`` can scroll that way (across or down), so
    what it hides of the widget can be reached."""
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QAbstractScrollArea):
            bar = parent.horizontalScrollBar() if across else parent.verticalScrollBar()
            policy = (
                parent.horizontalScrollBarPolicy() if across else parent.verticalScrollBarPolicy()
            )
            return bar.maximum() > 0 and policy != Qt.ScrollBarPolicy.ScrollBarAlwaysOff
        parent = parent.parentWidget()
    return False


def clipped_buttons(root: QWidget) -> list[str]:
    """Visible buttons their parents cut off ("Halve the ra"), with no scroll bar to reach
    the rest."""
    found = []
    for button in root.findChildren(QAbstractButton):
        if not button.isVisible() or not _shows_text(button):
            continue
        shown = button.visibleRegion().boundingRect()
        if shown.isEmpty():
            continue  # behind another tab or dock, or scrolled out of view
        cut_across = shown.width() < button.width() and not _scrolls(button, across=True)
        cut_down = shown.height() < button.height() and not _scrolls(button, across=False)
        if cut_across or cut_down:
            whole = f"{button.width()}×{button.height()}"
            found.append(f"{_name(button)} shows {shown.width()}×{shown.height()} of {whole}")
    return found


def cut_labels(root: QWidget) -> list[str]:
    """Visible one-line labels narrower than their text."""
    return [
        f"{_name(label)} {label.width()} < {label.sizeHint().width()}"
        for label in root.findChildren(QLabel)
        if label.isVisible()
        and label.text()
        and not label.wordWrap()
        and label.sizeHint().width() > label.width() + 1
    ]


def cut_plot_titles(root: QWidget) -> list[str]:
    """Visible pyqtgraph plots whose title is wider than the room the plot gives it."""
    import pyqtgraph as pg

    found = []
    for plot in root.findChildren(pg.PlotWidget):
        title = plot.getPlotItem().titleLabel
        if not plot.isVisible() or not title.isVisible() or not title.text:
            continue
        # pyqtgraph never squeezes a title: the plot item grows past the view, which cuts it.
        text = title.item.sceneBoundingRect()
        shown = plot.mapToScene(plot.viewport().rect()).boundingRect()
        if text.left() < shown.left() - 1 or text.right() > shown.right() + 1:
            found.append(f"{plot.objectName()} title {title.text!r} {text} not in {shown}")
    return found


def layout_problems(root: QWidget) -> list[str]:
    return (
        overlapping_siblings(root)
        + cut_buttons(root)
        + clipped_buttons(root)
        + cut_labels(root)
        + cut_plot_titles(root)
    )
