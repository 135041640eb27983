"""The training doctor: layer health numbers, no false alarms on the shipped presets, and each
warning made to happen on purpose with its kind and its fix."""

import doctest

import numpy as np
import pytest

from nnstudio.engine.fit import fit, health
from nnstudio.engine.fit.health import HealthMonitor
from nnstudio.engine.layers import Dense
from nnstudio.engine.losses import get_loss
from nnstudio.engine.model import Sequential
from nnstudio.engine.optimizers import SGD
from nnstudio.project import list_presets, load_preset
from nnstudio.project.doctor import TrainingDoctor, diagnose
from nnstudio.project.doctor_advice import ADVICE, REMEDIES, FixContext, HealthWarning

MNIST_PRESETS = {"mnist-mlp", "mnist-cnn", "digit-model", "mnist-784-128-10"}


def train(project, epochs, dataset=None, model_hook=None):
    """A short run of ``project`` with the doctor on: (result, doctor)."""
    dataset = dataset or project.load_dataset()
    model = project.build_model(dataset)
    if model_hook is not None:
        model_hook(model)
    config = project.fit_config()
    config.epochs = epochs
    optimizer = project.make_optimizer()
    doctor = TrainingDoctor(optimizer=optimizer)
    result = fit(
        model,
        project.make_loss(),
        optimizer,
        dataset.x_train,
        dataset.y_train,
        config,
        validation_data=dataset.validation_data,
        callbacks=[doctor],
        augment=project.make_augment(dataset),
    )
    return result, doctor


def kinds(result) -> set[str]:
    return {w["kind"] for epoch in result.history for w in epoch["warnings"]}


def warnings_of(result, kind: str) -> list[dict]:
    return [w for w in result.history[-1]["warnings"] if w["kind"] == kind]


def spiral(layers, **training):
    project = load_preset("spiral-mlp")
    project.model = {"layers": layers}
    for key, value in training.items():
        setattr(project.training, key, value)
    return project


def test_doctests():
    assert doctest.testmod(health).failed == 0


# -- the numbers --------------------------------------------------------------------------------


def test_health_numbers_match_what_they_claim():
    rng = np.random.default_rng(0)
    model = Sequential([Dense(6, activation="relu"), Dense(2)], input_shape=(3,), seed=0)
    model.layers[0].params["b"][:3] = -100.0  # three units can never fire
    x = rng.standard_normal((40, 3)).astype(np.float32)
    y = rng.integers(0, 2, 40)
    outputs = model.forward(x, training=True)
    _, grad = get_loss("softmax_crossentropy").value_and_grad(outputs, y)
    model.backward(grad, need_input_grad=False)
    grads = {k: v.copy() for k, v in model.gradients().items()}
    monitor = HealthMonitor(every=1)
    monitor.before_update(model)
    SGD(lr=0.1).step(model.parameters(), model.gradients())
    monitor.after_update(model)
    summary = monitor.epoch_summary()
    first = summary["0 Dense"]
    assert first["dead_fraction"] == pytest.approx(0.5)
    grad_norm = np.sqrt(sum(np.sum(grads[k] ** 2) for k in ("0.W", "0.b")))
    assert first["grad_norm"] == pytest.approx(grad_norm, rel=1e-5)
    weights = np.sqrt(sum(np.sum(model.parameters()[k] ** 2) for k in ("0.W", "0.b")))
    assert first["update_ratio"] == pytest.approx(0.1 * grad_norm / weights, rel=1e-4)
    activations = model.layers[0].last_activation()[1]
    assert first["activation_mean"] == pytest.approx(float(activations.mean()), rel=1e-5)
    assert summary["1 Dense"]["dead_fraction"] is None  # linear: cannot die


def test_the_doctor_does_not_change_training():
    project = load_preset("2d-classifier")
    dataset = project.load_dataset()
    weights = []
    for callbacks in ([], [TrainingDoctor(every=1)]):
        model = project.build_model(dataset)
        config = project.fit_config()
        config.epochs = 3
        fit(model, project.make_loss(), project.make_optimizer(), dataset.x_train,
            dataset.y_train, config, callbacks=callbacks)  # fmt: skip
        weights.append(model.state_dict())
    for name, value in weights[0].items():
        np.testing.assert_array_equal(value, weights[1][name])


def test_every_epoch_report_gains_health_and_warnings():
    result, _ = train(load_preset("xor-net"), epochs=2)
    for epoch in result.history:
        assert set(epoch["health"]) == {"0 Dense", "1 Dense"}
        assert epoch["health"]["0 Dense"]["saturated_fraction"] is not None  # tanh
        assert isinstance(epoch["warnings"], list)


# -- no false alarms ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(set(list_presets()) - MNIST_PRESETS))
def test_toy_presets_train_without_warnings(name):
    project = load_preset(name)
    result, doctor = train(project, epochs=min(project.training.epochs, 30))
    assert result.stopped_reason in ("completed", "early_stopping")
    assert kinds(result) == set(), [e["warnings"] for e in result.history if e["warnings"]]
    assert doctor.final_warnings == []


@pytest.mark.parametrize("name", sorted(MNIST_PRESETS & set(list_presets())))
def test_mnist_presets_train_without_warnings(name, mnist_path, monkeypatch):
    monkeypatch.setenv("NNSTUDIO_MNIST_DIR", str(mnist_path))
    project = load_preset(name)
    dataset = project.load_dataset()
    dataset.x_train, dataset.y_train = dataset.x_train[:2000], dataset.y_train[:2000]
    dataset.x_val, dataset.y_val = dataset.x_val[:500], dataset.y_val[:500]
    result, _ = train(project, epochs=2, dataset=dataset)
    assert kinds(result) == set(), [e["warnings"] for e in result.history]


# -- each warning on purpose --------------------------------------------------------------------


def test_a_deep_sigmoid_network_gets_vanishing_gradients():
    layers = [{"type": "Dense", "units": 32, "activation": "sigmoid"}] * 8
    result, _ = train(spiral([*layers, {"type": "Dense", "units": 3}]), epochs=3)
    (warning,) = warnings_of(result, "vanishing_gradient")
    assert "ReLU or BatchNorm" in warning["fix"]
    assert warning["layer"] == "0 Dense"
    assert "smaller than the last layer" in warning["message"]
    assert "sigmoid" in warning["message"]


def test_sigmoid_units_with_huge_weights_are_saturated():
    def blow_up_weights(model):
        model.layers[0].params["W"] *= 200.0

    layers = [
        {"type": "Dense", "units": 32, "activation": "sigmoid"},
        {"type": "Dense", "units": 3},
    ]
    result, _ = train(spiral(layers), epochs=1, model_hook=blow_up_weights)
    (warning,) = warnings_of(result, "saturated")
    assert warning["layer"] == "0 Dense"
    assert "ReLU or BatchNorm" in warning["fix"]


def test_sgd_at_rate_50_blows_up_and_says_the_rate_is_too_high():
    project = spiral(load_preset("spiral-mlp").model["layers"], optimizer="sgd", learning_rate=50.0)
    result, doctor = train(project, epochs=3)
    assert result.stopped_reason == "nan"
    (warning,) = doctor.final_warnings
    assert warning["kind"] == "nan"
    assert "learning rate is too high" in warning["message"]
    assert "at epoch 1, batch" in warning["message"]
    assert "fresh weights" in warning["fix"]
    # SGD's own default rate, in one click with fresh weights (the last ones are damaged).
    assert warning["action"] == "reset_and_lower_lr"
    assert warning["changes"] == {"learning_rate": 0.01}


def test_a_tiny_dataset_with_a_big_network_overfits():
    big = [{"type": "Dense", "units": 256, "activation": "relu"}] * 3
    project = spiral([*big, {"type": "Dense", "units": 3}])
    project.dataset.options.update(samples=60, noise=0.3)
    result, _ = train(project, epochs=100)
    (warning,) = warnings_of(result, "overfitting")
    assert "Dropout" in warning["fix"] and "early stopping" in warning["fix"]
    assert warning["layer"] is None
    assert "validation loss rose" in warning["message"]


def test_relus_killed_by_a_bad_init_are_dead():
    def bad_init(model):
        model.layers[1].params["b"][:] = -20.0  # every unit of layer 1 starts (and stays) off

    result, _ = train(load_preset("spiral-mlp"), epochs=2, model_hook=bad_init)
    dead = warnings_of(result, "dead_relu")
    assert dead[0]["layer"] == "1 Dense"  # (layer 2, fed only zeros, dies with it)
    assert "LeakyReLU" in dead[0]["fix"]
    assert "100%" in dead[0]["message"]
    assert not warnings_of(result, "vanishing_gradient")  # the dead units explain it


# -- the rules on their own ---------------------------------------------------------------------


def row(grad=0.1, ratio=1e-3, activation="relu", **extra):
    return {"activation": activation, "grad_norm": grad, "update_ratio": ratio, **extra}


def test_rules_for_rates_exploding_gradients_and_underfitting():
    history = [{"epoch": e, "loss": 1.0, "val_loss": None, "accuracy": 0.3, "lr": 1e-9}
               for e in range(1, 11)]  # fmt: skip
    tiny = {"0 Dense": row(ratio=1e-8), "1 Dense": row(ratio=1e-8, activation="linear")}
    # Stalled with tiny steps: the rate is too low (once), not a network too small.
    (low,) = diagnose(tiny, history)
    assert low.kind == "lr_too_low" and "stopped falling" in low.explains[0]
    huge = {"0 Dense": row(ratio=0.9), "1 Dense": row(activation="linear")}
    (high,) = [w for w in diagnose(huge, history[:1]) if w.kind == "lr_too_high"]
    assert "90%" in high.message and high.fix == ADVICE["lr_too_high"].text
    steep = {"0 Dense": row(grad=500.0), "1 Dense": row(grad=0.01, activation="linear")}
    (exploding,) = diagnose(steep, history[:1])
    assert exploding.kind == "exploding_gradient" and "clipping" in exploding.fix


def test_warning_dict_has_the_documented_keys():
    warning = HealthWarning("dead_relu", "message", "1 Dense")
    assert warning.to_dict() == {
        "layer": "1 Dense",
        "kind": "dead_relu",
        "message": "message",
        "fix": ADVICE["dead_relu"].text,
        "action": None,
        "changes": {},
        "explains": [],
        "more": [],
    }


# -- causes before symptoms ---------------------------------------------------------------------

ZERO_RELU = [
    {"type": "Dense", "units": 16, "activation": "relu", "initializer": "zeros"},
    {"type": "Dense", "units": 16, "activation": "relu", "initializer": "zeros"},
    {"type": "Dense", "units": 3, "initializer": "zeros"},
]


def test_a_zero_initialized_network_is_told_its_initializer_first():
    """Lesson 2's start: one warning, naming the initializer, that folds the dead units; no
    step ratio against weights of zero, no "the rate is too high", no "too small"."""
    result, _ = train(spiral(ZERO_RELU, learning_rate=0.01), epochs=3)
    for epoch in result.history:
        (warning,) = epoch["warnings"]
        assert warning["kind"] == "zero_init"
        assert warning["layer"] == "0 Dense"
        assert "all-zero weights" in warning["message"]
        assert warning["action"] == "reinitialize"
        assert warning["changes"] == {"initializer": "he"}
        assert any("never fire" in symptom for symptom in warning["explains"])
        assert all(row["update_ratio"] is None for row in epoch["health"].values())
        assert epoch["health"]["0 Dense"]["zero_weights"] is True


def test_units_that_start_as_copies_are_named_symmetric():
    def constant_start(model):
        for layer in model.layers[:2]:
            layer.params["W"][:] = 0.1  # every unit the same, not zero

    layers = [{"type": "Dense", "units": 16, "activation": "tanh"}] * 2 + [
        {"type": "Dense", "units": 3}
    ]
    project = spiral(layers)
    project.model["layers"][-1] = {"type": "Dense", "units": 3, "initializer": "zeros"}
    result, _ = train(project, epochs=2, model_hook=constant_start)
    (warning,) = result.history[-1]["warnings"]
    assert warning["kind"] == "symmetric_init"
    assert "same weights" in warning["message"]
    assert warning["action"] == "reinitialize"
    assert result.history[-1]["health"]["0 Dense"]["identical_units"] is True


def test_a_healthy_network_has_no_zero_or_symmetric_layers():
    result, _ = train(load_preset("spiral-mlp"), epochs=1)
    for row in result.history[0]["health"].values():
        assert row["zero_weights"] in (False, None) and row["identical_units"] in (False, None)


def test_adam_at_rate_10_is_a_blow_up_that_folds_the_dead_units():
    """The loss jumps far above its start and the jump kills most ReLU units: the doctor says
    blow-up (not "use LeakyReLU") and offers fresh weights at Adam's own rate."""
    project = load_preset("2d-classifier")
    project.training.optimizer, project.training.learning_rate = "adam", 10.0
    result, _ = train(project, epochs=3)
    assert result.stopped_reason == "completed"  # no NaN: the loss came back down, dead
    for epoch in result.history:
        (warning,) = epoch["warnings"]
        assert warning["kind"] == "blow_up"
        assert "blew up" in warning["message"] and "epoch 1" in warning["message"]
        assert warning["action"] == "reset_and_lower_lr"
        assert warning["changes"] == {"learning_rate": 0.001}
    assert any("never fire" in s for s in result.history[-1]["warnings"][0]["explains"])


def test_vanishing_gradients_without_sigmoid_offer_no_switch_to_relu():
    """A LeakyReLU network told "Switch to ReLU" would be sent back where it came from."""
    leaky = {
        "0 Dense": row(grad=1e-9, activation="leaky_relu"),
        "1 Dense": row(grad=1.0, activation="linear"),
    }
    (warning,) = diagnose(leaky, [{"epoch": 1, "loss": 1.0, "lr": 0.01}])
    assert warning.kind == "vanishing_gradient"
    assert warning.action is None and "BatchNorm" in warning.fix
    sigmoid = dict(leaky, **{"0 Dense": row(grad=1e-9, activation="sigmoid")})
    (warning,) = diagnose(sigmoid, [{"epoch": 1, "loss": 1.0, "lr": 0.01}])
    assert warning.action == "switch_to_relu"


def test_each_kind_offers_fixes_from_the_catalog():
    history = [{"epoch": 1, "loss": 1.0, "lr": 0.01}]
    for kind in ADVICE:
        warning = HealthWarning(kind, "m").prescribe(FixContext(0.01))
        for action in [warning.action] + [fix["action"] for fix in warning.more]:
            assert action is None or action in REMEDIES, kind
    assert diagnose({}, history) == []


# -- each fix, end to end: provoke, fix, train, gone --------------------------------------------


def fixed(project, warning):
    return REMEDIES[warning["action"]].apply_to(project, warning["changes"])


def test_reinitialize_fixes_a_zero_initialized_network():
    project = spiral(ZERO_RELU, learning_rate=0.01)
    project.dataset.options.update(samples=300)
    result, _ = train(project, epochs=2)
    (warning,) = result.history[-1]["warnings"]
    project = fixed(project, warning)
    assert [layer["initializer"] for layer in project.model["layers"]] == ["he"] * 3
    result, _ = train(project, epochs=40)
    assert kinds(result) == set()
    assert result.history[-1]["accuracy"] > 0.6  # three spiral arms: 33 % is a guess


def test_reset_and_lower_rate_recovers_from_an_adam_blow_up():
    project = load_preset("2d-classifier")
    project.training.optimizer, project.training.learning_rate = "adam", 10.0
    result, _ = train(project, epochs=2)
    (warning,) = result.history[-1]["warnings"]
    project = fixed(project, warning)
    assert project.training.learning_rate == 0.001
    result, _ = train(project, epochs=20)
    assert kinds(result) == set()
    assert result.history[-1]["val_accuracy"] > 0.9


def test_switch_to_relu_fixes_vanishing_gradients():
    layers = [{"type": "Dense", "units": 32, "activation": "sigmoid"}] * 8
    project = spiral([*layers, {"type": "Dense", "units": 3}])
    result, _ = train(project, epochs=2)
    (warning,) = warnings_of(result, "vanishing_gradient")
    project = fixed(project, warning)
    assert {layer.get("activation") for layer in project.model["layers"][:8]} == {"relu"}
    result, _ = train(project, epochs=3)
    assert "vanishing_gradient" not in kinds(result)


def test_raise_lr_sets_ten_times_the_rate():
    history = [{"epoch": e, "loss": 1.0, "val_loss": None, "accuracy": 0.3, "lr": 1e-9}
               for e in range(1, 4)]  # fmt: skip
    tiny = {"0 Dense": row(ratio=1e-8), "1 Dense": row(ratio=1e-8, activation="linear")}
    (warning,) = diagnose(tiny, history)
    assert (warning.kind, warning.action, warning.changes) == (
        "lr_too_low",
        "raise_lr",
        {"learning_rate": 1e-8},
    )
    project = fixed(load_preset("2d-classifier"), warning.to_dict())
    assert project.training.learning_rate == 1e-8


def test_overfitting_fixes_change_the_project():
    warning = HealthWarning("overfitting", "m").prescribe(FixContext(0.01))
    project = load_preset("spiral-mlp")
    with_dropout = fixed(project, warning.to_dict())
    hidden = len(project.model["layers"]) - 1  # a Dropout(0.5) after each hidden layer
    kinds_now = [layer["type"] for layer in with_dropout.model["layers"]]
    assert kinds_now == ["Dense", "Dropout"] * hidden + ["Dense"]
    assert with_dropout.model["layers"][1] == {"type": "Dropout", "rate": 0.5}
    assert fixed(with_dropout, warning.to_dict()).model == with_dropout.model  # not twice
    (early,) = warning.more
    assert (
        REMEDIES[early["action"]].apply_to(project, early["changes"]).training.early_stopping == 10
    )


def test_a_run_that_goes_on_after_a_blow_up_is_still_told_about_it():
    """Train again without the fix: the same damaged weights, the same cause (not "dead ReLU
    units, use LeakyReLU" because this part of the run started from the damage)."""
    project = load_preset("2d-classifier")
    project.training.optimizer, project.training.learning_rate = "adam", 10.0
    dataset = project.load_dataset()
    model, optimizer = project.build_model(dataset), project.make_optimizer()
    config = project.fit_config()
    config.epochs = 2
    first = fit(model, project.make_loss(), optimizer, dataset.x_train, dataset.y_train, config,
                callbacks=[TrainingDoctor(optimizer=optimizer)])  # fmt: skip
    config.epochs = 4
    doctor = TrainingDoctor(optimizer=optimizer, earlier=first.history)
    more = fit(model, project.make_loss(), optimizer, dataset.x_train, dataset.y_train, config,
               callbacks=[doctor], initial_epoch=2, history=first.history)  # fmt: skip
    (warning,) = more.history[-1]["warnings"]
    assert warning["kind"] == "blow_up" and warning["action"] == "reset_and_lower_lr"


def test_mass_unit_death_right_after_a_smaller_spike_is_a_blow_up_too():
    """Adam at 0.3 on the spiral: the loss jumps 7.5× in epoch 1 and most ReLU units die in
    it; the cause is the jump (reset and a safe rate), not "use LeakyReLU"."""
    project = load_preset("spiral-mlp")
    project.training.optimizer, project.training.learning_rate = "adam", 0.3
    result, _ = train(project, epochs=3)
    (warning,) = result.history[-1]["warnings"]
    assert warning["kind"] == "blow_up" and "died" in warning["message"]
    assert warning["action"] == "reset_and_lower_lr"
    assert any("never fire" in symptom for symptom in warning["explains"])


OPPOSITE = {
    "halve_lr": "raise_lr",
    "raise_lr": "halve_lr",
    "switch_to_relu": "switch_to_leaky_relu",
    "switch_to_leaky_relu": "switch_to_relu",
}


def offered(result) -> set[str]:
    """Every action the run's warnings offered."""
    warnings = [w for epoch in result.history for w in epoch["warnings"]]
    return {w["action"] for w in warnings} | {f["action"] for w in warnings for f in w["more"]}


@pytest.mark.parametrize(
    ("lr", "kind", "action"),
    [
        (3.0, "lr_too_high", "halve_lr"),
        (3.0, "dead_relu", "switch_to_leaky_relu"),
        (1e-6, "lr_too_low", "raise_lr"),
    ],
)
def test_a_fixs_result_never_asks_for_the_opposite_fix(lr, kind, action):
    """SGD on the circle at a rate too high or too low: provoke, fix, train again. The next
    run's advice may go further the same way (raise again), never back."""
    project = load_preset("2d-classifier")
    project.training.optimizer, project.training.learning_rate = "sgd", lr
    result, _ = train(project, epochs=4)
    warning = next(w for e in result.history for w in e["warnings"] if w["kind"] == kind)
    fix = next(f for f in [warning, *warning["more"]] if f["action"] == action)
    result, _ = train(REMEDIES[action].apply_to(project, fix["changes"]), epochs=10)
    assert OPPOSITE[action] not in offered(result)
    assert "underfitting" not in kinds(result)  # a rate that is off is not "too small"


def test_halving_a_rate_too_high_leaves_a_quiet_run_that_learns_more():
    project = load_preset("2d-classifier")
    project.training.optimizer, project.training.learning_rate = "sgd", 3.0
    before, _ = train(project, epochs=10)
    (warning,) = warnings_of(before, "lr_too_high") or before.history[0]["warnings"][:1]
    assert warning["action"] == "halve_lr" and warning["changes"] == {"learning_rate": 1.5}
    after, _ = train(REMEDIES["halve_lr"].apply_to(project, warning["changes"]), epochs=10)
    assert kinds(after) == set()
    assert after.history[-1]["val_accuracy"] > before.history[-1]["val_accuracy"]


@pytest.fixture(scope="module")
def overfitting_run():
    """Lesson 12's start (256-unit layers, 150 epochs, 140 noisy moons): it overfits."""
    from nnstudio.project.lessons import load_lessons, set_up

    project = set_up(next(lesson for lesson in load_lessons()[0] if lesson.id == "dropout"))
    result, _ = train(project, epochs=150)
    (warning,) = warnings_of(result, "overfitting")
    return project, result, warning


@pytest.mark.slow  # 150 epochs of 256-unit layers, twice
def test_add_dropout_fixes_an_overfitting_network(overfitting_run):
    project, before, warning = overfitting_run
    assert warning["action"] == "add_dropout"
    fixed = REMEDIES["add_dropout"].apply_to(project, warning["changes"])
    assert [layer["type"] for layer in fixed.model["layers"]] == [
        "Dense", "Dropout", "Dense", "Dropout", "Dense",
    ]  # fmt: skip
    after, _ = train(fixed, epochs=150)
    assert "overfitting" not in kinds(after)
    assert after.history[-1]["val_loss"] < 0.4 < before.history[-1]["val_loss"]


@pytest.mark.slow  # 150 epochs of 256-unit layers, twice
def test_early_stopping_ends_the_run_before_it_overfits(overfitting_run):
    project, _before, warning = overfitting_run
    (early,) = warning["more"]
    fixed = REMEDIES[early["action"]].apply_to(project, early["changes"])
    after, _ = train(fixed, epochs=150)
    assert after.stopped_reason == "early_stopping" and len(after.history) < 150
    assert "overfitting" not in kinds(after)


def test_zero_weights_under_sigmoid_become_copies_and_are_named_symmetric():
    """sigmoid(0) = 0.5 is not 0: the zero layers move, but every unit the same way, so the
    doctor names the symmetry; the fix picks Glorot or He per layer ("auto") for sigmoid."""
    zero_sigmoid = [{"type": "Dense", "units": 16, "activation": "sigmoid", "initializer": "zeros"}]
    project = spiral(zero_sigmoid * 2 + [{"type": "Dense", "units": 3, "initializer": "zeros"}])
    result, _ = train(project, epochs=2)
    (warning,) = result.history[-1]["warnings"]
    assert warning["kind"] == "symmetric_init" and "layers 0–1" in warning["message"]
    assert (warning["action"], warning["changes"]) == ("reinitialize", {"initializer": "auto"})
    fixed = REMEDIES[warning["action"]].apply_to(project, warning["changes"])
    assert {layer["initializer"] for layer in fixed.model["layers"]} == {"auto"}
    after, _ = train(fixed, epochs=2)
    assert not {"symmetric_init", "zero_init"} & kinds(after)


def _naive_trends(history: list[dict]) -> tuple:
    """The fit rules' figures computed from the whole history, as they were at every epoch."""
    from nnstudio.project.doctor_rules import OVERFIT_WINDOW as W

    losses = [(h["loss"], i) for i, h in enumerate(history) if h.get("loss") is not None]
    peak = max(losses, key=lambda pair: pair[0]) if losses else None
    val = [h.get("val_loss") for h in history]
    if None in val or len(val) < W:
        return peak, None, None
    means = [sum(val[i - W : i]) / W for i in range(W, len(val) + 1)]
    train = [sum([h["loss"] for h in history][i - W : i]) / W for i in range(W, len(val) + 1)]
    best = min(range(len(means)), key=means.__getitem__)
    return peak, (means[-1], means[best], train[-1], train[best]), best


@pytest.mark.parametrize("seed", range(6))
def test_epoch_trends_kept_one_epoch_at_a_time_equal_a_scan_of_the_whole_history(seed):
    from nnstudio.project.doctor_rules import EpochTrends

    rng = np.random.default_rng(seed)
    values = np.round(rng.random(60), 1)  # rounded: ties in the peak and the best mean
    history = [
        {"epoch": i + 1, "loss": float(v), "val_loss": float(v) / 2} for i, v in enumerate(values)
    ]
    if seed % 3 == 1:
        history[7]["val_loss"] = None  # one epoch without validation: no overfitting rule
    if seed % 3 == 2:
        history[11]["loss"] = float("nan")
    trends = EpochTrends()
    for end, epoch in enumerate(history, start=1):
        trends.add(epoch)
        peak, means, best = _naive_trends(history[:end])
        assert trends.peak == peak or (peak[0] != peak[0] and trends.peak[1] == peak[1])
        if means is None:
            assert not trends.val_complete or trends.count < trends.window
            continue
        assert trends.best == best
        got = (trends.val_means[-1], trends.val_means[best], trends.train_means[-1])
        np.testing.assert_equal(got + (trends.train_means[best],), means)  # NaN equals NaN


def test_the_doctor_diagnoses_an_overfitting_run_the_same_with_kept_trends():
    from nnstudio.project.doctor_rules import EpochTrends

    history = [
        {"epoch": e, "loss": 1.0 / e, "val_loss": 0.5 if e < 10 else 0.5 + 0.05 * (e - 10)}
        for e in range(1, 31)
    ]
    kept = diagnose({}, history, trends=EpochTrends.of(history))
    scanned = diagnose({}, history)
    assert [w.kind for w in kept] == [w.kind for w in scanned] == ["overfitting"]
    assert kept[0].message == scanned[0].message and "around epoch 5" in kept[0].message
