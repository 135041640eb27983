"""`nnstudio sweep` end to end: bad specs, --json and --out, every trial repeatable with its
`nnstudio train` command, Ctrl+C, the local pool, and a real Dask cluster on 127.0.0.1 that
loses a worker mid-sweep."""

import json
import os
import shlex
import signal
import subprocess
import sys
import time

import pytest

from nnstudio.cli import main

MOONS = ["--dataset", "moons", "--samples", "120", "--layers", "Dense(8,relu),Dense(2)"]
SPIRAL = ["--preset", "spiral-mlp", "--samples", "150"]


def assert_one_line_error(stderr: str, *words: str) -> None:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("nnstudio") and "error" in lines[0], stderr
    for word in words:
        assert word in lines[0], lines[0]


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def start_sweep(*args: str, own_group: bool = False) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "nnstudio", "sweep", *args, "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=own_group,  # its own process group, as a terminal's job is
    )


def finish(process: subprocess.Popen, timeout: float = 90) -> tuple[list[dict], str]:
    try:
        out, err = process.communicate(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return json_lines(out), err


@pytest.mark.parametrize(
    "options, words",
    [
        (["--grid", "lr"], ["NAME=VALUES"]),
        (["--grid", "lr=log(1e-4,1e-1)"], ["--random"]),
        (["--grid", "colour=red"], ["unknown setting 'colour'"]),
        (["--grid", "batch_size=0,32"], ["batch_size=0 cannot run"]),
        (["--grid", "layers.5.units=3"], ["numbered 0 to 1"]),
        (["--random", "3"], ["--ranges"]),
        (["--random", "2", "--ranges", "lr=log(-1,1)"], ["above 0"]),
        (["--grid", "lr=0.1", "--ranges", "lr=log(1e-3,1)"], ["--ranges goes with --random"]),
        (["--grid", "lr=0.1", "--random", "2"], ["not allowed with"]),
        ([], ["one of the arguments --grid --random is required"]),
        # issue 38: words, not "high is out of bounds for int64"
        (["--random", "1", "--ranges", "seed=int(0,1e30)"], ["within ±1e+15"]),
        (["--random", "1", "--ranges", "lr=uniform(-1e308,1e308)"], ["within ±1e+15"]),
        # issue 38: refused at once, before a list of that many trials is made
        (["--random", "100000000000", "--ranges", "lr=log(1e-4,1e-1)"], ["at most 10,000"]),
        (["--grid", ";".join(f"lr{i}=1,2,3,4,5,6,7,8,9,10" for i in range(6))], ["1,000,000"]),
    ],
)
def test_a_bad_search_is_exit_2_with_one_line(options, words, capsys):
    assert main(["sweep", *MOONS, *options]) == 2
    assert_one_line_error(capsys.readouterr().err, *words)


@pytest.mark.parametrize(
    "address, words",
    [
        ("tls://127.0.0.1:1", ["tls:// protocol is not supported"]),
        ("tcp://127.0.0.1", ["not an address"]),
        ("tcp://127.0.0.1:99999", ["not an address"]),
        ("127.0.0.1:1", ["cannot reach"]),
    ],
)
def test_a_scheduler_address_that_cannot_work_is_one_line_at_once(address, words, capsys):
    """Issue 38: no Client is made for these, so none stalls 20 s closing (or prints the
    traceback of its __del__)."""
    pytest.importorskip("distributed")
    started = time.monotonic()
    assert main(["sweep", *MOONS, "--grid", "lr=0.1", "--scheduler", address]) == 2
    assert_one_line_error(capsys.readouterr().err, *words)
    assert time.monotonic() - started < 8


def test_a_server_that_is_no_dask_scheduler_is_named(capsys, monkeypatch):
    """A port where something listens but never speaks Dask's protocol: Dask's client would
    wait on it forever."""
    import socket

    pytest.importorskip("distributed")
    monkeypatch.setattr("nnstudio.project.sweep_runner.CONNECT_SECONDS", 0.3)
    with socket.create_server(("127.0.0.1", 0)) as server:
        address = f"tcp://127.0.0.1:{server.getsockname()[1]}"
        assert main(["sweep", *MOONS, "--grid", "lr=0.1", "--scheduler", address]) == 2
    assert_one_line_error(capsys.readouterr().err, "does not answer as a Dask scheduler")


def test_json_prints_each_trial_then_the_best_and_out_keeps_every_project(tmp_path, capsys):
    out = tmp_path / "results.jsonl"
    grid = "lr=0.01,0.1;batch_size=16,32"
    options = ["--epochs", "3", "--grid", grid, "--out", str(out), "--json"]
    assert main(["sweep", *MOONS, *options]) == 0
    *trials, final = json_lines(capsys.readouterr().out)
    assert sorted(r["trial"] for r in trials) == [1, 2, 3, 4]
    for record in trials:
        assert set(record) >= {"settings", "seed", "metrics", "seconds", "worker", "command"}
        assert record["metrics"]["epochs_completed"] == 3
    assert final["final"] is True and final["metric"] == "val_accuracy"
    best = max(trials, key=lambda r: (r["metrics"]["val_accuracy"], -r["trial"]))
    assert final["best"]["trial"] == best["trial"]
    assert (final["trials"], final["finished"], final["failed"]) == (4, 4, 0)
    saved = json_lines(out.read_text())
    assert [r["trial"] for r in saved] == [1, 2, 3, 4]  # in trial order, whatever finished first
    assert saved[2]["project"]["training"]["learning_rate"] == 0.1
    assert saved[2]["project"]["training"]["batch_size"] == 16


def final_numbers(stdout: str) -> dict:
    *epochs, summary = json_lines(stdout)
    last = epochs[-1]
    return {
        "val_loss": last["val_loss"],
        "val_accuracy": last["val_accuracy"],
        "test_accuracy": summary["test_accuracy"],
    }


def test_every_trial_is_repeated_exactly_by_its_train_command(capsys):
    grid = "lr=0.01,0.05;seed=1,2;layers.0.units=4,8;dataset.noise=0.2"
    assert main(["sweep", *SPIRAL, "--epochs", "4", "--grid", grid, "--json"]) == 0
    *trials, _ = json_lines(capsys.readouterr().out)
    assert len(trials) == 8
    for record in trials[:4] + trials[-1:]:
        words = shlex.split(record["command"])
        assert words[:2] == ["nnstudio", "train"]
        assert ["--seed", str(record["seed"])] == words[words.index("--seed") :][:2]
        assert main([*words[1:], "--json"]) == 0
        trained = final_numbers(capsys.readouterr().out)
        swept = {key: record["metrics"][key] for key in trained}
        assert trained == swept, record["command"]


def test_the_local_default_runs_the_trials_in_other_processes(capsys):
    assert main(["sweep", *MOONS, "--epochs", "2", "--grid", "lr=0.01,0.1,0.2", "--json"]) == 0
    *trials, final = json_lines(capsys.readouterr().out)
    assert final["finished"] == 3
    assert all(not r["worker"].endswith(f"/pid {os.getpid()}") for r in trials)


def test_text_output_names_the_best_trial_and_its_command(capsys):
    assert main(["sweep", *MOONS, "--epochs", "2", "--grid", "lr=0.01,0.2"]) == 0
    out = capsys.readouterr().out
    assert "trial 1/2  learning_rate=0.01" in out and "trial 2/2  learning_rate=0.2" in out
    assert "2 of 2 trials finished" in out
    assert "Repeat it: nnstudio train --dataset moons" in out


def test_a_dataset_file_missing_on_the_workers_is_named(tmp_path, capsys):
    missing = tmp_path / "points.csv"
    options = ["--dataset", f"csv:{missing}", "--layers", "Dense(2)", "--loss", "mse"]
    assert main(["sweep", *options, "--grid", "lr=0.1,0.2"]) == 2
    assert_one_line_error(capsys.readouterr().err, str(missing), "on worker", "every worker")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_keeps_and_writes_the_finished_trials(tmp_path, signum):
    out = tmp_path / "results.jsonl"
    grid = "seed=1,2,3,4,5,6"
    process = start_sweep(*SPIRAL, "--epochs", "400", "--grid", grid, "--workers", "1",
                          "--out", str(out))  # fmt: skip
    first = json.loads(process.stdout.readline())
    process.send_signal(signum)
    rest, err = finish(process)
    assert process.returncode == 128 + signum, err
    *more, final = rest
    assert final["final"] is True and final["interrupted"] is True
    assert final["finished"] == 1 + len(more) < 6
    saved = json_lines(out.read_text())
    assert [r["trial"] for r in saved] == sorted(r["trial"] for r in [first, *more])
    assert "the finished trials were kept" in err


def pool_workers(pid: int) -> list[int]:
    """The sweep's worker processes (spawned children running multiprocessing's main)."""
    children = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as file:
            children += [int(child) for child in file.read().split()]
    workers = []
    for child in children:
        with open(f"/proc/{child}/cmdline", "rb") as file:
            if b"spawn_main" in file.read():
                workers.append(child)
    return workers


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_sigterm_to_the_process_group_fails_no_trial(tmp_path):
    """Issue 38: `kill -TERM -PGID` (a service manager, a closing terminal) reached the pool's
    workers too, and the trial they ran was recorded as failed. The workers now leave the
    signal to the sweep, which stops; here they get it first, as they may."""
    process = start_sweep(*SPIRAL, "--epochs", "400", "--grid", "seed=1,2,3,4", "--workers",
                          "1", own_group=True)  # fmt: skip
    first = json.loads(process.stdout.readline())
    for worker in pool_workers(process.pid):
        os.kill(worker, signal.SIGTERM)
    time.sleep(0.5)  # a worker that died of it would have failed its trial by now
    process.send_signal(signal.SIGTERM)
    rest, err = finish(process)
    assert process.returncode == 128 + signal.SIGTERM, err
    assert "Traceback" not in err and "metrics" in first
    assert not [record for record in rest if "error" in record], rest


# -- a real Dask cluster on this machine --------------------------------------------------------


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            # ":0": any free port. None still binds the default 8787, which a second run
            # or another xdist worker already holds.
            dashboard_address=":0",
            worker_dashboard_address=":0",
        ) as local,
        distributed.Client(local, set_as_default=False) as client,
    ):
        yield local, client


def kill_worker_running_a_trial(client, address: str) -> int:
    """SIGKILL the worker at ``address`` while it runs a trial; returns that trial's number."""
    deadline = time.monotonic() + 20  # the scheduler hands it the next trial at once
    while not (running := client.processing(workers=[address])[address]):
        assert time.monotonic() < deadline, "the worker never got a second trial"
        time.sleep(0.02)
    pid = client.run(os.getpid, workers=[address])[address]
    os.kill(pid, signal.SIGKILL)
    return int(running[0].split("-")[2])  # nnstudio-trial-N-...


@pytest.mark.slow
def test_a_grid_on_a_dask_cluster_survives_a_worker_killed_mid_sweep(cluster):
    local, client = cluster
    grid = "lr=0.003,0.01,0.03;batch_size=16,32"
    process = start_sweep(*SPIRAL, "--epochs", "200", "--grid", grid,
                          "--scheduler", local.scheduler_address)  # fmt: skip
    first = json.loads(process.stdout.readline())
    assert first["worker"].startswith("tcp://127.0.0.1:")
    killed = kill_worker_running_a_trial(client, first["worker"])
    rest, err = finish(process)
    assert process.returncode == 0, err
    *trials, final = [first, *rest]
    assert sorted(r["trial"] for r in trials) == [1, 2, 3, 4, 5, 6]
    assert all("metrics" in r for r in trials), trials
    assert (final["finished"], final["failed"]) == (6, 0)
    retried = next(r for r in trials if r["trial"] == killed)
    assert retried["worker"] != first["worker"]  # it ran again, on a live worker


def instant_trials(trials, *, on_result=None, **_):
    """run_trials without training: each trial 'finishes' at once, last first."""
    from nnstudio.project.sweep_runner import SweepOutcome

    outcome = SweepOutcome()
    for trial in reversed(trials):
        record = {key: trial[key] for key in ("trial", "settings", "seed")}
        record.update(metrics={"val_accuracy": 0.5, "val_loss": 1.0}, seconds=0.0, worker="w")
        outcome.records.append(record)
        on_result(record)
    return outcome


def test_out_gets_one_line_per_trial_not_the_whole_file_again(tmp_path, monkeypatch, capsys):
    """Issue 38: 1,500 trials took 38 s with --out (the file rewritten, fsynced, each time)."""
    import nnstudio.atomic_file
    import nnstudio.project.sweep_runner as runner

    monkeypatch.setattr(runner, "run_trials", instant_trials)
    whole_writes = []
    real = nnstudio.atomic_file.write_atomically

    def counted(path, *args, **kwargs):
        whole_writes.append(path)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(nnstudio.atomic_file, "write_atomically", counted)
    out = tmp_path / "results.jsonl"
    grid = "lr=" + ",".join(str(0.001 * k) for k in range(1, 41))
    assert main(["sweep", *MOONS, "--grid", grid, "--out", str(out), "--json"]) == 0
    assert len(whole_writes) <= 2  # the first trial's line, then the file in trial order
    assert [r["trial"] for r in json_lines(out.read_text())] == list(range(1, 41))


def test_sweep_out_over_its_own_project_is_refused(tmp_path, capsys):
    from nnstudio.project import load_preset, save_project

    project = save_project(load_preset("spiral-mlp"), tmp_path / "p.nnsproj")
    before = project.read_text()
    assert main(["sweep", str(project), "--grid", "lr=0.1", "--out", str(project)]) == 2
    assert_one_line_error(capsys.readouterr().err, "input file itself")
    assert project.read_text() == before
