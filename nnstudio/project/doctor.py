"""The training doctor: layer health and the epoch history turned into warnings in words, each
with a fix a learner can try.

:class:`TrainingDoctor` is a fit callback. Its :class:`~nnstudio.engine.fit.health.HealthMonitor`
samples every few batches; at the end of each epoch the doctor adds ``health`` (per layer)
and ``warnings`` to the epoch's report, so ``nnstudio train --json`` prints them and the
window's health panel shows them. A warning is ``{"layer", "kind", "message", "fix", "action",
"changes", "explains"}``: ``fix`` says what to try in words, ``action`` names the one-click fix
in :data:`REMEDIES` and ``changes`` the settings it sets (``{"learning_rate": 0.001}``).
When a run blows up (NaN), :attr:`final_warnings` says when and why.

The doctor names causes before symptoms, the most basic first: a start the network cannot
learn from (all-zero weights, units that are copies of one another), then a blow-up (the loss
far above where it started), and only then dead units, vanishing gradients or the rate. A
cause folds the symptoms it explains into its own warning (``explains``), so a learner gets
one piece of advice that works instead of several that fight each other.

Thresholds are chosen so that the shipped presets train without a warning (a test proves it
for each); every rule names the numbers it saw, so a learner can check the claim.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from nnstudio.engine.fit.guard import format_rate, safer_lr
from nnstudio.engine.fit.health import HEALTH_EVERY, SQUASHING, HealthMonitor
from nnstudio.project.problems import Edit, Fix

__all__ = [
    "ACTIONS",
    "CAUSES",
    "FIXES",
    "FixContext",
    "KINDS",
    "REMEDIES",
    "HealthWarning",
    "Remedy",
    "TrainingDoctor",
    "apply_remedy",
    "diagnose",
    "layer_fix",
    "remedy_changes",
    "training_changes",
]

CAUSES = ("zero_init", "symmetric_init", "blow_up", "nan")  # most basic first
KINDS = (
    *CAUSES,
    "vanishing_gradient",
    "exploding_gradient",
    "dead_relu",
    "saturated",
    "lr_too_high",
    "lr_too_low",
    "overfitting",
    "underfitting",
)
VANISHING = 1e-3  # a layer's gradient this many times smaller than the last layer's
EXPLODING = 1e3  # ... or this many times larger
DEAD = 0.5  # share of a ReLU layer's units never active in an epoch's samples
SATURATED = 0.5  # share of a sigmoid/tanh layer's units stuck in a flat tail
HUGE_STEP = 0.5  # ‖Δw‖/‖w‖ of one step: half the weights' size each batch
TINY_STEP = 1e-6  # ... and a step this small changes nothing
SLOW_STEP = 1e-4  # a run that stopped learning with steps this small: the rate, not the size
OVERFIT_WINDOW = 5  # epochs averaged: a small validation set's loss is noisy
OVERFIT_RISE = 1.3  # mean validation loss 30 % above its best mean ...
OVERFIT_EPOCHS = 5  # ... at least this many epochs after it, while training improves
BLOW_UP = 10.0  # an epoch's mean loss this many times the first batch's: the run blew up
BLOW_UP_RISE = 1.0  # ... and at least this much above it (a loss near 0 may triple harmlessly)
SPIKE = 2.0  # a smaller jump (twice the start, 0.5 above it) is a blow-up when units died
DROPOUT_RATE = 0.5  # after each hidden layer: lesson 12 measures it (validation loss 1 → 0.23)
PATIENCE = 10  # epochs early stopping waits (the Hyperparameters dock's default)


# -- the fixes ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Remedy:
    """One fix a warning offers: ``action`` its name, ``label`` its button, ``detailed`` the
    button once the new values are known (``{learning_rate}`` and the like, from the
    warning's changes), ``sets`` the project setting it changes, and whether it also gives the
    network fresh weights (the project's initializer and seed): after a blow-up the weights
    are damaged, and no setting repairs them."""

    action: str
    label: str
    detailed: str = ""
    sets: str | None = None
    resets_weights: bool = False

    def button_text(self, changes: dict | None = None) -> str:
        shown = {key: _shown(key, value) for key, value in (changes or {}).items()}
        try:
            return self.detailed.format(**shown) if self.detailed else self.label
        except KeyError:  # a warning without the values: the plain label
            return self.label


INITIALIZER_NAMES = {"he": "He", "glorot": "Glorot", "lecun": "LeCun", "auto": "automatic"}


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
            "initializer",
            resets_weights=True,
        ),
        Remedy(
            "reset_and_lower_lr",
            "Reset weights and lower the rate",
            "Reset weights and use rate {learning_rate}",
            "learning_rate",
            resets_weights=True,
        ),
        Remedy("switch_to_relu", "Switch to ReLU", sets="activation"),
        Remedy("switch_to_leaky_relu", "Switch to LeakyReLU", sets="activation"),
        Remedy(
            "halve_lr", "Halve the rate", "Halve the rate (to {learning_rate})", "learning_rate"
        ),
        Remedy(
            "raise_lr",
            "Raise the rate 10×",
            "Raise the rate 10× (to {learning_rate})",
            "learning_rate",
        ),
        Remedy("add_dropout", "Add Dropout", sets="dropout"),
        Remedy("early_stopping", "Turn on early stopping", sets="early_stopping"),
        Remedy("find_lr", "Find learning rate…"),
    )
}
#: What each kind of warning says to try, in words, and its one-click fixes (the first is the
#: warning's ``action``).
FIXES = {
    "zero_init": "Give the layers a random initializer (He for ReLU) and start again",
    "symmetric_init": "Give the layers a random initializer (He for ReLU) and start again",
    "blow_up": "Start again from fresh weights with a smaller learning rate",
    "nan": "Start again from fresh weights with a smaller learning rate",
    "vanishing_gradient": "Try ReLU or BatchNorm",
    "saturated": "Try ReLU or BatchNorm",
    "exploding_gradient": "Lower the learning rate or turn on gradient clipping (1 to 5)",
    "dead_relu": "Use LeakyReLU or a smaller learning rate",
    "lr_too_high": "Halve the learning rate",
    "lr_too_low": "Raise the learning rate 10× (or use the LR finder)",
    "overfitting": "Add Dropout or turn on early stopping",
    "underfitting": "Use a bigger network (more units or layers) or train longer",
}
ACTIONS = {
    "zero_init": ("reinitialize",),
    "symmetric_init": ("reinitialize",),
    "blow_up": ("reset_and_lower_lr",),
    "nan": ("reset_and_lower_lr",),
    "vanishing_gradient": ("switch_to_relu",),
    "saturated": ("switch_to_relu",),
    "exploding_gradient": ("halve_lr",),
    "dead_relu": ("switch_to_leaky_relu", "halve_lr"),
    "lr_too_high": ("halve_lr",),
    "lr_too_low": ("raise_lr", "find_lr"),
    "overfitting": ("add_dropout", "early_stopping"),
    "underfitting": ("find_lr",),
}
#: Without a sigmoid or tanh layer there is nothing for "Switch to ReLU" to switch: a ReLU
#: network with vanishing gradients needs BatchNorm or fewer layers, and no button pretends.
NO_SQUASHING_VANISHING = "Add BatchNorm between the layers, or use fewer layers"


@dataclass
class FixContext:
    """What a fix's new values are computed from: the run's rate and optimizer, and the
    activations of the layers (He initialization for ReLU, Glorot for the rest)."""

    learning_rate: float | None = None
    optimizer: object = None
    relu_only: bool = True


def remedy_changes(action: str, context: FixContext) -> dict:
    """The settings ``action`` sets, e.g. {"learning_rate": 0.001}."""
    lr = context.learning_rate
    if action == "reinitialize":
        return {"initializer": "he" if context.relu_only else "auto"}
    if action == "reset_and_lower_lr" and lr:
        return {"learning_rate": safer_lr(context.optimizer, lr)}
    if action == "halve_lr" and lr:
        return {"learning_rate": float(f"{lr / 2:.3g}")}
    if action == "raise_lr" and lr:
        return {"learning_rate": float(f"{lr * 10:.3g}")}
    return {
        "switch_to_relu": {"activation": "relu"},
        "switch_to_leaky_relu": {"activation": "leaky_relu"},
        "add_dropout": {"dropout": DROPOUT_RATE},
        "early_stopping": {"early_stopping": PATIENCE},
    }.get(action, {})


# -- what a fix changes in the project ----------------------------------------------------------

TRAINING_SETTINGS = ("learning_rate", "early_stopping")  # the rest of a fix's changes: layers


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


def dropout_edit(layers: list[dict], rate: float) -> list[Edit]:
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


def _activation_edits(layers: list[dict], new: str) -> list[Edit]:
    """ReLU replaces sigmoid and tanh; LeakyReLU replaces ReLU."""
    return activation_edits(layers, tuple(SQUASHING) if new == "relu" else ("relu",), new)


#: How each setting a remedy ``sets`` on layers becomes edits (the others are training's).
LAYER_EDITS = {
    "activation": _activation_edits,
    "initializer": initializer_edits,
    "dropout": dropout_edit,
}


def layer_fix(layers: list[dict], action: str, changes: dict) -> Fix | None:
    """The edits to the network that ``action`` with ``changes`` makes, as one undoable fix
    (None when it changes no layer, e.g. a learning rate)."""
    setting = REMEDIES[action].sets
    if setting not in LAYER_EDITS or changes.get(setting) is None:
        return None
    edits = LAYER_EDITS[setting](layers, changes[setting])
    return Fix(REMEDIES[action].button_text(changes), tuple(edits)) if edits else None


def training_changes(changes: dict) -> dict:
    """The training settings among a fix's changes: {"learning_rate": 0.001}."""
    return {key: value for key, value in changes.items() if key in TRAINING_SETTINGS}


def apply_remedy(project, action: str, changes: dict):
    """A copy of ``project`` with the fix applied to its document (the window does the same
    through its undoable edits). Resetting the weights is the caller's part: a project built
    again trains from fresh weights anyway."""
    from nnstudio.project.project_file import Project

    data = project.to_dict()
    fix = layer_fix(data["model"]["layers"], action, changes)
    if fix is not None:
        data["model"]["layers"] = fix.applied_to(data["model"]["layers"])
    data["training"].update(training_changes(changes))
    data["weights"] = None
    changed = Project.from_dict(data, source="the doctor's fix")
    changed.path = project.path
    return changed


@dataclass
class HealthWarning:
    """One thing the doctor noticed. ``layer`` is the layer's label ("2 Dense") or None for
    the network as a whole; ``fix`` what to try, in words; ``action`` and ``changes`` the
    one-click fix (see :data:`REMEDIES`); ``explains`` the symptoms this cause accounts for;
    ``more`` the other fixes offered, as ``{"action", "changes"}``."""

    kind: str
    message: str
    layer: str | None = None
    fix: str = ""
    action: str | None = None
    changes: dict = field(default_factory=dict)
    explains: list[str] = field(default_factory=list)
    more: list[dict] = field(default_factory=list)

    def __post_init__(self):
        self.fix = self.fix or FIXES[self.kind]

    def prescribe(self, context: FixContext) -> HealthWarning:
        """Fill in the one-click fixes for this kind (unless a rule chose them already)."""
        if self.action is None and not self.more:
            actions = ACTIONS.get(self.kind, ())
            if self.kind == "vanishing_gradient" and self.fix == NO_SQUASHING_VANISHING:
                actions = ()
            fixes = [{"action": a, "changes": remedy_changes(a, context)} for a in actions]
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


# -- the rules ----------------------------------------------------------------------------------


def _weighted(health: dict) -> list[tuple[str, dict]]:
    return [(name, row) for name, row in health.items() if row.get("grad_norm") is not None]


def _layers_named(names: list[str]) -> str:
    """ "Layer 2" or "Layers 0–2": the first and the last of ``names``."""
    numbers = [name.split()[0] for name in names]
    if len(numbers) == 1:
        return f"Layer {numbers[0]}"
    return f"Layers {numbers[0]}–{numbers[-1]}"


def _layer_range(names: list[str]) -> str:
    return _layers_named(names) + (" gets" if len(names) == 1 else " get")


def _gradient_rules(health: dict) -> list[HealthWarning]:
    weighted = _weighted(health)
    if len(weighted) < 2:
        return []
    last_name, last = weighted[-1]
    top = last["grad_norm"]
    if not top or not math.isfinite(top):
        return []
    # Dead ReLU units pass back no gradient: the layers up to the last dead one starve, and
    # the dead_relu warning says why, better.
    dead = [i for i, (_n, r) in enumerate(weighted) if (r.get("dead_fraction") or 0) >= DEAD]
    alive = weighted[max(dead) + 1 : -1] if dead else weighted[:-1]
    small = [(n, r) for n, r in alive if r["grad_norm"] < VANISHING * top]
    large = [(n, r) for n, r in weighted[:-1] if r["grad_norm"] > EXPLODING * top]
    warnings = []
    if small:
        factor = min(top / max(min(r["grad_norm"] for _n, r in small), 1e-30), 1e6)
        squashed = [n for n, r in health.items() if r.get("activation") in SQUASHING]
        why = ": the sigmoid/tanh units squash them at every layer" if squashed else ""
        warnings.append(
            HealthWarning(
                "vanishing_gradient",
                f"{_layer_range([n for n, _r in small])} gradients {factor:,.0f}× smaller "
                f"than the last layer{why}, so they hardly learn.",
                small[0][0],
                fix="" if squashed else NO_SQUASHING_VANISHING,
            )
        )
    if large:
        factor = max(r["grad_norm"] for _n, r in large) / top
        warnings.append(
            HealthWarning(
                "exploding_gradient",
                f"{_layer_range([n for n, _r in large])} gradients {factor:,.0f}× larger "
                "than the last layer: updates this uneven make training unstable.",
                large[0][0],
            )
        )
    return warnings


def _unit_rules(health: dict) -> list[HealthWarning]:
    warnings = []
    for name, row in health.items():
        dead, saturated = row.get("dead_fraction"), row.get("saturated_fraction")
        if dead is not None and dead >= DEAD:
            warnings.append(
                HealthWarning(
                    "dead_relu",
                    f"{dead:.0%} of the ReLU units of layer {name} never fire: they output 0 "
                    "for every sample and get no gradient, so they never recover.",
                    name,
                )
            )
        if saturated is not None and saturated >= SATURATED:
            warnings.append(
                HealthWarning(
                    "saturated",
                    f"{saturated:.0%} of the {row['activation']} units of layer {name} are "
                    "saturated (stuck at the flat ends of the curve), where their gradient is "
                    "almost zero.",
                    name,
                )
            )
    return warnings


def _step_rules(health: dict, history: list[dict]) -> list[HealthWarning]:
    ratios = [r["update_ratio"] for _n, r in _weighted(health) if r.get("update_ratio")]
    if not ratios:
        return []
    lr = history[-1].get("lr") if history else None
    rate = f"the learning rate {format_rate(lr)}" if lr else "the learning rate"
    if max(ratios) > HUGE_STEP:
        return [
            HealthWarning(
                "lr_too_high",
                f"Each step changes some weights by {max(ratios):.0%} of their size (healthy is "
                f"about 0.1 %): {rate} is too high.",
            )
        ]
    if len(history) >= 3 and max(ratios) < TINY_STEP and _improvement(history, "loss") < 0.01:
        return [
            HealthWarning(
                "lr_too_low",
                f"Each step changes the weights by less than {TINY_STEP:g} of their size and the "
                f"loss has barely moved in {len(history)} epochs: {rate} is too low.",
            )
        ]
    return []


def _improvement(history: list[dict], key: str) -> float:
    """How much ``key`` fell from the first epoch to the last, as a share of the first."""
    first, last = history[0].get(key), history[-1].get(key)
    if first is None or last is None or not first:
        return 1.0
    return (first - last) / abs(first)


def _rolling(values: list[float], width: int) -> list[float]:
    return [sum(values[i - width : i]) / width for i in range(width, len(values) + 1)]


def _overfitting(history: list[dict]) -> HealthWarning | None:
    """Validation loss rising while training loss falls, on 5-epoch means: a small validation
    set's loss jumps around from epoch to epoch, and those jumps are no trend."""
    val = [h.get("val_loss") for h in history]
    if None in val or len(val) < OVERFIT_WINDOW + OVERFIT_EPOCHS:
        return None
    val_means = _rolling(val, OVERFIT_WINDOW)
    train_means = _rolling([h["loss"] for h in history], OVERFIT_WINDOW)
    best = min(range(len(val_means)), key=val_means.__getitem__)
    rose = val_means[-1] > OVERFIT_RISE * val_means[best]
    if len(val_means) - 1 - best < OVERFIT_EPOCHS or not rose:
        return None
    if train_means[-1] >= train_means[best]:
        return None  # both rose: unstable training (the rate), not memorising
    best_epoch = history[best + OVERFIT_WINDOW - 1]["epoch"]
    return HealthWarning(
        "overfitting",
        f"The validation loss rose from {val_means[best]:.3g} (around epoch {best_epoch}) to "
        f"{val_means[-1]:.3g} while the training loss kept falling: the network memorises the "
        "training data instead of learning what generalises.",
    )


def _fit_rules(health: dict, history: list[dict]) -> list[HealthWarning]:
    """Overfitting (validation loss rising while training loss falls) and underfitting; an
    underfitting run whose steps are tiny is told its rate is too low, not that the network
    is too small."""
    overfitting = _overfitting(history)
    if overfitting is not None:
        return [overfitting]
    accuracy = history[-1].get("accuracy") if history else None
    if len(history) < 10 or accuracy is None or accuracy >= 0.6:
        return []
    if _improvement(history[-5:], "loss") >= 0.02:
        return []
    stalled = (
        f"After {len(history)} epochs the training accuracy is {accuracy:.0%} and the loss has "
        "stopped falling"
    )
    ratios = [r["update_ratio"] for _n, r in _weighted(health) if r.get("update_ratio")]
    if ratios and max(ratios) < SLOW_STEP:
        return [
            HealthWarning(
                "lr_too_low",
                f"{stalled}, with steps of only {max(ratios):.1e} of the weights' size (healthy "
                "is about 1e-3): the learning rate is too low.",
            )
        ]
    return [
        HealthWarning(
            "underfitting",
            f"{stalled}: the network is too small or too constrained for this data.",
        )
    ]


def _initialization_rule(health: dict) -> HealthWarning | None:
    """Layers that start where nothing can be learned: all-zero weights (no signal, no
    gradient) or units that are copies of one another (the same gradient keeps them copies)."""
    zero = [name for name, row in health.items() if row.get("zero_weights")]
    copies = [
        name for name, row in health.items() if row.get("identical_units") and name not in zero
    ]
    if zero:
        return HealthWarning(
            "zero_init",
            f"{_layers_named(zero)} {'has' if len(zero) == 1 else 'have'} all-zero "
            "weights, and they stay zero: a unit with zero weights outputs the same for every "
            "sample and passes no gradient back, so the layers before it cannot learn either. "
            "Zero is a fine start for biases, never for weights.",
            zero[0],
        )
    if copies:
        return HealthWarning(
            "symmetric_init",
            f"The units of {_layers_named(copies).lower()} all have the same weights: they "
            "compute the same thing, get the same gradient and stay copies of one another, so "
            "the layer works like a single unit. Only random starting weights tell them apart.",
            copies[0],
        )
    return None


def _loss_peak(history: list[dict]) -> tuple[float, int] | None:
    """(the highest epoch loss, its index in ``history``)."""
    losses = [(h["loss"], i) for i, h in enumerate(history) if h.get("loss") is not None]
    return max(losses, key=lambda pair: pair[0]) if losses else None


def _died_right_after(history: list[dict], index: int) -> float | None:
    """The share of a layer's ReLU units dead in the spike's epoch or the next, when it is
    at least DEAD ("dead": the largest share of an epoch, kept by the doctor's history)."""
    dead = max((h.get("dead") or 0 for h in history[index : index + 2]), default=0)
    return dead if dead >= DEAD else None


def _blow_up_rule(history: list[dict], start_loss: float | None) -> HealthWarning | None:
    """An epoch whose mean loss went far above where training started, or a smaller spike
    after which most of a layer's units died: the rate threw the weights somewhere they cannot
    come back from (dead units, huge weights)."""
    peak = _loss_peak(history) if start_loss else None
    if peak is None:
        return None
    (loss, index), ratio = peak, peak[0] / start_loss
    epoch = history[index].get("epoch")
    death = _died_right_after(history, index)
    big = ratio >= BLOW_UP and loss >= start_loss + BLOW_UP_RISE
    spike = ratio >= SPIKE and loss >= start_loss + BLOW_UP_RISE / 2 and death
    if not (big or spike):
        return None
    lr = history[-1].get("lr")
    rate = f"the learning rate {format_rate(lr)}" if lr else "the learning rate"
    times = f"{ratio:,.0f}×" if ratio >= BLOW_UP else f"{ratio:.1f}×"
    jump = f"from {start_loss:.3g} at the start to {loss:,.4g} in epoch {epoch} ({times})"
    if big:
        what = f"The loss blew up {jump}: {rate} is far too high."
    else:
        what = (
            f"The loss jumped {jump} and right after it {death:.0%} of a layer's ReLU units "
            f"died: {rate} is too high."
        )
    return HealthWarning(
        "blow_up",
        f"{what} The jump left the weights damaged (units that died in it stay dead), so a "
        "smaller rate alone cannot repair them.",
    )


def _relu_only(health: dict) -> bool:
    activations = {row.get("activation") for row in health.values()} - {None, "linear", "softmax"}
    return bool(activations) and activations <= {"relu", "leaky_relu", "elu", "gelu"}


def _fold_underfitting(warnings: list[HealthWarning]) -> list[HealthWarning]:
    """One warning a kind and layer (the later one's words go under the first), and
    underfitting next to another warning is that warning's result (dead units, a rate that is
    off), not a network too small: it goes under the first of them."""
    kept: dict[tuple, HealthWarning] = {}
    for warning in warnings:
        first = kept.setdefault((warning.kind, warning.layer), warning)
        if first is not warning:
            first.explains.append(warning.message)
    others = [w for w in kept.values() if w.kind != "underfitting"]
    if not others or len(others) == len(kept):
        return list(kept.values())
    others[0].explains += [w.message for w in kept.values() if w.kind == "underfitting"]
    return others


def diagnose(
    health: dict,
    history: list[dict],
    start_loss: float | None = None,
    optimizer=None,
) -> list[HealthWarning]:
    """The warnings for an epoch's ``health`` (HealthMonitor.epoch_summary) and the epochs so
    far (the last one is the current epoch). ``start_loss``: the first batch's loss (to tell
    a blow-up); ``optimizer``: the run's (the safe rate to restart with after a blow-up).

    A cause (a bad start, a blow-up) comes alone: the symptoms it explains are folded into
    its ``explains``, so no symptom's fix sends the learner the wrong way."""
    symptoms = _gradient_rules(health) + _unit_rules(health) + _step_rules(health, history)
    symptoms = _fold_underfitting(symptoms + _fit_rules(health, history))
    cause = _initialization_rule(health) or _blow_up_rule(history, start_loss)
    if cause is not None:
        cause.explains = [m for symptom in symptoms for m in (symptom.message, *symptom.explains)]
        symptoms = [cause]
    lr = history[-1].get("lr") if history else None
    context = FixContext(lr, optimizer, _relu_only(health))
    return [warning.prescribe(context) for warning in symptoms]


# -- the fit callback ---------------------------------------------------------------------------


class TrainingDoctor:
    """A fit callback: samples layer health and adds ``health`` and ``warnings`` to each
    epoch's report (the same dict the other callbacks get, so put it first). ``optimizer``:
    the run's, for the rate a fix after a blow-up restarts with."""

    def __init__(self, every: int = HEALTH_EVERY, optimizer=None, earlier: list[dict] = ()):
        self.monitor = HealthMonitor(every)
        self.health_every = self.monitor.health_every
        self.optimizer = optimizer
        self.history: list[dict] = []
        self.final_warnings: list[dict] = []  # after a blow-up: when and why
        # A run that goes on after a blow-up goes on with the damaged weights: the blow-up is
        # still the cause, though this part of the run started from the damage.
        self.earlier_blow_up = _last_blow_up(earlier)

    def interval_for(self, batches: int) -> int:
        """Batches between samples in an epoch of ``batches`` (HealthMonitor.interval_for)."""
        return self.monitor.interval_for(batches)

    # the fit loop calls these two around the optimizer's step every ``interval_for`` batches
    def before_update(self, model, loss: float | None = None) -> None:
        self.monitor.before_update(model, loss)

    def after_update(self, model) -> None:
        self.monitor.after_update(model)

    def on_epoch_end(self, info: dict) -> None:
        health = self.monitor.epoch_summary()
        self.history.append({k: info.get(k) for k in ("epoch", "loss", "val_loss", "accuracy")})
        self.history[-1]["lr"] = info.get("lr")
        # The largest share of dead ReLU units of a layer: a blow-up kills many at once.
        self.history[-1]["dead"] = max(
            (r.get("dead_fraction") or 0 for r in health.values()), default=0
        )
        info["health"] = health
        warnings = diagnose(health, self.history, self.monitor.start_loss, self.optimizer)
        if self.earlier_blow_up is not None and not any(w.kind in CAUSES for w in warnings):
            warnings = [self._still_blown_up(warnings)]
        info["warnings"] = [w.to_dict() for w in warnings]

    def _still_blown_up(self, symptoms: list[HealthWarning]) -> HealthWarning:
        earlier = self.earlier_blow_up
        warning = HealthWarning("blow_up", earlier["message"], earlier.get("layer"))
        warning.explains = [symptom.message for symptom in symptoms]
        lr = self.history[-1].get("lr")
        return warning.prescribe(FixContext(lr, self.optimizer))

    def on_train_end(self, result) -> None:
        if getattr(result, "stopped_reason", None) == "nan":
            lr = self.history[-1]["lr"] if self.history else getattr(self.optimizer, "lr", None)
            warning = blow_up_warning(self.monitor, result)
            warning.prescribe(FixContext(lr, self.optimizer))
            self.final_warnings = [warning.to_dict()]


def _last_blow_up(history) -> dict | None:
    """The blow-up warning of the last epoch of an earlier part of the run, if it had one."""
    last = history[-1].get("warnings") if history else None
    return next((w for w in last or () if w.get("kind") == "blow_up"), None)


def blow_up_warning(monitor: HealthMonitor, result) -> HealthWarning:
    """ "The loss became NaN at epoch 3, batch 118, after the gradient norm grew 1000× in 20
    batches: the learning rate is too high" (where: from the NaN guard's message)."""
    message = getattr(result, "message", "") or ""
    found = re.search(r"at epoch \d+, batch \d+", message)
    where = found.group(0) if found else "during training"
    norms = [n for n in monitor.last_grad_norms(20) if math.isfinite(n)]
    growth = ""
    if len(norms) >= 2 and min(norms) > 0 and max(norms) / min(norms) >= 10:
        batches = len(norms) * monitor.sample_interval
        factor = max(norms) / min(norms)
        growth = f", after the gradient norm grew {factor:,.0f}× in {batches} batches"
    exploded = "exploded" in message
    what = "The loss exploded" if exploded else "The loss became NaN"
    return HealthWarning(
        "nan",
        f"{what} {where}{growth}: the learning rate is too high. The weights it reached are "
        "not worth keeping.",
    )
