"""The main window's training control: train/pause/step/stop/reset, the TrainingSession's
signals, runs, and the status bar (epoch counter, speed, time left).

While a session runs the model belongs to its worker thread: these methods only read what
the session's signals carry. ``TrainingMixin`` is one of the parts ``MainWindow`` is made of.
"""

from __future__ import annotations

from PySide6.QtCore import QTimer


class TrainingMixin:
    """Training control of ``MainWindow``."""

    # -- training -------------------------------------------------------------------------------

    def _init_training_state(self) -> None:
        self.session = None
        self.dataset = None
        self.model = None
        self.state = "idle"
        self.current_run = None
        self._optimizer = None
        self._optimizer_key = None
        self._target_epochs = 0
        self._last_batch: dict = {}
        self._last_speed = 0.0

    def _new_run_state(self) -> None:
        """Fresh weights or a new model: the next Train starts a new run."""
        self.current_run = None
        self._optimizer = None
        self._target_epochs = 0
        self._last_batch = {}
        self.training_tab.new_run()
        self._refresh_status()

    def train(self) -> None:
        """Train ▶: start, resume a paused session, or continue after a finished run."""
        if self.session is not None:
            if self.state == "paused":
                self.session.resume()
                self._set_state("training")
            return
        self._start_session(paused=False)

    def pause(self) -> None:
        if self.session is not None and self.state == "training":
            self.session.pause()
            self._set_state("paused")

    def step(self) -> None:
        """One batch, then paused (starts a paused session when none is running)."""
        if self.session is None and not self._start_session(paused=True):
            return
        self.session.step()
        self._set_state("paused", "one batch at a time")

    def stop(self) -> None:
        if self.session is not None:
            self.session.stop()
        elif self.state == "paused":
            self._set_state("idle")

    def reset_weights(self) -> None:
        self.shutdown_training()
        if self.model is None:
            return
        self.model.reset_parameters(self.hyperparameters.settings()["seed"])
        self._weights_restored = False
        self._weights_dirty = True
        self._new_run_state()
        self._share_model()
        self._set_state("idle")
        self._update_title()

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

        if self.model is None or self.dataset is None:
            self.show_message(
                "There is no valid model to train yet: pick a dataset and fix the "
                "problems shown on the Model tab.",
                "warning",
            )
            return False
        project = self._collect_project()
        try:
            loss, optimizer = project.make_loss(), self._optimizer_for(project)
            config = project.fit_config()
            augment = project.make_augment(self.dataset)
        except ValueError as error:
            self.show_message(str(error), "error")
            return False
        run = self._ensure_run(project)
        done = len(run.history)
        if done >= self._target_epochs:
            self._target_epochs = done + project.training.epochs
        config.epochs = self._target_epochs
        self.training_tab.plots.set_planned_epochs(self._target_epochs)
        session = TrainingSession(
            self.model,
            loss,
            optimizer,
            self.dataset,
            config,
            augment,
            initial_epoch=done,
            history=list(run.history),
            parent=self,
        )
        session.batch_progress.connect(self._on_batch_progress)
        session.epoch_done.connect(self._on_epoch_done)
        session.weights_snapshot.connect(self._on_weights_snapshot)
        session.finished.connect(self._on_session_finished)
        session.failed.connect(self._on_session_failed)
        self.session = session
        self.message_bar.hide()
        self.training_tab.caption.setText(f"{run.label} — {self.dataset.name}")
        session.start(paused=paused)
        self._set_state("paused" if paused else "training")
        return True

    def _ensure_run(self, project):
        if self.current_run is None:
            self.current_run = self.runs_panel.add_run(
                self.dataset.name, project.model, vars(project.training)
            )
        self.current_run.status = "training"
        self.current_run.settings = dict(vars(project.training))
        return self.current_run

    def _on_learning_rate_changed(self, lr: float) -> None:
        if self.session is not None:
            self.session.set_learning_rate(lr)

    def _on_batch_progress(self, info: dict) -> None:
        self._last_batch = info
        if info.get("samples_per_second"):
            self._last_speed = float(info["samples_per_second"])
        self.training_tab.plots.add_batches(info.get("losses", ()))

    def _on_epoch_done(self, payload: dict) -> None:
        if self.current_run is None:
            return
        epochs = payload.get("epochs") or [payload]
        self.current_run.history.extend(epochs)
        self.training_tab.plots.add_epochs(epochs)
        self._runs_dirty = True

    def _on_weights_snapshot(self, snapshot: dict) -> None:
        self.training_tab.apply_snapshot(snapshot)
        diagram = getattr(self.builder, "diagram", None) or getattr(
            self.builder, "network_diagram", None
        )
        if diagram is not None and self.tabs.currentWidget() is self.builder:
            diagram.update_weights(snapshot)

    def _on_session_finished(self, result: dict) -> None:
        self._end_session()
        self.training_tab.plots.redraw_all()  # idle now: show the final state at once
        run = self.current_run
        reason = result.get("stopped_reason") or "completed"
        if run is not None:
            if result.get("history"):
                run.history = list(result["history"])
            run.status = reason
            self.runs_panel.update_run(run)
        self._weights_dirty = True
        if reason == "nan":
            self.show_message(
                result.get("message")
                or "The loss became NaN; try a smaller "
                "learning rate. The last good weights were kept.",
                "warning",
            )
            self._set_state("paused", "the loss became NaN")
        else:
            if reason == "early_stopping" and result.get("message"):
                self.show_message(result["message"], "info")
            self._set_state("idle")
        self._share_model()
        self._update_title()
        self.training_finished.emit(result)
        self.autosave_now()

    def _on_session_failed(self, message: str) -> None:
        self._end_session()
        if self.current_run is not None:
            self.current_run.status = "failed"
            self.runs_panel.update_run(self.current_run)
        self.show_message(message, "error")
        self._set_state("idle")
        self.training_finished.emit({"stopped_reason": "failed", "message": message})

    def _end_session(self) -> None:
        session, self.session = self.session, None
        if session is not None:
            session.wait(5000)
            session.deleteLater()
        if getattr(self, "_rebuild_pending", False):
            QTimer.singleShot(0, self._rebuild_model)  # edits made while it trained

    def shutdown_training(self) -> None:
        """Stop a running session and wait for its thread (closing, opening, resetting)."""
        session = self.session
        if session is None:
            return
        for signal in (
            session.batch_progress,
            session.epoch_done,
            session.weights_snapshot,
            session.finished,
            session.failed,
        ):
            signal.disconnect()
        session.shutdown(30_000)
        self.session = None
        session.deleteLater()
        if self.current_run is not None:
            self.current_run.status = "stopped"
            self.runs_panel.update_run(self.current_run)
        self._set_state("idle")

    def _on_overlay_changed(self, runs) -> None:
        self.training_tab.plots.set_overlays(
            [(run.label, run.history) for run in runs if run is not self.current_run]
        )

    def _epoch_position(self, done: int, target: int) -> tuple[int, float]:
        """The epoch to show and the progress in epochs: while a run trains, the epoch it is
        in (not the last one finished) and how far into it, from the last batch report."""
        info = self._last_batch
        if self.session is None or done >= target or info.get("epoch") != done + 1:
            return done, float(done)
        fraction = info.get("batch", 0) / max(info.get("batches", 1), 1)
        return done + 1, done + min(fraction, 1.0)

    def _refresh_status(self) -> None:
        """Status bar and epoch counter, at most 4 times a second while training."""
        run = self.current_run
        done = len(run.history) if run is not None else 0
        target = max(self._target_epochs, done)
        shown, progress = self._epoch_position(done, target)
        self.epoch_label.setText(
            f"Epoch {shown} / {target or self.hyperparameters.settings()['epochs']}"
        )
        self.epoch_progress.setRange(0, 100 * max(target, 1))
        self.epoch_progress.setValue(round(100 * progress))
        self.status_epoch.setText(f"Epoch {shown} of {target}" if target else "")
        speed = self._last_speed
        self.status_speed.setText(f"{speed:,.0f} samples/s" if speed and self.session else "")
        self.status_eta.setText(self._time_left(done, target, speed))
        self._status_ticks = getattr(self, "_status_ticks", 0) + 1
        # The runs table repaints a whole row: once a second is plenty.
        if self._status_ticks % 4 == 0 and getattr(self, "_runs_dirty", False) and run:
            self._runs_dirty = False
            self.runs_panel.update_run(run)

    def _time_left(self, done: int, target: int, speed: float) -> str:
        if self.session is None or self.state != "training" or not speed or self.dataset is None:
            return ""
        seconds = (target - done) * len(self.dataset.x_train) / speed
        if seconds < 60:
            return f"{seconds:.0f} s left"
        return f"{seconds // 60:.0f} min {seconds % 60:02.0f} s left"
