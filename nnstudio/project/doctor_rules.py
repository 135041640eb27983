"""The training doctor's rules: an epoch's layer health and the epochs so far turned into
warnings in words (:func:`diagnose`), causes before symptoms.

The doctor names the most basic cause first: a start the network cannot learn from (all-zero
weights, units that are copies of one another), then a blow-up (the loss far above where it
started), and only then dead units, vanishing gradients or the rate. A cause folds the
symptoms it explains into its own warning (``explains``), so a learner gets one piece of
advice that works instead of several that fight each other.

Thresholds are chosen so that the shipped presets train without a warning (a test proves it
for each); every rule names the numbers it saw, so a learner can check the claim.
"""

from __future__ import annotations

import math

from nnstudio.engine.fit.guard import format_rate
from nnstudio.engine.fit.health import SQUASHING
from nnstudio.project.doctor_advice import NO_SQUASHING_VANISHING, FixContext, HealthWarning

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
                advice=None if squashed else NO_SQUASHING_VANISHING,
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


class EpochTrends:
    """What the fit rules read of the whole history, kept up to date one epoch at a time:
    the 5-epoch means of the training and validation losses, where the validation mean was
    lowest, and the highest epoch loss. Scanning the whole history at every epoch cost the
    training thread 6 ms at epoch 3,000 (26 ms at 10,000): three times a spiral's epoch."""

    def __init__(self, window: int = OVERFIT_WINDOW):
        self.window = window
        self.count = 0  # epochs seen
        self.val_complete = True  # every epoch so far had a validation loss
        self._losses: list[float] = []
        self._val_losses: list[float] = []
        self.train_means: list[float] = []
        self.val_means: list[float] = []
        self.best: int | None = None  # the lowest validation mean's index (the first of ties)
        self.peak: tuple[float, int] | None = None  # (the highest epoch loss, its epoch index)

    @classmethod
    def of(cls, history: list[dict]) -> EpochTrends:
        trends = cls()
        for epoch in history:
            trends.add(epoch)
        return trends

    def add(self, epoch: dict) -> None:
        index, loss, val_loss = self.count, epoch.get("loss"), epoch.get("val_loss")
        self.count += 1
        if loss is not None and (self.peak is None or loss > self.peak[0]):
            self.peak = (loss, index)  # the first of equal peaks, as max() picks
        self.val_complete = self.val_complete and val_loss is not None
        if not self.val_complete:
            return
        self._losses.append(loss)
        self._val_losses.append(val_loss)
        if len(self._val_losses) >= self.window:
            self.val_means.append(sum(self._val_losses[-self.window :]) / self.window)
            self.train_means.append(sum(self._losses[-self.window :]) / self.window)
            if self.best is None or self.val_means[-1] < self.val_means[self.best]:
                self.best = len(self.val_means) - 1


def _overfitting(history: list[dict], trends: EpochTrends) -> HealthWarning | None:
    """Validation loss rising while training loss falls, on 5-epoch means: a small validation
    set's loss jumps around from epoch to epoch, and those jumps are no trend."""
    if not trends.val_complete or trends.count < OVERFIT_WINDOW + OVERFIT_EPOCHS:
        return None
    val_means, train_means, best = trends.val_means, trends.train_means, trends.best
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


def _fit_rules(health: dict, history: list[dict], trends: EpochTrends) -> list[HealthWarning]:
    """Overfitting (validation loss rising while training loss falls) and underfitting; an
    underfitting run whose steps are tiny is told its rate is too low, not that the network
    is too small."""
    overfitting = _overfitting(history, trends)
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


def _died_right_after(history: list[dict], index: int) -> float | None:
    """The share of a layer's ReLU units dead in the spike's epoch or the next, when it is
    at least DEAD ("dead": the largest share of an epoch, kept by the doctor's history)."""
    dead = max((h.get("dead") or 0 for h in history[index : index + 2]), default=0)
    return dead if dead >= DEAD else None


def _blow_up_rule(
    history: list[dict], start_loss: float | None, trends: EpochTrends
) -> HealthWarning | None:
    """An epoch whose mean loss went far above where training started, or a smaller spike
    after which most of a layer's units died: the rate threw the weights somewhere they cannot
    come back from (dead units, huge weights)."""
    peak = trends.peak if start_loss else None
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
    trends: EpochTrends | None = None,
) -> list[HealthWarning]:
    """The warnings for an epoch's ``health`` (HealthMonitor.epoch_summary) and the epochs so
    far (the last one is the current epoch). ``start_loss``: the first batch's loss (to tell
    a blow-up); ``optimizer``: the run's (the safe rate to restart with after a blow-up);
    ``trends``: ``EpochTrends.of(history)``, kept by a caller that diagnoses every epoch.

    A cause (a bad start, a blow-up) comes alone: the symptoms it explains are folded into
    its ``explains``, so no symptom's fix sends the learner the wrong way."""
    symptoms = _gradient_rules(health) + _unit_rules(health) + _step_rules(health, history)
    trends = trends if trends is not None else EpochTrends.of(history)
    symptoms = _fold_underfitting(symptoms + _fit_rules(health, history, trends))
    cause = _initialization_rule(health) or _blow_up_rule(history, start_loss, trends)
    if cause is not None:
        cause.explains = [m for symptom in symptoms for m in (symptom.message, *symptom.explains)]
        symptoms = [cause]
    lr = history[-1].get("lr") if history else None
    context = FixContext(lr, optimizer, _relu_only(health))
    return [warning.prescribe(context) for warning in symptoms]
