"""Training plots, decision boundary and histograms: data in, items updated, exports."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from PySide6.QtCore import QRectF

from nnstudio.ui.plots import training_plots
from nnstudio.ui.plots.decision_boundary import DecisionBoundaryView, class_image
from nnstudio.ui.plots.histograms import WeightHistograms
from nnstudio.ui.plots.training_plots import TrainingPlots
from nnstudio.ui.plots.training_tab import TrainingTab
from tests.ui.test_main_window import app_look  # noqa: F401 - a fixture, used below


@pytest.fixture
def plots(qtbot):
    widget = TrainingPlots()
    qtbot.addWidget(widget)
    return widget


def test_epochs_and_batches_reach_the_curves_after_the_coalescing_timer(
    qtbot, plots, epochs, monkeypatch
):
    monkeypatch.setattr(training_plots, "EPOCH_REDRAW_S", 0.3)  # a short wait, for a short test
    plots.add_epochs(epochs(1))
    assert len(plots.train_loss.getData()[0]) == 1  # the first point shows at once
    plots.add_epochs(epochs(2, start=2))
    plots.add_batches([(0.5, 1.4), (1.0, 1.1), (1.5, float("nan"))])
    assert len(plots.train_loss.getData()[0]) == 1  # later ones wait for the timer
    waiting = set(plots._dirty)
    assert {"loss", "accuracy"} <= waiting
    # One plot per tick: after the first tick the other plots still wait for theirs (the
    # loss, drawn at once above, is due again only LOSS_REDRAW_S later).
    qtbot.waitUntil(lambda: len(plots._dirty) < len(waiting), timeout=2000)
    assert plots._dirty, "all plots redrawn in one go"
    qtbot.waitUntil(lambda: not plots._dirty, timeout=3000)
    assert len(plots.train_loss.getData()[0]) == 3
    x, y = plots.val_acc.getData()
    np.testing.assert_allclose(y, [0.4, 0.7, 0.8])
    assert len(plots.batch_curve.getData()[0]) == 3
    assert set(plots._grad_curves) == {"0 Dense", "1 Dense"}
    assert plots.findChild(type(plots.loss_plot), "lossPlot") is plots.loss_plot


def test_clear_and_history(qtbot, plots, epochs):
    plots.add_epochs(epochs(5))
    plots.set_history(epochs(2))
    assert len(plots.epochs) == 2 and plots.batch_x == []


def test_overlays_add_and_remove_items(plots, epochs):
    plots.set_overlays([("Run 1", epochs(4)), ("Run 2", epochs(2))])
    assert len(plots._overlay_items) == 8  # 4 curves per run
    plots.set_overlays([])
    assert plots._overlay_items == []


def test_overlays_shown_after_the_curves_widen_the_loss_axis(plots, epochs):
    """A run continued from epoch 40 of another has one epoch so far; the other run's curve,
    added after it, must fit on the loss axis too (it used to show as a zoomed-in band)."""
    plots.set_history(epochs(1, start=40))  # loss 1/40, val_loss 1.2/40
    plots.redraw_all()
    low, high = plots.loss_plot.getViewBox().viewRange()[1]
    assert high < 0.1  # only the one epoch: a tight axis
    plots.set_overlays([("Run 1", epochs(60))])  # losses from 1/60 up to 1.2
    low, high = plots.loss_plot.getViewBox().viewRange()[1]
    assert low <= 1 / 60 and high >= 1.2


def test_a_cleared_loss_plot_forgets_a_blown_up_runs_range(plots, epochs):
    """Train at learning rate 10, then Reset weights: the empty plot and the next run's
    curve are on an axis of their own, not on the blow-up's 0..1e6."""
    plots.add_batches([(0.5, 1.2), (1.0, 4e5), (1.5, 1e6), (2.0, float("nan"))])
    plots.redraw_all()
    assert plots.loss_plot.getViewBox().viewRange()[1][1] >= 1e6
    plots.clear()  # what Reset weights does to the curves
    assert plots.loss_plot.getViewBox().viewRange()[1][1] <= 2  # the empty plot, too
    plots.add_batches([(0.5, 1.1), (1.0, 0.9)])
    plots.add_epochs(epochs(1))  # loss 1.0, val_loss 1.2
    plots.redraw_all()
    low, high = plots.loss_plot.getViewBox().viewRange()[1]
    assert low <= 0.9 and 1.2 <= high < 2


def test_a_single_loss_is_shown_on_an_axis_from_0_not_zoomed_into_its_digits(plots):
    plots.add_batches([(0.03, 1.2298)])  # a run that blew up at its second batch
    plots.redraw_all()
    low, high = plots.loss_plot.getViewBox().viewRange()[1]
    assert low == 0 and 1.25 < high < 1.35


def test_hover_series_names_the_epoch_values(plots, epochs):
    plots.add_epochs(epochs(3))
    x, values = plots._hover_series(("loss", "val_loss"))
    np.testing.assert_array_equal(x, [1, 2, 3])
    assert values["validation"][1] == pytest.approx(0.6)


def test_export_csv_and_png(qtbot, plots, tmp_path, epochs):
    plots.add_epochs(epochs(3))
    plots.export_csv(tmp_path / "h.csv")
    with open(tmp_path / "h.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["epoch"] for r in rows] == ["1", "2", "3"]
    assert float(rows[1]["val_loss"]) == pytest.approx(0.6)
    assert "grad_norm 0 Dense" in rows[0]
    plots.resize(600, 400)
    plots.export_png(tmp_path / "p.png")
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"


def test_class_image_is_paler_where_unsure():
    sure = np.zeros((1, 2, 3), np.float32)
    sure[0, 0, 0] = 1.0
    sure[0, 1] = 1 / 3
    image = class_image(sure)
    assert image.shape == (1, 2, 3) and image.dtype == np.uint8
    assert image[0, 1].min() > image[0, 0].min()  # unsure pixel is closer to white


class FakeDataset:
    def __init__(self, task="classification"):
        rng = np.random.default_rng(0)
        self.task = task
        self.input_shape = (2,)
        self.x_train = rng.normal(size=(20, 2)).astype(np.float32)
        self.x_test = rng.normal(size=(5, 2)).astype(np.float32)
        if task == "classification":
            self.y_train, self.y_test = np.arange(20) % 3, np.arange(5) % 3
        else:
            self.y_train = rng.normal(size=(20, 1)).astype(np.float32)
            self.y_test = rng.normal(size=(5, 1)).astype(np.float32)


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_decision_boundary_draws_points_and_grids(qtbot, task):
    view = DecisionBoundaryView()
    qtbot.addWidget(view)
    view.set_dataset(FakeDataset(task))
    assert len(view.train_points.data) == 20 and len(view.test_points.data) == 5
    title = view.plot.getPlotItem().titleLabel.text
    assert title == ("Predicted value" if task == "regression" else "Decision boundary")
    if task == "classification":
        values = np.full((10, 10, 3), 1 / 3, np.float32)
        boundary = {"kind": "classes", "values": values, "extent": (-1, 1, -2, 2)}
    else:
        values = np.linspace(0, 1, 100, dtype=np.float32).reshape(10, 10)
        boundary = {"kind": "value", "values": values, "extent": (-1, 1, -2, 2)}
    view.set_boundary(boundary)
    assert view.frames == 1 and view.image.image is not None
    rect = view.image.mapRectToParent(view.image.boundingRect())
    assert rect.width() == pytest.approx(2) and rect.height() == pytest.approx(4)
    assert (view.color_bar is not None) == (task == "regression")


def test_histograms_rebuild_only_when_layers_change(qtbot):
    view = WeightHistograms()
    qtbot.addWidget(view)
    counts, edges = np.histogram(np.random.default_rng(0).normal(size=100), bins=10)
    view.set_histograms({"0 Dense": (counts, edges), "1 Dense": (counts, edges)})
    curves = dict(view.curves)
    view.set_histograms({"0 Dense": (counts * 2, edges), "1 Dense": (counts, edges)})
    assert view.curves == curves
    np.testing.assert_array_equal(view.curves["0 Dense"].getData()[1], counts * 2)
    view.set_histograms({"0 Dense": (counts, edges)})
    assert list(view.curves) == ["0 Dense"]


def test_training_tab_keeps_snapshots_while_hidden(qtbot):
    tab = TrainingTab()
    qtbot.addWidget(tab)
    tab.set_dataset(FakeDataset())
    values = np.full((10, 10, 3), 1 / 3, np.float32)
    snapshot = {
        "boundary": {"kind": "classes", "values": values, "extent": (0, 1, 0, 1)},
        "histograms": {},
    }
    tab.apply_snapshot(snapshot)
    assert tab.boundary.frames == 0  # hidden: nothing drawn yet
    tab.show()
    qtbot.waitExposed(tab)
    assert tab.boundary.frames == 1


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_points_of_one_colour_share_one_brush_so_many_points_draw_fast(qtbot, task):
    """pyqtgraph draws a symbol once per distinct brush or pen object: one object per point
    made a 100,000-point toy set take 25 s to show (issue 33)."""
    view = DecisionBoundaryView()
    qtbot.addWidget(view)
    dataset = FakeDataset(task)
    rng = np.random.default_rng(1)
    dataset.x_train = rng.normal(size=(1000, 2)).astype(np.float32)
    if task == "classification":
        dataset.y_train = np.arange(1000) % 3
    else:
        dataset.y_train = rng.normal(size=(1000, 1)).astype(np.float32)
    view.set_dataset(dataset)
    brushes = view.train_points.data["brush"]
    distinct = {id(brush) for brush in brushes}
    if task == "classification":  # one brush per class, each in its class's colour
        assert len(distinct) == 3
        assert len({brushes[i].color().name() for i in range(3)}) == 3
    else:
        assert len(distinct) <= 64
    assert len({id(pen) for pen in view.test_points.data["pen"]}) <= 3 or task == "regression"


def test_a_run_without_validation_draws_no_validation_curve_and_warns_nothing(qtbot, plots):
    """With a 0 % validation split every val_ value is missing: pyqtgraph's bounds of an
    all-NaN curve raised "All-NaN slice encountered" (an error under pytest's warnings)."""
    import warnings

    history = [{"epoch": e, "loss": 1.0 / e, "accuracy": 0.5} for e in (1, 2, 3)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plots.add_epochs(history)
        plots.redraw_all()
        plots.val_loss.dataBounds(1)
    assert len(plots.train_loss.getData()[0]) == 3
    assert plots.val_loss.getData()[0] is None or len(plots.val_loss.getData()[0]) == 0


def test_a_deep_networks_histograms_all_keep_room_for_their_bars(qtbot):
    """Seven weight layers in the Training tab's histogram corner (about 245 × 190 at
    1366 × 768): every histogram keeps a plot area its bars can be read in, the last one too
    (two columns of four rows squeezed them to a flat line and cut the last one off)."""
    view = WeightHistograms()
    qtbot.addWidget(view)
    view.resize(245, 190)
    view.show()
    qtbot.waitExposed(view)
    edges = np.linspace(-1, 1, 11)
    counts = np.arange(10, dtype=float)
    view.set_histograms({f"{i} Dense": (counts, edges) for i in range(7)})
    qtbot.wait(20)
    inside = QRectF(view.view.rect())
    for name, plot in view.plots.items():
        box = plot.getViewBox()
        area = box.mapRectToScene(box.boundingRect())
        assert area.height() >= 20, (name, area.height())
        assert inside.contains(view.view.mapFromScene(area).boundingRect()), name


def _tick_labels(axis) -> list[QRectF]:
    """Where ``axis`` draws its tick labels, in scene coordinates."""
    from PySide6.QtGui import QImage, QPainter

    image = QImage(8, 8, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        _, _, texts = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    return [axis.mapRectToScene(rect) for rect, _, text in texts if text]


@pytest.mark.parametrize(
    ("size", "reaches"),
    [((186, 350), (2, 0.5, 0.5, 0.5)), ((245, 190), (0.5,) * 7)],
    ids=["cnn-at-1024x600", "seven-layers-at-1366x768"],
)
def test_neighbouring_histograms_keep_their_tick_labels_apart(qtbot, app_look, size, reaches):  # noqa: F811
    """At 1024×600 one plot's "0.5" ran into the next one's "-0.5" ("0.5-0.5"), and the
    left column's "-0.5" began past the widget's edge."""
    view = WeightHistograms()
    qtbot.addWidget(view)
    view.resize(*size)
    view.show()
    qtbot.waitExposed(view)
    view.set_histograms(
        {f"{i} Dense": (np.ones(10), np.linspace(-r, r, 11)) for i, r in enumerate(reaches)}
    )
    qtbot.wait(20)  # the layout settles
    labels = [_tick_labels(plot.getAxis("bottom")) for plot in view.plots.values()]
    columns = max(2, -(-len(reaches) // 3))
    for index in range(1, len(labels)):
        if index % columns:  # a plot with a neighbour on its left
            gap = min(r.left() for r in labels[index]) - max(r.right() for r in labels[index - 1])
            assert gap >= 8, (index, gap)
    everything = [rect for plot_labels in labels for rect in plot_labels]
    assert all(rect.left() >= 0 and rect.right() <= size[0] for rect in everything)


def _four_layers(plots, epochs):
    history = epochs(3)
    for epoch in history:
        epoch["grad_norms"] = {f"{i} Dense": 0.1 * (i + 1) for i in range(4)}
    plots.add_epochs(history)
    plots.redraw_all()


def _legend_in_view(plots, qtbot) -> tuple[list[str], bool]:
    """The gradient legend's texts, and whether it lies inside the plot's view box."""
    qtbot.wait(20)  # the layouts settle
    legend = plots.grad_plot.getPlotItem().legend
    view = plots.grad_plot.getViewBox().sceneBoundingRect()
    inside = view.contains(legend.sceneBoundingRect())
    return [label.text for _sample, label in legend.items], inside


def test_the_gradient_legend_fits_a_small_plot_and_names_layers_on_a_large_one(
    qtbot,
    plots,
    epochs,
    app_look,  # noqa: F811 - sizes depend on the fonts
):
    """At 1024×600 the gradient-norm plot is about 230×140: "0 Dense" … "3 Dense" in two
    columns ran past its right edge. It now takes the layers' numbers in one row."""
    plots.resize(460, 350)  # the Training tab's plots at 1024×600
    plots.show()
    qtbot.waitExposed(plots)
    _four_layers(plots, epochs)
    texts, inside = _legend_in_view(plots, qtbot)
    assert inside and texts == ["0", "1", "2", "3"]
    assert plots.grad_plot.getPlotItem().legend.columnCount == 4  # one row: the curves show
    plots.resize(1100, 700)  # a large screen: the names whole
    texts, inside = _legend_in_view(plots, qtbot)
    assert inside and texts == ["0 Dense", "1 Dense", "2 Dense", "3 Dense"]


def test_a_log_axis_over_many_decades_labels_only_what_fits(qtbot):
    """Gradient norms from 1e-12 to 10 on a plot 70 pixels high: 13 labels piled up."""
    from nnstudio.ui.plots.curve_items import DecadeAxis

    axis = DecadeAxis("left")
    (_, short), _ = axis.logTickValues(-12.0, 1.0, 70, None)
    pixels_per_decade = 70 / 13
    gaps = np.diff(short) * pixels_per_decade
    assert len(short) >= 2 and gaps.min() >= DecadeAxis.LABEL_SPACING
    (_, tall), _ = axis.logTickValues(-12.0, 1.0, 400, None)
    assert tall == list(range(-12, 2))  # room for every decade
    (_, narrow), (_, minor) = axis.logTickValues(-0.5, 0.8, 70, None)
    assert [round(10**v, 6) for v in narrow] == [0.5, 1, 2, 5]  # under two decades
    assert round(10 ** max(minor), 6) == 6  # 3, 4, 6 … between, unlabelled
