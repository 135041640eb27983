"""The fused Conv2D + MaxPool2D(2) training step (layers/fused.py) against the two layers run
apart, and against finite differences through a whole model, in float64."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from nnstudio.engine.fit.health import HealthMonitor
from nnstudio.engine.layers import Conv2D, Dense, Flatten, MaxPool2D
from nnstudio.engine.layers.fused import ConvMaxPool, can_fuse
from nnstudio.engine.model import Sequential
from tests.engine.test_gradients import (
    assert_gradients_close,
    check_model_gradients,
    numeric_gradient,
)

# (channels, kernel, padding, height, width): odd and even sizes, kernels that reach 0-2
# phase rows past their window, padding that puts zeros into every phase image.
GEOMETRIES = [
    (1, 3, "valid", 28, 28),
    (16, 3, "valid", 13, 13),
    (3, 1, "valid", 7, 6),
    (2, 2, "valid", 8, 9),
    (3, 3, "same", 7, 6),
    (2, 5, "same", 9, 8),
    (1, 4, "valid", 10, 7),
    # Same padding as the bench's cnn-same has it, an even kernel (padded after only) and
    # odd sizes whose last row and column no pool window keeps.
    (1, 3, "same", 28, 28),
    (16, 3, "same", 14, 14),
    (2, 4, "same", 8, 7),
    (2, 3, "same", 5, 5),
    # Kernels 1-5 whose windows reach past the left or right edge by 0-2 phase columns
    # (the reads that wrap into the next row and are set to 0), odd and even widths.
    (2, 1, "same", 6, 7),
    (2, 5, "same", 11, 10),
    (3, 2, "same", 9, 9),
    (2, 5, "same", 6, 13),
    (1, 5, "valid", 11, 12),
    # Windows past the top or bottom edge, whose reads wrap into the sample before or after.
    (2, 5, "same", 13, 6),
    (3, 4, "same", 7, 9),
    (1, 3, "same", 4, 4),
    # Kernels larger than the image: reads past both edges, by more than a row or a column.
    (2, 6, "same", 2, 14),
    (2, 6, "same", 10, 2),
]


def _pair(channels, kernel, padding, height, width, activation="relu", use_bias=True):
    conv = Conv2D(4, kernel_size=kernel, padding=padding, activation=activation, use_bias=use_bias)
    conv.build((channels, height, width), np.random.default_rng(1), dtype=np.float64)
    pool = MaxPool2D(2)
    pool.build(conv.output_shape, None, dtype=np.float64)
    return conv, pool


def _apart(conv, pool, x, grad_y):
    """Output, input gradient and weight gradients of the two layers run one after the other."""
    y = pool.forward(conv.forward(x, training=True), training=True)
    grad_x = conv.backward(pool.backward(grad_y), need_input_grad=True)
    return y.copy(), grad_x.copy(), {k: v.copy() for k, v in conv.grads.items()}


@pytest.mark.parametrize(
    ("geometry", "activation", "use_bias"),
    list(itertools.product(GEOMETRIES, ["relu", "linear"], [True, False])),
)
def test_fused_step_matches_the_layers_apart(geometry, activation, use_bias):
    conv, pool = _pair(*geometry, activation=activation, use_bias=use_bias)
    if use_bias:
        conv.params["b"] += 0.25
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, *conv.input_shape))
    grad_y = rng.standard_normal((3, *pool.output_shape))
    y, grad_x, grads = _apart(conv, pool, x, grad_y)

    step = ConvMaxPool(conv, pool)
    np.testing.assert_allclose(step.forward(x, training=True), y, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(step.backward(grad_y), grad_x, rtol=1e-12, atol=1e-12)
    for name, expected in grads.items():
        np.testing.assert_allclose(conv.grads[name], expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    ("channels", "height", "width", "rows", "row_width"),
    [(1, 28, 28, 14, 14), (16, 14, 14, 7, 7), (2, 7, 9, 4, 5)],
)
def test_same_padding_images_are_as_large_as_the_pooled_output(
    channels, height, width, rows, row_width
):
    """The bench's same-padding layers compute no wrap-around positions: a sample's phase
    image is exactly the pooled output (an odd size keeps one spare row or column, for the
    longer phase), and the samples' images follow each other with no padding between."""
    conv, pool = _pair(channels, 3, "same", height, width)
    geometry = ConvMaxPool(conv, pool).geometry
    assert (geometry.phase_h, geometry.phase_w) == (rows, row_width)
    assert geometry.positions == rows * row_width
    assert geometry.length(5) == geometry.guard + 5 * rows * row_width + geometry.tail


@pytest.mark.parametrize("geometry", GEOMETRIES[:4])
def test_ties_go_to_the_first_maximum_as_in_max_pool(geometry):
    """Small integers make many windows with equal maxima (and all-zero windows after ReLU);
    the forward arithmetic is exact, so the gradient must land on exactly the same inputs (a
    window's gradient sent elsewhere would be an error of order 1, not of rounding)."""
    conv, pool = _pair(*geometry)
    rng = np.random.default_rng(3)
    conv.params["W"][:] = rng.integers(-1, 2, conv.params["W"].shape)
    conv.params["b"][:] = 0.5
    x = rng.integers(-1, 2, (4, *conv.input_shape)).astype(np.float64)
    grad_y = rng.standard_normal((4, *pool.output_shape))
    y, grad_x, grads = _apart(conv, pool, x, grad_y)
    step = ConvMaxPool(conv, pool)
    np.testing.assert_array_equal(step.forward(x, training=True), y)
    np.testing.assert_allclose(step.backward(grad_y), grad_x, rtol=0, atol=1e-12)
    np.testing.assert_allclose(conv.grads["W"], grads["W"], rtol=0, atol=1e-12)


def _model(activation="relu", dtype=np.float64):
    return Sequential(
        [
            Conv2D(3, kernel_size=3, padding="same", activation=activation, l2=0.01),
            MaxPool2D(2),
            Conv2D(4, kernel_size=2, activation="linear"),
            MaxPool2D(2),
            Flatten(),
            Dense(3),
        ],
        input_shape=(2, 9, 8),
        dtype=dtype,
    )


def test_a_model_fuses_only_in_training():
    model = _model()
    x = np.random.default_rng(4).standard_normal((2, 2, 9, 8))
    fused = [type(step).__name__ for _, step in model._steps(training=True)]
    assert fused == ["ConvMaxPool", "ConvMaxPool", "Flatten", "Dense"]
    assert [step for _, step in model._steps(training=False)] == model.layers
    np.testing.assert_allclose(model.forward(x, training=True), model.forward(x), atol=1e-12)


def test_pairs_that_cannot_be_fused_run_apart():
    assert not can_fuse(Conv2D(4, activation="tanh"), MaxPool2D(2))  # not monotone-safe here
    assert not can_fuse(Conv2D(4, stride=2), MaxPool2D(2))
    assert not can_fuse(Conv2D(4), MaxPool2D(3))
    assert not can_fuse(Conv2D(4), MaxPool2D(2, stride=1))
    conv = Conv2D(4, activation="relu")
    conv.record_internals = True  # the explainer reads the full-size pre-activation
    assert not can_fuse(conv, MaxPool2D(2))
    assert can_fuse(Conv2D(4, activation="relu"), MaxPool2D(2))


def test_model_gradients_through_fused_steps_match_finite_differences():
    model = _model()
    rng = np.random.default_rng(5)
    check_model_gradients(model, rng.standard_normal((3, 2, 9, 8)), rng.integers(0, 3, 3))
    assert type(model._last_steps[0][1]) is ConvMaxPool  # the fused steps were checked


def test_input_gradient_through_fused_steps_matches_finite_differences():
    model = _model()
    rng = np.random.default_rng(6)
    x, weights = rng.standard_normal((2, 2, 9, 8)), rng.standard_normal((2, 3))
    outputs = model.forward(x, training=True)
    grad_x = model.backward(np.broadcast_to(weights, outputs.shape), need_input_grad=True)
    numeric = numeric_gradient(lambda: float((model.forward(x, training=True) * weights).sum()), x)
    assert_gradients_close(grad_x, numeric, "input")


def test_the_training_doctor_still_sees_the_conv_activations():
    """After a fused forward the conv layer reports the outputs the pool saw, ReLU applied."""
    model = _model()
    x = np.random.default_rng(7).standard_normal((2, 2, 9, 8))
    model.forward(x, training=True)
    conv = model.layers[0]
    name, fused = conv.last_activation()
    full = conv.forward(x, training=True)  # the same layer alone: full-size outputs
    kept = [full[:, :, i:8:2, j:8:2] for i, j in ((0, 0), (0, 1), (1, 0), (1, 1))]
    assert name == "relu"
    np.testing.assert_allclose(fused, np.stack(kept, axis=2), atol=1e-12)
    monitor = HealthMonitor(every=1)
    model.forward(x, training=True)
    model.backward(np.ones((2, 3)), need_input_grad=False)
    monitor.before_update(model)
    summary = monitor.epoch_summary()
    assert summary[next(iter(summary))]["activation"] == "relu"
    assert summary[next(iter(summary))]["activation_mean"] == pytest.approx(float(fused.mean()))


def test_batches_of_changing_size_reuse_nothing_stale():
    """The step keeps buffers between batches; a smaller last batch must not read old ones."""
    model, reference = _model(dtype=np.float32), _model(dtype=np.float32)
    rng = np.random.default_rng(8)
    for size in (5, 2, 5):
        x = rng.standard_normal((size, 2, 9, 8)).astype(np.float32)
        np.testing.assert_allclose(model.forward(x, training=True), reference.forward(x), atol=1e-5)


def test_the_fusion_can_be_turned_off_to_compare(monkeypatch):
    monkeypatch.setenv("NNSTUDIO_FUSE_CONV_POOL", "0")
    model = _model()
    assert [step for _, step in model._steps(training=True)] == model.layers


def test_a_deep_copy_leaves_the_buffers_behind_and_still_trains():
    """The inspector and the doctor deep-copy a model that may be mid-training."""
    import copy

    model = _model(dtype=np.float32)
    x = np.random.default_rng(9).standard_normal((4, 2, 9, 8)).astype(np.float32)
    model.forward(x, training=True)
    twin = copy.deepcopy(model)
    fused = twin._fused_steps[0]
    assert fused._buffers == {} and fused.conv is twin.layers[0]
    assert twin.layers[0].last_activation() is None  # nothing computed by the copy yet
    np.testing.assert_allclose(twin.forward(x, training=True), model.forward(x), atol=1e-5)
    assert twin.layers[0].last_activation()[1].shape == (4, 3, 4, 4, 4)


def test_training_skips_the_first_fused_steps_input_gradient(monkeypatch):
    """fit never needs d loss / d inputs: the first conv+pool step computes only its weight
    gradients, while the second still hands an input gradient back to the first."""
    model = _model(dtype=np.float32)
    x = np.random.default_rng(11).standard_normal((2, 2, 9, 8)).astype(np.float32)
    model.forward(x, training=True)
    first, second = (step for _, step in model._last_steps[:2])
    scattered = []
    for step in (first, second):
        original = step._scatter
        monkeypatch.setattr(
            step, "_scatter", lambda *a, step=step, f=original: scattered.append(step) or f(*a)
        )
    model.backward(np.ones((2, 3), np.float32), need_input_grad=False)
    assert scattered == [second]
    assert np.abs(model.layers[0].grads["W"]).sum() > 0


def test_output_and_input_gradient_are_views_of_channels_first_memory():
    """The step hands its output and input gradient on in the order it computes them,
    (channels, N, rows, columns), as NCHW views: no transposed copy on either side."""
    conv, pool = _pair(3, 3, "same", 8, 8)
    step = ConvMaxPool(conv, pool)
    rng = np.random.default_rng(12)
    x = rng.standard_normal((2, 3, 8, 8))
    y = step.forward(x, training=True)
    grad_x = step.backward(np.ones_like(y))
    assert y.shape == (2, 4, 4, 4) and y.transpose(1, 0, 2, 3).flags.c_contiguous
    assert grad_x.shape == x.shape and grad_x.transpose(1, 0, 2, 3).flags.c_contiguous
    expected_y, expected_grad_x, _ = _apart(conv, pool, x, np.ones_like(y))
    np.testing.assert_allclose(y, expected_y, atol=1e-12)
    np.testing.assert_allclose(grad_x, expected_grad_x, atol=1e-12)


@pytest.mark.parametrize("activation", ["relu", "linear"])
def test_a_channels_first_output_gradient_is_read_in_place(activation):
    """An output gradient laid out as the step computes (from a fused step after it) is used
    as it is, not copied, and routes exactly as a plain NCHW one."""
    conv, pool = _pair(2, 3, "same", 8, 8, activation=activation)
    step = ConvMaxPool(conv, pool)
    rng = np.random.default_rng(13)
    x = rng.standard_normal((3, 2, 8, 8))
    grad_y = np.ascontiguousarray(rng.standard_normal((4, 3, 4, 4))).transpose(1, 0, 2, 3)
    _, expected_grad_x, expected = _apart(conv, pool, x, np.ascontiguousarray(grad_y))
    step.forward(x, training=True)
    np.testing.assert_allclose(step.backward(grad_y), expected_grad_x, atol=1e-12)
    np.testing.assert_allclose(conv.grads["W"], expected["W"], atol=1e-12)
    assert "grad_pooled" not in step._buffers  # no copy of the gradient was made


@pytest.mark.parametrize("filters_per_block", [1, 3])
def test_pooling_a_few_filters_at_a_time_matches_the_layers_apart(monkeypatch, filters_per_block):
    """The pool compares a few filters at a time (a last, shorter block included)."""
    from nnstudio.engine.layers import fused as fused_module

    conv, pool = _pair(2, 3, "same", 7, 6)
    step = ConvMaxPool(conv, pool)
    batch = 3
    values = 4 * batch * step.geometry.positions * 8  # one filter's four places, float64
    monkeypatch.setattr(fused_module, "POOL_BLOCK_BYTES", filters_per_block * values)
    rng = np.random.default_rng(14)
    conv.params["W"][:] = rng.integers(-1, 2, conv.params["W"].shape)  # exact sums, many ties
    x = rng.integers(-1, 2, (batch, *conv.input_shape)).astype(np.float64)
    grad_y = rng.standard_normal((batch, *pool.output_shape))
    y, grad_x, grads = _apart(conv, pool, x, grad_y)
    np.testing.assert_array_equal(step.forward(x, training=True), y)
    np.testing.assert_allclose(step.backward(grad_y), grad_x, atol=1e-12)
    np.testing.assert_allclose(conv.grads["W"], grads["W"], atol=1e-12)
