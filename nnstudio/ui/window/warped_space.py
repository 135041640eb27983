"""WarpedSpaceController: Training → Warped input space…, the WarpedSpaceDialog on a copy of
the model (while a run trains, its latest weights; with the timeline moved back, the epoch it
shows, as the diagram and the boundary do) with the training samples, for a network whose
input is a 2-D point."""

from __future__ import annotations

from nnstudio.ui.widgets.show_dialog import show_in_front
from nnstudio.ui.window.actions import add_menu_action

NOT_A_PLANE = (
    "The warped input space shows how the hidden layers bend a plane of 2-D points: pick a "
    "2-D dataset (spiral, moons, circle, xor, …)."
)
NO_HIDDEN_LAYER = (
    "This network has no hidden layer to bend the plane: add a Dense layer before the output."
)


class WarpedSpaceController:
    def __init__(self, window, inspector):
        self.window, self.inspector = window, inspector
        self.dialog = None
        add_menu_action(
            window,
            window.training_menu,
            "actionWarpedSpace",
            "Warped input space…",
            "How each hidden layer bends the input plane: a grid and the data pushed through "
            "the network, layer by layer (2-D data)",
            self.open,
        )

    def open(self):
        ready = self.inspector.dataset_and_model("the plane is its input's.")
        if ready is None:
            return None
        dataset, model = ready
        epoch = self.inspector.load_shown_epoch(model)
        if tuple(dataset.input_shape) != (2,):
            self.window.show_message(NOT_A_PLANE, "info")
            return None
        from nnstudio.project.diagram_layout import columns_for
        from nnstudio.project.warped_space import warped_space
        from nnstudio.ui.panels.warped_space_dialog import WarpedSpaceDialog

        classes = dataset.y_train if dataset.task == "classification" else None
        space = warped_space(model, columns_for(model.config()), dataset.x_train, classes)
        if len(space.stages) < 2:
            self.window.show_message(NO_HIDDEN_LAYER, "info")
            return None
        if self.dialog is not None:
            self.dialog.close()
        self.dialog = WarpedSpaceDialog(space, parent=self.window)
        if epoch is not None:
            self.dialog.setWindowTitle(f"Warped input space — epoch {epoch}")
        show_in_front(self.dialog)
        return self.dialog
