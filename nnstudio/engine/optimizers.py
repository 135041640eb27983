"""Optimizers: SGD (momentum, Nesterov), RMSprop, Adam, AdamW, with gradient clipping by norm.

An optimizer updates a model's parameters in place from its gradients. Both are dicts of
name -> array with the same dotted keys ("0.W", "0.b", ...), as returned by
``Sequential.parameters()`` and ``Sequential.gradients()``:

>>> import numpy as np
>>> params = {"0.W": np.array([1.0, 2.0], dtype=np.float32)}
>>> grads = {"0.W": np.array([0.5, -0.5], dtype=np.float32)}
>>> optimizer = SGD(lr=0.1, momentum=0.9)
>>> optimizer.step(params, grads)
>>> params["0.W"]
array([0.95, 2.05], dtype=float32)

Per-parameter state (momentum buffers, moment estimates) is allocated at the first step and
updated in place afterwards, so a step allocates nothing. ``state_dict()`` returns plain
scalars plus arrays keyed "<slot>.<parameter>" (e.g. "m.0.W"); ``load_state_dict`` restores
it exactly, so training resumes where it stopped.

Scalars are Python floats on purpose: NumPy treats them as "weak" and keeps float32 arrays
float32 (an ``np.float64`` scalar would upcast every update to float64).
"""

from __future__ import annotations

import inspect
import math

import numpy as np

__all__ = [
    "OPTIMIZERS",
    "SGD",
    "Adam",
    "AdamW",
    "Optimizer",
    "RMSprop",
    "clip_by_global_norm",
    "get_optimizer",
    "global_norm",
]


def _non_negative(name: str, value) -> float:
    """Return ``value`` as a float, or fail naming the setting when it is negative or not finite."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number; got {value!r}") from None
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"{name} must be a finite number >= 0; got {value!r}")
    return number


def _fraction(name: str, value) -> float:
    """A decay rate such as beta1 or rho: must be in [0, 1)."""
    number = _non_negative(name, value)
    if number >= 1.0:
        raise ValueError(f"{name} must be in [0, 1); got {value!r}")
    return number


def _positive_or_none(name: str, value) -> float | None:
    if value is None:
        return None
    number = _non_negative(name, value)
    if number == 0:
        raise ValueError(f"{name} must be > 0 or None (no clipping); got {value!r}")
    return number


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


class Optimizer:
    """Base class: settings, learning rate, clipping, lazily allocated per-parameter state.

    Subclasses set ``SLOTS`` (names of their per-parameter state arrays) and implement
    ``_update(params, grads)``.
    """

    name = "optimizer"
    SLOTS: tuple[str, ...] = ()

    def __init__(self, lr: float, weight_decay: float = 0.0, clip_norm: float | None = None):
        self.lr = _non_negative("lr", lr)
        # The learning rate schedules start from; the fit loop keeps it up to date.
        self.base_lr = self.lr
        self.weight_decay = _non_negative("weight_decay", weight_decay)
        self.clip_norm = _positive_or_none("clip_norm", clip_norm)
        self.iterations = 0
        self.last_grad_norm: float | None = None  # before clipping; set only when clipping
        self.state: dict[str, dict[str, np.ndarray]] = {slot: {} for slot in self.SLOTS}
        self._scratch: dict[str, np.ndarray] = {}

    # -- public API ---------------------------------------------------------------------------
    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        """Update ``params`` in place from ``grads`` (same keys)."""
        if self._scratch.keys() != params.keys():
            self._allocate(params, grads)
        if self.clip_norm is not None:
            self.last_grad_norm = clip_by_global_norm(grads, self.clip_norm)
        self.iterations += 1
        self._update(params, grads)
        self._flush_tiny_state()

    def settings(self) -> dict:
        """The constructor arguments, as plain values (``type(self)(**settings)`` rebuilds it)."""
        return {"lr": self.lr, "weight_decay": self.weight_decay, "clip_norm": self.clip_norm}

    def get_config(self) -> dict:
        """Settings plus ``"type"``: what a project or checkpoint file stores."""
        return {"type": type(self).__name__, **self.settings()}

    def state_dict(self) -> dict:
        """Scalars and copies of the state arrays, keyed "<slot>.<parameter>" (e.g. "m.0.W")."""
        state = {
            "type": type(self).__name__,
            **self.settings(),
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
        self.base_lr = _non_negative("base_lr", state.get("base_lr", self.lr))
        self.iterations = int(state.get("iterations", 0))
        for key, value in state.items():
            slot, _, name = key.partition(".")
            if name and slot in self.state and isinstance(value, np.ndarray):
                self.state[slot][name] = np.array(value, copy=True)
        # Scratch buffers follow the loaded state's shapes at the next step.
        self._scratch = {}

    def reset(self) -> None:
        """Forget all state (as a freshly built optimizer with the same settings)."""
        self.iterations = 0
        self.state = {slot: {} for slot in self.SLOTS}
        self._scratch = {}

    def __repr__(self) -> str:
        shown = ", ".join(f"{key}={value!r}" for key, value in self.settings().items())
        return f"{type(self).__name__}({shown})"

    # -- internals ----------------------------------------------------------------------------
    def _allocate(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        """Make zeroed state arrays (or adopt loaded ones) and one scratch buffer per parameter.

        Runs at the first step, or when the parameter names change (a new model)."""
        missing = sorted(set(params) - set(grads))
        if missing:
            raise ValueError(f"No gradient for parameter(s) {missing}; run backward() first.")
        self._scratch = {name: np.empty_like(p) for name, p in params.items()}
        for slot in self.SLOTS:
            loaded = self.state[slot]
            for name, p in params.items():
                existing = loaded.get(name)
                if existing is not None and existing.shape != p.shape:
                    raise ValueError(
                        f"The optimizer state for {name!r} has shape {existing.shape} but the "
                        f"parameter has shape {p.shape}: it belongs to another model. Use a new "
                        "optimizer for this model."
                    )
            self.state[slot] = {
                name: np.zeros_like(p)
                if loaded.get(name) is None
                else loaded[name].astype(p.dtype, copy=False)  # loaded: keep its values
                for name, p in params.items()
            }

    def _update(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
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
        for slot, arrays in self.state.items():
            decay = self._slot_decay(slot)
            if not 0.0 < decay < 1.0:
                continue
            every = max(1, int(math.log(1e8) / -math.log(decay)))
            if self.iterations % every:
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


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, Nesterov momentum and weight decay.

    Same update as PyTorch's ``optim.SGD``:
    ``v = momentum * v + g``; ``p -= lr * v`` (or ``lr * (g + momentum * v)`` with Nesterov),
    where ``g`` includes ``weight_decay * p``.

    >>> p = {"w": np.array([1.0])}
    >>> opt = SGD(lr=0.5, momentum=0.9)
    >>> opt.step(p, {"w": np.array([1.0])}); p["w"]
    array([0.5])
    >>> opt.step(p, {"w": np.array([1.0])}); p["w"]   # v = 0.9 * 1 + 1 = 1.9
    array([-0.45])
    """

    name = "sgd"
    SLOTS = ("velocity",)

    def __init__(
        self,
        lr: float = 0.01,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
        clip_norm: float | None = None,
    ):
        self.momentum = _fraction("momentum", momentum)
        if nesterov and self.momentum == 0:
            raise ValueError("nesterov=True needs momentum > 0; got momentum=0")
        self.nesterov = bool(nesterov)
        self.SLOTS = ("velocity",) if self.momentum else ()  # plain SGD keeps no state
        super().__init__(lr, weight_decay, clip_norm)

    def settings(self) -> dict:
        return {
            "lr": self.lr,
            "momentum": self.momentum,
            "nesterov": self.nesterov,
            "weight_decay": self.weight_decay,
            "clip_norm": self.clip_norm,
        }

    def _slot_decay(self, slot: str) -> float:
        return self.momentum

    def _update(self, params, grads):
        lr, mu = self.lr, self.momentum
        velocity = self.state.get("velocity")
        for name, p in params.items():
            scratch = self._scratch[name]
            g = self._with_coupled_decay(p, grads[name], scratch)
            if velocity is None:
                np.multiply(g, lr, out=scratch)
            else:
                v = velocity[name]
                v *= mu
                v += g
                if not self.nesterov:
                    np.multiply(v, lr, out=scratch)
                elif g is scratch:  # weight decay put g in scratch: add mu * v to it
                    scratch += mu * v
                    scratch *= lr
                else:
                    np.multiply(v, mu, out=scratch)
                    scratch += g
                    scratch *= lr
            p -= scratch


class RMSprop(Optimizer):
    """RMSprop: divide the gradient by a running root mean square of recent gradients.

    ``s = rho * s + (1 - rho) * g**2``; ``p -= lr * g / (sqrt(s) + eps)`` (PyTorch's form),
    with optional momentum on that step.

    >>> p = {"w": np.array([1.0])}
    >>> RMSprop(lr=0.1, rho=0.9, eps=0.0).step(p, {"w": np.array([2.0])})
    >>> p["w"]   # s = 0.1 * 4 = 0.4; step = 0.1 * 2 / sqrt(0.4)
    array([0.68377223])
    """

    name = "rmsprop"
    SLOTS = ("square_avg", "momentum_buffer")

    def __init__(
        self,
        lr: float = 1e-3,
        rho: float = 0.9,
        eps: float = 1e-8,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        clip_norm: float | None = None,
    ):
        self.rho = _fraction("rho", rho)
        self.eps = _non_negative("eps", eps)
        self.momentum = _fraction("momentum", momentum)
        self.SLOTS = ("square_avg", "momentum_buffer") if self.momentum else ("square_avg",)
        super().__init__(lr, weight_decay, clip_norm)

    def settings(self) -> dict:
        return {
            "lr": self.lr,
            "rho": self.rho,
            "eps": self.eps,
            "momentum": self.momentum,
            "weight_decay": self.weight_decay,
            "clip_norm": self.clip_norm,
        }

    def _slot_decay(self, slot: str) -> float:
        return self.rho if slot == "square_avg" else self.momentum

    def _update(self, params, grads):
        lr, rho, eps = self.lr, self.rho, self.eps
        square_avg = self.state["square_avg"]
        buffers = self.state.get("momentum_buffer")
        for name, p in params.items():
            scratch = self._scratch[name]
            g = grads[name]
            if self.weight_decay:  # rare path: a temporary is fine here
                g = g + self.weight_decay * p
            s = square_avg[name]
            s *= rho
            np.multiply(g, g, out=scratch)
            scratch *= 1.0 - rho
            s += scratch
            np.sqrt(s, out=scratch)
            scratch += eps
            np.divide(g, scratch, out=scratch)
            if buffers is not None:
                b = buffers[name]
                b *= self.momentum
                b += scratch
                np.multiply(b, lr, out=scratch)
            else:
                scratch *= lr
            p -= scratch


class Adam(Optimizer):
    """Adam (Kingma & Ba) with bias correction; ``weight_decay`` is coupled L2 (added to g).

    ``m = b1 m + (1-b1) g``, ``v = b2 v + (1-b2) g**2``,
    ``p -= lr * m_hat / (sqrt(v_hat) + eps)`` with ``m_hat = m / (1 - b1**t)``,
    ``v_hat = v / (1 - b2**t)``. The first step moves every weight by about ``lr``:

    >>> p = {"w": np.array([1.0, 1.0], dtype=np.float32)}
    >>> Adam(lr=0.1).step(p, {"w": np.array([3.0, -0.5], dtype=np.float32)})
    >>> p["w"]
    array([0.9, 1.1], dtype=float32)

    For speed the state arrays hold the moments without their (1 - beta) factor
    (``m / (1 - b1)`` and ``v / (1 - b2)``): the update is then two passes for m and three
    for v, and the factors fold into the scalar step size. ``state_dict()`` stores them as kept.
    """

    name = "adam"
    SLOTS = ("m", "v")
    decoupled = False

    def __init__(
        self,
        lr: float = 1e-3,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        clip_norm: float | None = None,
    ):
        self.beta1 = _fraction("beta1", beta1)
        self.beta2 = _fraction("beta2", beta2)
        self.eps = _non_negative("eps", eps)
        super().__init__(lr, weight_decay, clip_norm)

    def settings(self) -> dict:
        return {
            "lr": self.lr,
            "beta1": self.beta1,
            "beta2": self.beta2,
            "eps": self.eps,
            "weight_decay": self.weight_decay,
            "clip_norm": self.clip_norm,
        }

    def _slot_decay(self, slot: str) -> float:
        return self.beta1 if slot == "m" else self.beta2

    def _update(self, params, grads):
        b1, b2, t = self.beta1, self.beta2, self.iterations
        # With M = m / (1-b1) and V = v / (1-b2):
        #   lr * m_hat / (sqrt(v_hat) + eps) = step * M / (sqrt(V) + eps_scaled)
        correction1 = (1.0 - b1) / (1.0 - b1**t)
        correction2 = math.sqrt((1.0 - b2) / (1.0 - b2**t))
        step = self.lr * correction1 / correction2
        eps_scaled = self.eps / correction2
        decay = 1.0 - self.lr * self.weight_decay if self.decoupled else None
        m_all, v_all = self.state["m"], self.state["v"]
        for name, p in params.items():
            scratch = self._scratch[name]
            g = grads[name] if self.decoupled else self._with_coupled_decay(p, grads[name], scratch)
            m, v = m_all[name], v_all[name]
            m *= b1
            m += g
            v *= b2
            if g is scratch:
                np.square(g, out=scratch)
            else:
                np.multiply(g, g, out=scratch)
            v += scratch
            np.sqrt(v, out=scratch)
            scratch += eps_scaled
            np.divide(m, scratch, out=scratch)
            scratch *= step
            if decay is not None and decay != 1.0:
                p *= decay  # AdamW: shrink the weights independently of the gradient
            p -= scratch


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): ``p *= 1 - lr * weight_decay``.

    >>> p = {"w": np.array([1.0])}
    >>> AdamW(lr=0.1, weight_decay=0.5).step(p, {"w": np.array([2.0])})
    >>> p["w"]   # 1 * (1 - 0.05) - 0.1
    array([0.85])
    """

    name = "adamw"
    decoupled = True

    def __init__(
        self,
        lr: float = 1e-3,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.01,
        clip_norm: float | None = None,
    ):
        super().__init__(lr, beta1, beta2, eps, weight_decay, clip_norm)


OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD,
    "rmsprop": RMSprop,
    "adam": Adam,
    "adamw": AdamW,
}


def get_optimizer(name: str, **settings) -> Optimizer:
    """Build an optimizer by name (case-insensitive), e.g. ``get_optimizer("adam", lr=1e-3)``.

    >>> get_optimizer("SGD", lr=0.1, momentum=0.9)
    SGD(lr=0.1, momentum=0.9, nesterov=False, weight_decay=0.0, clip_norm=None)
    """
    if isinstance(name, Optimizer):
        return name
    key = str(name).lower().replace("-", "").replace("_", "")
    if key not in OPTIMIZERS:
        raise ValueError(f"Could not interpret optimizer {name!r}. Known: {', '.join(OPTIMIZERS)}.")
    cls = OPTIMIZERS[key]
    try:
        return cls(**settings)
    except TypeError as error:  # unknown keyword: say which settings exist
        known = list(inspect.signature(cls).parameters)
        raise ValueError(
            f"{cls.__name__} got an unknown setting ({error}). Known settings: {', '.join(known)}."
        ) from None
