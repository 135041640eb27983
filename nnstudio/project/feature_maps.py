"""Feature maps of an image model: what its convolutions see in one sample (Qt-free).

As ConvNetJS shows them: the first convolution's filters (its learned k×k kernels) and, for
one sample, every convolution layer's output maps, one small picture per filter. Computed on
a model of its own (the window's run trains another), which takes the weights of the run's
snapshots at a bounded rate, so following a run costs it almost nothing::

    view = FeatureMapView(model)            # a copy: the model passed in is never changed
    view.set_weights(snapshot["weights"])  # the run's latest weights
    shown = view.compute(x_train[7])        # FeatureMaps: .filters, .layers[i].maps
    picture = tile(shown.layers[0].maps)   # one grey image, a map per cell

The maps are the engine's own conv layer outputs (after the layer's activation), in
evaluation mode.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nnstudio.engine.layers.conv import Conv2D
from nnstudio.engine.model import Sequential

#: Updates while a run trains: at most this many a second (a run's snapshots come at 5).
UPDATES_PER_SECOND = 2.0
#: Maps of a layer shown at most (a Conv2D(256) would be a wall of tiny pictures).
MAX_MAPS = 64


class NoConvolution(ValueError):
    """The model has no Conv2D layer: it has no feature maps to show."""


@dataclass
class LayerMaps:
    index: int  # the layer's place in the model
    label: str  # "0 Conv2D (8 filters, 3×3, relu)"
    maps: np.ndarray  # (filters, height, width): this sample's output, one map per filter


@dataclass
class FeatureMaps:
    sample: np.ndarray  # the input as the model takes it: (channels, height, width)
    filters: np.ndarray  # the first convolution's weights: (filters, channels, k, k)
    layers: list[LayerMaps]


def conv_layer_indices(model) -> list[int]:
    return [index for index, layer in enumerate(model.layers) if isinstance(layer, Conv2D)]


def _label(index: int, layer: Conv2D) -> str:
    k = layer.kernel_size
    return f"{index} Conv2D ({layer.filters} filters, {k}×{k}, {layer.activation})"


class FeatureMapView:
    """A private copy of ``model`` and what its convolutions make of a sample."""

    def __init__(self, model):
        self.conv_indices = conv_layer_indices(model)
        if not self.conv_indices:
            raise NoConvolution(
                "This network has no Conv2D layer: feature maps are what a convolution "
                "makes of an image. Add a Conv2D layer (or open the mnist-cnn preset)."
            )
        self.model = Sequential.from_config(model.config(), dtype=model.dtype)
        self.model.load_state_dict(model.state_dict())

    def set_weights(self, weights: dict) -> None:
        """The run's latest weights (a snapshot's "weights"); buffers keep their values."""
        self.model.load_state_dict({**self.model.state_dict(), **weights})

    def filters(self) -> np.ndarray:
        return np.array(self.model.layers[self.conv_indices[0]].params["W"])

    def compute(self, sample: np.ndarray) -> FeatureMaps:
        """The maps of every conv layer for one ``sample`` (shaped as the model's input)."""
        x = np.asarray(sample, dtype=self.model.dtype)[None]
        last = self.conv_indices[-1]
        found = []
        for index, layer in enumerate(self.model.layers[: last + 1]):
            x = layer.forward(x, False)
            if index in self.conv_indices:
                found.append(LayerMaps(index, _label(index, layer), x[0].copy()))
        return FeatureMaps(np.asarray(sample), self.filters(), found)


class RateLimit:
    """Whether an update may run now: at most ``per_second`` of them (the first at once)."""

    def __init__(self, per_second: float = UPDATES_PER_SECOND, clock: Callable = time.monotonic):
        self.interval, self.clock = 1.0 / per_second, clock
        self._last: float | None = None

    def ready(self) -> bool:
        now = self.clock()
        if self._last is not None and now - self._last < self.interval:
            return False
        self._last = now
        return True


def scaled(image: np.ndarray) -> np.ndarray:
    """``image`` stretched to [0, 1] by its own minimum and maximum (a flat one: all 0)."""
    image = np.asarray(image, dtype=np.float64)
    low, high = float(image.min()), float(image.max())
    if not high > low:
        return np.zeros_like(image)
    return (image - low) / (high - low)


def tile(pictures: np.ndarray, gap: int = 1, zoom: int = 1) -> np.ndarray:
    """(n, h, w) pictures in a near-square grid, each scaled to [0, 1] on its own, with
    ``gap`` pixels of NaN between them and in empty cells (drawn in a colour no map has): one
    (H, W) image to draw at once. ``zoom`` repeats each pixel first, so the gaps stay thin
    lines between big pixels (a 3 × 3 filter). All at once, no loop over the maps: it runs
    on the window's thread while a run trains."""
    pictures = np.asarray(pictures, dtype=np.float64)[:MAX_MAPS]
    pictures = pictures.repeat(zoom, axis=1).repeat(zoom, axis=2)
    count, height, width = pictures.shape
    low = pictures.min(axis=(1, 2), keepdims=True)
    span = pictures.max(axis=(1, 2), keepdims=True) - low
    flat = span <= 0  # a map with one value throughout: all 0
    scaled_maps = np.where(flat, 0.0, (pictures - low) / np.where(flat, 1.0, span))
    columns = math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    cells = np.full((rows * columns, height + gap, width + gap), np.nan)
    cells[:count, :height, :width] = scaled_maps
    grid = cells.reshape(rows, columns, height + gap, width + gap).transpose(0, 2, 1, 3)
    grid = grid.reshape(rows * (height + gap), columns * (width + gap))
    return grid[: grid.shape[0] - gap, : grid.shape[1] - gap]


def filter_pictures(filters: np.ndarray) -> np.ndarray:
    """The filters as (n, k, k) grey pictures: one channel as it is; several (an RGB image's
    three) averaged, since a grey picture cannot show three at once."""
    return np.asarray(filters).mean(axis=1)
