"""PanelBindings: the Data, Hyperparameters, Model (builder) and Runs panels bound to the
project document.

Two directions, nothing else: a panel's signal calls a document setter, and a document event
calls the panel's setter. A panel that caused the event already shows the value, so each
``_show_*`` first compares and only then writes (that also ends the round trip). A panel may
normalise what it is given (the dock fills in defaults, the builder fills in each layer's
settings); its normal form then goes back into the document, so "modified" compares like with
like.
"""

from __future__ import annotations

from PySide6.QtCore import QTimer

from nnstudio.project.project_data import ProjectError
from nnstudio.project.project_parse import parse_dataset, parse_training


class PanelBindings:
    """Keeps the four panels and the document showing the same project."""

    RUN_ROW_MS = 1000  # a runs-table row repaints whole: once a second while a run trains

    def __init__(self, window, document):
        self.document = document
        self.data_panel = window.data_panel
        self.hyperparameters = window.hyperparameters
        self.builder = window.builder
        self.runs_panel = window.runs_panel
        self.plots = None  # the Training tab's curves, once that page is made
        self._overlays: list = []  # (label, history) of the runs overlaid on them
        window.when_page_built("training", self._attach_plots)
        self.status_bar = window.statusBar()
        self.show_message = window.show_message
        self._late_rows: set = set()
        self._row_timer = QTimer(window, singleShot=True, interval=self.RUN_ROW_MS)
        self._row_timer.timeout.connect(self._show_late_rows)
        self._connect_panels(window)
        events = document.events
        events.project_loaded.connect(self._show_project)
        events.restored.connect(self._show_restored)
        events.training_changed.connect(self._show_training)
        events.dataset_changed.connect(self._show_dataset)
        events.model_changed.connect(self._show_model)
        events.runs_changed.connect(lambda: self.runs_panel.set_runs(self.document.runs))
        events.run_updated.connect(self._show_run)

    def _connect_panels(self, window) -> None:
        self.hyperparameters.changed.connect(self._training_edited)
        self.hyperparameters.regularization_changed.connect(self._regularization_edited)
        self.builder.config_changed.connect(self.document.set_model)
        self.builder.preset_loaded.connect(self._preset_loaded)
        self.runs_panel.clear_requested.connect(self.document.clear_finished_runs)
        self.runs_panel.import_requested.connect(window.files.import_runs_dialog)
        window.training_menu.addAction(self.runs_panel.import_action)
        self.runs_panel.overlay_changed.connect(self._show_overlays)

    # -- panels -> document ---------------------------------------------------------------------

    def _training_edited(self) -> None:
        self.document.set_training(self.hyperparameters.settings())

    def _regularization_edited(self, l1: float, l2: float) -> None:
        # One undoable edit in the builder; its config_changed then updates the document.
        self.builder.set_settings_everywhere({"l1": l1, "l2": l2})

    def _preset_loaded(self, name: str, project: dict) -> None:
        """A preset picked in the builder brings its dataset, training settings and name
        along (Save then proposes "MNIST CNN.nnsproj", and the Draw tab says which model).

        They go into the document, checked as a project file's are (a user's preset is a
        file anyone may have edited); the panels follow the document. A preset whose settings
        are refused keeps only its layers, and the message bar says why."""
        source = f"preset {name!r}"
        try:
            training = project.get("training") and parse_training(project["training"], source)
            dataset = project.get("dataset") and parse_dataset(project["dataset"], source)
        except ProjectError as error:
            self.show_message(
                f"{str(error).rstrip('.')}. Its layers are loaded; the training settings "
                "and dataset stay as they were.",
                "warning",
            )
            return
        self.document.rename(str(project.get("name") or name))
        if training:
            self.document.set_training(training)
        if dataset:
            self.document.set_dataset(dataset)

    # -- document -> panels ---------------------------------------------------------------------

    def _show_project(self) -> None:
        document = self.document
        self.hyperparameters.set_settings(vars(document.training))
        self.builder.set_config(document.model)  # its config_changed brings the normal form
        self.hyperparameters.set_regularization(*document.regularization())
        # Always (re)loaded: the document waits for this dataset even when it is the same.
        self.data_panel.set_spec(document.dataset.name, dict(document.dataset.options))
        self._training_edited()

    def _show_restored(self) -> None:
        """After a failed open: each panel back to the document, touched only where it
        differs (so an unchanged dataset is not loaded again)."""
        self._show_training()
        self._show_model()
        self._show_dataset()

    def _show_training(self) -> None:
        wanted = vars(self.document.training)
        if self.hyperparameters.settings() != wanted:
            self.hyperparameters.set_settings(wanted)
            self._training_edited()

    def _show_dataset(self) -> None:
        spec = self.document.dataset
        if self.data_panel.spec() != (spec.name, spec.options):
            self.data_panel.set_spec(spec.name, dict(spec.options))

    def _show_model(self) -> None:
        if self.builder.config() != self.document.model:
            self.builder.set_config(self.document.model)
        self.hyperparameters.set_regularization(*self.document.regularization())

    def _show_run(self, run) -> None:
        """A run's row: at once, except while it trains (then at most once a second)."""
        if run.status == "training" and self._row_timer.isActive():
            self._late_rows.add(run)
            return
        self._late_rows.discard(run)
        self.runs_panel.update_run(run)
        self._row_timer.start()

    def _show_late_rows(self) -> None:
        rows, self._late_rows = self._late_rows, set()
        for run in rows:
            self.runs_panel.update_run(run)

    def _attach_plots(self, tab) -> None:
        self.plots = tab.plots
        if self._overlays:
            self.plots.set_overlays(self._overlays)

    def _show_overlays(self, runs) -> None:
        """Overlay the ticked runs of the dataset on screen: another dataset's loss (a
        regression's MSE on an MNIST plot) is another quantity, so it is named, not drawn."""
        current, dataset = self.document.current_run, self.document.dataset.name
        others = [run for run in runs if run is not current]
        same = [run for run in others if run.dataset == dataset]
        self._overlays = [(run.label, run.history) for run in same]
        if self.plots is not None:  # else drawn when the Training tab is made
            self.plots.set_overlays(self._overlays)
        skipped = [run.label for run in others if run not in same]
        if skipped:
            self.status_bar.showMessage(
                f"Not overlaid: {', '.join(skipped)} trained on another dataset than "
                f"{dataset!r}; Compare shows them side by side.",
                8000,
            )
