"""Image layers on NCHW batches: Conv2D (im2col + matrix products), MaxPool2D, AvgPool2D.

Convolution unrolls every k×k window into a column ("im2col": a strided view, copied once) so
the forward pass is one batched matrix product (W times each sample's columns) and the
backward two large ones; the column gradient goes back with k·k strided additions ("col2im"),
one per kernel offset, never one per pixel.

The columns are taken over *flattened phase images* (im2col.py): the input cut into
stride × stride images of every stride-th pixel (for stride 1, the image itself), without the
padding, each channel's images of all samples end to end, so that each (channel, kernel
offset) row of the column matrix is one long contiguous slice of a phase instead of many
short ones (see Phases). A sample's image is as large as the output where the image allows
("same" padding), so no "wrap-around" outputs are computed; otherwise the few extra ones are
cut away afterwards and given zero gradient. A strided convolution computes no output twice.
Layers with few values per window (the first, on grey images) keep the columns samples first,
so that the product lands directly in NCHW order; the others keep them filters first, for
two single large products in backward. The pooling layers loop over the pool's offsets the
same way, except the usual 2×2 max-pooling of even sizes, done in two halving steps.

>>> import numpy as np
>>> conv = Conv2D(8, kernel_size=3, padding="same", activation="relu")
>>> conv.build((1, 28, 28), np.random.default_rng(0))
(8, 28, 28)
>>> MaxPool2D(2).compute_output_shape((8, 28, 28))
(8, 14, 14)
"""

from __future__ import annotations

import numpy as np

from nnstudio.engine.layers.base import (
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
from nnstudio.engine.layers.im2col import (
    Phases,
    sample_columns,
    scatter_columns,
    scatter_sample_columns,
    wide_columns,
)

IMAGE_NEEDS = "input (channels, height, width)"
#: Layers with at most this many input values per window (C·k·k) lay their columns out
#: samples first (im2col.sample_columns); measured on the MNIST CNN (one thread, batch 64), the
#: first layer (9) took about a fifth less time that way and the second (144) 8 % more.
SAMPLES_FIRST_MAX_ROWS = 32


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


def _kept_buffer(layer, attribute: str, shape, dtype):
    """An array (zeros when made) kept on ``layer`` between batches, for values that never
    leave its backward: a new batch size or dtype makes a new one."""
    buffer = getattr(layer, attribute, None)
    if buffer is None or buffer.shape != shape or buffer.dtype != dtype:
        buffer = np.zeros(shape, dtype)
        setattr(layer, attribute, buffer)
    return buffer


def _reduce_windows(ufunc, x, offsets, out):
    """``ufunc`` (np.maximum, np.add) over the values each window sees at every offset."""
    if len(offsets) == 1:
        np.copyto(out, x[offsets[0]])
        return
    ufunc(x[offsets[0]], x[offsets[1]], out=out)
    for index in offsets[2:]:
        ufunc(out, x[index], out=out)


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

    #: The ConvMaxPool step (fused.py) that ran this layer's last forward, or None.
    _fused_step = None

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

    def _parameter_count(self, input_shape):
        """W (filters × channels × k × k) and b (filters)."""
        return self.filters * (input_shape[0] * self.kernel_size**2 + int(self.use_bias))

    def _phases(self) -> Phases:
        """Where this layer's input lies in its phase images (worked out once per shape)."""
        phases = getattr(self, "_phase_layout", None)
        if phases is None or phases.key != Phases.key_of(self):
            phases = self._phase_layout = Phases(self)
        return phases

    def _samples_first(self) -> bool:
        """Whether the columns are laid out samples first (see im2col.sample_columns)."""
        return self.input_shape[0] * self.kernel_size**2 <= SAMPLES_FIRST_MAX_ROWS

    def last_activation(self):
        if self._fused_step is not None:  # the last forward was fused with the pool after it
            activations = self._fused_step.conv_activations()
            return None if activations is None else (self.activation, activations)
        return super().last_activation()

    def forward(self, x, training=False):
        self._fused_step = None
        n = len(x)
        filters, out_h, out_w = self.output_shape
        phases = self._phases()
        flat = phases.split(x)
        out = np.empty((n, filters, out_h, out_w), dtype=x.dtype)
        wide = (phases.height, phases.width)  # a sample's positions, wrap-around included
        if self._samples_first():
            columns = self._columns = sample_columns(flat, phases, n, self.use_bias)
            # A stacked product (one per sample) that comes out as (N, filters, positions).
            z = np.matmul(self._weight_matrix(), columns)
            return self._activate(z.reshape(n, filters, *wide)[:, :, :out_h, :out_w], out=out)
        columns = self._columns = wide_columns(flat, phases, n, self.use_bias)
        # One large product, filters first, with the bias as a last weight column against the
        # row of ones (one pass less than adding it afterwards). The activation below writes
        # the NCHW output from a transposed view, so no extra copy is made.
        z = np.matmul(self._weight_matrix(), columns)
        # Drop the wrap-around positions; (filters, N, ...) → (N, filters, ...) as a view.
        z = z.reshape(filters, n, *wide)[:, :, :out_h, :out_w].transpose(1, 0, 2, 3)
        return self._activate(z, out=out)

    def _weight_matrix(self):
        """W as (filters, C·k·k), with the bias appended as a last column when used."""
        W = self.params["W"].reshape(self.filters, -1)
        return np.hstack([W, self.params["b"][:, None]]) if self.use_bias else W

    def _wide_gradient_buffer(self, shape, dtype):
        """A buffer for the output gradient on the wide grid, kept between batches: its
        wrap-around positions are zeroed once, and only the real ones are written each time."""
        return _kept_buffer(self, "_wide_buffer", shape, dtype)

    def backward(self, grad_y, need_input_grad=True):
        _, height, width = self.input_shape
        if self._samples_first():
            grad_flat = self._backward_samples_first(grad_y, need_input_grad)
        else:
            grad_flat = self._backward_filters_first(grad_y, need_input_grad)
        if grad_flat is None:
            return None
        # Channels first, as the phase images are: handed on as an NCHW view, not copied over.
        grad_x = self._phases().merge(grad_flat, len(grad_y), height, width)
        return grad_x.transpose(1, 0, 2, 3)

    def _store_weight_grads(self, weight_grads):
        """dW (and db, the last column, against the row of ones) from a (filters, C·k·k (+1))
        product."""
        filters = self.filters
        rows = self.grads["W"].size // filters
        self.grads["W"].reshape(filters, -1)[:] = weight_grads[:, :rows]
        if self.use_bias:
            self.grads["b"][:] = weight_grads[:, rows]
        self._add_penalty_grads()

    def _backward_samples_first(self, grad_y, need_input_grad):
        """Backward for samples-first columns; returns the flat input gradient or None."""
        n = len(grad_y)
        filters, out_h, out_w = self.output_shape
        phases = self._phases()
        # The output gradient on the wide grid in NCHW order; the wrap-around positions stay 0.
        shape = (n, filters, phases.height, phases.width)
        wide = self._wide_gradient_buffer(shape, grad_y.dtype)
        self._activation_grad(grad_y, out=wide[:, :, :out_h, :out_w])
        wide = wide.reshape(n, filters, -1)
        # Per-sample products (filters × C·k·k each), summed over the batch.
        per_sample = np.matmul(wide, self._columns.transpose(0, 2, 1))
        self._store_weight_grads(per_sample.sum(axis=0))
        if not need_input_grad:
            return None
        W = self.params["W"].reshape(filters, -1)
        return scatter_sample_columns(np.matmul(W.T, wide), phases)

    def _backward_filters_first(self, grad_y, need_input_grad):
        """Backward for the (C·k·k, N·positions) columns; the flat input gradient or None."""
        n = len(grad_y)
        filters, out_h, out_w = self.output_shape
        phases = self._phases()
        # The gradient on the wide grid, filters first so that the weight and column
        # gradients are single large products; the wrap-around positions stay 0.
        shape = (filters, n, phases.height, phases.width)
        wide = self._wide_gradient_buffer(shape, grad_y.dtype)
        self._activation_grad(grad_y, out=wide[:, :, :out_h, :out_w].transpose(1, 0, 2, 3))
        wide = wide.reshape(filters, -1)
        # Columns times gradient rather than gradient times columns: the same product, but
        # OpenBLAS does it up to 1.6× faster in this orientation (long inner dimension).
        # Against the row of ones, the last row is the bias gradient.
        self._store_weight_grads(np.matmul(self._columns, wide.T).T)
        if not need_input_grad:
            return None
        W = self.params["W"].reshape(filters, -1)
        return scatter_columns(np.matmul(W.T, wide), n, phases)


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

    def _windows_tile_input(self) -> bool:
        """True when every input value is in exactly one window (no overlap, gap or rest)."""
        _, height, width = self.input_shape
        p = self.pool_size
        return self.step == p and height % p == 0 and width % p == 0

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
        if self._halves_size():
            return self._forward_halving(x)
        y = np.empty((len(x), *self.output_shape), dtype=x.dtype)
        offsets = self._offsets()
        # p·p elementwise maxima of strided views: many times faster than
        # x.reshape(n, c, h/p, p, w/p, p).max(axis=(3, 5)), NumPy's reduction over two
        # non-adjacent short axes being slow.
        _reduce_windows(np.maximum, x, offsets, y)
        self._y = y
        return y

    def _halves_size(self) -> bool:
        """The usual 2×2 pool with stride 2 over even sizes, done in two steps (see
        _forward_halving); on odd sizes the cut-off last row and column make the steps' loops
        short, and the p·p offsets are quicker."""
        return self.pool_size == 2 and self._windows_tile_input()

    def _pairs(self, x):
        """The left and right values of each horizontal pair in the rows that windows see."""
        _, out_h, out_w = self.output_shape
        rows = x[:, :, : 2 * out_h]
        return rows[..., 0 : 2 * out_w : 2], rows[..., 1 : 2 * out_w : 2]

    def _forward_halving(self, x):
        """2×2 maxima as the maximum of horizontal pairs, then of vertical pairs of those.

        The first step reads every other value of the batch as one long loop (NumPy joins
        the rows); the second compares whole half rows. Together about a fifth quicker than
        the four offsets, whose loops are one short output row each.
        """
        n, (channels, out_h, out_w) = len(x), self.output_shape
        left, right = self._pairs(x)
        pairs = self._pair_maxima = np.maximum(left, right)
        rows = pairs.reshape(n, channels, out_h, 2, out_w)
        y = self._y = np.maximum(rows[:, :, :, 0], rows[:, :, :, 1])
        return y

    def backward(self, grad_y, need_input_grad=True):
        if self._halves_size():
            return self._backward_halving(grad_y)
        x, y = self._x, self._y
        tiles = self._windows_tile_input()
        grad_x = np.empty(x.shape, grad_y.dtype) if tiles else np.zeros(x.shape, grad_y.dtype)
        offsets = self._offsets()

        taken = np.equal(x[offsets[0]], y)  # windows whose maximum was already routed
        first_max = taken.copy()
        for number, index in enumerate(offsets):
            if number == 0:
                pass  # first_max is already this offset's equality
            elif number == len(offsets) - 1:  # the maximum is here if at no offset before
                np.logical_not(taken, out=first_max)
            else:
                np.equal(x[index], y, out=first_max)
                np.greater(first_max, taken, out=first_max)  # a maximum, and the first one
                taken |= first_max
            if tiles:
                np.multiply(grad_y, first_max, out=grad_x[index])
            else:
                grad_x[index] += grad_y * first_max
        return grad_x

    def _backward_halving(self, grad_y):
        """The two steps of _forward_halving backwards. Strict comparisons send the gradient
        to the upper row and the left value on ties: the first maximum in reading order."""
        x, pairs = self._x, self._pair_maxima
        n, (channels, out_h, out_w) = len(x), self.output_shape
        rows = pairs.reshape(n, channels, out_h, 2, out_w)
        # Kept between batches (every value is written): a new array of this size each time
        # cost about 5 % of the backward in fresh pages.
        grad_pairs = _kept_buffer(self, "_pairs_gradient", pairs.shape, grad_y.dtype)
        grad_rows = grad_pairs.reshape(rows.shape)
        lower = np.multiply(grad_y, rows[:, :, :, 1] > rows[:, :, :, 0], out=grad_rows[:, :, :, 1])
        np.subtract(grad_y, lower, out=grad_rows[:, :, :, 0])  # exact: g - g or g - 0

        _, height, width = self.input_shape
        tiles = self._windows_tile_input()
        grad_x = np.empty(x.shape, grad_y.dtype) if tiles else np.zeros(x.shape, grad_y.dtype)
        left, right = self._pairs(x)
        grad_left, grad_right = self._pairs(grad_x)
        np.multiply(grad_pairs, right > left, out=grad_right)
        np.subtract(grad_pairs, grad_right, out=grad_left)
        return grad_x


class AvgPool2D(_Pool2D):
    """Averages each pool_size×pool_size window."""

    description = "Averages each window: smaller, smoother images."

    def forward(self, x, training=False):
        y = np.empty((len(x), *self.output_shape), dtype=x.dtype)
        _reduce_windows(np.add, x, self._offsets(), y)
        y *= 1.0 / self.pool_size**2
        return y

    def backward(self, grad_y, need_input_grad=True):
        shape = (len(grad_y), *self.input_shape)
        tiles = self._windows_tile_input()
        grad_x = np.empty(shape, grad_y.dtype) if tiles else np.zeros(shape, grad_y.dtype)
        share = grad_y * (1.0 / self.pool_size**2)
        for index in self._offsets():
            if tiles:
                grad_x[index] = share
            else:
                grad_x[index] += share
        return grad_x
