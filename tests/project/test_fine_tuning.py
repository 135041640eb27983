"""Fine-tuning a digit model on the kept drawings (issue 21, item 4): a copy trains, the
accuracies before and after are measured on the drawings and on MNIST test images, and the
original model is left as it was."""

from __future__ import annotations

import numpy as np

from nnstudio.engine.fit import TrainingControl
from nnstudio.engine.layers import Dense, Flatten
from nnstudio.engine.model import Sequential
from nnstudio.project.digit_models import DigitModel
from nnstudio.project.fine_tune import FineTuneResult, accuracy_on, copy_model, fine_tune


def _digit_model():
    model = Sequential([Flatten(), Dense(10)], input_shape=(1, 28, 28), seed=1)
    return DigitModel(model, "Tiny")


def _drawings(n=10):
    """Ten drawings, each a bar in its own row band, labelled by the band."""
    x = np.zeros((n, 1, 28, 28), np.float32)
    for i in range(n):
        x[i, 0, 2 * i + 3, 4:24] = 1.0
    return x, np.arange(n) % 10


def test_fine_tuning_teaches_the_drawings_and_leaves_the_original_alone():
    digit_model = _digit_model()
    original = {k: v.copy() for k, v in digit_model.model.state_dict().items()}
    drawings = _drawings()
    steps = []
    result = fine_tune(
        digit_model, drawings, epochs=4, learning_rate=0.05, progress=lambda *a: steps.append(a)
    )
    assert result.drawings == 10 and result.epochs == 4 and not result.stopped
    assert result.drawings_before < 0.5 and result.drawings_after == 1.0
    assert result.mnist_before is None and "not downloaded" in result.summary()
    assert [step[0] for step in steps] == [1, 2, 3, 4]
    for name, value in digit_model.model.state_dict().items():
        np.testing.assert_array_equal(value, original[name])
    assert accuracy_on(digit_model, result.model, *drawings) == 1.0


def test_mnist_accuracy_is_measured_before_and_after():
    digit_model = _digit_model()
    rng = np.random.default_rng(0)
    mnist_x = rng.random((400, 1, 28, 28), dtype=np.float32)
    mnist_y = rng.integers(0, 10, 400)
    result = fine_tune(
        digit_model, _drawings(), (mnist_x, mnist_y), (mnist_x[:100], mnist_y[:100]), epochs=1
    )
    test_x, test_y = mnist_x[:100], mnist_y[:100]
    assert result.mnist_before == accuracy_on(digit_model, digit_model.model, test_x, test_y)
    assert 0.0 <= result.mnist_after <= 1.0 and result.repeats > 1
    assert "MNIST test" in result.summary() and "→" in result.summary()


def test_a_stopped_fine_tune_says_so():
    control = TrainingControl()
    control.stop()
    result = fine_tune(_digit_model(), _drawings(), control=control)
    assert result.stopped and result.epochs == 0


def test_copy_model_gives_independent_weights():
    model = _digit_model().model
    twin = copy_model(model)
    twin.parameters()["1.W"][...] = 0.0
    assert np.abs(twin.parameters()["1.W"]).sum() == 0
    assert np.abs(model.parameters()["1.W"]).sum() > 0


def test_the_summary_counts_one_drawing_in_the_singular():
    def result(drawings):
        return FineTuneResult(None, 0.5, 1.0, 0.99, 0.98, drawings, 1, 3)

    assert result(1).summary().startswith("Your drawing: 50% → 100% read right.")
    assert result(6).summary().startswith("Your 6 drawings: 50%")
    assert "MNIST test: 99.0% → 98.0%." in result(6).summary()
