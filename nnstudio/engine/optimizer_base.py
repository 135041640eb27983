"""The Optimizer base class, the settings optimizers share, and gradient clipping by norm.

The optimizers themselves (SGD, RMSprop, Adam, AdamW) are in ``optimizers.py``; this module
holds what they have in common: settings from ``SETTINGS`` (see ``engine/settings.py``),
the learning rate, clipping, and per-parameter state allocated at the first step.

>>> WEIGHT_DECAY.label, WEIGHT_DECAY.validate(1e-4, "SGD")
('Weight decay', 0.0001)
>>> CLIP_NORM.validate(None, "SGD") is None   # unset: no clipping
True
"""

from __future__ import annotations

import functools
import math
import operator
from dataclasses import dataclass

import numpy as np

from nnstudio.engine.flat import flat_base, same_layout, views_like
from nnstudio.engine.settings import Configurable, Setting

__all__ = [
    "CLIP_NORM",
    "EPS",
    "WEIGHT_DECAY",
    "Optimizer",
    "StepTerms",
    "clip_by_global_norm",
    "global_norm",
    "learning_rate",
]


def learning_rate(default: float, advice: str) -> Setting:
    """The ``lr`` setting with an optimizer's own default and advice on good values."""
    return Setting(
        "lr",
        "float",
        default,
        minimum=0,
        label="Learning rate",
        log_scale=True,
        help=f"Size of each update step. {advice} Too large and the loss explodes; too small "
        "and nothing happens.",
    )


WEIGHT_DECAY = Setting(
    "weight_decay",
    "float",
    0.0,
    minimum=0,
    label="Weight decay",
    log_scale=True,
    help="Adds weight_decay × weight to each gradient (an L2 penalty): pulls weights towards "
    "zero to fight overfitting. 0 = off; 1e-4 to 1e-3 is typical.",
)
CLIP_NORM = Setting(
    "clip_norm",
    "float",
    None,
    minimum=0,
    exclusive_minimum=True,
    label="Clip gradients",
    none_label="off",
    help="Scales all gradients down together when their overall (L2) norm is above this, "
    "which tames exploding gradients. Off by default; 1 to 5 when the loss spikes.",
)
EPS = Setting(
    "eps",
    "float",
    1e-8,
    minimum=0,
    label="ε",
    log_scale=True,
    help="Added to the divisor so a step never divides by zero. Keep 1e-8; 1e-6 or more can "
    "calm an unstable run.",
)
# A loaded state's base learning rate is checked like a learning rate.
_BASE_LR = Setting("base_lr", "float", 0.01, minimum=0)


def global_norm(grads: dict[str, np.ndarray]) -> float:
    """The L2 norm of all gradients together, as one vector.

    >>> global_norm({"a": np.array([3.0]), "b": np.array([4.0])})
    5.0
    """
    total = 0.0
    for g in grads.values():
        flat = g.reshape(-1)
        total += float(np.dot(flat, flat))  # BLAS dot: one pass, no temporary array
    return math.sqrt(total)


def clip_by_global_norm(grads: dict[str, np.ndarray], max_norm: float) -> float:
    """Scale all gradients in place so their global norm is at most ``max_norm``.

    Returns the norm before clipping (as PyTorch's ``clip_grad_norm_`` does).

    >>> g = {"a": np.array([3.0, 4.0])}
    >>> clip_by_global_norm(g, 1.0)
    5.0
    >>> g["a"]
    array([0.6, 0.8])
    """
    norm = global_norm(grads)
    if norm > max_norm and math.isfinite(norm):
        scale = max_norm / (norm + 1e-12)
        for g in grads.values():
            g *= scale
    return norm


@dataclass(frozen=True)
class StepTerms:
    """One optimizer step for one weight array as a textbook writes it: ``formula`` the update
    rule, ``terms`` its named quantities after the step ("velocity v", "m̂", ...) and
    ``meanings`` what each of them is, in a line."""

    formula: str
    terms: dict[str, np.ndarray]
    meanings: dict[str, str]


WEIGHT_DECAY_TERM = "weight decay term"


class Optimizer(Configurable):
    """Base class: settings, learning rate, clipping, lazily allocated per-parameter state.

    Subclasses list their ``SETTINGS`` (``lr``, ``weight_decay`` and ``clip_norm`` among them),
    name their per-parameter state arrays in ``SLOTS``, implement ``_update(params, grads)``
    and say what a step is in textbook terms (``_own_step_terms``, for ``step_terms``).
    """

    name = "optimizer"
    SLOTS: tuple[str, ...] = ()
    decoupled = False  # weight decay shrinks the weights apart from the gradient (AdamW)
    #: What each term ``_own_step_terms`` names is, in a line (tooltips of the update page).
    TERM_MEANINGS: dict[str, str] = {}

    def __init__(self, **settings):
        super().__init__(**settings)
        # The learning rate schedules start from; the fit loop keeps it up to date.
        self.base_lr = self.lr
        self.iterations = 0
        self.last_grad_norm: float | None = None  # before clipping; set only when clipping
        self.state: dict[str, dict[str, np.ndarray]] = {slot: {} for slot in self._slots()}
        self._scratch: dict[str, np.ndarray] = {}
        self._arrays: _UpdateArrays | None = None  # what the steps work on (set at a step)

    # -- public API ---------------------------------------------------------------------------
    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        """Update ``params`` in place from ``grads`` (same keys)."""
        if self._scratch.keys() != params.keys():
            self._allocate(params, grads)
        if self.clip_norm is not None:
            self.last_grad_norm = clip_by_global_norm(grads, self.clip_norm)
        self.iterations += 1
        arrays = self._arrays
        if arrays is None or not arrays.serves(params, grads):
            arrays = self._arrays = _UpdateArrays.choose(self, params, grads)
        self._update(arrays.params, arrays.grads, arrays.state, arrays.spares)
        self._flush_tiny_state()

    def state_dict(self) -> dict:
        """Scalars and copies of the state arrays, keyed "<slot>.<parameter>" (e.g. "m.0.W")."""
        state = {
            **self.get_config(),
            "base_lr": self.base_lr,
            "iterations": self.iterations,
        }
        for slot, arrays in self.state.items():
            for name, array in arrays.items():
                state[f"{slot}.{name}"] = array.copy()
        return state

    def load_state_dict(self, state: dict) -> None:
        """Restore what ``state_dict()`` returned (settings, step count and state arrays)."""
        kind = state.get("type", type(self).__name__)
        if kind != type(self).__name__:
            raise ValueError(
                f"This optimizer state is for {kind}, not {type(self).__name__}; "
                f"create a {kind} optimizer to load it."
            )
        settings = {key: state[key] for key in self.settings() if key in state}
        type(self).__init__(self, **settings)  # validates the settings again
        self.base_lr = _BASE_LR.validate(state.get("base_lr", self.lr), type(self).__name__)
        iterations = state.get("iterations", 0)
        whole = isinstance(iterations, (int, np.integer)) or (
            isinstance(iterations, float) and iterations.is_integer()
        )
        if isinstance(iterations, bool) or not whole:
            raise ValueError(f"iterations must be a whole number; got {iterations!r}")
        if iterations < 0:  # Adam divides by 1 - beta ** iterations
            raise ValueError(f"iterations must be 0 or more; got {iterations}")
        self.iterations = int(iterations)
        for key, value in state.items():
            slot, _, name = key.partition(".")
            if name and slot in self.state and isinstance(value, np.ndarray):
                self.state[slot][name] = np.array(value, copy=True)
        # Scratch buffers follow the loaded state's shapes at the next step.
        self._scratch = {}
        self._arrays = None

    def reset(self) -> None:
        """Forget all state (as a freshly built optimizer with the same settings)."""
        self.iterations = 0
        self.state = {slot: {} for slot in self._slots()}
        self._scratch = {}
        self._arrays = None

    def step_terms(self, name: str, weight: np.ndarray) -> StepTerms:
        """The step just taken for parameter ``name`` as a textbook writes it: the formula and
        its named terms (call it after ``step``; ``weight`` is the value before the step).

        >>> from nnstudio.engine.optimizers import SGD
        >>> opt, w = SGD(lr=0.1, momentum=0.5, weight_decay=0.1), np.array([2.0])
        >>> opt.step({"w": w.copy()}, {"w": np.array([1.0])})
        >>> terms = opt.step_terms("w", w)
        >>> terms.formula
        'v = μ·v + g;  Δw = −lr·v'
        >>> terms.terms   # v = g + weight_decay·w
        {'weight decay term': array([0.2]), 'velocity v': array([1.2])}
        """
        terms = {}
        if self.weight_decay and not self.decoupled:  # coupled: added to the gradient
            terms[WEIGHT_DECAY_TERM] = self.weight_decay * weight
        formula, own = self._own_step_terms(name, weight)
        terms.update(own)
        meanings = {WEIGHT_DECAY_TERM: "weight_decay·w, added to g", **self.TERM_MEANINGS}
        return StepTerms(formula, terms, {k: meanings[k] for k in terms if k in meanings})

    def _own_step_terms(self, name: str, weight: np.ndarray) -> tuple[str, dict]:
        """This optimizer's update rule and its terms for ``name`` after a step; subclasses
        name theirs as the textbook does (this default shows the raw state slots)."""
        label = self.label or type(self).__name__
        return f"{label} step", {slot: arrays[name] for slot, arrays in self.state.items()}

    # -- internals ----------------------------------------------------------------------------
    def _slots(self) -> tuple[str, ...]:
        """The state slots this instance keeps (plain SGD keeps none)."""
        return self.SLOTS

    def _allocate(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        """Make zeroed state arrays (or adopt loaded ones) and one scratch buffer per parameter.

        Runs at the first step, or when the parameter names change (a new model)."""
        missing = sorted(set(params) - set(grads))
        if missing:
            raise ValueError(f"No gradient for parameter(s) {missing}; run backward() first.")
        self._check_loaded_state(params)
        self._scratch = {name: np.empty_like(p) for name, p in params.items()}
        for slot in self._slots():
            loaded = self.state[slot]
            self.state[slot] = {
                name: np.zeros_like(p)
                if loaded.get(name) is None
                else loaded[name].astype(p.dtype, copy=False)  # loaded: keep its values
                for name, p in params.items()
            }
        self._arrays = None

    def _check_loaded_state(self, params: dict[str, np.ndarray]) -> None:
        """Loaded state arrays must have their parameters' shapes."""
        for slot in self._slots():
            for name, existing in self.state[slot].items():
                if name in params and existing.shape != params[name].shape:
                    raise ValueError(
                        f"The optimizer state for {name!r} has shape {existing.shape} but the "
                        f"parameter has shape {params[name].shape}: it belongs to another "
                        "model. Use a new optimizer for this model."
                    )

    def _update(self, params, grads, state, spares) -> None:
        """One step: update ``params`` in place from ``grads``, with the state arrays
        ``state[slot][name]`` and the scratch arrays ``spares[name]`` (all dicts with the
        same names: the parameters', or the single flat buffer's)."""
        raise NotImplementedError

    def _slot_decay(self, slot: str) -> float:
        """The factor a state slot is multiplied by at each step (0 when it does not decay)."""
        return 0.0

    def _flush_tiny_state(self) -> None:
        """Set state values that have decayed to almost nothing to exactly 0.

        A moment whose gradient stays exactly 0 (a dead ReLU unit, an always-black MNIST pixel)
        only shrinks, geometrically, and reaches the subnormal floats (below 1.2e-38 in
        float32), where x86 arithmetic is tens of times slower: without this, Adam's time per
        step doubled within three MNIST epochs. A slot decaying by d per step is swept every
        k = log(1e8) / -log(d) steps for values under ``tiny * 1e8``: anything above that
        cannot get subnormal before the next sweep. Zeroing a value under 1e-30 changes no
        update measurably, and the sweep depends only on the step count, so resumed runs
        stay identical.
        """
        state = self._arrays.state if self._arrays is not None else self.state
        for slot, arrays in state.items():
            every = _sweep_interval(self._slot_decay(slot))
            if not every or self.iterations % every:
                continue
            for array in arrays.values():
                limit = np.finfo(array.dtype).tiny * 1e8
                np.copyto(array, 0, where=np.abs(array) < limit)

    def _with_coupled_decay(self, p: np.ndarray, g: np.ndarray, scratch: np.ndarray):
        """The gradient plus the L2 term ``weight_decay * p`` (in ``scratch``; ``g`` untouched)."""
        if not self.weight_decay:
            return g
        np.multiply(p, self.weight_decay, out=scratch)
        scratch += g
        return scratch


@functools.cache
def _sweep_interval(decay: float) -> int:
    """Steps between two sweeps for tiny values of a state slot decaying by ``decay`` per
    step (see ``_flush_tiny_state``); 0 when it does not decay. Cached: asked at every step."""
    if not 0.0 < decay < 1.0:
        return 0
    return max(1, int(math.log(1e8) / -math.log(decay)))


#: The one name the flat buffers go by in the dicts ``_update`` is given.
FLAT = "all"


class _UpdateArrays:
    """The dicts an optimizer's ``_update`` works on, for the parameter and gradient arrays
    of the steps they were chosen for: those arrays themselves or — when the weights and the
    gradients each tile one flat buffer, as a built Sequential's do (engine/flat.py) — the
    two buffers, with the state and scratch arrays as views of flat buffers laid out alike.
    Then a step is about ten NumPy calls in all instead of about ten per array."""

    def __init__(self, members, params, grads, state, spares):
        self._members = members
        self.params, self.grads, self.state, self.spares = params, grads, state, spares

    @classmethod
    def choose(cls, optimizer, params, grads) -> _UpdateArrays:
        """Flat buffers when the arrays tile them, else the arrays; the optimizer's state
        keeps its values (a flat state buffer starts as a copy of the arrays it replaces)."""
        grads = {name: grads[name] for name in params}  # in the parameters' order
        members = tuple(params), tuple(params.values()), tuple(grads.values())
        flat_params, flat_grads = flat_base(list(members[1])), flat_base(list(members[2]))
        if flat_params is None or flat_grads is None or not same_layout(*members[1:]):
            return cls(members, params, grads, optimizer.state, optimizer._scratch)
        state = {}
        for slot, arrays in optimizer.state.items():
            buffer = np.empty_like(flat_params)
            views = views_like(buffer, params)
            for name, view in views.items():
                view[...] = arrays[name]
            optimizer.state[slot], state[slot] = views, {FLAT: buffer}
        spares = np.empty_like(flat_params)
        optimizer._scratch = views_like(spares, params)
        return cls(members, {FLAT: flat_params}, {FLAT: flat_grads}, state, {FLAT: spares})

    def serves(self, params, grads) -> bool:
        """Whether ``params`` and ``grads`` are still the very arrays these were chosen for
        (a layer that replaced an array, or another model, makes the optimizer choose again)."""
        names, kept_params, kept_grads = self._members
        return (
            len(params) == len(kept_params)
            and all(map(operator.is_, kept_params, params.values()))
            and all(map(operator.is_, kept_grads, map(grads.get, names)))
        )

    def __deepcopy__(self, memo):
        """A copied optimizer chooses again at its first step: the copy's arrays are new."""
        return None
