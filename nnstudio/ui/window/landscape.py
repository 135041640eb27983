"""LandscapeController: Training → Loss landscape… opens the LandscapeDialog on a copy of the
model, the evaluation split of the dataset and the current run's path (its timeline)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nnstudio.project.evaluation import evaluation_split
from nnstudio.ui.widgets.show_dialog import show_in_front
from nnstudio.ui.window.actions import add_menu_action

if TYPE_CHECKING:  # the dialog (and pyqtgraph) loads when it first opens
    from nnstudio.ui.panels.landscape_dialog import LandscapeDialog


class LandscapeController:
    """``window`` is the parent of the dialog and its menu; ``document`` holds the runs whose
    paths are drawn; ``inspector`` gives the model copy and the loss."""

    def __init__(self, window, document, inspector):
        self.window, self.document, self.inspector = window, document, inspector
        self.dialog: LandscapeDialog | None = None
        add_menu_action(
            window,
            window.training_menu,
            "actionLossLandscape",
            "Loss landscape…",
            "The loss on a 2-D slice around the weights, with the run's path over the epochs",
            self.open,
        )

    def open(self) -> LandscapeDialog | None:
        ready = self.inspector.dataset_and_model("the landscape is that network's loss on it.")
        if ready is None:
            return None
        from nnstudio.ui.panels.landscape_dialog import LandscapeDialog

        dataset, model = ready
        epoch = self.inspector.load_shown_epoch(model)  # centred where the timeline is
        _split, x, y = evaluation_split(dataset)
        if not len(x):
            x, y = dataset.x_train, dataset.y_train
        if self.dialog is not None:
            self.dialog.close()
        self.dialog = LandscapeDialog(
            model,
            self.inspector.project_loss(),
            x,
            y,
            self._path(),
            self._other_paths(model),
            self.window,
        )
        if epoch is not None:
            self.dialog.setWindowTitle(f"{self.dialog.windowTitle()} — epoch {epoch}")
        show_in_front(self.dialog)
        return self.dialog

    def _path(self) -> list[tuple[int, dict]]:
        return _run_path(self.document.current_run)

    def _other_paths(self, model) -> list[tuple[str, list]]:
        """The other runs of this network (same weight names and shapes), each with its
        path: SGD's, momentum's and Adam's paths on the same slice, say."""
        shapes = {name: value.shape for name, value in model.parameters().items()}
        current, others = self.document.current_run, []
        for run in self.document.runs:
            path = _run_path(run) if run is not current else []
            if path and all(
                name in path[-1][1] and path[-1][1][name].shape == shape
                for name, shape in shapes.items()
            ):
                others.append((_describe(run), path))
        return others


def _run_path(run) -> list[tuple[int, dict]]:
    timeline = getattr(run, "timeline", None) if run is not None else None
    if not timeline:
        return []
    return [(epoch, timeline.get(epoch).weights) for epoch in timeline.epochs()]


def _describe(run) -> str:
    settings = run.settings or {}
    optimizer, rate = settings.get("optimizer", ""), settings.get("learning_rate")
    return f"{run.label} ({optimizer}{f', lr {rate:g}' if isinstance(rate, float) else ''})"
