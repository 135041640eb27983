"""DoctorController: the training doctor in the window — the Training tab's health panel fed
from the current run's epoch reports, its one-click fixes, and the "Find learning rate…" dialog.

The numbers and words come from the training thread (nnstudio/project/doctor.py, inside the
epoch reports the session sends); this controller follows the document's run updates, so the
training controller needs no change. Fixes go through the undoable builder API and the
document, like the user's own edits.
"""

from __future__ import annotations

import copy

from PySide6.QtGui import QAction

from nnstudio.engine.optimizers import OPTIMIZERS
from nnstudio.project.doctor_advice import REMEDIES, FixContext, offered_changes

WEIGHTS_RESET = "Weights reset: press Train for a fresh run."


class DoctorController:
    """Feeds ``window.health_panel`` and carries out its fix buttons."""

    def __init__(self, window, document, *, training, models):
        self.window = window  # the parent of its action and dialog; its menu
        self.document = document
        self.training, self.models, self.builder = training, models, window.builder
        self.show_message = window.show_message
        self.panel, self.health_dock = window.health_panel, window.health_dock
        self.dialog = None
        self._seen_trouble: set = set()  # (kind, layer) of the warnings shown last
        self.panel.fix_requested.connect(self.apply_fix)
        window.training_finished.connect(self._on_training_finished)
        document.events.run_updated.connect(self._on_run_updated)
        window.actionFindLearningRate = action = QAction("Find learning rate…", window)
        action.setObjectName("actionFindLearningRate")
        action.setStatusTip("Run the learning-rate range test on a copy of the network")
        action.triggered.connect(self.open_lr_finder)
        window.training_menu.addSeparator()
        window.training_menu.addAction(action)

    # -- following the run ----------------------------------------------------------------------

    def _on_run_updated(self, run) -> None:
        if run is self.document.current_run:
            history = run.history
            if history:
                self.panel.show_epoch(history[-1])
                self._bring_forward_new_trouble(history[-1].get("warnings") or [])

    def _bring_forward_new_trouble(self, warnings: list[dict]) -> None:
        """A new kind of warning raises the Layer health dock over the Runs dock, once."""
        kinds = {(w.get("kind"), w.get("layer")) for w in warnings}
        if kinds - self._seen_trouble:
            self.health_dock.raise_()
        self._seen_trouble = kinds

    def _on_training_finished(self, result: dict) -> None:
        """A blow-up has no epoch report: its warning comes with the result."""
        if result.get("warnings"):
            run = self.document.current_run
            reported = len(run.history) if run is not None else 0
            self.panel.show_final_warnings(result["warnings"], reported)

    # -- the fixes ------------------------------------------------------------------------------

    def apply_fix(self, action: str, warning: dict | None = None) -> None:
        """Carry out one of the doctor's fixes (project/doctor_advice.py's REMEDIES, where each
        says what it changes): its edits of the network as one undoable step, its training
        settings to the document, then fresh weights when the old ones are past repair."""
        remedy = REMEDIES[action]
        if remedy.opens == "lr_finder":
            self.open_lr_finder()
            return
        changes = offered_changes(warning, action)
        if changes is None:  # a warning made before the fix knew its values: from today's
            changes = remedy.changes(self._context())
        fix = remedy.layer_fix(self.builder.config()["layers"], changes)
        if fix is not None:
            self.builder.apply_fix(fix)  # one undoable step
        self._set_training(remedy.training_changes(changes))
        if remedy.resets_weights:
            self.panel.set_warnings([])
            self.training.reset_weights()
            self.show_message(WEIGHTS_RESET, "info")

    def _set_training(self, settings: dict) -> None:
        """Training settings go to the document (the Hyperparameters dock follows it)."""
        if settings:
            self.document.set_training({**vars(self.document.training), **settings})

    def _context(self) -> FixContext:
        training = self.document.training
        return FixContext(training.learning_rate, OPTIMIZERS.get(training.optimizer))

    # -- the LR finder --------------------------------------------------------------------------

    def open_lr_finder(self) -> None:
        """The range test on copies of the idle model and optimizer, on a worker thread: from
        fresh weights (the project's initializer and seed), or the current ones when asked."""
        from nnstudio.ui.panels.lr_finder_dialog import LRFinderDialog

        test = self._range_test(from_current=False)
        if test is None:
            return
        self.dialog = dialog = LRFinderDialog(self.window)
        dialog.rate_chosen.connect(lambda rate: self._set_training({"learning_rate": rate}))
        dialog.from_current_changed.connect(self._rerun_lr_finder)
        dialog.start(test)
        dialog.show()

    def _rerun_lr_finder(self, from_current: bool) -> None:
        test = self._range_test(from_current)
        if test is not None and self.dialog is not None:
            self.dialog.start(test)

    def _range_test(self, from_current: bool):
        """The job that runs the test, or None (with a message) when it cannot run now."""
        model, dataset = self.models.model, self.models.dataset
        if model is None or dataset is None:
            self.show_message("There is no valid model to test yet.", "warning")
            return None
        if self.training.session is not None:
            self.show_message(
                "Training owns the model: stop it first, then find the learning rate.", "info"
            )
            return None
        project = self.document.to_project()
        try:
            loss, optimizer = project.make_loss(), project.make_optimizer()
        except ValueError as error:
            self.show_message(str(error), "error")
            return None
        # Copies made here, on the GUI thread, while nothing else uses the model.
        model, x, y = copy.deepcopy(model), dataset.x_train, dataset.y_train
        settings = {
            "batch_size": project.training.batch_size,
            "seed": project.training.seed,
            "from_current": from_current,
        }
        return lambda job: _range_test(model, loss, optimizer, x, y, settings, job)


def _range_test(model, loss, optimizer, x, y, settings, job):
    from nnstudio.engine.fit.lr_finder import find_lr

    return find_lr(model, loss, optimizer, x, y, cancel=job.cancel_event, **settings)
