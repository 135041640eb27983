"""A run's timeline (Qt-free): the weights and optimizer state at the start and at the end of
every epoch, bounded in memory, so a view can go back to any epoch and a new run can branch
from one.

>>> import numpy as np
>>> timeline = RunTimeline(max_bytes=10_000)
>>> for epoch in range(3):
...     timeline.add(Snapshot(epoch, {"0.W": np.full((2, 2), epoch, np.float32)}, {}, seed=7))
>>> timeline.epochs(), timeline.get(2).weights["0.W"][0, 0], timeline.nearest(5).epoch
([0, 1, 2], 2.0, 2)

What a snapshot restores is exactly what the fit loop needs to go on as if never stopped: the
model's state (parameters and buffers), the optimizer's state (its moments, step count and
base rate) and the seed. The loop draws the shuffle order, dropout masks and augmentation of
epoch ``e`` from ``(seed, e)`` alone, so the seed and the epoch number *are* the random state:
``fit(..., initial_epoch=k, history=history[:k])`` after loading snapshot ``k`` repeats the
original run's epochs ``k + 1, ...`` exactly.

Memory: every epoch is kept until the snapshots together pass ``max_bytes`` (256 MB by
default); from then on, older epochs are thinned to a logarithmic spacing (the gap between two
kept epochs grows with their distance from the newest), so recent epochs stay dense, the start
(epoch 0) and the newest epoch are always kept, and ``thinned`` tells the views to say so.

Serialization (for checkpoints and project files) is plain JSON plus name → array dicts, which
``nnstudio.engine.io`` writes as ``timeline.json`` and ``timeline.npz``: never pickle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

DEFAULT_MAX_BYTES = 256 * 1024 * 1024
TIMELINE_FORMAT = 1
_SEP = "|"  # between the parts of an array's name in the .npz (parameter names hold dots)


@dataclass
class Snapshot:
    """The state at the end of epoch ``epoch`` (0: before the first batch)."""

    epoch: int
    weights: dict[str, np.ndarray]
    optimizer: dict = field(default_factory=dict)  # Optimizer.state_dict(): scalars and arrays
    seed: int | None = None

    @property
    def nbytes(self) -> int:
        arrays = [*self.weights.values(), *self.optimizer_arrays().values()]
        return int(sum(np.asarray(value).nbytes for value in arrays))

    def optimizer_arrays(self) -> dict[str, np.ndarray]:
        return {k: v for k, v in self.optimizer.items() if isinstance(v, np.ndarray)}

    def optimizer_scalars(self) -> dict:
        return {k: v for k, v in self.optimizer.items() if not isinstance(v, np.ndarray)}


def snapshot_of(epoch: int, model, optimizer=None, seed: int | None = None) -> Snapshot:
    """Copies of ``model``'s and ``optimizer``'s state now (between two epochs)."""
    state = optimizer.state_dict() if optimizer is not None else {}
    return Snapshot(int(epoch), model.state_dict(), state, seed)


def restore(snapshot: Snapshot, model, optimizer=None) -> bool:
    """Load ``snapshot`` into ``model`` and, when it is of the same kind, ``optimizer``.

    The optimizer keeps its own settings (what the user chose for the new run, its learning
    rate included, which also becomes the schedule's base rate, as for any run); only its
    state comes from the snapshot: the moments, the step count. Returns whether the optimizer
    state was carried over (False: another optimizer, which starts fresh).
    """
    model.load_state_dict(snapshot.weights)
    if optimizer is None or not snapshot.optimizer:
        return False
    if snapshot.optimizer.get("type", type(optimizer).__name__) != type(optimizer).__name__:
        optimizer.reset()
        return False
    own = optimizer.settings()  # loading re-runs __init__ with the settings it is given
    state = {k: v for k, v in snapshot.optimizer.items() if k not in own}
    optimizer.load_state_dict({**state, **own})
    optimizer.base_lr = optimizer.lr
    return True


class RunTimeline:
    """The snapshots of one run, by epoch, within ``max_bytes``."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES):
        if max_bytes <= 0:
            raise ValueError(f"max_bytes must be positive; got {max_bytes}")
        self.max_bytes = int(max_bytes)
        self._snapshots: dict[int, Snapshot] = {}
        self.nbytes = 0
        self.thinned = False  # some epochs were dropped to stay within max_bytes

    def __len__(self) -> int:
        return len(self._snapshots)

    def __repr__(self) -> str:
        span = f"epochs {self.first}..{self.last}" if self._snapshots else "empty"
        return f"RunTimeline({len(self)} snapshots, {span}, {self.nbytes} bytes)"

    # -- reading --------------------------------------------------------------------------------

    def epochs(self) -> list[int]:
        return sorted(self._snapshots)

    @property
    def first(self) -> int | None:
        return min(self._snapshots) if self._snapshots else None

    @property
    def last(self) -> int | None:
        return max(self._snapshots) if self._snapshots else None

    def get(self, epoch: int) -> Snapshot | None:
        return self._snapshots.get(int(epoch))

    def nearest(self, epoch: int) -> Snapshot | None:
        """The kept snapshot closest to ``epoch`` (the earlier one on a tie)."""
        if not self._snapshots:
            return None
        return self._snapshots[min(self.epochs(), key=lambda e: (abs(e - epoch), e))]

    def spacing_note(self) -> str:
        """What a view says about the kept epochs ("" while every epoch is kept)."""
        if not self.thinned:
            return ""
        megabytes = self.max_bytes / (1024 * 1024)
        return (
            f"Older epochs thinned to stay under {megabytes:.0f} MB: {len(self)} of "
            f"{self.last - self.first + 1} kept, denser towards the newest"
        )

    # -- writing --------------------------------------------------------------------------------

    def add(self, snapshot: Snapshot) -> None:
        """Keep ``snapshot`` (replacing one of the same epoch), then thin to fit the bound."""
        old = self._snapshots.pop(snapshot.epoch, None)
        if old is not None:
            self.nbytes -= old.nbytes
        self._snapshots[snapshot.epoch] = snapshot
        self.nbytes += snapshot.nbytes
        self._thin()

    def truncate_after(self, epoch: int) -> None:
        """Forget the snapshots after ``epoch`` (a run continued from there again)."""
        for later in [e for e in self._snapshots if e > epoch]:
            self.nbytes -= self._snapshots.pop(later).nbytes

    def copy_until(self, epoch: int, max_bytes: int | None = None) -> RunTimeline:
        """A new timeline holding this one's snapshot at ``epoch`` (shared arrays: snapshots
        are never changed in place), the start of a run branched from there."""
        branch = RunTimeline(max_bytes or self.max_bytes)
        snapshot = self.get(epoch)
        if snapshot is not None:
            branch.add(snapshot)
        return branch

    def _thin(self) -> None:
        while self.nbytes > self.max_bytes and len(self._snapshots) > 2:
            self._drop(self._densest())
            self.thinned = True

    def _densest(self) -> int:
        """The epoch whose removal leaves the most even logarithmic spacing: the inner one
        whose neighbours are closest together relative to its distance from the newest."""
        epochs = np.array(self.epochs(), dtype=np.float64)
        age = epochs[-1] - epochs[1:-1] + 1.0
        gap = epochs[2:] - epochs[:-2]
        return int(epochs[1 + int(np.argmin(gap / age))])

    def _drop(self, epoch: int) -> None:
        self.nbytes -= self._snapshots.pop(epoch).nbytes

    # -- files ----------------------------------------------------------------------------------

    def to_files(self, prefix: str = "") -> tuple[dict, dict[str, np.ndarray]]:
        """(JSON description, name → array) for a .npz next to it; ``prefix`` keeps several
        timelines apart in one archive."""
        entries, arrays = [], {}
        for epoch in self.epochs():
            snapshot = self._snapshots[epoch]
            entries.append(
                {
                    "epoch": epoch,
                    "seed": snapshot.seed,
                    "optimizer": _plain(snapshot.optimizer_scalars()),
                }
            )
            for name, value in snapshot.weights.items():
                arrays[_SEP.join((prefix, str(epoch), "w", name))] = value
            for name, value in snapshot.optimizer_arrays().items():
                arrays[_SEP.join((prefix, str(epoch), "o", name))] = value
        meta = {
            "format": TIMELINE_FORMAT,
            "prefix": prefix,
            "max_bytes": self.max_bytes,
            "thinned": self.thinned,
            "snapshots": entries,
        }
        return meta, arrays

    @classmethod
    def from_files(cls, meta: dict, arrays: dict[str, np.ndarray]) -> RunTimeline:
        """The timeline :meth:`to_files` described; a ValueError says what is damaged."""
        if not isinstance(meta, dict) or not isinstance(meta.get("snapshots"), list):
            raise ValueError("the timeline has no list of snapshots")
        prefix = str(meta.get("prefix", ""))
        timeline = cls(_positive_int(meta.get("max_bytes", DEFAULT_MAX_BYTES), "max_bytes"))
        grouped = _group_arrays(arrays, prefix)
        for entry in meta["snapshots"]:
            if not isinstance(entry, dict):
                raise ValueError("a timeline snapshot is not a JSON object")
            epoch = _non_negative_int(entry.get("epoch"), "epoch")
            weights, optimizer = grouped.get(epoch, ({}, {}))
            if not weights:
                raise ValueError(f"the timeline's epoch {epoch} has no weights")
            scalars = entry.get("optimizer") or {}
            if not isinstance(scalars, dict):
                raise ValueError(f"the timeline's epoch {epoch} has a bad optimizer state")
            seed = entry.get("seed")
            seed = None if seed is None else _non_negative_int(seed, "seed")
            timeline._snapshots[epoch] = Snapshot(epoch, weights, {**scalars, **optimizer}, seed)
            timeline.nbytes += timeline._snapshots[epoch].nbytes
        timeline.thinned = bool(meta.get("thinned", False))
        return timeline


def _group_arrays(arrays: dict, prefix: str) -> dict[int, tuple[dict, dict]]:
    grouped: dict[int, tuple[dict, dict]] = {}
    for key, value in arrays.items():
        parts = key.split(_SEP, 3)
        if len(parts) != 4 or parts[0] != prefix or parts[2] not in ("w", "o"):
            continue
        if not parts[1].isdigit():
            raise ValueError(f"the timeline array {key!r} names no epoch")
        weights, optimizer = grouped.setdefault(int(parts[1]), ({}, {}))
        (weights if parts[2] == "w" else optimizer)[parts[3]] = value
    return grouped


def _plain(values: dict) -> dict:
    """Optimizer scalars as JSON values (NumPy numbers become Python ones)."""
    result = {}
    for key, value in values.items():
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, float) and not math.isfinite(value):
            value = None
        result[key] = value
    return result


def _non_negative_int(value, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"the timeline's {name} is {value!r}, not a whole number >= 0")
    return value


def _positive_int(value, name: str) -> int:
    if _non_negative_int(value, name) == 0:
        raise ValueError(f"the timeline's {name} is 0")
    return value


class TimelineRecorder:
    """A fit callback that keeps a run's timeline on the training thread (the command line's
    way; the window's worker sends copies over a signal instead, see training.reporting)."""

    def __init__(self, model, optimizer, seed, timeline: RunTimeline | None = None):
        self.model, self.optimizer, self.seed = model, optimizer, seed
        self.timeline = timeline if timeline is not None else RunTimeline()
        self._initial_epoch = 0

    def on_train_begin(self, info: dict) -> None:
        self._initial_epoch = int(info.get("initial_epoch", 0))
        self.timeline.truncate_after(self._initial_epoch)  # a branch forgets the old future
        self._keep(self._initial_epoch)

    def on_epoch_end(self, info: dict) -> None:
        self._keep(int(info["epoch"]))

    def _keep(self, epoch: int) -> None:
        self.timeline.add(snapshot_of(epoch, self.model, self.optimizer, self.seed))


# -- several runs in one file ---------------------------------------------------------------------


def timelines_to_files(timelines: dict[int, RunTimeline]) -> tuple[dict, dict[str, np.ndarray]]:
    """The timelines of several runs (by run number) as one JSON description and one array
    dict: what a checkpoint stores as ``timeline.json`` and ``timeline.npz``."""
    runs, arrays = [], {}
    for number, timeline in sorted(timelines.items()):
        meta, run_arrays = timeline.to_files(prefix=f"run{number}")
        runs.append({"run": number, **meta})
        arrays.update(run_arrays)
    return {"format": TIMELINE_FORMAT, "runs": runs}, arrays


def timelines_from_files(meta: dict, arrays: dict[str, np.ndarray]) -> dict[int, RunTimeline]:
    """What :func:`timelines_to_files` wrote, by run number; a ValueError when damaged."""
    if not isinstance(meta, dict) or not isinstance(meta.get("runs"), list):
        raise ValueError("the timeline file lists no runs")
    result = {}
    for entry in meta["runs"]:
        number = _non_negative_int(entry.get("run") if isinstance(entry, dict) else None, "run")
        result[number] = RunTimeline.from_files(entry, arrays)
    return result
