"""Indexing: ``x[index]`` and ``x[index] = value`` with numpy's (and PyTorch's) rules.

An index may hold ints, slices, None, Ellipsis, integer arrays/tensors/lists and
boolean arrays/tensors. The gradient of ``x[index]`` scatters back with
``np.add.at``, so repeated integer indices accumulate.
"""

from __future__ import annotations

import numpy as np

from ..function import Function, _state
from ..tensor import Tensor
from .elementwise import Mask, _check_inplace_allowed, _write_back
from .shape import _as_view
from ._declare import functional

__all__ = ["one_hot"]

_BASIC = (int, slice, type(None), type(Ellipsis), np.integer)


def _convert(index):
    """Tensors and lists inside an index become ndarrays."""
    if isinstance(index, tuple):
        return tuple(_convert_one(i) for i in index)
    return _convert_one(index)


def _convert_one(i):
    if isinstance(i, Tensor):
        i = i.data
        if i.dtype.kind not in "biu":
            raise IndexError(f"tensors used as indices must be integer or boolean, got dtype {i.dtype}")
        return i
    if isinstance(i, list):
        a = np.asarray(i)
        if a.dtype.kind not in "biu":
            raise IndexError(f"lists used as indices must hold ints or bools, got {i!r}")
        return a
    if isinstance(i, np.ndarray) and i.dtype.kind not in "biu":
        raise IndexError(f"arrays used as indices must be integer or boolean, got dtype {i.dtype}")
    return i


def _has_int_array(index):
    items = index if isinstance(index, tuple) else (index,)
    return any(isinstance(i, np.ndarray) and i.dtype.kind in "iu" for i in items)


def _is_basic(index):
    if isinstance(index, tuple):
        return all(isinstance(i, _BASIC) for i in index)
    return isinstance(index, _BASIC)


def _index_error(e, shape, index):
    return IndexError(f"index {_show(index)} does not fit a tensor of shape {tuple(shape)}: {e}")


def _show(index):
    if isinstance(index, np.ndarray):
        return f"array(shape={index.shape}, dtype={index.dtype})"
    if isinstance(index, tuple):
        return "[" + ", ".join(_show(i) for i in index) + "]"
    return repr(index)


class GetItem(Function):
    @staticmethod
    def forward(ctx, a, index):
        ctx.index = index
        ctx.shape = a.shape
        try:
            return a[index]
        except IndexError as e:
            raise _index_error(e, a.shape, index) from None

    @staticmethod
    def backward(ctx, g):
        return IndexAdd.apply(g, ctx.index, ctx.shape)


class IndexAdd(Function):
    """``zeros(shape)`` with ``g`` added at ``index`` (the adjoint of ``x[index]``)."""

    @staticmethod
    def forward(ctx, g, index, shape):
        ctx.index = index
        out = np.zeros(shape, dtype=g.dtype)
        if _has_int_array(index):  # repeated indices must accumulate
            np.add.at(out, index, g)
        else:
            out[index] = g
        return out

    @staticmethod
    def backward(ctx, gg):
        return gg[ctx.index]


class SetItem(Function):
    """``a`` with ``a[index] = v``, out of place (the recorded form of ``__setitem__``)."""

    @staticmethod
    def forward(ctx, a, v, index):
        ctx.index = index
        out = a.copy()
        try:
            out[index] = v
        except IndexError as e:
            raise _index_error(e, a.shape, index) from None
        keep = np.ones(a.shape, dtype=bool)
        keep[index] = False
        ctx.keep = keep
        return out

    @staticmethod
    def backward(ctx, g):
        need = ctx.needs_input_grad
        return (Mask.apply(g, ctx.keep) if need[0] else None,
                g[ctx.index] if need[1] else None)


def getitem(x, index):
    index = _convert(index)
    out = GetItem.apply(x, index)
    return _as_view(out, x) if _is_basic(index) else out


def setitem(t, index, value):
    index = _convert(index)
    recording = _state.enabled and (t.requires_grad or (isinstance(value, Tensor) and value.requires_grad))
    if not recording:
        v = value.data if isinstance(value, Tensor) else value
        if not t.data.flags.writeable:
            raise RuntimeError("__setitem__: this tensor is a read-only (expanded) view; clone() it first")
        try:
            t.data[index] = v
        except IndexError as e:
            raise _index_error(e, t.shape, index) from None
        except ValueError as e:
            raise ValueError(
                f"__setitem__: value of shape {np.shape(v)} cannot be assigned to x{_show(index)} of a "
                f"tensor of shape {tuple(t.shape)}: {e}") from None
        t._ver[0] += 1
        return
    _check_inplace_allowed(t, "__setitem__")
    old = Tensor._wrap(t.data.copy())
    old.requires_grad, old.grad_fn, old._output_nr = t.requires_grad, t.grad_fn, t._output_nr
    res = SetItem.apply(old, value, index)
    _write_back(t, res.data, "__setitem__")
    t.grad_fn, t._output_nr, t.requires_grad = res.grad_fn, res._output_nr, True


@functional
def one_hot(tensor, num_classes=-1):
    """Integer class indices ``(*)`` to a one-hot int64 tensor ``(*, num_classes)``."""
    idx = tensor.data if isinstance(tensor, Tensor) else np.asarray(tensor)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expects integer class indices, got dtype {idx.dtype}")
    if num_classes < 0:
        num_classes = int(idx.max()) + 1 if idx.size else 0
    if idx.size and (idx.min() < 0 or idx.max() >= num_classes):
        raise ValueError(f"one_hot: class values must be in [0, {num_classes}), got min {idx.min()} "
                         f"and max {idx.max()}")
    return Tensor._wrap((idx[..., None] == np.arange(num_classes)).astype(np.int64))
