"""ProjectDocument: the open project as the window edits it, without Qt.

The document is what Save writes (training settings, dataset spec, model config), plus what
the window needs to know about it: the runs of this session, the copy last saved (for
"modified"), the weights waiting for their dataset, and whether training is idle, running or
paused. Panels write into it through its setters and redraw from its events, the way the
builder's views follow ``BuilderModel``; nothing here reads a widget.
"""

from __future__ import annotations

import copy
from enum import Enum
from pathlib import Path

from nnstudio.events import Events, Signal
from nnstudio.project.project_data import (
    DatasetSpec,
    Project,
    TrainingSettings,
    common_regularization,
)
from nnstudio.project.runs import Run, latest_runs, run_from_dict, run_to_dict


class DocumentEvents(Events):
    """What a ``ProjectDocument`` tells its views; handlers get the arguments in brackets."""

    # A failed open put the document back as it was: views show it again.
    restored: Signal
    # A whole project replaced the old one. Views show it all and may hand back their normal
    # form of it through the setters while handling this: the "saved" copy is taken after
    # every handler has run.
    project_loaded: Signal
    # The file the document belongs to (``path``, ``name``) changed: after a load (once the
    # saved copy is taken), a save, or restoring an autosave.
    file_changed: Signal
    # One part changed through a setter (never sent when the new value equals the old one).
    training_changed: Signal
    dataset_changed: Signal
    model_changed: Signal
    # (modified: bool) ``is_modified()`` flipped.
    modified: Signal
    # (state: RunState) training started, paused or ended; sent on every ``set_run_state``,
    # as the detail text may change alone.
    run_state: Signal
    # A run was added or removed.
    runs_changed: Signal
    # (run: Run) one run's history or status changed.
    run_updated: Signal
    # A new model or fresh weights: the run that was current is no longer continued (Train
    # starts a new one, the timeline has no epochs to branch from).
    current_run_forgotten: Signal


def _with_latest_runs(project: Project) -> Project:
    """``project`` with at most MAX_SAVED_RUNS runs in its metadata, the latest (one built in
    memory is not trimmed by the parser)."""
    metadata = latest_runs(project.metadata)
    if metadata is project.metadata:
        return project
    trimmed = copy.copy(project)
    trimmed.metadata = metadata
    return trimmed


class RunState(str, Enum):
    """Where training is. A ``str`` so that ``state == "idle"`` reads naturally in tests."""

    IDLE = "idle"
    TRAINING = "training"
    PAUSED = "paused"

    def __str__(self) -> str:
        return self.value


class ProjectDocument:
    """The open project, its runs and its run state; ``events`` say when they change.

    ``document.events.training_changed.connect(handler)``: see ``DocumentEvents`` for each
    event and the arguments its handlers get.

    >>> document = ProjectDocument()
    >>> document.load(Project(name="demo"))
    >>> document.set_training({**vars(document.training), "batch_size": 64})
    >>> document.is_modified()
    True
    """

    def __init__(self):
        self.events = DocumentEvents()
        # The project as loaded or last saved: its name, description, metadata, weights file
        # and the folder relative paths resolve against. The editable parts live below.
        self._project: Project | None = None
        self.path: Path | None = None  # the user's file; None for new projects and autosaves
        self.training = TrainingSettings()
        self.dataset = DatasetSpec()
        self.model: dict = {"layers": []}
        self.runs: list[Run] = []
        self.current_run: Run | None = None
        self.resumable_run: Run | None = None  # a reopened project's run, until its weights load
        self.run_state = RunState.IDLE
        self.run_detail = ""
        self.pending_weights: Path | None = None
        self.weights_restored = False
        self.weights_dirty = False
        self.awaiting_dataset = False
        self.restored_unsaved = False
        self._saved: dict | None = None
        self._modified = False
        self._runs_started = 0

    # -- events ---------------------------------------------------------------------------------

    def _check_modified(self) -> None:
        modified = self.is_modified()
        if modified != self._modified:
            self._modified = modified
            self.events.modified.emit(modified)

    # -- reading --------------------------------------------------------------------------------

    @property
    def is_loaded(self) -> bool:
        return self._project is not None

    @property
    def name(self) -> str:
        """The name the window shows: the file's, else the project's own."""
        if self.path is not None:
            return self.path.stem
        return self._project.name if self._project is not None else "untitled"

    def regularization(self) -> tuple[float, float]:
        """The L1/L2 the Hyperparameters dock shows (those of the first weight layer)."""
        return common_regularization(self.model)

    def to_project(self) -> Project:
        """A copy of the project as it stands now (what Save writes)."""
        project = self._project.copy() if self._project is not None else Project()
        project.training = copy.deepcopy(self.training)
        project.dataset = copy.deepcopy(self.dataset)
        project.model = copy.deepcopy(self.model)
        project.metadata.pop("runs", None)
        project.metadata.pop("current_run", None)
        if self.runs:  # the runs and their curves are kept with the project
            project.metadata["runs"] = [run_to_dict(run) for run in self.runs]
            # A reopened project's run is still its current one while its weights load.
            current = self.current_run if self.current_run is not None else self.resumable_run
            project.metadata["current_run"] = current.number if current is not None else None
        return project

    def is_modified(self) -> bool:
        """Unsaved work: trained or reset weights, or settings unlike the saved copy."""
        if self._project is None:
            return False
        return self.weights_dirty or self._saved is None or self._form() != self._saved

    def _form(self) -> dict:
        return self.to_project().to_dict()

    def has_trained_weights(self) -> bool:
        """Weights worth a .nnz: trained in this run, or loaded from the project's file."""
        trained = self.current_run is not None and bool(self.current_run.history)
        return trained or self.weights_restored

    # -- whole projects -------------------------------------------------------------------------

    def load(self, project: Project, path: Path | str | None = None) -> None:
        """Replace the document with ``project`` (``path``: the user's file, if any).

        Its dataset still has to load: until ``dataset_arrived`` the document is
        ``awaiting_dataset`` and keeps the project's weights in ``pending_weights``.
        """
        project = _with_latest_runs(project)
        self._project = project.copy()
        self.path = Path(path) if path is not None else None
        self.training = copy.deepcopy(project.training)
        self.dataset = copy.deepcopy(project.dataset)
        self.model = copy.deepcopy(project.model)
        self.pending_weights = project.weights_path()
        self.weights_restored = False
        self.weights_dirty = False
        self.restored_unsaved = False
        self.awaiting_dataset = True
        self._take_saved_runs(project.metadata)
        self.events.project_loaded.emit()
        self._saved = self._form()
        self.events.file_changed.emit()
        self._check_modified()

    # Shared, not copied, by snapshot/restore: runs are this session's history, not the file's.
    _SHARED = ("runs", "current_run", "resumable_run")

    def snapshot(self) -> dict:
        """Everything ``restore`` needs to put the document back as it is now (an open that
        fails halfway must leave it exactly as before)."""
        state = {k: v for k, v in vars(self).items() if k not in ("events", *self._SHARED)}
        state = copy.deepcopy(state)
        state.update(
            runs=list(self.runs), current_run=self.current_run, resumable_run=self.resumable_run
        )
        return state

    def restore(self, state: dict) -> None:
        """Back to a ``snapshot``. Views show it again on ``events.restored``."""
        for key, value in state.items():
            setattr(self, key, value if key in self._SHARED else copy.deepcopy(value))
        self.runs = list(state["runs"])
        self.events.restored.emit()
        self.events.file_changed.emit()
        self.events.runs_changed.emit()
        self._modified = not self.is_modified()  # always tell the views: they may be off
        self._check_modified()

    def mark_saved(self, project: Project, path: Path | str) -> None:
        """``project`` (this document, named and with its weights file) was written to
        ``path``: it is the saved copy now."""
        self._project = project.copy()
        self.path = Path(path)
        self.weights_dirty = False
        self.restored_unsaved = False
        self._saved = self._form()
        self.events.file_changed.emit()
        self._check_modified()

    def rename(self, name: str) -> None:
        """The project took a preset: it is named after it until saved under a file name."""
        if self._project is None or self.path is not None or self._project.name == name:
            return
        self._project.name = name
        self.events.file_changed.emit()
        self._check_modified()

    def mark_restored_autosave(self) -> None:
        """The loaded project is an autosave: unsaved work, and not the user's file (Save
        asks where), even once its dataset arrives."""
        self.path = None
        self._saved = None
        self.restored_unsaved = True
        self.events.file_changed.emit()
        self._check_modified()

    # -- the parts ------------------------------------------------------------------------------

    def set_training(self, settings: TrainingSettings | dict) -> None:
        if isinstance(settings, dict):
            settings = TrainingSettings(**copy.deepcopy(settings))
        if settings == self.training:
            return
        self.training = copy.deepcopy(settings)
        self.events.training_changed.emit()
        self._check_modified()

    def set_dataset(self, spec: DatasetSpec) -> None:
        if spec == self.dataset:
            return
        self.dataset = copy.deepcopy(spec)
        self.events.dataset_changed.emit()
        self._check_modified()

    def set_model(self, config: dict) -> None:
        if config == self.model:
            return
        self.model = copy.deepcopy(config)
        self.events.model_changed.emit()
        self._check_modified()

    def dataset_arrived(self, spec: DatasetSpec) -> bool:
        """A dataset loaded, as ``spec`` (with every option filled in). Returns True when it
        is the one a just-opened project asked for: the project counts as saved from here,
        as its spec now reads the way the loader writes it."""
        from_project = self.awaiting_dataset
        self.awaiting_dataset = False
        self.set_dataset(spec)
        self._settle_opened_project(from_project)
        return from_project

    def dataset_failed(self) -> None:
        """The dataset did not load. An opened project is still as it was opened."""
        from_project = self.awaiting_dataset
        self.awaiting_dataset = False
        self._settle_opened_project(from_project)

    def _settle_opened_project(self, from_project: bool) -> None:
        if from_project and not self.restored_unsaved:
            self._saved = self._form()
        if from_project:
            self.restored_unsaved = False
        self._check_modified()

    # -- weights --------------------------------------------------------------------------------

    def take_pending_weights(self) -> Path | None:
        """A new model is being built: the saved weights to load into it, once (None after).

        None while the project's dataset is still loading: those weights belong to the model
        built for it. The new model starts with fresh weights unless
        ``mark_weights_restored`` follows.
        """
        if self.awaiting_dataset:
            return None
        path, self.pending_weights = self.pending_weights, None
        self.weights_restored = False
        return path

    def mark_weights_restored(self) -> None:
        self.weights_restored = True

    def mark_weights_changed(self) -> None:
        """Training (or a reset) changed the weights: unsaved work."""
        self.weights_dirty = True
        self._check_modified()

    def mark_weights_reset(self) -> None:
        """Fresh random weights: nothing trained is left, and the next Train is a new run."""
        self.weights_restored = False
        self.current_run = None
        self.mark_weights_changed()

    # -- runs and run state ---------------------------------------------------------------------

    def set_run_state(self, state: RunState | str, detail: str = "") -> None:
        self.run_state = RunState(state)
        self.run_detail = detail
        self.events.run_state.emit(self.run_state)
        run = self.current_run
        wanted = {RunState.TRAINING: "training", RunState.PAUSED: "paused"}.get(self.run_state)
        live = run is not None and run.status in ("training", "paused")
        if live and wanted and run.status != wanted:  # the Runs dock reads "paused" too
            run.status = wanted
            self.events.run_updated.emit(run)

    def _take_saved_runs(self, metadata: dict) -> None:
        """The runs a project file kept replace this session's, and a project without any
        leaves none behind: one project at a time (issue 31). The one that was current
        waits in ``resumable_run`` until its weights (and optimizer) are back."""
        self.resumable_run = None
        saved = metadata.get("runs")
        runs = [run_from_dict(data) for data in (saved if isinstance(saved, list) else [])]
        self.runs = [run for run in runs if run is not None]
        self.current_run = None
        self._runs_started = max((run.number for run in self.runs), default=0)
        wanted = metadata.get("current_run")
        self.resumable_run = next((run for run in self.runs if run.number == wanted), None)
        self.events.runs_changed.emit()

    def resume_run(self, history: list[dict] | None = None) -> Run | None:
        """The saved project's weights are loaded: its current run continues from here
        (``history``: the checkpoint's, when it knows more epochs than the project file)."""
        run, self.resumable_run = self.resumable_run, None
        if run is None:
            return None
        if history and len(history) > len(run.history):
            run.history = list(history)
        self.current_run = run
        self.events.run_updated.emit(run)
        return run

    def forget_current_run(self) -> None:
        """A new model or fresh weights: the next Train starts a new run."""
        if self.current_run is None:
            return
        self.current_run = None
        self.events.current_run_forgotten.emit()

    def start_run(self, dataset_name: str) -> Run:
        """The run the next epochs belong to: the current one continued, or a new one (with
        the settings as they are now)."""
        run = self.current_run
        if run is None:
            self._runs_started += 1
            run = Run(self._runs_started, dataset_name, copy.deepcopy(self.model), {})
            self.runs.append(run)
            self.current_run = run
            self.events.runs_changed.emit()
        run.status = "training"
        run.settings = copy.deepcopy(vars(self.training))
        self.events.run_updated.emit(run)
        return run

    def add_finished_run(
        self, dataset_name: str, model: dict, settings: dict, history: list, status: str
    ) -> Run:
        """A run trained elsewhere (a sweep's trial): kept and shown like the others."""
        self._runs_started += 1
        run = Run(self._runs_started, dataset_name, copy.deepcopy(model), dict(settings))
        run.history, run.status = list(history), status
        self.runs.append(run)
        self.events.runs_changed.emit()
        return run

    def import_runs(self, runs: list[Run], source: str) -> list[Run]:
        """Runs of another project file, added on purpose to compare with (never by opening
        a project): numbered after this project's runs and labelled with ``source``."""
        added = []
        for run in runs:
            self._runs_started += 1
            copy_ = Run(
                self._runs_started,
                run.dataset,
                copy.deepcopy(run.model_config),
                copy.deepcopy(run.settings),
                [dict(epoch) for epoch in run.history],
                "stopped" if run.status in ("training", "paused") else run.status,
                source=source,
            )
            added.append(copy_)
        if added:
            self.runs.extend(added)
            self.events.runs_changed.emit()
            self._check_modified()
        return added

    def note_live_setting(self, key: str, value) -> None:
        """A setting changed while the current run trains (the learning rate): the run
        trains with it from now on, so its row shows it."""
        run = self.current_run
        if run is not None and run.settings.get(key) != value:
            run.settings[key] = value
            self.events.run_updated.emit(run)

    def record_epochs(self, epochs: list[dict]) -> None:
        """Epoch reports of the current run, as the training worker sent them."""
        if self.current_run is None:
            return
        self.current_run.history.extend(epochs)
        self.events.run_updated.emit(self.current_run)

    def finish_run(self, status: str, history: list[dict] | None = None) -> None:
        """The current run ended (``status``: completed, stopped, nan, early_stopping,
        failed); ``history`` replaces the epochs recorded so far when given."""
        run = self.current_run
        if run is None:
            return
        if history:
            run.history = list(history)
        run.status = status
        self.events.run_updated.emit(run)

    def branch_run(self, parent: Run, epoch: int) -> Run:
        """A new run continued from epoch ``epoch`` of ``parent`` (which stays untouched): the
        parent's first ``epoch`` epochs as its history, its snapshot of that epoch as the start
        of its timeline, the settings of now. It becomes the current run (issue 19)."""
        self._runs_started += 1
        run = Run(
            self._runs_started,
            parent.dataset,
            copy.deepcopy(parent.model_config),
            copy.deepcopy(vars(self.training)),
            [dict(entry) for entry in parent.history[:epoch]],
            "stopped",
            branched_from={"run": parent.number, "epoch": int(epoch)},
        )
        if parent.timeline is not None:
            run.timeline = parent.timeline.copy_until(epoch)
        self.runs.append(run)
        self.current_run = run
        self.resumable_run = None
        self.events.runs_changed.emit()
        self.events.run_updated.emit(run)
        return run

    def timelines(self) -> dict:
        """Run number → timeline, for every run that has one (what a save keeps)."""
        return {run.number: run.timeline for run in self.runs if run.timeline is not None}

    def attach_timelines(self, timelines: dict) -> None:
        """Timelines read back from a saved checkpoint, given to the runs they belong to."""
        for run in self.runs:
            if run.number in timelines:
                run.timeline = timelines[run.number]

    def clear_finished_runs(self) -> None:
        """Forget every run except the current one and any still training."""
        kept = [r for r in self.runs if r is self.current_run or r.status in ("training", "paused")]
        if len(kept) != len(self.runs):
            self.runs = kept
            self.events.runs_changed.emit()
