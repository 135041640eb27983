"""The PyTorch side of ``nnstudio bench``: the bench's models built in PyTorch (CPU) from the
same layer lists, trained one epoch per call.

PyTorch is never a dependency: everything here imports it only when called.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

#: The first epoch (thread start-up, allocations, kernel selection) is run but not counted.
WARMUP_EPOCHS = 1
LEARNING_RATE = 1e-3


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def _median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def _conv_output(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


def torch_model(layers: list[dict], input_shape):
    """The nnstudio layer list (the bench's: Conv2D, MaxPool2D, Flatten, Dense with relu or
    linear) as a torch.nn.Sequential. "same" padding becomes k // 2 on every side: the same
    output sizes and the same work (PyTorch pads symmetrically only)."""
    from torch import nn

    shape = tuple(input_shape)
    modules = []
    for layer in layers:
        kind = layer["type"]
        if kind == "Conv2D":
            k, stride = layer.get("kernel_size", 3), layer.get("stride", 1)
            padding = k // 2 if layer.get("padding") == "same" else 0
            modules.append(nn.Conv2d(shape[0], layer["filters"], k, stride, padding))
            size = [_conv_output(s, k, stride, padding) for s in shape[1:]]
            shape = (layer["filters"], *size)
        elif kind == "MaxPool2D":
            p = layer.get("pool_size", 2)
            modules.append(nn.MaxPool2d(p))
            shape = (shape[0], shape[1] // p, shape[2] // p)
        elif kind == "Flatten":
            modules.append(nn.Flatten())
            shape = (int(_product(shape)),)
        elif kind == "Dense":
            modules.append(nn.Linear(shape[0], layer["units"]))
            shape = (layer["units"],)
        else:
            raise ValueError(f"the bench has no PyTorch counterpart for {kind}")
        if layer.get("activation") == "relu":
            modules.append(nn.ReLU())
    return nn.Sequential(*modules)


def _product(values) -> int:
    total = 1
    for value in values:
        total *= value
    return total


class TorchEpochs:
    """The same model, Adam, batch size and threads in PyTorch (CPU), one epoch per call."""

    def __init__(self, layers, x, y, batch_size: int, seed: int = 0, threads: int = 2, report=None):
        """``threads``: PyTorch's intra-op threads (set process-wide, as PyTorch does)."""
        import torch

        torch.set_num_threads(threads)
        torch.manual_seed(seed)
        self.torch = torch
        self.model = torch_model(layers, x.shape[1:])
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=LEARNING_RATE)
        self.loss_fn = torch.nn.CrossEntropyLoss()
        self.inputs, self.labels = torch.from_numpy(x), torch.from_numpy(y)
        self.generator = torch.Generator().manual_seed(seed)
        self.batch_size, self.report = batch_size, report
        self.seconds: list[float] = []
        self.losses: list[float] = []
        self.validation = None  # (x, y): evaluated after each epoch, in the epoch's time

    def validate_on(self, x, y) -> None:
        """Evaluate the loss on (x, y) after every epoch, as nnstudio's fit loop does with
        validation data (counted in the epoch's seconds, like nnstudio's)."""
        self.validation = (self.torch.from_numpy(x), self.torch.from_numpy(y))

    def _validate(self) -> None:
        inputs, labels = self.validation
        with self.torch.no_grad():
            for first in range(0, len(inputs), self.batch_size):
                part = slice(first, first + self.batch_size)
                self.loss_fn(self.model(inputs[part]), labels[part]).item()

    def run_epoch(self) -> float:
        inputs, labels, batch_size = self.inputs, self.labels, self.batch_size
        start = time.perf_counter()
        order = self.torch.randperm(len(inputs), generator=self.generator)
        total = 0.0
        for first in range(0, len(inputs), batch_size):
            index = order[first : first + batch_size]
            self.optimizer.zero_grad(set_to_none=True)
            loss = self.loss_fn(self.model(inputs[index]), labels[index])
            loss.backward()
            self.optimizer.step()
            total += loss.detach().item() * len(index)
        if self.validation is not None:
            self._validate()
        self.seconds.append(time.perf_counter() - start)
        self.losses.append(total / len(inputs))
        if self.report:
            self.report(
                f"  PyTorch epoch {len(self.seconds)}: {self.seconds[-1]:.2f} s, "
                f"loss {self.losses[-1]:.4f}"
            )
        return self.seconds[-1]

    def result(self) -> dict[str, Any]:
        seconds = self.seconds[WARMUP_EPOCHS:]
        return {
            "seconds": seconds,
            "losses": self.losses,
            "median": _median(seconds),
            "version": self.torch.__version__,
            "threads": self.torch.get_num_threads(),
        }
