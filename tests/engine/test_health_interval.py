"""Layer health is sampled every HEALTH_EVERY batches, and long epochs less often: at most
MAX_SAMPLES_PER_EPOCH samples after the first batch's, so the doctor stays near-free."""

from __future__ import annotations

import numpy as np

from nnstudio.engine.fit import FitConfig, fit
from nnstudio.engine.fit.health import HEALTH_EVERY, MAX_SAMPLES_PER_EPOCH, HealthMonitor
from nnstudio.engine.layers import Dense
from nnstudio.engine.model import Sequential
from nnstudio.engine.optimizers import Adam


def test_short_epochs_keep_the_interval_and_long_ones_stretch_it():
    monitor = HealthMonitor()
    assert monitor.interval_for(30) == HEALTH_EVERY
    assert monitor.interval_for(400) == 25
    assert monitor.sample_interval == 25  # what a blow-up's "in N batches" counts with
    assert 400 // monitor.interval_for(400) <= MAX_SAMPLES_PER_EPOCH


class CountingMonitor(HealthMonitor):
    def __init__(self):
        super().__init__()
        self.batches_sampled = []

    def before_update(self, model, loss=None):
        self.batches_sampled.append(len(self.batches_sampled))
        super().before_update(model, loss)


def _fit_one_epoch(samples, batch_size, monitor):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((samples, 3)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    model = Sequential([Dense(4, activation="relu"), Dense(2)], input_shape=(3,))
    config = FitConfig(epochs=1, batch_size=batch_size)
    fit(model, "softmax_crossentropy", Adam(lr=0.01), x, y, config, callbacks=[monitor])


def test_a_long_epoch_is_sampled_at_most_the_maximum_times_after_its_first_batch():
    monitor = CountingMonitor()
    _fit_one_epoch(samples=800, batch_size=2, monitor=monitor)  # 400 batches
    assert len(monitor.batches_sampled) == 1 + MAX_SAMPLES_PER_EPOCH
    assert monitor.epoch_summary()["0 Dense"]["grad_norm"] > 0


def test_a_short_epoch_is_sampled_every_health_every_batches():
    monitor = CountingMonitor()
    _fit_one_epoch(samples=60, batch_size=2, monitor=monitor)  # 30 batches
    assert len(monitor.batches_sampled) == 1 + 30 // HEALTH_EVERY
