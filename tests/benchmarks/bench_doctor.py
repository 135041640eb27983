"""The training doctor's costs (issue 17), measured on the MNIST MLP preset (784-512-10).

    NNSTUDIO_BENCH=1 NNSTUDIO_MNIST_DIR=... pytest tests/benchmarks/bench_doctor.py -s

- layer health left on: under 5 % of the epoch time (epochs alternate with and without the
  doctor, so a machine that gets busier mid-run slows both alike; the medians are compared);
- the LR range test: under 10 s, the data set already loaded.

The figures are printed (run with -s); the assertions are the goals.
"""

import statistics
import time

import pytest

from nnstudio.engine.fit import fit
from nnstudio.engine.fit.lr_finder import find_lr
from nnstudio.project import load_preset
from nnstudio.project.doctor import TrainingDoctor

pytestmark = pytest.mark.benchmark


@pytest.fixture
def mnist_mlp(mnist_path, monkeypatch):
    monkeypatch.setenv("NNSTUDIO_MNIST_DIR", str(mnist_path))
    project = load_preset("mnist-mlp")
    return project, project.load_dataset()


class TimedDoctor(TrainingDoctor):
    """The doctor, with the time its samples take inside the loop added up."""

    seconds = 0.0

    def before_update(self, model, loss=None):
        started = time.perf_counter()
        super().before_update(model, loss)
        self.seconds += time.perf_counter() - started

    def after_update(self, model):
        started = time.perf_counter()
        super().after_update(model)
        self.seconds += time.perf_counter() - started


def _epoch_seconds(project, dataset, doctor) -> float:
    model = project.build_model(dataset)
    config = project.fit_config()
    config.epochs = 1
    started = time.perf_counter()
    fit(
        model,
        project.make_loss(),
        project.make_optimizer(),
        dataset.x_train,
        dataset.y_train,
        config,
        callbacks=[doctor] if doctor is not None else [],
    )
    return time.perf_counter() - started


def test_health_costs_under_5_percent_of_an_mnist_mlp_epoch(mnist_mlp):
    """Two figures: the epoch time with and without the doctor (medians of alternating
    epochs: on a quiet machine the cleaner comparison), and the time the doctor's samples
    took inside the epochs that had them (robust when other work shares the cores)."""
    project, dataset = mnist_mlp
    _epoch_seconds(project, dataset, None)  # warm-up: caches, BLAS threads
    plain, doctored, shares = [], [], []
    for _ in range(4):
        plain.append(_epoch_seconds(project, dataset, None))
        doctor = TimedDoctor()
        doctored.append(_epoch_seconds(project, dataset, doctor))
        shares.append(doctor.seconds / (doctored[-1] - doctor.seconds))
    overhead = statistics.median(doctored) / statistics.median(plain) - 1
    share = statistics.median(shares)
    print(
        f"\nMNIST MLP epoch: {statistics.median(plain):.3f} s without, "
        f"{statistics.median(doctored):.3f} s with layer health ({100 * overhead:+.2f} %); "
        f"the health samples themselves: {100 * share:.2f} % of the epoch"
    )
    assert share < 0.05


def test_lr_finder_under_10_seconds_on_the_mnist_mlp(mnist_mlp):
    project, dataset = mnist_mlp
    model = project.build_model(dataset)
    started = time.perf_counter()
    result = find_lr(
        model,
        project.make_loss(),
        project.make_optimizer(),
        dataset.x_train,
        dataset.y_train,
        batch_size=project.training.batch_size,
    )
    seconds = time.perf_counter() - started
    print(
        f"\nLR finder on the MNIST MLP: {seconds:.2f} s, {len(result.lrs)} batches, "
        f"suggested {result.suggested_lr or float('nan'):.3g} ({result.stopped})"
    )
    assert seconds < 10
