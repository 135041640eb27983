"""The Training tab's learning-rate plot in the window: a run that blows up in its first
epoch still shows the rate it used, where the loss plot shows its loss, and the Layer health
title says the run ended before any figures; Reset weights leaves the plot as a new window
shows it, not on the last run's axes."""

from __future__ import annotations

import numpy as np
import pytest


def _blow_up(window, qtbot) -> None:
    window.hyperparameters.learning_rate_box.setValue(10.0)
    with qtbot.waitSignal(window.training_finished, timeout=20_000) as finished:
        window.actionTrain.trigger()
    assert finished.args[0]["stopped_reason"] == "nan"
    assert window.current_run.history == []  # not one epoch finished


def test_a_first_epoch_blow_up_shows_the_rate_it_used(window, qtbot):
    _blow_up(window, qtbot)
    plots = window.training_tab.plots
    losses_at, losses = plots.batch_curve.getData()
    rates_at, rates = plots.lr_curve.getData()
    assert len(losses_at) >= 1 and np.isfinite(losses).all()
    np.testing.assert_allclose(rates_at, losses_at)  # the same batches as the loss plot
    np.testing.assert_allclose(rates, 10.0)
    assert plots.lr_plot.getViewBox().viewRange()[1] == pytest.approx([0, 11.5])


def test_a_first_epoch_blow_up_does_not_promise_health_after_the_first_epoch(window, qtbot):
    from nnstudio.ui.panels.health import ENDED_IN_FIRST_EPOCH, WAITING

    assert window.health_panel.title.text() == WAITING
    _blow_up(window, qtbot)
    assert window.health_panel.title.text() == ENDED_IN_FIRST_EPOCH
    assert window.health_panel.warning_rows  # the doctor's words on the blow-up
    window.actionReset.trigger()  # a fresh start: figures come after its first epoch again
    assert window.health_panel.title.text() == WAITING


def test_reset_weights_leaves_the_rate_plot_as_a_new_window_has_it(window, qtbot):
    plots = window.training_tab.plots
    fresh = plots.lr_plot.getViewBox().viewRange()
    _blow_up(window, qtbot)
    assert plots.lr_plot.getViewBox().viewRange() != fresh
    window.actionReset.trigger()  # Reset weights
    assert plots.lr_plot.getViewBox().viewRange() == fresh
    assert plots.batch_rates == [] and plots.lr_curve.getData()[0] is None  # no points
