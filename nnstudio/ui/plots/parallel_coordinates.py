"""ParallelCoordinatesPlot: a sweep's trials as lines across one vertical axis per setting and
a last axis for the metric, so the settings that lead to good trials line up.

Each axis is scaled to its own range (numbers on a log scale when they span more than a
decade, as learning rates do; words in the order first seen); a line's colour goes from grey
(worst) to the accent colour (best), and the best trial is drawn thickest, on top.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg

from nnstudio.ui import style


def _positions(values: list) -> tuple[list[float], list[tuple[float, str]]]:
    """Values → heights in [0, 1] and the axis's tick labels."""
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    if not numeric:
        words = list(dict.fromkeys(str(v) for v in values))
        step = 1.0 / max(1, len(words) - 1)
        heights = [words.index(str(v)) * step if len(words) > 1 else 0.5 for v in values]
        return heights, [(i * step if len(words) > 1 else 0.5, w) for i, w in enumerate(words)]
    numbers = np.asarray(values, float)
    low, high = float(numbers.min()), float(numbers.max())
    logarithmic = low > 0 and high / low > 10
    scaled = np.log10(numbers) if logarithmic else numbers
    span = float(scaled.max() - scaled.min()) or 1.0
    heights = list((scaled - scaled.min()) / span) if high > low else [0.5] * len(values)
    ticks = [(h, f"{v:.3g}") for h, v in sorted(set(zip(heights, values, strict=True)))]
    return heights, ticks


class ParallelCoordinatesPlot(pg.PlotWidget):
    """``set_trials(names, records, metric)``: one line per finished trial (records as
    ``nnstudio sweep --json`` prints them)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("parallelCoordinates")
        self.setMenuEnabled(False)
        self.setMouseEnabled(False, False)
        self.hideAxis("left")
        self.lines: list = []
        self.best_line = None

    def set_trials(self, names: list[str], records: list[dict], metric: str) -> None:
        self.clear()
        self.lines, self.best_line = [], None
        scored = [r for r in records if (r.get("metrics") or {}).get(metric) is not None]
        if not scored or not names:
            return
        columns = [[r["settings"].get(n) for r in scored] for n in names]
        scores = [r["metrics"][metric] for r in scored]
        heights, axis_ticks = zip(
            *(_positions(column) for column in (*columns, scores)), strict=True
        )
        self._draw_axes([*names, metric], axis_ticks)
        self._draw_lines(np.array(heights, float).T, scores, metric)

    def _draw_axes(self, labels: list[str], axis_ticks) -> None:
        for x, ticks in enumerate(axis_ticks):
            self.addItem(pg.InfiniteLine(pos=x, angle=90, pen=pg.mkPen("#888", width=1)))
            for height, text in ticks:
                label = pg.TextItem(text, color="#666", anchor=(0, 0.5))
                label.setPos(x + 0.03, height)
                self.addItem(label)
        self.getAxis("bottom").setTicks([list(enumerate(labels))])
        self.setXRange(-0.2, len(labels) - 0.6, padding=0)
        self.setYRange(-0.08, 1.08, padding=0)

    def _draw_lines(self, heights: np.ndarray, scores: list[float], metric: str) -> None:
        higher_is_better = metric.endswith("accuracy")
        low, high = min(scores), max(scores)
        best = int(np.argmax(scores) if higher_is_better else np.argmin(scores))
        xs = np.arange(heights.shape[1], dtype=float)
        for index, row in enumerate(heights):
            share = (scores[index] - low) / (high - low) if high > low else 1.0
            quality = share if higher_is_better else 1.0 - share
            color = pg.mkColor(style.TRAIN_COLOR)
            color.setAlphaF(0.25 + 0.6 * quality)
            width = 3 if index == best else 1.5
            line = self.plot(xs, row, pen=pg.mkPen(color, width=width))
            line.setZValue(2 if index == best else 1 + quality)
            self.lines.append(line)
        self.best_line = self.lines[best]
        if not math.isfinite(low):  # no usable scores: nothing to mark
            self.best_line = None
