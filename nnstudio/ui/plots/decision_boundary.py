"""Decision boundary for 2-D data: the model's prediction over the plane, the points on top.

The grid predictions are computed by the training worker from its own weights (never by the
GUI from a model that is training); this view only turns the small array into colours.
Classification: each class a hue, lighter where the model is unsure. Regression: the predicted
surface through a colour map with a colour bar. Train points are filled circles with a white
edge, test points hollow diamonds, so both sets are visible together.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QVBoxLayout, QWidget

from nnstudio.ui import style

_WHITE = np.array([255.0, 255.0, 255.0], dtype=np.float32)
_SHADES = 64  # regression points in this many shades: the eye tells no more apart


def _rgb(colors) -> np.ndarray:
    return np.array([QColor(c).getRgb()[:3] for c in colors], dtype=np.float32)


def class_image(probabilities: np.ndarray) -> np.ndarray:
    """(H, W, K) probabilities -> (H, W, 3) uint8: class hue, paler where the model is unsure."""
    k = probabilities.shape[-1]
    palette = _rgb((style.CLASS_COLORS * (k // len(style.CLASS_COLORS) + 1))[:k])
    mixed = probabilities @ palette
    confidence = (probabilities.max(axis=-1, keepdims=True) - 1.0 / k) / (1.0 - 1.0 / k)
    strength = 0.18 + 0.5 * np.clip(confidence, 0.0, 1.0)
    image = _WHITE * (1.0 - strength) + mixed * strength
    return np.clip(image, 0, 255).astype(np.uint8)


class DecisionBoundaryView(QWidget):
    """A plot of the 2-D input plane (objectName ``decisionBoundary``)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("decisionBoundary")
        self.plot = pg.PlotWidget()
        self.plot.setAspectLocked(False)
        self.plot.setTitle("Decision boundary", color=style.TEXT, size="10pt")
        self.plot.showGrid(x=False, y=False)
        # 160 high, not more: on a 768-pixel screen the layer health panel under the plots
        # needs the rest of the Training tab's height.
        self.plot.setMinimumSize(200, 160)
        self.setToolTip(
            "The model's answer over the whole input plane, redrawn while it trains. Circles: "
            "training points; hollow diamonds: test points. Paler colour = less sure."
        )
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setZValue(-10)
        self.plot.addItem(self.image)
        self.train_points = pg.ScatterPlotItem(size=7, pen=pg.mkPen("w", width=1.0))
        self.test_points = pg.ScatterPlotItem(size=9, symbol="d", brush=None)
        self.plot.addItem(self.train_points)
        self.plot.addItem(self.test_points)
        self.color_bar = None
        self.task = "classification"
        self.frames = 0  # boundary images drawn; tests and the benchmark read it
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)

    def set_dataset(self, dataset) -> None:
        """Show the points of a 2-D dataset (scaled as the model sees them)."""
        self.task = dataset.task
        # For regression the heatmap is the predicted value, not a boundary between classes.
        title = "Predicted value" if dataset.task == "regression" else "Decision boundary"
        self.plot.setTitle(title, color=style.TEXT, size="10pt")
        self.image.clear()
        self._set_points(self.train_points, dataset.x_train, dataset.y_train, filled=True)
        self._set_points(self.test_points, dataset.x_test, dataset.y_test, filled=False)
        self.plot.autoRange()

    def _colours(self, y) -> tuple[list[QColor], np.ndarray]:
        """A small palette and each point's index in it: the class colours, or for regression
        the value in one of ``_SHADES`` shades of viridis."""
        if self.task == "regression":
            values = np.asarray(y, dtype=float).reshape(len(y), -1)[:, 0]
            low, high = float(values.min()), float(values.max())
            scaled = (values - low) / max(high - low, 1e-12)
            colormap = pg.colormap.get("viridis")
            shades = np.linspace(0.0, 1.0, _SHADES)
            palette = [colormap.map(shade, mode="qcolor") for shade in shades]
            return palette, np.rint(scaled * (_SHADES - 1)).astype(int)
        palette = [QColor(c) for c in style.CLASS_COLORS]
        return palette, np.asarray(y).reshape(len(y), -1)[:, 0].astype(int) % len(palette)

    def _set_points(self, item, x, y, filled: bool) -> None:
        if x is None or len(x) == 0:
            item.clear()
            return
        # Points of one colour share one brush (or pen) object: pyqtgraph draws a symbol
        # once per distinct object, so 100,000 points of two classes cost two drawings, not
        # 100,000 (which took 25 s).
        palette, index = self._colours(y)
        if filled:
            brushes = [pg.mkBrush(colour) for colour in palette]
            item.setData(x=x[:, 0], y=x[:, 1], brush=[brushes[i] for i in index])
        else:
            pens = [pg.mkPen(colour, width=1.6) for colour in palette]
            item.setData(
                x=x[:, 0],
                y=x[:, 1],
                pen=[pens[i] for i in index],
                brush=pg.mkBrush(255, 255, 255, 200),
            )

    def set_boundary(self, boundary: dict) -> None:
        """Draw the grid a weights snapshot carried: {"kind", "values", "extent"}."""
        x0, x1, y0, y1 = boundary["extent"]
        values = np.asarray(boundary["values"])
        if boundary["kind"] == "classes":
            self.image.setImage(class_image(values), autoLevels=False, levels=(0, 255))
        else:
            self._set_surface(values)
        self.image.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
        self.frames += 1

    def _set_surface(self, values: np.ndarray) -> None:
        finite = values[np.isfinite(values)]
        low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        if high - low < 1e-9:
            high = low + 1e-9
        self.image.setImage(values, autoLevels=False, levels=(low, high))
        colormap = pg.colormap.get("viridis")
        self.image.setColorMap(colormap)
        self.image.setOpacity(0.85)
        if self.color_bar is None:
            self.color_bar = pg.ColorBarItem(colorMap=colormap, interactive=False, width=12)
            self.color_bar.setImageItem(self.image, insert_in=self.plot.getPlotItem())
        self.color_bar.setLevels((low, high))

    def clear(self) -> None:
        self.image.clear()
        self.train_points.clear()
        self.test_points.clear()
