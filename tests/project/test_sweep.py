"""Sweeps without the command line: reading --grid and --ranges, building the trials, one
trial, the best of them, and the local process pool."""

import json
import os
import queue
import sys
import threading
from pathlib import Path

import pytest

from nnstudio.project import DatasetSpec, Project, TrainingSettings
from nnstudio.project.sweep import (
    SweepError,
    best_trial,
    default_metric,
    grid_settings,
    make_trials,
    one_core_per_trial,
    parse_grid,
    parse_ranges,
    random_settings,
    run_trial,
)
from nnstudio.project.sweep_runner import (
    SweepOutcome,
    _collect,
    _import_distributed,
    _report_when_done,
    run_trials,
)


def small_project(**training) -> Project:
    return Project(
        name="moons",
        dataset=DatasetSpec("moons", {"samples": 120}),
        model={
            "layers": [
                {"type": "Dense", "units": 8, "activation": "relu"},
                {"type": "Dense", "units": 8, "activation": "relu"},
                {"type": "Dense", "units": 2},
            ]
        },
        training=TrainingSettings(**{"epochs": 2, **training}),
    )


# -- reading the specs --------------------------------------------------------------------------


def test_a_grid_reads_numbers_words_and_layer_settings_in_order():
    grid = parse_grid("lr=1e-3,1e-2; batch_size=32,128; layers.1.units=16; optimizer=sgd,adam")
    assert grid == {
        "learning_rate": [0.001, 0.01],
        "batch_size": [32, 128],
        "layers.1.units": [16],
        "optimizer": ["sgd", "adam"],
    }
    settings = grid_settings(grid)
    assert len(settings) == 8
    assert settings[0] == {
        "learning_rate": 0.001,
        "batch_size": 32,
        "layers.1.units": 16,
        "optimizer": "sgd",
    }
    assert settings[1]["optimizer"] == "adam"  # the last setting varies fastest


@pytest.mark.parametrize(
    "text, words",
    [
        ("lr", "NAME=VALUES"),
        ("lr=", "NAME=VALUES"),
        ("", "at least one setting"),
        ("lr=1e-3,,1e-2", "empty value"),
        ("lr=1;lr=2", "given twice"),
        ("lr=log(1e-4,1e-1)", "--random"),
    ],
)
def test_a_bad_grid_says_what_to_write(text, words):
    with pytest.raises(SweepError, match=words):
        parse_grid(text)


def test_random_ranges_draw_within_their_bounds_and_the_same_seed_draws_the_same():
    space = parse_ranges("lr=log(1e-4,1e-1); units=int(16,128); optimizer=adam,sgd")
    assert space["learning_rate"] == ("log", 1e-4, 1e-1)
    draws = random_settings(space, 50, seed=3)
    assert all(1e-4 <= d["learning_rate"] <= 1e-1 for d in draws)
    assert all(isinstance(d["units"], int) and 16 <= d["units"] <= 128 for d in draws)
    assert {d["optimizer"] for d in draws} == {"adam", "sgd"}
    assert draws == random_settings(space, 50, seed=3)
    assert draws != random_settings(space, 50, seed=4)
    # Printed values are the values trained with: four significant digits, nothing hidden.
    assert all(float(f"{d['learning_rate']:.4g}") == d["learning_rate"] for d in draws)


@pytest.mark.parametrize(
    "text, words",
    [
        ("lr=log(-1,1)", "above 0"),
        ("lr=log(1,0.1)", "below the second"),
        ("units=int(1.5,3)", "whole-number"),
        ("lr=normal(0,1)", "not a range"),
        ("lr=log(a,b)", "must be numbers"),
    ],
)
def test_a_bad_range_says_what_to_write(text, words):
    with pytest.raises(SweepError, match=words):
        parse_ranges(text)


# -- trials -------------------------------------------------------------------------------------


def test_trials_are_the_project_with_each_setting_applied():
    settings = grid_settings(parse_grid("lr=0.05;layers.0.units=4;activation=tanh;seed=7"))
    (trial,) = make_trials(small_project(), settings)
    layers = trial["project"]["model"]["layers"]
    assert trial["seed"] == 7 and trial["project"]["training"]["seed"] == 7
    assert trial["project"]["training"]["learning_rate"] == 0.05
    assert layers[0] == {"type": "Dense", "units": 4, "activation": "tanh"}
    assert layers[1]["activation"] == "tanh"
    assert "activation" not in layers[2]  # the output layer had none: left as it was
    json.dumps(trial, allow_nan=False)  # plain JSON: what travels to a worker


def test_bare_units_change_the_hidden_layers_but_never_the_output():
    (trial,) = make_trials(small_project(), [{"units": 32}])
    assert [layer["units"] for layer in trial["project"]["model"]["layers"]] == [32, 32, 2]


def test_another_optimizer_drops_the_old_ones_settings():
    project = small_project(optimizer="sgd", optimizer_settings={"momentum": 0.9})
    adam, sgd = make_trials(project, [{"optimizer": "adam"}, {"optimizer": "sgd"}])
    assert adam["project"]["training"]["optimizer_settings"] == {}
    assert sgd["project"]["training"]["optimizer_settings"] == {"momentum": 0.9}


@pytest.mark.parametrize(
    "settings, words",
    [
        ({"colour": 3}, "unknown setting 'colour'"),
        ({"layers.9.units": 3}, "numbered 0 to 2"),
        ({"layers.x.units": 3}, "not a layer number"),
        ({"batch_size": 0}, "batch_size=0 cannot run"),
        ({"optimizer": "adamm"}, "optimizer=adamm cannot run"),
        ({"layers.0.units": "abc"}, "layers.0.units=abc cannot run"),
    ],
)
def test_a_setting_that_cannot_work_fails_before_any_trial_runs(settings, words):
    with pytest.raises(SweepError, match=words):
        make_trials(small_project(), [settings])


def test_a_trial_trains_and_reports_where_it_ran():
    (trial,) = make_trials(small_project(), [{"learning_rate": 0.05}])
    record = json.loads(run_trial(json.dumps(trial)))
    assert record["trial"] == 1 and record["settings"] == {"learning_rate": 0.05}
    assert record["metrics"]["epochs_completed"] == 2
    assert 0.0 <= record["metrics"]["val_accuracy"] <= 1.0
    assert record["metrics"]["test_accuracy"] is not None
    assert record["worker"].endswith(f"/pid {os.getpid()}")
    assert "error" not in record


def test_a_dataset_file_missing_on_the_worker_is_named_with_the_worker(tmp_path):
    missing = tmp_path / "points.csv"
    project = small_project()
    project.dataset = DatasetSpec(f"csv:{missing}", {"target": "label"})
    (trial,) = make_trials(project, [{}])
    record = json.loads(run_trial(json.dumps(trial)))
    assert str(missing) in record["error"]
    assert f"on worker {record['worker']}" in record["error"]
    assert "same path on every worker" in record["error"]


def test_a_relative_dataset_file_travels_as_a_full_path(tmp_path):
    project = small_project()
    project.dataset = DatasetSpec("csv:data/points.csv")
    project.path = tmp_path / "p.nnsproj"
    (trial,) = make_trials(project, [{}])
    assert trial["project"]["dataset"]["name"] == f"csv:{tmp_path / 'data/points.csv'}"


def test_inside_a_trial_batches_are_not_split_and_the_setting_comes_back(monkeypatch):
    monkeypatch.setenv("NNSTUDIO_SPLIT_BATCHES", "1")
    with one_core_per_trial(), one_core_per_trial():
        assert os.environ["NNSTUDIO_SPLIT_BATCHES"] == "0"
    assert os.environ["NNSTUDIO_SPLIT_BATCHES"] == "1"


def test_the_best_trial_is_the_highest_accuracy_or_the_lowest_loss():
    records = [
        {"trial": 1, "metrics": {"val_accuracy": 0.8, "val_loss": 0.5}},
        {"trial": 2, "metrics": {"val_accuracy": 0.9, "val_loss": 0.6}},
        {"trial": 3, "error": "no such file"},
        {"trial": 4, "metrics": {"val_accuracy": 0.9, "val_loss": 0.4}},
    ]
    assert best_trial(records, "val_accuracy")["trial"] == 2  # a tie: the earlier one
    assert best_trial(records, "val_loss")["trial"] == 4
    assert default_metric(records) == "val_accuracy"
    assert default_metric([{"trial": 1, "metrics": {"val_loss": 1.0, "val_accuracy": None}}]) == (
        "val_loss"
    )
    assert best_trial(records[2:3], "val_loss") is None


# -- where trials run ---------------------------------------------------------------------------


def test_the_local_pool_runs_every_trial_in_other_processes():
    trials = make_trials(small_project(), grid_settings(parse_grid("lr=0.01,0.05,0.1")))
    seen = []
    outcome = run_trials(trials, workers=2, on_result=seen.append)
    assert not outcome.interrupted
    assert sorted(r["trial"] for r in outcome.records) == [1, 2, 3]
    assert seen == outcome.records  # reported as each one finished
    assert all("metrics" in r for r in outcome.records)
    assert all(not r["worker"].endswith(f"/pid {os.getpid()}") for r in outcome.records)
    # One trial in-process gives the same numbers as in the pool.
    alone = json.loads(run_trial(json.dumps(trials[0])))
    pooled = next(r for r in outcome.records if r["trial"] == 1)
    assert alone["metrics"] == pooled["metrics"]


def test_a_stop_keeps_the_finished_trials_and_cancels_the_rest():
    trials = make_trials(small_project(epochs=300), grid_settings(parse_grid("seed=1,2,3,4")))
    stop = threading.Event()
    outcome = run_trials(trials, workers=1, on_result=lambda record: stop.set(), stop=stop)
    assert outcome.interrupted
    assert len(outcome.records) == 1 and "metrics" in outcome.records[0]


def test_a_stop_leaves_cancelling_the_waiting_trials_to_the_pool(monkeypatch):
    """Issue 38, item 9: the waiting trials were cancelled from here while the pool's own
    thread could be marking them failed (its processes had ended: a SIGTERM to the process
    group reached a worker that was still starting, before it ignored the signal). That thread
    then found a trial cancelled under it: an InvalidStateError traceback on stderr."""
    from concurrent.futures import Future

    cancelled_here, raised = [], []
    cancel = Future.cancel

    def noting_cancel(future):
        if threading.current_thread() is threading.main_thread():
            cancelled_here.append(future)
        return cancel(future)

    monkeypatch.setattr(Future, "cancel", noting_cancel)
    monkeypatch.setattr(threading, "excepthook", raised.append)
    trials = make_trials(small_project(epochs=300), grid_settings(parse_grid("seed=1,2,3,4,5")))
    stop = threading.Event()
    outcome = run_trials(trials, workers=1, on_result=lambda record: stop.set(), stop=stop)
    assert outcome.interrupted and len(outcome.records) == 1
    assert cancelled_here == []
    assert [type(hook.exc_value).__name__ for hook in raised] == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_pool_workers_start_with_ctrl_c_and_sigterm_held_back():
    """A Ctrl+C to the process group reached workers still starting, before they ignore it:
    a KeyboardInterrupt traceback from each. They start with both signals blocked."""
    import multiprocessing
    import signal

    masks = []

    def read_masks(record):
        for worker in multiprocessing.active_children():
            status = Path(f"/proc/{worker.pid}/status").read_text()
            masks.extend(int(line.split()[1], 16) for line in status.splitlines()
                         if line.startswith("SigBlk:"))  # fmt: skip

    trials = make_trials(small_project(), grid_settings(parse_grid("lr=0.01")))
    outcome = run_trials(trials, workers=1, on_result=read_masks)
    assert len(outcome.records) == 1 and masks
    for number in (signal.SIGINT, signal.SIGTERM):
        assert all(mask & (1 << (number - 1)) for mask in masks), masks
    assert not signal.pthread_sigmask(signal.SIG_BLOCK, set())  # held back only meanwhile


class _FakeRunner:
    """Stands in for a pool or a cluster: records are put on ``finished`` by hand."""

    def __init__(self, record=None):
        self.finished = queue.Queue()
        self.record = record

    def check(self) -> None:
        """A healthy cluster: nothing to say."""


def test_a_trial_that_reports_twice_does_not_end_the_sweep_before_the_others():
    # A cluster that loses a finished result with its worker runs the trial again: the
    # second report must not count for a trial that has not reported yet.
    runner = _FakeRunner()
    for number in (1, 2, 2, 3):
        runner.finished.put({"trial": number, "metrics": {}})
    outcome, seen = SweepOutcome(), []
    _collect(runner, 3, outcome, seen.append, threading.Event())
    assert [r["trial"] for r in outcome.records] == [1, 2, 3]
    assert seen == outcome.records


def test_a_record_that_cannot_be_read_reports_the_trial_as_failed_instead_of_hanging():
    def lost(future, text):
        raise RuntimeError("the result was lost with its worker")

    runner = _FakeRunner(record=lost)
    text = json.dumps({"trial": 4, "settings": {"lr": 0.1}, "seed": 7})
    _report_when_done(runner, future=None, text=text)
    record = runner.finished.get_nowait()
    assert record["trial"] == 4 and record["settings"] == {"lr": 0.1}
    assert "could not be read" in record["error"] and "lost with its worker" in record["error"]


@pytest.mark.slow
def test_a_worker_process_killed_mid_sweep_costs_no_trial():
    """Issue 38: the OOM killer ending one worker broke the pool and failed every pending
    trial (exit 0 all the same); as Dask does, the local pool runs them again."""
    import multiprocessing
    import signal

    trials = make_trials(small_project(epochs=40), grid_settings(parse_grid("seed=1,2,3,4,5,6")))
    killed = []

    def kill_one_worker(record):
        if not killed:
            victim = multiprocessing.active_children()[0]
            os.kill(victim.pid, signal.SIGKILL)
            killed.append(victim.pid)

    outcome = run_trials(trials, workers=2, on_result=kill_one_worker)
    assert killed and not outcome.interrupted
    assert sorted(r["trial"] for r in outcome.records) == [1, 2, 3, 4, 5, 6]
    assert all("metrics" in r for r in outcome.records), [r.get("error") for r in outcome.records]


def test_without_distributed_the_message_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed → ImportError
    with pytest.raises(SweepError, match=r"pip install 'nnstudio\[cluster\]'"):
        _import_distributed()


class FakeClient:
    def __init__(self, status="running", workers=None):
        self.status, self.workers = status, workers or {}

    def scheduler_info(self):
        if self.status != "running":
            raise OSError("connection closed")
        return {"workers": self.workers}


def watched_cluster(monkeypatch, client):
    """A _DaskRunner on a fake client, checked at every call with no grace period."""
    import nnstudio.project.sweep_runner as runner

    monkeypatch.setattr(runner, "CHECK_SECONDS", 0.0)
    monkeypatch.setattr(runner, "NO_WORKER_SECONDS", 0.0)
    dask = object.__new__(runner._DaskRunner)
    dask.address, dask.client, dask.closing = "tcp://10.0.0.5:8786", client, False
    dask._checked_at = dask._workers_seen_at = 0.0
    return dask


def test_a_sweep_on_a_cluster_whose_scheduler_went_away_stops_with_words(monkeypatch):
    """Issue 38: it exited 0 with 7 of 8 trials "cancelled" and a 36-line traceback."""
    dask = watched_cluster(monkeypatch, FakeClient(status="closed"))
    with pytest.raises(SweepError, match="lost the Dask scheduler at tcp://10.0.0.5:8786"):
        dask.check()


def test_a_sweep_on_a_cluster_without_workers_stops_instead_of_waiting_forever(monkeypatch):
    dask = watched_cluster(monkeypatch, FakeClient(workers={}))
    with pytest.raises(SweepError, match="has had no worker for"):
        dask.check()
    watched_cluster(monkeypatch, FakeClient(workers={"tcp://w": {}})).check()  # fine


def test_a_trial_the_cluster_dropped_is_not_reported_as_cancelled_by_the_user(monkeypatch):
    dask = watched_cluster(monkeypatch, FakeClient())

    class Dropped:
        status = "cancelled"

    trial = json.dumps({"trial": 1, "settings": {}, "seed": 0})
    assert dask.record(Dropped(), trial) is None  # check() names why
    dask.closing = True
    assert dask.record(Dropped(), trial)["error"] == "cancelled"
