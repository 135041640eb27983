"""SteadyBox: a holder for one widget whose words change often (an epoch number in a label,
"Branch from epoch 12" on a button), which tells the layout around it only when its size
changes.

A QLabel's or a button's new text calls updateGeometry() whatever the text: the layouts
above it are made again up to the page (the Training tab, its scroll area) or the window,
once per epoch while a run trains, on the GUI thread the training shares. Held in a box
without a layout of its own, the widget's updateGeometry() reaches the box alone; the box
compares the widget's sizes with the ones the layout last had and passes the change on only
when there is one. A text that needs more room (or less) still gets it, and the box follows
its layout's resizes (a dock made narrower) like the widget itself would.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QWidget


class SteadyBox(QWidget):
    """Holds ``child`` at its own full size; its layout sees the child's sizes."""

    def __init__(self, child: QWidget, parent=None):
        super().__init__(parent)
        self.child = child
        child.setParent(self)
        self.setSizePolicy(child.sizePolicy())
        self._sizes = self._child_sizes()

    def _child_sizes(self) -> tuple:
        """What the layout around asks of the child, at the box's width."""
        child = self.child
        height = child.heightForWidth(self.width()) if child.hasHeightForWidth() else -1
        return (
            child.sizeHint(),
            child.minimumSizeHint(),
            child.minimumSize(),
            child.maximumSize(),
            child.sizePolicy(),
            height,
        )

    def _pass_on_a_change(self) -> None:
        sizes = self._child_sizes()
        if sizes != self._sizes:
            self._sizes = sizes
            self.setSizePolicy(self.child.sizePolicy())
            self.updateGeometry()

    # The child's sizes, as its layout would take them (its set minimum and maximum too).
    def sizeHint(self):  # noqa: N802 - Qt override
        child = self.child
        return child.sizeHint().expandedTo(child.minimumSize()).boundedTo(child.maximumSize())

    def minimumSizeHint(self):  # noqa: N802 - Qt override
        return self.child.minimumSizeHint().expandedTo(self.child.minimumSize())

    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt override
        return self.child.hasHeightForWidth()

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt override
        return self.child.heightForWidth(width)

    def event(self, event) -> bool:
        # The child's updateGeometry() posts this to a parent without a layout.
        if event.type() == QEvent.Type.LayoutRequest:
            self._pass_on_a_change()
            return True
        return super().event(event)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self.child.setGeometry(self.rect())
        self._sizes = self._child_sizes()  # its height for the new width

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self._pass_on_a_change()  # changed while hidden: no LayoutRequest came then
