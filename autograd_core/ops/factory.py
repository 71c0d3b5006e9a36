"""``Tensor.new_*`` factories and memory formats (``contiguous_format``, ``channels_last``, ...).

``x.new_zeros(2, 3)`` makes a tensor like ``x`` (its dtype unless ``dtype=`` is
given) that does not require grad. There is one device, the CPU: ``device=``
is accepted when it names it.

Memory formats say how a copy lays out its memory, as in PyTorch:
``contiguous_format`` is C order; ``channels_last`` keeps an (N, C, H, W)
tensor's channels innermost (a transposed view of (N, H, W, C) memory, the
layout the convolution kernels prefer); ``preserve_format`` keeps the input's
stride order (``clone``'s default).
"""

from __future__ import annotations

import numpy as np

from ..creation import _finish, _size  # the factories' own size check and wrapping
from ..devices import check as _check_device  # the one device check (devices.py)
from ..tensor import Tensor
from ._common import inverse_order
from ._declare import method

# Methods only (Tensor.new_*, is_contiguous): no op here. The formats are constants, not ops, so
# autograd_core/__init__.py imports them by name rather than through __all__.
__all__ = []


class memory_format:
    """A memory layout for ``clone``, ``contiguous`` and the factories (PyTorch's ``torch.memory_format``)."""

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"autograd_core.{self.name}"

    def __reduce__(self):
        return self.name


contiguous_format = memory_format("contiguous_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")
preserve_format = memory_format("preserve_format")

_CHANNELS_LAST = {channels_last: (4, (0, 2, 3, 1)), channels_last_3d: (5, (0, 2, 3, 4, 1))}


def check_memory_format(fmt, op, ndim):
    """``fmt`` checked for a tensor of ``ndim`` dimensions (None means ``preserve_format``)."""
    if fmt is None:
        return preserve_format
    if not isinstance(fmt, memory_format):
        raise TypeError(f"{op}: memory_format must be one of autograd_core.contiguous_format, channels_last, "
                        f"channels_last_3d or preserve_format, got {fmt!r}")
    need = _CHANNELS_LAST.get(fmt, (None,))[0]
    if need is not None and ndim != need:
        raise ValueError(f"{op}: {fmt!r} needs a {need}-D tensor, got {ndim} dimensions")
    return fmt


def is_format(a, fmt):
    """Whether the array ``a`` is laid out as ``fmt`` (``contiguous_format`` or a channels-last format)."""
    if fmt is contiguous_format or fmt is preserve_format:
        return a.flags.c_contiguous
    return a.transpose(_CHANNELS_LAST[fmt][1]).flags.c_contiguous


def copy_as(a, fmt):
    """A copy of ``a`` laid out as ``fmt``; ``preserve_format`` keeps the stride order (numpy's order 'K')."""
    if fmt is preserve_format:
        return np.copy(a, order="K")
    if fmt is contiguous_format:
        return np.array(a, order="C", copy=True)
    perm = _CHANNELS_LAST[fmt][1]
    return np.ascontiguousarray(a.transpose(perm)).transpose(inverse_order(perm))


@method
def is_contiguous(input, memory_format=contiguous_format):  # a Tensor method only, as in PyTorch
    """Whether the tensor's memory is laid out as ``memory_format`` (C order by default)."""
    fmt = check_memory_format(memory_format, "is_contiguous", input.ndim)
    return bool(is_format(input.data, fmt))


# --------------------------------------------------------------------------- Tensor.new_*


@method
def new_zeros(self, *size, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False):
    """Zeros of ``size`` with this tensor's dtype (unless ``dtype`` is given)."""
    _check_device(device, "new_zeros")
    return _finish(np.zeros(_size(size, "new_zeros"), dtype=dtype or self.dtype), requires_grad)


@method
def new_ones(self, *size, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False):
    """Ones of ``size`` with this tensor's dtype (unless ``dtype`` is given)."""
    _check_device(device, "new_ones")
    return _finish(np.ones(_size(size, "new_ones"), dtype=dtype or self.dtype), requires_grad)


@method
def new_empty(self, *size, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False):
    """An uninitialised tensor of ``size`` with this tensor's dtype (unless ``dtype`` is given)."""
    _check_device(device, "new_empty")
    return _finish(np.empty(_size(size, "new_empty"), dtype=dtype or self.dtype), requires_grad)


@method
def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False, layout=None,
             pin_memory=False):
    """``fill_value`` everywhere in a tensor of ``size``, with this tensor's dtype (unless ``dtype`` is given)."""
    _check_device(device, "new_full")
    return _finish(np.full(_size((size,), "new_full"), fill_value, dtype=dtype or self.dtype), requires_grad)


@method
def new_tensor(self, data, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False):
    """A copy of ``data`` with this tensor's dtype (unless ``dtype`` is given), outside any graph."""
    _check_device(device, "new_tensor")
    arr = data.data if isinstance(data, Tensor) else data
    return _finish(np.array(arr, dtype=dtype or self.dtype, copy=True), requires_grad)
