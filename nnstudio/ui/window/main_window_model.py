"""The main window's dataset and model: a dataset arriving, builder edits, rebuilding the
model, and sharing idle copies of it with the Evaluate and Draw tabs.

``ModelMixin`` is one of the parts ``MainWindow`` is made of.
"""

from __future__ import annotations

from nnstudio.project.project_file import common_regularization


class ModelMixin:
    """Dataset and model handling of ``MainWindow``."""

    # -- dataset and model ----------------------------------------------------------------------

    def _on_dataset_changed(self, dataset) -> None:
        self.shutdown_training()
        self.dataset = dataset
        self.hyperparameters.set_task(dataset.task)
        outputs = dataset.n_classes if dataset.task == "classification" else dataset.n_outputs
        self.builder.set_input_spec(
            tuple(dataset.input_shape),
            outputs,
            dataset.task,
            self.hyperparameters.settings()["loss"],
        )
        self.training_tab.set_dataset(dataset)
        self.message_bar.hide()
        from_project = self._project_dataset_arrived()
        self._rebuild_model()
        if from_project and not getattr(self, "_restored_unsaved", False):
            self._saved_form = self._collect_project().to_dict()  # just opened = saved
        self._restored_unsaved = False
        self._changed()

    def _project_dataset_arrived(self) -> bool:
        """True (once) when this dataset is the one an opened project asked for."""
        awaiting = getattr(self, "_awaiting_project_dataset", False)
        self._awaiting_project_dataset = False
        return awaiting

    def _on_dataset_failed(self, message: str) -> None:
        if self._project_dataset_arrived():
            self._saved_form = self._collect_project().to_dict()
            self._update_title()
        self.show_message(message, "error")

    def _on_model_edited(self, _config=None) -> None:
        if self._applying:
            return
        self.hyperparameters.set_regularization(*common_regularization(self.builder.config()))
        self._rebuild_model()
        self._changed()

    def _on_validity_changed(self, valid: bool, message: str) -> None:
        self.actionTrain.setEnabled(valid)
        self.actionStep.setEnabled(valid)
        for action, tip in self._normal_tips.items():
            # A disabled button says why it is disabled.
            action.setToolTip(tip if valid or not message else message)
        status = self.statusBar()
        if valid:
            if status.currentMessage() == getattr(self, "_validity_message", None):
                status.clearMessage()  # the problem it named is fixed
        elif message and not getattr(self, "_awaiting_project_dataset", False):
            # (While an opened project's dataset loads, the builder still checks the layers
            # against the old dataset: that complaint would be about a mix that never exists.)
            self._validity_message = message
            status.showMessage(message, 8000)

    def _on_regularization_changed(self, l1: float, l2: float) -> None:
        # One undoable edit in the builder; its config_changed rebuilds the model.
        self.builder.set_settings_everywhere({"l1": l1, "l2": l2})

    def _on_builder_preset(self, _name: str, project: dict) -> None:
        """A preset picked in the builder brings its dataset and training settings along."""
        if project.get("training"):
            self.hyperparameters.set_settings(project["training"])
        dataset = project.get("dataset")
        if dataset:
            self.data_panel.set_spec(dataset.get("name"), dict(dataset.get("options") or {}))

    def _on_hyperparameters_changed(self) -> None:
        if self.dataset is not None:
            loss = self.hyperparameters.settings()["loss"]
            if loss != getattr(self, "_builder_loss", None):
                self._builder_loss = loss
                self._on_dataset_loss_changed(loss)
        self._changed()

    def _on_dataset_loss_changed(self, loss: str) -> None:
        d = self.dataset
        outputs = d.n_classes if d.task == "classification" else d.n_outputs
        self.builder.set_input_spec(tuple(d.input_shape), outputs, d.task, loss)

    def _changed(self) -> None:
        if not self._applying:
            self._update_title()

    def _rebuild_model(self) -> None:
        """Build the model for the current dataset and layers; a problem disables Train."""
        if self.session is not None:
            self._rebuild_pending = True  # the worker owns the model: rebuild when it ends
            return
        self._rebuild_pending = False
        if self.dataset is None or self.project is None:
            return
        if getattr(self, "_awaiting_project_dataset", False):
            return  # the old dataset is still loaded: build once the project's one arrives
        try:
            model = self._collect_project().build_model(self.dataset)
            self._load_pending_weights(model)
        except ValueError as error:
            self.model = None
            self.show_message(str(error), "warning")
            self._share_model()
            return
        self.model = model
        self._new_run_state()
        self._share_model()

    def _load_pending_weights(self, model) -> None:
        path, self._pending_weights = self._pending_weights, None
        self._weights_restored = False
        if path is None:
            return
        from nnstudio.engine.io import load_model

        try:
            model.load_state_dict(load_model(path).model.state_dict())
        except (ValueError, OSError, KeyError) as error:
            self.show_message(
                f"The saved weights {path.name} could not be used ({error}); "
                "the model starts from fresh weights.",
                "warning",
            )
        else:
            self._weights_restored = True

    def _share_model(self) -> None:
        """Give Evaluate and Draw a copy of the idle model (they never see the training one)."""
        import copy

        model = copy.deepcopy(self.model) if self.model is not None else None
        dataset = self.dataset
        names = getattr(dataset, "class_names", None)
        fits = model is not None and tuple(dataset.input_shape) in ((1, 28, 28), (784,))
        title = self.project_path.stem if self.project_path else self.project.name
        self.draw.set_current_model(
            model if fits else None,
            names,
            title,
            scaling=getattr(dataset, "scaling", None),
            trained=self._has_trained_weights(),
        )
        self._evaluation_stale = True
        if model is None:
            self.evaluation.clear()
        elif self.tabs.currentWidget() is self.evaluation:
            self._evaluate(model)
        self._shared_model = model

    def _evaluate(self, model=None) -> None:
        model = model or getattr(self, "_shared_model", None)
        if model is None or self.dataset is None:
            return
        self._evaluation_stale = False
        try:
            self.evaluation.evaluate(model, self._collect_project().make_loss(), self.dataset)
        except ValueError as error:
            self.show_message(str(error), "warning")

    def _on_evaluate_requested(self) -> None:
        """The Evaluate tab's button: evaluate the current idle model (not one in training)."""
        if self.session is not None:
            self.show_message(
                "Training owns the model: pause or stop it, then press Evaluate "
                "(the results show the weights as they are then).",
                "info",
            )
            return
        self._share_model_quietly()
        self._evaluate()

    def _share_model_quietly(self) -> None:
        """A fresh copy of the idle model for Evaluate (weights may have changed since)."""
        import copy

        if self.model is not None:
            self._shared_model = copy.deepcopy(self.model)

    def _on_tab_changed(self, _index: int) -> None:
        if self.tabs.currentWidget() is self.evaluation and getattr(
            self, "_evaluation_stale", False
        ):
            self._evaluate()
