"""The Evaluate tab's example views: images as a grid of tiles, anything else as a table.

What they show (predictions, probabilities, mistakes, saliency) is computed by
``nnstudio.project.evaluation``; these functions and widgets only lay it out.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QStackedWidget

from nnstudio.ui.colors import class_label
from nnstudio.ui.widgets.image_gallery import (
    ImageGrid,
    Tile,
    saliency_overlay,
    scrolling,
    to_display_rgb,
)
from nnstudio.ui.widgets.table_preview import ColumnTable


def probability_text(probabilities, class_names) -> str:
    ranked = np.argsort(-probabilities, kind="stable")
    return "\n".join(
        f"{class_label(class_names, int(k))}: {100 * probabilities[k]:.1f} %" for k in ranked[:10]
    )


def example_tiles(result, indices, class_names, saliency=None) -> list[Tile]:
    """Image tiles: "true → predicted p %" captions, probability bars, optional saliency."""
    indices = np.asarray(indices, dtype=np.intp).reshape(-1)
    if indices.size == 0:
        return []
    rgb = to_display_rgb(result["x"][indices])
    tiles = []
    for position, index in enumerate(indices):
        true, pred = int(result["y_true"][index]), int(result["y_pred"][index])
        probabilities = result["probabilities"][index]
        image = rgb[position]
        if saliency is not None:
            image = saliency_overlay(image, saliency[position])
        name = class_label(class_names, pred)
        caption = (
            f"{name} {100 * probabilities[pred]:.0f}%"
            if true == pred
            else f"{class_label(class_names, true)}→{name} {100 * probabilities[pred]:.0f}%"
        )
        tip = (
            f"Sample {int(index)} of the {result['split']} split\n"
            f"true: {class_label(class_names, true)}, predicted: {name}\n\n"
            + probability_text(probabilities, class_names)
            + "\n\nClick to see the math: this sample's forward and backward pass"
        )
        tiles.append(
            Tile(
                image,
                caption,
                "#202020" if true == pred else "#b00020",
                tip,
                probabilities,
                marked_class=true,
            )
        )
    return tiles


def example_columns(result, indices, class_names, feature_names) -> list:
    """Table columns: the sample's features, true and predicted class, and the probabilities.
    No samples (a model without a mistake) is an empty table, not a reshape of nothing."""
    indices = np.asarray(indices, dtype=np.intp).reshape(-1)
    if indices.size == 0:
        return []
    x = np.asarray(result["x"])[indices].reshape(len(indices), -1)
    features = [
        (feature_names[i] if feature_names and i < len(feature_names) else f"x{i + 1}", x[:, i])
        for i in range(min(x.shape[1], 40))
    ]
    probabilities = result["probabilities"][indices]
    columns = [
        ("sample", np.asarray(indices)),
        ("true", [class_label(class_names, int(v)) for v in result["y_true"][indices]]),
        ("predicted", [class_label(class_names, int(v)) for v in result["y_pred"][indices]]),
    ]
    columns += [
        (f"P({class_label(class_names, k)})", probabilities[:, k])
        for k in range(probabilities.shape[1])
    ]
    return columns + features


class ExamplesView(QStackedWidget):
    """Images as a grid, anything else as a table — whichever suits the data.

    ``example_chosen(sample index)``: a tile was clicked or a table row double-clicked (the
    window opens "See the math" on that sample)."""

    example_chosen = Signal(int)

    def __init__(self, empty_text: str, parent=None):
        super().__init__(parent)
        self.grid = ImageGrid(image_size=56)
        self.grid.set_empty_text(empty_text)
        self.table = ColumnTable()
        self.table.setToolTip("Double-click a row to see the math for that sample")
        self.addWidget(scrolling(self.grid))
        self.addWidget(self.table)
        self._indices = np.zeros(0, np.intp)
        self.grid.tile_clicked.connect(self._on_tile_clicked)
        self.table.doubleClicked.connect(self._on_row_double_clicked)

    def _on_tile_clicked(self, position: int) -> None:
        if 0 <= position < len(self._indices):
            self.example_chosen.emit(int(self._indices[position]))

    def _on_row_double_clicked(self, index) -> None:
        row = self.table.proxy.mapToSource(index).row()
        if 0 <= row < len(self._indices):
            self.example_chosen.emit(int(self._indices[row]))

    def show_examples(self, result, indices, dataset, saliency=None) -> None:
        self._indices = np.asarray(indices, dtype=np.intp).reshape(-1)
        if dataset.is_image:
            self.grid.set_tiles(example_tiles(result, indices, dataset.class_names, saliency))
            self.setCurrentIndex(0)
        else:
            self.table.set_columns(
                example_columns(result, indices, dataset.class_names, dataset.feature_names)
            )
            self.setCurrentIndex(1)

    def clear(self) -> None:
        self._indices = np.zeros(0, np.intp)
        self.grid.set_tiles([])
        self.table.set_columns([])
        self.setCurrentIndex(0)

    def example_count(self) -> int:
        if self.currentIndex() == 0:
            return len(self.grid.tiles())
        return self.table.source.rowCount()
