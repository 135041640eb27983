"""Fine-tune a digit model on the user's corrected drawings (the Draw tab's "Fine-tune on my
drawings"), and say what it changed.

A copy of the model trains for a few epochs with a small learning rate on the drawings,
oversampled among a sample of MNIST training images (data/drawings_mix.py: without those, a
few epochs on twenty drawings make a model forget MNIST). Accuracy on the drawings and on
MNIST test images is measured before and after, so the user can judge whether to keep the
new weights. The original model is never changed: the result carries the new one.

Runs on a worker thread in the window; ``control`` (a TrainingControl) stops it between
batches, ``progress(done, total, message)`` reports each epoch. No Qt here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nnstudio.data.drawings_mix import fine_tune_set
from nnstudio.engine.fit import FitConfig, TrainingControl, fit
from nnstudio.engine.metrics import predicted_labels
from nnstudio.engine.model import Sequential
from nnstudio.engine.optimizers import Adam

EPOCHS = 3
LEARNING_RATE = 3e-4  # a tenth of a usual Adam rate: nudge the weights, do not retrain
BATCH_SIZE = 32
MNIST_TEST_SAMPLES = 2000  # enough to see a drop of a point or two, fast on a laptop


@dataclass
class FineTuneResult:
    """Accuracies before and after (``None`` where MNIST was not available), the tuned model
    (a new Sequential) and how the training set was made."""

    model: Sequential
    drawings_before: float
    drawings_after: float
    mnist_before: float | None
    mnist_after: float | None
    drawings: int
    repeats: int
    epochs: int
    stopped: bool = False

    def summary(self) -> str:
        """Two short lines for the Draw tab."""
        noun = "drawing" if self.drawings == 1 else f"{self.drawings} drawings"
        lines = [f"Your {noun}: {self.drawings_before:.0%} → {self.drawings_after:.0%} read right."]
        if self.mnist_before is not None:
            lines.append(f"MNIST test: {self.mnist_before:.1%} → {self.mnist_after:.1%}.")
        else:
            lines.append("MNIST test: not measured (MNIST is not downloaded).")
        return "\n".join(lines)


def copy_model(model) -> Sequential:
    """A new Sequential with the same layers and weights (training it leaves ``model`` alone)."""
    twin = Sequential.from_config(model.config())
    twin.load_state_dict({name: np.array(value) for name, value in model.state_dict().items()})
    return twin


def accuracy_on(digit_model, model, images, labels) -> float:
    """Share of ``images`` (N, 1, 28, 28) that ``model`` labels right, read as ``digit_model``
    reads a drawing (its input shape and scaling)."""
    if len(labels) == 0:
        return float("nan")
    outputs = model.predict(_model_inputs(digit_model, images))
    return float(np.mean(predicted_labels(outputs) == np.asarray(labels)))


def fine_tune(
    digit_model,
    drawings,
    mnist_train=None,
    mnist_test=None,
    *,
    epochs: int = EPOCHS,
    learning_rate: float = LEARNING_RATE,
    seed: int = 0,
    control: TrainingControl | None = None,
    progress=None,
) -> FineTuneResult:
    """Train a copy of ``digit_model.model`` on ``drawings`` = (X, y); see the module docstring.

    ``mnist_train`` and ``mnist_test`` are (X, y) of MNIST images (N, 1, 28, 28) in [0, 1], or
    None when MNIST is not on this computer."""
    drawings_x, drawings_y = drawings
    test_x, test_y = _sample(mnist_test, MNIST_TEST_SAMPLES, seed)
    train_x, train_y = mnist_train if mnist_train is not None else (None, None)
    x, y, repeats = fine_tune_set(drawings_x, drawings_y, train_x, train_y, seed=seed)
    tuned = copy_model(digit_model.model)
    before = _accuracies(digit_model, tuned, drawings_x, drawings_y, test_x, test_y)
    report = _EpochReport(progress, epochs)
    result = fit(
        tuned,
        digit_model.loss,
        Adam(lr=learning_rate),
        _model_inputs(digit_model, x),
        y,
        FitConfig(epochs=epochs, batch_size=BATCH_SIZE, seed=seed),
        callbacks=[report],
        control=control,
    )
    after = _accuracies(digit_model, tuned, drawings_x, drawings_y, test_x, test_y)
    return FineTuneResult(
        tuned,
        before[0],
        after[0],
        before[1],
        after[1],
        drawings=len(drawings_y),
        repeats=repeats,
        epochs=result.epochs_completed,
        stopped=result.stopped_reason == "stopped",
    )


class _EpochReport:
    def __init__(self, progress, epochs: int):
        self.progress, self.epochs = progress, epochs

    def on_epoch_end(self, info) -> None:
        if self.progress is not None:
            self.progress(
                info["epoch"],
                self.epochs,
                f"Epoch {info['epoch']} / {self.epochs}: loss {info['loss']:.3f}",
            )


def _model_inputs(digit_model, images) -> np.ndarray:
    from nnstudio.data.preprocessing import apply_scaling

    x = np.asarray(images, dtype=np.float32).reshape((len(images), *digit_model.input_shape))
    return apply_scaling(x, digit_model.scaling)


def _accuracies(digit_model, model, drawings_x, drawings_y, test_x, test_y):
    on_drawings = accuracy_on(digit_model, model, drawings_x, drawings_y)
    on_mnist = None if test_x is None else accuracy_on(digit_model, model, test_x, test_y)
    return on_drawings, on_mnist


def _sample(pair, count: int, seed: int):
    if pair is None or len(pair[1]) == 0:
        return None, None
    x, y = pair
    if len(y) <= count:
        return x, y
    pick = np.random.default_rng(seed).choice(len(y), size=count, replace=False)
    return x[pick], y[pick]
