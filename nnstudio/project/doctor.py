"""The training doctor: layer health and the epoch history turned into warnings in words, each
with a fix a learner can try.

:class:`TrainingDoctor` is a fit callback. Its :class:`~nnstudio.engine.fit.health.HealthMonitor`
samples every few batches; at the end of each epoch the doctor adds ``health`` (per layer)
and ``warnings`` (a list of ``{"layer", "kind", "message", "fix"}``) to the epoch's report,
so ``nnstudio train --json`` prints them and the window's health panel shows them. When a run
blows up (NaN), :attr:`final_warnings` says when and why.

Thresholds are chosen so that the shipped presets train without a warning (a test proves it
for each); every rule names the numbers it saw, so a learner can check the claim.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass

from nnstudio.engine.fit.guard import format_rate
from nnstudio.engine.fit.health import HEALTH_EVERY, SQUASHING, HealthMonitor

__all__ = ["FIXES", "KINDS", "HealthWarning", "TrainingDoctor", "diagnose"]

KINDS = (
    "vanishing_gradient",
    "exploding_gradient",
    "dead_relu",
    "saturated",
    "nan",
    "lr_too_high",
    "lr_too_low",
    "overfitting",
    "underfitting",
)
FIXES = {
    "vanishing_gradient": "Try ReLU or BatchNorm",
    "saturated": "Try ReLU or BatchNorm",
    "exploding_gradient": "Lower the learning rate or turn on gradient clipping (1 to 5)",
    "dead_relu": "Use LeakyReLU or a smaller learning rate",
    "nan": "Halve the learning rate and restart from the last good epoch",
    "lr_too_high": "Halve the learning rate",
    "lr_too_low": "Raise the learning rate 10× (or use the LR finder)",
    "overfitting": "Add Dropout or turn on early stopping",
    "underfitting": "Use a bigger network (more units or layers) or train longer",
}
VANISHING = 1e-3  # a layer's gradient this many times smaller than the last layer's
EXPLODING = 1e3  # ... or this many times larger
DEAD = 0.5  # share of a ReLU layer's units never active in an epoch's samples
SATURATED = 0.5  # share of a sigmoid/tanh layer's units stuck in a flat tail
HUGE_STEP = 0.5  # ‖Δw‖/‖w‖ of one step: half the weights' size each batch
TINY_STEP = 1e-6  # ... and a step this small changes nothing
OVERFIT_WINDOW = 5  # epochs averaged: a small validation set's loss is noisy
OVERFIT_RISE = 1.3  # mean validation loss 30 % above its best mean ...
OVERFIT_EPOCHS = 5  # ... at least this many epochs after it, while training improves


@dataclass
class HealthWarning:
    """One thing the doctor noticed. ``layer`` is the layer's label ("2 Dense") or None for
    the network as a whole; ``fix`` what to try, in words."""

    kind: str
    message: str
    layer: str | None = None
    fix: str = ""

    def __post_init__(self):
        self.fix = self.fix or FIXES[self.kind]

    def to_dict(self) -> dict:
        data = asdict(self)
        return {key: data[key] for key in ("layer", "kind", "message", "fix")}


# -- the rules ----------------------------------------------------------------------------------


def _weighted(health: dict) -> list[tuple[str, dict]]:
    return [(name, row) for name, row in health.items() if row.get("grad_norm") is not None]


def _layer_range(names: list[str]) -> str:
    numbers = [name.split()[0] for name in names]
    if len(numbers) == 1:
        return f"Layer {numbers[0]} gets"
    return f"Layers {numbers[0]}–{numbers[-1]} get"


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


def _fit_rules(history: list[dict]) -> list[HealthWarning]:
    """Overfitting (validation loss rising while training loss falls) and underfitting."""
    overfitting = _overfitting(history)
    if overfitting is not None:
        return [overfitting]
    accuracy = history[-1].get("accuracy") if history else None
    if len(history) >= 10 and accuracy is not None and accuracy < 0.6:
        recent = history[-5:]
        if _improvement(recent, "loss") < 0.02:
            return [
                HealthWarning(
                    "underfitting",
                    f"After {len(history)} epochs the training accuracy is {accuracy:.0%} and "
                    "the loss has stopped falling: the network is too small or too constrained "
                    "for this data.",
                )
            ]
    return []


def diagnose(health: dict, history: list[dict]) -> list[HealthWarning]:
    """The warnings for an epoch's ``health`` (HealthMonitor.epoch_summary) and the epochs so
    far (the last one is the current epoch)."""
    warnings = _gradient_rules(health) + _unit_rules(health) + _step_rules(health, history)
    return warnings + _fit_rules(history)


# -- the fit callback ---------------------------------------------------------------------------


class TrainingDoctor:
    """A fit callback: samples layer health and adds ``health`` and ``warnings`` to each
    epoch's report (the same dict the other callbacks get, so put it first)."""

    def __init__(self, every: int = HEALTH_EVERY):
        self.monitor = HealthMonitor(every)
        self.health_every = self.monitor.health_every
        self.history: list[dict] = []
        self.final_warnings: list[dict] = []  # after a blow-up: when and why

    # the fit loop calls these two around the optimizer's step every ``health_every`` batches
    def before_update(self, model) -> None:
        self.monitor.before_update(model)

    def after_update(self, model) -> None:
        self.monitor.after_update(model)

    def on_epoch_end(self, info: dict) -> None:
        health = self.monitor.epoch_summary()
        self.history.append({k: info.get(k) for k in ("epoch", "loss", "val_loss", "accuracy")})
        self.history[-1]["lr"] = info.get("lr")
        info["health"] = health
        info["warnings"] = [w.to_dict() for w in diagnose(health, self.history)]

    def on_train_end(self, result) -> None:
        if getattr(result, "stopped_reason", None) == "nan":
            self.final_warnings = [blow_up_warning(self.monitor, result).to_dict()]


def blow_up_warning(monitor: HealthMonitor, result) -> HealthWarning:
    """ "The loss became NaN at epoch 3, batch 118, after the gradient norm grew 1000× in 20
    batches: the learning rate is too high" (where: from the NaN guard's message)."""
    message = getattr(result, "message", "") or ""
    found = re.search(r"at epoch \d+, batch \d+", message)
    where = found.group(0) if found else "during training"
    norms = [n for n in monitor.last_grad_norms(20) if math.isfinite(n)]
    growth = ""
    if len(norms) >= 2 and min(norms) > 0 and max(norms) / min(norms) >= 10:
        batches = len(norms) * monitor.health_every
        factor = max(norms) / min(norms)
        growth = f", after the gradient norm grew {factor:,.0f}× in {batches} batches"
    exploded = "exploded" in message
    what = "The loss exploded" if exploded else "The loss became NaN"
    return HealthWarning("nan", f"{what} {where}{growth}: the learning rate is too high.")
