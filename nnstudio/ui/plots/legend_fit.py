"""A legend that fits its plot: as many entries a row as the plot's width holds, and the
layers' numbers alone ("0", "1", …) when their names ("0 Dense", …) would not fit.

pyqtgraph lays a legend out in a fixed number of columns and never cuts or wraps it, so on a
small plot (the gradient norms at 1024×600) a legend of full names ran past the plot's right
edge and covered most of its curves.
"""

from __future__ import annotations

import pyqtgraph as pg

HEIGHT_SHARE = 0.5  # a legend of several rows covers at most this share of the plot's height


def short_name(name: str) -> str:
    """ "0 Dense" → "0": the layer's number, as the Layer health table starts its rows."""
    return name.split(" ", 1)[0]


class FittingLegend:
    """Keeps ``plot``'s legend inside it: call ``fit`` after adding entries; it follows the
    plot's size by itself."""

    def __init__(self, plot: pg.PlotWidget, margin: float = 8):
        self.plot = plot
        self.margin = margin  # the legend's offset from the plot's edge, and a little air
        plot.getViewBox().sigResized.connect(lambda _view: self.fit())

    @property
    def legend(self) -> pg.LegendItem:
        return self.plot.getPlotItem().legend

    def fit(self) -> None:
        """Full names in the fewest rows that fit, else the numbers alone; one row may take
        more than HEIGHT_SHARE of the height (a legend can be no lower). Each try is sized by
        pyqtgraph itself (``updateSize``), so the fonts and spacing are the real ones."""
        labels = [label for _sample, label in self.legend.items]
        if not labels:
            return
        for label in labels:  # the name it was given, kept while a short one shows
            label.full_name = getattr(label, "full_name", label.text)
        view = self.plot.getViewBox().sceneBoundingRect()
        room_width, room_height = view.width() - self.margin, view.height()
        for short in (False, True):
            self._name(labels, short)
            for columns in range(len(labels), 0, -1):
                width, height = self._size(columns)
                one_row = columns == len(labels)
                if width <= room_width and (one_row or height <= HEIGHT_SHARE * room_height):
                    return
        # Nothing fits both ways: the numbers in as many columns as the width holds.
        for columns in range(len(labels), 0, -1):
            if self._size(columns)[0] <= room_width:
                return

    def _name(self, labels, short: bool) -> None:
        for label in labels:
            text = short_name(label.full_name) if short else label.full_name
            if label.text != text:
                label.setText(text)
            # Its new width now: pyqtgraph sizes the legend from its labels' widths, which
            # otherwise change only at the next layout (the legend would keep its old size).
            label.resize(label.minimumSize())

    def _size(self, columns: int) -> tuple[float, float]:
        legend = self.legend
        legend.setColumnCount(columns)
        legend.updateSize()
        return legend.width(), legend.height()
