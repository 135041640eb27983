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

Each optimizer lists its settings once, in ``SETTINGS`` (label, range, help): the constructor
validates against them and ``get_config()`` writes them, and the Hyperparameters dock builds
its fields from them:

>>> [setting.label for setting in Adam.SETTINGS]
['Learning rate', 'β₁', 'β₂', 'ε', 'Weight decay', 'Clip gradients']

Per-parameter state (momentum buffers, moment estimates) is allocated at the first step and
updated in place afterwards, so a step allocates nothing. ``state_dict()`` returns plain
scalars plus arrays keyed "<slot>.<parameter>" (e.g. "m.0.W"); ``load_state_dict`` restores
it exactly, so training resumes where it stopped.

Scalars are Python floats on purpose: NumPy treats them as "weak" and keeps float32 arrays
float32 (an ``np.float64`` scalar would upcast every update to float64).
"""

from __future__ import annotations

import math

import numpy as np

from nnstudio.engine.optimizer_base import (
    CLIP_NORM,
    EPS,
    WEIGHT_DECAY,
    Optimizer,
    clip_by_global_norm,
    global_norm,
    learning_rate,
)
from nnstudio.engine.settings import Setting

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
    "optimizer_class",
]


def _decay_rate(name: str, default: float, label: str, help: str) -> Setting:
    """A factor kept from one step to the next (momentum, β, ρ): in [0, 1)."""
    return Setting(
        name,
        "float",
        default,
        minimum=0,
        maximum=1,
        exclusive_maximum=True,
        label=label,
        help=help,
    )


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
    label = "SGD"
    TERM_MEANINGS = {"velocity v": "SGD momentum: v = μ·v + g"}
    help = (
        "Plain stochastic gradient descent; with momentum 0.9 a solid baseline. "
        "Good learning rates: 0.01 to 0.1."
    )
    SLOTS = ("velocity",)
    SETTINGS = (
        learning_rate(0.01, "For SGD 0.01 to 0.1."),
        _decay_rate(
            "momentum",
            0.0,
            "Momentum",
            "Keeps a running direction so steps build up speed. 0 = none; 0.9 is typical.",
        ),
        Setting(
            "nesterov",
            "bool",
            False,
            label="Nesterov",
            help="Look-ahead momentum: often converges a little faster. Needs momentum > 0.",
        ),
        WEIGHT_DECAY,
        CLIP_NORM,
    )

    def _check_settings(self):
        if self.nesterov and self.momentum == 0:
            raise ValueError("nesterov=True needs momentum > 0; got momentum=0")

    def _slots(self):
        return self.SLOTS if self.momentum else ()  # plain SGD keeps no state

    def _slot_decay(self, slot: str) -> float:
        return self.momentum

    def _update(self, params, grads, state, spares):
        lr, mu = self.lr, self.momentum
        velocity = state.get("velocity")
        for name, p in params.items():
            scratch = spares[name]
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

    def _own_step_terms(self, name, weight):
        if not self.momentum:
            return "Δw = −lr·g", {}
        velocity = {"velocity v": self.state["velocity"][name]}
        if self.nesterov:
            return "v = μ·v + g;  Δw = −lr·(g + μ·v)", velocity
        return "v = μ·v + g;  Δw = −lr·v", velocity


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
    label = "RMSprop"
    TERM_MEANINGS = {
        "s": "RMSprop's running mean of g²",
        "buffer b": "RMSprop momentum: b = μ·b + g / (√s + ε)",
    }
    help = "Scales each step by the recent size of its gradient. Good learning rate: about 1e-3."
    SLOTS = ("square_avg", "momentum_buffer")
    SETTINGS = (
        learning_rate(1e-3, "For RMSprop about 1e-3."),
        _decay_rate(
            "rho",
            0.9,
            "ρ",
            "Decay of RMSprop's running average of squared gradients. 0.9 is the standard.",
        ),
        EPS,
        _decay_rate(
            "momentum",
            0.0,
            "Momentum",
            "Momentum on RMSprop's scaled steps. 0 (none) is usual; 0.9 can speed it up.",
        ),
        WEIGHT_DECAY,
        CLIP_NORM,
    )

    def _slots(self):
        return self.SLOTS if self.momentum else ("square_avg",)

    def _slot_decay(self, slot: str) -> float:
        return self.rho if slot == "square_avg" else self.momentum

    def _update(self, params, grads, state, spares):
        lr, rho, eps = self.lr, self.rho, self.eps
        square_avg = state["square_avg"]
        buffers = state.get("momentum_buffer")
        for name, p in params.items():
            scratch = spares[name]
            g = grads[name]
            if self.weight_decay:  # rare path: a temporary is fine here
                g = g + self.weight_decay * p
            s = square_avg[name]
            s *= rho
            np.square(g, out=scratch)
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

    def _own_step_terms(self, name, weight):
        terms = {"s": self.state["square_avg"][name]}
        if not self.momentum:
            return "s = ρ·s + (1 − ρ)·g²;  Δw = −lr·g / (√s + ε)", terms
        terms["buffer b"] = self.state["momentum_buffer"][name]
        return "s = ρ·s + (1 − ρ)·g²;  b = μ·b + g / (√s + ε);  Δw = −lr·b", terms


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
    for v, and the factors fold into the scalar step size. ``state_dict()`` stores them as kept;
    ``textbook_moments`` gives m and v as the paper writes them.
    """

    name = "adam"
    label = "Adam"
    TERM_MEANINGS = {
        "m": "Adam's first moment: m = β₁·m + (1 − β₁)·g",
        "v": "Adam's second moment: v = β₂·v + (1 − β₂)·g²",
        "m̂": "m bias-corrected: m / (1 − β₁^t)",
        "v̂": "v bias-corrected: v / (1 − β₂^t)",
        "decay lr·wd·w": "AdamW: lr·weight_decay·w, taken off the weight apart from the gradient",
    }
    help = (
        "Adaptive and forgiving: the usual first choice. Good learning rate: 1e-3 "
        "(up to 1e-2 for tiny 2-D problems)."
    )
    SLOTS = ("m", "v")
    SETTINGS = (
        learning_rate(1e-3, "For Adam 1e-4 to 1e-2; 1e-3 is the usual start."),
        _decay_rate(
            "beta1",
            0.9,
            "β₁",
            "How much of the past gradient direction Adam keeps. 0.9 is almost always right.",
        ),
        _decay_rate(
            "beta2",
            0.999,
            "β₂",
            "How much of the past gradient size Adam keeps. 0.999 is the standard; 0.99 for "
            "noisy problems.",
        ),
        EPS,
        WEIGHT_DECAY,
        CLIP_NORM,
    )
    decoupled = False

    def _slot_decay(self, slot: str) -> float:
        return self.beta1 if slot == "m" else self.beta2

    def _update(self, params, grads, state, spares):
        b1, b2, t = self.beta1, self.beta2, self.iterations
        # With M = m / (1-b1) and V = v / (1-b2):
        #   lr * m_hat / (sqrt(v_hat) + eps) = step * M / (sqrt(V) + eps_scaled)
        correction1 = (1.0 - b1) / (1.0 - b1**t)
        correction2 = math.sqrt((1.0 - b2) / (1.0 - b2**t))
        step = self.lr * correction1 / correction2
        eps_scaled = self.eps / correction2
        decay = 1.0 - self.lr * self.weight_decay if self.decoupled else None
        m_all, v_all = state["m"], state["v"]
        for name, p in params.items():
            scratch = spares[name]
            g = grads[name] if self.decoupled else self._with_coupled_decay(p, grads[name], scratch)
            m, v = m_all[name], v_all[name]
            m *= b1
            m += g
            v *= b2
            np.square(g, out=scratch)  # a unary loop: 20% faster than multiply(g, g)
            v += scratch
            np.sqrt(v, out=scratch)
            scratch += eps_scaled
            np.divide(m, scratch, out=scratch)
            scratch *= step
            if decay is not None and decay != 1.0:
                p *= decay  # AdamW: shrink the weights independently of the gradient
            p -= scratch

    def textbook_moments(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """m and v of parameter ``name`` as the paper defines them (m = β₁·m + (1 − β₁)·g,
        v = β₂·v + (1 − β₂)·g²), from the kept m / (1 − β₁) and v / (1 − β₂).

        >>> opt = Adam(lr=0.1)
        >>> opt.step({"w": np.array([1.0])}, {"w": np.array([2.0])})
        >>> [round(float(moment[0]), 12) for moment in opt.textbook_moments("w")]  # 0.1·2, 0.001·4
        [0.2, 0.004]
        """
        return (
            self.state["m"][name] * (1.0 - self.beta1),
            self.state["v"][name] * (1.0 - self.beta2),
        )

    def _own_step_terms(self, name, weight):
        t, b1, b2 = self.iterations, self.beta1, self.beta2
        m, v = self.textbook_moments(name)
        formula = (
            f"m = β₁·m + (1 − β₁)·g;  v = β₂·v + (1 − β₂)·g²;  m̂ = m / (1 − β₁^{t});  "
            f"v̂ = v / (1 − β₂^{t});  Δw = −lr·m̂ / (√v̂ + ε)"
        )
        terms = {"m": m, "v": v, "m̂": m / (1.0 - b1**t), "v̂": v / (1.0 - b2**t)}
        if self.decoupled:
            formula += ";  then w ← w·(1 − lr·weight_decay)"
            if self.weight_decay:
                terms["decay lr·wd·w"] = self.lr * self.weight_decay * weight
        return formula, terms


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): ``p *= 1 - lr * weight_decay``.

    >>> p = {"w": np.array([1.0])}
    >>> AdamW(lr=0.1, weight_decay=0.5).step(p, {"w": np.array([2.0])})
    >>> p["w"]   # 1 * (1 - 0.05) - 0.1
    array([0.85])
    """

    name = "adamw"
    label = "AdamW"
    help = "Adam with decoupled weight decay. Good learning rate 1e-3, weight decay 0.01."
    SETTINGS = tuple(
        setting.with_default(
            0.01,
            help="Shrinks every weight by lr × weight_decay at each step, apart from the "
            "gradient (decoupled decay): fights overfitting. 0.01 is the usual value.",
        )
        if setting is WEIGHT_DECAY
        else setting
        for setting in Adam.SETTINGS
    )
    decoupled = True


OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD,
    "rmsprop": RMSprop,
    "adam": Adam,
    "adamw": AdamW,
}


def optimizer_class(name: str) -> type[Optimizer]:
    """The optimizer class called ``name``, case and "-"/"_" ignored ("AdamW", "adam_w").

    >>> optimizer_class("AdamW").label
    'AdamW'
    """
    key = str(name).lower().replace("-", "").replace("_", "")
    if key not in OPTIMIZERS:
        raise ValueError(f"Could not interpret optimizer {name!r}. Known: {', '.join(OPTIMIZERS)}.")
    return OPTIMIZERS[key]


def get_optimizer(name: str, **settings) -> Optimizer:
    """Build an optimizer by name (case-insensitive), e.g. ``get_optimizer("adam", lr=1e-3)``.

    Unknown settings fail naming the known ones.

    >>> get_optimizer("SGD", lr=0.1, momentum=0.9)
    SGD(lr=0.1, momentum=0.9, nesterov=False, weight_decay=0.0, clip_norm=None)
    """
    if isinstance(name, Optimizer):
        return name
    return optimizer_class(name)(**settings)
