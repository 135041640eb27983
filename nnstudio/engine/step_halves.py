"""An optimizer step on two cores: the two halves of the flat buffers updated at once, one by
the calling thread and one by a helper thread.

An optimizer's update is elementwise (Adam: ten passes over every weight, its two moments
and a scratch array), so the two halves of the flat buffers (engine/flat.py) can be updated
at the same time. NumPy lets go of Python's lock inside each pass, so two threads do run
at once. For the MNIST MLP (101,770 weights) Adam's step is 10–15 % of the epoch on one
core, while the second core, which BLAS uses for the matrix products, waits.

Each half is *claimed* by whichever thread is free first: the calling thread takes the
first, and the second too when the helper has not woken up by then (its core busy with
another program). So a late helper never makes a step wait for it to start; the caller
waits only for a half the helper already started.

The fit loop hands a :class:`StepHalves` to ``Optimizer.step`` only while BLAS has two free
cores (the load is looked at before every epoch, engine/blas.py).

>>> import numpy as np
>>> halves = StepHalves()
>>> a, b = np.ones(8), np.arange(8.0)
>>> halves.run(np.add, (a[:4], b[:4], a[:4]), (a[4:], b[4:], a[4:]))
>>> a.tolist()
[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
>>> halves.close()
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable

from nnstudio.engine.blas import cores_for_this_process

#: Buffers smaller than this are updated in one go: waking the helper (tens of µs) would
#: cost more than it saves. The MNIST MLP has 101,770 weights.
MIN_SPLIT_SIZE = 65_536

#: NNSTUDIO_SPLIT_STEPS=0 keeps every step on one core (to compare).
SETTING = "NNSTUDIO_SPLIT_STEPS"


def step_halves_for(model) -> StepHalves | None:
    """A helper for ``model``'s fit when its steps are worth splitting and this process may
    run on two cores; else None (toy networks start no thread)."""
    if os.environ.get(SETTING, "").strip() == "0" or cores_for_this_process() < 2:
        return None
    return StepHalves() if StepHalves.worth_it(model.count_params()) else None


class _Step:
    """One step's halves: each is claimed once, by whichever thread is free."""

    def __init__(self, update: Callable[..., None], halves: tuple[tuple, tuple]):
        self.update, self.halves = update, halves
        self._lock = threading.Lock()
        self._claimed = 0
        self._left = len(halves)
        self.done = threading.Event()
        self.error: BaseException | None = None

    def work(self) -> None:
        """Update halves until none is left to claim."""
        while (index := self._claim()) is not None:
            try:
                self.update(*self.halves[index])
            except BaseException as error:  # noqa: BLE001 - raised again by the caller
                self.error = self.error or error
            finally:
                self._finish()

    def _claim(self) -> int | None:
        with self._lock:
            if self._claimed == len(self.halves):
                return None
            self._claimed += 1
            return self._claimed - 1

    def _finish(self) -> None:
        with self._lock:
            self._left -= 1
            if self._left == 0:
                self.done.set()


class StepHalves:
    """A helper thread that shares optimizer steps with the calling thread.

    ``run(update, first, second)`` calls ``update(*first)`` and ``update(*second)``, one of
    them on the helper when it is free in time; it returns when both are done and raises
    what either raised."""

    def __init__(self):
        self._steps: queue.SimpleQueue[_Step | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name="nnstudio-step-half", daemon=True)
        self._thread.start()

    @staticmethod
    def worth_it(size: int) -> bool:
        return size >= MIN_SPLIT_SIZE

    def run(self, update: Callable[..., None], first: tuple, second: tuple) -> None:
        step = _Step(update, (first, second))
        self._steps.put(step)
        step.work()
        step.done.wait()  # never return while the helper still writes the buffers
        if step.error is not None:
            raise step.error

    def close(self) -> None:
        """End the helper thread (the fit is over)."""
        self._steps.put(None)
        self._thread.join()

    def _serve(self) -> None:
        # A step the caller finished alone (this thread woke late) has nothing left to claim.
        while (step := self._steps.get()) is not None:
            step.work()
