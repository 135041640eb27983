"""BuilderModel: the network being designed, as a list of layer configs (Qt-free).

Views connect to its events (napari style) and never change it directly: every edit goes
through an undo command, which calls the four primitive edits here. The model re-checks the
network lazily, on the first ``analysis()`` after a change.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from nnstudio.events import Events, Signal
from nnstudio.project import layer_meta
from nnstudio.project.network_checks import ShapeCache, analyze
from nnstudio.project.problems import Analysis, Edit, Fix


class BuilderEvents(Events):
    """What a ``BuilderModel`` tells its views; handlers get the arguments in brackets.

    Insert, remove, move and reset are announced first (``before_…``, same arguments),
    because Qt item models must say "rows are about to change" while the old rows still
    exist. ``settled`` follows once the model is consistent again: after each edit, or once at
    the end of a ``batch()`` (a multi-step fix), so views that re-check the whole network do
    it once.
    """

    before_insert: Signal  # (index)
    inserted: Signal  # (index)
    before_remove: Signal  # (index)
    removed: Signal  # (index)
    before_move: Signal  # (source, destination)
    moved: Signal  # (source, destination)
    before_reset: Signal  # ()
    reset: Signal  # ()
    changed: Signal  # (index, setting name)
    spec: Signal  # () the input spec changed
    settled: Signal  # ()


class BuilderModel:
    """Layer configs plus what they are checked against (input shape, classes, task, loss).

    ``model.events`` (``BuilderEvents``) say what changed.

    >>> model = BuilderModel(input_shape=(2,), n_classes=2)
    >>> model.insert(0, {"type": "Dense", "units": 2})
    >>> model.config()["layers"][0]["units"]
    2
    """

    def __init__(
        self,
        layers: list[dict] | None = None,
        input_shape: tuple | None = None,
        n_classes: int | None = None,
        task: str = "classification",
        loss_name: str = "softmax_crossentropy",
    ):
        self._layers: list[dict] = [copy.deepcopy(layer) for layer in layers or []]
        self.input_shape = tuple(input_shape) if input_shape is not None else None
        self.n_classes = n_classes
        self.task = task
        self.loss_name = loss_name
        self.events = BuilderEvents()
        self._cache = ShapeCache()
        self._analysis: Analysis | None = None
        self._batch_depth = 0

    # -- reading ------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._layers)

    def layer(self, index: int) -> dict:
        """A copy of one layer's config (changing it does not change the model)."""
        return copy.deepcopy(self._layers[index])

    @property
    def layers(self) -> list[dict]:
        return [copy.deepcopy(layer) for layer in self._layers]

    def config(self) -> dict:
        """The Sequential config the engine builds: ``{"input_shape": [...], "layers": [...]}``."""
        config: dict[str, Any] = {"layers": self.layers}
        if self.input_shape is not None:
            config = {"input_shape": list(self.input_shape), **config}
        return config

    def analysis(self) -> Analysis:
        if self._analysis is None:
            self._analysis = analyze(
                self._layers,
                self.input_shape,
                self.n_classes,
                self.task,
                self.loss_name,
                self._cache,
            )
        return self._analysis

    def is_valid(self) -> bool:
        return self.analysis().valid

    def problem(self) -> str:
        """The first blocking problem in words, or "" when the network can be trained."""
        return self.analysis().reason(self._layers)

    def input_shape_at(self, index: int) -> tuple | None:
        """The shape that flows into position ``index`` (for sensible defaults when inserting)."""
        if index == 0:
            return self.input_shape
        infos = self.analysis().layers
        return infos[index - 1].output_shape if index - 1 < len(infos) else None

    def new_layer(self, type_name: str, index: int) -> dict:
        return layer_meta.default_config(type_name, self.input_shape_at(index))

    # -- events -------------------------------------------------------------------------
    def _emit(self, signal: Signal, *args) -> None:
        self._analysis = None
        signal.emit(*args)
        if self._batch_depth == 0:
            self._settle()

    def _settle(self) -> None:
        self.events.settled.emit()

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group several edits: one ``"settled"`` event at the end instead of one per edit."""
        self._batch_depth += 1
        try:
            yield
        finally:
            self._batch_depth -= 1
            if self._batch_depth == 0:
                self._settle()

    # -- the primitive edits (undo commands call these) ------------------------------------
    def insert(self, index: int, layer: dict) -> None:
        if not 0 <= index <= len(self._layers):
            raise IndexError(f"cannot insert at {index}: the network has {len(self)} layers")
        if not layer.get("type"):
            raise ValueError(f"a layer config needs a 'type': {layer!r}")
        self.events.before_insert.emit(index)
        self._layers.insert(index, copy.deepcopy(layer))
        self._emit(self.events.inserted, index)

    def remove(self, index: int) -> dict:
        self.events.before_remove.emit(index)
        removed = self._layers.pop(index)
        self._emit(self.events.removed, index)
        return removed

    def move(self, source: int, destination: int) -> None:
        """Move the layer at ``source`` so that it ends up at index ``destination``."""
        if source == destination:
            return
        self.events.before_move.emit(source, destination)
        layer = self._layers.pop(source)
        self._layers.insert(destination, layer)
        self._emit(self.events.moved, source, destination)

    def set_setting(self, index: int, name: str, value: Any) -> Any:
        """Change one setting; returns the old value (``None`` if it was not set)."""
        old = self._layers[index].get(name)
        self._layers[index][name] = copy.deepcopy(value)
        self._emit(self.events.changed, index, name)
        return old

    def remove_setting(self, index: int, name: str) -> None:
        """Drop a setting so the engine's default applies (undo of setting a new key)."""
        self._layers[index].pop(name, None)
        self._emit(self.events.changed, index, name)

    def replace(self, layers: list[dict]) -> None:
        self.events.before_reset.emit()
        self._layers = [copy.deepcopy(layer) for layer in layers]
        self._emit(self.events.reset)

    def set_spec(
        self,
        input_shape: tuple | None,
        n_classes: int | None = None,
        task: str = "classification",
        loss_name: str = "softmax_crossentropy",
    ) -> None:
        self.input_shape = tuple(int(v) for v in input_shape) if input_shape else None
        self.n_classes = int(n_classes) if n_classes else None
        self.task = task
        self.loss_name = loss_name
        self._emit(self.events.spec)

    def apply_edit(self, edit: Edit) -> Any:
        """Apply one fix step; returns what is needed to undo it."""
        if edit.op == "insert":
            self.insert(edit.index, edit.layer)
            return None
        if edit.op == "remove":
            return self.remove(edit.index)
        if edit.op == "set":
            return self.set_setting(edit.index, edit.name, edit.value)
        raise ValueError(f"unknown edit {edit.op!r}")

    def fixes_for(self, index: int | None) -> list[Fix]:
        """Every fix offered for the problems at layer ``index`` (None: the whole network)."""
        return [fix for p in self.analysis().problems if p.index == index for fix in p.fixes]
