"""The digit model bundled for the Draw tab: shipped, small, and ≥ 99 % on the MNIST test set."""

import numpy as np
import pytest

from nnstudio.data.digits import area_resample_matrix, prepare_drawing
from nnstudio.engine.io import load_model
from nnstudio.paths import resource_path
from nnstudio.project.digit_models import bundled_model_path, load_bundled_model


def mnist_test_set(folder):
    from nnstudio.data.idx import read_idx

    images = read_idx(folder / "t10k-images-idx3-ubyte.gz").astype(np.float32) / 255.0
    labels = read_idx(folder / "t10k-labels-idx1-ubyte.gz").astype(np.int64)
    return images, labels


def test_bundled_model_ships_inside_the_package_and_is_small():
    path = resource_path("models", "digit-model.nnz")
    assert path == bundled_model_path()
    assert path.is_file()
    assert path.stat().st_size <= 600_000


def test_bundled_model_loads_without_any_dataset(monkeypatch, tmp_path):
    monkeypatch.setenv("NNSTUDIO_MNIST_DIR", str(tmp_path / "nothing-here"))
    load_bundled_model.cache_clear()
    digit_model = load_bundled_model()
    assert digit_model.input_shape == (1, 28, 28)
    assert digit_model.class_names == [str(d) for d in range(10)]
    assert digit_model.test_accuracy >= 0.99  # what training measured, recorded in the file
    probabilities = digit_model.probabilities(np.zeros((28, 28), np.float32))
    assert probabilities.shape == (10,) and probabilities.sum() == pytest.approx(1.0)


@pytest.mark.slow
def test_bundled_model_reaches_99_percent_on_the_mnist_test_set(mnist_path):
    bundle = load_model(resource_path("models", "digit-model.nnz"))
    images, labels = mnist_test_set(mnist_path)
    outputs = bundle.model.predict(images[:, None], batch_size=1000)
    accuracy = float((outputs.argmax(axis=1) == labels).mean())
    assert accuracy >= 0.99
    assert accuracy == pytest.approx(bundle.metadata["test"]["accuracy"], abs=1e-4)


def test_mnist_digits_drawn_back_are_classified_the_same(mnist_path):
    digit_model = load_bundled_model()
    images, _ = mnist_test_set(mnist_path)
    blow_up = area_resample_matrix(28, 10.0, 0.0, 280)
    same = 0
    for original in images[:200]:
        redrawn = prepare_drawing(blow_up @ original @ blow_up.T)
        first = digit_model.probabilities(original).argmax()
        same += int(first == digit_model.probabilities(redrawn).argmax())
    assert same >= 198


def test_low_top_probability_is_shown_as_not_sure():
    from nnstudio.project.digit_models import DIGIT_NAMES, describe

    sure = np.full(10, 0.01)
    sure[7] = 0.91
    assert describe(sure, DIGIT_NAMES) == ("7", "91% sure")
    unsure = np.full(10, 0.02)
    unsure[[7, 1]] = [0.45, 0.39]
    answer, sentence = describe(unsure, DIGIT_NAMES)
    assert answer == "7" and sentence.startswith("Not sure") and "1 (39%)" in sentence


def test_a_drawing_is_scaled_and_read_as_the_models_loss_reads_outputs():
    from nnstudio.engine.layers import Dense, Flatten
    from nnstudio.engine.model import Sequential
    from nnstudio.project.digit_models import DigitModel

    model = Sequential([Flatten(), Dense(1)], input_shape=(1, 28, 28), seed=0)
    scaling = {"method": "standardize", "mean": [0.5], "std": [0.25]}
    digit_model = DigitModel(
        model, "odd or even", ["even", "odd"], scaling=scaling, loss="binary_crossentropy"
    )
    digit = np.random.default_rng(0).random((28, 28)).astype(np.float32)
    x = digit_model.model_input(digit)
    np.testing.assert_allclose(x, ((digit - 0.5) / 0.25)[None, None], rtol=1e-6)
    logit = float(model.forward(x)[0, 0])
    p = 1.0 / (1.0 + np.exp(-logit))
    # One sigmoid output: the two classes' probabilities, as the Evaluate tab shows them.
    np.testing.assert_allclose(digit_model.probabilities(digit), [1.0 - p, p], rtol=1e-5)


def test_a_regression_model_cannot_read_drawings():
    from nnstudio.engine.layers import Dense, Flatten
    from nnstudio.engine.model import Sequential
    from nnstudio.project.digit_models import DigitModel, DrawModelError

    model = Sequential([Flatten(), Dense(1)], input_shape=(1, 28, 28), seed=0)
    with pytest.raises(DrawModelError, match="regression loss 'mse'"):
        DigitModel(model, "brightness", loss="mse")
