"""`nnstudio train --dataset images:FOLDER` and `nnstudio predict` on pictures and folders:
a small CNN on colour shapes, skipped files counted, class names printed, --csv written."""

import csv

import pytest

from nnstudio.cli import main
from nnstudio.engine.io import load_model
from tests.cli.test_cli import assert_one_line_error
from tests.data.conftest import write_shapes_folder

CNN = "Conv2D(4,3,relu),MaxPool2D(2),Flatten,Dense(2)"


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    return write_shapes_folder(tmp_path_factory.mktemp("shapes"), per_class=16, side=12)


@pytest.fixture(scope="module")
def shapes_model(shapes, tmp_path_factory):
    """A CNN trained on the shapes (module-wide: training once serves every test)."""
    out = tmp_path_factory.mktemp("model") / "shapes.nnz"
    args = ["train", "--dataset", f"images:{shapes}", "--layers", CNN, "--epochs", "12"]
    assert main([*args, "--lr", "0.01", "--batch-size", "8", "--out", str(out)]) == 0
    return out


def test_training_on_an_image_folder_says_what_it_skipped(shapes, tmp_path, capsys):
    out = tmp_path / "m.nnz"
    args = ["train", "--dataset", f"images:{shapes}", "--layers", CNN, "--epochs", "1"]
    assert main([*args, "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "skipped 2 files: notes.txt, red-squares/broken.png (not an image)" in err
    bundle = load_model(out)
    assert bundle.class_names == ["blue-circles", "red-squares"]  # the folder names
    assert tuple(bundle.model.input_shape) == (3, 12, 12)  # colour, the files' own size


def test_predict_names_the_class_of_two_pictures(shapes, shapes_model, capsys):
    pictures = [str(shapes / "red-squares" / "0.png"), str(shapes / "blue-circles" / "1.jpg")]
    assert main(["predict", str(shapes_model), *pictures]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{pictures[0]}: red-squares (")
    assert lines[1].startswith(f"{pictures[1]}: blue-circles (")


def test_predict_a_folder_into_a_csv_file(shapes, shapes_model, tmp_path, capsys):
    out = tmp_path / "predictions.csv"
    folder = shapes / "blue-circles"
    assert main(["predict", str(shapes_model), str(folder), "--csv", str(out)]) == 0
    with out.open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 16 and len(capsys.readouterr().out.splitlines()) == 16
    assert {row["class"] for row in rows} <= {"blue-circles", "red-squares"}
    # Trained on these very pictures: nearly all are named right.
    assert sum(row["class"] == "blue-circles" for row in rows) >= 12
    assert all(0.0 <= float(row["probability"]) <= 1.0 for row in rows)


def test_predict_skips_a_broken_picture_in_a_folder_and_says_so(shapes, shapes_model, capsys):
    assert main(["predict", str(shapes_model), str(shapes / "red-squares")]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 16
    assert "skipped 1 file: broken.png (not an image)" in captured.err


def test_evaluate_prints_the_class_names(shapes, shapes_model, capsys):
    assert main(["evaluate", str(shapes_model), "--dataset", f"images:{shapes}"]) == 0
    out = capsys.readouterr().out
    assert "red-squares" in out and "blue-circles" in out


def test_image_size_and_colour_options(shapes, tmp_path):
    out = tmp_path / "gray.nnz"
    args = ["train", "--dataset", f"images:{shapes}", "--layers", "Flatten,Dense(2)"]
    options = ["--image-size", "6", "--color", "gray", "--epochs", "1", "--out", str(out)]
    assert main([*args, *options]) == 0
    assert tuple(load_model(out).model.input_shape) == (1, 6, 6)


def test_an_image_folder_with_one_class_is_exit_2(tmp_path, capsys):
    (tmp_path / "cats").mkdir()
    args = ["train", "--dataset", f"images:{tmp_path}", "--layers", "Flatten,Dense(2)"]
    assert main(args) == 2
    assert_one_line_error(capsys.readouterr().err, "at least two", "'cats'")


def test_train_and_evaluate_on_cifar10_binary_files(tmp_path, monkeypatch, capsys):
    from tests.data.test_cifar import write_small_cifar

    monkeypatch.setenv("NNSTUDIO_CIFAR10_DIR", str(write_small_cifar(tmp_path / "cifar")))
    out = tmp_path / "cifar.nnz"
    layers = "Conv2D(2,3,relu),MaxPool2D(4),Flatten,Dense(10)"
    args = ["train", "--dataset", "cifar10", "--layers", layers, "--epochs", "1"]
    assert main([*args, "--out", str(out)]) == 0
    bundle = load_model(out)
    assert tuple(bundle.model.input_shape) == (3, 32, 32) and bundle.class_names[0] == "airplane"
    assert main(["evaluate", str(out)]) == 0  # the model file names its dataset
    assert "on cifar10 (test split, 20 samples)" in capsys.readouterr().out


def test_predict_prepares_a_picture_as_the_model_was_trained(shapes, tmp_path):
    """A grey 28 × 28 model from an image folder is no digit model: its pictures are padded
    and scaled as in training, not cropped to their ink like a drawn digit."""
    import numpy as np

    from nnstudio.cli.predict import collect_inputs
    from nnstudio.data.image_folder import read_image

    out = tmp_path / "gray28.nnz"
    args = ["train", "--dataset", f"images:{shapes}", "--layers", "Flatten,Dense(2)"]
    options = ["--image-size", "28", "--color", "gray", "--epochs", "1", "--out", str(out)]
    assert main([*args, *options]) == 0
    picture = shapes / "red-squares" / "0.png"
    x, _ = collect_inputs([str(picture)], load_model(out))
    assert np.array_equal(x[0], read_image(picture, (28, 28), "gray"))


def test_an_rgb_cnn_exports_to_numpy_and_onnx_taking_pixels_0_to_255(
    shapes, shapes_model, tmp_path
):
    import importlib.util

    import numpy as np

    from nnstudio.data.image_folder import read_image

    picture = read_image(shapes / "red-squares" / "0.png", (12, 12), "rgb")[None]
    expected = load_model(shapes_model).model.predict(picture)
    script = tmp_path / "shapes_model.py"
    assert main(["export", str(shapes_model), "--format", "python", "--out", str(script)]) == 0
    spec = importlib.util.spec_from_file_location("shapes_model", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.CLASS_NAMES == ["blue-circles", "red-squares"]
    np.testing.assert_allclose(module.forward(picture * 255), expected, rtol=1e-4, atol=1e-5)
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    exported = tmp_path / "shapes.onnx"
    assert main(["export", str(shapes_model), "--format", "onnx", "--out", str(exported)]) == 0
    session = ort.InferenceSession(str(exported), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    logits = session.run(["logits"], {name: (picture * 255).astype(np.float32)})[0]
    np.testing.assert_allclose(logits, expected, rtol=1e-4, atol=1e-5)
