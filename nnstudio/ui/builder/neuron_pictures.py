"""The pictures of the network diagram and its neuron dialog, in TensorFlow Playground's
colours: a unit's output over the input plane (orange negative, white 0, blue positive) and
the gradient-flow scale of the weights' |dL/dW|."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QColor, QImage

POSITIVE = QColor("#0877BD")  # the Playground's colours: blue for +, orange for -
NEGATIVE = QColor("#F59322")
WHITE_RGB = (255, 255, 255)


def diverging_image(values: np.ndarray) -> QImage:
    """Orange (negative) → white (0) → blue (positive), scaled by the largest magnitude."""
    scale = float(np.max(np.abs(values))) or 1.0
    t = np.clip(values / scale, -1.0, 1.0)[..., None]
    white = np.array(WHITE_RGB, dtype=np.float32)
    blue = np.array(POSITIVE.getRgb()[:3], dtype=np.float32)
    orange = np.array(NEGATIVE.getRgb()[:3], dtype=np.float32)
    rgb = np.where(t >= 0, white + t * (blue - white), white - t * (orange - white))
    height, width = values.shape
    rgba = np.empty((height, width, 4), dtype=np.uint8)
    rgba[..., :3] = np.clip(rgb, 0, 255).astype(np.uint8)
    rgba[..., 3] = 255
    image = QImage(rgba.data, width, height, 4 * width, QImage.Format.Format_RGBA8888)
    return image.copy()  # own the pixels: the numpy buffer goes away


GRADIENT = QColor(118, 42, 131)  # purple: a colour the weights' blue and orange do not use
GRADIENT_DECADES = 4  # |dL/dW| shown over four powers of ten below the largest


def gradient_strengths(gradients: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """|dL/dW| of every weight matrix on one log scale for all layers, in [0, 1]: 1 is the
    largest gradient of the network, 0 is ``GRADIENT_DECADES`` powers of ten below it."""
    magnitudes = {
        name: np.abs(np.nan_to_num(g.astype(np.float64))) for name, g in gradients.items()
    }
    largest = max((float(m.max(initial=0.0)) for m in magnitudes.values()), default=0.0)
    if largest <= 0:
        return {name: np.zeros_like(m) for name, m in magnitudes.items()}
    floor = largest * 10.0**-GRADIENT_DECADES
    return {
        name: np.clip(np.log10(np.maximum(m, floor) / floor) / GRADIENT_DECADES, 0.0, 1.0)
        for name, m in magnitudes.items()
    }
