"""The twin half of each batch in a helper process: the same gradients and training as whole
batches, errors come back as themselves, a lost helper is replaced by a thread, Ctrl+C is
the parent's, and a script without a main guard is not run twice."""

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from nnstudio.engine.fit import FitConfig, fit, half_process, helper_process, parallel
from nnstudio.engine.fit.half_process import ProcessHalfBatchRunner
from nnstudio.engine.fit.helper_process import SharedArrays
from nnstudio.engine.optimizers import Adam
from tests.engine.test_parallel import (
    CE,
    images,
    needs_blas_control,
    small_cnn,
    whole_batch_gradients,
)

posix_only = pytest.mark.skipif(os.name != "posix", reason="helper processes are POSIX only")


def assert_gradients_are(model, expected):
    for name, grad in model.gradients().items():
        np.testing.assert_allclose(grad, expected[name], rtol=1e-10, atol=1e-14, err_msg=name)


def after_one_batch(runner_for):
    """A batch, a model and a helper runner that has run that batch once."""
    x, y = images(40)
    model = small_cnn()
    runner = runner_for(model)
    runner.run(x, y)
    return x, y, model, runner


@pytest.fixture
def runner_for():
    runners = []

    def make(model):
        runner = ProcessHalfBatchRunner(model, CE, parallel.HalfBatchRunner)
        runners.append(runner)
        return runner

    yield make
    for runner in runners:
        runner.close()


@posix_only
@pytest.mark.parametrize("n", [40, 33])  # even and odd batches: unequal halves are weighted
def test_the_helper_process_gives_the_whole_batch_gradient(n, runner_for):
    x, y = images(n)
    model = small_cnn(l2=0.01)
    expected_value, expected = whole_batch_gradients(model, x, y)
    runner = runner_for(model)
    value, outputs = runner.run(x, y)
    assert runner.fallback is None  # the twin really ran in the helper
    assert value == pytest.approx(expected_value, rel=1e-12)
    np.testing.assert_allclose(outputs, model.forward(x), rtol=1e-12)
    assert_gradients_are(model, expected)


@posix_only
def test_the_helper_sees_each_batchs_new_weights(runner_for):
    x, y, model, runner = after_one_batch(runner_for)
    for weights in model.parameters().values():
        weights *= 0.5  # as an optimizer step changes them in place
    _, expected = whole_batch_gradients(model, x, y)
    runner.run(x, y)
    assert_gradients_are(model, expected)


@posix_only
@pytest.mark.parametrize("runner_kind", ["process", "thread"])
def test_each_half_is_augmented_as_on_one_core(runner_kind, runner_for):
    from nnstudio.data.augmentation import augment_images
    from nnstudio.engine.fit.halves import augmented_in_halves

    x, y = images(40)
    model = small_cnn()
    _, expected = whole_batch_gradients(model, augmented_in_halves(augment_images, x, 7), y)
    if runner_kind == "process":
        runner = ProcessHalfBatchRunner(model, CE, parallel.HalfBatchRunner, augment_images)
    else:
        runner = parallel.HalfBatchRunner(model, CE, augment_images)
    try:
        runner.run(x, y, augment_seed=7)
    finally:
        runner.close()
    assert_gradients_are(model, expected)


@posix_only
def test_the_validation_pass_is_split_too_and_sees_the_latest_weights(runner_for):
    x, y, model, runner = after_one_batch(runner_for)
    for weights in model.parameters().values():
        weights *= 0.5  # the epoch's last step, after the helper's last batch
    x_val, _ = images(50, seed=1)
    outputs = runner.forward(x_val)
    assert runner.fallback is None
    np.testing.assert_allclose(outputs, model.forward(x_val), rtol=1e-12)
    thread_runner = parallel.HalfBatchRunner(model, CE)
    try:
        np.testing.assert_allclose(thread_runner.forward(x_val), outputs, rtol=1e-12)
    finally:
        thread_runner.close()


@posix_only
def test_an_error_in_the_helper_comes_back_as_itself(runner_for):
    model = small_cnn(dtype=np.float32)
    x, y = images(32, dtype=np.float32)
    x[:] = np.float32(3e38)  # overflows to inf in the first layer
    runner = runner_for(model)
    with np.errstate(over="raise", invalid="raise"), pytest.raises(FloatingPointError):
        runner.run(x, y)
    # The pipe is still in step: the next batch runs.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        value, _ = runner.run(*images(32, dtype=np.float32))
    assert np.isfinite(value)


@posix_only
def test_a_lost_helper_is_replaced_by_a_thread(runner_for):
    x, y, model, runner = after_one_batch(runner_for)
    runner.helper.process.kill()
    runner.helper.process.wait()
    _, expected = whole_batch_gradients(model, x, y)
    runner.run(x, y)
    assert isinstance(runner.fallback, parallel.HalfBatchRunner)
    assert_gradients_are(model, expected)


@posix_only
def test_no_room_for_the_shared_memory_gives_way_to_a_thread(runner_for, monkeypatch):
    def no_room(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(half_process, "SharedArrays", no_room)
    x, y = images(40)
    model = small_cnn()
    _, expected = whole_batch_gradients(model, x, y)
    runner = runner_for(model)
    runner.run(x, y)
    assert isinstance(runner.fallback, parallel.HalfBatchRunner)
    assert_gradients_are(model, expected)


@posix_only
def test_the_helper_ignores_ctrl_c_and_is_used_again_by_the_next_fit(runner_for):
    first = runner_for(small_cnn())
    pid = first.helper.process.pid
    os.kill(pid, signal.SIGINT)  # what Ctrl+C sends the whole process group
    first.run(*images(40))
    assert first.fallback is None and first.helper.alive()
    first.close()
    second = runner_for(small_cnn())
    assert second.helper.process.pid == pid


@posix_only
@needs_blas_control
def test_fit_with_the_helper_trains_as_on_whole_batches_and_with_a_thread(monkeypatch):
    monkeypatch.setattr(parallel, "cores_for_this_process", lambda: 2)
    results = {}
    histories = {}
    for split in ("1", "thread", "0"):
        monkeypatch.setenv("NNSTUDIO_SPLIT_BATCHES", split)
        model = small_cnn()
        x, y = images(96)
        config = FitConfig(epochs=2, batch_size=32, seed=3, validation_split=0.25)
        histories[split] = fit(model, CE, Adam(lr=0.01), x, y, config).history
        results[split] = model.parameters()
    for name, weights in results["0"].items():
        np.testing.assert_allclose(results["1"][name], weights, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(results["thread"][name], weights, rtol=1e-9, atol=1e-12)
    for split in ("1", "thread"):  # the validation pass, split too, gives the same figures
        assert histories[split][-1]["val_loss"] == pytest.approx(histories["0"][-1]["val_loss"])
        assert histories[split][-1]["val_accuracy"] == histories["0"][-1]["val_accuracy"]


def test_shared_arrays_are_seen_by_a_second_mapping_and_refit_by_shape():
    layout = [("weights", (5,), "<f4"), ("x", (4, 1, 3, 3), "<f8")]
    made = SharedArrays(layout)
    other = SharedArrays(layout, os.dup(made.descriptor))  # as the helper gets it
    made.close_descriptor()
    assert made.descriptor is None and other.descriptor is None
    made.arrays["x"][2] = 7.0
    assert other.arrays["x"][2].sum() == 63.0
    assert made.arrays["weights"].ctypes.data % 64 == 0
    assert made.fits([("weights", (5,), "<f4"), ("x", (3, 1, 3, 3), "<f8")])
    assert not made.fits([("weights", (5,), "<f4"), ("x", (5, 1, 3, 3), "<f8")])  # more rows
    assert not made.fits([("weights", (5,), "<f4"), ("x", (4, 1, 3, 3), "<f4")])


@posix_only
def test_the_shared_memory_has_no_name_a_killed_process_could_leave_behind(runner_for):
    before = set(os.listdir("/dev/shm")) if os.path.isdir("/dev/shm") else set()
    _, _, _, runner = after_one_batch(runner_for)
    assert runner.fallback is None and runner.shared is not None  # shared memory in use
    after = set(os.listdir("/dev/shm")) if os.path.isdir("/dev/shm") else set()
    assert not {name for name in after - before if name.startswith("nnstudio")}


@posix_only
@needs_blas_control
def test_a_script_without_a_main_guard_trains_once_and_leaves_no_helper(tmp_path):
    script = tmp_path / "train_once.py"
    script.write_text(
        textwrap.dedent(
            """
            import numpy as np
            from nnstudio.engine.fit import FitConfig, fit, half_process, parallel
            from nnstudio.engine.layers import Dense, Flatten
            from nnstudio.engine.layers.conv import Conv2D
            from nnstudio.engine.losses import get_loss
            from nnstudio.engine.model import Sequential
            from nnstudio.engine.optimizers import Adam

            parallel.cores_for_this_process = lambda: 2
            model = Sequential([Conv2D(2, 3), Flatten(), Dense(2)], seed=0)
            model.build((1, 6, 6))
            rng = np.random.default_rng(0)
            x = rng.standard_normal((64, 1, 6, 6)).astype(np.float32)
            y = rng.integers(0, 2, 64)
            made = []
            original = half_process.ProcessHalfBatchRunner.__init__

            def remember(self, *args, **kwargs):
                original(self, *args, **kwargs)
                made.append(self.helper.process.pid)

            half_process.ProcessHalfBatchRunner.__init__ = remember
            fit(model, get_loss("softmax_crossentropy"), Adam(), x, y, FitConfig(epochs=1))
            print("trained", made, flush=True)
            """
        )
    )
    environment = {**os.environ, "NNSTUDIO_SPLIT_BATCHES": "1"}
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, env=environment
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("trained") == 1, done.stdout
    pids = [int(word.strip("[],")) for word in done.stdout.split()[1:]]
    assert len(pids) == 1
    with pytest.raises(ProcessLookupError):  # the helper ended with its parent
        os.kill(pids[0], 0)


@posix_only
def test_the_bundled_app_serves_as_a_helper_when_started_as_one():
    entry = (Path(__file__).parents[2] / "packaging" / "pyinstaller_entry.py").read_text("utf-8")
    assert "serve_if_asked(sys.argv)" in entry
    assert not helper_process.serve_if_asked(["nnstudio", "train", "project.json"])
    code = "import sys; from nnstudio.engine.fit.helper_process import serve_if_asked as s; "
    code += "sys.exit(0 if s(sys.argv) else 3)"
    assert_serves_as_a_helper([sys.executable, "-c", code, helper_process.HELPER_ARGUMENT])


def assert_serves_as_a_helper(command: list[str], **popen) -> None:
    """Started as ``command`` + a socket's descriptor, a program answers as the half-batch
    helper does (an error sent back as itself) and ends at "close"."""
    import socket
    from multiprocessing.connection import Connection

    ours, theirs = socket.socketpair()
    helper = subprocess.Popen(
        [*command, str(theirs.fileno())], pass_fds=(theirs.fileno(),), **popen
    )
    theirs.close()
    connection = Connection(ours.detach())
    connection.send(("reseed", (1, 2)))  # no model yet: an error, sent back as itself
    assert connection.recv()[:2] == ("error", "AttributeError")
    connection.send(("close",))
    assert helper.wait(timeout=60) == 0
