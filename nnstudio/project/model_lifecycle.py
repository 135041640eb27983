"""ModelLifecycle: the dataset that loaded and the model built for it from the document's
layers, without Qt.

The model is rebuilt when the document's model config changes or a dataset arrives, except
while a session trains it (then once the session has ended: ``rebuild_pending``) and while an
opened project's dataset is still loading (the layers would be built for the old data). The
project's saved weights go into the first model built for its dataset. What happened is told
through ``events``; the window's ModelSync shows it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np

from nnstudio import safe_read
from nnstudio.engine import registry
from nnstudio.events import Events, Signal
from nnstudio.project.document import ProjectDocument

# Weights, gradients and Adam's two moments are 4 float32 copies: 50 M parameters ~ 800 MB.
MAX_PARAMETERS = 50_000_000
# The loss a task gets when the one set does not fit it (a regression dataset after MNIST).
DEFAULT_LOSS = {"classification": "softmax_crossentropy", "regression": "mse"}


def parameter_total(layers: list[dict], input_shape: tuple) -> int | None:
    """The parameters the layers would have, counted without building them; None when a
    layer cannot take its input (the builder reports that)."""
    total, shape = 0, tuple(input_shape)
    for config in layers:
        try:
            layer = registry.layer_from_config(dict(config))
            total += layer.parameter_count(shape)
            shape = tuple(int(d) for d in layer.compute_output_shape(shape))
        except (ValueError, TypeError, KeyError, OverflowError):
            return None
    return total


def model_size_problem(layers: list[dict], input_shape: tuple) -> str | None:
    """Why a model is refused for its size, or None."""
    total = parameter_total(layers, input_shape)
    if total is None or total <= MAX_PARAMETERS:
        return None
    gigabytes = total * 4 / 1e9
    return (
        f"the model would have {total:,} parameters ({gigabytes:,.1f} GB of weights alone); "
        f"nnstudio builds models of up to {MAX_PARAMETERS:,} parameters. Make the layers "
        "smaller (fewer units or filters)"
    )


def check_weights_file(path) -> None:
    """The weights a project names must be an ordinary file of a sane size before the GUI
    thread opens it (a FIFO would block it forever)."""
    safe_read.check_file(path, "a model file (.nnz)")


def load_whole_state(model, state: dict) -> None:
    """Load ``state`` into ``model`` all or nothing: a mismatch found halfway through would
    leave a mix of saved and fresh weights behind the message "starts from fresh weights"."""
    live = {**model.parameters(), **model.buffers()}
    for name, target in live.items():
        value = state.get(name)
        if value is not None and (
            np.shape(value) != target.shape or np.asarray(value).dtype.kind != "f"
        ):
            raise ValueError(
                f"weight {name!r} is {np.asarray(value).dtype} {np.shape(value)}; "
                f"the model needs float {target.shape}"
            )
    model.load_state_dict(state)  # names are checked before anything is copied


def read_weights(path):
    """The model file's bundle: a Checkpoint when it holds training state too."""
    from nnstudio.engine.io import load_model_or_checkpoint

    return load_model_or_checkpoint(path)


def output_count(dataset) -> int:
    """What the last layer must give: one per class, or one per regression target."""
    return dataset.n_classes if dataset.task == "classification" else dataset.n_outputs


class LifecycleEvents(Events):
    """What a ``ModelLifecycle`` tells the window; handlers get the arguments in brackets."""

    # (input_shape, outputs, task, loss) what the layers are to be checked against now.
    layers_to_check: Signal
    # (bundle) a model was built; ``bundle`` is the saved weights' file (a Checkpoint when it
    # holds the run's training state) when they went into it, else None.
    built: Signal
    # (message) the layers could not be built: no model until they change.
    build_failed: Signal
    # (message) the project's saved weights could not be used: the model starts fresh.
    weights_refused: Signal


class ModelLifecycle:
    """The dataset and the model built for it from ``document``'s layers.

    ``is_training()`` says whether a session owns the model now (it is not rebuilt under
    it). ``model`` is None until a build succeeds, and after one fails.
    """

    def __init__(self, document: ProjectDocument, is_training: Callable[[], bool]):
        self.document = document
        self.is_training = is_training
        self.events = LifecycleEvents()
        self.dataset = None
        self.model = None
        self.rebuild_pending = False  # the layers changed while a session owned the model
        self._checked_loss = None  # the loss the layers were last checked against
        self._taking_dataset = False  # one rebuild once a new dataset is in, not one per step
        document.events.training_changed.connect(self._on_training_changed)
        document.events.model_changed.connect(self._on_model_changed)

    # -- a dataset arrives ----------------------------------------------------------------------

    @contextmanager
    def taking_dataset(self, dataset) -> Iterator[None]:
        """``dataset`` replaces the old one. The views adjust to it inside the block (and the
        document learns its spec there); the model is built once, at the end, for the layers
        as they are then, not once per step."""
        self.dataset = dataset
        self._taking_dataset = True
        try:
            self.fit_loss_to_task()
            self.check_layers()
            yield
        finally:
            self._taking_dataset = False
        self.rebuild()

    def fit_loss_to_task(self) -> None:
        """A loss made for another task (cross-entropy on a regression dataset) is replaced
        by the task's usual one, in the document: the Hyperparameters dock follows."""
        training, task = self.document.training, self.dataset.task
        loss = registry.LOSSES.get(training.loss)
        if loss is not None and loss.task != task:
            wanted = DEFAULT_LOSS.get(task, DEFAULT_LOSS["classification"])
            self.document.set_training({**vars(training), "loss": wanted})

    def check_layers(self) -> None:
        """Ask for the layers to be checked against the dataset and the loss."""
        dataset, loss = self.dataset, self.document.training.loss
        self._checked_loss = loss
        shape = tuple(dataset.input_shape)
        self.events.layers_to_check.emit(shape, output_count(dataset), dataset.task, loss)

    # -- following the document -----------------------------------------------------------------

    # While an opened project's dataset loads, the old dataset is still here: nothing is
    # checked or built against it, the project's one is awaited.

    def _on_training_changed(self) -> None:
        if self.document.awaiting_dataset or self.dataset is None:
            return
        if self.document.training.loss != self._checked_loss:
            self.check_layers()

    def _on_model_changed(self) -> None:
        if not self.document.awaiting_dataset and not self._taking_dataset:
            self.rebuild()

    # -- the model ------------------------------------------------------------------------------

    def rebuild(self) -> None:
        """Build the model for the dataset and the document's layers (events say how it went)."""
        if self.is_training():
            self.rebuild_pending = True  # the worker owns the model: rebuild when it ends
            return
        self.rebuild_pending = False
        document = self.document
        if self.dataset is None or not document.is_loaded or document.awaiting_dataset:
            return
        try:
            model = self._build(document.to_project())
        except (ValueError, TypeError, KeyError, MemoryError, RecursionError) as error:
            # Whatever the layers say, the user gets words and a window that still works.
            self.model = None
            self.events.build_failed.emit(safe_read.shorten(str(error) or repr(error)))
            return
        bundle = self._load_pending_weights(model)
        self.model = model
        self.events.built.emit(bundle)

    def _build(self, project):
        """The model for the dataset; refused before allocating anything when too big."""
        problem = model_size_problem(project.model.get("layers", []), self.dataset.input_shape)
        if problem:
            raise ValueError(f"{problem[0].upper()}{problem[1:]}.")
        return project.build_model(self.dataset)

    def _load_pending_weights(self, model):
        """Load the project's saved weights into ``model``; returns the file's bundle (a
        Checkpoint, with the optimizer's state, when the project was saved mid-run)."""
        path = self.document.take_pending_weights()
        if path is None:
            self.document.resumable_run = None  # no weights: its run cannot continue
            return None
        try:
            check_weights_file(path)  # never open a FIFO or a huge file on the GUI thread
            bundle = read_weights(path)
            load_whole_state(model, bundle.model.state_dict())
        except Exception as error:  # noqa: BLE001 - a hostile .nnz is a message, never a crash
            reason = safe_read.shorten(str(error) or type(error).__name__, 200)
            self.events.weights_refused.emit(
                f"The saved weights {path.name} could not be used ({reason}); "
                "the model starts from fresh weights."
            )
            self.document.resumable_run = None
            return None
        self.document.mark_weights_restored()
        return bundle
