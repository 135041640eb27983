"""Optimizers: one-step (and two-step) updates checked against values worked out by hand."""

import doctest
import json
import math

import numpy as np
import pytest

from nnstudio.engine import optimizers
from nnstudio.engine.optimizers import (
    SGD,
    Adam,
    AdamW,
    RMSprop,
    clip_by_global_norm,
    get_optimizer,
    global_norm,
)


def one(value):
    """A one-weight parameter dict in float64, so hand-computed values compare tightly."""
    return {"w": np.array([value], dtype=np.float64)}


def run(optimizer, start, gradients):
    params = one(start)
    for g in gradients:
        optimizer.step(params, one(g))
    return float(params["w"][0])


def test_docstring_examples_run():
    assert doctest.testmod(optimizers).failed == 0


# -- SGD ------------------------------------------------------------------------------------


def test_sgd_plain_step():
    # p = 1 - 0.1 * 0.5
    assert run(SGD(lr=0.1), 1.0, [0.5]) == pytest.approx(0.95)


def test_sgd_momentum_two_steps():
    # v1 = 1, p1 = 1 - 0.1 = 0.9; v2 = 0.9 * 1 + 1 = 1.9, p2 = 0.9 - 0.19 = 0.71
    assert run(SGD(lr=0.1, momentum=0.9), 1.0, [1.0, 1.0]) == pytest.approx(0.71)


def test_sgd_nesterov_two_steps():
    # v1 = 1, step = g + 0.9 v1 = 1.9 -> p1 = 1 - 0.19 = 0.81
    # v2 = 0.9 + 1 = 1.9, step = 1 + 0.9 * 1.9 = 2.71 -> p2 = 0.81 - 0.271 = 0.539
    assert run(SGD(lr=0.1, momentum=0.9, nesterov=True), 1.0, [1.0, 1.0]) == pytest.approx(0.539)


def test_sgd_weight_decay_is_added_to_gradient():
    # g' = 0.5 + 0.1 * 2 = 0.7 -> p = 2 - 0.1 * 0.7 = 1.93
    assert run(SGD(lr=0.1, weight_decay=0.1), 2.0, [0.5]) == pytest.approx(1.93)


def test_sgd_nesterov_with_weight_decay():
    # g' = 0.7, v = 0.7, step = 0.7 + 0.9 * 0.7 = 1.33 -> p = 2 - 0.133 = 1.867
    opt = SGD(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1)
    assert run(opt, 2.0, [0.5]) == pytest.approx(1.867)


# -- RMSprop --------------------------------------------------------------------------------


def test_rmsprop_two_steps():
    # s1 = 0.1 * 4 = 0.4, p1 = 1 - 0.1 * 2 / sqrt(0.4) = 0.683772234
    # s2 = 0.9 * 0.4 + 0.4 = 0.76, p2 = p1 - 0.1 * 2 / sqrt(0.76) = 0.454356500
    opt = RMSprop(lr=0.1, rho=0.9, eps=0.0)
    assert run(opt, 1.0, [2.0]) == pytest.approx(0.683772234)
    assert run(RMSprop(lr=0.1, rho=0.9, eps=0.0), 1.0, [2.0, 2.0]) == pytest.approx(0.4543565)


def test_rmsprop_momentum():
    # b1 = 2 / sqrt(0.4) = 3.16227766; b2 = 0.5 * b1 + 2 / sqrt(0.76) = 3.87529617
    # p = 1 - 0.1 * (b1 + b2) = 0.296242617
    opt = RMSprop(lr=0.1, rho=0.9, eps=0.0, momentum=0.5)
    assert run(opt, 1.0, [2.0, 2.0]) == pytest.approx(0.296242617)


# -- Adam / AdamW ---------------------------------------------------------------------------


def test_adam_first_step_moves_by_lr():
    # m_hat = g and v_hat = g^2 after one step, so the step is lr * g / |g| = lr * sign(g)
    params = {"w": np.array([1.0, 1.0], dtype=np.float32)}
    Adam(lr=0.1).step(params, {"w": np.array([3.0, -0.5], dtype=np.float32)})
    np.testing.assert_allclose(params["w"], [0.9, 1.1], rtol=1e-6)


def test_adam_second_step_by_hand():
    # g1 = 3, g2 = 1, b1 = 0.9, b2 = 0.999, lr = 0.1, eps = 1e-8
    # m2 = 0.9 * 0.3 + 0.1 = 0.37,           m_hat = 0.37 / (1 - 0.81)      = 1.947368421
    # v2 = 0.999 * 0.009 + 0.001 = 0.009991, v_hat = 0.009991 / 0.001999   = 4.997999000
    # step2 = 0.1 * 1.947368421 / (sqrt(4.997999) + 1e-8) = 0.087106 ; p = 1 - 0.1 - step2
    m_hat = 0.37 / 0.19
    v_hat = 0.009991 / (1 - 0.999**2)
    first_step = 0.1 * 3.0 / (3.0 + 1e-8)  # eps makes it a hair under lr
    expected = 1.0 - first_step - 0.1 * m_hat / (math.sqrt(v_hat) + 1e-8)
    assert expected == pytest.approx(0.8128940, abs=1e-6)
    assert run(Adam(lr=0.1), 1.0, [3.0, 1.0]) == pytest.approx(expected, rel=1e-12)


def test_adam_coupled_weight_decay():
    # g' = 1 + 0.5 * 2 = 2 (positive) -> first step moves by lr: 2 - 0.1 = 1.9
    # and a gradient of -1 with decay 0.5 * 2 gives g' = 0: v = 0 -> step 0 / eps = 0
    assert run(Adam(lr=0.1, weight_decay=0.5), 2.0, [1.0]) == pytest.approx(1.9)
    assert run(Adam(lr=0.1, weight_decay=0.5), 2.0, [-1.0]) == pytest.approx(2.0)


def test_adamw_decoupled_weight_decay():
    # p = 2 * (1 - 0.1 * 0.5) - 0.1 * sign(g) = 1.9 - 0.1 = 1.8, whatever the gradient size
    assert run(AdamW(lr=0.1, weight_decay=0.5), 2.0, [7.0]) == pytest.approx(1.8)
    assert AdamW().weight_decay == 0.01


def adam_reference(p, grads, lr, b1, b2, eps):
    """Textbook Adam in float64, to check the rescaled in-place version over many steps."""
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        p = p - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
    return p


def test_adam_matches_textbook_formula_over_many_steps():
    rng = np.random.default_rng(1)
    start = rng.standard_normal((4, 3))
    grads = [rng.standard_normal((4, 3)) for _ in range(20)]
    params = {"w": start.copy()}
    opt = Adam(lr=0.01, beta1=0.8, beta2=0.99, eps=1e-6)
    for g in grads:
        opt.step(params, {"w": g})
    expected = adam_reference(start, grads, 0.01, 0.8, 0.99, 1e-6)
    np.testing.assert_allclose(params["w"], expected, rtol=1e-10, atol=1e-12)


# -- shared behaviour -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "optimizer",
    [
        SGD(lr=0.1),
        SGD(lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3),
        RMSprop(momentum=0.9),
        Adam(),
        AdamW(),
    ],
    ids=repr,
)
def test_update_is_in_place_float32_and_allocates_state_once(optimizer):
    rng = np.random.default_rng(0)
    params = {"0.W": rng.standard_normal((5, 4)).astype(np.float32), "0.b": np.zeros(4, np.float32)}
    before = dict(params)
    grads = {name: np.ones_like(array) for name, array in params.items()}
    optimizer.step(params, grads)
    state_arrays = [id(a) for arrays in optimizer.state.values() for a in arrays.values()]
    original = params["0.W"].copy()
    optimizer.step(params, grads)
    for name in params:
        assert params[name] is before[name]  # updated in place: the model keeps its arrays
        assert params[name].dtype == np.float32  # no silent upcast to float64
    assert not np.array_equal(params["0.W"], original)
    assert [id(a) for arrays in optimizer.state.values() for a in arrays.values()] == state_arrays
    np.testing.assert_array_equal(grads["0.W"], 1.0)  # gradients are left as they were


@pytest.mark.parametrize(
    "make",
    [
        lambda: SGD(lr=0.05, momentum=0.9, nesterov=True),
        lambda: RMSprop(lr=0.01, momentum=0.5, weight_decay=0.01),
        lambda: Adam(lr=0.01),
        lambda: AdamW(lr=0.01, clip_norm=1.0),
    ],
)
def test_state_dict_resumes_exactly(make):
    rng = np.random.default_rng(3)
    grads = [{"0.W": rng.standard_normal((3, 2)).astype(np.float32)} for _ in range(6)]
    start = rng.standard_normal((3, 2)).astype(np.float32)

    straight = {"0.W": start.copy()}
    opt = make()
    for g in grads:
        opt.step(straight, {k: v.copy() for k, v in g.items()})

    resumed = {"0.W": start.copy()}
    first = make()
    for g in grads[:3]:
        first.step(resumed, {k: v.copy() for k, v in g.items()})
    state = first.state_dict()
    scalars = {k: v for k, v in state.items() if not isinstance(v, np.ndarray)}
    json.dumps(scalars)  # the scalar part must fit in a JSON file
    second = make()
    second.lr = 123.0  # overwritten by the loaded state
    second.load_state_dict(state)
    assert second.iterations == 3
    for g in grads[3:]:
        second.step(resumed, {k: v.copy() for k, v in g.items()})
    np.testing.assert_array_equal(resumed["0.W"], straight["0.W"])


def test_state_dict_copies_arrays():
    opt = Adam()
    params = one(1.0)
    opt.step(params, one(1.0))
    state = opt.state_dict()
    state["m.w"][:] = 99
    assert opt.state["m"]["w"][0] != 99


def test_load_state_of_other_optimizer_type_fails():
    with pytest.raises(ValueError, match="for Adam, not SGD"):
        SGD().load_state_dict(Adam().state_dict())


def test_lr_change_between_steps_takes_effect():
    opt = SGD(lr=0.1)
    params = one(1.0)
    opt.step(params, one(1.0))
    opt.lr = 0.5
    opt.step(params, one(1.0))
    assert params["w"][0] == pytest.approx(1.0 - 0.1 - 0.5)


def test_clip_by_global_norm():
    grads = {"a": np.array([3.0]), "b": np.array([4.0])}
    assert global_norm(grads) == 5.0
    assert clip_by_global_norm(grads, 1.0) == 5.0
    np.testing.assert_allclose([grads["a"][0], grads["b"][0]], [0.6, 0.8])
    small = {"a": np.array([0.3])}
    clip_by_global_norm(small, 1.0)
    assert small["a"][0] == 0.3  # under the limit: untouched


def test_optimizer_clip_norm_scales_update():
    opt = SGD(lr=1.0, clip_norm=1.0)
    params = {"w": np.zeros(2)}
    opt.step(params, {"w": np.array([3.0, 4.0])})
    np.testing.assert_allclose(params["w"], [-0.6, -0.8])
    assert opt.last_grad_norm == 5.0


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: SGD(lr=-1), "SGD lr must be >= 0; got -1. Try 0.01"),
        (lambda: SGD(lr=float("nan")), "lr"),
        (lambda: SGD(lr="fast"), "lr must be a number; got 'fast'"),
        (lambda: SGD(momentum=1.5), "momentum must be in \\[0, 1\\); got 1.5"),
        (lambda: SGD(nesterov=True), "nesterov=True needs momentum > 0"),
        (lambda: Adam(beta1=1.0), "beta1 must be in \\[0, 1\\); got 1.0"),
        (lambda: Adam(beta2=-0.1), "beta2"),
        (lambda: RMSprop(eps=-1e-8), "eps"),
        (lambda: AdamW(weight_decay=-0.01), "weight_decay"),
        (lambda: Adam(clip_norm=0), "clip_norm must be > 0 or None"),
    ],
)
def test_bad_settings_fail_at_once_naming_the_value(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_get_optimizer_by_name():
    opt = get_optimizer("AdamW", lr=0.01)
    assert isinstance(opt, AdamW) and opt.lr == 0.01
    assert isinstance(get_optimizer("sgd"), SGD)
    assert get_optimizer("rmsprop").get_config()["type"] == "RMSprop"
    rebuilt = get_optimizer(opt.get_config().pop("type"), **opt.settings())
    assert rebuilt.settings() == opt.settings()


def test_get_optimizer_unknown_name_and_setting():
    with pytest.raises(ValueError, match="Could not interpret optimizer 'adma'. Known: sgd"):
        get_optimizer("adma")
    with pytest.raises(ValueError, match="Known settings: lr, beta1"):
        get_optimizer("adam", momentum=0.9)


def test_missing_gradient_is_reported():
    with pytest.raises(ValueError, match=r"No gradient for parameter\(s\) \['0.b'\]"):
        SGD().step({"0.W": np.zeros(1), "0.b": np.zeros(1)}, {"0.W": np.zeros(1)})


def test_repr_shows_settings():
    assert repr(SGD(lr=0.1, momentum=0.9)).startswith("SGD(lr=0.1, momentum=0.9")


def test_state_of_another_model_is_refused():
    opt = Adam()
    opt.step({"w": np.zeros(3)}, {"w": np.ones(3)})
    state = opt.state_dict()
    other = Adam()
    other.load_state_dict(state)
    with pytest.raises(ValueError, match="state for 'w' has shape \\(3,\\) but the parameter"):
        other.step({"w": np.zeros(4)}, {"w": np.ones(4)})


def test_new_parameter_names_get_fresh_state():
    opt = SGD(lr=0.1, momentum=0.9)
    opt.step({"a": np.zeros(2)}, {"a": np.ones(2)})
    params = {"b": np.zeros(2)}
    opt.step(params, {"b": np.ones(2)})
    opt.step(params, {"b": np.ones(2)})
    assert set(opt.state["velocity"]) == {"b"} and set(opt._scratch) == {"b"}
    np.testing.assert_allclose(params["b"], [-0.29, -0.29])  # 0.1 * (1 + 1.9)


# -- subnormal moments ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "optimizer",
    [SGD(lr=0.01, momentum=0.9), RMSprop(rho=0.9, momentum=0.9), Adam(beta2=0.9), AdamW()],
    ids=repr,
)
def test_moments_of_weights_without_gradient_go_to_zero_not_subnormal(optimizer):
    # One real gradient, then zeros (a dead unit): 0.9**850 ~ 1e-39 would be a subnormal
    # float32, which makes every later step on that array tens of times slower on x86.
    params = {"w": np.ones(3, dtype=np.float32)}
    optimizer.step(params, {"w": np.array([1.0, 0.5, 0.0], dtype=np.float32)})
    zero = {"w": np.zeros(3, dtype=np.float32)}
    tiny = np.finfo(np.float32).tiny
    for _ in range(900):
        optimizer.step(params, zero)
        for arrays in optimizer.state.values():
            values = np.abs(arrays["w"])
            assert not np.any((values > 0) & (values < tiny)), optimizer.iterations
    first_moment = next(iter(optimizer.state.values()))["w"]
    assert np.all(first_moment == 0)


def test_flushing_leaves_ordinary_moments_alone():
    flushed, reference = Adam(lr=0.01), Adam(lr=0.01)
    rng = np.random.default_rng(3)
    p1 = {"w": rng.standard_normal(50).astype(np.float32)}
    p2 = {"w": p1["w"].copy()}
    for _ in range(400):  # crosses several sweeps of m (every 174 steps)
        g = {"w": rng.standard_normal(50).astype(np.float32)}
        flushed.step(p1, g)
        # The textbook step, without the sweep.
        reference.iterations += 1
        if not reference._scratch:
            reference._allocate(p2, g)
        reference._update(p2, g, reference.state, reference._scratch)
    np.testing.assert_array_equal(p1["w"], p2["w"])
    np.testing.assert_array_equal(flushed.state["v"]["w"], reference.state["v"]["w"])


# -- the textbook's account of a step --------------------------------------------------------


@pytest.mark.parametrize("cls", [Adam, AdamW])
def test_textbook_moments_are_the_papers_m_and_v(cls):
    """m = Σ (1 − β₁)·β₁^(t−i)·g_i and v likewise, whatever the engine keeps inside."""
    optimizer, gradients = cls(lr=0.01, beta1=0.8, beta2=0.9), [2.0, -1.0, 0.5]
    params = one(1.0)
    for g in gradients:
        optimizer.step(params, one(g))
    m_expected = sum(0.2 * 0.8 ** (2 - i) * g for i, g in enumerate(gradients))
    v_expected = sum(0.1 * 0.9 ** (2 - i) * g * g for i, g in enumerate(gradients))
    m, v = optimizer.textbook_moments("w")
    assert float(m[0]) == pytest.approx(m_expected)
    assert float(v[0]) == pytest.approx(v_expected)


def test_an_optimizer_without_its_own_terms_shows_its_state_slots():
    class Plain(SGD):
        label = "Plain"

        def _own_step_terms(self, name, weight):
            return super(SGD, self)._own_step_terms(name, weight)

    optimizer = Plain(lr=0.1, momentum=0.5)
    optimizer.step(one(1.0), one(2.0))
    terms = optimizer.step_terms("w", np.array([1.0]))
    assert terms.formula == "Plain step" and float(terms.terms["velocity"][0]) == 2.0
