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


def test_a_watcher_sees_the_loop_parked_only_while_it_waits_in_a_pause():
    import threading

    control = TrainingControl()
    assert not control.wait_until_parked(timeout=0)  # running: never parked
    control.pause()
    assert not control.parked  # paused, but the loop has not reached its wait yet
    loop = threading.Thread(target=control.wait_while_paused)
    loop.start()
    assert control.wait_until_parked(timeout=10)
    control.resume()
    loop.join(timeout=10)
    assert not loop.is_alive() and not control.parked
