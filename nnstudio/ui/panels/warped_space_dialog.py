"""WarpedSpaceDialog: how each hidden layer bends the input plane — a grid of lines and the
data points pushed through the network (nnstudio.project.warped_space), animated from the
input to the last hidden layer with a slider and Play.

Between two layers the picture moves in steps from one to the other, so the eye can follow
each grid line as it bends; a caption says which layer is shown and, for a layer wider than
two units, that it is projected to 2-D by PCA and how much of the spread that keeps.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QSlider, QVBoxLayout

from nnstudio.project.warped_space import WarpedSpace, blend
from nnstudio.ui.colors import class_color
from nnstudio.ui.plots import pg
from nnstudio.ui.widgets.dialog_size import resize_within_screen

STEPS = 20  # slider positions from one layer to the next
FRAME_MS = 40  # Play: 25 frames a second, a layer in 0.8 s


class WarpedSpaceDialog(QDialog):
    """``WarpedSpaceDialog(space)``; ``self.slider`` (0 … STEPS·(stages−1)) chooses what is
    drawn, ``self.play_button`` animates it, ``self.caption`` says what it is."""

    def __init__(self, space: WarpedSpace, parent=None):
        super().__init__(parent)
        self.setObjectName("warpedSpaceDialog")
        self.setWindowTitle("Warped input space")
        self.space = space
        self.plot = pg.PlotWidget(objectName="warpedSpacePlot")
        self.plot.showGrid(x=False, y=False)
        for side in ("bottom", "left"):
            self.plot.getAxis(side).enableAutoSIPrefix(False)
        self.grid_item = self.plot.plot(pen=pg.mkPen(120, 120, 120, 150, width=1), connect="finite")
        self.points_item = pg.ScatterPlotItem(size=5, pen=None)
        self.plot.addItem(self.points_item)
        self.slider = QSlider(Qt.Orientation.Horizontal, objectName="warpedSpaceSlider")
        self.slider.setRange(0, STEPS * (len(space.stages) - 1))
        self.slider.setToolTip("From the input plane (left) to the last hidden layer (right)")
        self.play_button = QPushButton("Play", objectName="warpedSpacePlay")
        self.play_button.setToolTip("Bend the plane layer by layer, from the input")
        self.layer_label = QLabel(objectName="warpedSpaceLayer")
        self.caption = QLabel(objectName="warpedSpaceCaption")
        self.caption.setWordWrap(True)
        self.timer = QTimer(self, interval=FRAME_MS)
        self.timer.timeout.connect(self._next_frame)
        self._lay_out()
        self.slider.valueChanged.connect(self.show_position)
        self.play_button.clicked.connect(self.toggle_play)
        self._brushes = self._point_brushes()
        self.show_position(0)
        resize_within_screen(self, 720, 620)

    def _lay_out(self) -> None:
        controls = QHBoxLayout()
        controls.addWidget(self.play_button)
        controls.addWidget(self.slider, 1)
        controls.addWidget(self.layer_label)
        layout = QVBoxLayout(self)
        layout.addWidget(self.plot, 1)
        layout.addLayout(controls)
        layout.addWidget(self.caption)

    def _point_brushes(self) -> list:
        classes = self.space.classes
        if classes is None:
            return [pg.mkBrush(60, 60, 60, 160)] * len(self.space.stages[0].points)
        colours = {c: pg.mkBrush(pg.mkColor(class_color(c))) for c in np.unique(classes)}
        return [colours[c] for c in classes]

    def stage_at(self, position: int) -> tuple[int, float]:
        """The stage a slider position starts from and how far it is towards the next."""
        stage, step = divmod(position, STEPS)
        if stage >= len(self.space.stages) - 1:
            return len(self.space.stages) - 1, 0.0
        return stage, step / STEPS

    def show_position(self, position: int) -> None:
        number, t = self.stage_at(position)
        stages = self.space.stages
        if t == 0.0:
            lines, points = stages[number].lines, stages[number].points
        else:
            lines, points = blend(stages[number], stages[number + 1], t)
        # All lines in one item, a NaN between two lines (connect="finite" breaks there).
        gap = np.full((lines.shape[0], 1, 2), np.nan)
        joined = np.concatenate([lines, gap], axis=1).reshape(-1, 2)
        self.grid_item.setData(joined[:, 0], joined[:, 1])
        self.points_item.setData(points[:, 0], points[:, 1], brush=self._brushes)
        nearest = round(number + t)
        hidden = len(stages) - 1
        where = "the input" if nearest == 0 else f"hidden layer {nearest} of {hidden}"
        self.layer_label.setText(where)
        self.caption.setText(stages[nearest].describe())

    def toggle_play(self) -> None:
        if self.timer.isActive():
            self.timer.stop()
            self.play_button.setText("Play")
            return
        if self.slider.value() >= self.slider.maximum():
            self.slider.setValue(0)  # from the start again
        self.play_button.setText("Pause")
        self.timer.start()

    def _next_frame(self) -> None:
        if self.slider.value() >= self.slider.maximum():
            self.toggle_play()
            return
        self.slider.setValue(self.slider.value() + 1)

    def done(self, result: int) -> None:
        self.timer.stop()
        super().done(result)
