"""One flat buffer for a model's weights and one for its gradients (engine/flat.py), and the
optimizers' one-call steps over them, which must equal the steps array by array."""

import copy
import doctest

import numpy as np
import pytest

from nnstudio.engine import flat
from nnstudio.engine.flat import flat_base, pack
from nnstudio.engine.losses import get_loss
from nnstudio.engine.model import Sequential
from nnstudio.engine.optimizers import get_optimizer

LAYERS = [
    {"type": "Conv2D", "filters": 3, "kernel_size": 3, "activation": "relu"},
    {"type": "MaxPool2D", "pool_size": 2},
    {"type": "Flatten"},
    {"type": "Dense", "units": 5, "activation": "tanh", "l2": 1e-3},
    {"type": "Dense", "units": 4, "use_bias": False},
]
OPTIMIZERS = [
    ("sgd", {"lr": 0.05}),
    ("sgd", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-3}),
    ("rmsprop", {"lr": 1e-2, "momentum": 0.5}),
    ("adam", {"lr": 1e-2}),
    ("adam", {"lr": 1e-2, "weight_decay": 1e-2, "clip_norm": 0.5}),
    ("adamw", {"lr": 1e-2}),
]


def test_doctests():
    assert doctest.testmod(flat).failed == 0


def _model(seed=0):
    return Sequential.from_config({"input_shape": [1, 8, 8], "layers": LAYERS}, seed=seed)


def _batches(count=6, seed=1):
    rng = np.random.default_rng(seed)
    return [
        (rng.normal(size=(10, 1, 8, 8)).astype(np.float32), rng.integers(0, 4, 10))
        for _ in range(count)
    ]


def _unpack(model):
    """Give every layer separate weight and gradient arrays again (same values)."""
    for layer in model.layers:
        layer.params = {name: array.copy() for name, array in layer.params.items()}
        layer.grads = {name: array.copy() for name, array in layer.grads.items()}


def _train(model, optimizer, batches):
    loss = get_loss("softmax_crossentropy")
    for x, y in batches:
        _, grad = loss.value_and_grad(model.forward(x, training=True), y)
        model.backward(grad, need_input_grad=False)
        optimizer.step(model.parameters(), model.gradients())
    return model.parameters()


def test_a_built_model_keeps_its_weights_and_gradients_in_one_buffer_each():
    model = _model()
    params, grads = model.parameters(), model.gradients()
    weights, gradients = flat_base(list(params.values())), flat_base(list(grads.values()))
    assert weights is not None and gradients is not None
    assert weights.size == gradients.size == model.count_params()
    # The layers' arrays are the buffer: writing one changes the other.
    params["3.W"][0, 0] = 7.0
    assert 7.0 in weights


def test_packing_keeps_the_values_and_the_initialization():
    packed, apart = _model(seed=3), _model(seed=3)
    _unpack(apart)
    for name, value in apart.parameters().items():
        np.testing.assert_array_equal(packed.parameters()[name], value)


@pytest.mark.parametrize(("name", "settings"), OPTIMIZERS)
def test_the_flat_step_equals_the_step_array_by_array(name, settings):
    batches = _batches()
    packed, apart = _model(), _model()
    _unpack(apart)
    flat_optimizer, reference = get_optimizer(name, **settings), get_optimizer(name, **settings)
    after_flat = _train(packed, flat_optimizer, batches)
    after_apart = _train(apart, reference, batches)
    for key, value in after_apart.items():
        np.testing.assert_allclose(after_flat[key], value, rtol=1e-6, atol=1e-7)
    # The fast path was taken: the optimizer's state is one buffer per slot.
    for arrays in flat_optimizer.state.values():
        assert flat_base(list(arrays.values())) is not None
    for arrays in reference.state.values():
        assert flat_base(list(arrays.values())) is None


def test_gradients_given_in_another_order_take_the_flat_path_too():
    packed, apart = _model(), _model()
    _unpack(apart)
    flat_optimizer, reference = get_optimizer("adam", lr=1e-2), get_optimizer("adam", lr=1e-2)
    loss, buffers = get_loss("softmax_crossentropy"), []
    for x, y in _batches(3):
        for model, optimizer in ((packed, flat_optimizer), (apart, reference)):
            _, grad = loss.value_and_grad(model.forward(x, training=True), y)
            model.backward(grad, need_input_grad=False)
            reversed_grads = dict(reversed(list(model.gradients().items())))
            optimizer.step(model.parameters(), reversed_grads)
        buffers.append(flat_base(list(flat_optimizer.state["m"].values())))
    for key, value in apart.parameters().items():
        np.testing.assert_allclose(packed.parameters()[key], value, rtol=1e-6, atol=1e-7)
    # One flat state buffer, kept from step to step (not set up again at every step).
    assert buffers[0] is not None and all(buffer is buffers[0] for buffer in buffers)


def test_a_layer_that_replaces_an_array_is_still_updated():
    model = _model()
    optimizer = get_optimizer("adam", lr=1e-2)
    _train(model, optimizer, _batches(2))
    layer = model.layers[3]
    layer.params["W"] = layer.params["W"].copy()  # no longer a view of the buffer
    before = layer.params["W"].copy()
    others_before = model.layers[4].params["W"].copy()
    _train(model, optimizer, _batches(1, seed=5))
    assert not np.array_equal(layer.params["W"], before)
    assert not np.array_equal(model.layers[4].params["W"], others_before)


def test_a_loaded_state_carries_on_as_the_saved_run_would():
    batches = _batches(8)
    model, optimizer = _model(), get_optimizer("adam", lr=1e-2)
    _train(model, optimizer, batches[:4])
    saved_weights, saved_state = model.state_dict(), optimizer.state_dict()
    expected = {k: v.copy() for k, v in _train(model, optimizer, batches[4:]).items()}

    resumed, fresh = _model(seed=9), get_optimizer("adam", lr=1e-2)
    resumed.load_state_dict(saved_weights)
    fresh.load_state_dict(saved_state)
    after = _train(resumed, fresh, batches[4:])
    for key, value in expected.items():
        np.testing.assert_array_equal(after[key], value)
    assert flat_base(list(fresh.state["m"].values())) is not None


@pytest.mark.parametrize("together", [False, True])
def test_a_deep_copy_trains_on_its_own_flat_buffers(together):
    """Copied apart (the LR finder) or in one deepcopy call (sharing its memo), the copy
    trains as the original would, in its own buffers, and leaves the original alone."""
    model, optimizer = _model(), get_optimizer("adam", lr=1e-2)
    _train(model, optimizer, _batches(2))
    if together:
        model_copy, optimizer_copy = copy.deepcopy((model, optimizer))
    else:
        model_copy, optimizer_copy = copy.deepcopy(model), copy.deepcopy(optimizer)
    before = {k: v.copy() for k, v in model.parameters().items()}
    after_copy = _train(model_copy, optimizer_copy, _batches(1, seed=4))
    for key, value in before.items():
        np.testing.assert_array_equal(model.parameters()[key], value)
    expected = _train(model, optimizer, _batches(1, seed=4))
    for key, value in expected.items():
        np.testing.assert_array_equal(after_copy[key], value)
    assert flat_base(list(model_copy.parameters().values())) is not None
    assert flat_base(list(optimizer_copy.state["v"].values())) is not None


def test_flat_base_wants_an_exact_tiling():
    buffer = np.zeros(10, np.float32)
    assert flat_base([buffer[:4], buffer[4:]]) is buffer
    assert flat_base([buffer[:4], buffer[5:]]) is None  # a gap
    assert flat_base([buffer[:4], buffer[4:9]]) is None  # something left over
    assert flat_base([buffer[4:], buffer[:4]]) is None  # out of order
    assert flat_base([buffer[::2]]) is None  # not contiguous
    assert flat_base([np.zeros(3), np.zeros(3)]) is None  # separate arrays


def test_pack_leaves_mixed_dtypes_alone():
    arrays = {"a": np.zeros(2, np.float32), "b": np.zeros(2, np.float64)}
    kept = dict(arrays)
    assert pack([arrays]) is None
    assert all(arrays[name] is kept[name] for name in arrays)
