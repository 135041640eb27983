"""Live plots: loss and accuracy curves, decision boundary, histograms, confusion matrix."""

import pyqtgraph as pg

from nnstudio.ui import style

# pyqtgraph draws on black by default; every plot of the app sits on the light window, so they
# share its base colour and muted axes (set before any plot widget is made).
pg.setConfigOptions(background=style.BASE, foreground=style.MUTED)
