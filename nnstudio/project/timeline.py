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

Size (issue 31): only some snapshots are *exact* (full-precision weights and the optimizer's
state): the start of every training session (an *anchor*, where the settings may change) and
epochs at a spacing that doubles whenever they pass ``exact_bytes``. Every other epoch keeps
its weights in float16, enough for the views that scrub through them. Branching from such an
epoch replays the run from the exact snapshot before it (see nnstudio.project.replay), which
gives the same weights bit for bit. A file keeps less again: ``to_files(max_bytes=...)``.

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
from functools import cached_property

import numpy as np

DEFAULT_MAX_BYTES = 256 * 1024 * 1024
# Exact snapshots (besides the anchors) get this much of memory; beyond it their spacing
# doubles. Generous: a branch replays at most the epochs between two of them, on the GUI
# thread; files keep fewer (see file_budget).
DEFAULT_EXACT_BYTES = 64 * 1024 * 1024
VIEW_DTYPE = np.float16  # what a scrubbing view needs of an epoch's weights
TIMELINE_FORMAT = 1
_SEP = "|"  # between the parts of an array's name in the .npz (parameter names hold dots)


@dataclass
class Snapshot:
    """The state at the end of epoch ``epoch`` (0: before the first batch)."""

    epoch: int
    weights: dict[str, np.ndarray]
    optimizer: dict = field(default_factory=dict)  # Optimizer.state_dict(): scalars and arrays
    seed: int | None = None
    # The training settings (TrainingSettings as a dict) the run went on with from here: what
    # a replay from this snapshot trains with. None when not known (older files).
    settings: dict | None = None

    @property
    def exact(self) -> bool:
        """Whether training can go on from here exactly (it has the optimizer's state)."""
        return bool(self.optimizer)

    def for_views(self) -> Snapshot:
        """The compact copy the scrubbing views need: float16 weights, no optimizer."""
        weights = {k: _compact(v) for k, v in self.weights.items()}
        return Snapshot(self.epoch, weights, {}, self.seed)

    @cached_property
    def nbytes(self) -> int:
        """Counted once: a snapshot's arrays are never changed in place, and the timeline adds
        up the sizes of all its snapshots at every epoch."""
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


def _compact(value):
    value = np.asarray(value)
    return value.astype(VIEW_DTYPE) if value.dtype.kind == "f" else value


class RunTimeline:
    """The snapshots of one run, by epoch, within ``max_bytes``."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES, exact_bytes: int = DEFAULT_EXACT_BYTES):
        if max_bytes <= 0:
            raise ValueError(f"max_bytes must be positive; got {max_bytes}")
        self.max_bytes = int(max_bytes)
        self.exact_bytes = int(exact_bytes)
        self.exact_every = 1  # exact snapshots at multiples of this (besides the anchors)
        self.anchors: set[int] = set()  # session starts: always exact
        self._snapshots: dict[int, Snapshot] = {}
        self._exact_epochs: set[int] = set()  # a few hundred at most, where _snapshots grows
        self.nbytes = 0
        self.thinned = False  # some epochs were dropped to stay within max_bytes
        self.saved_sparser = False  # read from a file that kept fewer epochs than memory had

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

    def exact_before(self, epoch: int) -> Snapshot | None:
        """The latest exact snapshot at or before ``epoch`` (where a replay starts)."""
        kept = [e for e in self._exact_epochs if e <= epoch]
        return self._snapshots[max(kept)] if kept else None

    def nearest(self, epoch: int) -> Snapshot | None:
        """The kept snapshot closest to ``epoch`` (the earlier one on a tie)."""
        if not self._snapshots:
            return None
        return self._snapshots[min(self.epochs(), key=lambda e: (abs(e - epoch), e))]

    def spacing_note(self) -> str:
        """What a view says about the kept epochs ("" while every epoch is kept)."""
        if not self.thinned:
            return ""
        if self.saved_sparser:
            return (
                f"Older epochs thinned to keep the saved file small: {len(self)} of "
                f"{self.last - self.first + 1} kept, denser towards the newest"
            )
        megabytes = self.max_bytes / (1024 * 1024)
        return (
            f"Older epochs thinned to stay under {megabytes:.0f} MB: {len(self)} of "
            f"{self.last - self.first + 1} kept, denser towards the newest"
        )

    # -- writing --------------------------------------------------------------------------------

    def add(self, snapshot: Snapshot, anchor: bool = False) -> None:
        """Keep ``snapshot`` (replacing one of the same epoch), exact when it is an ``anchor``
        (a session's start) or on the exact spacing, else compact; then thin to the bounds."""
        if anchor and snapshot.exact:
            self.anchors.add(snapshot.epoch)
        elif snapshot.epoch % self.exact_every:
            snapshot = snapshot.for_views()
        self._put(snapshot)
        self._space_exact()
        self._thin()

    def _put(self, snapshot: Snapshot) -> None:
        if snapshot.epoch in self._snapshots:
            self._drop(snapshot.epoch)
        self._snapshots[snapshot.epoch] = snapshot
        self.nbytes += snapshot.nbytes
        if snapshot.exact:
            self._exact_epochs.add(snapshot.epoch)

    def _spaced(self) -> list[Snapshot]:
        """The exact snapshots on the spacing (not anchors), in epoch order."""
        epochs = sorted(self._exact_epochs - self.anchors)
        return [self._snapshots[epoch] for epoch in epochs]

    def _space_exact(self) -> None:
        """Double the exact spacing while the exact snapshots pass ``exact_bytes``; those off
        the new spacing keep their weights for the views only."""
        spaced = self._spaced()
        while len(spaced) > 1 and sum(s.nbytes for s in spaced) > self.exact_bytes:
            self.exact_every *= 2
            for snapshot in spaced:
                if snapshot.epoch % self.exact_every:
                    self._put(snapshot.for_views())
            spaced = self._spaced()

    def truncate_after(self, epoch: int) -> None:
        """Forget the snapshots after ``epoch`` (a run continued from there again)."""
        for later in [e for e in self._snapshots if e > epoch]:
            self._drop(later)
        self.anchors = {e for e in self.anchors if e <= epoch}

    def copy_until(self, epoch: int, max_bytes: int | None = None) -> RunTimeline:
        """A new timeline holding this one's snapshot at ``epoch`` (shared arrays: snapshots
        are never changed in place), the start of a run branched from there."""
        branch = RunTimeline(max_bytes or self.max_bytes, self.exact_bytes)
        snapshot = self.get(epoch)
        if snapshot is not None:
            branch.add(snapshot, anchor=True)
        return branch

    def _thin(self) -> None:
        while self.nbytes > self.max_bytes and len(self._snapshots) > 2:
            self._drop(_densest(self.epochs()))
            self.thinned = True

    def _drop(self, epoch: int) -> None:
        self.nbytes -= self._snapshots.pop(epoch).nbytes
        self._exact_epochs.discard(epoch)

    # -- files ----------------------------------------------------------------------------------

    def for_file(self, max_bytes: int) -> dict[int, Snapshot]:
        """The snapshots a file keeps within about ``max_bytes``: the anchors, exact ones on
        a spacing doubled until they take at most a third of it, and views of other epochs,
        thinned like memory is (dense towards the newest) into what is left."""
        kept = dict(self._snapshots)
        exact = sorted(e for e, s in kept.items() if s.exact and e not in self.anchors)
        every = self.exact_every
        while exact and sum(kept[e].nbytes for e in exact) > max_bytes // 3:
            every *= 2
            for epoch in [e for e in exact if e % every]:
                kept[epoch] = kept[epoch].for_views()
            exact = [e for e in exact if e % every == 0]
        total = sum(s.nbytes for s in kept.values())
        while total > max_bytes and len(kept) > 2:
            views = [e for e, s in kept.items() if not s.exact]
            if len(views) < 3:
                break
            dropped = _densest(sorted(views))
            total -= kept.pop(dropped).nbytes
        return kept

    def to_files(
        self, prefix: str = "", max_bytes: int | None = None
    ) -> tuple[dict, dict[str, np.ndarray]]:
        """(JSON description, name → array) for a .npz next to it; ``prefix`` keeps several
        timelines apart in one archive; ``max_bytes``: see :meth:`for_file`."""
        entries, arrays = [], {}
        snapshots = self.for_file(max_bytes) if max_bytes else self._snapshots
        for epoch in sorted(snapshots):
            snapshot = snapshots[epoch]
            entry = {
                "epoch": epoch,
                "seed": snapshot.seed,
                "optimizer": _plain(snapshot.optimizer_scalars()),
            }
            if snapshot.settings is not None:
                entry["settings"] = snapshot.settings
            entries.append(entry)
            for name, value in snapshot.weights.items():
                arrays[_SEP.join((prefix, str(epoch), "w", name))] = value
            for name, value in snapshot.optimizer_arrays().items():
                arrays[_SEP.join((prefix, str(epoch), "o", name))] = value
        meta = {
            "format": TIMELINE_FORMAT,
            "prefix": prefix,
            "max_bytes": self.max_bytes,
            "thinned": self.thinned or len(snapshots) < len(self._snapshots),
            "saved_sparser": self.saved_sparser or len(snapshots) < len(self._snapshots),
            "exact_every": self.exact_every,
            "anchors": sorted(self.anchors),
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
            settings = entry.get("settings")
            settings = settings if isinstance(settings, dict) else None
            snapshot = Snapshot(epoch, weights, {**scalars, **optimizer}, seed, settings)
            timeline._put(snapshot)
        timeline.thinned = bool(meta.get("thinned", False))
        timeline.saved_sparser = bool(meta.get("saved_sparser", False))
        every = meta.get("exact_every", 1)
        timeline.exact_every = every if isinstance(every, int) and every > 0 else 1
        anchors = meta.get("anchors")
        if isinstance(anchors, list):
            kept = timeline._snapshots
            timeline.anchors = {e for e in anchors if isinstance(e, int) and e in kept}
        else:  # an older file: the first epoch is where the run started
            timeline.anchors = {timeline.first} if len(timeline) else set()
        return timeline


def _densest(epochs: list[int]) -> int:
    """The epoch whose removal leaves the most even logarithmic spacing: the inner one whose
    neighbours are closest together relative to its distance from the newest."""
    kept = np.array(epochs, dtype=np.float64)
    age = kept[-1] - kept[1:-1] + 1.0
    gap = kept[2:] - kept[:-2]
    return int(kept[1 + int(np.argmin(gap / age))])


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

    def __init__(self, model, optimizer, seed, timeline: RunTimeline | None = None, settings=None):
        self.model, self.optimizer, self.seed = model, optimizer, seed
        self.settings = settings  # the training settings as a dict, for a later replay
        self.timeline = timeline if timeline is not None else RunTimeline()
        self._initial_epoch = 0

    def on_train_begin(self, info: dict) -> None:
        self._initial_epoch = int(info.get("initial_epoch", 0))
        self.timeline.truncate_after(self._initial_epoch)  # a branch forgets the old future
        self._keep(self._initial_epoch, anchor=True)

    def on_epoch_end(self, info: dict) -> None:
        self._keep(int(info["epoch"]))

    def _keep(self, epoch: int, anchor: bool = False) -> None:
        snapshot = snapshot_of(epoch, self.model, self.optimizer, self.seed)
        snapshot.settings = self.settings
        self.timeline.add(snapshot, anchor=anchor)


# -- several runs in one file ---------------------------------------------------------------------


def file_budget(timeline: RunTimeline) -> int:
    """How much of a file one run's timeline may take: 2.5 MB, or for a large network two and
    a half of its exact snapshots (issue 31: a spiral run of 200 epochs saves in under 3 MB,
    an MNIST MLP of 20 epochs in under 20 MB)."""
    exact = max(
        (s.nbytes for s in (timeline.get(e) for e in timeline.epochs()) if s.exact), default=0
    )
    return max(FILE_BYTES, int(2.5 * exact))


FILE_BYTES = 2_500_000


def timelines_to_files(
    timelines: dict[int, RunTimeline], compact: bool = True
) -> tuple[dict, dict[str, np.ndarray]]:
    """The timelines of several runs (by run number) as one JSON description and one array
    dict: what a checkpoint stores as ``timeline.json`` and ``timeline.npz``. ``compact``:
    each within its :func:`file_budget`."""
    runs, arrays = [], {}
    for number, timeline in sorted(timelines.items()):
        budget = file_budget(timeline) if compact else None
        meta, run_arrays = timeline.to_files(prefix=f"run{number}", max_bytes=budget)
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


def checkpoint_timeline(checkpoint) -> RunTimeline | None:
    """The timeline of the run a checkpoint holds (the window saves one per run; the one
    continued is the last), or None when it has none."""
    if getattr(checkpoint, "timeline", None) is None:
        return None
    try:
        timelines = timelines_from_files(*checkpoint.timeline)
        current = checkpoint.timeline[0].get("current")
        if isinstance(current, int) and current in timelines:
            return timelines[current]
        return timelines[max(timelines)] if timelines else None
    except (ValueError, TypeError, KeyError, AttributeError):
        return None  # a damaged timeline costs the past epochs, never what reads it
