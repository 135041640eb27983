"""The window's status: the state label and speed / time left in the status bar, and the
epoch counter with its progress bar (which the toolbar shows).

``StatusView`` follows the document's run state and, while a run goes on, redraws four times
a second from what the training controller last heard from its session; the epoch number
changes only with a finished epoch's report (``run_updated``), when the Layer health dock and
the timeline change theirs.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QLabel, QProgressBar

from nnstudio.project.document import RunState
from nnstudio.ui import style

LABEL_WIDTH = 110  # pixels: the least the epoch, speed and time-left labels take
QWIDGETSIZE_MAX = (1 << 24) - 1  # Qt's "no maximum size" (not exported by PySide6)
STATE_WORDS = {RunState.IDLE: "Idle", RunState.TRAINING: "Training", RunState.PAUSED: "Paused"}


def epoch_position(done: int, target: int, last_batch: dict, running: bool) -> tuple[int, float]:
    """The epoch to show and the progress in epochs. The epoch is the last one finished, the
    one the Layer health dock and the timeline show from the same epoch report (a screenshot
    shows one epoch number); while a run trains, the progress also counts how far into the
    next epoch it is, from the last batch report, so the bar moves batch by batch."""
    if not running or done >= target or last_batch.get("epoch") != done + 1:
        return done, float(done)
    fraction = last_batch.get("batch", 0) / max(last_batch.get("batches", 1), 1)
    return done, done + min(fraction, 1.0)


def time_left_text(epochs_left: int, samples_per_epoch: int, speed: float) -> str:
    """ "42 s left", "3 min 05 s left"; "" without a speed to go by."""
    if not speed:
        return ""
    seconds = epochs_left * samples_per_epoch / speed
    if seconds < 60:
        return f"{seconds:.0f} s left"
    return f"{seconds // 60:.0f} min {seconds % 60:02.0f} s left"


def set_value_with_next_paint(bar: QProgressBar, value: int) -> None:
    """bar.setValue, painted with the window's next paint instead of at once: setValue
    repaints the bar on the spot (and with it the toolbar behind it), a paint of its own four
    times a second while a run trains; update() joins the status bar's labels set in the same
    refresh."""
    bar.setUpdatesEnabled(False)
    bar.setValue(value)
    bar.setUpdatesEnabled(True)  # which calls update()


class StatusView:
    """State, epoch, speed and time left, for the window's status bar and toolbar."""

    REFRESH_MS = 250

    def __init__(self, window, document):
        self.window = window
        self.document = document
        self.training = self.models = None  # see follow
        self.state_label = QLabel()
        self.state_label.setObjectName("stateLabel")
        self.state_label.setToolTip("Idle, training or paused.")
        self.status_epoch = QLabel()
        self.status_speed = QLabel()
        self.status_speed.setToolTip("Training speed in samples per second.")
        self.status_eta = QLabel()
        self.status_eta.setToolTip("Estimated time until the planned epochs are done.")
        self.next_train = QLabel()
        self.next_train.setObjectName("nextTrain")
        self.next_train.setToolTip(
            "What Train does next: the Epochs setting's count more, on the current run."
        )
        self._build_epoch_counter()
        bar = window.statusBar()
        bar.addWidget(self.state_label)
        bar.addPermanentWidget(self.next_train)
        for label in (self.status_epoch, self.status_speed, self.status_eta):
            label.setMinimumWidth(LABEL_WIDTH)
            bar.addPermanentWidget(label)
        self._timer = QTimer(window, interval=self.REFRESH_MS, timeout=self.refresh)
        document.events.run_state.connect(
            lambda state: self._show_state(state, document.run_detail)
        )
        # "Epoch 0 / 3000" as the Epochs box is typed into.
        document.events.training_changed.connect(self.refresh)
        # A finished epoch at once, as the Layer health dock and the timeline show it.
        document.events.run_updated.connect(lambda _run: self.refresh())

    def _build_epoch_counter(self) -> None:
        self.epoch_label = QLabel("Epoch 0 / 0")
        self.epoch_label.setObjectName("epochCounter")
        self.epoch_label.setMinimumWidth(LABEL_WIDTH)
        self.epoch_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.epoch_label.setToolTip("Epochs trained in this run / planned.")
        self.epoch_progress = QProgressBar()
        self.epoch_progress.setObjectName("epochProgress")
        self.epoch_progress.setFixedWidth(120)
        self.epoch_progress.setTextVisible(False)
        self.epoch_progress.setToolTip("Progress of the run.")

    def follow(self, training, models) -> None:
        """The training controller (the plan, speed and batch it reports) and the model
        lifecycle's window side (the dataset, for the time left): made after this view."""
        self.training, self.models = training, models

    def show_next_train(self, text: str) -> None:
        """ "Train 40 more epochs (to 120)" while idle; nothing while a run goes on."""
        self.next_train.setText(f"Next: {text}" if text else "")

    def _show_state(self, state: RunState, detail: str) -> None:
        color = style.STATE_COLORS.get(state.value, style.MUTED)
        text = STATE_WORDS[state] + (f" — {detail}" if detail else "")
        self.state_label.setText(f"<span style='color:{color}'>●</span> {text}")
        if state == RunState.IDLE:
            self._timer.stop()
        else:
            self._timer.start()
        self._hold_label_sizes(state != RunState.IDLE)
        self.refresh()

    def _changing_labels(self) -> tuple[QLabel, ...]:
        """The labels whose text changes while a run goes on (speed and time left at every
        refresh)."""
        return (self.epoch_label, self.status_epoch, self.status_speed, self.status_eta)

    def _hold_label_sizes(self, hold: bool) -> None:
        """While a run goes on, the changing labels keep the size they were laid out with. A
        label's new text otherwise makes the whole window lay itself out again (the status
        bar, the toolbar, the docks): about a millisecond of the GUI thread, four times a
        second, taken from training. A text that needs more width still gets it
        (``_set_text``). Back to a free size when the run is over."""
        for label in self._changing_labels():
            if hold and label.isVisible():
                label.setFixedSize(label.size())
            elif not hold:
                label.setMinimumSize(LABEL_WIDTH, 0)
                label.setMaximumSize(QWIDGETSIZE_MAX, QWIDGETSIZE_MAX)

    @staticmethod
    def _set_text(label: QLabel, text: str) -> None:
        """setText, widening a label whose size is held when the text would not fit."""
        if label.text() == text:
            return
        label.setText(text)
        held = label.minimumWidth() == label.maximumWidth()
        if held and label.sizeHint().width() > label.width():
            label.setFixedWidth(label.sizeHint().width())

    def refresh(self) -> None:
        """Epoch counter, progress, speed and time left as they are now."""
        training = self.training
        if training is None:
            return  # the window is still being made
        run = self.document.current_run
        done = len(run.history) if run is not None else 0
        target = training.planned_target()
        running = training.session is not None
        shown, progress = epoch_position(done, target, training.last_batch, running)
        planned = target or self.document.training.epochs
        self._set_text(self.epoch_label, f"Epoch {shown} / {planned}")
        self._show_progress(round(100 * progress), 100 * max(target, 1))
        self._set_text(self.status_epoch, f"Epoch {shown} of {target}" if target else "")
        speed = training.last_speed if running else 0.0
        self._set_text(self.status_speed, f"{speed:,.0f} samples/s" if speed else "")
        self._set_text(self.status_eta, self._time_left(target - done, speed))

    def _show_progress(self, value: int, maximum: int) -> None:
        """QProgressBar.setValue repaints the bar at once, on the GUI thread the training
        shares: while a run trains, the bar moves only when it would move by a pixel (a
        120-pixel bar over 200 epochs), exactly at any other time."""
        bar = self.epoch_progress
        if bar.maximum() != maximum:
            bar.setRange(0, maximum)
        step = abs(value - bar.value()) * max(bar.width(), 1)
        if self.document.run_state != RunState.TRAINING:
            bar.setValue(value)
        elif step >= maximum:
            set_value_with_next_paint(bar, value)

    def _time_left(self, epochs_left: int, speed: float) -> str:
        dataset = self.models.dataset
        if self.document.run_state != RunState.TRAINING or dataset is None:
            return ""
        return time_left_text(epochs_left, len(dataset.x_train), speed)
