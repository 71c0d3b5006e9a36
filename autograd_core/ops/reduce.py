"""Reductions (``sum mean var std max min amax amin logsumexp``), softmax, argmax.

``dim`` may be None (all dimensions), an int or a tuple of ints, negative
counting from the end; ``keepdim`` keeps reduced dimensions with size 1. These
are PyTorch's meanings, which win over numpy's where they differ.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from .. import _settings
from ..function import Function, _state, is_grad_enabled
from ..tensor import Tensor
from . import fused as _fused
from .elementwise import exp
from ._declare import functional, method

__all__ = ["sum", "mean", "var", "std", "amax", "amin", "max", "min", "logsumexp", "softmax", "log_softmax",
           "argmax", "argmin", "all", "any"]

_wrap = Tensor._wrap

_MaxResult = namedtuple("max", ["values", "indices"])
_MinResult = namedtuple("min", ["values", "indices"])


def norm_dims(dim, ndim, op):
    """``dim`` as a sorted tuple of non-negative axes (None means all)."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    out = []
    for d in dims:
        if not isinstance(d, (int, np.integer)):
            raise TypeError(f"{op}: dim must be an int or a tuple of ints, got {dim!r}")
        lo, hi = (-ndim, ndim - 1) if ndim else (-1, 0)
        if not lo <= d <= hi:
            raise IndexError(
                f"{op}: dimension {d} is out of range for a tensor with {ndim} dimension(s) "
                f"(expected a value in [{lo}, {hi}])"
            )
        out.append(int(d) % ndim if ndim else 0)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: dimension listed twice in dim={dim!r}")
    return tuple(sorted(out))


def _float(a):
    """Integer and bool arrays in the default float dtype for reductions whose result is a float (mean, var,
    softmax...), as in PyTorch."""
    return a if a.dtype.kind in "fc" else a.astype(_settings.dtype)


def _keep_shape(shape, dims):
    return tuple(1 if i in dims else s for i, s in enumerate(shape))


def _expand_grad(g, ctx):
    """Bring an upstream gradient of a reduction back to the input's shape (a broadcast view). Without a
    graph of the backward (``create_graph=False``) on the array directly: two Tensor ops cost about 40 us
    of the 4096x1024 row sum's 670 (fwd + bwd)."""
    if not is_grad_enabled():
        d = g.data
        if not ctx.keepdim and d.shape != ctx.keep_shape:
            d = d.reshape(ctx.keep_shape)
        return Tensor._wrap(np.broadcast_to(d, ctx.shape))
    if not ctx.keepdim and g.shape != ctx.keep_shape:
        g = g.reshape(ctx.keep_shape)
    return g.broadcast_to(ctx.shape)


def _setup(ctx, a, dim, keepdim, op):
    dims = norm_dims(dim, a.ndim, op)
    ctx.shape = a.shape
    ctx.keepdim = keepdim
    ctx.dims = dims
    ctx.keep_shape = _keep_shape(a.shape, dims)
    return dims if a.ndim else None


def _sum_kernel(a, dims, keep_shape, keepdim):
    """The sum over trailing axes by a kernel (large float arrays; see ``fused.py``), else None."""
    if not _fused._big(a.size) or not _fused.usable(a):
        return None
    out = _fused.sum_trailing(a, dims)
    if out is not None and keepdim:
        out = out.reshape(keep_shape)
    return out


class Sum(Function):
    @staticmethod
    def forward(ctx, a, dim=None, keepdim=False):
        axis = _setup(ctx, a, dim, keepdim, "sum")
        out = _sum_kernel(a, axis, ctx.keep_shape, keepdim) if axis else None
        return np.sum(a, axis=axis, keepdims=keepdim) if out is None else out

    @staticmethod
    def backward(ctx, g):
        return _expand_grad(g, ctx)


class Mean(Function):
    @staticmethod
    def forward(ctx, a, dim=None, keepdim=False):
        axis = _setup(ctx, a, dim, keepdim, "mean")
        ctx.count = int(np.prod([a.shape[d] for d in ctx.dims])) if a.ndim else 1
        if a.dtype.kind not in "fc":  # integers average to the default float dtype
            return np.mean(a, axis=axis, keepdims=keepdim, dtype=_settings.dtype)
        out = _sum_kernel(a, axis, ctx.keep_shape, keepdim) if axis else None
        if out is not None:  # (a global average pool of channels-last memory, for one)
            out /= a.dtype.type(ctx.count)
            return out
        return np.mean(a, axis=axis, keepdims=keepdim)

    @staticmethod
    def backward(ctx, g):
        return _expand_grad(g / ctx.count, ctx)


def _var_count(ctx, a, correction):
    n = int(np.prod([a.shape[d] for d in ctx.dims])) if a.ndim else 1
    return n, n - correction


class Var(Function):
    @staticmethod
    def forward(ctx, a, dim=None, correction=1, keepdim=False):
        a = _float(a)
        axis = _setup(ctx, a, dim, keepdim, "var")
        ctx.n, ctx.denom = _var_count(ctx, a, correction)
        ctx.save_for_backward(a)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.var(a, axis=axis, ddof=correction, keepdims=keepdim)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        centered = a - a.mean(ctx.dims, keepdim=True)
        return _expand_grad(g, ctx) * centered * (2.0 / ctx.denom)


class Std(Function):
    @staticmethod
    def forward(ctx, a, dim=None, correction=1, keepdim=False):
        a = _float(a)
        axis = _setup(ctx, a, dim, keepdim, "std")
        ctx.n, ctx.denom = _var_count(ctx, a, correction)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.std(a, axis=axis, ddof=correction, keepdims=keepdim)
        out = np.asarray(out)
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, out = ctx.saved_tensors
        centered = a - a.mean(ctx.dims, keepdim=True)
        if not ctx.keepdim:
            out = out.reshape(ctx.keep_shape)
        return _expand_grad(g, ctx) * centered / (out * ctx.denom)


class Amax(Function):
    """Max over ``dim``; the gradient is shared evenly between tied maxima."""

    _np = staticmethod(np.amax)
    _op = "amax"

    @classmethod
    def forward(cls, ctx, a, dim=None, keepdim=False):
        if a.size == 0:
            raise ValueError(f"{cls._op}: cannot reduce an empty tensor (shape {a.shape})")
        axis = _setup(ctx, a, dim, keepdim, cls._op)
        out = cls._np(a, axis=axis, keepdims=True)
        mask = a == out
        with np.errstate(invalid="ignore", divide="ignore"):  # NaN inputs: NaN gradient
            ctx.share = (mask / mask.sum(axis=axis, keepdims=True)).astype(a.dtype)
        return out if keepdim else out.reshape([s for i, s in enumerate(a.shape) if i not in ctx.dims])

    @staticmethod
    def backward(ctx, g):
        return _expand_grad(g, ctx) * ctx.share


class Amin(Amax):
    _np = staticmethod(np.amin)
    _op = "amin"


class MaxDim(Function):
    """``max(dim)`` returning values and (first) indices; gradient to the index taken."""

    _arg = staticmethod(np.argmax)
    _op = "max"

    @classmethod
    def forward(cls, ctx, a, dim, keepdim=False):
        if a.ndim == 0:  # PyTorch: dim 0 (or -1) of a 0-d tensor is the tensor itself; keepdim keeps it 0-d
            norm_dims(dim, 0, cls._op)
            ctx.shape, ctx.keepdim, ctx.dims, ctx.keep_shape = (), True, (), ()
            ctx.onehot = np.ones((), a.dtype)
            idx = np.zeros((), np.int64)
            ctx.mark_non_differentiable(idx)
            return a.copy(), idx
        (d,) = norm_dims(dim, a.ndim, cls._op)
        if a.shape[d] == 0:
            raise ValueError(f"{cls._op}: cannot reduce dimension {d} of size 0 (shape {a.shape})")
        idx = np.expand_dims(cls._arg(a, axis=d), d)
        values = np.take_along_axis(a, idx, axis=d)
        onehot = np.zeros(a.shape, dtype=a.dtype)
        np.put_along_axis(onehot, idx, 1, axis=d)
        ctx.onehot = onehot
        ctx.shape, ctx.keepdim, ctx.dims = a.shape, keepdim, (d,)
        ctx.keep_shape = values.shape
        if not keepdim:
            values, idx = values.squeeze(d), idx.squeeze(d)
        ctx.mark_non_differentiable(idx)
        return values, idx.astype(np.int64)

    @staticmethod
    def backward(ctx, g, _gi):
        return _expand_grad(g, ctx) * ctx.onehot


class MinDim(MaxDim):
    _arg = staticmethod(np.argmin)
    _op = "min"


class Logsumexp(Function):
    @staticmethod
    def forward(ctx, a, dim=None, keepdim=False):
        a = _float(a)
        axis = _setup(ctx, a, dim, keepdim, "logsumexp")
        m = np.amax(a, axis=axis, keepdims=True) if a.size else np.zeros(ctx.keep_shape, a.dtype)
        m = np.where(np.isfinite(m), m, 0).astype(a.dtype)
        with np.errstate(divide="ignore"):
            out = np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True)) + m
        ctx.save_for_backward(a)
        return out if keepdim else out.reshape([s for i, s in enumerate(a.shape) if i not in ctx.dims])

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        # softmax; recomputed from ``a`` with Tensor ops so double backward sees it
        return _expand_grad(g, ctx) * exp(a - logsumexp(a, ctx.dims, keepdim=True))


def _rows_kernel(a, d):
    """Whether softmax / log-softmax over axis ``d`` of ``a`` runs the row kernels (``fused.py``)."""
    return d == a.ndim - 1 and _fused.usable(a)


class Softmax(Function):
    """Softmax along ``dim``; over the last axis of float arrays, one kernel pass per row each way."""

    @staticmethod
    def forward(ctx, a, dim):
        (d,) = norm_dims(dim, a.ndim, "softmax")
        ctx.dim = d
        a = _float(a)
        ctx.kernel = a.size > 0 and _rows_kernel(a, d)
        if ctx.kernel:
            out = _fused.softmax_last(a, log=False)
        elif a.size == 0:  # nothing to normalise (PyTorch returns the empty tensor)
            out = a.copy()
        else:  # the reference path
            e = np.exp(a - np.amax(a, axis=d, keepdims=True))
            out = e / np.sum(e, axis=d, keepdims=True)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (s,) = ctx.saved_tensors
        if ctx.kernel and not _state.enabled:  # no graph of the backward wanted: the kernel, on arrays
            return _wrap(_fused.softmax_last_backward(g.data, s.data, log=False))
        return s * (g - (g * s).sum(ctx.dim, keepdim=True))


class LogSoftmax(Function):
    """Log-softmax along ``dim``; over the last axis of float arrays, one kernel pass per row each way."""

    @staticmethod
    def forward(ctx, a, dim):
        (d,) = norm_dims(dim, a.ndim, "log_softmax")
        ctx.dim = d
        a = _float(a)
        ctx.kernel = a.size > 0 and _rows_kernel(a, d)
        if ctx.kernel:
            out = _fused.softmax_last(a, log=True)
        elif a.size == 0:
            out = a.copy()
        else:  # the reference path
            m = np.amax(a, axis=d, keepdims=True)
            m = np.where(np.isfinite(m), m, 0).astype(a.dtype)
            shifted = a - m
            out = shifted - np.log(np.sum(np.exp(shifted), axis=d, keepdims=True))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        if ctx.kernel and not _state.enabled:
            return _wrap(_fused.softmax_last_backward(g.data, out.data, log=True))
        return g - exp(out) * g.sum(ctx.dim, keepdim=True)


# --------------------------------------------------------------------------- functional API

@method
def sum(input, dim=None, keepdim=False):
    return Sum.apply(input, dim=dim, keepdim=keepdim)


@method
def mean(input, dim=None, keepdim=False):
    return Mean.apply(input, dim=dim, keepdim=keepdim)


def _var_args(op, dim, unbiased, correction):
    """(dim, correction) from PyTorch's two signatures: ``var(dim, unbiased, keepdim)`` and ``var(unbiased)``
    (a bool first argument is ``unbiased``, not a dimension)."""
    if isinstance(dim, (bool, np.bool_)):
        if unbiased is not None:
            raise TypeError(f"{op}: got unbiased twice (a bool as the first argument is unbiased, then "
                            f"unbiased={unbiased!r})")
        dim, unbiased = None, bool(dim)
    if correction is not None:
        if unbiased is not None:
            raise TypeError(f"{op}: pass either unbiased or correction, not both")
        return dim, correction
    return dim, 1 if unbiased is None or unbiased else 0


@method
def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Variance; ``correction=1`` (the default, like PyTorch) divides by N - 1; ``var(False)`` or
    ``unbiased=False`` by N."""
    dim, correction = _var_args("var", dim, unbiased, correction)
    return Var.apply(input, dim=dim, correction=correction, keepdim=keepdim)


@method
def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Standard deviation; arguments as in ``var``."""
    dim, correction = _var_args("std", dim, unbiased, correction)
    return Std.apply(input, dim=dim, correction=correction, keepdim=keepdim)


@method
def amax(input, dim=None, keepdim=False):
    return Amax.apply(input, dim=dim, keepdim=keepdim)


@method
def amin(input, dim=None, keepdim=False):
    return Amin.apply(input, dim=dim, keepdim=keepdim)


@method
def max(input, dim=None, keepdim=False):
    """``max(x)``: the largest value; ``max(x, dim)``: (values, indices); ``max(x, other)``: maximum."""
    if isinstance(dim, (Tensor, np.ndarray)):
        from .elementwise import maximum

        return maximum(input, dim)
    if dim is None:
        return Amax.apply(input, dim=None, keepdim=False)
    return _MaxResult(*MaxDim.apply(input, dim, keepdim=keepdim))


@method
def min(input, dim=None, keepdim=False):
    if isinstance(dim, (Tensor, np.ndarray)):
        from .elementwise import minimum

        return minimum(input, dim)
    if dim is None:
        return Amin.apply(input, dim=None, keepdim=False)
    return _MinResult(*MinDim.apply(input, dim, keepdim=keepdim))


@method
def logsumexp(input, dim, keepdim=False):
    return Logsumexp.apply(input, dim=dim, keepdim=keepdim)


@method
@functional
def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """``exp(x) / sum(exp(x))`` along ``dim`` (required, as in PyTorch's recommended use).

    ``dtype``: cast the input to it first (PyTorch's way to get a float64 softmax of float32 logits).
    """
    if dim is None:
        raise TypeError("softmax: pass dim explicitly (e.g. dim=1 for (N, C) logits)")
    return Softmax.apply(_cast_to(input, _stacklevel, dtype), dim)


@method
@functional
def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """``log(softmax(x))`` along ``dim`` (required), computed stably; ``dtype`` casts the input first."""
    if dim is None:
        raise TypeError("log_softmax: pass dim explicitly (e.g. dim=1 for (N, C) logits)")
    return LogSoftmax.apply(_cast_to(input, _stacklevel, dtype), dim)


def _cast_to(input, stacklevel, dtype):
    if dtype is None and not isinstance(stacklevel, int):  # x.softmax(dim, dtype): the method's order
        dtype = stacklevel
    if dtype is None:
        return input
    from .elementwise import cast
    return cast(input if isinstance(input, Tensor) else Tensor(input), dtype)


def _arg(fn, name, input, dim, keepdim):
    a = input.data if isinstance(input, Tensor) else np.asarray(input)
    if a.size == 0:
        raise ValueError(f"{name}: cannot take the {name} of an empty tensor (shape {a.shape})")
    if dim is None:
        out = np.asarray(fn(a))
        if keepdim:
            out = out.reshape((1,) * a.ndim)
        return _wrap(out.astype(np.int64))
    (d,) = norm_dims(dim, a.ndim, name)
    return _wrap(fn(a, axis=d, keepdims=keepdim).astype(np.int64))


@method
def argmax(input, dim=None, keepdim=False):
    """Index of the first maximum (flattened when ``dim`` is None)."""
    return _arg(np.argmax, "argmax", input, dim, keepdim)


@method
def argmin(input, dim=None, keepdim=False):
    return _arg(np.argmin, "argmin", input, dim, keepdim)


def _truth(fn, name, input, dim, keepdim):
    a = input.data if isinstance(input, Tensor) else np.asarray(input)
    axis = None if dim is None else norm_dims(dim, a.ndim, name)
    if a.ndim == 0:  # dim 0 of a 0-d tensor is the tensor itself (PyTorch)
        axis = None
    return _wrap(np.asarray(fn(a, axis=axis, keepdims=keepdim and a.ndim > 0)))


@method
def all(input, dim=None, keepdim=False):
    """Whether every element (along ``dim``) is true (non-zero)."""
    return _truth(np.all, "all", input, dim, keepdim)


@method
def any(input, dim=None, keepdim=False):
    """Whether some element (along ``dim``) is true (non-zero)."""
    return _truth(np.any, "any", input, dim, keepdim)

