"""How the Training tab rations its redraws while a run feeds it: the loss plot at a fixed rate
however fast progress comes, epoch plots at a slower one, each in its turn and without waiting
for the loss, nothing drawn on a hidden tab
(caught up when shown), a loss axis that does not move at every point, and histograms kept
until drawn. The clock is a fake one and timer ticks are called directly: no timing here."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtWidgets import QTabWidget, QWidget

from nnstudio.ui.plots import curve_items, training_plots
from nnstudio.ui.plots.training_plots import (
    DUE_SLACK_S,
    EPOCH_REDRAW_S,
    LOSS_REDRAW_S,
    PLOT_ORDER,
    TrainingPlots,
)
from nnstudio.ui.plots.training_tab import TrainingTab


class FakeClock:
    def __init__(self):
        self.now = time.monotonic() + 1000.0  # after anything the real clock stamped

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(training_plots, "_now", fake)
    return fake


@pytest.fixture
def plots(qtbot):
    widget = TrainingPlots()
    qtbot.addWidget(widget)
    return widget


def record_draws(plots, clock, monkeypatch) -> list[tuple[float, str]]:
    draws: list[tuple[float, str]] = []
    original = plots._draw

    def draw(name):
        draws.append((clock.now, name))
        original(name)

    monkeypatch.setattr(plots, "_draw", draw)
    return draws


def batch_count(plots) -> int:
    x = plots.batch_curve.getData()[0]
    return 0 if x is None else len(x)


def test_loss_plot_is_redrawn_at_a_fixed_rate_however_fast_progress_comes(
    plots, clock, monkeypatch
):
    draws = record_draws(plots, clock, monkeypatch)
    seconds, per_second = 10, 20  # progress signals at 20 Hz, each followed by a timer tick
    for step in range(seconds * per_second):
        plots.add_batches([(step / 100, 1.0 / (step + 1))])
        plots._redraw()
        clock.advance(1 / per_second)
    times = np.array([t for t, name in draws if name == "loss"])
    assert len(times) <= seconds / LOSS_REDRAW_S + 1
    assert len(times) >= seconds / LOSS_REDRAW_S - 1  # still live: about once a second
    assert np.diff(times).min() >= LOSS_REDRAW_S - DUE_SLACK_S
    # Nothing is lost by drawing less often: the next redraw shows every batch.
    plots.redraw_all()
    assert batch_count(plots) == seconds * per_second


def test_epoch_plots_follow_at_their_own_pace_without_waiting_for_the_loss(
    plots, clock, monkeypatch, epochs
):
    plots.add_epochs(epochs(1))  # the first epoch is drawn at once, the loss plot included
    draws = record_draws(plots, clock, monkeypatch)
    plots.add_epochs(epochs(1, start=2))
    for _ in range(3):  # three ticks, no time passing: nothing is due yet
        plots._redraw()
    assert draws == [] and plots._dirty == set(PLOT_ORDER)
    clock.advance(EPOCH_REDRAW_S)
    for _ in range(4):
        plots._redraw()
    assert [name for _, name in draws] == ["loss", "accuracy", "lr", "grad"]
    assert not plots._dirty
    np.testing.assert_allclose(plots.train_loss.getData()[1], [1.0, 0.5])
    # A new epoch right after: the loss plot is due a second later, the epoch plots after two.
    plots.add_epochs(epochs(1, start=3))
    assert plots._next_delay() == round(1000 * LOSS_REDRAW_S)
    clock.advance(LOSS_REDRAW_S)
    plots._redraw()
    assert draws[-1][1] == "loss" and plots._dirty == set(PLOT_ORDER[1:])
    assert plots._next_delay() == round(1000 * (EPOCH_REDRAW_S - LOSS_REDRAW_S))


def test_every_epoch_plot_gets_its_turn_when_epochs_end_faster_than_ticks(
    plots, clock, monkeypatch, epochs
):
    """A spiral trains dozens of epochs a second: each tick finds every epoch plot dirty
    again. All of them must still be redrawn, each at its pace, not the first in line each
    time."""
    plots.add_epochs(epochs(1))
    draws = record_draws(plots, clock, monkeypatch)
    for epoch in range(2, 30):
        plots.add_epochs(epochs(1, start=epoch))  # a new epoch before every tick
        clock.advance(training_plots.REDRAW_MS / 1000)
        plots._redraw()
    drawn = [name for _, name in draws]
    assert {"accuracy", "lr", "grad"} <= set(drawn)
    for name in ("accuracy", "lr", "grad"):
        times = [t for t, drawn_name in draws if drawn_name == name]
        assert len(times) >= 2 and np.diff(times).min() >= EPOCH_REDRAW_S - DUE_SLACK_S


def test_plots_on_a_hidden_tab_wait_and_catch_up_when_shown(qtbot, epochs):
    tabs = QTabWidget()
    qtbot.addWidget(tabs)
    plots = TrainingPlots()  # owned by the tab widget
    tabs.addTab(QWidget(), "Model")
    tabs.addTab(plots, "Training")
    tabs.show()
    qtbot.waitExposed(tabs)
    assert not plots.isVisible()
    plots.add_epochs(epochs(2))
    plots.add_batches([(0.5, 1.3), (1.0, 1.1), (1.5, 0.9)])
    plots._redraw()  # a timer tick while hidden draws nothing and does not re-arm
    assert plots._dirty == set(PLOT_ORDER)
    assert not plots._timer.isActive()
    assert batch_count(plots) == 0
    assert len(plots.train_loss.getData()[0] or []) == 0

    tabs.setCurrentWidget(plots)  # shown: everything that arrived is drawn at once
    assert not plots._dirty
    assert batch_count(plots) == 3
    np.testing.assert_allclose(plots.val_acc.getData()[1], [0.4, 0.7])
    assert set(plots._grad_curves) == set(epochs(1)[0]["grad_norms"])  # a curve per layer


def test_loss_axis_moves_only_when_losses_leave_its_range(plots):
    view = plots.loss_plot.getViewBox()
    plots.add_batches([(i / 100, 2.0 * 0.9**i) for i in range(20)])
    plots.redraw_all()
    bottom, top = view.viewRange()[1]
    assert bottom == 0.0 and 2.0 <= top < 2.5  # losses near 0: the axis starts at 0
    for i in range(20, 200, 20):  # lower and lower losses, all inside the range
        plots.add_batches([((i + k) / 100, 2.0 * 0.9 ** (i + k)) for k in range(20)])
        plots.redraw_all()
        assert view.viewRange()[1] == [bottom, top]
    plots.add_batches([(2.0, 5.0)])  # a loss above the range: the axis grows to show it
    plots.redraw_all()
    assert view.viewRange()[1][1] >= 5.0


def test_loss_axis_leaves_a_users_zoom_alone_until_auto_range_is_asked_for(plots):
    view = plots.loss_plot.getViewBox()
    plots.add_batches([(i / 100, 2.0 * 0.9**i) for i in range(20)])
    plots.redraw_all()
    view.setYRange(0.1, 0.2, padding=0)  # what a zoom with the mouse wheel ends with
    plots.add_batches([(0.5, 3.0)])
    plots.redraw_all()
    np.testing.assert_allclose(view.viewRange()[1], [0.1, 0.2])
    view.enableAutoRange(y=True)  # the "A" button
    plots.add_batches([(0.6, 0.5)])
    plots.redraw_all()
    bottom, top = view.viewRange()[1]
    assert bottom == 0.0 and top >= 3.0


def test_loss_axis_in_log_mode_is_left_to_pyqtgraph(plots):
    view = plots.loss_plot.getViewBox()
    plots.add_batches([(0.1, 2.0), (0.2, 0.01)])
    plots.redraw_all()
    assert not view.autoRangeEnabled()[1]  # managed here
    plots.loss_plot.setLogMode(y=True)
    plots.add_batches([(0.3, 0.001)])
    plots.redraw_all()
    assert view.autoRangeEnabled()[1]


def _with_norms(epoch: dict, norms: dict) -> dict:
    return {**epoch, "grad_norms": norms}


def test_gradient_axis_moves_only_when_a_norm_leaves_its_range(plots, epochs):
    view = plots.grad_plot.getViewBox()
    first, *more = epochs(5)
    plots.add_epochs([_with_norms(first, {"0 Dense": 0.3, "1 Dense": 0.05})])
    plots.redraw_all()
    bottom, top = view.viewRange()[1]  # log10 units
    assert bottom < np.log10(0.05) < np.log10(0.3) < top  # both layers in view
    for epoch, norm in zip(more[:2], (0.25, 0.2), strict=True):  # inside: the axis stays
        plots.add_epochs([_with_norms(epoch, {"0 Dense": norm, "1 Dense": 0.06})])
        plots.redraw_all()
        assert view.viewRange()[1] == [bottom, top]
    plots.add_epochs([_with_norms(more[2], {"0 Dense": 3.0, "1 Dense": 0.06})])  # outside
    plots.redraw_all()
    assert view.viewRange()[1][1] >= np.log10(3.0)
    view.setYRange(-1.0, 0.0, padding=0)  # the user zooms: their range stays
    plots.add_epochs([_with_norms(more[3], {"0 Dense": 30.0, "1 Dense": 0.06})])
    plots.redraw_all()
    np.testing.assert_allclose(view.viewRange()[1], [-1.0, 0.0])
    view.enableAutoRange(y=True)  # the "A" button: every norm in view again
    plots.add_epochs([_with_norms(more[3], {"0 Dense": 30.0, "1 Dense": 0.06})])
    plots.redraw_all()
    assert view.viewRange()[1][1] >= np.log10(30.0)


@pytest.mark.parametrize("layers", [2, 6])
def test_the_gradient_legend_never_hides_a_curve(qtbot, plots, epochs, layers):
    """The first epochs' norms are the largest: they ran under the legend at the top."""
    plots.resize(900, 600)
    plots.show()
    qtbot.waitExposed(plots)
    names = [f"{index} Conv2D" for index in range(layers)]
    for number, epoch in enumerate(epochs(6), start=1):
        norms = {name: 0.5 / number ** (1 + index / 4) for index, name in enumerate(names)}
        plots.add_epochs([_with_norms(epoch, norms)])
        plots.redraw_all()
        legend = plots.grad_plot.getPlotItem().legend
        view = plots.grad_plot.getViewBox()
        # The legend's lower edge in the plot's own units (log10 of a norm).
        lower_edge = view.mapSceneToView(legend.sceneBoundingRect().bottomLeft()).y()
        assert np.log10(0.5) < lower_edge - 0.01, (number, lower_edge)  # every curve below it


def test_a_gradient_legend_without_room_gives_way_to_the_curves(qtbot, plots, epochs):
    """On a plot too small for its legend (1024×600) the legend's white box covered the
    curves; it hides there (the histograms' titles name the layers in the same colours), and
    shows again when the plot is made large enough."""
    plots.resize(470, 300)
    plots.show()
    qtbot.waitExposed(plots)
    names = [f"{index} Dense" for index in range(4)]
    for number, epoch in enumerate(epochs(3), start=1):
        plots.add_epochs([_with_norms(epoch, dict.fromkeys(names, 0.5 / number))])
    plots.redraw_all()
    legend = plots.grad_plot.getPlotItem().legend
    assert not legend.isVisible() and plots._grad_legend_band() == 0.0
    plots.resize(900, 600)
    qtbot.waitUntil(legend.isVisible)


def test_histograms_wait_for_their_turn_and_are_not_lost_by_snapshots_without_them(
    qtbot, clock, monkeypatch
):
    tab = TrainingTab()
    qtbot.addWidget(tab)
    tab.show()
    qtbot.waitExposed(tab)
    counts, edges = np.histogram(np.random.default_rng(0).normal(size=100), bins=10)
    tab.apply_snapshot({"histograms": {"0 Dense": (counts, edges)}})
    assert list(tab.histograms.curves) == ["0 Dense"]  # the first ones are drawn at once
    clock.advance(0.5)
    two_layers = {"0 Dense": (counts, edges), "1 Dense": (counts * 2, edges)}
    tab.apply_snapshot({"histograms": two_layers})
    assert list(tab.histograms.curves) == ["0 Dense"]  # too soon after the last: kept
    clock.advance(training_plots.HISTOGRAM_SECONDS)
    tab.apply_snapshot({"weights": {}})  # most snapshots carry no histograms
    assert list(tab.histograms.curves) == ["0 Dense", "1 Dense"]
    np.testing.assert_allclose(tab.histograms.curves["1 Dense"].getData()[1], counts * 2)
    tab.apply_snapshot({"weights": {}})
    assert list(tab.histograms.curves) == ["0 Dense", "1 Dense"]


def test_the_first_epoch_is_visible_as_a_dot_before_there_is_a_line(plots, epochs):
    from PySide6.QtGui import QColor

    from nnstudio.ui import style

    plots.resize(900, 600)
    plots.add_epochs(epochs(1))  # one point: a line alone draws nothing
    plots.redraw_all()
    plots.accuracy_plot.getPlotItem().legend.hide()  # its swatches have the same colour
    image = plots.accuracy_plot.grab().toImage()
    train = QColor(style.TRAIN_COLOR)
    dot_pixels = sum(
        1
        for x in range(image.width())
        for y in range(image.height())
        if image.pixelColor(x, y) == train
    )
    assert dot_pixels >= 4


def test_batch_redraws_leave_the_epoch_curves_alone_until_an_epoch_ends(plots, epochs):
    plots.add_epochs(epochs(2))
    plots.redraw_all()
    drawn = plots.train_loss.getData()[0]
    plots.add_batches([(2.5, 0.3)])
    plots.redraw_all()
    assert plots.train_loss.getData()[0] is drawn  # not set again (same arrays)
    assert batch_count(plots) == 1
    plots.add_epochs(epochs(1, start=3))
    plots.redraw_all()
    np.testing.assert_array_equal(plots.train_loss.getData()[0], [1, 2, 3])


def test_reset_shows_the_learning_rate_plot_as_a_new_window_does(plots, epochs):
    """A rate of 0.5 over 400 planned epochs, then Reset weights: the empty plot had kept
    0..0.575 and 0..400, the old run's axes."""
    fresh = plots.lr_plot.getViewBox().viewRange()
    plots.set_planned_epochs(400)
    plots.add_epochs([{**epoch, "lr": 0.5} for epoch in epochs(3)])
    plots.redraw_all()
    assert plots.lr_plot.getViewBox().viewRange()[1][1] == pytest.approx(0.5 * 1.15)
    plots.clear()  # what Reset weights does to the curves
    assert plots.lr_plot.getViewBox().viewRange() == fresh == [[0, 1], [0, 1]]
    assert plots.lr_curve.getData()[0] is None or len(plots.lr_curve.getData()[0]) == 0
    plots.add_epochs([{**epochs(1)[0], "lr": 0.05}])  # the next run's first epoch
    plots.redraw_all()
    assert plots.lr_plot.getViewBox().viewRange()[1][1] == pytest.approx(0.05 * 1.15)


def test_a_run_that_blew_up_in_its_first_epoch_still_shows_the_rate_it_used(plots):
    """Learning rate 10: the loss exploded at batch 2, before any epoch ended. The loss plot
    has the first batch's loss; the rate plot shows the rate at the same place."""
    plots.set_planned_epochs(200)
    assert plots.batch_curve.opts["symbol"] is None  # no losses: the legend shows a line
    plots.add_batches([(0.03, 1.2298)], rate=10.0)  # the one report before the blow-up
    plots.redraw_all()
    x, y = plots.lr_curve.getData()
    np.testing.assert_allclose(x, plots.batch_curve.getData()[0])  # where the loss is
    np.testing.assert_allclose(y, [10.0])
    assert plots.lr_plot.getViewBox().viewRange()[1] == pytest.approx([0, 11.5])
    assert curve_items.dotted(plots.lr_curve)  # dots: a point is never invisible
    assert plots.batch_curve.opts["symbol"] is not None  # the lone finite loss too


def test_the_first_epochs_rate_replaces_the_batches_rates(plots, epochs):
    plots.add_batches([(0.5, 1.0)], rate=0.2)
    plots.redraw_all()
    plots.add_epochs(epochs(2))  # lr 0.01 each
    plots.add_batches([(2.5, 0.4)], rate=0.2)  # later batches: the epochs say it
    plots.redraw_all()
    x, y = plots.lr_curve.getData()
    np.testing.assert_array_equal(x, [1, 2])
    np.testing.assert_allclose(y, [0.01, 0.01])
    for step in range(10):
        plots.add_batches([(2.6 + step / 100, 0.3)])
    plots.redraw_all()
    assert plots.batch_curve.opts["symbol"] is None  # many batches: a line again


def test_a_new_run_empties_the_histograms_but_keeps_their_plots(qtbot):
    tab = TrainingTab()
    qtbot.addWidget(tab)
    tab.show()
    qtbot.waitExposed(tab)
    counts, edges = np.histogram(np.random.default_rng(0).normal(size=100), bins=10)
    tab.apply_snapshot({"histograms": {"0 Dense": (counts, edges)}, "final": True})
    curve = tab.histograms.curves["0 Dense"]
    tab.new_run()
    assert tab.histograms.curves == {"0 Dense": curve}
    assert curve.getData()[1] is None  # the last run's weights are not shown as the new one's


def test_histogram_x_range_is_round_and_only_moves_when_the_weights_outgrow_it(qtbot):
    from nnstudio.ui.plots.histograms import WeightHistograms

    view = WeightHistograms()
    qtbot.addWidget(view)

    def show(reach):
        edges = np.linspace(-reach, 0.5 * reach, 11)
        view.set_histograms({"0 Dense": (np.ones(10), edges)})
        low, high = view.curves["0 Dense"].getViewBox().viewRange()[0]
        return round(-low / 1.24, 6), round(high / 1.24, 6)  # padding=0.12 on both sides

    assert show(0.3) == (0.5, 0.5)  # symmetric, and rounded up to 1, 2 or 5 × 10^k
    ticks = view.plots["0 Dense"].getAxis("bottom")._tickLevels[0]
    assert ticks == [(-0.5, ""), (0.0, "0"), (0.5, "0.5")]  # three, two labelled: never crowded
    assert show(0.45) == (0.5, 0.5)  # still inside: unchanged
    assert show(0.7) == (1.0, 1.0)  # outgrown
    assert show(0.15) == (0.2, 0.2)  # shrunk to under half


def test_epoch_dots_give_way_to_a_plain_line_in_long_runs(plots, epochs):
    plots.add_epochs(epochs(curve_items.MAX_DOTTED_EPOCHS))
    plots.redraw_all()
    assert curve_items.dotted(plots.val_acc)
    plots.add_epochs(epochs(1, start=curve_items.MAX_DOTTED_EPOCHS + 1))
    plots.redraw_all()
    curves = [plots.train_loss, plots.val_loss, plots.train_acc, plots.val_acc, plots.lr_curve]
    curves += list(plots._grad_curves.values())
    assert [curve_items.dotted(curve) for curve in curves] == [False] * len(curves)
    plots.set_history(epochs(2))  # a short run again: dots again
    assert curve_items.dotted(plots.train_loss)


def test_gradient_axis_labels_decades_not_every_minor_tick(plots):
    axis = plots.grad_plot.getAxis("left")
    assert axis.style["maxTextLevel"] == 0  # only the first level below gets labels

    def labelled(low, high):
        levels = axis.logTickValues(np.log10(low), np.log10(high), 100, [])
        return [float(f"{10**v:.3g}") for v in levels[0][1]], len(levels[1][1])

    assert labelled(0.005, 30) == ([0.01, 0.1, 1.0, 10.0], 31)  # wide: decades only
    assert labelled(0.07, 3) == ([0.1, 1.0], 13)  # two decades still say enough
    assert labelled(0.2, 3) == ([0.2, 0.5, 1.0, 2.0], 7)  # under two: 1, 2 and 5


def _pixel(plot, x: float, y: float):
    """The colour drawn at the data point (x, y) of ``plot``."""
    from PySide6.QtCore import QPointF

    image = plot.grab().toImage()  # painted: the view's range is the one drawn
    point = plot.mapFromScene(plot.getViewBox().mapViewToScene(QPointF(x, y)))
    return image.pixelColor(point.x(), point.y())


def test_a_lone_epoch_is_a_dot_of_its_curves_colour_in_the_plot_and_its_legend(
    qtbot, plots, epochs
):
    """The dots are drawn with the line (DottedLine): the first epoch, a single point that a
    line alone would not show, is a dot; with many epochs there are none."""
    from PySide6.QtGui import QColor

    from nnstudio.ui import style

    plots.resize(800, 500)
    plots.show()
    qtbot.waitExposed(plots)
    plots.add_epochs(epochs(1))  # accuracy 0.5 at epoch 1
    plots.redraw_all()

    def like_train(color) -> bool:  # within antialiasing's rounding
        train = QColor(style.TRAIN_COLOR)
        channels = zip(color.getRgbF()[:3], train.getRgbF()[:3], strict=True)
        return all(abs(a - b) < 0.15 for a, b in channels)

    assert like_train(_pixel(plots.accuracy_plot, 1, 0.5))  # no dot: the background there
    sample = plots.accuracy_plot.getPlotItem().legend.items[0][0]
    image = sample.scene().views()[0].grab().toImage()
    center = sample.scene().views()[0].mapFromScene(sample.mapToScene(10, 8))  # above the line
    assert like_train(image.pixelColor(center))  # the legend's sample has its dot too
    plots.set_history(epochs(curve_items.MAX_DOTTED_EPOCHS + 5))
    plots.set_planned_epochs(0)
    qtbot.wait(10)
    assert not curve_items.dotted(plots.train_acc)


def test_a_new_run_keeps_its_layers_gradient_curves_and_drops_another_networks(plots, epochs):
    plots.add_epochs(epochs(2))
    plots.redraw_all()
    legend = plots.grad_plot.getPlotItem().legend
    kept = dict(plots._grad_curves)
    plots.clear()  # a new run: nothing shown until its first epoch
    assert not legend.isVisible()
    assert all(curve.xData is None or not len(curve.xData) for curve in kept.values())
    plots.add_epochs(epochs(1))  # the same network: the same curves, the legend back
    plots.redraw_all()
    assert plots._grad_curves == kept and legend.isVisible()
    assert [label.text for _sample, label in legend.items] == list(kept)
    plots.clear()
    other = [{**epoch, "grad_norms": {"0 Conv2D": 0.3}} for epoch in epochs(1)]
    plots.add_epochs(other)  # another network: only its layer
    plots.redraw_all()
    assert list(plots._grad_curves) == ["0 Conv2D"]
    assert [label.text for _sample, label in legend.items] == ["0 Conv2D"]
    assert all(curve.getViewBox() is None for curve in kept.values())  # off the plot


def test_curve_items_doctests():
    import doctest

    assert doctest.testmod(curve_items).failed == 0
