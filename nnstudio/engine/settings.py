"""Settings described once: what a constructor argument is called, allows and is good for.

Layers, optimizers, learning-rate schedules, losses and activation functions list their
constructor arguments as ``SETTINGS``, a sequence of :class:`Setting`. The engine validates
arguments and writes ``get_config()`` from that list, and the window builds its editors from
it (label, tooltip, range), so a new setting needs writing down in one place only.

>>> momentum = Setting("momentum", "float", 0.0, minimum=0, maximum=1, exclusive_maximum=True)
>>> momentum.label, momentum.validate(0.9, "SGD")
('Momentum', 0.9)
>>> momentum.validate(1.0, "SGD")
Traceback (most recent call last):
...
ValueError: SGD momentum must be in [0, 1); got 1.0. Try 0.0.

:class:`Configurable` turns a class's ``SETTINGS`` into its ``__init__`` validation,
attributes, ``settings()``, ``get_config()`` and ``repr``; configs say which class they are
with ``"type"`` (older files said ``"name"``, which :func:`split_config` still reads).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

__all__ = ["KINDS", "Configurable", "Setting", "default_label", "split_config"]

#: What a setting holds; "numbers" is a list of finite numbers, one per feature.
KINDS = ("int", "float", "choice", "bool", "shape", "numbers")


def default_label(name: str) -> str:
    """The label a setting gets when it names none: "weight_decay" -> "Weight decay"."""
    return name.replace("_", " ").capitalize()


@dataclass(frozen=True)
class Setting:
    """One constructor argument, described for validation, configs, editors and help.

    ``kind`` is one of :data:`KINDS`. ``minimum``/``maximum`` are inclusive bounds unless
    ``exclusive_minimum``/``exclusive_maximum`` say otherwise; ``choices`` lists the values of
    a "choice". A ``default`` of ``None`` means the value may be left unset: ``none_label``
    says what an editor shows then ("auto", "off") and the help says what it means.
    ``label`` is the short human name ("Momentum", "β₁"); ``log_scale`` tells editors that
    useful values span decades (1e-5 … 1), so they step by factors instead of by amounts.
    """

    name: str
    kind: str
    default: object = None
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple | None = None
    help: str = ""
    #: An exclusive lower bound (e.g. a rate that must be > 0 but may be tiny).
    exclusive_minimum: bool = field(default=False, compare=False)
    #: An exclusive upper bound (a decay rate in [0, 1)).
    exclusive_maximum: bool = field(default=False, compare=False)
    label: str = field(default="", compare=False)
    none_label: str = field(default="auto", compare=False)
    log_scale: bool = field(default=False, compare=False)

    def __post_init__(self):
        if not self.label:
            object.__setattr__(self, "label", default_label(self.name))

    def with_default(self, default, **changes) -> Setting:
        """The same setting with another default (AdamW's weight decay is Adam's, at 0.01)."""
        return dataclasses.replace(self, default=default, **changes)

    def bounds_text(self) -> str:
        """The allowed range in words: ">= 1", "> 0 and <= 10", "in [0, 1)"; "" if unbounded.

        >>> Setting("rate", "float", 0.5, minimum=0.0, maximum=0.95).bounds_text()
        '>= 0.0 and <= 0.95'
        """
        low, high = self.minimum, self.maximum
        if self.exclusive_maximum and low is not None and high is not None:
            return f"in {'(' if self.exclusive_minimum else '['}{low}, {high})"
        parts = []
        if low is not None:
            parts.append(f"{'>' if self.exclusive_minimum else '>='} {low}")
        if high is not None:
            parts.append(f"{'<' if self.exclusive_maximum else '<='} {high}")
        return " and ".join(parts)

    def validate(self, value, owner: str = ""):
        """``value`` converted to this setting's kind, or a ValueError naming ``owner`` and the
        setting, what is allowed and a value to try."""
        # "training." names a section: "training.epochs"; a class name stands apart: "SGD lr"
        where = f"{owner}{self.name}" if owner.endswith(".") else f"{owner} {self.name}".strip()
        if value is None and self.default is None:
            return None
        if self.kind == "bool":
            if not isinstance(value, (bool, np.bool_)):
                raise ValueError(f"{where} must be true or false; got {value!r}.")
            return bool(value)
        if self.kind == "choice":
            if value not in self.choices:
                allowed = ", ".join(str(c) for c in self.choices)
                if owner.endswith("."):  # a file's key: "dataset.options.color must be one of"
                    raise ValueError(f"{where} must be one of {allowed}; got {value!r}.")
                raise ValueError(
                    f"Could not interpret {self.name} {value!r} for {owner}. Known: {allowed}."
                )
            return value
        if self.kind == "shape":
            return self._validate_shape(value, where)
        if self.kind == "numbers":
            return self._validate_numbers(value, where)
        given = value  # messages repeat what was passed (-1, not -1.0)
        if self.kind == "int":
            whole_float = isinstance(value, float) and value.is_integer()
            if isinstance(value, bool) or not (isinstance(value, (int, np.integer)) or whole_float):
                raise ValueError(f"{where} must be a whole number; got {value!r}.")
            value = int(value)
        elif self.kind == "float":
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
                raise ValueError(f"{where} must be a number; got {value!r}.")
            # A Python float: NumPy treats it as "weak" and keeps float32 arrays float32.
            value = float(value)
            if not np.isfinite(value):
                raise ValueError(f"{where} must be a finite number; got {value!r}.")
        self._check_range(value, where, given)
        return value

    def _check_range(self, value, where, given=None):
        low, high = self.minimum, self.maximum
        too_low = low is not None and (value <= low if self.exclusive_minimum else value < low)
        too_high = high is not None and (value >= high if self.exclusive_maximum else value > high)
        if too_low or too_high:
            unset = " or None" if self.default is None else ""
            hint = "" if self.default is None else f" Try {self.default!r}."
            shown = value if given is None else given
            raise ValueError(f"{where} must be {self.bounds_text()}{unset}; got {shown!r}.{hint}")

    def _validate_numbers(self, value, where):
        try:
            numbers = tuple(float(v) for v in value)
        except (TypeError, ValueError):
            raise ValueError(f"{where} must be a list of numbers; got {value!r}.") from None
        if not numbers or not all(math.isfinite(v) for v in numbers):
            raise ValueError(f"{where} must be one or more finite numbers; got {value!r}.")
        for number in numbers:
            self._check_range(number, where)
        return numbers

    def _validate_shape(self, value, where):
        try:
            dims = tuple(int(d) for d in value)
        except (TypeError, ValueError):
            raise ValueError(
                f"{where} must be a list of sizes like [1, 28, 28]; got {value!r}."
            ) from None
        if not dims or any(d < 1 and d != -1 for d in dims) or dims.count(-1) > 1:
            raise ValueError(
                f"{where} must be positive sizes (at most one -1 for 'the rest'); got {value!r}."
            )
        return dims


class Configurable:
    """Base of objects whose constructor arguments are their ``SETTINGS``.

    ``__init__(**settings)`` validates every argument (unknown names included), stores each
    as an attribute and then runs ``_check_settings()`` for rules that span settings.
    ``label`` and ``help`` describe the class itself for menus and tooltips.

    >>> class Decay(Configurable):
    ...     SETTINGS = (Setting("gamma", "float", 0.5, minimum=0),)
    >>> Decay(gamma=0.25)
    Decay(gamma=0.25)
    >>> Decay().get_config()
    {'type': 'Decay', 'gamma': 0.5}
    >>> Decay(gama=0.1)
    Traceback (most recent call last):
    ...
    ValueError: Decay has no setting 'gama'. Known settings: gamma.
    """

    SETTINGS: tuple[Setting, ...] = ()
    label = ""
    help = ""

    def __init__(self, **settings):
        self._apply_settings(settings)

    def _apply_settings(self, settings: dict) -> None:
        owner = type(self).__name__
        known = [setting.name for setting in self.SETTINGS]
        unknown = sorted(set(settings) - set(known))
        if unknown:
            raise ValueError(
                f"{owner} has no setting {unknown[0]!r}. "
                f"Known settings: {', '.join(known) or 'none'}."
            )
        for setting in self.SETTINGS:
            value = settings.get(setting.name, setting.default)
            setattr(self, setting.name, setting.validate(value, owner))
        self._check_settings()

    def _check_settings(self) -> None:
        """Rules across settings (Nesterov needs momentum); raise ValueError. None by default."""

    @classmethod
    def config_type(cls) -> str:
        """What a config's "type" says for this class (the class name unless overridden)."""
        return cls.__name__

    def settings(self) -> dict:
        """The constructor arguments as plain values: ``type(self)(**settings)`` rebuilds it."""
        return {setting.name: getattr(self, setting.name) for setting in self.SETTINGS}

    def get_config(self) -> dict:
        """Settings plus ``"type"``: what project, model and checkpoint files store."""
        return {"type": self.config_type(), **self.settings()}

    def __repr__(self) -> str:
        shown = ", ".join(f"{key}={value!r}" for key, value in self.settings().items())
        return f"{type(self).__name__}({shown})"


def split_config(config) -> tuple[str, dict]:
    """A config's type and its settings. A bare name is a config without settings, and the
    ``"name"`` key of older files is read as ``"type"``.

    >>> split_config({"type": "step", "gamma": 0.5})
    ('step', {'gamma': 0.5})
    >>> split_config({"name": "huber", "delta": 2.0})
    ('huber', {'delta': 2.0})
    >>> split_config("adam")
    ('adam', {})
    """
    if isinstance(config, str):
        return config, {}
    if not isinstance(config, dict):
        raise ValueError(f'A config must be a name or an object with a "type"; got {config!r}.')
    settings = dict(config)
    kind = settings.pop("type", None)
    legacy = settings.pop("name", None)
    kind = kind if kind is not None else legacy
    if not isinstance(kind, str) or not kind:
        raise ValueError(f'A config needs a "type" such as "adam"; got {config!r}.')
    return kind, settings
