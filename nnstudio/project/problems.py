"""Problems found in a network and their one-click fixes, as plain data (Qt-free).

A fix is a list of edits (insert / remove / set a setting) so the undo stack can replay it as
one macro command, and a test can apply it without any widget.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Edit:
    """One step of a fix: ``insert`` ``layer`` at ``index``, ``remove`` it, or ``set`` a setting."""

    op: str
    index: int
    layer: dict | None = None
    name: str | None = None
    value: Any = None

    def apply(self, layers: list[dict]) -> None:
        """Apply to a plain list of layer configs (for checking a fix before offering it)."""
        if self.op == "insert":
            layers.insert(self.index, dict(self.layer))
        elif self.op == "remove":
            del layers[self.index]
        elif self.op == "set":
            layers[self.index] = {**layers[self.index], self.name: self.value}
        else:
            raise ValueError(f"unknown edit {self.op!r}")


@dataclass(frozen=True)
class Fix:
    """A button: ``label`` says what it does ("Insert Flatten"), ``edits`` do it."""

    label: str
    edits: tuple[Edit, ...]

    def applied_to(self, layers: list[dict]) -> list[dict]:
        result = [dict(layer) for layer in layers]
        for edit in self.edits:
            edit.apply(result)
        return result


@dataclass(frozen=True)
class Problem:
    """Something wrong at layer ``index`` (None: the network as a whole).

    Errors make the network invalid (Train is disabled); warnings are advice only.
    """

    index: int | None
    message: str
    fixes: tuple[Fix, ...] = ()
    severity: str = "error"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


@dataclass
class LayerInfo:
    """What the cards show: the inferred output shape and the parameter count (None = unknown)."""

    output_shape: tuple | None = None
    n_params: int | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def error(self) -> Problem | None:
        return next((p for p in self.problems if p.is_error), None)

    @property
    def warning(self) -> Problem | None:
        return next((p for p in self.problems if not p.is_error), None)


@dataclass
class Analysis:
    """The whole network checked once: per-layer info plus every problem in order."""

    layers: list[LayerInfo]
    problems: list[Problem]
    input_shape: tuple | None = None

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if not p.is_error]

    @property
    def valid(self) -> bool:
        return not self.errors

    @property
    def output_shape(self) -> tuple | None:
        if not self.layers:
            return self.input_shape
        return self.layers[-1].output_shape

    @property
    def total_params(self) -> int:
        return sum(info.n_params or 0 for info in self.layers)

    def reason(self, layers: list[dict]) -> str:
        """The first error in words, for Train's tooltip; "" when the network is valid."""
        errors = self.errors
        if not errors:
            return ""
        first = errors[0]
        text = first.message
        if first.index is not None and first.index < len(layers):
            from nnstudio.project.layer_meta import layer_number

            type_name = layers[first.index].get("type", "?")
            where = f"Layer {layer_number(first.index)}"
            if not text.startswith(type_name):
                where += f" ({type_name})"
            text = f"{where}: {text}"
        if len(errors) > 1:
            more = len(errors) - 1
            text += f" (and {more} more problem{'s' if more > 1 else ''})"
        return text
