"""TrainingController: train / pause / step / stop / reset, and one TrainingSession per run.

While a session runs, the model belongs to its worker thread: this controller only reads what
the session's signals carry, records the epochs in the document's current run and sets the
document's run state (the toolbar and the status bar follow that). Once the session ends, the
model is shared again with the Evaluate and Draw tabs.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QMessageBox

from nnstudio.project.document import RunState

NO_MODEL_MESSAGE = (
    "There is no valid model to train yet: pick a dataset and fix the problems shown on the "
    "Model tab."
)
NAN_MESSAGE = (
    "The loss became NaN; try a smaller learning rate. The last good weights were restored."
)
# While a run trains, the autosave asks the worker for a copy of the weights: every few
# minutes, or every few seconds (in practice each epoch end) when the model is small enough
# that copying and writing it costs nothing noticeable.
AUTOSAVE_TRAINING_MS = 180_000
AUTOSAVE_CHEAP_MS = 10_000
CHEAP_PARAMETERS = 1_000_000


class TrainingController:
    """Runs training for the window: ``session`` is the running TrainingSession, or None.

    Its collaborators are passed in: ``models`` (the dataset and model to train), ``status``
    and ``files`` (autosaves) at once, the timeline and the toolbar's Train action and batch
    box through ``connect_views`` once the window has made them. ``window`` is the parent of
    its sessions and dialogs, and sends ``training_finished``.
    """

    def __init__(self, window, document, *, models, status, files):
        self.window = window
        self.document = document
        self.models, self.status, self.files = models, status, files
        # The Training tab's page is made when first needed (see tab): a run shows there.
        self.built_page, self.health_panel = window.built_page, window.health_panel
        self.builder, self.tabs = window.builder, window.tabs
        self.hyperparameters = window.hyperparameters
        self.message_bar, self.show_message = window.message_bar, window.show_message
        self.training_finished = window.training_finished  # sent when a session ends
        self.timeline = self.train_action = self.batch_box = None  # see connect_views
        self._live_rate = None  # the learning rate the running session trains with
        self.session = None
        self.target_epochs = 0  # where the current run's epoch counter is heading
        self.plan_epochs = None  # the Epochs setting that target was planned with
        self.last_batch: dict = {}  # the latest batch report (the status bar reads it)
        self.last_speed = 0.0
        self._optimizer = None
        self._optimizer_key = None
        self.autosave_timer = QTimer(window, timeout=self._request_autosave_state)
        self._stuck_sessions: list = []
        self._train_when_ready = False  # Train was pressed while the project was loading
        # Dialogs made after this controller that draw live weights: watch_live_weights.
        self._live_weight_dialogs: list[Callable[[], bool]] = []
        document.events.training_changed.connect(self._follow_learning_rate)
        window.data_panel.confirm_load = self.confirm_dataset_change
        self.tabs.currentChanged.connect(self._follow_views)

    def connect_views(self, timeline, train_action, batch_box) -> None:
        """The views made after this controller: the timeline (it watches each session), the
        Train action (Space trains only when it is enabled) and the toolbar's batch box."""
        self.timeline, self.train_action, self.batch_box = timeline, train_action, batch_box

    @property
    def tab(self):
        """The Training tab's page, made now if it was not yet: a run's curves go there."""
        return self.window.training_tab

    @property
    def plots(self):
        return self.tab.plots

    # -- the commands ---------------------------------------------------------------------------

    def train(self) -> None:
        """Train ▶: start, resume a paused session, or continue after a finished run. Before
        the project's dataset is in, the press counts: training starts once it is ready."""
        if self.session is None and self.document.awaiting_dataset:
            self._train_when_ready = True
            self.set_state(RunState.IDLE, "Train starts as soon as the dataset has loaded")
            return
        if self.session is None:
            if self._start_session(paused=False):
                self._show_training_tab()
        elif self.document.run_state == RunState.PAUSED:
            self.session.resume()
            self.set_state(RunState.TRAINING)

    def confirm_dataset_change(self) -> bool:
        """Asked before another dataset replaces the one a run is training on."""
        if self.session is None:
            return True
        button = QMessageBox.StandardButton
        answer = QMessageBox.question(
            self.window,
            "Stop training?",
            "A run is training on this dataset. Stop it and switch to the new dataset? The "
            "model is then rebuilt for the new data (save the project first to keep it).",
            button.Yes | button.No,
            button.No,
        )
        return answer == button.Yes

    def _show_training_tab(self) -> None:
        """Train pressed on the Model tab: show the curves, or a short run is over unseen."""
        if self.tabs.currentWidget() is self.builder:
            self.tabs.setCurrentWidget(self.tab)

    def toggle(self) -> None:
        """Space: pause a training run, else train (when the network can be trained, or
        once the loading project can)."""
        if self.document.run_state == RunState.TRAINING:
            self.pause()
        elif self.train_action.isEnabled() or self.document.awaiting_dataset:
            self.train()

    def project_ready(self, trainable: bool) -> None:
        """The project's dataset is in and its model built (``trainable``) or not: a Train
        pressed while it loaded starts now, or is dropped (the problem is on screen)."""
        wanted, self._train_when_ready = self._train_when_ready, False
        if not wanted:
            return
        self.set_state(RunState.IDLE)
        if trainable:
            QTimer.singleShot(0, self.train)  # once the views have taken the new model

    def pause(self) -> None:
        if self.session is not None and self.document.run_state == RunState.TRAINING:
            self.session.pause()
            self.set_state(RunState.PAUSED)

    def step(self) -> None:
        """One batch, then paused (starts a paused session when none is running)."""
        if self.session is None and not self._start_session(paused=True):
            return
        self.session.step()
        self.set_state(RunState.PAUSED, "one batch at a time")

    def stop(self) -> None:
        if self.session is not None:
            self.session.stop()  # finished follows, and ends the run

    def reset_weights(self) -> None:
        """Fresh random weights: a new run starts with the next Train."""
        self.shutdown()
        model = self.models.model
        if model is None:
            return
        model.reset_parameters(self.document.training.seed)
        self.document.mark_weights_reset()
        self.new_run()
        self.models.share_model()
        self.set_state(RunState.IDLE)

    def shutdown(self) -> None:
        """Stop a running session and wait for its thread (closing, opening, new data)."""
        session = self.session
        if session is None:
            return
        for signal in self._signals(session):
            signal.disconnect()
        ended = session.shutdown(30_000)
        self.autosave_timer.stop()
        self.session = None
        if ended:
            session.deleteLater()
        else:  # deleting a QThread that still runs aborts the process: keep it instead
            self._stuck_sessions.append(session)
        self.document.finish_run("stopped")
        self.set_state(RunState.IDLE)

    # -- state ----------------------------------------------------------------------------------

    def set_state(self, state: RunState, detail: str = "") -> None:
        # Settings stay locked only while a session owns the model (after a blow-up the user
        # must be able to lower the learning rate).
        busy = self.session is not None
        self.hyperparameters.set_training_locked(busy)
        self.batch_box.setEnabled(not busy)
        self.document.set_run_state(state, detail)

    def new_run(self) -> None:
        """Fresh weights or a new model: the next Train starts a new run."""
        self.document.forget_current_run()
        self.new_run_view()

    def resume_from(self, bundle) -> None:
        """A reopened project's weights are in: its run continues where it stopped, with the
        curves shown, the epoch counter where it was and (from a checkpoint) the optimizer's
        momentum, so the next Train's loss follows on from the last one."""
        history = getattr(bundle, "history", None)
        run = self.document.resume_run(history)
        self.new_run_view()
        self.timeline.attach(bundle)  # the runs' timelines, when the file kept them
        if run is None:
            return
        self.target_epochs = max(len(run.history), int(bundle.metadata.get("target_epochs", 0)))
        self.plan_epochs = self.document.training.epochs
        optimizer = getattr(bundle, "optimizer", None)
        training = self.document.training
        fresh = self.document.to_project().make_optimizer() if optimizer is not None else None
        if optimizer is not None and type(optimizer) is type(fresh):
            self._optimizer = optimizer
            self._optimizer_key = (
                training.optimizer,
                repr(sorted(training.optimizer_settings.items())),
            )
        self.plots.set_planned_epochs(self.target_epochs)
        self.plots.add_epochs(run.history)
        self.tab.caption.setText(
            f"{run.label} — {run.dataset}, epoch {len(run.history)}: Train continues it"
        )
        self.status.refresh()

    def adopt_branch(self, run, optimizer) -> None:
        """``run`` was branched from an epoch of another run (the timeline): the next Train
        continues it with ``optimizer``, which carries that epoch's state."""
        self.new_run_view()
        training = self.document.training
        self._optimizer = optimizer
        self._optimizer_key = (
            training.optimizer,
            repr(sorted(training.optimizer_settings.items())),
        )
        self.target_epochs = len(run.history)
        start = run.branch_epoch
        self.plots.add_epochs(run.history[start - 1 :] if start else [])  # curves start at k
        parent = run.branched_from["run"]
        self.tab.caption.setText(f"{run.label} — from epoch {start} of Run {parent}")
        self.status.refresh()

    def planned_target(self) -> int:
        """Where the epoch counter is heading: the running plan, or, once the Epochs setting
        was changed while idle, that many more (what the next Train will do)."""
        run = self.document.current_run
        done = len(run.history) if run is not None else 0
        if self.session is None and self.document.training.epochs != self.plan_epochs:
            return done + self.document.training.epochs
        return max(self.target_epochs, done)

    def next_train(self) -> tuple[int, int]:
        """What Train does next: (epochs it adds, the epoch it trains to)."""
        run = self.document.current_run
        done = len(run.history) if run is not None else 0
        more = self.document.training.epochs
        return more, done + more

    def next_train_text(self) -> str:
        """ "Train 40 epochs", or on a trained run "Train 40 more epochs (to 120)"."""
        more, to = self.next_train()
        noun = "epoch" if more == 1 else "epochs"
        if to == more:
            return f"Train {more} {noun}"
        return f"Train {more} more {noun} (to {to})"

    def new_run_view(self) -> None:
        self._optimizer = None
        self.target_epochs = 0
        self.plan_epochs = None
        self.last_batch = {}
        if (tab := self.built_page("training")) is not None:
            tab.new_run()
        else:  # a Training tab made later starts empty: only the health dock shows rows
            self.health_panel.clear()
        self.status.refresh()

    @property
    def run_optimizer(self):
        """The optimizer the current run continues with (its momentum, Adam's moments), or
        None until a run has one."""
        return self._optimizer

    def checkpoint_state(self) -> dict | None:
        """What Save needs to resume the current run exactly, or None (no optimizer yet)."""
        run = self.document.current_run
        if self._optimizer is None or run is None or not run.history:
            return None
        return {
            "optimizer": self._optimizer,
            "history": list(run.history),
            "target_epochs": self.target_epochs,
        }

    # -- a session ------------------------------------------------------------------------------

    def _optimizer_for(self, project):
        """Keep the optimizer (and its momentum / Adam moments) while its settings are the same."""
        t = project.training
        key = (t.optimizer, repr(sorted(t.optimizer_settings.items())))
        if self._optimizer is None or key != self._optimizer_key:
            self._optimizer, self._optimizer_key = project.make_optimizer(), key
        self._optimizer.lr = t.learning_rate
        return self._optimizer

    def _start_session(self, paused: bool) -> bool:
        from nnstudio.training.session import TrainingSession

        model, dataset = self.models.model, self.models.dataset
        if model is None or dataset is None:
            self.show_message(NO_MODEL_MESSAGE, "warning")
            return False
        project = self.document.to_project()
        try:
            loss, optimizer = project.make_loss(), self._optimizer_for(project)
            config = project.fit_config()
            augment = project.make_augment(dataset)
        except ValueError as error:
            self.show_message(str(error), "error")
            return False
        run = self.document.start_run(dataset.name)
        done = len(run.history)
        # One meaning of Epochs everywhere (issue 31): Train trains that many more.
        self.target_epochs = done + project.training.epochs
        self.plan_epochs = project.training.epochs
        config.epochs = self.target_epochs
        self.plots.set_planned_epochs(self.target_epochs)
        session = TrainingSession(
            model,
            loss,
            optimizer,
            dataset,
            config,
            augment,
            initial_epoch=done,
            history=list(run.history),
            parent=self.window,
        )
        self._connect(session)
        self.timeline.watch(session, run)  # before the worker owns the model
        self.session = session
        self._live_rate = project.training.learning_rate
        self.message_bar.hide()
        self.tab.caption.setText(f"{run.label} — {dataset.name}")
        self._follow_views()
        session.start(paused=paused)
        cheap = model.count_params() <= CHEAP_PARAMETERS
        self.autosave_timer.start(AUTOSAVE_CHEAP_MS if cheap else AUTOSAVE_TRAINING_MS)
        self.set_state(RunState.PAUSED if paused else RunState.TRAINING)
        return True

    def _request_autosave_state(self) -> None:
        if self.session is not None and self.files.autosave_wanted():
            self.session.request_state()

    @staticmethod
    def _signals(session):
        return (
            session.batch_progress,
            session.epoch_done,
            session.weights_snapshot,
            session.finished,
            session.failed,
            session.state_copy,
        )

    def _connect(self, session) -> None:
        slots = (
            self._on_batch_progress,
            self._on_epoch_done,
            self._on_weights_snapshot,
            self._on_session_finished,
            self._on_session_failed,
            self.files.autosave_training_state,
        )
        for signal, slot in zip(self._signals(session), slots, strict=True):
            signal.connect(slot)

    def _follow_learning_rate(self) -> None:
        """The document's learning rate changed while a run trains (typed in the dock, or a
        fix): the session trains with it from the next batch."""
        rate = self.document.training.learning_rate
        if self.session is not None and rate != self._live_rate:
            self._live_rate = rate
            self.session.set_learning_rate(rate)
            self.document.note_live_setting("learning_rate", rate)  # the Runs dock's LR column

    def watch_live_weights(self, shown: Callable[[], bool]) -> None:
        """A dialog that draws the weights as they change while ``shown()`` is true: the
        session keeps sending snapshots at the live pace for it."""
        self._live_weight_dialogs.append(shown)

    def _follow_views(self) -> None:
        """Tell the running session whether a view on screen draws the weights as they change
        (checked on each progress report and tab change: a dialog opening or the window being
        minimized is noticed within a quarter of a second)."""
        if self.session is not None:
            self.session.set_live_weights(self._weights_shown())

    def _weights_shown(self) -> bool:
        """The network diagram (Model tab), the decision boundary (Training tab, 2-D data) and
        the dialogs given to watch_live_weights (feature maps) draw live weights; the
        histograms do not need them more often than the quiet pace. A window never shown
        (tests) gets them all."""
        window = self.window
        if not window.isVisible():
            return True
        if window.isMinimized():
            return False
        page = self.tabs.currentWidget()
        if page is self.builder:
            return True
        if page is self.built_page("training") and not page.boundary.isHidden():
            return True
        return any(shown() for shown in self._live_weight_dialogs)

    def _on_batch_progress(self, info: dict) -> None:
        self._follow_views()
        self.last_batch = info
        if self.document.run_state == RunState.PAUSED and "batches" in info:
            # After Step: which batch it was and its loss, in the state line.
            detail = f"batch {info['batch']} of {info['batches']}, loss {info['loss']:.4g}"
            self.set_state(RunState.PAUSED, detail)
        if info.get("samples_per_second"):
            self.last_speed = float(info["samples_per_second"])
        self.plots.add_batches(info.get("losses", ()), info.get("lr"))

    def _on_epoch_done(self, payload: dict) -> None:
        if self.document.current_run is None:
            return
        epochs = payload.get("epochs") or [payload]
        self.document.record_epochs(epochs)
        self.plots.add_epochs(epochs)

    def _on_weights_snapshot(self, snapshot: dict) -> None:
        if self.timeline.hold_live(snapshot):
            return  # the timeline shows a past epoch: kept for its way back to the end
        self.tab.apply_snapshot(snapshot)
        # Every snapshot: the diagram makes its neuron pictures only while its tab shows
        # (and then from the latest weights), so on another tab this costs a few copies.
        self.builder.diagram.update_weights(snapshot)

    def _on_session_finished(self, result: dict) -> None:
        self._end_session()
        try:
            self._finish_run(result)
        finally:  # whatever went wrong above, what waits for the run's end hears of it
            self.training_finished.emit(result)
        self.files.autosave_now()

    def _finish_run(self, result: dict) -> None:
        # The run's end in the document and the window's state first: a view that failed to
        # draw must not leave the window believing that it still trains.
        reason = result.get("stopped_reason") or "completed"
        self.document.finish_run(reason, result.get("history"))
        self.document.mark_weights_changed()
        if reason == "nan":
            # The run is over, as after any stop: Train (not "Resume") continues it, Stop is off.
            self.show_message(result.get("message") or NAN_MESSAGE, "warning")
            self.set_state(RunState.IDLE, "stopped: the loss blew up")
        else:
            if reason == "early_stopping" and result.get("message"):
                self.show_message(result["message"], "info")
            self.set_state(RunState.IDLE)
        self.models.share_model()
        self.plots.redraw_all()  # idle now: show the final state at once

    def _on_session_failed(self, message: str) -> None:
        self._end_session()
        self.document.finish_run("failed")
        self.show_message(message, "error")
        self.set_state(RunState.IDLE)
        self.training_finished.emit({"stopped_reason": "failed", "message": message})

    def _end_session(self) -> None:
        self.autosave_timer.stop()
        session, self.session = self.session, None
        if session is not None:
            if session.wait(5000):
                session.deleteLater()
            else:  # see shutdown
                self._stuck_sessions.append(session)
        if self.models.rebuild_pending:
            QTimer.singleShot(0, self.models.rebuild_model)  # edits made while it trained
