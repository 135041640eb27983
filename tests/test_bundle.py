"""The one-folder app (packaging/build-bundle.sh) runs without Python: its commands, the
bundled model, a picture to predict, the window, and the start with no display. Building it
takes minutes, so this runs with the slow tests (CI=true)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import mnist_dir

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not sys.platform.startswith("linux"), reason="the script is tested on Linux"
    ),
]

ROOT = Path(__file__).resolve().parent.parent
BUNDLED_MODEL = "_internal/nnstudio/resources/models/digit-model.nnz"


@pytest.fixture(scope="module")
def bundle() -> Path:
    build = subprocess.run(
        ["bash", str(ROOT / "packaging" / "build-bundle.sh")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    assert "built dist/nnstudio/nnstudio" in build.stdout
    return ROOT / "dist" / "nnstudio"


def no_python_environment(**extra: str) -> dict:
    """The bundle must not lean on this interpreter: no PYTHONPATH, no virtual environment."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    return {**keep, "PATH": "/usr/bin:/bin", **extra}


def run_bundle(bundle: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(bundle / "nnstudio"), *args],
        env=no_python_environment(**env),
        capture_output=True,
        text=True,
        timeout=300,
        cwd=bundle.parent,
    )


def test_the_bundle_prints_its_help(bundle):
    result = run_bundle(bundle, "--help")
    assert result.returncode == 0, result.stderr
    assert "train" in result.stdout and "evaluate" in result.stdout


def test_the_bundled_model_reads_the_mnist_test_set(bundle):
    folder = mnist_dir()
    if folder is None:
        pytest.skip("real MNIST not found")
    result = run_bundle(bundle, "evaluate", str(bundle / BUNDLED_MODEL), "--dataset", "mnist",
                        "--json", NNSTUDIO_MNIST_DIR=str(folder))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert '"accuracy": 0.99' in result.stdout


def test_the_bundle_serves_as_its_own_half_batch_helper(bundle):
    from nnstudio.engine.fit.helper_process import HELPER_ARGUMENT
    from tests.engine.test_half_process import assert_serves_as_a_helper

    command = [str(bundle / "nnstudio"), HELPER_ARGUMENT]
    assert_serves_as_a_helper(command, env=no_python_environment())


def test_the_bundle_trains_a_cnn_on_two_cores(bundle):
    folder = mnist_dir()
    if folder is None:
        pytest.skip("real MNIST not found")
    result = run_bundle(bundle, "train", "--dataset", "mnist", "--layers",
                        "Conv2D(4,3,relu),MaxPool2D(2),Flatten,Dense(10)", "--epochs", "1",
                        "--json", NNSTUDIO_MNIST_DIR=str(folder))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert '"val_accuracy": 0.9' in result.stdout


def test_the_bundle_predicts_a_picture(bundle, tmp_path):
    from PIL import Image, ImageDraw

    picture = Image.new("L", (280, 280), 0)
    ImageDraw.Draw(picture).line([(140, 40), (140, 240)], fill=255, width=28)  # a "1"
    path = tmp_path / "one.png"
    picture.save(path)
    result = run_bundle(bundle, "predict", str(bundle / BUNDLED_MODEL), str(path))
    assert result.returncode == 0, result.stderr
    assert "one.png" in result.stdout and " 1 " in f" {result.stdout} "


def test_the_bundle_opens_the_window_and_ends_on_sigterm(bundle, tmp_path):
    window = subprocess.Popen(
        [str(bundle / "nnstudio")],
        env=no_python_environment(QT_QPA_PLATFORM="offscreen", NNSTUDIO_DATA_DIR=str(tmp_path)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(10)  # starting, loading the first project, idling: it must still be up
        assert window.poll() is None, window.communicate()
    finally:
        window.send_signal(signal.SIGTERM)
        _, errors = window.communicate(timeout=60)
    assert "Traceback" not in errors and "Fatal" not in errors, errors


def test_the_bundle_without_a_display_says_so(bundle):
    environment = {"DISPLAY": "", "WAYLAND_DISPLAY": "", "QT_QPA_PLATFORM": ""}
    result = run_bundle(bundle, **environment)
    assert result.returncode == 2
    assert "no display found" in result.stderr and "nnstudio train --help" in result.stderr


def test_the_bundle_puts_itself_in_the_application_menu(bundle, tmp_path):
    result = run_bundle(bundle, "--install-desktop", XDG_DATA_HOME=str(tmp_path))
    assert result.returncode == 0, result.stderr
    entry = (tmp_path / "applications" / "io.github.nnstudio.NNStudio.desktop").read_text()
    assert f"Exec={bundle / 'nnstudio'} %f" in entry
