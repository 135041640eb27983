"""Many small arrays kept as views of one flat buffer, so one NumPy call can work on them all.

A model's weights are a few arrays per layer; its gradients the same. An optimizer step does
about ten elementwise passes over each, and for small arrays the cost is NumPy's per-call
overhead, not the arithmetic: Adam on a 2-8-8-2 network made 60 calls per step where 10
do. ``Sequential.build`` therefore moves every layer's weights into one flat buffer (and the
gradients into another) with :func:`pack`; the layers keep working on their arrays, which
are now views of it. The optimizer checks with :func:`flat_base` that the arrays it is given
still tile one buffer and then updates that buffer in one go.

>>> arrays = {"W": np.ones((2, 3)), "b": np.zeros(3)}
>>> flat = pack([arrays])
>>> flat.shape, arrays["W"].base is flat
((9,), True)
>>> flat_base(list(arrays.values())) is flat
True
>>> flat_base([arrays["b"], arrays["W"]]) is None   # not in the buffer's order
True
"""

from __future__ import annotations

import numpy as np


def pack(groups: list[dict[str, np.ndarray]]) -> np.ndarray | None:
    """Copy the arrays of ``groups`` (dicts, in order) into one new 1-D buffer and put views
    of it in their place; returns the buffer (None when there are no arrays, or when they
    do not all have one dtype)."""
    arrays = [array for group in groups for array in group.values()]
    if not arrays or len({array.dtype for array in arrays}) != 1:
        return None
    flat = np.empty(sum(array.size for array in arrays), arrays[0].dtype)
    offset = 0
    for group in groups:
        size = sum(array.size for array in group.values())
        for name, view in views_like(flat[offset : offset + size], group).items():
            view[...] = group[name]
            group[name] = view
        offset += size
    return flat


def flat_base(arrays: list[np.ndarray]) -> np.ndarray | None:
    """The 1-D buffer that ``arrays`` tile exactly — contiguous views of it, in order, with
    no gap and nothing left over — or None.

    Exact tiling is what makes updating the buffer the same as updating each array, and it
    leaves no part of someone else's memory to be touched by mistake."""
    if not arrays:
        return None
    base = arrays[0].base
    if base is None or base.ndim != 1 or not base.flags.c_contiguous:
        return None
    expected = _address(base)
    for array in arrays:
        if array.base is not base or not array.flags.c_contiguous:
            return None
        if _address(array) != expected:
            return None
        expected += array.nbytes
    return base if expected == _address(base) + base.nbytes else None


def same_layout(arrays: list[np.ndarray], others: list[np.ndarray]) -> bool:
    """Whether two lists of arrays have the same shapes in the same order (two buffers that
    both arrays tile are then laid out alike)."""
    return len(arrays) == len(others) and all(
        a.shape == b.shape and a.dtype == b.dtype for a, b in zip(arrays, others, strict=True)
    )


def _address(array: np.ndarray) -> int:
    return array.__array_interface__["data"][0]


def views_like(flat: np.ndarray, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Views of ``flat`` with the names and shapes of ``arrays``, tiling it in their order."""
    views, offset = {}, 0
    for name, array in arrays.items():
        views[name] = flat[offset : offset + array.size].reshape(array.shape)
        offset += array.size
    return views
