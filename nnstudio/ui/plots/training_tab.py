"""The Training tab: the live curves (``TrainingPlots``) on the left; the decision boundary
and the weight histograms on the right; export buttons on top."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from nnstudio.ui import style
from nnstudio.ui.plots import training_plots
from nnstudio.ui.plots.training_plots import HISTOGRAM_SECONDS, TrainingPlots

WAITING_CAPTION = "Press Train (Space) to start."


class TrainingTab(QWidget):
    """The Training tab: curves on the left; decision boundary and weight histograms on the
    right; export buttons on top. Snapshots arriving while the tab is hidden are kept and drawn
    when it is shown, so a hidden tab costs nothing."""

    def __init__(self, parent=None, health=None):
        from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSplitter, QVBoxLayout

        from nnstudio.ui.panels.health import HealthPanel
        from nnstudio.ui.plots.decision_boundary import DecisionBoundaryView
        from nnstudio.ui.plots.histograms import WeightHistograms
        from nnstudio.ui.plots.timeline_slider import TimelineBar

        super().__init__(parent)
        self.plots = TrainingPlots()
        self.boundary = DecisionBoundaryView()
        self.histograms = WeightHistograms()
        # The training doctor's rows and warnings: cleared with each run here, shown by the
        # window in a dock of its own (beside Runs), where it has room on a 768-pixel screen.
        # The window makes that panel itself (its dock shows before this tab is made).
        self.health = health if health is not None else HealthPanel()
        self._pending_snapshot = None
        self._pending_histograms = None  # (histograms, final): kept until drawn
        self._histograms_drawn = -1e9
        self.png_button = QPushButton(style.icon("export"), "Export PNG…")
        self.png_button.setToolTip("Save the four training plots as one PNG image.")
        self.csv_button = QPushButton(style.icon("csv"), "Export CSV…")
        self.csv_button.setToolTip(
            "Save the per-epoch history (loss, accuracy, learning rate, "
            "gradient norms) as a CSV table for a spreadsheet."
        )
        self.explain_button = QPushButton("See the math…")
        self.explain_button.setObjectName("explainSampleButton")
        self.explain_button.setToolTip(
            "Follow one training sample through the network: each layer's z and a, the loss, "
            "the backward pass and what the optimizer would change, with the real numbers."
        )
        self.caption = QLabel(WAITING_CAPTION)
        self.caption.setObjectName("sectionTitle")
        top = QHBoxLayout()
        top.addWidget(self.caption, 1)
        top.addWidget(self.explain_button)
        top.addWidget(self.png_button)
        top.addWidget(self.csv_button)
        side = QSplitter(Qt.Orientation.Vertical)
        side.addWidget(self.boundary)
        side.addWidget(self.histograms)
        side.setStretchFactor(0, 3)
        side.setStretchFactor(1, 2)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.plots)
        self.splitter.addWidget(side)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 10)
        layout.setSpacing(6)
        layout.addLayout(top)
        layout.addWidget(self.splitter, 1)
        # Under the plots: scrub back through the run's epochs (the window wires it).
        self.timeline = TimelineBar()
        layout.addWidget(self.timeline)

    def set_dataset(self, dataset) -> None:
        two_d = tuple(dataset.input_shape) == (2,)
        self.boundary.setVisible(two_d)
        if two_d:
            self.boundary.set_dataset(dataset)
        self.plots.set_task(dataset.task)

    def new_run(self) -> None:
        """Nothing trained yet: empty curves, bars and health rows, and no run named."""
        self.plots.clear()
        self.histograms.reset()
        self.health.clear()
        self._pending_snapshot = self._pending_histograms = None
        self.caption.setText(WAITING_CAPTION)

    def new_project(self) -> None:
        """Another project: not even the old network's layer plots or boundary stay."""
        self.new_run()
        self.histograms.clear()
        self.boundary.image.clear()

    def apply_snapshot(self, snapshot: dict) -> None:
        """Draw a worker snapshot (now if the tab is visible, else when it is shown). Only some
        snapshots carry histograms; the last ones that did are kept until drawn."""
        self._pending_snapshot = snapshot
        if snapshot.get("histograms") is not None:
            self._pending_histograms = (snapshot["histograms"], bool(snapshot.get("final")))
        if self.isVisible():
            self._draw_snapshot()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self._draw_snapshot()

    def _draw_snapshot(self) -> None:
        snapshot, self._pending_snapshot = self._pending_snapshot, None
        boundary = snapshot.get("boundary") if snapshot is not None else None
        if boundary is not None and not self.boundary.isHidden():
            self.boundary.set_boundary(boundary)
        if self._pending_histograms is None:
            return
        # Histograms change slowly and cost a repaint of several small plots: every 2 s.
        histograms, final = self._pending_histograms
        now = training_plots._now()  # the module's clock, which tests replace
        if now - self._histograms_drawn >= HISTOGRAM_SECONDS or final:
            self._histograms_drawn = now
            self._pending_histograms = None
            self.histograms.set_histograms(histograms)
