"""FeatureMapsController: Training → Feature maps… opens the FeatureMapsDialog on a copy of an
image model, and keeps it live: each run's weight snapshots are offered to it (it takes at
most two a second, only while shown), and the end of a run and an epoch chosen on the
timeline are drawn at once."""

from __future__ import annotations

from nnstudio.project.feature_maps import NoConvolution
from nnstudio.ui.panels.feature_maps_dialog import FeatureMapsDialog
from nnstudio.ui.window.actions import add_menu_action


class FeatureMapsController:
    def __init__(self, window, inspector):
        self.window, self.inspector = window, inspector
        self.timeline, self.models = window.timeline, window.models  # both made before it
        self.dialog: FeatureMapsDialog | None = None
        self._watched = None  # the session whose snapshots are offered
        add_menu_action(
            window,
            window.training_menu,
            "actionFeatureMaps",
            "Feature maps…",
            "An image model's first filters and one sample's maps per Conv2D layer, live",
            self.open,
        )
        window.state_changed.connect(self._follow_session)
        window.training_finished.connect(lambda _result: self._show_model())
        # The timeline's slider comes with the Training tab. This slot runs after the
        # timeline's own (it asked for the page first): its weights are chosen by then.
        window.when_page_built(
            "training",
            lambda tab: tab.timeline.slider.epoch_chosen.connect(
                lambda *_: self._show_timeline_epoch()
            ),
        )

    def open(self) -> FeatureMapsDialog | None:
        ready = self.inspector.dataset_and_model("the maps are what it makes of an image.")
        if ready is None:
            return None
        dataset, model = ready
        try:
            dialog = FeatureMapsDialog(
                model,
                dataset.x_train,
                dataset.y_train if dataset.task == "classification" else None,
                dataset.class_names,
                parent=self.window,
            )
        except NoConvolution as error:
            self.window.show_message(str(error), "info")
            return None
        if self.dialog is not None:
            self.dialog.close()
        self.dialog = dialog
        dialog.show()
        return dialog

    def shows_live_weights(self) -> bool:
        """Whether the dialog is on screen, drawing each run's weights as they come."""
        return self.dialog is not None and self.dialog.isVisible()

    def _follow_session(self, _state: str) -> None:
        session = self.window.session
        if session is self._watched:
            return
        self._watched = session
        if session is not None:
            session.weights_snapshot.connect(self._on_snapshot)

    def _on_snapshot(self, snapshot: dict) -> None:
        # While the timeline shows a past epoch, the maps stay that epoch's too.
        if self.dialog is not None and self.timeline.scrubbed_epoch is None:
            self.dialog.offer_weights(snapshot.get("weights"))

    def _show_timeline_epoch(self) -> None:
        weights = self.timeline.shown_weights
        if self.dialog is not None and self.dialog.isVisible() and weights:
            self.dialog.show_weights(weights)

    def _show_model(self) -> None:
        """The run ended: its final weights, whatever the rate limit said."""
        model = self.models.model
        if self.dialog is not None and self.dialog.isVisible() and model is not None:
            self.dialog.show_weights(model.state_dict())
