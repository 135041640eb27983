"""SweepController: Training → Sweep… in the window. It opens the sweep dialog on the project as
it stands, adds one run per finished trial to the document (so the Runs dock lists, sorts and
overlays them like any run), and "Open best" puts the best trial's settings into the project
through the undoable builder and the document's setters, as the user's own edits would.
"""

from __future__ import annotations

from PySide6.QtGui import QAction

from nnstudio.project import DatasetSpec
from nnstudio.project.runs import STATUS_WORDS


class SweepController:
    def __init__(self, window, document):
        self.window, self.document = window, document  # the window: the dialog's parent
        self.builder, self.show_message = window.builder, window.show_message
        self.dialog = None
        self.lessons = None  # made after this controller: see connect_lessons
        window.actionSweep = action = QAction("Sweep…", window)
        action.setObjectName("actionSweep")
        action.setStatusTip("Train a grid of settings on every core and compare the trials")
        action.triggered.connect(self.open_dialog)
        window.training_menu.addAction(action)

    def connect_lessons(self, lessons) -> None:
        """The lessons controller, whose search lessons count a sweep's trials as runs."""
        self.lessons = lessons

    def open_dialog(self, workers: int | None = None):
        from nnstudio.ui.panels.sweep_dialog import SweepDialog

        if self.dialog is not None and self.dialog.isVisible():
            self.dialog.raise_()
            return self.dialog
        self.dialog = dialog = SweepDialog(self.document.to_project(), self.window, workers)
        dialog.trial_finished.connect(self.add_run)
        dialog.open_best.connect(self.open_best)
        dialog.show()
        return dialog

    def add_run(self, record: dict, trial: dict | None) -> None:
        if trial is None:
            return
        project = trial["project"]
        status = (record.get("metrics") or {}).get("stopped_reason", "failed")
        run = self.document.add_finished_run(
            project["dataset"]["name"],
            project["model"],
            project["training"],
            record.get("history") or [],
            status if status in STATUS_WORDS else "completed",
        )
        if self.lessons is not None:  # a search lesson counts the trials
            self.lessons.record_trial(run, project["dataset"]["options"])

    def open_best(self, trial: dict) -> None:
        project = trial["project"]
        if project["model"]["layers"] != self.document.model.get("layers"):
            self.builder.replace_layers(project["model"]["layers"], "Open best trial")
        dataset = project["dataset"]
        if dataset["options"] != self.document.dataset.options:
            name = self.document.dataset.name  # the document's own (maybe relative) path
            self.document.set_dataset(DatasetSpec(name, dict(dataset["options"])))
        self.document.set_training(project["training"])
        settings = ", ".join(f"{k}={v}" for k, v in trial["settings"].items())
        self.show_message(f"Opened the best trial's settings: {settings}.", "info")
