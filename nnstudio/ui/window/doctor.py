"""DoctorController: the training doctor in the window — the Training tab's health panel fed
from the current run's epoch reports, its one-click fixes, and the "Find learning rate…" dialog.

The numbers and words come from the training thread (nnstudio/project/doctor.py, inside the
epoch reports the session sends); this controller follows the document's run updates, so the
training controller needs no change. Fixes go through the undoable builder API and the
Hyperparameters dock, like the user's own edits.
"""

from __future__ import annotations

import copy

from PySide6.QtGui import QAction

from nnstudio.project.problems import Edit, Fix

SQUASHING = ("sigmoid", "tanh")


def activation_edits(layers: list[dict], old: tuple[str, ...], new: str) -> list[Edit]:
    """Edits that give every layer with an ``old`` activation the ``new`` one: Dense/Conv2D's
    ``activation``, Activation's ``function``, and standalone Sigmoid/Tanh/ReLU layers replaced."""
    standalone = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "ReLU"}
    replacement = {"relu": "ReLU", "leaky_relu": "LeakyReLU"}[new]
    edits: list[Edit] = []
    for index, layer in enumerate(layers):
        if layer.get("activation") in old:
            edits.append(Edit("set", index, name="activation", value=new))
        elif layer.get("type") == "Activation" and layer.get("function") in old:
            edits.append(Edit("set", index, name="function", value=new))
        elif layer.get("type") in {standalone[name] for name in old if name in standalone}:
            edits += [Edit("remove", index), Edit("insert", index, layer={"type": replacement})]
    return edits


def dropout_edit(layers: list[dict]) -> Edit | None:
    """Dropout before the last layer (where it regularises most), unless one is there."""
    if len(layers) < 2 or layers[-2].get("type") == "Dropout":
        return None
    return Edit("insert", len(layers) - 1, layer={"type": "Dropout", "rate": 0.3})


class DoctorController:
    """Feeds ``window.training_tab.health`` and carries out its fix buttons."""

    def __init__(self, window, document):
        self.window = window
        self.document = document
        self.panel = window.training_tab.health
        self.dialog = None
        self._seen_trouble: set = set()  # (kind, layer) of the warnings shown last
        self.panel.fix_requested.connect(self.apply_fix)
        window.training_finished.connect(self._on_training_finished)
        document.subscribe(self._on_document_event)
        window.actionFindLearningRate = action = QAction("Find learning rate…", window)
        action.setObjectName("actionFindLearningRate")
        action.setStatusTip("Run the learning-rate range test on a copy of the network")
        action.triggered.connect(self.open_lr_finder)
        window.training_menu.addSeparator()
        window.training_menu.addAction(action)

    # -- following the run ----------------------------------------------------------------------

    def _on_document_event(self, event: str, *args) -> None:
        if event == "run_updated" and args and args[0] is self.document.current_run:
            history = args[0].history
            if history:
                self.panel.show_epoch(history[-1])
                self._bring_forward_new_trouble(history[-1].get("warnings") or [])

    def _bring_forward_new_trouble(self, warnings: list[dict]) -> None:
        """A new kind of warning raises the Layer health dock over the Runs dock, once."""
        kinds = {(w.get("kind"), w.get("layer")) for w in warnings}
        if kinds - self._seen_trouble:
            self.window.health_dock.raise_()
        self._seen_trouble = kinds

    def _on_training_finished(self, result: dict) -> None:
        """A blow-up has no epoch report: its warning comes with the result."""
        if result.get("warnings"):
            self.panel.set_warnings(result["warnings"])

    # -- the fixes ------------------------------------------------------------------------------

    def apply_fix(self, action: str, _warning: dict | None = None) -> None:
        handlers = {
            "switch_to_relu": lambda: self._switch_activation(SQUASHING, "relu", "Switch to ReLU"),
            "switch_to_leaky_relu": lambda: self._switch_activation(
                ("relu",), "leaky_relu", "Switch to LeakyReLU"
            ),
            "halve_lr": lambda: self._scale_rate(0.5),
            "raise_lr": lambda: self._scale_rate(10.0),
            "halve_lr_and_train": self._halve_and_train,
            "add_dropout": self._add_dropout,
            "early_stopping": self._early_stopping,
            "find_lr": self.open_lr_finder,
        }
        handlers[action]()

    def _push(self, label: str, edits) -> None:
        edits = [edit for edit in edits if edit is not None]
        if edits:
            self.window.builder.apply_fix(Fix(label, tuple(edits)))  # one undoable step

    def _switch_activation(self, old, new: str, label: str) -> None:
        self._push(label, activation_edits(self.window.builder.config()["layers"], old, new))

    def _add_dropout(self) -> None:
        self._push("Add Dropout", [dropout_edit(self.window.builder.config()["layers"])])

    def _scale_rate(self, factor: float) -> None:
        box = self.window.hyperparameters.learning_rate_box
        box.setValue(float(f"{box.value() * factor:.3g}"))

    def _halve_and_train(self) -> None:
        """After a NaN the model holds the last good weights: halve the rate and go on."""
        self._scale_rate(0.5)
        self.panel.set_warnings([])
        self.window.training.train()

    def _early_stopping(self) -> None:
        self.window.hyperparameters.early_box.setChecked(True)

    # -- the LR finder --------------------------------------------------------------------------

    def open_lr_finder(self) -> None:
        """The range test on copies of the idle model and optimizer, on a worker thread."""
        from nnstudio.ui.panels.lr_finder_dialog import LRFinderDialog

        window, model, dataset = self.window, self.window.models.model, self.window.models.dataset
        if model is None or dataset is None:
            window.show_message("There is no valid model to test yet.", "warning")
            return
        if window.training.session is not None:
            window.show_message(
                "Training owns the model: stop it first, then find the learning rate.", "info"
            )
            return
        project = self.document.to_project()
        try:
            loss, optimizer = project.make_loss(), project.make_optimizer()
        except ValueError as error:
            window.show_message(str(error), "error")
            return
        # Copies made here, on the GUI thread, while nothing else uses the model.
        model, x, y = copy.deepcopy(model), dataset.x_train, dataset.y_train
        batch_size, seed = project.training.batch_size, project.training.seed
        self.dialog = dialog = LRFinderDialog(window)
        dialog.rate_chosen.connect(window.hyperparameters.learning_rate_box.setValue)
        dialog.start(lambda job: _range_test(model, loss, optimizer, x, y, batch_size, seed, job))
        dialog.show()


def _range_test(model, loss, optimizer, x, y, batch_size, seed, job):
    from nnstudio.engine.fit.lr_finder import find_lr

    return find_lr(
        model, loss, optimizer, x, y, batch_size=batch_size, seed=seed, cancel=job.cancel_event
    )
