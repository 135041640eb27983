"""`nnstudio train` interrupted by SIGINT or SIGTERM, resumed with other settings, blown up.

The promises: SIGTERM is handled like Ctrl+C (stop after the batch, save, exit 128 + signal);
the old --out / --checkpoint files survive unless an epoch finished; --resume applies
--optimizer and --lr; a run that diverges never leaves a model whose predictions are NaN.
Each run is a real process, small and bounded by a timeout; the random moments come from a
seeded generator.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from nnstudio.cli import main
from nnstudio.cli.train import history_path
from nnstudio.engine.io import load_checkpoint, load_model, save_model
from nnstudio.engine.layers import Dense
from nnstudio.engine.model import Sequential
from nnstudio.engine.optimizers import SGD, Adam

SPIRAL = ["--dataset", "spiral", "--seed", "1"]
# About 15 ms an epoch: the first epoch line comes soon, the run lasts long after it.
SHORT_EPOCHS = [*SPIRAL, "--samples", "1000", "--batch-size", "4"]
MANY_SHORT_EPOCHS = [*SHORT_EPOCHS, "--epochs", "1000"]
# One epoch of 35,000 single-sample batches (seconds): a signal soon after the start lands in it.
LONG_FIRST_EPOCH = [*SPIRAL, "--samples", "50000", "--batch-size", "1", "--epochs", "2"]
# About a second of training in all, for signals at random moments of the whole run.
SHORT_RUN = [*SPIRAL, "--samples", "1000", "--batch-size", "4", "--epochs", "40"]
TIMEOUT = 60
# Random signal moments per signal: 3 by default; the fuzz suite's long run
# (NNSTUDIO_FUZZ_EXAMPLES=2000, see tests/fuzz/conftest.py) tries 50.
LONG_RUN = int(os.environ.get("NNSTUDIO_FUZZ_EXAMPLES", "0") or 0)
SIGNAL_POINTS = max(3, LONG_RUN // 40)
SIGNALS = {"SIGINT": signal.SIGINT, "SIGTERM": signal.SIGTERM}


@pytest.fixture(scope="module")
def good_outputs(tmp_path_factory) -> dict[str, bytes]:
    """A model, its history and a checkpoint from a finished run: what must not be lost."""
    folder = tmp_path_factory.mktemp("good")
    out, checkpoint = folder / "good.nnz", folder / "good.ckpt"
    code = main(
        ["train", *SPIRAL, "--samples", "120", "--epochs", "2"]
        + ["--out", str(out), "--checkpoint", str(checkpoint), "--json"]
    )
    assert code == 0
    return {
        "good.nnz": out.read_bytes(),
        "good-history.csv": history_path(out).read_bytes(),
        "good.ckpt": checkpoint.read_bytes(),
    }


def place(folder: Path, outputs: dict[str, bytes]) -> dict[str, Path]:
    paths = {}
    for name, data in outputs.items():
        paths[name] = folder / name
        paths[name].write_bytes(data)
    return paths


def start_train(folder: Path, options: list[str], *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "nnstudio", "train", *options]
        + ["--out", str(folder / "good.nnz"), "--checkpoint", str(folder / "good.ckpt"), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=folder,
    )


def finish(process: subprocess.Popen) -> tuple[str, str]:
    try:
        return process.communicate(timeout=TIMEOUT)
    finally:
        process.kill()


def wait_for(path: Path, process: subprocess.Popen) -> None:
    """Until ``path`` exists (the process reached that point) or the process ended."""
    deadline = time.monotonic() + TIMEOUT
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.01)


def epoch_lines(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith("epoch ")]


def assert_unchanged(paths: dict[str, Path], outputs: dict[str, bytes]) -> None:
    for name, path in paths.items():
        assert path.read_bytes() == outputs[name], f"{name} was replaced"


def assert_trained_outputs(paths: dict[str, Path]) -> None:
    """New outputs that hold at least one finished epoch, loadable and consistent."""
    bundle = load_model(paths["good.nnz"])
    assert bundle.metadata["epochs_completed"] >= 1
    checkpoint = load_checkpoint(paths["good.ckpt"])
    assert checkpoint.epoch >= 1 and len(checkpoint.history) == checkpoint.epoch
    assert paths["good-history.csv"].read_text().count("\n") >= 2  # header + an epoch


@pytest.mark.parametrize("name", SIGNALS)
def test_a_signal_before_the_first_epoch_ends_keeps_the_old_outputs(tmp_path, good_outputs, name):
    paths = place(tmp_path, good_outputs)
    started = tmp_path / "started.nnsproj"  # written just before the model is built
    process = start_train(tmp_path, LONG_FIRST_EPOCH, "--save-project", str(started))
    try:
        wait_for(started, process)
        time.sleep(0.3)  # the model is built in milliseconds; the first epoch takes seconds
        process.send_signal(SIGNALS[name])
    finally:
        stdout, stderr = finish(process)
    assert not epoch_lines(stdout), "the first epoch ended before the signal: no test"
    assert process.returncode == 128 + SIGNALS[name], stderr
    assert "No epoch finished, so nothing was saved" in stderr
    assert "Traceback" not in stderr
    assert_unchanged(paths, good_outputs)


def test_sigterm_stops_after_the_batch_and_saves_like_ctrl_c(tmp_path, good_outputs):
    paths = place(tmp_path, good_outputs)
    process = start_train(tmp_path, MANY_SHORT_EPOCHS)
    try:
        first = process.stdout.readline()
        assert first.startswith("epoch 1/1000"), first + process.stderr.read()
        process.send_signal(signal.SIGTERM)
    finally:
        stdout, stderr = finish(process)
    assert process.returncode == 143, stderr
    assert "stopping after this batch" in stderr and "Traceback" not in stderr
    assert "Stopped" in stdout and "model saved to" in stdout
    assert_trained_outputs(paths)


def test_a_checkpoint_of_a_run_stopped_mid_epoch_holds_its_last_finished_epoch(
    tmp_path, good_outputs
):
    paths = place(tmp_path, good_outputs)
    process = start_train(tmp_path, MANY_SHORT_EPOCHS)
    try:
        assert process.stdout.readline().startswith("epoch 1/1000")
        process.send_signal(signal.SIGINT)
    finally:
        finish(process)
    stopped = load_checkpoint(paths["good.ckpt"])
    reference = tmp_path / "reference.ckpt"
    epochs = str(stopped.epoch)
    code = main(["train", *SHORT_EPOCHS, "--epochs", epochs, "--checkpoint", str(reference)])
    assert code == 0
    straight = load_checkpoint(reference)
    assert stopped.optimizer.iterations == straight.optimizer.iterations
    a, b = stopped.model.state_dict(), straight.model.state_dict()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def random_moments(name: str, count: int) -> list[float]:
    seed = {"SIGINT": 2, "SIGTERM": 15}[name]
    return list(np.random.default_rng([23, seed]).uniform(0.0, 1.5, count))


@pytest.mark.parametrize("name", SIGNALS)
@pytest.mark.parametrize("point", range(SIGNAL_POINTS))
def test_a_signal_at_a_random_moment_replaces_outputs_only_after_an_epoch(
    tmp_path, good_outputs, name, point
):
    paths = place(tmp_path, good_outputs)
    signum = SIGNALS[name]
    process = start_train(tmp_path, SHORT_RUN, "--json")
    try:
        time.sleep(random_moments(name, SIGNAL_POINTS)[point])
        process.send_signal(signum)
    finally:
        stdout, stderr = finish(process)
    # Before nnstudio installs its handler (interpreter start), the signal's default applies;
    # a Ctrl+C while Python itself imports runpy makes Python exit 1 before any of our code.
    pythons_own_start = process.returncode == 1 and "Could not import runpy module" in stderr
    assert process.returncode in (0, 128 + signum, -signum) or pythons_own_start, stderr
    changed = any(path.read_bytes() != good_outputs[n] for n, path in paths.items())
    finished_epoch = any(json.loads(line).get("epoch") for line in stdout.splitlines())
    if changed:
        assert_trained_outputs(paths)
    if finished_epoch and process.returncode in (0, 128 + signum):
        assert changed, "an epoch finished and the run saved nothing"
    if not changed:
        assert_unchanged(paths, good_outputs)


# -- --resume with other settings -----------------------------------------------------------------


@pytest.fixture
def one_epoch_checkpoint(tmp_path) -> Path:
    checkpoint = tmp_path / "one.ckpt"
    code = main(
        ["train", *SPIRAL, "--samples", "200", "--epochs", "1", "--checkpoint", str(checkpoint)]
        + ["--json"]
    )
    assert code == 0
    assert isinstance(load_checkpoint(checkpoint).optimizer, Adam)
    return checkpoint


def test_resume_with_another_optimizer_uses_it_with_a_fresh_state(
    tmp_path, one_epoch_checkpoint, capsys
):
    capsys.readouterr()
    resumed = tmp_path / "resumed.ckpt"
    code = main(
        ["train", "--resume", str(one_epoch_checkpoint), "--epochs", "1"]
        + ["--optimizer", "sgd", "--lr", "0.05", "--checkpoint", str(resumed), "--json"]
    )
    err = capsys.readouterr().err
    assert code == 0
    assert "continuing with SGD (learning rate 0.05) instead of the checkpoint's Adam" in err
    assert "fresh optimizer state" in err
    checkpoint = load_checkpoint(resumed)
    assert isinstance(checkpoint.optimizer, SGD)
    assert checkpoint.optimizer.base_lr == pytest.approx(0.05)
    # Counting from zero again: one epoch of steps, as many as the checkpoint's Adam had made.
    assert (
        checkpoint.optimizer.iterations
        == load_checkpoint(one_epoch_checkpoint).optimizer.iterations
    )
    assert checkpoint.metadata["training"]["optimizer"] == "sgd"
    assert checkpoint.epoch == 2


def test_resume_with_another_learning_rate_keeps_the_optimizer_state(
    tmp_path, one_epoch_checkpoint, capsys
):
    before = load_checkpoint(one_epoch_checkpoint).optimizer.iterations
    capsys.readouterr()
    resumed = tmp_path / "resumed.ckpt"
    code = main(
        ["train", "--resume", str(one_epoch_checkpoint), "--epochs", "1", "--lr", "0.002"]
        + ["--checkpoint", str(resumed), "--json"]
    )
    err = capsys.readouterr().err
    assert code == 0
    assert "learning rate 0.002 instead of the checkpoint's 0.01; the Adam state carries on" in err
    optimizer = load_checkpoint(resumed).optimizer
    assert isinstance(optimizer, Adam) and optimizer.base_lr == pytest.approx(0.002)
    assert optimizer.iterations == 2 * before  # one more epoch of the same steps, continued


def test_resume_with_the_same_settings_says_nothing(tmp_path, one_epoch_checkpoint, capsys):
    capsys.readouterr()
    code = main(["train", "--resume", str(one_epoch_checkpoint), "--epochs", "1", "--json"])
    assert code == 0
    assert "--resume" not in capsys.readouterr().err


# -- blow-ups -------------------------------------------------------------------------------------


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "nnstudio", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=cwd,
    )


def points_csv(folder: Path) -> Path:
    path = folder / "points.csv"
    path.write_text("x1,x2\n0.1,0.2\n-0.5,0.7\n1.0,-1.0\n")
    return path


def test_a_blow_up_in_the_first_epoch_keeps_the_old_model_and_prints_no_warning(
    tmp_path, good_outputs
):
    paths = place(tmp_path, good_outputs)
    result = run_cli(
        "train", *SPIRAL, "--epochs", "3", "--lr", "1e9", "--optimizer", "sgd",
        "--out", "good.nnz", "--checkpoint", "good.ckpt", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "RuntimeWarning" not in result.stderr and "Warning" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nnstudio: error: The loss exploded")
    assert "No epoch finished, so nothing was saved" in lines[0]
    assert_unchanged(paths, good_outputs)


def test_a_blow_up_after_an_epoch_saves_weights_that_predict_finite_values(
    tmp_path, one_epoch_checkpoint
):
    result = run_cli(
        "train", "--resume", str(one_epoch_checkpoint), "--epochs", "2",
        "--optimizer", "sgd", "--lr", "1e9", "--out", "m.nnz", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "Warning" not in result.stderr
    assert "were restored" in result.stderr
    model = load_model(tmp_path / "m.nnz").model
    assert max(float(np.abs(w).max()) for w in model.state_dict().values()) < 1e3
    x = np.random.default_rng(0).uniform(-1, 1, (50, 2)).astype(np.float32)
    assert np.isfinite(model.predict(x)).all()
    predicted = run_cli("predict", "m.nnz", str(points_csv(tmp_path)), cwd=tmp_path)
    assert predicted.returncode == 0, predicted.stderr
    assert "nan" not in predicted.stdout.lower() and predicted.stdout.count("%") == 3


def test_a_blow_up_in_the_very_last_update_saves_nothing(
    tmp_path, good_outputs, monkeypatch, capsys
):
    """The last update's result meets no loss and (here) no validation: checked before saving."""
    from nnstudio.cli import train

    paths = place(tmp_path, good_outputs)
    real_fit = train._fit

    def fit_then_blow_up(project, dataset, model, *args, **kwargs):
        result = real_fit(project, dataset, model, *args, **kwargs)
        for layer in model.layers:
            layer.params["W"][...] = 1e29  # finite weights, NaN outputs
        return result

    monkeypatch.setattr(train, "_fit", fit_then_blow_up)
    out, checkpoint = str(paths["good.nnz"]), str(paths["good.ckpt"])
    code = main(
        ["train", *SPIRAL, "--samples", "120", "--epochs", "2", "--val-split", "0"]
        + ["--out", out, "--checkpoint", checkpoint, "--json"]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "the trained weights give NaN or infinite outputs" in err and "nothing was saved" in err
    assert_unchanged(paths, good_outputs)


def test_predict_with_weights_that_give_nan_is_exit_2(tmp_path):
    model = Sequential([Dense(8, activation="relu"), Dense(2)], input_shape=(2,))
    model.load_state_dict({k: np.full_like(v, 1e29) for k, v in model.state_dict().items()})
    save_model(tmp_path / "blown.nnz", model, class_names=["a", "b"])
    result = run_cli("predict", "blown.nnz", str(points_csv(tmp_path)), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nnstudio: error:"), result.stderr
    assert "NaN or infinite outputs for 3 of 3 inputs" in lines[0]
    assert "nan%" not in result.stdout and "Warning" not in result.stderr


def test_a_reader_that_stops_early_gets_no_error_message(tmp_path):
    """`nnstudio explain … | head`: the pipe is closed before the walk-through is written."""
    import numpy as np

    from nnstudio.paths import resource_path

    images = tmp_path / "images.npz"
    pixels = np.random.default_rng(0).integers(0, 256, (20, 1, 28, 28)).astype(np.uint8)
    np.savez(images, x=pixels, y=np.arange(20) % 10)
    model = str(resource_path("models/digit-model.nnz"))
    command = ["explain", model, "--dataset", f"npz:{images}", "--index", "0"]
    process = subprocess.Popen(
        [sys.executable, "-m", "nnstudio", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    process.stdout.close()  # the reader is gone before the first line (start-up takes ~1 s)
    with process.stderr:
        stderr = process.stderr.read()
    assert process.wait(timeout=120) == 141, stderr
    assert stderr == ""
