"""ModelSync: the window's side of the model's lifecycle (project/model_lifecycle.py).

The Qt-free ModelLifecycle holds the dataset the Data panel loaded and builds the model for
it from the document; this adapter hands it the datasets, shows what it says (the builder's
checks, a build that failed, weights that could not be used), tells the training controller
about each new model, and gives the Evaluate and Draw tabs idle copies of the model.
"""

from __future__ import annotations

import copy

from nnstudio.project.document import RunState
from nnstudio.project.model_lifecycle import ModelLifecycle
from nnstudio.project.project_data import DatasetSpec

DRAW_INPUT_SHAPES = ((1, 28, 28), (784,))  # what the Draw tab's canvas can feed a model


class ModelSync:
    """Shows ``lifecycle`` (its ``dataset`` and ``model``) in the window, and shares the model.

    ``training`` is the TrainingController, passed in once it exists (``connect_training``):
    each new model starts a run view there, and nothing is rebuilt under its session.
    """

    def __init__(self, window, document):
        self.document = document
        self.training = None
        self.builder, self.data_panel = window.builder, window.data_panel
        self.hyperparameters, self.tabs = window.hyperparameters, window.tabs
        # The Training, Evaluate and Draw pages, once each is made (see _attach_training_tab).
        self.training_tab = self.evaluation = self.draw = None
        self.message_bar, self.status_bar = window.message_bar, window.statusBar()
        self.show_message = window.show_message
        self.lifecycle = ModelLifecycle(document, self._is_training)
        self._shared_model = None  # the copy the Evaluate tab works on
        self._evaluation_stale = False
        self._validity_message = None
        self._build_problem = None  # the banner a failed build showed, until a build succeeds
        events = self.lifecycle.events
        events.layers_to_check.connect(self.builder.set_input_spec)
        events.built.connect(self._on_built)
        events.build_failed.connect(self._on_build_failed)
        events.weights_refused.connect(lambda message: self.show_message(message, "warning"))
        self.data_panel.dataset_changed.connect(self.use_dataset)
        self.data_panel.dataset_failed.connect(self._on_dataset_failed)
        self.builder.validity_changed.connect(self._on_validity_changed)
        self.tabs.currentChanged.connect(self._on_tab_changed)
        document.events.run_state.connect(self._tell_evaluation_about_the_run)
        # The pages made later take what is current when they are made.
        window.when_page_built("training", self._attach_training_tab)
        window.when_page_built("evaluation", self._attach_evaluation)
        window.when_page_built("draw", self._attach_draw)

    def connect_training(self, training) -> None:
        self.training = training

    def _is_training(self) -> bool:
        return self.training is not None and self.training.session is not None

    # -- what the lifecycle holds ---------------------------------------------------------------

    @property
    def dataset(self):
        return self.lifecycle.dataset

    @property
    def model(self):
        return self.lifecycle.model

    @property
    def rebuild_pending(self) -> bool:
        return self.lifecycle.rebuild_pending

    def rebuild_model(self) -> None:
        self.lifecycle.rebuild()

    # -- the pages, once made -------------------------------------------------------------------

    def _attach_training_tab(self, tab) -> None:
        self.training_tab = tab
        if self.dataset is not None:
            tab.set_dataset(self.dataset)

    def _attach_evaluation(self, page) -> None:
        self.evaluation = page
        page.evaluate_requested.connect(self._on_evaluate_requested)
        self._tell_evaluation_about_the_run(self.document.run_state)

    def _tell_evaluation_about_the_run(self, state: RunState) -> None:
        if self.evaluation is not None:
            self.evaluation.set_run_going(state != RunState.IDLE)

    def _attach_draw(self, page) -> None:
        self.draw = page
        self._give_draw_the_model()

    # -- a dataset arrives ----------------------------------------------------------------------

    def use_dataset(self, dataset) -> None:
        """The Data panel loaded ``dataset``: check the layers against it and rebuild."""
        self.training.shutdown()
        with self.lifecycle.taking_dataset(dataset):  # may switch to a fitting loss
            self.hyperparameters.set_task(dataset.task)  # only fitting losses offered
            if self.training_tab is not None:  # else given when it is made
                self.training_tab.set_dataset(dataset)
            self.message_bar.clear_routine()  # an error the user has not seen to stays
            name, options = self.data_panel.spec()
            self.document.dataset_arrived(DatasetSpec(name, dict(options)))

    def _on_dataset_failed(self, message: str) -> None:
        self.document.dataset_failed()
        self.show_message(message, "error")
        self.training.project_ready(False)

    def _on_validity_changed(self, valid: bool, message: str) -> None:
        """The builder's checks in the status bar (the Train action follows them itself)."""
        status = self.status_bar
        if valid:
            if status.currentMessage() == self._validity_message:
                status.clearMessage()  # the problem it named is fixed
        elif message and not self.document.awaiting_dataset:
            # (While an opened project's dataset loads, the builder still checks the layers
            # against the old dataset: that complaint would be about a mix that never exists.)
            self._validity_message = message
            status.showMessage(message, 8000)

    # -- what a build gave ----------------------------------------------------------------------

    def _on_build_failed(self, message: str) -> None:
        self._build_problem = message
        self.show_message(message, "warning")
        self.share_model()
        self.training.project_ready(False)

    def _on_built(self, bundle) -> None:
        self._clear_build_problem()
        training = self.training
        if bundle is not None and self.document.resumable_run is not None:
            training.resume_from(bundle)  # a saved run continues
        else:
            training.new_run()
        if self.document.run_state != RunState.IDLE:  # a state left from the old model
            training.set_state(RunState.IDLE)
        self.share_model()
        training.project_ready(self.builder.is_valid())

    def _clear_build_problem(self) -> None:
        """The layers build now: a banner still naming the old problem would contradict the
        Model tab's "Ready to train" (issue 21, item 3)."""
        bar = self.message_bar
        if self._build_problem is not None and bar.text() == self._build_problem:
            bar.hide()
        self._build_problem = None

    # -- sharing with the Evaluate and Draw tabs ------------------------------------------------

    def share_model(self) -> None:
        """Give Evaluate and Draw a copy of the idle model (they never see the training one)."""
        model = copy.deepcopy(self.model) if self.model is not None else None
        self._shared_model = model
        if self.draw is not None:
            self._give_draw_the_model()  # else when the Draw tab is made
        self._evaluation_stale = True
        if self.evaluation is None:  # not made: nothing to clear or update
            return
        if model is None:
            self.evaluation.clear()
        elif self.tabs.currentWidget() is self.evaluation:
            self._evaluate()

    def _give_draw_the_model(self) -> None:
        """The Draw tab offers the shared copy when it takes one 28×28 image."""
        dataset, model = self.dataset, self._shared_model
        fits = model is not None and tuple(dataset.input_shape) in DRAW_INPUT_SHAPES
        self.draw.set_current_model(
            model if fits else None,
            getattr(dataset, "class_names", None),
            self.document.name,
            scaling=getattr(dataset, "scaling", None),
            trained=self.document.has_trained_weights(),
        )

    def _evaluate(self) -> None:
        """Evaluate the shared copy; while a run goes, nothing: the copy is from before the
        run, and the run's end shares the model it made (``share_model``) to evaluate that."""
        model = self._shared_model
        if model is None or self.dataset is None or self._is_training():
            return
        self._evaluation_stale = False
        about = None if self.document.has_trained_weights() else "Untrained model"
        try:
            loss = self.document.to_project().make_loss()
            self.evaluation.evaluate(model, loss, self.dataset, about=about)
        except ValueError as error:
            self.show_message(str(error), "warning")

    def _on_evaluate_requested(self) -> None:
        """The Evaluate tab's button: evaluate the current idle model (not one in training)."""
        if self._is_training():  # (the button is off then: the page says so)
            self.show_message(
                "Training owns the model until the run ends: the Evaluate tab evaluates it "
                "then (Stop ends the run now).",
                "info",
            )
            return
        if self.model is not None:  # weights may have changed since the last copy
            self._shared_model = copy.deepcopy(self.model)
        self._evaluate()

    def _on_tab_changed(self, _index: int) -> None:
        if self.tabs.currentWidget() is self.evaluation and self._evaluation_stale:
            self._evaluate()
