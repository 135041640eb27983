"""Typed events without Qt: a ``Signal`` per event, gathered in an ``Events`` group.

The project layer tells its views what changed through these (the document, the builder's
model), so it stays free of Qt and still reads like Qt's signals::

    class DocumentEvents(Events):
        training_changed: Signal  # ()
        modified: Signal  # (is_modified: bool)

    document.events.training_changed.connect(handler)

Every event is declared once, as an annotation of its group, so a misspelled name
(``document.events.trainig_changed``) is an ``AttributeError`` where it is connected, rather
than a handler that silently never runs.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

Handler = Callable[..., None]


class Signal:
    """One event: handlers connected to it are called, in the order they were connected,
    with the arguments of each ``emit``."""

    __slots__ = ("name", "_handlers")

    def __init__(self, name: str = ""):
        self.name = name
        self._handlers: list[Handler] = []

    def connect(self, handler: Handler) -> Handler:
        """Call ``handler(*args)`` on every ``emit(*args)``; returns it (usable as a decorator)."""
        if not callable(handler):
            raise TypeError(f"{self.name or 'signal'}: {handler!r} is not callable")
        self._handlers.append(handler)
        return handler

    def disconnect(self, handler: Handler) -> None:
        """Stop calling ``handler``; a ValueError if it was never connected."""
        try:
            self._handlers.remove(handler)
        except ValueError:
            raise ValueError(f"{self.name or 'signal'}: {handler!r} is not connected") from None

    def emit(self, *args) -> None:
        # A copy: a handler may connect or disconnect others while the event is delivered.
        for handler in list(self._handlers):
            handler(*args)

    def __repr__(self) -> str:
        return f"<Signal {self.name} ({len(self._handlers)} handlers)>"


class Events:
    """A group of signals, one per annotation of the subclass (``name: Signal``).

    Only the declared names exist: reading any other is an AttributeError that lists them,
    and no signal can be added or replaced after the group is made.
    """

    def __init__(self):
        for name in self.names():
            object.__setattr__(self, name, Signal(name))

    @classmethod
    def names(cls) -> list[str]:
        """The declared events, base classes' first."""
        names: list[str] = []
        for klass in reversed(cls.__mro__):
            names += [n for n in inspect.get_annotations(klass) if n not in names]
        return names

    def __getattr__(self, name: str):
        # Only called for names that are not set: the declared ones always are.
        raise AttributeError(
            f"{type(self).__name__} has no event {name!r}; its events are: "
            + ", ".join(self.names())
        )

    def __setattr__(self, name: str, value) -> None:
        raise AttributeError(f"{type(self).__name__}'s events are fixed: cannot set {name!r}")
