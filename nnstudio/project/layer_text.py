"""The short text form of a network used by ``nnstudio train --layers``.

    Conv2D(16,3,relu),MaxPool2D(2),Flatten,Dense(128,relu),Dense(10)

Each item is a layer type from the engine's registry (case does not matter), optionally with
arguments in parentheses. Keyword arguments (``Dense(64, activation=tanh, l2=1e-4)``) name a
setting; positional ones are matched to the layer's SETTINGS by kind, so the order a person
would write them in works: numbers fill the numeric settings in order (Conv2D: filters, then
kernel_size, then stride), words fill the first choice setting that accepts them (``relu`` →
activation, ``same`` → padding), ``true``/``false`` fill bool settings, and a shape such as
``(1,28,28)`` or ``1x28x28`` fills a shape setting (Reshape).

`parse_layers(text)` returns the layer configs that ``Sequential.from_config`` reads;
`format_layers(configs)` writes them back in the short form.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class LayerTextError(ValueError):
    """The --layers text cannot be read; the message says where and what to write instead."""


@dataclass
class LayerSpec:
    """One parsed item before it is matched to a layer class: ``Dense(128, relu)``."""

    name: str
    args: list[Any] = field(default_factory=list)
    kwargs: dict[str, Any] = field(default_factory=dict)
    position: int = 0  # character offset in the text, for error messages


_TOKEN = re.compile(
    r"\s*(?:(?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![\w.]))"
    r"|(?P<shape>\d+(?:x\d+)+)(?![\w.])"
    r"|(?P<word>[A-Za-z_][\w.\-]*)"
    r"|(?P<string>'[^']*'|\"[^\"]*\")"
    r"|(?P<punct>[(),=]))"
)


def _tokenize(text: str) -> list[tuple[str, Any, int]]:
    tokens = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            start = len(text) - len(text[pos:].lstrip())
            raise LayerTextError(
                f"--layers: cannot read {text[start : start + 12]!r} at character {start + 1}; "
                'write layers like "Dense(128,relu),Dense(10)"'
            )
        kind = match.lastgroup
        raw = match.group(kind)
        tokens.append((kind, raw, match.start(kind)))
        pos = match.end()
    return tokens


def _number(raw: str) -> int | float:
    if re.fullmatch(r"[-+]?\d+", raw):
        return int(raw)
    return float(raw)


def _value(token: tuple[str, Any, int]) -> Any:
    kind, raw, _ = token
    if kind == "number":
        return _number(raw)
    if kind == "shape":
        return tuple(int(part) for part in raw.split("x"))
    if kind == "string":
        return raw[1:-1]
    lowered = raw.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    return raw


class _Parser:
    """Recursive descent over the tokens: items, arguments, and (a, b, c) tuples."""

    def __init__(self, text: str):
        self.text = text
        self.tokens = _tokenize(text)
        self.index = 0

    def peek(self) -> tuple[str, Any, int] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> tuple[str, Any, int]:
        token = self.peek()
        if token is None:
            raise LayerTextError(
                "--layers: the text ends too early (an unclosed parenthesis?); "
                'write layers like "Dense(128,relu),Dense(10)"'
            )
        self.index += 1
        return token

    def fail(self, token: tuple[str, Any, int] | None, expected: str) -> LayerTextError:
        if token is None:
            return LayerTextError(f"--layers: the text ends where {expected} was expected")
        return LayerTextError(
            f"--layers: expected {expected} at character {token[2] + 1}, found {token[1]!r}"
        )

    def is_punct(self, token, char: str) -> bool:
        return token is not None and token[0] == "punct" and token[1] == char

    def parse(self) -> list[LayerSpec]:
        specs = [self.item()]
        while self.peek() is not None:
            if not self.is_punct(self.peek(), ","):
                raise self.fail(self.peek(), "',' between layers")
            self.take()
            specs.append(self.item())
        return specs

    def item(self) -> LayerSpec:
        token = self.take()
        if token[0] != "word":
            raise self.fail(token, "a layer name such as Dense")
        spec = LayerSpec(token[1], position=token[2])
        if self.is_punct(self.peek(), "("):
            self.take()
            self.arguments(spec)
        return spec

    def arguments(self, spec: LayerSpec) -> None:
        if self.is_punct(self.peek(), ")"):
            self.take()
            return
        while True:
            token = self.peek()
            following = self.tokens[self.index + 1] if self.index + 1 < len(self.tokens) else None
            if token is not None and token[0] == "word" and self.is_punct(following, "="):
                self.index += 2
                spec.kwargs[token[1]] = self.value()
            else:
                if spec.kwargs:
                    raise self.fail(token, f"name=value (in {spec.name}, after a named setting)")
                spec.args.append(self.value())
            closing = self.take()
            if self.is_punct(closing, ")"):
                return
            if not self.is_punct(closing, ","):
                raise self.fail(closing, f"',' or ')' in {spec.name}(...)")

    def value(self) -> Any:
        token = self.take()
        if self.is_punct(token, "("):
            items = []
            while not self.is_punct(self.peek(), ")"):
                items.append(self.value())
                if self.is_punct(self.peek(), ","):
                    self.take()
            self.take()
            return tuple(items)
        if token[0] == "punct":
            raise self.fail(token, "a value")
        return _value(token)


def parse_layer_specs(text: str) -> list[LayerSpec]:
    """Split the text into layer names and arguments, without looking at the registry."""
    if not text or not text.strip():
        raise LayerTextError('--layers is empty; write layers like "Dense(128,relu),Dense(10)"')
    return _Parser(text).parse()


def _find_class(name: str, layers: Mapping[str, type]) -> tuple[str, type]:
    if name in layers:
        return name, layers[name]
    by_lower = {key.lower(): key for key in layers}
    key = by_lower.get(name.lower())
    if key is None:
        known = ", ".join(sorted(layers))
        raise LayerTextError(f"--layers: unknown layer type {name!r}. Known: {known}")
    return key, layers[key]


def _describe_settings(type_name: str, settings) -> str:
    if not settings:
        return f"{type_name} takes no settings"
    parts = []
    for setting in settings:
        if setting.kind == "choice" and setting.choices:
            parts.append(f"{setting.name} (one of {', '.join(map(str, setting.choices))})")
        else:
            parts.append(f"{setting.name} ({setting.kind})")
    return f"{type_name} settings: " + "; ".join(parts)


def _accepts(setting, value: Any) -> bool:
    """Whether a positional value fits this setting by kind (bool is checked before int)."""
    if isinstance(value, bool):
        return setting.kind == "bool"
    if isinstance(value, int):
        return setting.kind in ("int", "float")
    if isinstance(value, float):
        return setting.kind == "float"
    if isinstance(value, tuple):
        return setting.kind == "shape"
    if isinstance(value, str):
        if setting.kind != "choice":
            return False
        choices = [str(choice).lower() for choice in (setting.choices or [])]
        return not choices or value.lower() in choices
    return False


def _match_positional(type_name: str, settings, args: list[Any]) -> dict[str, Any]:
    matched: dict[str, Any] = {}
    for value in args:
        setting = next((s for s in settings if s.name not in matched and _accepts(s, value)), None)
        if setting is None:
            raise LayerTextError(
                f"--layers: {type_name} has no setting for {value!r}. "
                f"{_describe_settings(type_name, settings)}"
            )
        matched[setting.name] = value
    return matched


def _coerce(setting, value: Any) -> Any:
    if setting.kind == "shape" and isinstance(value, int) and not isinstance(value, bool):
        return [value]
    if setting.kind == "shape" and isinstance(value, tuple):
        return list(value)
    if setting.kind == "float" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if setting.kind == "choice" and isinstance(value, str) and setting.choices:
        # Accept "ReLU" for "relu": return the spelling the layer declares.
        for choice in setting.choices:
            if str(choice).lower() == value.lower():
                return choice
    return value


def spec_to_config(spec: LayerSpec, layers: Mapping[str, type]) -> dict[str, Any]:
    """Match one spec to its layer class's SETTINGS and return its config dict."""
    type_name, cls = _find_class(spec.name, layers)
    settings = list(getattr(cls, "SETTINGS", []))
    by_name = {setting.name: setting for setting in settings}
    values = _match_positional(type_name, settings, spec.args)
    for key, value in spec.kwargs.items():
        if key not in by_name:
            raise LayerTextError(
                f"--layers: {type_name} has no setting {key!r}. "
                f"{_describe_settings(type_name, settings)}"
            )
        if key in values:
            raise LayerTextError(f"--layers: {type_name} gets {key!r} twice")
        values[key] = value
    config: dict[str, Any] = {"type": type_name}
    for name, value in values.items():
        config[name] = _coerce(by_name[name], value)
    return config


def _registry_layers() -> Mapping[str, type]:
    from nnstudio.engine.registry import LAYERS

    return LAYERS


def parse_layers(text: str, layers: Mapping[str, type] | None = None) -> list[dict[str, Any]]:
    """Parse the short text form into layer configs for ``Sequential.from_config``.

    >>> parse_layers("Dense(64,relu),Dense(3)")  # doctest: +SKIP
    [{'type': 'Dense', 'units': 64, 'activation': 'relu'}, {'type': 'Dense', 'units': 3}]

    ``layers`` maps type names to classes with a SETTINGS list (default: the engine registry).
    Setting values are checked by the layer itself when the model is built.
    """
    layers = _registry_layers() if layers is None else layers
    return [spec_to_config(spec, layers) for spec in parse_layer_specs(text)]


def _format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "x".join(str(v) for v in value) if len(value) > 1 else f"({value[0]},)"
    if value is None:
        return "none"
    return str(value)


def format_layers(configs: list[Mapping[str, Any]]) -> str:
    """The short text form of layer configs (all settings named, so it reads back exactly)."""
    items = []
    for config in configs:
        settings = [f"{k}={_format_value(v)}" for k, v in config.items() if k != "type"]
        items.append(f"{config['type']}({','.join(settings)})" if settings else config["type"])
    return ",".join(items)
