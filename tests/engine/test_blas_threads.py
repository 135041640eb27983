"""BLAS threads chosen from the free cores: as many as are free, at least one, put back after."""

from __future__ import annotations

import numpy as np
import pytest

from nnstudio.engine import blas
from nnstudio.engine.fit import FitConfig, fit
from nnstudio.engine.layers import Dense
from nnstudio.engine.model import Sequential
from nnstudio.engine.optimizers import Adam

needs_control = pytest.mark.skipif(
    not blas.blas_controllable(), reason="this BLAS's threads cannot be changed"
)


@pytest.mark.parametrize(
    ("cores", "busy", "threads"), [(2, 0, 2), (2, 1, 1), (2, 9, 1), (8, 2.6, 5)]
)
def test_threads_are_the_cores_that_others_leave_free(monkeypatch, cores, busy, threads):
    monkeypatch.delenv(blas.THREADS_SETTING, raising=False)
    monkeypatch.setattr(blas, "cores_for_this_process", lambda: cores)
    monkeypatch.setattr(blas, "busy_elsewhere", lambda: busy)
    assert blas.threads_for_the_load() == threads


def test_a_fixed_count_overrides_the_load(monkeypatch):
    monkeypatch.setenv(blas.THREADS_SETTING, "3")
    monkeypatch.setattr(blas, "busy_elsewhere", lambda: 99)
    assert blas.threads_for_the_load() == 3


def test_the_load_elsewhere_is_measured_without_this_process():
    busy = blas.busy_elsewhere()
    assert 0 <= busy < 10_000


@needs_control
def test_training_uses_the_chosen_threads_and_puts_the_count_back(monkeypatch):
    before = blas.blas_threads()
    monkeypatch.setattr(blas, "threads_for_the_load", lambda: 1)
    seen = []

    class Threads:
        def on_batch_end(self, info):
            seen.append(blas.blas_threads())

    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    model = Sequential([Dense(8, activation="relu"), Dense(2)], input_shape=(4,))
    config = FitConfig(epochs=2, batch_size=16)
    fit(model, "softmax_crossentropy", Adam(lr=0.01), x, y, config, callbacks=[Threads()])
    assert seen and set(seen) == {1}
    assert blas.blas_threads() == before


@needs_control
def test_inside_a_single_threaded_block_the_load_changes_nothing(monkeypatch):
    monkeypatch.setattr(blas, "threads_for_the_load", lambda: 2)
    with blas.single_threaded_blas():
        threads = blas.LoadAwareThreads()
        assert threads.update() is None
        assert blas.blas_threads() == 1


@needs_control
def test_the_load_is_looked_at_again_only_after_a_while(monkeypatch):
    """Toy-set epochs take milliseconds: one look per epoch would cost as much as the epoch."""
    looks = []
    monkeypatch.setattr(blas, "threads_for_the_load", lambda: looks.append(1) or 1)
    threads = blas.LoadAwareThreads()
    try:
        assert [threads.update() for _ in range(5)] == [1] * 5
        assert len(looks) == 1
        threads.checked_at -= blas.RECHECK_SECONDS
        threads.update()
        assert len(looks) == 2
    finally:
        threads.restore()


@needs_control
def test_free_cores_never_raise_the_threads_the_process_started_with(monkeypatch):
    """OPENBLAS_NUM_THREADS=1 (a test worker's or the user's) stays 1 on an idle machine."""
    monkeypatch.delenv(blas.THREADS_SETTING, raising=False)
    monkeypatch.setattr(blas, "threads_for_the_load", lambda: 8)
    real = blas.blas_threads()
    threads = blas.LoadAwareThreads()
    threads.before = 1  # as if the process started with one thread
    try:
        assert threads.update() == 1
    finally:
        blas._set_threads(real)


@needs_control
def test_the_training_thread_sets_the_threads_after_the_gui_thread_did():
    """threadpoolctl lets only the first thread that set OpenBLAS's threads change them while
    it lives: the window's GUI thread set them first, and the training thread's choice was
    dropped without a word (two BLAS threads under load: 13-44 % of headless speed)."""
    import threading

    before = blas.blas_threads()
    try:
        blas._set_threads(2)  # the GUI thread, first (a unit map on one core, then back)
        if blas.blas_threads() != 2:
            pytest.skip("this BLAS does not run two threads here")
        seen = []

        def training_thread():
            blas._set_threads(1)
            seen.append(blas.blas_threads())

        worker = threading.Thread(target=training_thread)
        worker.start()
        worker.join()
        assert seen == [1]
        assert blas.blas_threads() == 1
    finally:
        blas._set_threads(before)
