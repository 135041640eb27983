"""FeatureMapsDialog: what an image model's convolutions see, live while it trains.

ConvNetJS style: the first convolution's filters, and for one training sample (picked with
the Sample box) each Conv2D layer's output maps, one grey picture per filter (each stretched
to its own range: white is that map's strongest response). The numbers come from
nnstudio.project.feature_maps on a copy of the model; while a run trains the window offers
each weights snapshot and the dialog takes at most two a second, and only while it is shown.
"""

from __future__ import annotations

import math
import time

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from nnstudio.project.feature_maps import (
    MAX_MAPS,
    FeatureMapView,
    RateLimit,
    filter_pictures,
    scaled,
    tile,
)
from nnstudio.ui.widgets.dialog_size import resize_within_screen

SAMPLE_SIZE = 112  # pixels the sample is drawn at (28 × 28 digits: 4 screen pixels each)
FILTERS_SIZE = 180
MAPS_SIZE = 300
GAP_COLOUR = (120, 150, 200)  # between the tiles: a blue no grey map or filter has
CAPTION = (
    "Each small picture is one filter's map for this sample, stretched to its own range: "
    "white is where the filter responds most. A map that stays black responds nowhere (a dead "
    "filter for this sample). The filters are the first layer's weights (light: positive, "
    "dark: negative)."
)


def _pixmap(image: np.ndarray, size: int) -> QPixmap:
    """A (H, W) grey or (3, H, W) colour image with values in [0, 1] (NaN: the gaps between
    tiles, drawn in GAP_COLOUR), enlarged by whole pixels (no blur: a filter's 3 × 3 weights
    stay nine squares) to about ``size``."""
    colour = image.ndim == 3
    values = np.moveaxis(image, 0, -1) if colour else image
    gaps = np.isnan(values)
    levels = (np.clip(np.where(gaps, 0.0, values), 0, 1) * 255).astype(np.uint8)
    height, width = levels.shape[:2]
    pixels = np.empty((height, width, 3), np.uint8)
    pixels[...] = levels if colour else levels[..., None]
    pixels[gaps.any(axis=-1) if colour else gaps] = GAP_COLOUR
    picture = QImage(pixels.data, width, height, 3 * width, QImage.Format.Format_RGB888)
    zoom = max(1, size // max(height, width))
    return QPixmap.fromImage(picture.copy()).scaled(
        width * zoom, height * zoom, mode=Qt.TransformationMode.FastTransformation
    )


def _filters_tile(filters: np.ndarray) -> np.ndarray:
    """The filters tiled with each weight already FILTERS_SIZE / (columns × k) pixels wide, so
    the gaps between filters stay thin lines."""
    pictures = filter_pictures(filters)
    columns = math.ceil(math.sqrt(min(len(pictures), MAX_MAPS)))
    return tile(pictures, gap=2, zoom=max(1, FILTERS_SIZE // (columns * pictures.shape[-1])))


def _sample_picture(sample: np.ndarray) -> np.ndarray:
    """The input as a picture: colour for three channels, else its first channel."""
    return scaled(sample) if sample.shape[0] == 3 else scaled(sample[0])


class FeatureMapsDialog(QDialog):
    """``FeatureMapsDialog(model, samples, labels, class_names)``: ``samples`` are images as the
    model takes them (N, channels, height, width); ``self.shown`` is what is drawn."""

    def __init__(self, model, samples, labels=None, class_names=None, parent=None):
        super().__init__(parent)
        self.setObjectName("featureMapsDialog")
        self.setWindowTitle("Feature maps")
        self.view = FeatureMapView(model)  # NoConvolution when there is nothing to show
        self.samples, self.labels, self.class_names = samples, labels, class_names
        self.limit = RateLimit()
        self.updates = 0  # how often the weights of a run were taken (the tests read it)
        self.update_seconds = 0.0  # the time those updates took (the benchmark reads it)
        self.shown = None
        self._build()
        self.sample_box.valueChanged.connect(lambda _value: self.redraw(new_sample=True))
        self.redraw(new_sample=True)
        resize_within_screen(self, 980, 640)

    def _build(self) -> None:
        self.sample_box = QSpinBox(objectName="featureMapsSample")
        self.sample_box.setRange(0, max(len(self.samples) - 1, 0))
        self.sample_box.setToolTip("Which training sample goes through the network")
        self.sample_label = QLabel(objectName="featureMapsClass")
        self.sample_picture = QLabel(objectName="featureMapsInput")
        self.filters_picture = QLabel(objectName="featureMapsFilters")
        self.caption = QLabel(CAPTION, objectName="featureMapsCaption", wordWrap=True)
        left = QVBoxLayout()
        picker = QHBoxLayout()
        picker.addWidget(QLabel("Sample"))
        picker.addWidget(self.sample_box)
        picker.addStretch(1)
        left.addLayout(picker)
        left.addWidget(self.sample_label)
        left.addWidget(self.sample_picture)
        first = self.view.model.layers[self.view.conv_indices[0]]
        count = f"{first.filters}" + (f", the first {MAX_MAPS}" if first.filters > MAX_MAPS else "")
        filters_box = QGroupBox(f"Filters of layer {self.view.conv_indices[0]} ({count})")
        QVBoxLayout(filters_box).addWidget(self.filters_picture)
        left.addWidget(filters_box)
        left.addStretch(1)
        maps = QWidget()
        grid = QGridLayout(maps)
        self.map_pictures = []
        for number, index in enumerate(self.view.conv_indices):
            box = QGroupBox(objectName=f"featureMapsLayer{index}")
            picture = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
            QVBoxLayout(box).addWidget(picture)
            grid.addWidget(box, number // 2, number % 2)
            self.map_pictures.append((box, picture))
        grid.setRowStretch(grid.rowCount(), 1)
        scroll = QScrollArea(widgetResizable=True)
        scroll.setWidget(maps)
        row = QHBoxLayout()
        row.addLayout(left)
        row.addWidget(scroll, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(row, 1)
        layout.addWidget(self.caption)

    # -- updates --------------------------------------------------------------------------------

    def offer_weights(self, weights: dict | None) -> bool:
        """A run's snapshot: taken (and drawn) when the dialog is shown and the last update
        was at least half a second ago; returns whether it was."""
        if not weights or not self.isVisible() or not self.limit.ready():
            return False
        self.show_weights(weights)
        return True

    def show_weights(self, weights: dict) -> None:
        """Draw these weights now (the end of a run, an epoch on the timeline)."""
        started = time.perf_counter()
        try:
            self.view.set_weights(weights)
        except ValueError:  # another network's weights (edited since): keep what is shown
            return
        self.redraw()
        self.updates += 1
        self.update_seconds += time.perf_counter() - started

    def redraw(self, new_sample: bool = False) -> None:
        index = self.sample_box.value()
        shown = self.shown = self.view.compute(self.samples[index])
        if new_sample:  # not on every weights update: the sample stays the same
            self.sample_label.setText(self._sample_words(index))
            self.sample_picture.setPixmap(_pixmap(_sample_picture(shown.sample), SAMPLE_SIZE))
        self.filters_picture.setPixmap(_pixmap(_filters_tile(shown.filters), FILTERS_SIZE))
        for (box, picture), layer in zip(self.map_pictures, shown.layers, strict=True):
            more = f", the first {MAX_MAPS} shown" if len(layer.maps) > MAX_MAPS else ""
            box.setTitle(f"Layer {layer.label}: {layer.maps.shape[1]}×{layer.maps.shape[2]}{more}")
            picture.setPixmap(_pixmap(tile(layer.maps), MAPS_SIZE))

    def _sample_words(self, index: int) -> str:
        label = None if self.labels is None else self.labels[index]
        if label is None or np.ndim(label):  # no labels, or regression targets
            return f"Training sample {index}"
        names = self.class_names
        name = names[int(label)] if names is not None and label < len(names) else str(label)
        return f"Training sample {index}: {name}"
