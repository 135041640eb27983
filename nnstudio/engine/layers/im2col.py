"""im2col and col2im for Conv2D over *phase images* (the layer's matrix-product layout).

The input is cut into stride × stride phase images, flattened, with its zero padding above and
below (not left and right); every row of the column matrix (one channel and kernel offset, for
all samples and outputs) is then one long contiguous run of one phase image, whatever the
stride and padding, and the column gradient goes back with one long addition per kernel
offset. See Phases.
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


def dead_columns(shift: int, out_width: int, width: int):
    """The output columns (first, end) of a row ``width`` wide whose read, ``shift`` columns
    over, leaves the row (and wraps into the next or last one); None when all stay in it."""
    if shift < 0:
        return 0, -shift
    if out_width + shift > width:
        return width - shift, out_width
    return None


def zero_dead(runs, dead, out_height: int, width: int):
    """Set the ``dead`` output columns (first, end) of every row of ``runs`` (…, out_height ·
    width) to 0: values read across an edge, or the gradient of those."""
    if dead is not None:
        rows = runs.reshape(*runs.shape[:-1], out_height, width)
        rows[..., dead[0] : dead[1]] = 0


class Phases:
    """Where a convolution's input lies in its flat *phase images* (see Conv2D).

    The input is cut into stride × stride phase images, phase (a, b) holding the padded rows
    stride·r + a and the input columns stride·c + b; for stride 1 that is the image itself,
    with its zero rows above and below. Kernel offset (i, j) then reads, for all outputs, one
    contiguous run of one phase: each row of the columns is a long plain slice, whatever
    the stride, and no output is computed twice.

    The padding left and right is not stored: a row is as wide as the output where the image
    allows (``width``; for "same" padding, wider only when the phase holding the last column
    is longer), so the products compute few or no wrap-around positions. A window that
    reaches past the left or right edge reads, in the flat run, the end of the row above or
    the start of the row below instead of a zero: those values (``dead``, per kernel column)
    are set to 0 in the columns, and their gradient is dropped before col2im.
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
        _, self.out_h, self.out_w = conv.output_shape
        # Kernel column j reads input column stride·c + j - left: phase column (j - left) %
        # stride, shifted by (j - left) // stride phase columns.
        self.column_phase = [(j - left) % s for j in range(k)]
        self.column_shift = [(j - left) // s for j in range(k)]
        inside = -(-width // s)  # columns of the longest phase
        self.width = max(self.out_w, min(inside, self.out_w + max(self.column_shift)))
        self.dead = [dead_columns(shift, self.out_w, self.width) for shift in self.column_shift]
        self.positions = self.out_h * self.width  # wide outputs per sample
        reach = (k - 1) // s  # phase rows past its own that a window reads
        # Room before the first row and after the last for the reads that wrap.
        self.guard = max(0, -min(self.column_shift))
        rows = max(self.phase_h, self.out_h + reach)
        self.length = self.guard + rows * self.width + max(0, max(self.column_shift))
        self.regions = [
            (
                a * s + b,
                phase_axis(a, s, top, height, self.phase_h),
                phase_axis(b, s, 0, width, self.width),
            )
            for a in range(s)
            for b in range(s)
        ]
        # Whether the phase images hold every input value (a valid convolution's last
        # columns may be read by no output, and are then not kept).
        held = sum(
            len(range(height)[source_rows]) * len(range(width)[source_cols])
            for _, (_, source_rows), (_, source_cols) in self.regions
        )
        self.tiles = held == height * width

    def zero_dead(self, runs, j: int):
        """Set the dead output columns of kernel column j's ``runs`` (…, positions) to 0."""
        zero_dead(runs, self.dead[j], self.out_h, self.width)

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
        make = np.empty if self.tiles else np.zeros  # values no output reads get 0
        grad_x = make((first, second, height, width), dtype=grad_flat.dtype)
        for phase, (rows, source_rows), (cols, source_cols) in self.regions:
            grad_x[:, :, source_rows, source_cols] = self.image(grad_flat, phase)[:, :, rows, cols]
        return grad_x

    def image(self, flat, phase):
        """One phase image of every sample and channel, (N, C, phase rows, width), a view."""
        n, c = flat.shape[:2]
        part = flat[:, :, phase, self.guard : self.guard + self.phase_h * self.width]
        return part.reshape(n, c, self.phase_h, self.width)

    def offset_groups(self):
        """Per kernel row residue a and column residue b: the kernel rows a, a + stride, …
        and columns b, b + stride, … that read one phase: (phase, start of the first run,
        row slice, column slice, count of rows, count of columns)."""
        s, k = self.stride, self.kernel
        for a in range(min(s, k)):
            for b in range(min(s, k)):
                rows, cols = len(range(a, k, s)), len(range(b, k, s))
                phase = a * s + self.column_phase[b]
                start = self.guard + self.column_shift[b]
                yield phase, start, slice(a, k, s), slice(b, k, s), rows, cols

    def runs(self):
        """Per kernel offset (i, j): its phase and where its run starts in the phase image."""
        s = self.stride
        for i in range(self.kernel):
            for j in range(self.kernel):
                phase = (i % s) * s + self.column_phase[j]
                yield i, j, phase, self.guard + (i // s) * self.width + self.column_shift[j]


def _run_view(flat, phase, start, rows, cols, width, positions, samples_first):
    """The runs that kernel offsets (rows × cols of one phase, the first run at ``start``)
    read, as one strided view: (C, rows, cols, N, positions), or (N, C, rows, cols, positions)
    samples first."""
    n, c, phases, length = flat.shape
    item = flat.itemsize
    channel, sample = phases * length * item, c * phases * length * item
    offsets = (width * item, item)
    if samples_first:
        shape, strides = (n, c, rows, cols, positions), (sample, channel, *offsets, item)
    else:
        shape, strides = (c, rows, cols, n, positions), (channel, *offsets, sample, item)
    base = flat[:, :, phase, start:]  # starts at the first run's first value
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
    for phase, start, row_slice, col_slice, count_i, count_j in phases.offset_groups():
        view = _run_view(flat, phase, start, count_i, count_j, phases.width, positions, False)
        np.copyto(target[:, row_slice, col_slice], view)
    for j in range(k):
        phases.zero_dead(target[:, :, j], j)
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
    for phase, start, row_slice, col_slice, count_i, count_j in phases.offset_groups():
        view = _run_view(flat, phase, start, count_i, count_j, phases.width, positions, True)
        np.copyto(target[:, :, row_slice, col_slice], view)
    for j in range(k):
        phases.zero_dead(target[:, :, :, j], j)
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
    for j in range(k):  # read as 0: their gradient goes nowhere
        phases.zero_dead(grad_columns[:, :, :, j], j)
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
    for j in range(k):  # read as 0: their gradient goes nowhere
        phases.zero_dead(grad_columns[:, :, j], j)
    for i, j, phase, start in phases.runs():
        grad_flat[:, :, phase, start : start + positions] += grad_columns[:, i, j]
    return grad_flat
