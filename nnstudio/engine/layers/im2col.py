"""im2col and col2im for Conv2D over *phase images* (the layer's matrix-product layout).

The zero-padded input is cut into stride × stride phase images, flattened; every row of the
column matrix (one channel and kernel offset, for all samples and outputs) is then one long
contiguous run of one phase image, whatever the stride and padding, and the column gradient
goes back with one long addition per kernel offset. See Phases.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided


def phase_axis(phase: int, stride: int, before: int, size: int, phase_size: int):
    """Along one axis: the positions p of one phase image (padded index stride·p + phase)
    that fall inside the input, and the input indices they hold, as two slices."""
    first = max(0, -(-(before - phase) // stride))  # first p with stride·p + phase >= before
    last = min(phase_size, -(-(size + before - phase) // stride))  # ... < size + before
    if last <= first:
        return slice(0, 0), slice(0, 0)
    start = stride * first + phase - before
    return slice(first, last), slice(start, start + stride * (last - first - 1) + 1, stride)


class Phases:
    """Where a convolution's input lies in its flat *phase images* (see Conv2D).

    The zero-padded input is cut into stride × stride phase images, phase (a, b) holding the
    padded pixels (stride·r + a, stride·c + b); for stride 1 that is the padded image itself.
    Kernel offset (i, j) then reads, for all outputs, one contiguous run of phase
    (i % stride, j % stride), starting at (i // stride)·width + j // stride: each row of the
    columns is a long plain slice, whatever the stride, and no output is computed twice.
    Only the wrap-around columns (width - out_width per output row) are extra.
    """

    @staticmethod
    def key_of(conv) -> tuple:
        """What the layout depends on: a layer whose key changed needs a new one."""
        return (conv.input_shape, conv.stride, conv.kernel_size, conv.padding)

    def __init__(self, conv):
        self.key = self.key_of(conv)
        _, height, width = conv.input_shape
        s, k = conv.stride, conv.kernel_size
        self.stride, self.kernel = s, k
        self.pads = ((top, _), (left, _)) = (conv._padding_for(height), conv._padding_for(width))
        self.phase_h = -(-(height + sum(self.pads[0])) // s)
        self.width = -(-(width + sum(self.pads[1])) // s)  # of a phase image: the wide grid
        _, self.out_h, self.out_w = conv.output_shape
        self.positions = self.out_h * self.width  # wide outputs per sample
        reach = (k - 1) // s  # phase rows (and columns) past its own that a window reads
        # One flat phase image, with room for the wrap-around reads past its last row.
        self.length = (max(self.phase_h, self.out_h + reach) + 1) * self.width + reach
        self.regions = [
            (
                a * s + b,
                phase_axis(a, s, top, height, self.phase_h),
                phase_axis(b, s, left, width, self.width),
            )
            for a in range(s)
            for b in range(s)
        ]

    def split(self, x):
        """The phase images of ``x`` (N, C, H, W), flat: (N, C, stride², length)."""
        n, c = x.shape[:2]
        s = self.stride
        flat = np.zeros((n, c, s * s, self.length), dtype=x.dtype)
        for phase, (rows, source_rows), (cols, source_cols) in self.regions:
            image = self.image(flat, phase)
            image[:, :, rows, cols] = x[:, :, source_rows, source_cols]
        return flat

    def merge(self, grad_flat, height, width):
        """The phase images' gradient back on the input: (N, C, stride², length) → NCHW, or
        channels first, (C, N, stride², length) → (C, N, H, W)."""
        first, second = grad_flat.shape[:2]
        grad_x = np.empty((first, second, height, width), dtype=grad_flat.dtype)  # phases tile it
        for phase, (rows, source_rows), (cols, source_cols) in self.regions:
            grad_x[:, :, source_rows, source_cols] = self.image(grad_flat, phase)[:, :, rows, cols]
        return grad_x

    def image(self, flat, phase):
        """One phase image of every sample and channel, (N, C, phase rows, width), a view."""
        n, c = flat.shape[:2]
        part = flat[:, :, phase, : self.phase_h * self.width]
        return part.reshape(n, c, self.phase_h, self.width)

    def offset_groups(self):
        """Per phase (a, b): the kernel rows a, a + stride, … and columns b, b + stride, …
        that read it: (phase, row slice, column slice, count of rows, count of columns)."""
        s, k = self.stride, self.kernel
        for a in range(min(s, k)):
            for b in range(min(s, k)):
                rows, cols = len(range(a, k, s)), len(range(b, k, s))
                yield a * s + b, slice(a, k, s), slice(b, k, s), rows, cols

    def runs(self):
        """Per kernel offset (i, j): its phase and where its run starts in the phase image."""
        s = self.stride
        for i in range(self.kernel):
            for j in range(self.kernel):
                yield i, j, (i % s) * s + j % s, (i // s) * self.width + j // s


def _run_view(flat, phase, rows, cols, width, positions, samples_first):
    """The runs that kernel offsets (rows × cols of one phase) read, as one strided view:
    (C, rows, cols, N, positions), or (N, C, rows, cols, positions) samples first."""
    n, c, phases, length = flat.shape
    item = flat.itemsize
    channel, sample = phases * length * item, c * phases * length * item
    offsets = (width * item, item)
    if samples_first:
        shape, strides = (n, c, rows, cols, positions), (sample, channel, *offsets, item)
    else:
        shape, strides = (c, rows, cols, n, positions), (channel, *offsets, sample, item)
    base = flat[:, :, phase:]  # starts at this phase's first value
    return as_strided(base, shape=shape, strides=strides, writeable=False)


def wide_columns(flat, phases: Phases, ones_row=False):
    """im2col over flat phase images: (N, C, stride², L) → (C·k·k, N·out_h·width), plus a
    last row of ones with ``ones_row`` (the bias then rides along in the matrix products).

    Row (c, i, j) holds, for every sample n, the run of offset (i, j) (see Phases): wide
    output position m = r·width + col (col < width, of which only col < out_width are real).
    Each row is N long slices of the phase images, so the copy is fast.
    """
    n, c = flat.shape[:2]
    k, positions = phases.kernel, phases.positions
    rows = c * k * k
    columns = np.empty((rows + ones_row, n * positions), dtype=flat.dtype)
    target = columns[:rows].reshape(c, k, k, n, positions)
    for phase, row_slice, col_slice, count_i, count_j in phases.offset_groups():
        view = _run_view(flat, phase, count_i, count_j, phases.width, positions, False)
        np.copyto(target[:, row_slice, col_slice], view)
    if ones_row:
        columns[rows] = 1.0
    return columns


def sample_columns(flat, phases: Phases, ones_row=False):
    """im2col like wide_columns, samples first: (N, C, stride², L) → (N, C·k·k (+1),
    out_h·width).

    Each sample's columns are then a matrix of its own, and W times them (a stacked product)
    lands directly in NCHW order: no transposed copy of the output, which for layers with few
    input values per window (the first layer on a grey image: C·k·k = 9) costs more than the
    product itself.
    """
    n, c = flat.shape[:2]
    k, positions = phases.kernel, phases.positions
    rows = c * k * k
    columns = np.empty((n, rows + ones_row, positions), dtype=flat.dtype)
    target = columns[:, :rows].reshape(n, c, k, k, positions)
    for phase, row_slice, col_slice, count_i, count_j in phases.offset_groups():
        view = _run_view(flat, phase, count_i, count_j, phases.width, positions, True)
        np.copyto(target[:, :, row_slice, col_slice], view)
    if ones_row:
        columns[:, rows] = 1.0
    return columns


def scatter_sample_columns(grad_columns, channels, phases: Phases):
    """col2im for sample_columns: (N, C·k·k, positions) → (N, C, stride², L), one long
    strided addition per kernel offset."""
    n, _, positions = grad_columns.shape
    s, k = phases.stride, phases.kernel
    grad_flat = np.zeros((n, channels, s * s, phases.length), dtype=grad_columns.dtype)
    grad_columns = grad_columns.reshape(n, channels, k, k, positions)
    for i, j, phase, start in phases.runs():
        grad_flat[:, :, phase, start : start + positions] += grad_columns[:, :, i, j]
    return grad_flat


def scatter_columns(grad_columns, n, channels, phases: Phases):
    """col2im for wide_columns: one long addition per kernel offset → (C, N, stride², L),
    channels first as the columns are (adding them into samples-first images instead, a
    transposed read, took about a sixth longer on the MNIST CNN's second layer)."""
    s, k, positions = phases.stride, phases.kernel, phases.positions
    grad_flat = np.zeros((channels, n, s * s, phases.length), dtype=grad_columns.dtype)
    grad_columns = grad_columns.reshape(channels, k, k, n, positions)
    for i, j, phase, start in phases.runs():
        grad_flat[:, :, phase, start : start + positions] += grad_columns[:, i, j]
    return grad_flat
