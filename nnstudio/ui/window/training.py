"""TrainingController: train / pause / step / stop / reset, and one TrainingSession per run.

While a session runs, the model belongs to its worker thread: this controller only reads what
the session's signals carry, records the epochs in the document's current run and sets the
document's run state (the toolbar and the status bar follow that). Once the session ends, the
model is shared again with the Evaluate and Draw tabs.
"""

from __future__ import annotations

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
    """Runs training for the window: ``session`` is the running TrainingSession, or None."""

    def __init__(self, window, document):
        self.window = window
        self.document = document
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
        window.hyperparameters.learning_rate_changed.connect(self._on_learning_rate_changed)
        window.data_panel.confirm_load = self.confirm_dataset_change

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
        window = self.window
        if window.tabs.currentWidget() is window.builder:
            window.tabs.setCurrentWidget(window.training_tab)

    def toggle(self) -> None:
        """Space: pause a training run, else train (when the network can be trained, or
        once the loading project can)."""
        if self.document.run_state == RunState.TRAINING:
            self.pause()
        elif self.window.actionTrain.isEnabled() or self.document.awaiting_dataset:
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
        elif self.document.run_state == RunState.PAUSED:
            self.set_state(RunState.IDLE)  # a NaN pause has no session left to stop

    def reset_weights(self) -> None:
        """Fresh random weights: a new run starts with the next Train."""
        self.shutdown()
        model = self.window.models.model
        if model is None:
            return
        model.reset_parameters(self.document.training.seed)
        self.document.mark_weights_reset()
        self.new_run()
        self.window.models.share_model()
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
        # Settings stay locked only while a session owns the model (a NaN pause has none:
        # the user must be able to lower the learning rate).
        busy = self.session is not None
        self.window.hyperparameters.set_training_locked(busy)
        self.window.toolbar_batch.setEnabled(not busy)
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
        self.window.timeline.attach(bundle)  # the runs' timelines, when the file kept them
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
        plots = self.window.training_tab.plots
        plots.set_planned_epochs(self.target_epochs)
        plots.add_epochs(run.history)
        self.window.training_tab.caption.setText(
            f"{run.label} — {run.dataset}, epoch {len(run.history)}: Train continues it"
        )
        self.window.status.refresh()

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
        plots = self.window.training_tab.plots
        plots.add_epochs(run.history[start - 1 :] if start else [])  # its curves start at k
        parent = run.branched_from["run"]
        self.window.training_tab.caption.setText(
            f"{run.label} — from epoch {start} of Run {parent}"
        )
        self.window.status.refresh()

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
        tab = self.window.built_page("training")
        if tab is not None:
            tab.new_run()
        else:  # a Training tab made later starts empty: only the health dock shows rows
            self.window.health_panel.clear()
        self.window.status.refresh()

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

        window, model, dataset = self.window, self.window.models.model, self.window.models.dataset
        if model is None or dataset is None:
            window.show_message(NO_MODEL_MESSAGE, "warning")
            return False
        project = self.document.to_project()
        try:
            loss, optimizer = project.make_loss(), self._optimizer_for(project)
            config = project.fit_config()
            augment = project.make_augment(dataset)
        except ValueError as error:
            window.show_message(str(error), "error")
            return False
        run = self.document.start_run(dataset.name)
        done = len(run.history)
        # One meaning of Epochs everywhere (issue 31): Train trains that many more.
        self.target_epochs = done + project.training.epochs
        self.plan_epochs = project.training.epochs
        config.epochs = self.target_epochs
        window.training_tab.plots.set_planned_epochs(self.target_epochs)
        session = TrainingSession(
            model,
            loss,
            optimizer,
            dataset,
            config,
            augment,
            initial_epoch=done,
            history=list(run.history),
            parent=window,
        )
        self._connect(session)
        window.timeline.watch(session, run)  # before the worker owns the model
        self.session = session
        window.message_bar.hide()
        window.training_tab.caption.setText(f"{run.label} — {dataset.name}")
        session.start(paused=paused)
        cheap = model.count_params() <= CHEAP_PARAMETERS
        self.autosave_timer.start(AUTOSAVE_CHEAP_MS if cheap else AUTOSAVE_TRAINING_MS)
        self.set_state(RunState.PAUSED if paused else RunState.TRAINING)
        return True

    def _request_autosave_state(self) -> None:
        if self.session is not None and self.window.files.autosave_wanted():
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
            self.window.files.autosave_training_state,
        )
        for signal, slot in zip(self._signals(session), slots, strict=True):
            signal.connect(slot)

    def _on_learning_rate_changed(self, lr: float) -> None:
        if self.session is not None:
            self.session.set_learning_rate(lr)
            self.document.note_live_setting("learning_rate", lr)  # the Runs dock's LR column

    def _on_batch_progress(self, info: dict) -> None:
        self.last_batch = info
        if self.document.run_state == RunState.PAUSED and "batches" in info:
            # After Step: which batch it was and its loss, in the state line.
            detail = f"batch {info['batch']} of {info['batches']}, loss {info['loss']:.4g}"
            self.set_state(RunState.PAUSED, detail)
        if info.get("samples_per_second"):
            self.last_speed = float(info["samples_per_second"])
        self.window.training_tab.plots.add_batches(info.get("losses", ()))

    def _on_epoch_done(self, payload: dict) -> None:
        if self.document.current_run is None:
            return
        epochs = payload.get("epochs") or [payload]
        self.document.record_epochs(epochs)
        self.window.training_tab.plots.add_epochs(epochs)

    def _on_weights_snapshot(self, snapshot: dict) -> None:
        window = self.window
        if window.timeline.hold_live(snapshot):
            return  # the timeline shows a past epoch: kept for its way back to the end
        window.training_tab.apply_snapshot(snapshot)
        if window.tabs.currentWidget() is window.builder:
            window.builder.diagram.update_weights(snapshot)
        else:  # drawn with the weights when the Model tab shows (the timeline keeps those)
            window.builder.diagram.keep_gradients(snapshot.get("gradients"))

    def _on_session_finished(self, result: dict) -> None:
        window = self.window
        self._end_session()
        window.training_tab.plots.redraw_all()  # idle now: show the final state at once
        reason = result.get("stopped_reason") or "completed"
        self.document.finish_run(reason, result.get("history"))
        self.document.mark_weights_changed()
        if reason == "nan":
            window.show_message(result.get("message") or NAN_MESSAGE, "warning")
            self.set_state(RunState.PAUSED, "the loss became NaN")
        else:
            if reason == "early_stopping" and result.get("message"):
                window.show_message(result["message"], "info")
            self.set_state(RunState.IDLE)
        window.models.share_model()
        window.training_finished.emit(result)
        window.files.autosave_now()

    def _on_session_failed(self, message: str) -> None:
        self._end_session()
        self.document.finish_run("failed")
        self.window.show_message(message, "error")
        self.set_state(RunState.IDLE)
        self.window.training_finished.emit({"stopped_reason": "failed", "message": message})

    def _end_session(self) -> None:
        self.autosave_timer.stop()
        session, self.session = self.session, None
        if session is not None:
            if session.wait(5000):
                session.deleteLater()
            else:  # see shutdown
                self._stuck_sessions.append(session)
        if self.window.models.rebuild_pending:
            QTimer.singleShot(0, self.window.models.rebuild_model)  # edits made while it trained
