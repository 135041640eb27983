"""The models the Draw tab can ask: the bundled digit model and the user's current model.

No Qt here, so the prediction path can be tested (and timed) without a window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from nnstudio.data.preprocessing import apply_scaling, saved_scaling
from nnstudio.engine.losses import get_loss
from nnstudio.engine.metrics import class_probabilities
from nnstudio.paths import resource_path

BUNDLED_MODEL = ("models", "digit-model.nnz")
DIGIT_NAMES = [str(digit) for digit in range(10)]
# Below this top probability the answer is shown as a guess ("not sure").
NOT_SURE_BELOW = 0.6
# Input shapes that hold one 28×28 grey image; a drawing is reshaped to the one the model takes.
IMAGE_SHAPES = {(1, 28, 28), (28, 28), (784,)}


class DrawModelError(ValueError):
    """A model that cannot read drawings (wrong input shape, missing bundled file)."""


@dataclass
class DigitModel:
    """A model that reads a prepared (28, 28) drawing: the answer's probabilities and saliency.

    ``scaling`` is the dataset's scaling dict (``{"method": "standardize", "mean": [...],
    "std": [...]}``): the drawing goes through it as the training images did. ``loss`` (a
    classification loss's name) turns the outputs into probabilities as training read them.
    """

    model: object
    title: str
    class_names: list[str] = field(default_factory=lambda: list(DIGIT_NAMES))
    scaling: dict | None = None
    outputs_are_probabilities: bool = False
    metadata: dict = field(default_factory=dict)
    loss: str = "softmax_crossentropy"

    def __post_init__(self) -> None:
        self.input_shape = model_input_shape(self.model)
        if get_loss(self.loss).task != "classification":
            raise DrawModelError(
                f"{self.title} was trained with the regression loss {self.loss!r}; drawing "
                "needs a model that tells classes apart."
            )
        # A network ending in softmax already gives probabilities; softmax again would flatten.
        self.outputs_are_probabilities = self.outputs_are_probabilities or ends_in_softmax(
            self.model
        )
        if self.input_shape not in IMAGE_SHAPES:
            raise DrawModelError(
                f"{self.title} takes input {self.input_shape}; drawing needs a model whose "
                "input is one 28×28 image ((1, 28, 28) or 784 values)."
            )

    def model_input(self, digit: np.ndarray) -> np.ndarray:
        """The batch of one the model takes, scaled as its training data was."""
        x = np.asarray(digit, dtype=np.float32).reshape((1, *self.input_shape))
        return apply_scaling(x, self.scaling)

    def probabilities(self, digit: np.ndarray) -> np.ndarray:
        """Probabilities (n_classes,) of a prepared (28, 28) drawing."""
        outputs = self.model.forward(self.model_input(digit), training=False)
        if self.outputs_are_probabilities:
            outputs = np.asarray(outputs, dtype=np.float64).reshape(-1)
            return outputs / max(outputs.sum(), 1e-12)
        return class_probabilities(outputs, self.loss)[0]

    def saliency(self, digit: np.ndarray, class_index: int) -> np.ndarray:
        """How much each pixel pushes the score of ``class_index``: d score / d pixel, (28, 28).

        The gradient is taken with respect to the drawing itself (scaling is a per-pixel linear
        map, so only the magnitude differs, not where it points)."""
        gradient = self.model.input_gradient(self.model_input(digit), class_index=class_index)
        return np.asarray(gradient, dtype=np.float32).reshape(28, 28)

    @property
    def test_accuracy(self) -> float | None:
        """Accuracy on the MNIST test set as `nnstudio train` recorded it, if known."""
        value = self.metadata.get("mnist_test_accuracy")
        if value is None:
            value = (self.metadata.get("test") or {}).get("accuracy")
        return float(value) if value is not None else None


def model_input_shape(model) -> tuple[int, ...] | None:
    """The input shape of a Sequential (batch dimension excluded), or None if unknown."""
    shape = getattr(model, "input_shape", None)
    if shape is None and hasattr(model, "config"):
        shape = model.config().get("input_shape")
    return tuple(int(size) for size in shape) if shape is not None else None


def ends_in_softmax(model) -> bool:
    layers = getattr(model, "layers", None) or []
    if not layers:
        return False
    config = layers[-1].get_config()
    return "softmax" in (config.get("type"), config.get("activation"), config.get("function"))


def describe(probabilities: np.ndarray, class_names: Sequence[str]) -> tuple[str, str]:
    """The answer and a sentence about how sure it is: ("7", "98 % sure") or, below
    NOT_SURE_BELOW, ("7", "Not sure — 7 (48 %) or 1 (39 %)")."""
    order = np.argsort(probabilities)[::-1]
    best, second = int(order[0]), int(order[1])
    top = float(probabilities[best])
    if top >= NOT_SURE_BELOW:
        return class_names[best], f"{top:.0%} sure"
    return class_names[best], (
        f"Not sure — {class_names[best]} ({top:.0%}) "
        f"or {class_names[second]} ({float(probabilities[second]):.0%})"
    )


def bundled_model_path() -> Path:
    return resource_path(*BUNDLED_MODEL)


@lru_cache(maxsize=1)
def load_bundled_model() -> DigitModel:
    """The digit model shipped with nnstudio (loaded once, on first use)."""
    path = bundled_model_path()
    if not path.is_file():
        raise DrawModelError(
            f"The bundled digit model is missing ({path}). Reinstall nnstudio, or train one "
            "with `nnstudio train --preset digit-model --out <that path>`."
        )
    return load_digit_model(path, title="Bundled digit model")


def load_digit_model(path: str | Path, title: str | None = None) -> DigitModel:
    """A DigitModel from a .nnz model file."""
    from nnstudio.engine.io import load_model

    bundle = load_model(path)
    return DigitModel(
        model=bundle.model,
        title=title or Path(path).stem,
        class_names=list(bundle.class_names or DIGIT_NAMES),
        scaling=saved_scaling(bundle.preprocessing),
        metadata=dict(bundle.metadata or {}),
        loss=bundle.loss or "softmax_crossentropy",
    )
