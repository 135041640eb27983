"""TrainingControl between batches: stop always wins over a single step that is still running."""

from nnstudio.engine.fit import TrainingControl


def test_a_step_that_ends_after_stop_does_not_pause_the_loop_again():
    control = TrainingControl()
    control.pause()
    control.step_once()  # the loop runs one batch...
    control.stop()  # ...and Stop is pressed before that batch ends
    control.batch_done()
    assert control.stopped and not control.paused
    assert control.wait_while_paused(timeout=0)  # the loop goes on to see the stop


def test_a_step_without_stop_still_pauses_after_its_batch():
    control = TrainingControl()
    control.pause()
    control.step_once()
    control.step_once()
    control.batch_done()
    assert not control.paused  # one of the two steps is left
    control.batch_done()
    assert control.paused and not control.stopped
