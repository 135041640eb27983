"""ActivationDialog: a layer's activation f and its derivative f', with a batch of training
samples' pre-activations z scattered on both (nnstudio.project.activation_view), so dead
ReLUs (z < 0, where f' = 0) and saturated sigmoids (the flat ends) can be seen, not only read
about in the doctor's warnings."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QDialog, QHBoxLayout, QLabel, QVBoxLayout

from nnstudio.project.activation_view import FLAT, activation_layers, activation_view
from nnstudio.ui import style
from nnstudio.ui.plots import pg
from nnstudio.ui.widgets.dialog_size import resize_within_screen

BATCH = 256


class ActivationDialog(QDialog):
    """``ActivationDialog(model, x, layer=None)``: ``x`` a batch of inputs as the model takes
    them; ``self.view`` is what is shown."""

    def __init__(self, model, x, layer: int | None = None, parent=None):
        super().__init__(parent)
        self.setObjectName("activationDialog")
        self.setWindowTitle("Activation function")
        self.model, self.x = model, x[:BATCH]
        self.view = None
        self.layer_box = QComboBox(objectName="activationLayer")
        for index, label in activation_layers(model):
            self.layer_box.addItem(label, index)
        self.layer_box.setToolTip("The layer whose activation is shown")
        self.plots = []
        row = QHBoxLayout()
        titles = (
            ("f(z) — the activation", "activationPlot"),
            ("f'(z) — its slope, what backprop multiplies by", "derivativePlot"),
        )
        for title, name in titles:
            plot = pg.PlotWidget(title=title, objectName=name)
            plot.setLabel("bottom", "z (pre-activation)")
            for side in ("bottom", "left"):
                plot.getAxis(side).enableAutoSIPrefix(False)
            plot.showGrid(x=True, y=True, alpha=0.15)
            curve = plot.plot(pen=pg.mkPen(style.TRAIN_COLOR, width=2))
            points = pg.ScatterPlotItem(size=5, brush=pg.mkBrush(214, 39, 40, 90), pen=None)
            plot.addItem(points)
            self.plots.append((plot, curve, points))
            row.addWidget(plot)
        self.caption = QLabel(objectName="activationCaption")
        self.caption.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(QLabel("Layer"))
        top.addWidget(self.layer_box)
        top.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(row, 1)
        layout.addWidget(self.caption)
        self.layer_box.currentIndexChanged.connect(lambda _i: self.show_layer())
        if layer is not None and self.layer_box.findData(layer) >= 0:
            self.layer_box.setCurrentIndex(self.layer_box.findData(layer))
        self.show_layer()
        resize_within_screen(self, 900, 460)

    def show_layer(self) -> None:
        index = self.layer_box.currentData()
        if index is None:
            self.caption.setText("This network has no layer with a non-linear activation.")
            return
        view = self.view = activation_view(self.model, int(index), self.x)
        for (_plot, curve, points), values, at_z in (
            (self.plots[0], view.f, view.f_at_z),
            (self.plots[1], view.derivative, view.derivative_at_z),
        ):
            curve.setData(view.grid, values)
            points.setData(view.z, at_z)
        self.caption.setText(self._caption(view))

    @staticmethod
    def _caption(view) -> str:
        share = f"{view.no_gradient:.0%}"
        text = (
            f"{view.label}: the red dots are the pre-activations z of {len(view.z)} values of "
            f"a batch of training samples. {share} of them sit where f' is below "
            f"{FLAT:.0%} of its peak: almost no gradient passes back through them."
        )
        if view.activation == "relu":
            text += " For ReLU that is every z < 0: a unit whose z are all there is dead."
        elif view.activation in ("sigmoid", "tanh"):
            text += " For a sigmoid or tanh those are the flat ends: the units are saturated."
        return text
