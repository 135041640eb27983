"""The training doctor: layer health and the epoch history turned into warnings in words, each
with a fix a learner can try.

:class:`TrainingDoctor` is a fit callback. Its :class:`~nnstudio.engine.fit.health.HealthMonitor`
samples every few batches; at the end of each epoch the doctor adds ``health`` (per layer)
and ``warnings`` to the epoch's report, so ``nnstudio train --json`` prints them and the
window's health panel shows them. A warning is ``{"layer", "kind", "message", "fix", "action",
"changes", "explains", "more"}``: ``fix`` says what to try in words, ``action`` names the
one-click fix and ``changes`` the settings it sets (``{"learning_rate": 0.001}``). When a run
blows up (NaN), :attr:`TrainingDoctor.final_warnings` says when and why.

The rules are in doctor_rules.py (causes before symptoms); the advice and the fixes, each
defined once with its button and what it changes in a project, in doctor_advice.py.
"""

from __future__ import annotations

import math
import re

from nnstudio.engine.fit.health import HEALTH_EVERY, HealthMonitor
from nnstudio.project.doctor_advice import CAUSES, FixContext, HealthWarning
from nnstudio.project.doctor_rules import EpochTrends, diagnose

__all__ = ["TrainingDoctor", "blow_up_warning", "diagnose"]


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
        self.trends = EpochTrends()  # what the rules read of the history, kept as it grows
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
        self.trends.add(self.history[-1])
        info["health"] = health
        warnings = diagnose(
            health, self.history, self.monitor.start_loss, self.optimizer, self.trends
        )
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
