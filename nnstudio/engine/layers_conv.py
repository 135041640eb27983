"""Image layers on NCHW batches: Conv2D (im2col + one matrix product), MaxPool2D, AvgPool2D.

Convolution unrolls every k×k window into a column ("im2col", a strided view copied once) so
the whole layer is a single batched matrix product. Its backward scatters the column gradient
back with k·k strided additions ("col2im"), one per kernel offset, never one per pixel. The
pooling layers loop over the pool's offsets the same way.

>>> import numpy as np
>>> conv = Conv2D(8, kernel_size=3, padding="same", activation="relu")
>>> conv.build((1, 28, 28), np.random.default_rng(0))
(8, 28, 28)
>>> MaxPool2D(2).compute_output_shape((8, 28, 28))
(8, 14, 14)
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .layers_base import (
    ACTIVATION_SETTING,
    INITIALIZER_SETTING,
    L1_SETTING,
    L2_SETTING,
    USE_BIAS_SETTING,
    Layer,
    Setting,
    ShapeError,
    WeightedLayer,
)

IMAGE_NEEDS = "input (channels, height, width)"


def _check_image(input_shape, layer_kind: str):
    if len(input_shape) != 3:
        hint = "Add Reshape before it (e.g. Reshape([1, 28, 28])) or remove " + layer_kind + "."
        raise ShapeError(IMAGE_NEEDS, input_shape, hint=hint)


def _offset_slices(offset_h, offset_w, stride, out_h, out_w):
    """Index of the input values that kernel offset (offset_h, offset_w) sees in every window."""
    return (
        slice(None),
        slice(None),
        slice(offset_h, offset_h + stride * (out_h - 1) + 1, stride),
        slice(offset_w, offset_w + stride * (out_w - 1) + 1, stride),
    )


def im2col(x, kernel, stride, out_h, out_w):
    """(N, C, H, W) → (N, C·k·k, out_h·out_w): one column of k·k·C values per output pixel.

    The row order (channel, kernel row, kernel column) matches W.reshape(filters, -1). The copy
    runs along image rows, so it is a few long strided copies, not per-pixel work.
    """
    n, c = x.shape[:2]
    windows = sliding_window_view(x, (kernel, kernel), axis=(2, 3))
    windows = windows[:, :, ::stride, ::stride][:, :, :out_h, :out_w]
    columns = np.ascontiguousarray(windows.transpose(0, 1, 4, 5, 2, 3))
    return columns.reshape(n, c * kernel * kernel, out_h * out_w)


def col2im(columns, input_shape, kernel, stride, out_h, out_w):
    """Inverse scatter of im2col: sums each column gradient back onto the input pixels."""
    n, c = input_shape[:2]
    grad_x = np.zeros(input_shape, dtype=columns.dtype)
    columns = columns.reshape(n, c, kernel, kernel, out_h, out_w)
    for i in range(kernel):
        for j in range(kernel):
            grad_x[_offset_slices(i, j, stride, out_h, out_w)] += columns[:, :, i, j]
    return grad_x


class Conv2D(WeightedLayer):
    """2-D convolution: ``filters`` learned k×k kernels slid over the image.

    Input (channels, height, width) → output (filters, out_height, out_width), where
    out = ceil(size / stride) for padding="same" and (size - k) // stride + 1 for "valid".
    W has shape (filters, channels, k, k).

    >>> Conv2D(16, kernel_size=5, stride=2)
    Conv2D(16, kernel_size=5, stride=2)
    """

    category = "Convolution"
    description = "Slides learned filters over an image to detect local patterns (edges, strokes)."
    SETTINGS = [
        Setting(
            "filters",
            "int",
            16,
            minimum=1,
            maximum=4096,
            help="Number of filters (output channels). 8-64 for small images; more filters "
            "see more kinds of patterns but cost time.",
        ),
        Setting(
            "kernel_size",
            "int",
            3,
            minimum=1,
            maximum=15,
            help="Width and height of each filter in pixels. 3 is the usual choice; "
            "5 sees more at once.",
        ),
        Setting(
            "stride",
            "int",
            1,
            minimum=1,
            maximum=8,
            help="Step between filter positions. 1 keeps the resolution; 2 halves it "
            "(an alternative to pooling).",
        ),
        Setting(
            "padding",
            "choice",
            "valid",
            choices=("valid", "same"),
            help="'valid' uses only full windows (the image shrinks by kernel_size - 1); "
            "'same' pads with zeros so the size is kept (divided by stride).",
        ),
        ACTIVATION_SETTING,
        INITIALIZER_SETTING,
        USE_BIAS_SETTING,
        L1_SETTING,
        L2_SETTING,
    ]

    def __init__(
        self,
        filters,
        kernel_size=3,
        stride=1,
        padding="valid",
        activation="linear",
        initializer="auto",
        use_bias=True,
        l1=0.0,
        l2=0.0,
    ):
        super().__init__(
            filters=filters,
            kernel_size=kernel_size,
            stride=stride,
            padding=padding,
            activation=activation or "linear",
            initializer=initializer,
            use_bias=use_bias,
            l1=l1,
            l2=l2,
        )
        self._setup_activation()

    def _padding_for(self, size):
        """(before, after) zero padding along one axis of length ``size``."""
        if self.padding == "valid":
            return 0, 0
        out = -(-size // self.stride)  # ceil
        total = max((out - 1) * self.stride + self.kernel_size - size, 0)
        return total // 2, total - total // 2

    def compute_output_shape(self, input_shape):
        _check_image(input_shape, "Conv2D")
        _, height, width = input_shape
        k, s = self.kernel_size, self.stride
        out = [(size + sum(self._padding_for(size)) - k) // s + 1 for size in (height, width)]
        if min(out) < 1:
            raise ShapeError(
                f"an image of at least {k}×{k} pixels",
                input_shape,
                hint="Use padding='same', a smaller kernel_size, or fewer "
                "pooling layers before it.",
            )
        return (self.filters, out[0], out[1])

    def _build(self, input_shape, rng):
        channels, k = input_shape[0], self.kernel_size
        shape = (self.filters, channels, k, k)
        self._init_weights(shape, channels * k * k, self.filters * k * k, self.filters, rng)

    def _pad(self, x):
        (top, bottom), (left, right) = (self._padding_for(size) for size in x.shape[2:])
        if not (top or bottom or left or right):
            return x
        n, c, h, w = x.shape
        padded = np.zeros((n, c, h + top + bottom, w + left + right), dtype=x.dtype)
        padded[:, :, top : top + h, left : left + w] = x
        return padded

    def forward(self, x, training=False):
        n = len(x)
        filters, out_h, out_w = self.output_shape
        padded = self._pad(x)
        self._padded_shape = padded.shape
        self._columns = im2col(padded, self.kernel_size, self.stride, out_h, out_w)
        z = np.matmul(self.params["W"].reshape(filters, -1), self._columns)
        if self.use_bias:
            z += self.params["b"][:, None]
        return self._activate(z.reshape(n, filters, out_h, out_w))

    def backward(self, grad_y, need_input_grad=True):
        n = len(grad_y)
        filters, out_h, out_w = self.output_shape
        g = self._activation_grad(grad_y).reshape(n, filters, out_h * out_w)
        W = self.params["W"].reshape(filters, -1)
        # dW = sum over the batch of g[n] @ columns[n].T
        per_sample = np.matmul(g, self._columns.transpose(0, 2, 1))
        np.sum(per_sample, axis=0, out=self.grads["W"].reshape(filters, -1))
        if self.use_bias:
            np.sum(g, axis=(0, 2), out=self.grads["b"])
        self._add_penalty_grads()
        if not need_input_grad:
            return None
        grad_columns = np.matmul(W.T, g)
        grad_padded = col2im(
            grad_columns, self._padded_shape, self.kernel_size, self.stride, out_h, out_w
        )
        return self._unpad(grad_padded)

    def _unpad(self, grad_padded):
        height, width = self.input_shape[1:]
        top, left = self._padding_for(height)[0], self._padding_for(width)[0]
        return grad_padded[:, :, top : top + height, left : left + width]


POOL_SETTINGS = [
    Setting(
        "pool_size",
        "int",
        2,
        minimum=1,
        maximum=16,
        help="Width and height of the pooling window. 2 halves the image size.",
    ),
    Setting(
        "stride",
        "int",
        None,
        minimum=1,
        maximum=16,
        help="Step between windows; empty means the same as pool_size (windows do not "
        "overlap), which is the usual choice.",
    ),
]


class _Pool2D(Layer):
    """Shared shape logic of MaxPool2D and AvgPool2D (windows that do not fit are dropped)."""

    category = "Pooling"
    SETTINGS = POOL_SETTINGS

    def __init__(self, pool_size=2, stride=None):
        super().__init__(pool_size=pool_size, stride=stride)

    @property
    def step(self) -> int:
        return self.stride or self.pool_size

    def compute_output_shape(self, input_shape):
        _check_image(input_shape, type(self).__name__)
        channels, height, width = input_shape
        p, s = self.pool_size, self.step
        if height < p or width < p:
            raise ShapeError(
                f"an image of at least {p}×{p} pixels",
                input_shape,
                hint="Use a smaller pool_size or remove a pooling layer.",
            )
        return (channels, (height - p) // s + 1, (width - p) // s + 1)

    def _offsets(self):
        """Index of the values every window sees at each of its p·p offsets."""
        _, out_h, out_w = self.output_shape
        p = self.pool_size
        return [_offset_slices(i, j, self.step, out_h, out_w) for i in range(p) for j in range(p)]


class MaxPool2D(_Pool2D):
    """Keeps the largest value of each pool_size×pool_size window.

    The gradient goes to the first maximum of each window (as in PyTorch), so ties (such as
    windows of zeros after ReLU) do not multiply it.
    """

    description = "Keeps the largest value of each window: smaller images, some shift tolerance."

    def forward(self, x, training=False):
        self._x = x
        offsets = self._offsets()
        y = x[offsets[0]].copy()
        for index in offsets[1:]:
            np.maximum(y, x[index], out=y)
        self._y = y
        return y

    def backward(self, grad_y, need_input_grad=True):
        x, y = self._x, self._y
        grad_x = np.zeros(x.shape, dtype=grad_y.dtype)
        unassigned = np.ones(y.shape, dtype=bool)
        for index in self._offsets():
            first_max = x[index] == y
            first_max &= unassigned
            unassigned &= ~first_max
            grad_x[index] += grad_y * first_max
        return grad_x


class AvgPool2D(_Pool2D):
    """Averages each pool_size×pool_size window."""

    description = "Averages each window: smaller, smoother images."

    def forward(self, x, training=False):
        offsets = self._offsets()
        y = x[offsets[0]].copy()
        for index in offsets[1:]:
            y += x[index]
        y *= 1.0 / self.pool_size**2
        return y

    def backward(self, grad_y, need_input_grad=True):
        grad_x = np.zeros((len(grad_y), *self.input_shape), dtype=grad_y.dtype)
        share = grad_y * (1.0 / self.pool_size**2)
        for index in self._offsets():
            grad_x[index] += share
        return grad_x
