"""The fast paths of the image layers against straightforward float64 references: Conv2D with
its columns samples first or filters first, and the two-step 2×2 max-pooling (ties included)."""

from __future__ import annotations

import numpy as np
import pytest

from nnstudio.engine.layers import Conv2D, MaxPool2D
from nnstudio.engine.layers import conv as conv_module
from tests.engine.test_gradients import check_layer_gradients

LAYOUTS = {"samples_first": 10_000, "filters_first": 0}


def reference_convolution(x, W, b, stride, pads):
    """Cross-correlation by explicit loops over output pixels (no activation)."""
    (top, bottom), (left, right) = pads
    x = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    n, _, height, width = x.shape
    filters, _, k, _ = W.shape
    out_h, out_w = (height - k) // stride + 1, (width - k) // stride + 1
    y = np.empty((n, filters, out_h, out_w))
    for r in range(out_h):
        for c in range(out_w):
            window = x[:, :, r * stride : r * stride + k, c * stride : c * stride + k]
            y[:, :, r, c] = np.einsum("nchw,fchw->nf", window, W) + b
    return y


def reference_max_pool_backward(x, grad_y):
    """2×2 / stride 2: each window's gradient to its first maximum in reading order."""
    grad_x = np.zeros_like(x)
    n, channels, out_h, out_w = grad_y.shape
    for s in range(n):
        for ch in range(channels):
            for r in range(out_h):
                for c in range(out_w):
                    window = x[s, ch, 2 * r : 2 * r + 2, 2 * c : 2 * c + 2]
                    i, j = np.unravel_index(np.argmax(window), (2, 2))  # first maximum
                    grad_x[s, ch, 2 * r + i, 2 * c + j] = grad_y[s, ch, r, c]
    return grad_x


@pytest.fixture(params=list(LAYOUTS))
def layout(request, monkeypatch):
    monkeypatch.setattr(conv_module, "SAMPLES_FIRST_MAX_ROWS", LAYOUTS[request.param])
    return request.param


#: (channels, kernel, stride, padding, height, width): the strided and padded cases read the
#: input through stride × stride phase images, with padding that may differ on the two sides
#: (stride 2 over an even size pads after only) and sizes that do not divide by the stride.
GEOMETRIES = [
    (1, 3, 1, "valid", 7, 6),
    (3, 3, 2, "same", 7, 6),
    (2, 3, 2, "same", 8, 8),
    (2, 3, 2, "valid", 9, 7),
    (1, 4, 2, "same", 7, 9),
    (2, 5, 3, "same", 11, 8),
    (1, 2, 3, "valid", 8, 7),
    (2, 5, 1, "same", 5, 6),
    # Stride 1, same padding, kernels 1-4 over odd sizes (an even kernel pads after more).
    (2, 1, 1, "same", 5, 7),
    (3, 2, 1, "same", 7, 5),
    (2, 3, 1, "same", 7, 7),
    (1, 4, 1, "same", 9, 6),
    # Windows past the left or right edge by 1-2 phase columns (reads that wrap into the next
    # row and are set to 0), strides 1-3, kernels 1-5, one-sided padding, odd sizes.
    (2, 5, 2, "same", 9, 10),
    (1, 4, 3, "same", 10, 11),
    (2, 3, 3, "valid", 10, 9),
    (3, 5, 1, "same", 6, 9),
    (2, 1, 2, "same", 7, 8),
    (2, 2, 2, "same", 8, 9),
    (1, 5, 3, "same", 7, 13),
    # Kernels wider or taller than the image: reads past both edges, by more than a row.
    (1, 7, 1, "same", 2, 8),
    (3, 6, 1, "same", 8, 2),
]


@pytest.mark.parametrize(
    ("channels", "size", "stride", "row_width"),
    [(1, 28, 1, 28), (16, 14, 1, 14), (1, 28, 2, 14), (16, 14, 2, 7), (2, 9, 1, 9)],
)
def test_same_padding_computes_no_wrap_around_outputs(channels, size, stride, row_width):
    """A row of the columns is exactly an output row for the presets' same-padding layers."""
    layer = Conv2D(4, kernel_size=3, stride=stride, padding="same")
    layer.build((channels, size, size), np.random.default_rng(0))
    phases = layer._phases()
    assert layer.output_shape[2] == phases.width == row_width
    assert layer.output_shape[1] == phases.height
    assert phases.positions == layer.output_shape[1] * row_width
    # The samples' images lie end to end: no padding rows between them.
    assert phases.length(5) == phases.guard + 5 * phases.positions + phases.tail


@pytest.mark.parametrize(("channels", "kernel", "stride", "padding", "height", "width"), GEOMETRIES)
def test_conv2d_forward_matches_the_reference_in_both_layouts(
    layout, channels, kernel, stride, padding, height, width
):
    layer = Conv2D(4, kernel_size=kernel, stride=stride, padding=padding)
    layer.build((channels, height, width), np.random.default_rng(0), dtype=np.float64)
    layer.params["b"] += 0.5  # a bias that is not zero takes part
    assert layer._samples_first() == (layout == "samples_first")
    x = np.random.default_rng(1).standard_normal((3, channels, height, width))
    pads = (layer._padding_for(height), layer._padding_for(width))
    expected = reference_convolution(x, layer.params["W"], layer.params["b"], stride, pads)
    np.testing.assert_allclose(layer.forward(x, training=True), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("channels", "kernel", "stride", "padding", "height", "width"), GEOMETRIES)
def test_conv2d_gradients_match_finite_differences_in_both_layouts(
    layout, channels, kernel, stride, padding, height, width
):
    layer = Conv2D(3, kernel_size=kernel, stride=stride, padding=padding, activation="tanh")
    check_layer_gradients(layer, (channels, height, width), batch=2)


def test_conv2d_layouts_train_the_same_in_float32(monkeypatch):
    """Both layouts give the same weight gradients up to float32 rounding."""
    x = np.random.default_rng(2).standard_normal((8, 2, 9, 9)).astype(np.float32)
    grads = {}
    for name, rows in LAYOUTS.items():
        monkeypatch.setattr(conv_module, "SAMPLES_FIRST_MAX_ROWS", rows)
        layer = Conv2D(5, kernel_size=3, activation="relu")
        layer.build((2, 9, 9), np.random.default_rng(0))
        y = layer.forward(x, training=True)
        grad_x = layer.backward(np.ones_like(y), need_input_grad=True)
        grads[name] = (y, grad_x, layer.grads["W"].copy(), layer.grads["b"].copy())
    for first, second in zip(*grads.values(), strict=True):
        np.testing.assert_allclose(first, second, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("shape", [(2, 3, 6, 8), (1, 2, 4, 4)])
def test_two_step_max_pool_matches_the_reference(shape):
    rng = np.random.default_rng(3)
    # Few distinct values (and many zeros, as after ReLU): plenty of ties inside windows.
    x = np.maximum(rng.integers(-2, 3, shape), 0).astype(np.float64)
    layer = MaxPool2D(2)
    layer.build(shape[1:], dtype=np.float64)
    assert layer._halves_size()
    y = layer.forward(x, training=True)
    windows = x.reshape(shape[0], shape[1], shape[2] // 2, 2, shape[3] // 2, 2)
    np.testing.assert_array_equal(y, windows.max(axis=(3, 5)))
    grad_y = rng.standard_normal(y.shape)
    np.testing.assert_array_equal(layer.backward(grad_y), reference_max_pool_backward(x, grad_y))


def test_two_step_max_pool_breaks_a_diagonal_tie_like_reading_order():
    layer = MaxPool2D(2)
    layer.build((1, 2, 2))
    x = np.array([[[[0.0, 5.0], [5.0, 1.0]]]])  # maxima at (0, 1) and (1, 0)
    layer.forward(x, training=True)
    grad_x = layer.backward(np.array([[[[1.0]]]]))
    np.testing.assert_array_equal(grad_x[0, 0], [[0, 1], [0, 0]])


def test_odd_sizes_keep_the_offsets_path_and_drop_the_rest():
    layer = MaxPool2D(2)
    layer.build((1, 5, 5))
    assert not layer._halves_size()
    x = np.random.default_rng(4).standard_normal((2, 1, 5, 5))
    y = layer.forward(x, training=True)
    np.testing.assert_array_equal(y, x[:, :, :4, :4].reshape(2, 1, 2, 2, 2, 2).max(axis=(3, 5)))
    grad_x = layer.backward(np.ones_like(y))
    assert grad_x[:, :, 4].sum() == 0 and grad_x[:, :, :, 4].sum() == 0
    assert grad_x.sum() == y.size


def test_a_layer_whose_padding_changes_lays_its_input_out_again():
    layer = Conv2D(2, kernel_size=3, padding="valid")
    layer.build((1, 6, 6), np.random.default_rng(0), dtype=np.float64)
    x = np.random.default_rng(1).standard_normal((2, 1, 6, 6))
    layer.forward(x)
    layer.padding = "same"
    layer.build((1, 6, 6), np.random.default_rng(0), dtype=np.float64)
    pads = (layer._padding_for(6), layer._padding_for(6))
    expected = reference_convolution(x, layer.params["W"], layer.params["b"], 1, pads)
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-12, atol=1e-12)


def test_input_gradient_is_a_view_of_channels_first_memory_in_both_layouts(layout):
    """The backward sums the column gradient into channels-first phase images and hands the
    input gradient on as an NCHW view of channels-first memory, not a copy."""
    layer = Conv2D(4, kernel_size=3, padding="same")
    layer.build((3, 7, 7), np.random.default_rng(0), dtype=np.float64)
    x = np.random.default_rng(1).standard_normal((2, 3, 7, 7))
    grad_y = np.random.default_rng(2).standard_normal((2, 4, 7, 7))
    layer.forward(x, training=True)
    grad_x = layer.backward(grad_y, need_input_grad=True)
    assert grad_x.shape == x.shape and grad_x.transpose(1, 0, 2, 3).flags.c_contiguous
    # The input gradient of a same convolution: grad_y correlated with the flipped kernel.
    flipped = layer.params["W"][:, :, ::-1, ::-1].transpose(1, 0, 2, 3)
    expected = reference_convolution(grad_y, flipped, np.zeros(3), 1, ((1, 1), (1, 1)))
    np.testing.assert_allclose(grad_x, expected, rtol=1e-12, atol=1e-12)


def test_two_step_max_pool_keeps_its_buffer_across_batch_sizes():
    """The pairs' gradient is kept between batches: a smaller batch, then a larger one again,
    must route exactly as a fresh layer does."""
    layer = MaxPool2D(2)
    layer.build((2, 4, 6), dtype=np.float64)
    rng = np.random.default_rng(5)
    for size in (3, 1, 3):
        x = np.maximum(rng.integers(-2, 3, (size, 2, 4, 6)), 0).astype(np.float64)
        grad_y = rng.standard_normal((size, 2, 2, 3))
        layer.forward(x, training=True)
        np.testing.assert_array_equal(
            layer.backward(grad_y), reference_max_pool_backward(x, grad_y)
        )
