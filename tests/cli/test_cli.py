"""The `nnstudio` command line: the --layers text form, train / evaluate / predict / bench end
to end on a toy set and on a small IDX set, --json output, exit codes and Ctrl+C."""

import csv
import json
import os
import signal
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nnstudio.cli import main
from nnstudio.cli.train import TextProgress, history_path
from nnstudio.data.idx import MNIST_FILES, write_idx
from nnstudio.engine.io import load_model
from nnstudio.project.layer_text import (
    LayerTextError,
    format_layers,
    parse_layer_specs,
    parse_layers,
)

TOY = ["--dataset", "spiral", "--samples", "120", "--seed", "1"]
EPOCH_KEYS = {"epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds"}


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """The real command in a new process, for exit codes and what reaches stderr."""
    return subprocess.run(
        [sys.executable, "-m", "nnstudio", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_one_line_error(stderr: str, *words: str) -> None:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("nnstudio"), stderr
    assert "error" in lines[0]
    assert "Traceback" not in stderr
    for word in words:
        assert word in lines[0], lines[0]


def write_idx_set(folder: Path, side: int = 28, train: int = 120, test: int = 40) -> Path:
    """A tiny MNIST-named IDX set: class k is a bright bar at row 2 + 2k."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)

    def images(n):
        labels = (np.arange(n) % 10).astype(np.uint8)
        pictures = (rng.random((n, side, side)) * 40).astype(np.uint8)
        for index, label in enumerate(labels):
            row = 2 + 2 * int(label) % (side - 4)
            pictures[index, row : row + 2, 4 : side - 4] = 255
        return pictures, labels

    train_x, train_y = images(train)
    test_x, test_y = images(test)
    write_idx(folder / MNIST_FILES["train_images"], train_x)
    write_idx(folder / MNIST_FILES["train_labels"], train_y)
    write_idx(folder / MNIST_FILES["test_images"], test_x)
    write_idx(folder / MNIST_FILES["test_labels"], test_y)
    return folder


@pytest.fixture(scope="module")
def toy_model(tmp_path_factory) -> Path:
    """A spiral model trained for 2 epochs, shared by the evaluate / predict tests."""
    out = tmp_path_factory.mktemp("toy") / "spiral.nnz"
    assert main(["train", *TOY, "--epochs", "2", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def idx_folder(tmp_path_factory) -> Path:
    return write_idx_set(tmp_path_factory.mktemp("idx") / "digits")


@pytest.fixture(scope="module")
def digit_model(tmp_path_factory, idx_folder) -> Path:
    out = tmp_path_factory.mktemp("digit") / "digits.nnz"
    code = main(
        [
            "train",
            "--dataset",
            f"idx:{idx_folder}",
            "--layers",
            "Flatten,Dense(32,relu),Dense(10)",
            "--epochs",
            "2",
            "--batch-size",
            "16",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    return out


# -- the --layers text form ---------------------------------------------------------------------


@dataclass(frozen=True)
class FakeSetting:
    name: str
    kind: str
    choices: tuple | None = None


class FakeConv:
    SETTINGS = [
        FakeSetting("filters", "int"),
        FakeSetting("kernel_size", "int"),
        FakeSetting("padding", "choice", ("valid", "same")),
        FakeSetting("activation", "choice", ("linear", "relu")),
        FakeSetting("use_bias", "bool"),
    ]


class FakeReshape:
    SETTINGS = [FakeSetting("shape", "shape")]


class FakeFlatten:
    SETTINGS = []


FAKE_LAYERS = {"Conv2D": FakeConv, "Reshape": FakeReshape, "Flatten": FakeFlatten}


def test_layer_text_matches_positional_values_by_kind():
    configs = parse_layers("conv2d(8, 5, Relu, same, false),Reshape(1x4x4),flatten", FAKE_LAYERS)
    assert configs == [
        {
            "type": "Conv2D",
            "filters": 8,
            "kernel_size": 5,
            "activation": "relu",
            "padding": "same",
            "use_bias": False,
        },
        {"type": "Reshape", "shape": [1, 4, 4]},
        {"type": "Flatten"},
    ]


def test_layer_text_reads_named_settings_and_tuples():
    configs = parse_layers("Conv2D(4, activation=relu),Reshape(shape=(2, 8))", FAKE_LAYERS)
    assert configs == [
        {"type": "Conv2D", "filters": 4, "activation": "relu"},
        {"type": "Reshape", "shape": [2, 8]},
    ]


def test_layer_text_reads_the_example_of_the_help_with_the_real_registry():
    configs = parse_layers("Conv2D(16,3,relu),MaxPool2D(2),Flatten,Dense(128,relu),Dense(10)")
    assert configs == [
        {"type": "Conv2D", "filters": 16, "kernel_size": 3, "activation": "relu"},
        {"type": "MaxPool2D", "pool_size": 2},
        {"type": "Flatten"},
        {"type": "Dense", "units": 128, "activation": "relu"},
        {"type": "Dense", "units": 10},
    ]
    assert parse_layers("Dropout(0.25),LeakyReLU(0.1),Dense(3,l2=1e-4)") == [
        {"type": "Dropout", "rate": 0.25},
        {"type": "LeakyReLU", "alpha": 0.1},
        {"type": "Dense", "units": 3, "l2": 0.0001},
    ]


def test_layer_text_round_trips_through_format_layers():
    configs = parse_layers(
        "Reshape(1x28x28),Conv2D(8,3,same,relu),Flatten,Dense(10,use_bias=false)"
    )
    assert parse_layers(format_layers(configs)) == configs


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", ["empty"]),
        ("Dense(128,rleu)", ["Dense has no setting for 'rleu'", "activation (one of"]),
        ("Dens(3)", ["unknown layer type 'Dens'", "Known:", "Dense"]),
        ("Dense(3", ["ends too early"]),
        ("Dense(3))", ["character 9"]),
        ("Dense(3) Dense(4)", ["',' between layers", "character 10"]),
        ("Dense(units=3, 4)", ["name=value"]),
        ("Dense(3, colour=2)", ["no setting 'colour'"]),
        ("Dense(3, units=4)", ["'units' twice"]),
        ("Dense(3;4)", ["cannot read", "character 8"]),
    ],
)
def test_layer_text_errors_say_what_and_where(text, words):
    with pytest.raises(LayerTextError) as error:
        parse_layers(text)
    for word in words:
        assert word in str(error.value)
    assert str(error.value).startswith("--layers")


def test_layer_specs_keep_their_position_for_messages():
    specs = parse_layer_specs("Flatten, Dense(2)")
    assert [(s.name, s.args, s.position) for s in specs] == [("Flatten", [], 0), ("Dense", [2], 9)]


# -- arguments and the window --------------------------------------------------------------------


def test_no_sub_command_opens_the_window_with_the_project(monkeypatch):
    import nnstudio.ui.app

    opened = []
    monkeypatch.setattr(nnstudio.ui.app, "run_app", lambda path=None: opened.append(path) or 0)
    assert main(["demo.nnsproj"]) == 0
    assert main([]) == 0
    assert opened == ["demo.nnsproj", None]


def test_help_lists_the_sub_commands(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("train", "evaluate", "predict", "bench"):
        assert command in out
    assert main(["train", "--help"]) == 0
    assert "--early-stopping PATIENCE" in capsys.readouterr().out


def test_bad_argument_is_one_line_and_exit_2():
    result = run_cli("train", "--dataset", "spiral", "--epochs", "zero")
    assert result.returncode == 2
    assert_one_line_error(result.stderr, "nnstudio train: error:", "--epochs", "'zero'")


def test_headless_train_never_imports_qt(tmp_path):
    code = (
        "import sys; from nnstudio.cli import main\n"
        f"code = main(['train', *{TOY!r}, '--epochs', '1', '--json'])\n"
        "qt = [m for m in sys.modules if m.startswith(('PySide6', 'shiboken6', 'pyqtgraph'))]\n"
        "print('QT', qt, code, file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert "QT [] 0" in result.stderr


# -- train ---------------------------------------------------------------------------------------


def test_train_toy_set_saves_a_loadable_model_and_its_history(tmp_path, capsys):
    out = tmp_path / "model.nnz"
    assert main(["train", *TOY, "--epochs", "3", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "epoch 1/3" in printed and "epoch 3/3" in printed
    assert "test: loss" in printed and f"model saved to {out}" in printed
    bundle = load_model(out)
    assert tuple(bundle.model.output_shape) == (2,)
    assert bundle.metadata["dataset"]["name"] == "spiral"
    with open(history_path(out), newline="") as file:
        rows = list(csv.DictReader(file))
    assert [int(row["epoch"]) for row in rows] == [1, 2, 3]
    assert set(rows[0]) == EPOCH_KEYS
    assert history_path(out).name == "model-history.csv"


def test_json_output_is_one_object_per_line_and_nothing_else(tmp_path, capsys):
    out = tmp_path / "model.nnz"
    assert (
        main(["train", *TOY, "--epochs", "2", "--val-split", "0.2", "--json", "--out", str(out)])
        == 0
    )
    lines = capsys.readouterr().out.splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == 3
    # Each epoch record also carries the training doctor's health and warnings (issue 17).
    doctor_keys = {"health", "warnings"}
    assert [set(r) for r in records[:2]] == [EPOCH_KEYS | doctor_keys] * 2
    assert [r["epoch"] for r in records[:2]] == [1, 2]
    assert all(r["val_loss"] is not None for r in records[:2])
    final = records[-1]
    assert final["final"] is True
    assert 0.0 <= final["test_accuracy"] <= 1.0 and final["test_loss"] > 0
    assert final["stopped_reason"] == "completed" and final["model"] == str(out)


def test_project_file_and_preset_train_with_overrides(tmp_path, capsys):
    project = tmp_path / "xor.nnsproj"
    assert (
        main(
            [
                "train",
                "--preset",
                "xor-net",
                "--epochs",
                "1",
                "--samples",
                "80",
                "--save-project",
                str(project),
                "--json",
            ]
        )
        == 0
    )
    saved = json.loads(project.read_text())
    assert saved["dataset"] == {"name": "xor", "options": {"samples": 80, "noise": 0.1}}
    assert saved["training"]["epochs"] == 1
    capsys.readouterr()
    assert main(["train", str(project), "--epochs", "2", "--lr", "0.05", "--json"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r.get("epoch") for r in records[:-1]] == [1, 2]
    assert records[0]["lr"] == pytest.approx(0.05)


def test_train_on_a_small_idx_set(digit_model):
    bundle = load_model(digit_model)
    assert tuple(bundle.model.input_shape) == (1, 28, 28)
    assert len(bundle.class_names or range(10)) == 10


def test_checkpoint_then_resume_continues_the_epochs(tmp_path, capsys):
    checkpoint = tmp_path / "run.ckpt"
    assert main(["train", *TOY, "--epochs", "2", "--checkpoint", str(checkpoint), "--json"]) == 0
    capsys.readouterr()
    assert main(["train", *TOY, "--epochs", "2", "--resume", str(checkpoint), "--json"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["epoch"] for r in records[:-1]] == [3, 4]
    assert records[-1]["epochs_completed"] == 4


def test_resume_from_the_checkpoint_alone_matches_an_uninterrupted_run(tmp_path, capsys):
    straight, resumed = tmp_path / "straight.nnz", tmp_path / "resumed.nnz"
    checkpoint = tmp_path / "run.ckpt"
    common = ["--json"]
    assert main(["train", *TOY, "--epochs", "4", "--out", str(straight), *common]) == 0
    assert main(["train", *TOY, "--epochs", "2", "--checkpoint", str(checkpoint), *common]) == 0
    # No dataset or layers: the checkpoint carries its project.
    assert (
        main(
            ["train", "--resume", str(checkpoint), "--epochs", "2", "--out", str(resumed), *common]
        )
        == 0
    )
    capsys.readouterr()
    a, b = load_model(straight).model.state_dict(), load_model(resumed).model.state_dict()
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_allclose(a[key], b[key], rtol=1e-5, atol=1e-6)


def test_progress_bar_on_a_terminal_shows_loss_accuracy_and_eta():
    err, out = StringIO(), StringIO()
    progress = TextProgress(out=out, err=err, bar=True)
    progress.REDRAW_SECONDS = 0.0
    progress.start(epochs=2)
    progress.on_batch_end({"epoch": 1, "batch": 5, "batches": 10, "loss": 0.5, "accuracy": 0.75})
    assert "\r" in err.getvalue()
    assert "epoch 1/2" in err.getvalue() and "loss 0.5000" in err.getvalue()
    assert "accuracy 75.00%" in err.getvalue() and "ETA" in err.getvalue()
    progress.on_epoch_end(
        {"epoch": 1, "epochs": 2, "loss": 0.4, "accuracy": 0.8, "lr": 0.01, "seconds": 1.5}
    )
    assert out.getvalue().startswith("epoch 1/2  loss 0.4000  accuracy 80.00%")


def test_plain_progress_writes_no_carriage_returns():
    err, out = StringIO(), StringIO()
    progress = TextProgress(out=out, err=err, bar=False)
    progress.on_batch_end({"epoch": 1, "batch": 1, "batches": 2, "loss": 0.5})
    assert err.getvalue() == ""


def test_ctrl_c_stops_training_and_still_saves_the_model(tmp_path):
    out = tmp_path / "interrupted.nnz"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nnstudio",
            "train",
            "--dataset",
            "spiral",
            "--samples",
            "4000",
            "--epochs",
            "1000",
            "--batch-size",
            "4",
            "--out",
            str(out),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = process.stdout.readline()  # the first epoch line: training is under way
        assert first.startswith("epoch 1/1000"), first + process.stderr.read()
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    assert "stopping after this batch" in stderr
    assert "Traceback" not in stderr
    assert "Stopped" in stdout  # the fit loop says where it stopped
    bundle = load_model(out)
    assert tuple(bundle.model.output_shape) == (2,)
    assert history_path(out).exists()


# -- evaluate ------------------------------------------------------------------------------------


def test_evaluate_prints_metrics_and_confusion_matrix(toy_model, capsys):
    assert main(["evaluate", str(toy_model)]) == 0  # the dataset recorded in the model
    out = capsys.readouterr().out
    assert "accuracy" in out and "precision" in out and "macro avg" in out
    assert "confusion matrix" in out


def test_evaluate_json_is_one_object_with_the_report(toy_model, capsys):
    assert (
        main(["evaluate", str(toy_model), "--dataset", "spiral", "--samples", "120", "--json"]) == 0
    )
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    report = json.loads(lines[0])
    assert 0.0 <= report["accuracy"] <= 1.0
    matrix = np.array(report["confusion_matrix"])
    assert matrix.shape == (2, 2) and matrix.sum() == report["samples"]
    assert len(report["per_class"]) == 2 and "f1" in report["macro"]


def test_evaluate_on_the_idx_set(digit_model, idx_folder, capsys):
    assert main(["evaluate", str(digit_model), "--dataset", f"idx:{idx_folder}", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert np.array(report["confusion_matrix"]).shape == (10, 10)


def test_evaluate_images_of_the_wrong_size_is_exit_2(digit_model, tmp_path, capsys):
    small = write_idx_set(tmp_path / "small", side=20)
    assert main(["evaluate", str(digit_model), "--dataset", f"idx:{small}"]) == 2
    assert_one_line_error(capsys.readouterr().err, "(1, 28, 28)", "(1, 20, 20)")


# -- predict -------------------------------------------------------------------------------------


def test_predict_csv_rows(toy_model, tmp_path, capsys):
    rows = tmp_path / "points.csv"
    rows.write_text("0.1,0.2\n-0.5,0.4\n0.9,-0.9\n")
    assert main(["predict", str(toy_model), str(rows)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    names = load_model(toy_model).class_names
    for line in lines:
        label, answer = line.split(": ", 1)
        assert label.startswith(str(rows))
        assert answer.split(" (")[0] in names and answer.endswith("%)")


def write_digit_picture(path: Path, height: int = 28, width: int = 28) -> Path:
    """A bar of dark ink on white paper, as a scanned or drawn digit would be."""
    picture = np.full((height, width), 255, np.uint8)
    picture[height // 4 : height // 4 + 6, 5 : width - 5] = 0
    Image.fromarray(picture).save(path)
    return path


def test_predict_png_and_jpg_of_any_size_for_a_digit_model(digit_model, tmp_path, capsys):
    paths = []
    for index, (height, width) in enumerate([(28, 28), (90, 60)]):
        path = tmp_path / f"digit{index}.{'png' if index == 0 else 'jpg'}"
        paths.append(str(write_digit_picture(path, height, width)))
    assert main(["predict", str(digit_model), *paths, "--json", "--top", "3"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["input"] for r in records] == paths
    for record in records:
        assert 0.0 <= record["probability"] <= 1.0 and len(record["top"]) == 3
        assert record["top"][0]["probability"] >= record["top"][1]["probability"]


def test_predict_reads_images_without_qt(digit_model, tmp_path):
    picture = write_digit_picture(tmp_path / "digit.png")
    code = (
        "import sys; from nnstudio.cli import main\n"
        f"code = main(['predict', {str(digit_model)!r}, {str(picture)!r}, '--json'])\n"
        "qt = [m for m in sys.modules if m.startswith(('PySide6', 'shiboken6', 'pyqtgraph'))]\n"
        "print('QT', qt, code, file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert "QT [] 0" in result.stderr, result.stderr
    assert json.loads(result.stdout)["input"] == str(picture)


def test_grey_levels_are_the_luminance_of_the_colours(tmp_path):
    from nnstudio.cli.predict import read_image_gray, read_image_rgb

    colours = np.array([[[255, 0, 0], [0, 255, 0]], [[0, 0, 255], [128, 128, 128]]], np.uint8)
    Image.fromarray(colours).save(tmp_path / "colours.png")
    gray = read_image_gray(tmp_path / "colours.png")
    # The grey levels Qt gave (linear-light luminance, back in sRGB): pure green is far
    # lighter than pure blue, and a grey stays the same grey.
    np.testing.assert_allclose(gray, [[127 / 255, 220 / 255], [76 / 255, 128 / 255]], atol=1e-6)
    rgb = read_image_rgb(tmp_path / "colours.png", 4, 4)
    assert rgb.shape == (3, 4, 4) and rgb.dtype == np.float32
    assert rgb[0, 0, 0] == 1.0 and rgb[1, 0, 0] == 0.0  # the red corner, resized bilinearly


def test_predict_blank_image_is_exit_2(digit_model, tmp_path, capsys):
    path = tmp_path / "blank.png"
    Image.new("L", (30, 30), 255).save(path)
    assert main(["predict", str(digit_model), str(path)]) == 2
    assert_one_line_error(capsys.readouterr().err, "blank.png", "blank")


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("text.csv", "0.1,abc\n", ["text.csv line 1, column 2", "'abc' is not a number"]),
        ("short.csv", "0.1\n", ["short.csv line 1", "1 values, the model needs 2"]),
        ("notes.txt", "hello", ["notes.txt", "unknown kind of file"]),
    ],
)
def test_predict_bad_inputs_are_exit_2(toy_model, tmp_path, capsys, name, content, words):
    path = tmp_path / name
    path.write_text(content)
    assert main(["predict", str(toy_model), str(path)]) == 2
    assert_one_line_error(capsys.readouterr().err, *words)


def test_predict_file_that_is_not_an_image_is_exit_2(digit_model, tmp_path, capsys):
    path = tmp_path / "picture.png"
    path.write_text("not a png")
    assert main(["predict", str(digit_model), str(path)]) == 2
    assert_one_line_error(capsys.readouterr().err, "picture.png", "not an image")


def test_predict_truncated_image_is_exit_2(digit_model, tmp_path, capsys):
    path = write_digit_picture(tmp_path / "cut.png")
    path.write_bytes(path.read_bytes()[:60])
    assert main(["predict", str(digit_model), str(path)]) == 2
    assert_one_line_error(capsys.readouterr().err, "cut.png", "not an image")


def test_predict_image_for_a_model_of_points_is_exit_2(toy_model, tmp_path, capsys):
    path = tmp_path / "square.png"
    Image.new("L", (8, 8), 0).save(path)
    assert main(["predict", str(toy_model), str(path)]) == 2
    assert_one_line_error(capsys.readouterr().err, "not images")


# -- bad input from the data layer and elsewhere: exit 2, one line --------------------------------


def _truncated_idx(tmp_path: Path) -> str:
    folder = write_idx_set(tmp_path / "truncated")
    path = folder / MNIST_FILES["train_images"]
    path.write_bytes(path.read_bytes()[:1000])
    return f"idx:{folder}"


def _wrong_magic_idx(tmp_path: Path) -> str:
    folder = write_idx_set(tmp_path / "magic")
    path = folder / MNIST_FILES["train_labels"]
    path.write_bytes(b"\x12\x34" + path.read_bytes()[2:])
    return f"idx:{folder}"


def _csv(tmp_path: Path, text: str) -> str:
    path = tmp_path / "table.csv"
    path.write_text(text)
    return f"csv:{path}"


GOOD_ROWS = "".join(f"{i},{i % 3},{'a' if i % 2 else 'b'}\n" for i in range(30))
BAD_DATA = {
    "truncated IDX": (_truncated_idx, [], ["train-images"]),
    "wrong IDX magic": (_wrong_magic_idx, [], ["train-labels"]),
    "text in a numeric column": (
        lambda t: _csv(t, "x,y,label\n" + GOOD_ROWS.replace("4,1,b", "4,oops,b")),
        ["--target", "label"],
        ["table.csv"],
    ),
    "missing values": (
        lambda t: _csv(t, "x,y,label\n" + GOOD_ROWS.replace("5,2,a", "5,,a")),
        ["--target", "label"],
        ["table.csv"],
    ),
    "target column that does not exist": (
        lambda t: _csv(t, "x,y,label\n" + GOOD_ROWS),
        ["--target", "colour"],
        ["colour"],
    ),
    "one class only": (
        lambda t: _csv(t, "x,y,label\n" + GOOD_ROWS.replace(",b\n", ",a\n")),
        ["--target", "label"],
        ["class"],
    ),
    "unknown dataset": (lambda t: "spirals", [], ["spirals"]),
    "missing file": (lambda t: "csv:/nowhere/data.csv", [], ["/nowhere/data.csv"]),
}


@pytest.mark.parametrize("case", sorted(BAD_DATA))
def test_bad_data_is_exit_2_with_one_line(tmp_path, capsys, case):
    make, extra, words = BAD_DATA[case]
    dataset = make(tmp_path)
    assert main(["train", "--dataset", dataset, *extra, "--epochs", "1"]) == 2
    assert_one_line_error(capsys.readouterr().err, *words)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--layers", "Conv2D(8,3),Dense(2)"], ["Conv2D", "needs input"]),
        (["--layers", "Dense(16,relu),Dense(3)"], ["Dense(2)"]),
        (["--layers", "Dense(16,rleu)"], ["rleu"]),
        (["--preset", "mnist-mpl"], ["unknown preset"]),
        (["--optimizer", "adamm"], ["adamm"]),
        (["--out", "/no/such/folder/m.nnz"], ["/no/such/folder"]),
    ],
)
def test_bad_model_and_options_are_exit_2(capsys, args, words):
    assert main(["train", *TOY, "--epochs", "1", *args]) == 2
    assert_one_line_error(capsys.readouterr().err, *words)


def test_learning_rate_1e9_saves_nothing_and_exits_2(tmp_path, capsys):
    out = tmp_path / "diverged.nnz"
    code = main(
        [
            "train",
            *TOY,
            "--epochs",
            "3",
            "--lr",
            "1e9",
            "--optimizer",
            "sgd",
            "--out",
            str(out),
            "--json",
        ]
    )
    captured = capsys.readouterr()
    assert code == 2
    assert_one_line_error(captured.err, "learning rate")
    final = json.loads(captured.out.splitlines()[-1])
    assert final["stopped_reason"] == "nan"
    # It blew up in the first epoch: the restored weights are the untrained start, not saved.
    assert "No epoch finished, so nothing was saved" in captured.err
    assert not out.exists()


def test_model_file_that_is_not_a_model_is_exit_2(tmp_path):
    fake = tmp_path / "fake.nnz"
    fake.write_text("hello")
    result = run_cli("evaluate", str(fake), "--dataset", "spiral")
    assert result.returncode == 2
    assert_one_line_error(result.stderr, "fake.nnz")


def test_model_from_a_newer_nnstudio_is_exit_2(toy_model, tmp_path, capsys):
    newer = tmp_path / "newer.nnz"
    with zipfile.ZipFile(toy_model) as source, zipfile.ZipFile(newer, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "model.json":
                meta = json.loads(data)
                meta["format_version"] = 999
                data = json.dumps(meta).encode()
            target.writestr(item, data)
    assert main(["predict", str(newer), str(tmp_path / "x.csv")]) == 2
    assert_one_line_error(capsys.readouterr().err, "newer")


def test_disk_full_while_saving_keeps_the_old_model(toy_model, tmp_path, capsys, monkeypatch):
    out = tmp_path / "model.nnz"
    out.write_bytes(toy_model.read_bytes())

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    assert main(["train", *TOY, "--epochs", "1", "--out", str(out)]) == 2
    assert_one_line_error(capsys.readouterr().err, "model.nnz", "disk is full")
    assert out.read_bytes() == toy_model.read_bytes()


def test_unexpected_failure_is_exit_1_with_traceback_only_under_debug(monkeypatch, capsys):
    import nnstudio.cli.train

    def broken(args):
        raise RuntimeError("boom")

    monkeypatch.setattr(nnstudio.cli.train, "run_train", broken)
    assert main(["train", *TOY]) == 1
    err = capsys.readouterr().err
    assert "unexpected error: RuntimeError: boom" in err and "Traceback" not in err
    assert main(["train", *TOY, "--debug"]) == 1
    assert "Traceback" in capsys.readouterr().err


# -- bench ---------------------------------------------------------------------------------------


def test_bench_reports_epoch_times_as_json(capsys):
    args = ["bench", "--samples", "512", "--epochs", "1", "--models", "mlp", "--no-torch"]
    assert main([*args, "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    mlp = results["models"]["mlp"]
    assert mlp["nnstudio"]["median"] > 0 and mlp["gemm_floor"]["median"] > 0
    assert mlp["ratio_to_floor"] > 0
    assert results["samples"] == 512
    assert "torch" not in mlp


def test_bench_text_report(capsys):
    args = ["bench", "--samples", "128", "--epochs", "1", "--models", "mlp,cnn", "--no-torch"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "MLP: nnstudio" in out and "GEMM floor" in out and "numpy BLAS" in out
    assert "CNN: nnstudio" in out


def test_bench_unknown_model_is_exit_2(capsys):
    assert main(["bench", "--models", "rnn"]) == 2
    assert_one_line_error(capsys.readouterr().err, "rnn")


def test_csv_model_predicts_new_rows_encoded_like_its_training_rows(tmp_path, capsys):
    table = tmp_path / "flowers.csv"
    rows = ["size,colour,kind"]
    for i in range(60):
        colour, kind = ("red" if i % 2 else "blue"), ("big" if i % 3 else "small")
        rows.append(f"{1 + (i % 3) * 2 + 0.1 * (i % 5)},{colour},{kind}")
    table.write_text("\n".join(rows) + "\n")
    out = tmp_path / "flowers.nnz"
    assert (
        main(
            [
                "train",
                "--dataset",
                f"csv:{table}",
                "--target",
                "kind",
                "--epochs",
                "2",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    new_rows = tmp_path / "new.csv"
    new_rows.write_text("colour,size\nred,1.0\nblue,5.2\n")  # other column order, no target
    capsys.readouterr()
    assert main(["predict", str(out), str(new_rows)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert all(line.split(": ")[1].split(" (")[0] in ("big", "small") for line in lines)


def test_regression_model_trains_evaluates_and_predicts(tmp_path, capsys):
    out = tmp_path / "plane.nnz"
    assert (
        main(
            [
                "train",
                "--dataset",
                "plane",
                "--samples",
                "100",
                "--epochs",
                "2",
                "--json",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    final = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert final["test_mse"] >= 0 and "test_accuracy" not in final
    assert main(["evaluate", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {"mse", "rmse", "mae", "r2"} <= set(report)
    points = tmp_path / "points.csv"
    points.write_text("0.5,0.5\n")
    assert main(["predict", str(out), str(points)]) == 0
    value = capsys.readouterr().out.split(": ")[1]
    assert np.isfinite(float(value))


def test_missing_mnist_says_how_to_get_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NNSTUDIO_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("NNSTUDIO_FASHION_MNIST_DIR", raising=False)
    if Path("/usr/share/datasets/fashion-mnist").exists():
        pytest.skip("Fashion-MNIST is installed system-wide here")
    assert main(["train", "--dataset", "fashion-mnist", "--epochs", "1"]) == 2
    assert_one_line_error(capsys.readouterr().err, "Fashion-MNIST", "--download")


def test_columns_choose_the_csv_inputs_for_training(tmp_path, capsys):
    rows = "".join(f"{i},{(i * 7) % 5},{i % 2},{'a' if i % 2 else 'b'}\n" for i in range(40))
    dataset = _csv(tmp_path, "x,noise,other,label\n" + rows)
    out = tmp_path / "model.nnz"
    args = ["train", "--dataset", dataset, "--target", "label", "--columns", "x,other"]
    assert main([*args, "--epochs", "1", "--out", str(out)]) == 0
    capsys.readouterr()
    bundle = load_model(out)
    assert bundle.model.config()["input_shape"] == [2]
    assert bundle.metadata["dataset"]["options"]["columns"] == ["x", "other"]


def test_columns_naming_an_unknown_column_is_exit_2(tmp_path, capsys):
    dataset = _csv(tmp_path, "x,y,label\n" + GOOD_ROWS)
    assert main(["train", "--dataset", dataset, "--target", "label", "--columns", "x,z"]) == 2
    assert_one_line_error(capsys.readouterr().err, "'z'")


def test_install_desktop_writes_the_launcher_for_the_user(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert main(["--install-desktop"]) == 0
    entry = tmp_path / "applications" / "io.github.nnstudio.NNStudio.desktop"
    assert entry.is_file() and "Exec=" in entry.read_text()
    assert str(entry) in capsys.readouterr().out
