"""One epoch number in the window while a run trains: the Layer health dock's title, the
timeline (and its Branch button) and the status bar follow the same epoch report, so no
moment (no screenshot) shows two different epochs."""

from __future__ import annotations

import re

from PySide6.QtCore import QTimer


def _numbers(window) -> tuple[int | None, ...]:
    """The epoch each of the three says it shows (None: it names none yet)."""
    texts = (
        window.health_panel.title.text(),  # "After epoch 12, per layer:"
        window.training_tab.timeline.position.text(),  # "Epoch 12 — now"
        window.status.status_epoch.text(),  # "Epoch 12 of 300"
        window.training_tab.timeline.branch_button.text(),  # "Branch from epoch 12"
    )
    found = [re.search(r"[Ee]poch (\d+)", text) for text in texts]
    return tuple(int(match.group(1)) if match else None for match in found)


def test_the_health_title_the_timeline_and_the_status_bar_show_one_epoch(qtbot, window):
    window.show()
    window.tabs.setCurrentWidget(window.training_tab)
    window.health_dock.raise_()  # in front of Runs: a covered dock is drawn when it shows
    window.hyperparameters.epochs_box.setValue(300)
    window.hyperparameters.batch_size_box.setValue(8)  # epochs slow enough to watch
    seen = []
    # Between any two events, as a paint or a screenshot would see the window.
    look = QTimer(interval=7, timeout=lambda: seen.append(_numbers(window)))
    look.start()
    window.actionTrain.trigger()
    qtbot.waitUntil(lambda: len(window.current_run.history) >= 15, timeout=20_000)
    with qtbot.waitSignal(window.training_finished, timeout=10_000):
        window.actionStop.trigger()
    look.stop()
    seen.append(_numbers(window))
    during = [numbers for numbers in seen if None not in numbers]
    assert len(during) >= 3, seen
    assert [n for n in during if len(set(n)) > 1] == [], during
    assert len({n[0] for n in during}) >= 2  # the run moved on while it was watched
    done = len(window.current_run.history)
    assert seen[-1] == (done, done, done, done)
