"""Sorting and selection: ``sort argsort topk kthvalue median nanmedian mode unique unique_consecutive``.

Orders are computed on arrays (numpy's stable sort); the values are then
``gather(input, dim, indices)``, so every gradient goes to the element that
was picked (as in PyTorch) and is differentiable as often as indexing is.

Ties and NaN: sorting is always stable (equal elements keep their order, in
both directions: PyTorch guarantees this only with ``stable=True``); NaN sorts
above every number, so it comes last ascending and first descending, and
``topk`` counts it as the largest. ``topk`` and ``kthvalue`` pick among ties
in that stable order; PyTorch leaves that choice unspecified (its CPU kernels
may return another of the tied indices). ``median`` is the lower of the two
middle values for an even count and NaN if the slice holds one; ``mode``
picks the smallest of the most frequent values and the index of its last
occurrence, as PyTorch does.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from ..function import ShapeError
from ..tensor import Tensor
from ._declare import method
from .index import gather
from .shape import _norm_dim, reshape, squeeze

__all__ = ["sort", "argsort", "msort", "topk", "kthvalue", "median", "nanmedian", "mode", "unique",
           "unique_consecutive"]

_wrap = Tensor._wrap

_Sort = namedtuple("sort", ["values", "indices"])
_Topk = namedtuple("topk", ["values", "indices"])
_Kth = namedtuple("kthvalue", ["values", "indices"])
_Median = namedtuple("median", ["values", "indices"])
_NanMedian = namedtuple("nanmedian", ["values", "indices"])
_Mode = namedtuple("mode", ["values", "indices"])


def _t(x):
    return x if isinstance(x, Tensor) else Tensor(x)


def _order(a, axis, descending):
    """Stable argsort of ``a`` along ``axis``; descending keeps equal elements in their original order too."""
    if not descending:
        return np.argsort(a, axis=axis, kind="stable")
    # sort the reversed array ascending (stably), then reverse the result and map the positions back
    idx = np.argsort(np.flip(a, axis), axis=axis, kind="stable")
    return a.shape[axis] - 1 - np.flip(idx, axis)


def _dim_of(x, dim, op):
    """``x`` (0-d as 1-D) and ``dim`` as a non-negative axis; ``scalar`` says whether x was 0-d."""
    d = _norm_dim(dim, x.ndim, op)
    if x.ndim == 0:
        return reshape(x, (1,)), 0, True
    return x, d, False


def _pick(x, d, idx, keepdim, scalar, result):
    """(values, indices) from per-slice positions ``idx`` (keepdim shape) of ``x`` along ``d``."""
    values = gather(x, d, idx)
    if scalar:
        return result(reshape(values, ()), _wrap(idx.reshape(())))
    if not keepdim:
        values, idx = squeeze(values, d), np.squeeze(idx, d)
    return result(values, _wrap(idx))


@method
def sort(input, dim=-1, descending=False, stable=False):
    """``(values, indices)`` of ``input`` sorted along ``dim`` (always stably; NaN sorts last ascending)."""
    x, d, scalar = _dim_of(_t(input), dim, "sort")
    idx = _order(x.data, d, descending)
    values = gather(x, d, idx)
    if scalar:
        return _Sort(reshape(values, ()), _wrap(np.zeros((), np.int64)))
    return _Sort(values, _wrap(idx))


@method
def argsort(input, dim=-1, descending=False, stable=False):
    """The indices that sort ``input`` along ``dim`` (stable; see ``sort``)."""
    x = _t(input)
    d = _norm_dim(dim, x.ndim, "argsort")
    if x.ndim == 0:
        return _wrap(np.zeros((), np.int64))
    return _wrap(_order(x.data, d, descending))


@method
def msort(input):
    """``sort(input, dim=0).values``."""
    return sort(input, 0).values


@method
def topk(input, k, dim=-1, largest=True, sorted=True):
    """``(values, indices)`` of the ``k`` largest (or smallest) elements along ``dim``, in order.

    Ties are taken in their original order; NaN counts as the largest value.
    """
    x, d, scalar = _dim_of(_t(input), dim, "topk")
    n = x.shape[d]
    k = int(k)
    if not 0 <= k <= n:
        raise IndexError(f"topk: k={k} is out of range for dimension {d} of size {n} (expected 0 <= k <= {n})")
    idx = np.take(_order(x.data, d, largest), np.arange(k), axis=d)
    values = gather(x, d, idx)
    if scalar:
        return _Topk(reshape(values, ()), _wrap(idx.reshape(())))
    return _Topk(values, _wrap(idx))


@method
def kthvalue(input, k, dim=-1, keepdim=False):
    """``(values, indices)`` of the ``k``-th smallest element (``k`` counts from 1) along ``dim``."""
    x, d, scalar = _dim_of(_t(input), dim, "kthvalue")
    n = x.shape[d]
    k = int(k)
    if not 1 <= k <= n:
        raise IndexError(f"kthvalue: k={k} is out of range for dimension {d} of size {n} (expected 1 <= k <= {n})")
    idx = np.take(_order(x.data, d, False), [k - 1], axis=d)
    return _pick(x, d, idx, keepdim, scalar, _Kth)


def _median_positions(a, d, ignore_nan):
    """The sorted position of each slice's median: the lower middle one; the first NaN where NaN counts."""
    n = a.shape[d]
    if a.dtype.kind != "f":
        return np.full(_keep(a.shape, d), (n - 1) // 2, np.int64)
    valid = np.sum(~np.isnan(a), axis=d, keepdims=True)
    if ignore_nan:
        return np.maximum(valid - 1, 0) // 2
    return np.where(valid < n, valid, (n - 1) // 2)  # NaNs sort last, in their original order


def _keep(shape, d):
    return tuple(1 if i == d else s for i, s in enumerate(shape))


def _median(input, dim, keepdim, ignore_nan, result, op):
    x = _t(input)
    if dim is None:
        flat = reshape(x, (-1,))
        if flat.shape[0] == 0:
            if x.dtype.kind != "f":
                raise IndexError(f"{op}: cannot take the median of an empty integer tensor")
            return reshape(flat.sum() * np.nan, ())  # NaN, still attached to the graph as PyTorch's is
        order = _order(flat.data, 0, False)
        pos = _median_positions(flat.data, 0, ignore_nan)
        return reshape(gather(flat, 0, np.take_along_axis(order, pos, 0)), ())
    x, d, scalar = _dim_of(x, dim, op)
    if x.shape[d] == 0:
        raise IndexError(f"{op}: dimension {d} has size 0; there is no median (shape {tuple(x.shape)})")
    order = _order(x.data, d, False)
    pos = _median_positions(x.data, d, ignore_nan)
    return _pick(x, d, np.take_along_axis(order, pos, d), keepdim, scalar, result)


@method
def median(input, dim=None, keepdim=False):
    """The median: the lower of the two middle values for an even count; NaN if there is a NaN.

    Without ``dim``: the median of all elements (a 0-d tensor, NaN for an empty one).
    With ``dim``: ``(values, indices)`` along it.
    """
    return _median(input, dim, keepdim, False, _Median, "median")


@method
def nanmedian(input, dim=None, keepdim=False):
    """``median`` ignoring NaN (NaN only where a slice holds nothing else)."""
    return _median(input, dim, keepdim, True, _NanMedian, "nanmedian")


@method
def mode(input, dim=-1, keepdim=False):
    """``(values, indices)`` of the most frequent value along ``dim``: the smallest of equally frequent
    values, and the index of its last occurrence (PyTorch's choices)."""
    x, d, scalar = _dim_of(_t(input), dim, "mode")
    a = x.data
    n = a.shape[d]
    if n == 0:
        raise IndexError(f"mode: dimension {d} has size 0 (shape {tuple(a.shape)})")
    order = _order(a, d, False)
    sv = np.moveaxis(np.take_along_axis(a, order, d), d, -1)
    same = sv[..., 1:] == sv[..., :-1]
    if a.dtype.kind == "f":
        same |= np.isnan(sv[..., 1:]) & np.isnan(sv[..., :-1])
    new_run = np.concatenate([np.ones(sv.shape[:-1] + (1,), bool), ~same], axis=-1)
    pos = np.arange(n)
    start = np.maximum.accumulate(np.where(new_run, pos, 0), axis=-1)
    is_end = np.concatenate([new_run[..., 1:], np.ones(sv.shape[:-1] + (1,), bool)], axis=-1)
    counts = np.where(is_end, pos - start + 1, 0)
    best = np.argmax(counts, axis=-1)[..., None]  # the first (smallest) value with the largest count
    idx = np.take_along_axis(np.moveaxis(order, d, -1), best, -1)  # the run's last: its largest index
    return _pick(x, d, np.moveaxis(idx, -1, d), keepdim, scalar, _Mode)


def _unique_result(values, inverse, counts, return_inverse, return_counts):
    out = (_wrap(values),)
    if return_inverse:
        out += (_wrap(inverse.astype(np.int64)),)
    if return_counts:
        out += (_wrap(counts.astype(np.int64)),)
    return out[0] if len(out) == 1 else out


@method
def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """The distinct values (sorted), or the distinct slices along ``dim``; no gradient.

    ``return_inverse``: where each element (slice) of the input went; ``return_counts``:
    how often each value occurs. NaNs are not merged (NaN != NaN), as in PyTorch.
    """
    a = input.data if isinstance(input, Tensor) else np.asarray(input)
    if dim is None:
        values, inverse, counts = np.unique(a.reshape(-1), return_inverse=True, return_counts=True,
                                            equal_nan=False)
        return _unique_result(values, inverse.reshape(a.shape), counts, return_inverse, return_counts)
    d = _norm_dim(dim, a.ndim, "unique")
    values, inverse, counts = np.unique(a, return_inverse=True, return_counts=True, axis=d, equal_nan=False)
    return _unique_result(values, inverse.reshape(-1), counts, return_inverse, return_counts)


@method
def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    """Collapse runs of equal consecutive values (or slices along ``dim``) to one; no gradient."""
    a = input.data if isinstance(input, Tensor) else np.asarray(input)
    if dim is None:
        flat = a.reshape(-1)
        change = flat[1:] != flat[:-1]
        axis_len, moved = flat.shape[0], flat
    else:
        d = _norm_dim(dim, a.ndim, "unique_consecutive")
        if a.ndim == 0:
            raise ShapeError("unique_consecutive: a 0-d tensor has no dimension to compare along")
        moved = np.moveaxis(a, d, 0)
        axis_len = moved.shape[0]
        change = np.any((moved[1:] != moved[:-1]).reshape(max(axis_len - 1, 0), -1), axis=1)
    starts = np.concatenate([[True], change]) if axis_len else np.zeros(0, bool)
    run = np.cumsum(starts) - 1
    values = moved[starts]
    if dim is not None:
        values = np.moveaxis(values, 0, d)
    counts = np.diff(np.append(np.flatnonzero(starts), axis_len))
    inverse = run.reshape(a.shape) if dim is None else run
    return _unique_result(values, inverse, counts, return_inverse, return_counts)
