"""Conv2D followed by MaxPool2D(2) computed as one step while training (``ConvMaxPool``).

A 2×2 max-pool keeps one of every four convolution outputs. Computed apart, the convolution
writes all of them in image order, and the pool then picks every other value of every row
(short strided loops, forward and, three times over, backward). Computed together, the
convolution's outputs come out grouped by their place in the pool window — all top-left
partners, then all top-right, bottom-left, bottom-right — so the pool is three maxima of long
contiguous blocks and its backward a few long elementwise passes; outputs that no window
keeps (the last row and column of an odd-sized image) are not computed at all.

How: the input is split into its four "phase" images (even/odd rows × even/odd columns,
each about half the size). Output (2a + di, 2b + dj) of a stride-1 k×k convolution reads
padded row 2a + di + i = 2(a + (di + i) // 2) + (di + i) % 2: row a + (di + i) // 2 of
phase (di + i) % 2, and likewise for the columns. So for every kernel offset (i, j) and
window place (di, dj), the values that all windows of all samples need are one contiguous
run of a flattened phase image (the im2col trick of conv.py on half-size images; a sample's
image is as large as the pooled output where the image allows, and the samples' images
follow each other, so no wrap-around positions are computed: see _PhaseGeometry).

Place (di, dj) and offset (i, j) read the run of (di + i, dj + j), so (k + 1)² runs per
channel serve all four places: each is copied once, filters first, as (C·(k+1)² + 1,
N samples · positions), and multiplied by the places' weights side by side, with zeros where
a place reads no run: the upper row's two places over the runs of u = di + i < k, the lower
row's over u > 0 (two products, each over three quarters of the rows for k = 3). That is more
arithmetic than a column matrix per place (4/3 for k = 3 in forward and the weight gradient,
16/9 in the input gradient's single product), but less than half the memory to write and read
again, a better shape for BLAS, and the input gradient comes out of its product already
summed per run. Measured on the bench's same-padding CNN (one thread), the second layer's
step took about 0.9× the time of columns per place.

The result is exactly that of the two layers apart: max(relu(z)) = relu(max(z)) (ReLU is
monotone), the bias still rides in the product, and the gradient goes to the first maximum
of each window in reading order, as MaxPool2D sends it. Only ReLU and linear convolutions of
stride 1 are fused; others, and layers that record their internals for the explainer, run
apart. Sequential fuses only in training (``training_steps``); evaluation runs layer by layer.
NNSTUDIO_FUSE_CONV_POOL=0 runs every layer apart in training too (to compare the two).
"""

from __future__ import annotations

import os

import numpy as np

from nnstudio.engine.layers.conv import Conv2D, MaxPool2D
from nnstudio.engine.layers.im2col import dead_columns, kept_positions, phase_axis, zero_dead

FUSED_ACTIVATIONS = ("linear", "relu")
#: How much of the four places' values the pool compares at a time (see ConvMaxPool._pool):
#: well inside a core's L2 cache.
POOL_BLOCK_BYTES = 1 << 20
#: The four places of a 2×2 window in reading order: (row, column) within the window.
PLACES = ((0, 0), (0, 1), (1, 0), (1, 1))


def can_fuse(layer, following) -> bool:
    """Whether ``layer`` and the layer after it can run as one ConvMaxPool step."""
    return (
        type(layer) is Conv2D
        and type(following) is MaxPool2D
        and layer.stride == 1
        and layer.activation in FUSED_ACTIVATIONS
        and not layer.record_internals
        and following.pool_size == 2
        and following.step == 2
    )


def training_steps(layers, cache: dict) -> list[tuple[int, object]]:
    """The layers as training runs them: [(index of the first layer, step)], where a step is
    a layer or a ConvMaxPool over two. ``cache`` keeps the fused steps (and their buffers)
    from one batch to the next; it is keyed by the conv layer's index."""
    if os.environ.get("NNSTUDIO_FUSE_CONV_POOL") == "0":
        return list(enumerate(layers))
    steps, index = [], 0
    while index < len(layers):
        layer = layers[index]
        following = layers[index + 1] if index + 1 < len(layers) else None
        if following is not None and can_fuse(layer, following):
            step = cache.get(index)
            if step is None or not step.runs(layer, following):
                step = cache[index] = ConvMaxPool(layer, following)
            steps.append((index, step))
            index += 2
        else:
            steps.append((index, layer))
            index += 1
    return steps


class _PhaseGeometry:
    """Where the phase images and the runs of a ConvMaxPool lie (see the module doc).

    The phase images hold no padding: a sample's image has the pooled output's rows and
    columns wherever the image allows (even sizes with "same" padding), and the samples'
    images follow each other, so that a run for all samples is one contiguous slice and the
    products compute only real outputs. A window reaching past an edge then reads, in the
    flat run, the end of the row (or sample) before or the start of the one after; those
    values (``dead`` rows and columns below) are set to 0 in the runs, and their gradient is
    dropped before it is summed back.
    """

    def __init__(self, conv: Conv2D):
        self.channels, self.height, self.width = conv.input_shape
        self.filters = conv.filters
        self.kernel = k = conv.kernel_size
        (top, _), (left, _) = conv._phases().pads
        _, out_h, out_w = conv.output_shape
        self.out_h, self.out_w = out_h // 2, out_w // 2  # the pooled size
        # Window place d and kernel offset i read input row (column) 2·a + d + i - padding.
        self.span = k + 1  # d + i takes k + 1 values
        row_shifts = [(u - top) // 2 for u in range(self.span)]
        column_shifts = [(v - left) // 2 for v in range(self.span)]
        self.phase_h = kept_positions(self.out_h, self.height, 2, row_shifts)
        self.phase_w = kept_positions(self.out_w, self.width, 2, column_shifts)
        self.positions = self.phase_h * self.phase_w  # per sample and place
        # Room before the first sample and after the last for the runs' reads that wrap.
        self.guard = max(0, -(min(row_shifts) * self.phase_w + min(column_shifts)))
        self.tail = max(0, max(row_shifts) * self.phase_w + max(column_shifts))
        # Window place (di, dj) and kernel offset (i, j) read the run of (u, v) = (di + i,
        # dj + j): (k + 1)² runs per channel serve all four places (16 instead of 36 for
        # k = 3), each copied once. Worked out once here, used by every batch.
        # Rows of the runs: by u, then channel, then v, with the row of ones (for the bias)
        # just before the last u, so that the places of a window's upper row (u < k) and
        # those of its lower row (u > 0) each read one contiguous band of rows, ones included:
        # two products over three quarters of the rows instead of one over all of them.
        self.block = self.channels * self.span  # rows per u
        self.bias = int(conv.use_bias)
        self.ones_row = k * self.block
        self.total_rows = self.span * self.block + self.bias
        self.bands = (slice(0, k * self.block + self.bias), slice(self.block, self.total_rows))
        self.phase_regions = tuple(self._phase_region(*place) for place in PLACES)
        self.shared_runs = tuple(self._shared_runs(top, left, row_shifts, column_shifts))
        self.weight_columns = tuple(self._weight_columns(*place) for place in PLACES)

    def run_row(self, u: int, c, v: int):
        """The row of run (c, u, v) among the runs (see the row order above)."""
        return u * self.block + self.bias * (u == self.kernel) + c * self.span + v

    def _phase_region(self, phase_row: int, phase_col: int):
        """(rows, columns) of one phase image that fall inside the input, and the input
        rows and columns (strided slices) that they hold."""
        rows, source_rows = phase_axis(phase_row, 2, 0, self.height, self.phase_h)
        cols, source_cols = phase_axis(phase_col, 2, 0, self.width, self.phase_w)
        return rows, cols, source_rows, source_cols

    def _shared_runs(self, top, left, row_shifts, column_shifts):
        """For each (u, v): its row among a channel's runs, the phase image, the start of its
        contiguous run there, and the dead rows and columns ((first, end), or None) of each
        sample's outputs, whose reads left the sample's image."""
        for u in range(self.span):
            for v in range(self.span):
                phase = 2 * ((u - top) % 2) + (v - left) % 2
                down, across = row_shifts[u], column_shifts[v]
                start = self.guard + down * self.phase_w + across
                dead_rows = dead_columns(down, self.out_h, self.phase_h)
                dead = (dead_rows, dead_columns(across, self.out_w, self.phase_w))
                yield self.run_row(u, 0, v), phase, start, dead

    def _weight_columns(self, di: int, dj: int):
        """Where W's columns (c, i, j), and then the bias, stand among the rows of the band
        that window place (di, dj) reads: run (c, di + i, dj + j), and the row of ones."""
        c, i, j = np.meshgrid(
            *(np.arange(n) for n in (self.channels, self.kernel, self.kernel)), indexing="ij"
        )
        rows = [
            self.run_row(di + i_, c_, dj + j_)
            for c_, i_, j_ in zip(c.ravel(), i.ravel(), j.ravel(), strict=True)
        ]
        rows += [self.ones_row] * self.bias
        return np.array(rows) - self.bands[di].start

    def length(self, n: int) -> int:
        """Of a channel's flat phase image for ``n`` samples, guards included."""
        return self.guard + n * self.positions + self.tail

    def phase_images(self, phases, phase: int, n: int):
        """One phase's images of all samples, (C, N, phase rows, phase columns), as a view of
        a (C, 4, length) array."""
        flat = phases[:, phase, self.guard : self.guard + n * self.positions]
        return flat.reshape(self.channels, n, self.phase_h, self.phase_w)

    def zero_dead(self, runs, dead):
        """Set the dead rows and columns of ``runs`` (C, N · positions) to 0."""
        zero_dead(runs, *dead, self.phase_h, self.phase_w)


class ConvMaxPool:
    """A Conv2D (stride 1, ReLU or linear) and the MaxPool2D(2) after it as one training step.

    ``forward(x, training)`` and ``backward(grad_y, need_input_grad)`` behave as the two
    layers' would one after the other; the conv layer's gradients are filled as its own
    backward fills them, and its ``last_activation()`` reads this step's outputs.
    """

    def __init__(self, conv: Conv2D, pool: MaxPool2D):
        self.conv, self.pool = conv, pool
        self.input_shape = conv.input_shape
        self.geometry = _PhaseGeometry(conv)
        self._buffers: dict[str, np.ndarray] = {}

    def __getstate__(self):
        """Copies (the inspector and the doctor deep-copy models) leave the buffers and the
        last batch's caches behind: megabytes that the copy would remake on its first batch."""
        state = self.__dict__.copy()
        state["_buffers"] = {}
        for cache in ("_z", "_choices", "_y", "_runs_used"):
            state.pop(cache, None)
        return state

    def runs(self, conv, pool) -> bool:
        """Whether this step still stands for these two layers, as built now."""
        return self.conv is conv and self.pool is pool and conv.input_shape == self.input_shape

    def _buffer(self, name, shape, dtype, fill=None):
        """An array kept between batches (reallocated when the batch size changes)."""
        buffer = self._buffers.get(name)
        if buffer is None or buffer.shape != shape or buffer.dtype != dtype:
            buffer = self._buffers[name] = np.empty(shape, dtype)
            if fill is not None:
                buffer.fill(fill)
        return buffer

    # --- forward ------------------------------------------------------------------------

    def forward(self, x, training=False):
        g, conv = self.geometry, self.conv
        n = len(x)
        runs = self._runs(self._split_phases(x), n, x.dtype)
        # All four places in one product: (4 places · filters, N · positions).
        z = self._z = self._buffer("z", (4 * g.filters, runs.shape[1]), x.dtype)
        self._band_products(runs, self._place_weights(x.dtype), z)
        places = z.reshape(4, g.filters, -1)
        pooled = np.empty(places.shape[1:], x.dtype)  # new memory: the output is a view
        self._choices = self._pool(places, pooled)
        # Handed on channels first, as computed: an NCHW view of (filters, N, rows, columns)
        # without the wrap-around columns. A next fused step reads it in this order (no
        # transposed copies on either side); Flatten copies it once, as it would have been.
        y = pooled.reshape(g.filters, n, g.phase_h, g.phase_w)[:, :, : g.out_h, : g.out_w]
        self._y = y = y.transpose(1, 0, 2, 3)
        conv._y = conv._z = None
        conv._fused_step = self  # conv.last_activation() reads conv_activations()
        return y

    def _pool(self, places, pooled):
        """The windows' maxima into ``pooled`` (ReLU applied), and what backward routes by,
        as bytes: whether the right value wins in the upper pair, in the lower pair, whether
        the lower pair wins, and for ReLU whether the maximum is positive.

        A few filters at a time (their four places within POOL_BLOCK_BYTES), so that the
        comparisons read values that the maxima just brought into the cache: backward then
        reads these bytes instead of the four places' values again from memory (on the
        bench's first layer, 6 MB a batch)."""
        filters, count = pooled.shape
        relu = self.conv.activation == "relu"
        choices = self._buffer("choices", (3 + relu, filters, count), np.bool_)
        block = max(1, POOL_BLOCK_BYTES // (4 * count * places.itemsize))
        pairs = self._buffer("pairs", (2, min(block, filters), count), places.dtype)
        for first in range(0, filters, block):
            part = slice(first, first + block)
            top_left, top_right, bottom_left, bottom_right = places[:, part]
            upper, lower = pairs[:, : len(top_left)]
            np.maximum(top_left, top_right, out=upper)
            np.greater(top_right, top_left, out=choices[0, part])
            np.maximum(bottom_left, bottom_right, out=lower)
            np.greater(bottom_right, bottom_left, out=choices[1, part])
            np.greater(lower, upper, out=choices[2, part])
            np.maximum(upper, lower, out=pooled[part])
            if relu:
                np.greater(pooled[part], 0, out=choices[3, part])
                np.maximum(pooled[part], 0, out=pooled[part])
        return choices

    def _split_phases(self, x):
        """The four phase images of the input, as (C, 4, length): samples one after another."""
        g = self.geometry
        shape = (g.channels, 4, g.length(len(x)))
        phases = self._buffer("phases", shape, x.dtype, fill=0.0)  # outside the image: 0
        for phase, (rows, cols, source_rows, source_cols) in enumerate(g.phase_regions):
            image = g.phase_images(phases, phase, len(x))
            image[:, :, rows, cols] = x[:, :, source_rows, source_cols].transpose(1, 0, 2, 3)
        return phases

    def _runs(self, phases, n, dtype):
        """im2col over the shared runs: (C·(k+1)² (+1 row of ones), N·positions), row
        run_row(u, c, v) the run that place (di, dj) reads for kernel offset (u - di, v - dj)."""
        g = self.geometry
        runs = self._buffer("runs", (g.total_rows, n * g.positions), dtype)
        if g.bias:
            runs[g.ones_row] = 1.0
        for row, phase, start, dead in g.shared_runs:
            target = runs[row : row + g.block : g.span]  # run (c, u, v) of every channel c
            np.copyto(target, phases[:, phase, start : start + n * g.positions])
            g.zero_dead(target, dead)
        self._runs_used = runs
        return runs

    def _place_weights(self, dtype):
        """W and b for each place over the band of runs it reads, (4, filters, band rows):
        place (di, dj)'s W[f, c, i, j] at run (c, di + i, dj + j), zeros elsewhere (a quarter
        of it for k = 3: the products do more arithmetic than columns per place would, but
        over less than half the memory, and at a better shape for BLAS)."""
        g, conv = self.geometry, self.conv
        band = g.bands[0].stop
        weights = self._buffer("place_weights", (4, g.filters, band), dtype, fill=0.0)
        W = conv.params["W"].reshape(g.filters, -1)
        if conv.use_bias:
            W = np.hstack([W, conv.params["b"][:, None]])
        for place, columns in enumerate(g.weight_columns):
            weights[place][:, columns] = W  # the same places each time: the zeros stay
        return weights

    def _band_products(self, runs, weights, z):
        """z for the upper row's two places and the lower row's, each from its band."""
        g = self.geometry
        for half, band in enumerate(g.bands):
            pair = weights[2 * half : 2 * half + 2].reshape(2 * g.filters, -1)
            np.matmul(pair, runs[band], out=z[2 * half * g.filters : 2 * (half + 1) * g.filters])

    def conv_activations(self):
        """The conv layer's outputs that the pool saw, (N, filters, 4 places, H/2, W/2):
        what the training doctor samples as the layer's activations (None before a forward)."""
        if getattr(self, "_z", None) is None:
            return None  # a copy made between batches: no forward yet
        g = self.geometry
        n = self._y.shape[0]
        z = self._z.reshape(4, g.filters, n, g.phase_h, g.phase_w)[..., : g.out_h, : g.out_w]
        z = z.transpose(2, 1, 0, 3, 4)
        return np.maximum(z, 0) if self.conv.activation == "relu" else z

    # --- backward -----------------------------------------------------------------------

    def backward(self, grad_y, need_input_grad=True):
        g, conv = self.geometry, self.conv
        n = len(grad_y)
        grad_pooled = self._pooled_gradient(grad_y)
        grad_z = self._route(grad_pooled, n, grad_y.dtype).reshape(4 * g.filters, -1)
        conv._store_weight_grads(self._weight_grads(grad_z))
        if not need_input_grad:
            return None
        # The input gradient as one product and col2im. Measured slower on the bench's second
        # layer (16→32 channels, 14×14, one thread): a "full" correlation of the output
        # gradient (its columns, twice as many rows here, and one product) about 1.5×, a
        # product per group of runs (no col2im) 1.1×, channels-last phase images 1.7×.
        # Each run's gradient, summed over the places and offsets that read it: one product
        # over all the rows, the zeros of the places' weights included (three products by
        # rows, the bands' own and their overlap, skip the zeros but measured 2 % slower).
        grad_runs = np.matmul(self._stacked_weights(grad_y.dtype).T, grad_z)
        return self._merge_phases(self._scatter(grad_runs, n, grad_y.dtype), n)

    def _stacked_weights(self, dtype):
        """The places' weights over all the runs' rows, (4 · filters, rows)."""
        g = self.geometry
        stacked = self._buffer("stacked", (4, g.filters, g.total_rows), dtype, fill=0.0)
        weights = self._buffers["place_weights"]
        for half, band in enumerate(g.bands):
            stacked[2 * half : 2 * half + 2, :, band] = weights[2 * half : 2 * half + 2]
        return stacked.reshape(4 * g.filters, -1)

    def _weight_grads(self, grad_z):
        """dW (and db, a last column), (filters, C·k·k (+1)): each place's share, from its
        band of runs times its gradient, summed over the four places."""
        g = self.geometry
        grads = 0
        for half, band in enumerate(g.bands):
            pair = grad_z[2 * half * g.filters : 2 * (half + 1) * g.filters]
            # Runs times gradient: the orientation OpenBLAS runs fastest (see Conv2D).
            band_grads = np.matmul(self._runs_used[band], pair.T).T.reshape(2, g.filters, -1)
            for place in (2 * half, 2 * half + 1):
                grads = grads + band_grads[place - 2 * half][:, g.weight_columns[place]]
        return grads

    def _pooled_gradient(self, grad_y):
        """dL/d(pooled output) on the wide grid, (filters, N·positions): ``grad_y``'s own
        memory when it is laid out so (from a fused step after this one, on tight rows), else
        a copy into a buffer whose wrap-around columns are zeroed once and never written."""
        g = self.geometry
        shape = (g.filters, len(grad_y), g.phase_h, g.phase_w)
        channels_first = grad_y.transpose(1, 0, 2, 3)
        if channels_first.shape == shape and channels_first.flags.c_contiguous:
            return channels_first.reshape(g.filters, -1)
        wide = self._buffer("grad_pooled", shape, grad_y.dtype, fill=0.0)
        np.copyto(wide[:, :, : g.out_h, : g.out_w], channels_first)
        return wide.reshape(g.filters, -1)

    def _route(self, grad_pooled, n, dtype):
        """Each window's gradient to its first maximum in reading order (to the lower pair
        only if it is strictly larger, then to the right value only if strictly larger), and
        for ReLU only where the window's maximum is positive.

        The four places' masks come from the forward's byte choices (see _pool) by cheap
        logic on bytes, and each place's gradient is then one multiplication: four passes
        over the gradient where routing it in steps (multiply, subtract, for the rows and
        then for each pair, after a ReLU mask of its own) took seven, and three more to
        compare the places' values again."""
        g = self.geometry
        grad_z = self._buffer("grad_z", (4, g.filters, n * g.positions), dtype)
        right_upper, right_lower, lower = self._choices[:3]
        upper = np.logical_not(lower)
        if len(self._choices) == 4:  # ReLU: only where the maximum is positive
            alive = self._choices[3]
            lower = np.logical_and(lower, alive)
            upper &= alive
        masks = [None] * 4
        for left, right, row, right_wins in (
            (0, 1, upper, right_upper),
            (2, 3, lower, right_lower),
        ):
            masks[right] = np.logical_and(right_wins, row)
            masks[left] = np.logical_xor(row, masks[right])  # the row's, where not the right
        for place, mask in enumerate(masks):
            np.multiply(grad_pooled, mask, out=grad_z[place])
        return grad_z

    def _scatter(self, grad_runs, n, dtype):
        """col2im over the shared runs: each run's gradient (already summed over the places
        and offsets that read it, by the product) added once onto its phase image."""
        g = self.geometry
        grad_phases = np.zeros((g.channels, 4, g.length(n)), dtype)
        for row, phase, start, dead in g.shared_runs:
            total = grad_runs[row : row + g.block : g.span]
            g.zero_dead(total, dead)  # read as 0, their gradient goes nowhere
            grad_phases[:, phase, start : start + n * g.positions] += total
        return grad_phases

    def _merge_phases(self, grad_phases, n):
        """The phase images' gradient back on the input, an NCHW view of channels-first
        memory (the phase images' order; a fused step before reads it so); input values that
        no kept output reads (past the last pooled window) get 0."""
        g = self.geometry
        grad_x = np.zeros((g.channels, n, g.height, g.width), grad_phases.dtype)
        for phase, (rows, cols, source_rows, source_cols) in enumerate(g.phase_regions):
            image = g.phase_images(grad_phases, phase, n)
            grad_x[:, :, source_rows, source_cols] = image[:, :, rows, cols]
        return grad_x.transpose(1, 0, 2, 3)
