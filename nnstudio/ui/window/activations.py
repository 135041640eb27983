"""ActivationController: Training → Activation functions…, and the doctor's dead and saturated
warnings' "See the activation…", open the ActivationDialog on a copy of the model with a batch
of training samples."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nnstudio.ui.widgets.show_dialog import show_in_front
from nnstudio.ui.window.actions import add_menu_action

if TYPE_CHECKING:  # the dialog (and pyqtgraph) loads when it first opens
    from nnstudio.ui.panels.activation_dialog import ActivationDialog


class ActivationController:
    def __init__(self, window, inspector):
        self.window, self.inspector = window, inspector
        self.dialog: ActivationDialog | None = None
        add_menu_action(
            window,
            window.training_menu,
            "actionActivations",
            "Activation functions…",
            "Each layer's activation and its slope, with a batch's pre-activations on them",
            self.open,
        )
        window.health_panel.activation_requested.connect(self.open_for)

    def open_for(self, layer_name: str) -> ActivationDialog | None:
        """For a warning about layer "1 Dense": that layer first."""
        head = layer_name.split(" ", 1)[0]
        return self.open(int(head) if head.isdigit() else None)

    def open(self, layer: int | None = None) -> ActivationDialog | None:
        ready = self.inspector.dataset_and_model("the activations are its training samples'.")
        if ready is None:
            return None
        dataset, model = ready
        epoch = self.inspector.load_shown_epoch(model)  # the timeline's, as the diagram's
        if self.dialog is not None:
            self.dialog.close()
        from nnstudio.ui.panels.activation_dialog import ActivationDialog

        self.dialog = ActivationDialog(model, dataset.x_train, layer, parent=self.window)
        if epoch is not None:
            self.dialog.setWindowTitle(f"{self.dialog.windowTitle()} — epoch {epoch}")
        show_in_front(self.dialog)
        return self.dialog
