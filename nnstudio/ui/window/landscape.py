"""LandscapeController: Training → Loss landscape… opens the LandscapeDialog on a copy of the
model, the evaluation split of the dataset and the current run's path (its timeline)."""

from __future__ import annotations

from PySide6.QtGui import QAction

from nnstudio.project.evaluation import evaluation_split
from nnstudio.ui.panels.landscape_dialog import LandscapeDialog


class LandscapeController:
    def __init__(self, window, inspector):
        self.window, self.inspector = window, inspector
        self.dialog: LandscapeDialog | None = None
        window.actionLossLandscape = action = QAction("Loss landscape…", window)
        action.setObjectName("actionLossLandscape")
        action.setStatusTip(
            "The loss on a 2-D slice around the weights, with the run's path over the epochs"
        )
        action.setToolTip(action.statusTip())
        action.triggered.connect(lambda: self.open())
        window.training_menu.addAction(action)

    def open(self) -> LandscapeDialog | None:
        dataset, model = self.window.dataset, self.inspector._model_copy()
        if dataset is None or model is None:
            self.window.show_message(
                "Load a dataset and build a network first: the landscape is the loss of "
                "that network on the dataset.",
                "info",
            )
            return None
        _split, x, y = evaluation_split(dataset)
        if not len(x):
            x, y = dataset.x_train, dataset.y_train
        if self.dialog is not None:
            self.dialog.close()
        self.dialog = LandscapeDialog(
            model, self.inspector._loss(), x, y, self._path(), parent=self.window
        )
        self.dialog.show()
        return self.dialog

    def _path(self) -> list[tuple[int, dict]]:
        run = self.window.current_run
        timeline = getattr(run, "timeline", None) if run is not None else None
        if not timeline:
            return []
        return [(epoch, timeline.get(epoch).weights) for epoch in timeline.epochs()]
