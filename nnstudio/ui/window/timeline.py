"""TimelineController: the current run's timeline wired to the window (issue 19).

- While a session trains, its ``timeline_snapshot`` copies (the start, every epoch end) go
  into the run's :class:`~nnstudio.project.timeline.RunTimeline`; the slider under the
  Training tab's plots grows with them.
- Moving the slider back to epoch k shows that epoch everywhere: the decision boundary or
  regression surface, the weight histograms, the network diagram's weights, a marker on every
  curve, and the Evaluate tab offers "Evaluate epoch k". All of it is computed on a *copy* of
  the model (the scrub model) loaded with the snapshot's weights, never on the live one, so
  scrubbing works during training too: live snapshots are then held back, and the right end
  shows the latest of them again. At the end, when idle, the views show the current model.
- Branch (``actionBranchRun``, also in the slider's context menu): "Continue from epoch k as
  a new run" loads epoch k's weights and optimizer state into the idle model and a fresh
  optimizer built with today's settings, and starts a new run (a new row in the Runs dock)
  whose curves begin at epoch k, overlaid on its parent's. The parent run stays as it was.
  Branching needs the model, so it waits until training has stopped.
"""

from __future__ import annotations

import copy

from PySide6.QtCore import QTimer
from PySide6.QtGui import QAction

from nnstudio.project.timeline import (
    RunTimeline,
    Snapshot,
    restore,
    timelines_from_files,
    timelines_to_files,
)
from nnstudio.training.reporting import GRID_SIZE, SnapshotMaker, session_validation
from nnstudio.ui.widgets.jobs import JobRunner

REFRESH_MS = 100  # epochs of a tiny set end hundreds of times a second: coalesce the slider
# While the slider moves, the boundary is computed on a coarse grid (a quarter of the points:
# a step stays well under 100 ms); once it rests, the full grid follows.
COARSE_GRID = 50
REFINE_MS = 150


class TimelineController:
    """Keeps the timeline slider, the views it drives and the branch action."""

    def __init__(self, window, document, *, training, models):
        self.window = window  # the parent of its action, timers and jobs; its menus
        self.document = document
        self.training, self.models = training, models
        self.builder, self.tabs, self.runs_panel = window.builder, window.tabs, window.runs_panel
        self.show_message, self.status_bar = window.show_message, window.statusBar()
        # The Training tab's page, its slider and the curves' markers, and the Evaluate
        # page, once each is made (see _attach_bar, _attach_evaluation).
        self.tab = self.bar = self.slider = self.markers = self.evaluation = None
        self.scrubbed_epoch: int | None = None  # None: at the end (the current model)
        self.shown_weights: dict | None = None  # what the views were last given
        self._shown_run = None
        self._watched_run = None  # the run a session's snapshots belong to
        self._session_start = False  # the next snapshot starts a session
        self._anchor_settings = None  # the settings of the last snapshot
        self._after_change = False  # the last snapshot's settings were new
        self._held_live: dict | None = None  # the latest live snapshot while scrubbed
        self._scrub_model = None
        self._scrub_key = None
        self._makers: dict[int, object] = {}  # grid size -> SnapshotMaker on the scrub model
        self._note = ""  # the timeline's note on thinned epochs
        self._refresh_timer = QTimer(window, singleShot=True, interval=REFRESH_MS)
        self._refresh_timer.timeout.connect(self.refresh)
        self._refine_timer = QTimer(window, singleShot=True, interval=REFINE_MS)
        self._refine_timer.timeout.connect(self._refine)
        self._replaying = None  # (run, epoch, model) while a branch's start is replayed
        self._runner = JobRunner(window)
        self._runner.done.connect(self._on_replayed)
        self._runner.failed.connect(self._on_replay_failed)
        self.action = self._make_action()
        events = document.events
        events.runs_changed.connect(self.refresh)
        events.run_state.connect(lambda _state: self.refresh())  # Branch follows Train / Stop
        events.model_changed.connect(self.refresh)
        events.current_run_forgotten.connect(self.refresh)
        events.run_updated.connect(self._on_run_updated)
        window.when_page_built("training", self._attach_bar)
        window.when_page_built("evaluation", self._attach_evaluation)
        self.refresh()

    def _attach_bar(self, tab) -> None:
        from nnstudio.ui.plots.timeline_slider import EpochMarkers  # pyqtgraph: with the tab

        self.tab, self.bar, self.slider = tab, tab.timeline, tab.timeline.slider
        self.markers = EpochMarkers(tab.plots)
        self.slider.add_context_action(self.action)
        self.bar.branch_button.setDefaultAction(self.action)
        self.slider.epoch_chosen.connect(self._on_epoch_chosen)
        self.refresh()
        if self.shown_weights is not None:  # a model drawn before: its boundary and bars too
            self.return_to_end(redraw=True)

    def _attach_evaluation(self, page) -> None:
        self.evaluation = page
        page.evaluate_epoch_requested.connect(self.evaluate_epoch)
        page.offer_epoch(self.scrubbed_epoch)

    def _make_action(self) -> QAction:
        window = self.window
        action = QAction("Continue from this epoch as a new run", window)
        action.setObjectName("actionBranchRun")
        action.setStatusTip(
            "Start a new run from the timeline's epoch: its weights and optimizer state, with "
            "the settings you have now; the original run stays as it is"
        )
        action.setToolTip(action.statusTip())
        action.triggered.connect(self.branch)
        window.actionBranchRun = action
        window.addAction(action)
        window.training_menu.addSeparator()
        window.training_menu.addAction(action)
        return action

    # -- what a session sends -------------------------------------------------------------------

    def watch(self, session, run) -> None:
        """A session is about to train ``run`` (the model is still idle: copy it now)."""
        self.return_to_end()
        if run.timeline is None:
            run.timeline = RunTimeline()
        self._watched_run = run
        self._session_start = True  # the session's first snapshot is an exact anchor
        self._anchor_settings, self._after_change = None, False
        self._scrub_model_now()
        session.timeline_snapshot.connect(self._on_timeline_snapshot)

    def _on_timeline_snapshot(self, payload: dict) -> None:
        run = self._watched_run
        if run is None or run.timeline is None:
            return
        optimizer = payload.get("optimizer") or {}
        seed = payload.get("seed")
        settings = self._settings_now(run)  # what a replay from here trains with
        snapshot = Snapshot(int(payload["epoch"]), payload["weights"], optimizer, seed, settings)
        # Exact where a replay could not get to: a session's start, and the ends of the two
        # epochs around a learning rate changed while training (its snapshot may be handled
        # here just before or just after the change reached the worker).
        changed = self._anchor_settings is not None and settings != self._anchor_settings
        anchor = self._session_start or changed or self._after_change
        self._session_start, self._anchor_settings, self._after_change = False, settings, changed
        run.timeline.add(snapshot, anchor=anchor)
        if not self._refresh_timer.isActive():
            self._refresh_timer.start()

    def _settings_now(self, run) -> dict:
        """A copy of the run's settings, or the last snapshot's copy while they are the same:
        snapshots never change their settings, so epochs trained alike share one copy (a deep
        copy at every epoch was GUI time taken from training). The run's own dict changes in
        place (a learning rate changed while training), hence a copy when it differs."""
        last = self._anchor_settings
        if last is not None and run.settings == last:
            return last
        return copy.deepcopy(run.settings)

    def hold_live(self, snapshot: dict) -> bool:
        """A live weights snapshot: True when the views show a past epoch (it is kept for the
        way back to the end instead of being drawn)."""
        if self.scrubbed_epoch is None:
            return False
        self._held_live = snapshot
        return True

    # -- the slider -----------------------------------------------------------------------------

    def refresh(self) -> None:
        """The slider over the current run's kept epochs; back to the end for another run."""
        run = self.document.current_run
        if run is not self._shown_run:
            self._shown_run = run
            # No run now (Reset weights): the boundary and the bars show the fresh weights,
            # not the trained ones that are gone.
            self.return_to_end(redraw=run is None and self.training.session is None)
        self._update_action()
        if self.slider is None:
            return  # no Training tab yet: its slider is set when it is made
        timeline = run.timeline if run is not None else None
        epochs = timeline.epochs() if timeline is not None else []
        self.slider.set_epochs(epochs)
        self._note = timeline.spacing_note() if timeline is not None else ""
        self._show_position()

    def _show_position(self) -> None:
        """ "Epoch 12 — now": the run's last finished epoch, which the status bar and the
        Layer health dock show from the same epoch report. (The timeline's own last snapshot
        can be an epoch ahead: snapshots come every epoch, epoch reports a few a second.)"""
        run = self.document.current_run
        epochs = self.slider.epochs
        last = len(run.history) if run is not None and run.history else None
        if last is None and epochs:
            last = epochs[-1]
        shown = self.scrubbed_epoch if self.scrubbed_epoch is not None else last
        self.bar.show_position(shown, last, self._note)

    def _update_action(self) -> None:
        run = self.document.current_run
        epoch = self._branch_epoch()
        idle = self.training.session is None and self._replaying is None
        if not idle and self.scrubbed_epoch is None and run is not None and run.history:
            epoch = len(run.history)  # said as the status bar says it (it waits for the stop)
        self.action.setEnabled(idle and epoch is not None and self.models.model is not None)
        where = f"epoch {epoch}" if epoch is not None else "this epoch"
        self.action.setText(f"Continue from {where} as a new run")
        self.action.setIconText(f"Branch from {where}")  # the button beside the slider
        if run is not None and not idle:
            self.action.setToolTip("Stop training first: branching needs the model")
        else:
            self.action.setToolTip(self.action.statusTip())

    def _branch_epoch(self) -> int | None:
        run = self.document.current_run
        if run is None or run.timeline is None or not len(run.timeline):
            return None
        return self.scrubbed_epoch if self.scrubbed_epoch is not None else run.timeline.last

    def _on_epoch_chosen(self, epoch: int, at_end: bool) -> None:
        if at_end:
            self.return_to_end()
        else:
            self.show_epoch(epoch)
        self.refresh()

    def show_epoch(self, epoch: int) -> None:
        """The views as they were at the end of ``epoch`` (a kept one)."""
        run = self.document.current_run
        snapshot = run.timeline.get(epoch) if run is not None and run.timeline else None
        if snapshot is None:
            return
        payload = self._payload(snapshot.weights, COARSE_GRID)
        if payload is None:
            return
        self.scrubbed_epoch = epoch
        self._draw(payload, snapshot.weights)
        if payload.get("boundary") is not None:
            self._refine_timer.start()
        self.tab.plots.redraw_all()  # the curves up to date under the marker
        self.markers.show(epoch)
        if self.evaluation is not None:
            self.evaluation.offer_epoch(epoch)  # else offered when the page is made

    def return_to_end(self, redraw: bool = False) -> None:
        """The current model again (or the latest live snapshot while a session trains);
        the views are drawn again when they showed a past epoch, or when ``redraw``."""
        was, self.scrubbed_epoch = self.scrubbed_epoch, None
        self._refine_timer.stop()
        if self.markers is not None:
            self.markers.hide()
        if self.evaluation is not None:
            self.evaluation.offer_epoch(None)
        if was is None and not redraw:
            return
        held, self._held_live = self._held_live, None
        if self.training.session is not None:
            if held is not None:
                if self.tab is not None:
                    self.tab.apply_snapshot(held)
                self.builder.diagram.update_weights(held)
                self.shown_weights = held.get("weights")
            return
        model = self.models.model
        if model is not None:
            state = model.state_dict()
            payload = self._payload(state)
            if payload is not None:
                self._draw(payload, state)

    def _draw(self, payload: dict, weights: dict) -> None:
        tab = self.tab  # None until the Training tab is made: the diagram still follows
        if tab is not None and payload.get("boundary") is not None and not tab.boundary.isHidden():
            tab.boundary.set_boundary(payload["boundary"])
        if tab is not None and payload.get("histograms"):
            tab.histograms.set_histograms(payload["histograms"])
        self.shown_weights = weights
        diagram = {"weights": weights, "boundary": payload.get("boundary")}
        if self.scrubbed_epoch is not None:
            diagram["gradients"] = None  # a past epoch: its gradients were not kept
        # The diagram makes its neuron pictures only while its tab shows (see showEvent).
        self.builder.diagram.update_weights(diagram)

    def _refine(self) -> None:
        """The slider rests on a past epoch: its boundary on the full grid."""
        run, epoch = self.document.current_run, self.scrubbed_epoch
        snapshot = run.timeline.get(epoch) if epoch is not None and run and run.timeline else None
        if snapshot is None:
            return
        payload = self._payload(snapshot.weights, histograms=False)
        boundary = self.tab.boundary
        if payload is not None and payload.get("boundary") is not None and not boundary.isHidden():
            boundary.set_boundary(payload["boundary"])

    # -- the scrub model: a copy, never the live one ----------------------------------------------

    def _scrub_model_now(self):
        """A copy of the idle model for drawing past epochs, made again for a new model or
        dataset; while a session trains, the copy made before it started."""
        models = self.models
        if self.training.session is not None:
            return self._scrub_model
        key = (id(models.model), id(models.dataset))
        if key != self._scrub_key:
            self._scrub_key = key
            self._scrub_model = copy.deepcopy(models.model) if models.model is not None else None
            self._makers = {}
        return self._scrub_model

    def _payload(self, weights: dict, grid: int = GRID_SIZE, histograms=True) -> dict | None:
        """What a worker snapshot carries (weights, histograms, boundary grid) for ``weights``,
        made on the scrub model, on a ``grid`` × ``grid`` boundary grid."""

        model = self._scrub_model_now()
        dataset = self.models.dataset
        if model is None or dataset is None:
            return None
        try:
            model.load_state_dict(weights)
        except (ValueError, KeyError) as error:  # a run of another network
            self.status_bar.showMessage(f"This epoch cannot be shown: {error}", 6000)
            return None
        maker = self._makers.get(grid)
        if maker is None:
            loss = self.document.to_project().make_loss()
            maker = self._makers[grid] = SnapshotMaker(model, loss, dataset, grid_size=grid)
        return maker.make(histograms=histograms)

    # -- Evaluate the model of an epoch ---------------------------------------------------------

    def evaluate_epoch(self, epoch: int) -> None:
        run = self.document.current_run
        snapshot = run.timeline.get(epoch) if run is not None and run.timeline else None
        model = self._scrub_model_now()
        if snapshot is None or model is None:
            return
        evaluated = copy.deepcopy(model)  # the Evaluate tab keeps it; the scrub model moves on
        evaluated.load_state_dict(snapshot.weights)
        loss = self.document.to_project().make_loss()
        # The headline says which epoch's model it is about.
        self.evaluation.evaluate(evaluated, loss, self.models.dataset, about=f"Epoch {epoch}")

    # -- branching ------------------------------------------------------------------------------

    def branch(self) -> None:
        """Continue from the slider's epoch as a new run (see the module doc). The epoch's
        exact state is kept, or replayed on a worker thread first (the window stays live)."""
        parent, epoch = self.document.current_run, self._branch_epoch()
        if self.training.session is not None:
            self.show_message("Stop training first: a new run needs the model.", "info")
            return
        if parent is None or epoch is None or self.models.model is None:
            return
        start = parent.timeline.exact_before(epoch)
        if start is not None and start.epoch == epoch:
            self._branch_from(parent, epoch, start)
            return
        try:
            replay = self._replay_job(parent, epoch)
        except ValueError as error:  # ReplayError
            self.show_message(f"Cannot continue from epoch {epoch}: {error}", "warning")
            return
        self._replaying = (parent, epoch, self.models.model)
        self.action.setEnabled(False)
        first = start.epoch + 1 if start is not None else 1
        self.status_bar.showMessage(f"Replaying epochs {first}–{epoch} of {parent.label}…")
        self._runner.start(replay)

    def _replay_job(self, run, epoch: int):
        """A function for a worker: the exact state of ``run`` at ``epoch``, replayed from
        the exact snapshot before it with the settings the run had then, on copies."""
        from nnstudio.project.replay import ReplayError, exact_state, training_settings

        dataset = self.models.dataset
        if dataset is None or dataset.name != run.dataset:
            raise ReplayError(f"{run.label} trained on {run.dataset!r}; load that dataset first")
        project = self.document.to_project()
        if run.settings:
            project.training = training_settings(run.settings, project.training)
        model = copy.deepcopy(self._scrub_model_now())
        history = [dict(entry) for entry in run.history]
        validation = session_validation(dataset)  # as the run's sessions validated
        return lambda _job: exact_state(
            run.timeline, epoch, model, dataset, project, history, validation
        )

    def _on_replayed(self, start) -> None:
        replaying, self._replaying = self._replaying, None
        if replaying is None:
            return
        parent, epoch, model = replaying
        moved_on = (
            self.document.current_run is not parent
            or self.training.session is not None
            or self.models.model is not model
        )
        if moved_on:  # another run, a session or a new model since: the branch is moot
            self.status_bar.clearMessage()
            self.refresh()
            return
        self._branch_from(parent, epoch, start)

    def _on_replay_failed(self, error) -> None:
        replaying, self._replaying = self._replaying, None
        epoch = replaying[1] if replaying else "?"
        self.show_message(f"Cannot continue from epoch {epoch}: {error}", "warning")
        self.refresh()

    def _branch_from(self, parent, epoch: int, start) -> None:
        """The new run from ``start``, the exact state of ``parent`` at ``epoch``."""
        model, project = self.models.model, self.document.to_project()
        try:
            optimizer = project.make_optimizer()
            optimizer.lr = float(self.document.training.learning_rate)
            carried = restore(start, model, optimizer)
        except ValueError as error:
            self.show_message(f"Cannot continue from epoch {epoch}: {error}", "warning")
            return
        self.scrubbed_epoch = None
        run = self.document.branch_run(parent, epoch)
        run.timeline.add(start, anchor=True)  # exact from its first epoch on
        self.training.adopt_branch(run, optimizer)
        self.document.mark_weights_changed()
        self.models.share_model()
        if parent in self.runs_panel.runs:
            self.runs_panel.set_checked(parent, True)  # its curves behind the new ones
        self.refresh()
        self.return_to_end(redraw=True)  # the branch's start: the model as it is now
        fresh = "" if carried else f" ({optimizer.label} starts with a fresh state)"
        self.status_bar.showMessage(
            f"{run.label} continues from epoch {epoch} of {parent.label}{fresh}; press Train.",
            8000,
        )

    # -- files ----------------------------------------------------------------------------------

    def files(self) -> tuple[dict, dict] | None:
        """Every run's timeline for the project's checkpoint, or None when there is none."""
        timelines = self.document.timelines()
        if not timelines:
            return None
        meta, arrays = timelines_to_files(timelines)
        current = self.document.current_run
        meta["current"] = current.number if current is not None else None
        return meta, arrays

    def attach(self, bundle) -> None:
        """A reopened project's checkpoint: give its runs their timelines back."""
        problem = getattr(bundle, "timeline_problem", "")
        stored = getattr(bundle, "timeline", None)
        try:
            if stored is not None:
                self.document.attach_timelines(timelines_from_files(*stored))
        except ValueError as error:
            problem = str(error)
        if problem:
            self.status_bar.showMessage(
                f"The runs' timelines could not be read ({problem}); the runs are kept.", 8000
            )
        self.refresh()
        # The reopened model's boundary and histograms now, not only after the next Train.
        self.return_to_end(redraw=True)

    # -- following the document -----------------------------------------------------------------

    def _on_run_updated(self, _run) -> None:
        if self.slider is not None:
            self._show_position()  # the epoch now, with the status bar and the health dock
            self._update_action()  # "Branch from epoch 12" too
        if not self._refresh_timer.isActive():
            self._refresh_timer.start()  # the slider's epochs: coalesced
