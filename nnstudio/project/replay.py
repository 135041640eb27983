"""The exact state of a run at any epoch (Qt-free), for branching from it.

A run's timeline keeps exact snapshots (weights and optimizer state) only sparsely; the other
epochs have float16 weights for the views (see nnstudio.project.timeline). Training is
deterministic given (seed, epoch), so the exact state at epoch ``k`` is found by loading the
latest exact snapshot before ``k`` and training again from there to ``k`` with the settings
the run used then: the same weights, bit for bit, as the run had.
"""

from __future__ import annotations

import copy

from nnstudio.engine.fit import FitConfig
from nnstudio.project.project_data import PROJECT_RULE, Project, TrainingSettings
from nnstudio.project.timeline import RunTimeline, Snapshot, restore, snapshot_of


class ReplayError(ValueError):
    """The epoch's exact state cannot be found again; the message says why."""


def training_settings(values: dict, base: TrainingSettings) -> TrainingSettings:
    """``base`` with the known keys of ``values`` (a run's settings as a file kept them; a
    key of another version is left out rather than failing)."""
    known = {k: copy.deepcopy(v) for k, v in values.items() if k in vars(base)}
    return TrainingSettings(**{**copy.deepcopy(vars(base)), **known})


def exact_state(
    timeline: RunTimeline,
    epoch: int,
    model,
    dataset,
    project: Project,
    history: list[dict],
    validation_data=PROJECT_RULE,
) -> Snapshot:
    """The exact snapshot of ``epoch``: the kept one, or one replayed on a copy of ``model``
    from the exact snapshot before it (``project``: the run's project, whose training settings
    stand in when the snapshot does not say its own; ``history``: the run's epochs;
    ``validation_data``: what the run validated on, when not the project's rule)."""
    start = timeline.exact_before(epoch)
    if start is None:
        raise ReplayError(f"the timeline keeps no exact state at or before epoch {epoch}")
    if start.epoch == epoch:
        return start
    if len(history) < epoch:
        raise ReplayError(f"the run's history stops at epoch {len(history)}, before {epoch}")
    replayed = project.copy()
    if start.settings:
        replayed.training = training_settings(start.settings, replayed.training)
    work = copy.deepcopy(model)
    optimizer = replayed.make_optimizer()
    restore(start, work, optimizer)
    config = replayed.fit_config()
    config = FitConfig(**{**vars(config), "epochs": int(epoch), "early_stopping_patience": None})
    replayed.fit(
        work,
        dataset,
        config,
        optimizer=optimizer,
        initial_epoch=start.epoch,
        history=history[: start.epoch],
        validation_data=validation_data,
    )
    snapshot = snapshot_of(epoch, work, optimizer, start.seed)
    snapshot.settings = start.settings
    return snapshot
