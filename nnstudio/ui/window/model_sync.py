"""ModelSync: the dataset the Data panel loaded, the model built for it from the document,
and the idle copies of that model given to the Evaluate and Draw tabs.

The model is rebuilt when the document's model config changes or a dataset arrives, except
while a session trains it (then once the session has ended) and while an opened project's
dataset is still loading (the layers would be built for the old data).
"""

from __future__ import annotations

import copy

import numpy as np

from nnstudio import safe_read
from nnstudio.project.document import RunState
from nnstudio.project.project_file import DatasetSpec
from nnstudio.ui.window.project_checks import check_weights_file, model_size_problem

DRAW_INPUT_SHAPES = ((1, 28, 28), (784,))  # what the Draw tab's canvas can feed a model


def load_whole_state(model, state: dict) -> None:
    """Load ``state`` into ``model`` all or nothing: a mismatch found halfway through would
    leave a mix of saved and fresh weights behind the message "starts from fresh weights"."""
    live = {**model.parameters(), **model.buffers()}
    for name, target in live.items():
        value = state.get(name)
        if value is not None and (
            np.shape(value) != target.shape or np.asarray(value).dtype.kind != "f"
        ):
            raise ValueError(
                f"weight {name!r} is {np.asarray(value).dtype} {np.shape(value)}; "
                f"the model needs float {target.shape}"
            )
    model.load_state_dict(state)  # names are checked before anything is copied


def read_weights(path):
    """The model file's bundle: a Checkpoint when it holds training state too."""
    from nnstudio.engine.io import load_model_or_checkpoint

    return load_model_or_checkpoint(path)


def output_count(dataset) -> int:
    """What the last layer must give: one per class, or one per regression target."""
    return dataset.n_classes if dataset.task == "classification" else dataset.n_outputs


class ModelSync:
    """Keeps ``model`` built for ``dataset`` and the document's layers, and shares it."""

    def __init__(self, window, document):
        self.window = window
        self.document = document
        self.dataset = None
        self.model = None
        self.rebuild_pending = False  # the layers changed while a session owned the model
        self._shared_model = None  # the copy the Evaluate tab works on
        self._evaluation_stale = False
        self._checked_loss = None  # the loss the builder judges the last layer against
        self._validity_message = None
        self._taking_dataset = False  # one rebuild once a new dataset is in, not one per step
        self._build_problem = None  # the banner a failed build showed, until a build succeeds
        document.subscribe(self._on_document_event)
        window.data_panel.dataset_changed.connect(self.use_dataset)
        window.data_panel.dataset_failed.connect(self._on_dataset_failed)
        window.builder.validity_changed.connect(self._on_validity_changed)
        window.tabs.currentChanged.connect(self._on_tab_changed)
        # The pages made later take what is current when they are made.
        window.when_page_built("training", self._give_training_tab_the_dataset)
        window.when_page_built(
            "evaluation", lambda page: page.evaluate_requested.connect(self._on_evaluate_requested)
        )
        window.when_page_built("draw", self._give_draw_the_model)

    # -- a dataset arrives ----------------------------------------------------------------------

    def use_dataset(self, dataset) -> None:
        """The Data panel loaded ``dataset``: check the layers against it and rebuild."""
        window = self.window
        window.training.shutdown()
        self.dataset = dataset
        self._taking_dataset = True
        try:
            window.hyperparameters.set_task(dataset.task)  # may switch to a fitting loss
            self._check_layers_against_dataset()
            if (tab := window.built_page("training")) is not None:
                tab.set_dataset(dataset)
            window.message_bar.hide()
            name, options = window.data_panel.spec()
            self.document.dataset_arrived(DatasetSpec(name, dict(options)))
        finally:
            self._taking_dataset = False
        self.rebuild_model()

    def _give_training_tab_the_dataset(self, tab) -> None:
        if self.dataset is not None:
            tab.set_dataset(self.dataset)

    def _check_layers_against_dataset(self) -> None:
        d, loss = self.dataset, self.document.training.loss
        self._checked_loss = loss
        self.window.builder.set_input_spec(tuple(d.input_shape), output_count(d), d.task, loss)

    def _on_dataset_failed(self, message: str) -> None:
        self.document.dataset_failed()
        self.window.show_message(message, "error")
        self.window.training.project_ready(False)

    # -- following the document -----------------------------------------------------------------

    def _on_document_event(self, event: str, *args) -> None:
        if self.document.awaiting_dataset:
            return  # the old dataset is still loaded: wait for the project's one
        if event == "training_changed" and self.dataset is not None:
            if self.document.training.loss != self._checked_loss:
                self._check_layers_against_dataset()
        elif event == "model_changed" and not self._taking_dataset:
            self.rebuild_model()

    def _on_validity_changed(self, valid: bool, message: str) -> None:
        self.window.window_actions.show_validity(valid, message)
        status = self.window.statusBar()
        if valid:
            if status.currentMessage() == self._validity_message:
                status.clearMessage()  # the problem it named is fixed
        elif message and not self.document.awaiting_dataset:
            # (While an opened project's dataset loads, the builder still checks the layers
            # against the old dataset: that complaint would be about a mix that never exists.)
            self._validity_message = message
            status.showMessage(message, 8000)

    # -- the model ------------------------------------------------------------------------------

    def rebuild_model(self) -> None:
        """Build the model for the current dataset and layers; a problem disables Train."""
        if self.window.training.session is not None:
            self.rebuild_pending = True  # the worker owns the model: rebuild when it ends
            return
        self.rebuild_pending = False
        document = self.document
        if self.dataset is None or not document.is_loaded or document.awaiting_dataset:
            return
        try:
            model = self._build(document.to_project())
        except (ValueError, TypeError, KeyError, MemoryError, RecursionError) as error:
            # Whatever the layers say, the user gets words and a window that still works.
            self.model = None
            self._build_problem = safe_read.shorten(str(error) or repr(error))
            self.window.show_message(self._build_problem, "warning")
            self.share_model()
            self.window.training.project_ready(False)
            return
        self._clear_build_problem()
        checkpoint = self._load_pending_weights(model)
        self.model = model
        if checkpoint is not None and document.resumable_run is not None:
            self.window.training.resume_from(checkpoint)  # a saved run continues
        else:
            self.window.training.new_run()
        if document.run_state != RunState.IDLE:  # a NaN pause belonged to the old model
            self.window.training.set_state(RunState.IDLE)
        self.share_model()
        self.window.training.project_ready(self.window.builder.is_valid())

    def _clear_build_problem(self) -> None:
        """The layers build now: a banner still naming the old problem would contradict the
        Model tab's "Ready to train" (issue 21, item 3)."""
        bar = self.window.message_bar
        if self._build_problem is not None and bar.text() == self._build_problem:
            bar.hide()
        self._build_problem = None

    def _build(self, project):
        """The model for the dataset; refused before allocating anything when too big."""
        problem = model_size_problem(project.model.get("layers", []), self.dataset.input_shape)
        if problem:
            raise ValueError(f"{problem[0].upper()}{problem[1:]}.")
        return project.build_model(self.dataset)

    def _load_pending_weights(self, model):
        """Load the project's saved weights into ``model``; returns the file's bundle (a
        Checkpoint, with the optimizer's state, when the project was saved mid-run)."""
        path = self.document.take_pending_weights()
        if path is None:
            self.document.resumable_run = None  # no weights: its run cannot continue
            return None
        try:
            check_weights_file(path)  # never open a FIFO or a huge file on the GUI thread
            bundle = read_weights(path)
            load_whole_state(model, bundle.model.state_dict())
        except Exception as error:  # noqa: BLE001 - a hostile .nnz is a message, never a crash
            reason = safe_read.shorten(str(error) or type(error).__name__, 200)
            self.window.show_message(
                f"The saved weights {path.name} could not be used ({reason}); "
                "the model starts from fresh weights.",
                "warning",
            )
            self.document.resumable_run = None
            return None
        self.document.mark_weights_restored()
        return bundle

    # -- sharing with the Evaluate and Draw tabs ------------------------------------------------

    def share_model(self) -> None:
        """Give Evaluate and Draw a copy of the idle model (they never see the training one)."""
        window = self.window
        model = copy.deepcopy(self.model) if self.model is not None else None
        self._shared_model = model
        if (draw := window.built_page("draw")) is not None:
            self._give_draw_the_model(draw)  # else when the Draw tab is made
        self._evaluation_stale = True
        evaluation = window.built_page("evaluation")  # not made: nothing to clear or update
        if evaluation is None:
            return
        if model is None:
            evaluation.clear()
        elif window.tabs.currentWidget() is evaluation:
            self._evaluate()

    def _give_draw_the_model(self, draw) -> None:
        """The Draw tab offers the shared copy when it takes one 28×28 image."""
        dataset, model = self.dataset, self._shared_model
        fits = model is not None and tuple(dataset.input_shape) in DRAW_INPUT_SHAPES
        draw.set_current_model(
            model if fits else None,
            getattr(dataset, "class_names", None),
            self.document.name,
            scaling=getattr(dataset, "scaling", None),
            trained=self.document.has_trained_weights(),
        )

    def _evaluate(self) -> None:
        model = self._shared_model
        if model is None or self.dataset is None:
            return
        self._evaluation_stale = False
        try:
            loss = self.document.to_project().make_loss()
            self.window.evaluation.evaluate(model, loss, self.dataset)
        except ValueError as error:
            self.window.show_message(str(error), "warning")

    def _on_evaluate_requested(self) -> None:
        """The Evaluate tab's button: evaluate the current idle model (not one in training)."""
        if self.window.training.session is not None:
            self.window.show_message(
                "Training owns the model: pause or stop it, then press Evaluate "
                "(the results show the weights as they are then).",
                "info",
            )
            return
        if self.model is not None:  # weights may have changed since the last copy
            self._shared_model = copy.deepcopy(self.model)
        self._evaluate()

    def _on_tab_changed(self, _index: int) -> None:
        evaluation = self.window.built_page("evaluation")  # opening the tab has made it
        showing = evaluation is not None and self.window.tabs.currentWidget() is evaluation
        if showing and self._evaluation_stale:
            self._evaluate()
