"""Live plots: loss and accuracy curves, decision boundary, histograms, confusion matrix.

Every module that draws with pyqtgraph imports it from here (``from nnstudio.ui.plots import
pg``), so its look is set before the first plot widget is made. Nothing on the window's first
screen needs it: it loads with the first plot (the Data dock's scatter, another tab, a dialog).
"""

import pyqtgraph as pg

from nnstudio.ui import style

# pyqtgraph draws on black by default; every plot of the app sits on the light window, so they
# share its base colour and text-coloured axes.
pg.setConfigOptions(antialias=True, background=style.BASE, foreground=style.TEXT, useNumba=False)

__all__ = ["pg"]
