"""The Draw tab's "Fine-tune on my drawings": a few epochs from the model answering now, on a
worker thread, then the accuracies before and after and a choice to keep or undo.

The training itself is ``nnstudio.project.fine_tune`` (no Qt); this box only starts it on a
``JobRunner`` thread with a copy of the model, so the canvas keeps answering with the old
weights while it runs, and hands the tuned model to the panel when it is done.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QWidget,
)

from nnstudio.data.digits import drawings_path, load_drawings
from nnstudio.engine.fit import TrainingControl
from nnstudio.project.fine_tune import EPOCHS, MNIST_TEST_SAMPLES, copy_model, fine_tune
from nnstudio.ui.widgets.jobs import JobRunner

START_TEXT = "Fine-tune on my drawings"


def mnist_splits():
    """(train, test) MNIST images as (X, y) in [0, 1], or (None, None) when not on this
    computer (fine-tuning then uses the drawings alone and cannot measure MNIST)."""
    from nnstudio.data import find_mnist, load_dataset

    if find_mnist("mnist") is None:
        return None, None
    mnist = load_dataset("mnist", scaling="none")
    return (mnist.x_train, mnist.y_train), (mnist.x_test, mnist.y_test)


class FineTuneBox(QWidget):
    """Start / stop, progress, the result, Keep and Undo. ``model_source()`` gives the
    DigitModel to start from. Signals: ``tuned(DigitModel, FineTuneResult)`` when a fine-tune
    ended, ``undone()`` and ``kept()`` after the user's choice."""

    tuned = Signal(object, object)
    undone = Signal()
    kept = Signal()

    def __init__(self, model_source, parent=None):
        super().__init__(parent)
        self._model_source = model_source
        self._control: TrainingControl | None = None
        self._runner = JobRunner(self)
        self._runner.done.connect(self._on_done)
        self._runner.failed.connect(self._on_failed)
        self._runner.progress.connect(self._on_progress)
        self._build()
        self.refresh()

    # -- public --------------------------------------------------------------------------
    def refresh(self) -> None:
        """Enable the button once there are drawings to learn from."""
        if self.is_running():
            return
        has_drawings = drawings_path().is_file()
        self.startButton.setEnabled(has_drawings)
        self.startButton.setToolTip(
            f"Train the model answering now for {EPOCHS} epochs on your kept drawings, each "
            "repeated so that they are a quarter of the images, mixed with 1,000 MNIST "
            "training images so that it does not forget MNIST. Shows the accuracy on your "
            f"drawings and on {MNIST_TEST_SAMPLES:,} MNIST test images before and after; you "
            "keep or undo the new weights."
            if has_drawings
            else "Keep a few corrected drawings first (above): they are what the model learns."
        )

    def is_running(self) -> bool:
        return self._control is not None

    def start(self) -> bool:
        """Fine-tune the model answering now; False (with a sentence) when it cannot."""
        source = self._model_source()
        if source is None:
            self.status.setText("No model reads drawings: open a model file first.")
            return False
        # The worker trains a copy; the canvas keeps answering with the model shown now.
        start_from = replace(source, model=copy_model(source.model))
        control = self._control = TrainingControl()

        def work(job):
            drawings = load_drawings()
            mnist_train, mnist_test = mnist_splits()
            return start_from, fine_tune(
                start_from, drawings, mnist_train, mnist_test, control=control, progress=job.report
            )

        self._show_running(True, f"Fine-tuning {source.title} on your drawings…")
        self._runner.start(work)
        return True

    def stop(self) -> None:
        if self._control is not None:
            self._control.stop()

    def forget(self) -> None:
        """The tuned model was dropped without a choice (another project opened)."""
        self._show_choice(False)
        self.status.setText("")

    def shutdown(self, msecs: int = 30_000) -> bool:
        """Stop a fine-tune and wait for its thread (closing the window)."""
        self.stop()
        return self._runner.wait(msecs)

    # -- layout --------------------------------------------------------------------------
    def _build(self) -> None:
        self.startButton = QPushButton(START_TEXT, objectName="digitFineTune")
        self.startButton.clicked.connect(self._start_or_stop)
        self.progress = QProgressBar(objectName="digitFineTuneProgress")
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(10)
        self.keepButton = QPushButton("Keep", objectName="digitFineTuneKeep")
        self.keepButton.setToolTip("Keep the fine-tuned weights: the model stays in the list.")
        self.keepButton.clicked.connect(self._keep)
        self.undoButton = QPushButton("Undo", objectName="digitFineTuneUndo")
        self.undoButton.setToolTip(
            "Drop the fine-tuned weights: the model from before answers again."
        )
        self.undoButton.clicked.connect(self._undo)
        self.status = QLabel(objectName="digitFineTuneStatus")
        self.status.setWordWrap(True)
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.startButton, 0, 0)
        layout.addWidget(self.keepButton, 0, 1)
        layout.addWidget(self.undoButton, 0, 2)
        layout.addWidget(self.progress, 1, 0, 1, 3)
        layout.addWidget(self.status, 2, 0, 1, 3)
        layout.setColumnStretch(3, 1)
        self._show_choice(False)
        self.progress.hide()

    # -- behaviour -----------------------------------------------------------------------
    def _start_or_stop(self) -> None:
        if self.is_running():
            self.stop()
            self.status.setText("Stopping after this batch…")
        else:
            self.start()

    def _show_running(self, running: bool, text: str = "") -> None:
        self.startButton.setText("Stop fine-tuning" if running else START_TEXT)
        self.progress.setVisible(running)
        self.progress.setRange(0, 0)
        if running:
            self._show_choice(False)
        if text:
            self.status.setText(text)

    def _show_choice(self, shown: bool) -> None:
        self.keepButton.setVisible(shown)
        self.undoButton.setVisible(shown)

    def _on_progress(self, done, total, message) -> None:
        if total:
            self.progress.setRange(0, int(total))
            self.progress.setValue(int(done))
        if message:
            self.status.setText(message)

    def _on_done(self, answer) -> None:
        start_from, result = answer
        self._control = None
        self._show_running(False)
        self.refresh()
        if result.epochs == 0:
            self.status.setText("Stopped before the first epoch ended: nothing changed.")
            return
        stopped = ", stopped early" if result.stopped else ""
        self.status.setText(
            f"{result.epochs} epoch{'s' if result.epochs != 1 else ''}{stopped}. {result.summary()}"
        )
        self._show_choice(True)
        self.tuned.emit(start_from, result)

    def _on_failed(self, error) -> None:
        self._control = None
        self._show_running(False)
        self.refresh()
        self.status.setText(f"Fine-tuning failed: {error}")

    def _keep(self) -> None:
        self._show_choice(False)
        self.status.setText(f"Kept. {self.status.text()}")
        self.kept.emit()

    def _undo(self) -> None:
        self._show_choice(False)
        self.status.setText("Undone: the model before fine-tuning answers again.")
        self.undone.emit()
