"""InspectorController: "See the math" in the window — Training → See the math for one
sample…, the Training tab's button, a click on an example in the Evaluate tab and the Draw
tab's button all open the SampleInspector on a copy of the model.

The copy never is the model a run trains: idle or paused, the model is deep-copied (a paused
worker waits between batches and changes nothing); while a run trains, a model of the same
config gets the weights of the worker's latest snapshot (the signal payloads are copies
already), so opening the inspector never waits for or races with the training thread.
"""

from __future__ import annotations

import contextlib
import copy
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtGui import QAction

if TYPE_CHECKING:  # the inspector's module (its pages, the explain code) loads when used
    from nnstudio.ui.panels.sample_inspector import InspectorSample, SampleInspector


class InspectorController:
    """``window`` is the parent of the dialog and its menu; ``training`` and ``models`` give
    the session, the run's optimizer, the dataset and the model."""

    def __init__(self, window, document, *, training, models):
        self.window, self.document = window, document
        self.training, self.models = training, models
        self.evaluation = self.draw = None  # the Evaluate and Draw pages, once made
        self.show_message = window.show_message
        self.dialog: SampleInspector | None = None
        self._snapshot_weights: dict | None = None
        self._watched = None  # the session whose snapshots are kept
        window.actionExplainSample = action = QAction("See the math for one sample…", window)
        action.setObjectName("actionExplainSample")
        action.setStatusTip(
            "Follow one training sample through the network: forward pass, loss, backward "
            "pass and the optimizer's update, with the real numbers"
        )
        action.setToolTip(action.statusTip())
        action.triggered.connect(lambda: self.explain_training_sample())
        window.training_menu.addAction(action)
        # The pages' own "See the math" buttons, once each page is made.
        window.when_page_built("training", self._attach_training_tab)
        window.when_page_built("evaluation", self._attach_evaluation)
        window.when_page_built("draw", self._attach_draw)
        window.state_changed.connect(self._follow_session)

    def _attach_training_tab(self, tab) -> None:
        tab.explain_button.clicked.connect(lambda: self.explain_training_sample())

    def _attach_evaluation(self, page) -> None:
        self.evaluation = page
        page.explain_requested.connect(self.explain_evaluated_sample)

    def _attach_draw(self, page) -> None:
        self.draw = page
        page.explainButton.clicked.connect(lambda: self.explain_drawing())

    # -- the three ways in ------------------------------------------------------------------

    def explain_training_sample(self, index: int = 0) -> SampleInspector | None:
        ready = self.dataset_and_model(
            "the inspector follows one of its training samples through the network."
        )
        if ready is None:
            return None
        dataset, model = ready
        x, y = dataset.x_train, dataset.y_train

        def fetch(i: int):
            return x[i], y[i], f"Sample {i} of the training split of {dataset.name}"

        from nnstudio.ui.panels.sample_inspector import InspectorSample

        sample = InspectorSample(
            model,
            self.project_loss(),
            *fetch(index),
            optimizer=self._optimizer_copy(),
            class_names=self._class_names(dataset),
            image_shape=self._image_shape(dataset),
            count=len(x),
            index=index,
            fetch=fetch,
        )
        return self._open(sample)

    def explain_evaluated_sample(self, index: int) -> SampleInspector | None:
        source = self.evaluation.explain_source() if self.evaluation is not None else None
        if source is None:
            return None
        x, y, split = source["x"], source["y"], source["split"]
        dataset = self.models.dataset

        def fetch(i: int):
            return x[i], y[i], f"Sample {i} of the {split} split (from Evaluate)"

        from nnstudio.ui.panels.sample_inspector import InspectorSample

        sample = InspectorSample(
            copy.deepcopy(source["model"]),
            source["loss"],
            *fetch(index),
            optimizer=self._optimizer_copy(),
            class_names=self._class_names(dataset),
            image_shape=self._image_shape(dataset),
            count=len(x),
            index=int(index),
            fetch=fetch,
        )
        return self._open(sample)

    def explain_drawing(self) -> SampleInspector | None:
        draw = self.draw  # None until the Draw tab is made: nothing drawn yet
        digit = draw.prepared_digit() if draw is not None else None
        active = draw.active_model() if draw is not None else None
        if digit is None or active is None:
            self.show_message("Draw a digit first, then press See the math.", "info")
            return None
        x = active.model_input(digit)[0]
        probabilities = draw.probabilities()
        predicted = int(np.argmax(probabilities)) if probabilities is not None else 0
        from nnstudio.ui.panels.sample_inspector import InspectorSample

        sample = InspectorSample(
            copy.deepcopy(active.model),
            active.loss,
            x,
            predicted,
            f"Your drawing ({active.title})",
            optimizer=self._optimizer_copy(),
            class_names=list(active.class_names),
            image_shape=(28, 28),
            choose_target=True,
        )
        return self._open(sample)

    # -- what the inspector gets -----------------------------------------------------------------

    def _open(self, sample: InspectorSample) -> SampleInspector:
        if self.dialog is None:
            from nnstudio.ui.panels.sample_inspector import SampleInspector

            self.dialog = SampleInspector(self.window)
        self.dialog.show_sample(sample)
        return self.dialog

    def _training(self) -> bool:
        session = self.training.session
        return session is not None and not session.paused

    def dataset_and_model(self, why: str):
        """The dataset and a copy of the model (see ``model_copy``), or None after telling the
        user what is missing; ``why`` ends that sentence."""
        dataset, model = self.models.dataset, self.model_copy()
        if dataset is None or model is None or not len(dataset.x_train):
            self.show_message(f"Load a dataset and build a network first: {why}", "info")
            return None
        return dataset, model

    def load_shown_epoch(self, model) -> int | None:
        """With the timeline on a past epoch, that epoch's weights into ``model`` (a copy) and
        its number, so a view opened now agrees with the diagram and the boundary; otherwise
        None and the model as it is."""
        timeline = self.window.timeline
        epoch, weights = timeline.scrubbed_epoch, timeline.shown_weights
        if epoch is None or weights is None:
            return None
        try:
            model.load_state_dict(weights)
        except (ValueError, KeyError):  # a run of another network: the current one, then
            return None
        return epoch

    def model_copy(self):
        model = self.models.model
        if model is None:
            return None
        if not self._training():
            return copy.deepcopy(model)
        from nnstudio.engine.model import Sequential

        # Same layers, fresh arrays; the weights from the worker's latest snapshot.
        fresh = Sequential.from_config(model.config(), dtype=model.dtype)
        state = {name: value.copy() for name, value in model.buffers().items()}
        state.update(self._snapshot_weights or {})
        # No snapshot that fits yet: the fresh weights now, the run's own ones next time.
        with contextlib.suppress(ValueError):
            fresh.load_state_dict({**fresh.state_dict(), **state})
        return fresh

    def _optimizer_copy(self):
        """The run's optimizer with its state (momentum, Adam's moments) when nobody changes
        it now; while a run trains, a fresh one with the project's settings."""
        project = self.document.to_project()
        optimizer = self.training.run_optimizer
        if optimizer is None or self._training():
            return project.make_optimizer()
        return copy.deepcopy(optimizer)

    def project_loss(self):
        return self.document.to_project().make_loss()

    @staticmethod
    def _class_names(dataset):
        names = getattr(dataset, "class_names", None)
        return list(names) if names else None

    @staticmethod
    def _image_shape(dataset):
        shape = tuple(getattr(dataset, "input_shape", ()) or ())
        if len(shape) == 3 and shape[0] == 1:
            return shape[1:]
        return (28, 28) if shape == (784,) else None

    # -- following the session ------------------------------------------------------------------

    def _follow_session(self, _state: str) -> None:
        session = self.training.session
        if session is self._watched:
            return
        self._watched, self._snapshot_weights = session, None
        if session is not None:
            session.weights_snapshot.connect(self._keep_snapshot)

    def _keep_snapshot(self, snapshot: dict) -> None:
        weights = snapshot.get("weights")
        if weights:
            self._snapshot_weights = weights
