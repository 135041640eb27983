"""The training doctor's advice and its one-click fixes, each defined once (Qt-free).

A :class:`Remedy` is one fix, whole: its button, the setting it changes and how the new value
follows from the run, how that value becomes edits of the layers (or a training setting),
whether it also gives the network fresh weights, and how it changes a project. The window's
health panel only renders a warning's fixes, and its controller only applies them: the layer
edits as one undoable step, the training settings to the document.

>>> remedy = REMEDIES["halve_lr"]
>>> changes = remedy.changes(FixContext(learning_rate=0.1))
>>> changes, remedy.button_text(changes), remedy.training_changes(changes)
({'learning_rate': 0.05}, 'Halve the rate (to 0.05)', {'learning_rate': 0.05})
>>> layers = [{"type": "Dense", "units": 8, "activation": "relu"}, {"type": "Dense", "units": 2}]
>>> fix = REMEDIES["switch_to_leaky_relu"].layer_fix(layers, {"activation": "leaky_relu"})
>>> fix.label, fix.applied_to(layers)[0]["activation"]
('Switch to LeakyReLU', 'leaky_relu')

Each kind of warning says what to try in words and which fixes it offers (:data:`ADVICE`);
:class:`HealthWarning` is one warning with the fixes it offers, as the epoch reports carry it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from nnstudio.engine.fit.guard import format_rate, safer_lr
from nnstudio.engine.fit.health import SQUASHING
from nnstudio.project.problems import Edit, Fix

DROPOUT_RATE = 0.5  # after each hidden layer: lesson 12 measures it (validation loss 1 → 0.23)
PATIENCE = 10  # epochs early stopping waits (the Hyperparameters dock's default)
INITIALIZER_NAMES = {"he": "He", "glorot": "Glorot", "lecun": "LeCun", "auto": "automatic"}


@dataclass
class FixContext:
    """What a fix's new values are computed from: the run's rate and optimizer, and the
    activations of the layers (He initialization for ReLU, Glorot for the rest)."""

    learning_rate: float | None = None
    optimizer: object = None
    relu_only: bool = True


# -- how a fix changes the layers ---------------------------------------------------------------


def activation_edits(layers: list[dict], old: tuple[str, ...], new: str) -> list[Edit]:
    """Edits that give every layer with an ``old`` activation the ``new`` one: Dense/Conv2D's
    ``activation``, Activation's ``function``, and standalone Sigmoid/Tanh/ReLU layers replaced."""
    standalone = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "ReLU"}
    replacement = {"relu": "ReLU", "leaky_relu": "LeakyReLU"}[new]
    edits: list[Edit] = []
    for index, layer in enumerate(layers):
        if layer.get("activation") in old:
            edits.append(Edit("set", index, name="activation", value=new))
        elif layer.get("type") == "Activation" and layer.get("function") in old:
            edits.append(Edit("set", index, name="function", value=new))
        elif layer.get("type") in {standalone[name] for name in old if name in standalone}:
            edits += [Edit("remove", index), Edit("insert", index, layer={"type": replacement})]
    return edits


def _switch_activation(layers: list[dict], new: str) -> list[Edit]:
    """ReLU replaces sigmoid and tanh; LeakyReLU replaces ReLU."""
    return activation_edits(layers, tuple(SQUASHING) if new == "relu" else ("relu",), new)


def dropout_edits(layers: list[dict], rate: float) -> list[Edit]:
    """A Dropout after each hidden Dense layer that has none yet (inserted from the end, so
    the indices of the edits still to come stay right)."""
    hidden = [i for i, layer in enumerate(layers[:-1]) if layer.get("type") == "Dense"]
    wanted = [i for i in hidden if layers[i + 1].get("type") != "Dropout"]
    return [
        Edit("insert", i + 1, layer={"type": "Dropout", "rate": rate}) for i in reversed(wanted)
    ]


def initializer_edits(layers: list[dict], initializer: str) -> list[Edit]:
    """Every layer that starts its weights at zero gets ``initializer`` instead."""
    return [
        Edit("set", index, name="initializer", value=initializer)
        for index, layer in enumerate(layers)
        if layer.get("initializer") == "zeros"
    ]


# -- how a fix's new value follows from the run ------------------------------------------------


def _rate_times(factor: float) -> Callable[[FixContext], float | None]:
    """The run's rate times ``factor``, to 3 significant digits (None: the rate is unknown)."""

    def value(context: FixContext) -> float | None:
        lr = context.learning_rate
        return float(f"{lr * factor:.3g}") if lr else None

    return value


def _safer_rate(context: FixContext) -> float | None:
    lr = context.learning_rate
    return safer_lr(context.optimizer, lr) if lr else None


def _initializer(context: FixContext) -> str:
    return "he" if context.relu_only else "auto"


def _always(value) -> Callable[[FixContext], object]:
    return lambda _context: value


# -- the fixes ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Remedy:
    """One fix. ``action`` its name, ``label`` its button and ``detailed`` the button once
    the new value is known ("{learning_rate}", from the warning's changes); ``sets`` the
    setting it changes and ``value`` how the new value follows from the run; ``edits`` how
    that value becomes edits of the layers (None: ``sets`` is a training setting);
    ``resets_weights``: it also gives the network fresh weights (after a blow-up the weights
    are damaged, and no setting repairs them); ``opens``: a tool it opens instead."""

    action: str
    label: str
    detailed: str = ""
    sets: str | None = None
    value: Callable[[FixContext], object] | None = None
    edits: Callable[[list[dict], object], list[Edit]] | None = None
    resets_weights: bool = False
    opens: str | None = None

    def changes(self, context: FixContext) -> dict:
        """The settings this fix sets for a run like ``context``: {"learning_rate": 0.001}."""
        value = self.value(context) if self.value is not None else None
        return {} if value is None else {self.sets: value}

    def button_text(self, changes: dict | None = None) -> str:
        shown = {key: _shown(key, value) for key, value in (changes or {}).items()}
        try:
            return self.detailed.format(**shown) if self.detailed else self.label
        except KeyError:  # a warning without the values: the plain label
            return self.label

    def layer_fix(self, layers: list[dict], changes: dict) -> Fix | None:
        """The edits to the network this fix makes with ``changes``, as one undoable fix
        (None when it changes no layer, e.g. a learning rate)."""
        if self.edits is None or changes.get(self.sets) is None:
            return None
        edits = self.edits(layers, changes[self.sets])
        return Fix(self.button_text(changes), tuple(edits)) if edits else None

    def training_changes(self, changes: dict) -> dict:
        """The training settings among ``changes`` (none for a fix of the layers)."""
        if self.edits is not None or changes.get(self.sets) is None:
            return {}
        return {self.sets: changes[self.sets]}

    def apply_to(self, project, changes: dict):
        """A copy of ``project`` with this fix applied (the window does the same through its
        undoable edits and the document). Resetting the weights is the caller's part: a
        project built again trains from fresh weights anyway."""
        from nnstudio.project.project_parse import parse_project

        data = project.to_dict()
        fix = self.layer_fix(data["model"]["layers"], changes)
        if fix is not None:
            data["model"]["layers"] = fix.applied_to(data["model"]["layers"])
        data["training"].update(self.training_changes(changes))
        data["weights"] = None
        changed = parse_project(data, source="the doctor's fix")
        changed.path = project.path
        return changed


def _shown(key: str, value):
    """A change's value as a button says it: 0.001, He."""
    if key == "learning_rate":
        return format_rate(value)
    return INITIALIZER_NAMES.get(value, value) if key == "initializer" else value


REMEDIES = {
    remedy.action: remedy
    for remedy in (
        Remedy(
            "reinitialize",
            "Reset weights with a random initializer",
            "Reset weights with {initializer} initialization",
            sets="initializer",
            value=_initializer,
            edits=initializer_edits,
            resets_weights=True,
        ),
        Remedy(
            "reset_and_lower_lr",
            "Reset weights and lower the rate",
            "Reset weights and use rate {learning_rate}",
            sets="learning_rate",
            value=_safer_rate,
            resets_weights=True,
        ),
        Remedy(
            "switch_to_relu",
            "Switch to ReLU",
            sets="activation",
            value=_always("relu"),
            edits=_switch_activation,
        ),
        Remedy(
            "switch_to_leaky_relu",
            "Switch to LeakyReLU",
            sets="activation",
            value=_always("leaky_relu"),
            edits=_switch_activation,
        ),
        Remedy(
            "halve_lr",
            "Halve the rate",
            "Halve the rate (to {learning_rate})",
            sets="learning_rate",
            value=_rate_times(0.5),
        ),
        Remedy(
            "raise_lr",
            "Raise the rate 10×",
            "Raise the rate 10× (to {learning_rate})",
            sets="learning_rate",
            value=_rate_times(10),
        ),
        Remedy(
            "add_dropout",
            "Add Dropout",
            sets="dropout",
            value=_always(DROPOUT_RATE),
            edits=dropout_edits,
        ),
        Remedy(
            "early_stopping",
            "Turn on early stopping",
            sets="early_stopping",
            value=_always(PATIENCE),
        ),
        Remedy("find_lr", "Find learning rate…", opens="lr_finder"),
    )
}


# -- what each kind of warning advises ----------------------------------------------------------


@dataclass(frozen=True)
class Advice:
    """What a kind of warning says to try, in words, and the fixes it offers (the first is
    the warning's ``action``)."""

    text: str
    actions: tuple[str, ...] = ()


_RANDOM_START = "Give the layers a random initializer (He for ReLU) and start again"
_FRESH_START = "Start again from fresh weights with a smaller learning rate"
ADVICE = {
    "zero_init": Advice(_RANDOM_START, ("reinitialize",)),
    "symmetric_init": Advice(_RANDOM_START, ("reinitialize",)),
    "blow_up": Advice(_FRESH_START, ("reset_and_lower_lr",)),
    "nan": Advice(_FRESH_START, ("reset_and_lower_lr",)),
    "vanishing_gradient": Advice("Try ReLU or BatchNorm", ("switch_to_relu",)),
    "exploding_gradient": Advice(
        "Lower the learning rate or turn on gradient clipping (1 to 5)", ("halve_lr",)
    ),
    "dead_relu": Advice(
        "Use LeakyReLU or a smaller learning rate", ("switch_to_leaky_relu", "halve_lr")
    ),
    "saturated": Advice("Try ReLU or BatchNorm", ("switch_to_relu",)),
    "lr_too_high": Advice("Halve the learning rate", ("halve_lr",)),
    "lr_too_low": Advice(
        "Raise the learning rate 10× (or use the LR finder)", ("raise_lr", "find_lr")
    ),
    "overfitting": Advice(
        "Add Dropout or turn on early stopping", ("add_dropout", "early_stopping")
    ),
    "underfitting": Advice(
        "Use a bigger network (more units or layers) or train longer", ("find_lr",)
    ),
}
CAUSES = ("zero_init", "symmetric_init", "blow_up", "nan")  # most basic first
KINDS = tuple(ADVICE)  # the causes first, then the symptoms
#: Without a sigmoid or tanh layer there is nothing for "Switch to ReLU" to switch: a ReLU
#: network with vanishing gradients needs BatchNorm or fewer layers, and no button pretends.
NO_SQUASHING_VANISHING = Advice("Add BatchNorm between the layers, or use fewer layers")


@dataclass
class HealthWarning:
    """One thing the doctor noticed. ``layer`` is the layer's label ("2 Dense") or None for
    the network as a whole; ``fix`` what to try, in words; ``action`` and ``changes`` the
    one-click fix (see :data:`REMEDIES`); ``explains`` the symptoms this cause accounts for;
    ``more`` the other fixes offered, as ``{"action", "changes"}``. ``advice``: what a rule
    advises instead of the kind's usual :data:`ADVICE` (its words and fixes together)."""

    kind: str
    message: str
    layer: str | None = None
    fix: str = ""
    action: str | None = None
    changes: dict = field(default_factory=dict)
    explains: list[str] = field(default_factory=list)
    more: list[dict] = field(default_factory=list)
    advice: Advice | None = field(default=None, repr=False)

    def __post_init__(self):
        self.advice = self.advice or ADVICE[self.kind]
        self.fix = self.fix or self.advice.text

    def prescribe(self, context: FixContext) -> HealthWarning:
        """Fill in the one-click fixes of its advice (unless a rule chose them already)."""
        if self.action is None and not self.more:
            actions = self.advice.actions
            fixes = [{"action": a, "changes": REMEDIES[a].changes(context)} for a in actions]
            if fixes:
                self.action, self.changes = fixes[0]["action"], fixes[0]["changes"]
                self.more = fixes[1:]
        return self

    def to_dict(self) -> dict:
        return {
            "layer": self.layer,
            "kind": self.kind,
            "message": self.message,
            "fix": self.fix,
            "action": self.action,
            "changes": dict(self.changes),
            "explains": list(self.explains),
            "more": [dict(fix) for fix in self.more],
        }


def offered_fixes(warning: dict) -> list[tuple[str, dict | None]]:
    """(action, changes) of each fix a warning (as an epoch report carries it) offers, its own
    first; a warning made without them (an older run's) gets its kind's fixes, values
    unknown (None)."""
    if warning.get("action"):
        more = [(fix["action"], fix.get("changes")) for fix in warning.get("more") or ()]
        return [(warning["action"], warning.get("changes")), *more]
    advice = ADVICE.get(warning.get("kind"))
    return [(action, None) for action in (advice.actions if advice else ())]


def offered_changes(warning: dict | None, action: str) -> dict | None:
    """The changes ``warning`` computed for ``action``, or None when it carries none."""
    for offered, changes in offered_fixes(warning or {}):
        if offered == action and changes is not None:
            return dict(changes)
    return None
