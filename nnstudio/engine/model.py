"""Sequential: a stack of layers, each feeding the next.

>>> import numpy as np
>>> from nnstudio.engine.layers import Dense
>>> model = Sequential([Dense(16, activation="relu"), Dense(3)], input_shape=(2,))
>>> model.summary()
[('0 Dense', (16,), 48), ('1 Dense', (3,), 51)]
>>> model.forward(np.zeros((5, 2), dtype=np.float32)).shape
(5, 3)
>>> sorted(model.parameters())
['0.W', '0.b', '1.W', '1.b']

Parameters are named "<layer index>.<name>" ("0.W", "2.gamma"); ``parameters()`` and
``gradients()`` return the live arrays, which optimizers update in place.
"""

from __future__ import annotations

import copy

import numpy as np

from nnstudio.engine.flat import pack
from nnstudio.engine.layers.base import Layer, ShapeError
from nnstudio.engine.layers.conv import Conv2D
from nnstudio.engine.layers.fused import training_steps

from .registry import layer_from_config


class Sequential:
    """Layers applied one after another. Give ``input_shape`` (without the batch) now or
    call ``build(input_shape)`` later; ``seed`` makes the initial weights reproducible.
    """

    def __init__(self, layers=None, input_shape=None, seed: int = 0, dtype=np.float32):
        self.layers: list[Layer] = []
        for layer in layers or []:
            self.add(layer)
        self.seed = int(seed)
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64; got {self.dtype}.")
        self.input_shape: tuple | None = None
        self._fused_steps: dict = {}  # ConvMaxPool steps by conv index (training_steps)
        self._last_steps: list | None = None  # what the last forward ran, for backward
        self._layer_steps: list = []  # [(index, layer)], set by build
        self._may_fuse = False  # whether training may fuse layers (set by build)
        if input_shape is not None:
            self.build(input_shape)

    def add(self, layer: Layer) -> None:
        """Append a layer (the model must be built again before use)."""
        if not isinstance(layer, Layer):
            raise ValueError(f"Sequential takes Layer objects; got {layer!r}.")
        self.layers.append(layer)
        self.input_shape = None

    # --- configuration ------------------------------------------------------------------

    @classmethod
    def from_config(cls, config: dict, seed: int = 0, dtype=np.float32) -> Sequential:
        """Make a model from ``{"input_shape": [...] (optional), "layers": [{...}, ...]}``."""
        if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
            raise ValueError(
                "A model config needs a 'layers' list, e.g. "
                '{"input_shape": [2], "layers": [{"type": "Dense", "units": 2}]}.'
            )
        layers = [layer_from_config(layer_config) for layer_config in config["layers"]]
        return cls(layers, input_shape=config.get("input_shape"), seed=seed, dtype=dtype)

    def config(self) -> dict:
        """Plain JSON: {"input_shape": [...] or None, "layers": [layer configs]}."""
        return {
            "input_shape": None if self.input_shape is None else list(self.input_shape),
            "layers": [layer.get_config() for layer in self.layers],
        }

    # --- shapes -------------------------------------------------------------------------

    def build(self, input_shape) -> tuple:
        """Check every layer's input shape and make the weights; returns the output shape.

        Raises ShapeError naming the first layer that cannot take its input.
        """
        input_shape = tuple(int(d) for d in input_shape)
        self._last_steps = None
        seeds = np.random.SeedSequence(self.seed).spawn(len(self.layers))
        shape, source = input_shape, "the input"
        for index, layer in enumerate(self.layers):
            try:
                shape = layer.build(shape, np.random.default_rng(seeds[index]), self.dtype)
            except ShapeError as error:
                raise error.located(index, type(layer).__name__, source) from None
            source = f"layer {index} ({type(layer).__name__})"
        self.input_shape = input_shape
        self._pack_arrays()
        self._layer_steps = list(enumerate(self.layers))
        # Only a convolution can start a fused step: without one, training runs layer by
        # layer and the per-batch look for fusable pairs is skipped.
        self._may_fuse = any(isinstance(layer, Conv2D) for layer in self.layers)
        return shape

    def _pack_arrays(self) -> None:
        """All weights into one flat buffer and all gradients into another, so that an
        optimizer step is a few calls over two buffers instead of a few per array
        (engine/flat.py); the layers' arrays become views of them."""
        pack([layer.params for layer in self.layers])
        pack([layer.grads for layer in self.layers])

    def __deepcopy__(self, memo):
        """A copy whose weights and gradients are again one buffer each (a plain deep copy
        gives every array its own memory: the copy would train, slower, array by array)."""
        clone = type(self).__new__(type(self))
        memo[id(self)] = clone
        clone.__dict__.update(copy.deepcopy(self.__dict__, memo))
        if clone.built:
            clone._pack_arrays()
        return clone

    def check(self, input_shape) -> list[tuple[int, str]]:
        """Problems with the layer stack for ``input_shape``, as [(layer_index, message)].

        Builds nothing: the builder calls it on every edit. Stops at the first shape problem,
        since the shapes after it are unknown.
        """
        if not self.layers:
            return [(-1, "The model has no layers. Add at least one Dense layer.")]
        shape, source = tuple(int(d) for d in input_shape), "the input"
        for index, layer in enumerate(self.layers):
            try:
                shape = layer.compute_output_shape(shape)
            except ShapeError as error:
                located = error.located(index, type(layer).__name__, source)
                return [(index, str(located))]
            source = f"layer {index} ({type(layer).__name__})"
        return []

    @property
    def built(self) -> bool:
        return self.input_shape is not None

    @property
    def output_shape(self) -> tuple | None:
        if not self.built:
            return None
        return self.layers[-1].output_shape if self.layers else self.input_shape

    def _require_built(self):
        if not self.built:
            raise ValueError(
                "The model is not built yet: call build(input_shape) first "
                "(or give input_shape when making it)."
            )

    def reset_parameters(self, seed: int | None = None) -> None:
        """New random weights (and fresh BatchNorm statistics) from ``seed``."""
        self._require_built()
        if seed is not None:
            self.seed = int(seed)
        self.build(self.input_shape)

    # --- computation --------------------------------------------------------------------

    def _as_input(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=self.dtype)
        if x.shape[1:] != self.input_shape:
            raise ValueError(
                f"The model takes inputs of shape (batch, "
                f"{', '.join(map(str, self.input_shape))}); got {x.shape}."
            )
        return x

    def forward(self, x, training: bool = False) -> np.ndarray:
        """Outputs for a batch ``x`` (converted to the model's dtype if needed).

        In training, a Conv2D followed by a 2×2 MaxPool2D runs as one fused step (same
        result, less memory traffic: see layers/fused.py); evaluation runs layer by layer.
        """
        self._require_built()
        x = self._as_input(x)
        steps = self._steps(training)
        self._last_steps = steps
        for _, step in steps:
            x = step.forward(x, training)
        return x

    def _steps(self, training: bool) -> list[tuple[int, object]]:
        """[(index of the step's first layer, layer or fused step)] for a forward pass."""
        if training and self._may_fuse:
            return training_steps(self.layers, self._fused_steps)
        return self._layer_steps

    def backward(self, grad, need_input_grad: bool = True) -> np.ndarray | None:
        """Backpropagate d loss / d outputs; fills every layer's gradients.

        Returns d loss / d inputs, or None with ``need_input_grad=False`` (what ``fit`` always
        passes: the keyword is part of the model contract fit relies on). Then
        backpropagation ends at the first layer that has parameters: the layers before it
        (Flatten, Reshape...) have nothing to learn, and the first weighted layer skips the
        product for its input gradient — for an MNIST MLP, a quarter of the backward work.
        ``grad`` itself is not modified.
        """
        grad = np.array(grad, dtype=self.dtype)  # a copy: layers may work in place
        first = 0 if need_input_grad else self._first_trainable_index()
        # The steps of the last forward (a fused step keeps the caches its backward needs).
        steps = self._last_steps or self._layer_steps
        for start, step in reversed(steps):
            wanted = need_input_grad or start > first
            grad = step.backward(grad, need_input_grad=wanted)
            if start <= first:
                break
        return grad if need_input_grad else None

    def _first_trainable_index(self) -> int:
        """Index of the first layer with parameters (0 when none has any)."""
        for index, layer in enumerate(self.layers):
            if layer.params:
                return index
        return 0

    def predict(self, x, batch_size: int = 1024) -> np.ndarray:
        """Raw outputs in evaluation mode, computed in batches to bound memory."""
        self._require_built()
        x = np.asarray(x)
        if len(x) == 0:
            return np.zeros((0, *self.output_shape), self.dtype)
        parts = [self.forward(x[i : i + batch_size]) for i in range(0, len(x), batch_size)]
        return np.concatenate(parts)

    def input_gradient(self, x, class_index=None) -> np.ndarray:
        """d output[class] / d x for each sample (a saliency map, shaped like ``x``).

        ``class_index``: an int, one int per sample, or None for each sample's top output.
        Runs in evaluation mode; overwrites the layers' gradients.
        """
        outputs = self.forward(x, training=False)
        flat = outputs.reshape(len(outputs), -1)
        if class_index is None:
            class_index = flat.argmax(axis=1)
        class_index = np.broadcast_to(np.asarray(class_index, dtype=np.intp), (len(flat),))
        if class_index.size and (class_index.min() < 0 or class_index.max() >= flat.shape[1]):
            raise ValueError(
                f"class_index must be in 0..{flat.shape[1] - 1}; got {class_index.tolist()}."
            )
        grad = np.zeros_like(flat)
        grad[np.arange(len(flat)), class_index] = 1.0
        return self.backward(grad.reshape(outputs.shape), need_input_grad=True)

    # --- parameters ---------------------------------------------------------------------

    def _named(self, attribute: str) -> dict[str, np.ndarray]:
        return {
            f"{index}.{name}": value
            for index, layer in enumerate(self.layers)
            for name, value in getattr(layer, attribute).items()
        }

    def parameters(self) -> dict[str, np.ndarray]:
        """Name → live weight array ("0.W", "0.b", ...); update them in place."""
        return self._named("params")

    def gradients(self) -> dict[str, np.ndarray]:
        """Name → live gradient array, same keys as parameters(), filled by backward()."""
        return self._named("grads")

    def buffers(self) -> dict[str, np.ndarray]:
        """Name → live non-trained state ("2.running_mean", ...)."""
        return self._named("buffers")

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every parameter and buffer, by name."""
        return {
            name: value.copy() for name, value in {**self.parameters(), **self.buffers()}.items()
        }

    def load_state_dict(self, state: dict) -> None:
        """Copy arrays into the live parameters and buffers (same names and shapes)."""
        self._require_built()
        live = {**self.parameters(), **self.buffers()}
        missing = sorted(set(live) - set(state))
        unexpected = sorted(set(state) - set(live))
        if missing or unexpected:
            raise ValueError(
                f"The weights do not fit this model: missing {missing}, unexpected {unexpected}."
            )
        for name, target in live.items():
            value = np.asarray(state[name])
            if value.shape != target.shape:
                raise ValueError(
                    f"Weight {name!r} has shape {value.shape}; the model needs {target.shape}."
                )
            np.copyto(target, value, casting="same_kind")

    def penalty(self) -> float:
        """Sum of the layers' L1/L2 penalties (add it to the loss to report the total)."""
        return float(sum(layer.penalty() for layer in self.layers))

    def count_params(self) -> int:
        return sum(layer.count_params() for layer in self.layers)

    def summary(self) -> list[tuple[str, tuple, int]]:
        """One row per layer: ("<index> <type>", output shape, number of parameters)."""
        self._require_built()
        return [
            (f"{index} {type(layer).__name__}", layer.output_shape, layer.count_params())
            for index, layer in enumerate(self.layers)
        ]

    def summary_text(self) -> str:
        """The summary as a small text table, with each layer's settings."""
        self._require_built()
        rows = [("Layer", "Output shape", "Parameters")]
        for index, layer in enumerate(self.layers):
            count = f"{layer.count_params():,}"
            rows.append((f"{index} {layer!r}", str(layer.output_shape), count))
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        lines = [f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:>{widths[2]}}" for a, b, c in rows]
        lines.append(f"Total parameters: {self.count_params():,}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        inner = ", ".join(repr(layer) for layer in self.layers)
        shape = f", input_shape={self.input_shape}" if self.built else ""
        return f"Sequential([{inner}]{shape})"
