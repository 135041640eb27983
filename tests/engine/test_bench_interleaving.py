"""`nnstudio bench` takes nnstudio's and PyTorch's epochs in turns (fakes stand in for both)."""

from __future__ import annotations

import pytest

from nnstudio.cli import bench


class FakeEpochs:
    """Records when it ran; each epoch 'takes' the next of its given seconds."""

    def __init__(self, name, seconds, log):
        self.name, self.seconds, self.log, self.done = name, list(seconds), log, []

    def run_epoch(self):
        self.log.append(self.name)
        self.done.append(self.seconds[len(self.done)])
        return self.done[-1]

    def result(self):
        timed = self.done[bench.WARMUP_EPOCHS :]
        return {"seconds": timed, "median": bench._median(timed), "version": "x", "threads": 2}


@pytest.fixture
def fakes(monkeypatch):
    log = []
    nnstudio_seconds, torch_seconds = [9.0, 1.0, 3.0, 2.0], [9.0, 4.0, 6.0, 5.0]
    monkeypatch.setattr(
        bench, "NnstudioEpochs", lambda *a, **k: FakeEpochs("nnstudio", nnstudio_seconds, log)
    )
    monkeypatch.setattr(
        bench, "TorchEpochs", lambda *a, **k: FakeEpochs("torch", torch_seconds, log)
    )
    return log


def test_epochs_alternate_and_the_ratio_is_of_the_medians(fakes):
    entry = bench._time_interleaved("cnn", None, None, 3, True, 2, None)
    assert fakes == ["nnstudio", "torch", "torch", "nnstudio"] * 2
    assert entry["nnstudio"]["median"] == 2.0 and entry["torch"]["median"] == 5.0
    assert entry["ratio_to_torch"] == pytest.approx(0.4)


def test_without_torch_only_nnstudio_runs(fakes):
    entry = bench._time_interleaved("cnn", None, None, 3, False, 2, None)
    assert fakes == ["nnstudio"] * 4
    assert "torch" not in entry and "ratio_to_torch" not in entry
