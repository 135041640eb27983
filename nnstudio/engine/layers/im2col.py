"""im2col and col2im for Conv2D over *phase images* (the layer's matrix-product layout).

The input is cut into stride × stride phase images, without its zero padding, and each
channel's phase images of all samples are laid end to end; every row of the column matrix
(one channel and kernel offset, for all samples and outputs) is then one long contiguous run
of one phase, whatever the stride and padding, and the column gradient goes back with one
long addition per kernel offset. See Phases.
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


def kept_positions(out: int, size: int, stride: int, shifts) -> int:
    """Along one axis, how many positions a sample's phase image keeps: the output's, or a
    little more when the outputs read further inside the image (a longer phase of an odd
    size, a valid convolution's reach); ``shifts``: how far over each kernel offset reads."""
    inside = -(-size // stride)  # positions of the longest phase
    return max(out, min(inside, out + max(shifts)))


def dead_columns(shift: int, out_width: int, width: int):
    """The output columns (first, end) of a row ``width`` wide whose read, ``shift`` columns
    over, leaves the row (and wraps into the next or last one); None when all stay in it.
    The same for rows of a sample's image ``width`` rows high."""
    if shift < 0:
        return 0, -shift
    if out_width + shift > width:  # all of them when the shift is the row's width or more
        return max(0, width - shift), out_width
    return None


def zero_dead(runs, dead_rows, dead_cols, height: int, width: int):
    """Set the dead rows and columns ((first, end) or None) of every sample's image in
    ``runs`` (…, samples · height · width) to 0: values read across an edge (from the row or
    sample before or after), or the gradient of those."""
    if dead_rows is None and dead_cols is None:
        return
    images = runs.reshape(*runs.shape[:-1], -1, height, width)
    if dead_rows is not None:
        images[..., dead_rows[0] : dead_rows[1], :] = 0
    if dead_cols is not None:
        images[..., dead_cols[0] : dead_cols[1]] = 0


class Phases:
    """Where a convolution's input lies in its flat *phase images* (see Conv2D).

    The input is cut into stride × stride phase images, phase (a, b) holding the input rows
    stride·r + a and columns stride·c + b (for stride 1, the image itself), with no padding:
    a sample's image keeps the output's rows and columns wherever the image allows
    (``height`` × ``width``; for "same" padding, more only when an odd size leaves one phase
    longer). Each channel's images of all samples lie end to end, (C, stride², length). Kernel
    offset (i, j) then reads, for all samples and outputs, one contiguous run of one phase:
    each row of the columns is one long plain slice, and the products compute few or no
    positions that are not outputs ("wrap-around" ones, cut away afterwards).

    A window that reaches past an edge reads, in the flat run, the end of the row (or sample)
    before or the start of the one after, instead of a zero of the padding: those values
    (``dead_rows`` per kernel row, ``dead`` per kernel column) are set to 0 in the columns,
    and their gradient is dropped before col2im.
    """

    @staticmethod
    def key_of(conv) -> tuple:
        """What the layout depends on: a layer whose key changed needs a new one."""
        return (conv.input_shape, conv.stride, conv.kernel_size, conv.padding)

    def __init__(self, conv):
        self.key = self.key_of(conv)
        self.channels, height, width = conv.input_shape
        s, k = conv.stride, conv.kernel_size
        self.stride, self.kernel = s, k
        self.pads = ((top, _), (left, _)) = (conv._padding_for(height), conv._padding_for(width))
        _, self.out_h, self.out_w = conv.output_shape
        # Kernel row i reads input row stride·r + i - top: phase row (i - top) % stride,
        # shifted by (i - top) // stride phase rows; the same for the columns.
        self.row_phase, self.row_shift = _phase_and_shift(top, k, s)
        self.column_phase, self.column_shift = _phase_and_shift(left, k, s)
        self.height = kept_positions(self.out_h, height, s, self.row_shift)
        self.width = kept_positions(self.out_w, width, s, self.column_shift)
        self.positions = self.height * self.width  # per sample, wrap-around included
        self.dead_rows = [dead_columns(shift, self.out_h, self.height) for shift in self.row_shift]
        self.dead = [dead_columns(shift, self.out_w, self.width) for shift in self.column_shift]
        # Room before the first sample and after the last for the reads that wrap.
        self.guard = max(0, -(min(self.row_shift) * self.width + min(self.column_shift)))
        self.tail = max(0, max(self.row_shift) * self.width + max(self.column_shift))
        self.regions = [
            (
                a * s + b,
                phase_axis(a, s, 0, height, self.height),
                phase_axis(b, s, 0, width, self.width),
            )
            for a in range(s)
            for b in range(s)
        ]
        # Whether the phase images hold every input value (a valid convolution's last rows
        # and columns may be read by no output, and are then not kept).
        held = sum(
            len(range(height)[source_rows]) * len(range(width)[source_cols])
            for _, (_, source_rows), (_, source_cols) in self.regions
        )
        self.tiles = held == height * width

    def length(self, n: int) -> int:
        """Of one channel's flat phase image for ``n`` samples, the guards included."""
        return self.guard + n * self.positions + self.tail

    def zero_dead(self, runs, i: int | None = None, j: int | None = None):
        """Set to 0 what kernel row i's and kernel column j's ``runs`` (…, samples ·
        positions) read across an edge (either may be None: that axis is left alone)."""
        rows = None if i is None else self.dead_rows[i]
        columns = None if j is None else self.dead[j]
        zero_dead(runs, rows, columns, self.height, self.width)

    def zero_all_dead(self, offsets):
        """zero_dead for every kernel row and column: ``offsets(i, None)`` gives the view of
        kernel row i's runs, ``offsets(None, j)`` that of kernel column j's."""
        for index in range(self.kernel):
            self.zero_dead(offsets(index, None), i=index)
            self.zero_dead(offsets(None, index), j=index)

    def split(self, x):
        """The phase images of ``x`` (N, C, H, W), flat, channels first: (C, stride², length)."""
        n = len(x)
        flat = np.zeros((self.channels, self.stride**2, self.length(n)), dtype=x.dtype)
        channels_first = x.transpose(1, 0, 2, 3)
        for phase, (rows, source_rows), (cols, source_cols) in self.regions:
            image = self.image(flat, phase, n)
            image[:, :, rows, cols] = channels_first[:, :, source_rows, source_cols]
        return flat

    def merge(self, grad_flat, n: int, height: int, width: int):
        """The phase images' gradient back on the input, channels first: (C, N, H, W)."""
        make = np.empty if self.tiles else np.zeros  # values no output reads get 0
        grad_x = make((self.channels, n, height, width), dtype=grad_flat.dtype)
        for phase, (rows, source_rows), (cols, source_cols) in self.regions:
            grad_x[:, :, source_rows, source_cols] = self.image(grad_flat, phase, n)[
                :, :, rows, cols
            ]
        return grad_x

    def image(self, flat, phase: int, n: int):
        """One phase image of every channel and sample, (C, N, height, width), a view."""
        part = flat[:, phase, self.guard : self.guard + n * self.positions]
        return part.reshape(self.channels, n, self.height, self.width)

    def offset_groups(self):
        """Per kernel row residue a and column residue b: the kernel rows a, a + stride, …
        and columns b, b + stride, … that read one phase: (phase, start of the first run,
        row slice, column slice, count of rows, count of columns)."""
        s, k = self.stride, self.kernel
        for a in range(min(s, k)):
            for b in range(min(s, k)):
                rows, cols = len(range(a, k, s)), len(range(b, k, s))
                yield (
                    self.phase_of(a, b),
                    self.start_of(a, b),
                    slice(a, k, s),
                    slice(b, k, s),
                    rows,
                    cols,
                )

    def phase_of(self, i: int, j: int) -> int:
        """The phase that kernel offset (i, j) reads."""
        return self.row_phase[i] * self.stride + self.column_phase[j]

    def start_of(self, i: int, j: int) -> int:
        """Where kernel offset (i, j)'s run starts in its channel's flat phase image."""
        return self.guard + self.row_shift[i] * self.width + self.column_shift[j]


def _phase_and_shift(before: int, kernel: int, stride: int):
    """Per kernel offset along one axis: the phase it reads and its shift in that phase."""
    offsets = [i - before for i in range(kernel)]
    return [offset % stride for offset in offsets], [offset // stride for offset in offsets]


def _run_view(flat, phase, start, rows, cols, phases: Phases, n, samples_first):
    """The runs that kernel offsets (rows × cols of one phase, the first run at ``start``)
    read, as one strided view: (C, rows, cols, N·positions), or samples first (N, C, rows,
    cols, positions)."""
    item = flat.itemsize
    channel = flat.strides[0]
    offsets = (phases.width * item, item)  # the next kernel row reads one phase row lower
    positions = phases.positions
    if samples_first:
        shape = (n, flat.shape[0], rows, cols, positions)
        strides = (positions * item, channel, *offsets, item)
    else:
        shape, strides = (flat.shape[0], rows, cols, n * positions), (channel, *offsets, item)
    base = flat[:, phase, start:]  # starts at the first run's first value
    return as_strided(base, shape=shape, strides=strides, writeable=False)


def wide_columns(flat, phases: Phases, n: int, ones_row=False):
    """im2col over flat phase images: (C, stride², length) → (C·k·k, N·positions), plus a
    last row of ones with ``ones_row`` (the bias then rides along in the matrix products).

    Row (c, i, j) holds the run of offset (i, j) (see Phases): for every sample, its wide
    output positions m = r·width + col (only r < out_h, col < out_w are outputs). Each row
    is one long slice of a phase, so the copy is fast.
    """
    c, k = phases.channels, phases.kernel
    rows = c * k * k
    columns = np.empty((rows + ones_row, n * phases.positions), dtype=flat.dtype)
    target = columns[:rows].reshape(c, k, k, -1)
    for phase, start, row_slice, col_slice, count_i, count_j in phases.offset_groups():
        view = _run_view(flat, phase, start, count_i, count_j, phases, n, False)
        np.copyto(target[:, row_slice, col_slice], view)
    phases.zero_all_dead(lambda i, j: target[:, i] if j is None else target[:, :, j])
    if ones_row:
        columns[rows] = 1.0
    return columns


def sample_columns(flat, phases: Phases, n: int, ones_row=False):
    """im2col like wide_columns, samples first: (C, stride², length) → (N, C·k·k (+1),
    positions).

    Each sample's columns are then a matrix of its own, and W times them (a stacked product)
    lands directly in NCHW order: no transposed copy of the output, which for layers with few
    input values per window (the first layer on a grey image: C·k·k = 9) costs more than the
    product itself.
    """
    c, k = phases.channels, phases.kernel
    rows = c * k * k
    columns = np.empty((n, rows + ones_row, phases.positions), dtype=flat.dtype)
    target = columns[:, :rows].reshape(n, c, k, k, -1)
    for phase, start, row_slice, col_slice, count_i, count_j in phases.offset_groups():
        view = _run_view(flat, phase, start, count_i, count_j, phases, n, True)
        np.copyto(target[:, :, row_slice, col_slice], view)
    phases.zero_all_dead(lambda i, j: target[:, :, i] if j is None else target[:, :, :, j])
    if ones_row:
        columns[:, rows] = 1.0
    return columns


def scatter_columns(grad_columns, n: int, phases: Phases):
    """col2im for wide_columns: one long addition per kernel offset → (C, stride², length)."""
    c, k = phases.channels, phases.kernel
    grad_flat = np.zeros((c, phases.stride**2, phases.length(n)), dtype=grad_columns.dtype)
    grad_columns = grad_columns.reshape(c, k, k, -1)
    # Read as 0: their gradient goes nowhere.
    phases.zero_all_dead(lambda i, j: grad_columns[:, i] if j is None else grad_columns[:, :, j])
    size = n * phases.positions
    for i in range(k):
        for j in range(k):
            start = phases.start_of(i, j)
            grad_flat[:, phases.phase_of(i, j), start : start + size] += grad_columns[:, i, j]
    return grad_flat


def scatter_sample_columns(grad_columns, phases: Phases):
    """col2im for sample_columns: (N, C·k·k, positions) → (C, stride², length), one strided
    addition per kernel offset."""
    n = len(grad_columns)
    c, k = phases.channels, phases.kernel
    grad_flat = np.zeros((c, phases.stride**2, phases.length(n)), dtype=grad_columns.dtype)
    grad_columns = grad_columns.reshape(n, c, k, k, -1)
    phases.zero_all_dead(
        lambda i, j: grad_columns[:, :, i] if j is None else grad_columns[:, :, :, j]
    )
    size = n * phases.positions
    for i in range(k):
        for j in range(k):
            start = phases.start_of(i, j)
            runs = grad_flat[:, phases.phase_of(i, j), start : start + size]
            runs.reshape(c, n, -1)[...] += grad_columns[:, :, i, j].transpose(1, 0, 2)
    return grad_flat
