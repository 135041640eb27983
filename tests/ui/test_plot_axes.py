"""The training plots' value axes show the values themselves, never a scaled "(x0.001)"."""

from __future__ import annotations

from nnstudio.ui.plots.training_plots import TrainingPlots


def test_a_loss_below_one_reads_as_itself_not_in_thousandths(qtbot, epochs):
    plots = TrainingPlots()
    qtbot.addWidget(plots)
    plots.resize(800, 500)
    plots.show()
    history = epochs(6)
    for record in history:  # losses from 0.5 down: pyqtgraph would label them "(x0.001)"
        record["loss"] *= 0.5
        record["val_loss"] *= 0.5
    plots.set_history(history)
    qtbot.waitUntil(lambda: not plots._dirty, timeout=3000)
    for plot in (plots.loss_plot, plots.accuracy_plot, plots.lr_plot):
        axis = plot.getAxis("left")
        assert axis.autoSIPrefixScale == 1.0, axis.labelString()
        assert "0.001" not in axis.labelString()
