"""An optimizer step on two cores: one half of the flat buffers updated on a helper thread
while the calling thread updates the other half.

An optimizer's update is elementwise (Adam: ten passes over every weight, its two moments
and a scratch array), so the two halves of the flat buffers (engine/flat.py) can be updated
at the same time. NumPy lets go of Python's lock inside each pass, so two threads do run
at once. For the MNIST MLP (101,770 weights) Adam's step is about a quarter of the epoch on
one core, while the second core, which BLAS uses for the matrix products, waits.

The fit loop hands a :class:`StepHalves` to ``Optimizer.step`` only while BLAS has two free
cores (the load is looked at before every epoch, engine/blas.py): on a busy machine a thread
that must wait for a core to do its half would make the step slower, not faster.

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
import threading
from collections.abc import Callable

from nnstudio.engine.blas import cores_for_this_process

#: Buffers smaller than this are updated in one go: handing half of it to the other thread
#: (20–50 µs) would cost more than it saves. The MNIST MLP has 101,770 weights.
MIN_SPLIT_SIZE = 65_536


#: NNSTUDIO_SPLIT_STEPS=0 keeps every step on one core (to compare).
SETTING = "NNSTUDIO_SPLIT_STEPS"


def step_halves_for(model) -> StepHalves | None:
    """A helper for ``model``'s fit when its steps are worth splitting and this process may
    run on two cores; else None (toy networks start no thread)."""
    if os.environ.get(SETTING, "").strip() == "0" or cores_for_this_process() < 2:
        return None
    return StepHalves() if StepHalves.worth_it(model.count_params()) else None


class StepHalves:
    """A helper thread that updates the second half of an optimizer's flat buffers.

    ``run(update, first, second)`` calls ``update(*first)`` here and ``update(*second)`` on
    the helper; it returns when both are done and raises what either raised."""

    def __init__(self):
        self._go = threading.Event()
        self._done = threading.Event()
        self._task: Callable[[], None] | None = None
        self._error: BaseException | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._serve, name="nnstudio-step-half", daemon=True)
        self._thread.start()

    @staticmethod
    def worth_it(size: int) -> bool:
        return size >= MIN_SPLIT_SIZE

    def run(self, update: Callable[..., None], first: tuple, second: tuple) -> None:
        self._error = None
        self._task = lambda: update(*second)
        self._done.clear()
        self._go.set()
        try:
            update(*first)
        finally:
            self._done.wait()  # never return while the helper still writes the buffers
        if self._error is not None:
            raise self._error

    def close(self) -> None:
        """End the helper thread (the fit is over)."""
        self._closed = True
        self._go.set()
        self._thread.join()

    def _serve(self) -> None:
        while True:
            self._go.wait()
            self._go.clear()
            if self._closed:
                return
            try:
                self._task()
            except BaseException as error:  # noqa: BLE001 - raised again by run()
                self._error = error
            finally:
                self._task = None
                self._done.set()
