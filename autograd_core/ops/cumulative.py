"""Running sums and products: ``cumsum cumprod`` and the product reduction ``prod``.

Integer and bool inputs accumulate in int64, as in PyTorch. The backward
passes are Tensor operations, so second derivatives work:

- ``cumsum``: the gradient is the reversed running sum of the upstream gradient.
- ``cumprod``: ``revcumsum(g * y) / x`` when no input is zero; with zeros, each
  ``d y_k / d x_i`` is the running product with ``x_i`` replaced by 1, an
  ``(n, n)`` cumprod per slice (only then: O(n^2) memory).
- ``prod``: the product of the others, ``exclusive_cumprod(x) *
  reversed_exclusive_cumprod(x)``, exact when inputs are zero (no division).
"""

from __future__ import annotations

import numpy as np

from ..function import Function
from ..tensor import Tensor
from ._declare import method
from .elementwise import cast, where
from .shape import _norm_dim, flip, pad, reshape

__all__ = ["cumsum", "cumprod", "prod"]


def _acc_dtype(a, dtype):
    """The dtype a running sum/product of ``a`` is kept in: ``dtype``, else int64 for ints and bools."""
    if dtype is not None:
        return np.dtype(dtype)
    return np.dtype(np.int64) if a.dtype.kind in "biu" else a.dtype


def _revcumsum(g, dim):
    return flip(cumsum(flip(g, (dim,)), dim), (dim,))


class Cumsum(Function):
    @staticmethod
    def forward(ctx, a, dim):
        ctx.dim = dim
        return np.cumsum(a, axis=dim) if a.ndim else a.copy()

    @staticmethod
    def backward(ctx, g):
        return _revcumsum(g, ctx.dim) if g.ndim else g


class Cumprod(Function):
    @staticmethod
    def forward(ctx, a, dim):
        ctx.dim = dim
        out = np.cumprod(a, axis=dim) if a.ndim else a.copy()
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        d = ctx.dim
        if g.ndim == 0:
            return g
        if np.all(x.data != 0):
            return _revcumsum(g * y, d) / x
        # d y_k / d x_i = prod_{j <= k, j != i} x_j for k >= i: row i of M is x with x_i set to 1
        n = x.shape[d]
        xs = x.movedim(d, -1)
        gs = g.movedim(d, -1)
        eye = np.eye(n, dtype=bool)
        m = where(eye, 1.0, xs.unsqueeze(-2).expand(*xs.shape[:-1], n, n))
        upper = np.triu(np.ones((n, n), dtype=x.dtype))
        grad = (cumprod(m, -1) * upper * gs.unsqueeze(-2)).sum(-1)
        return grad.movedim(-1, d)


def _prepare(input, dtype, op):
    x = input if isinstance(input, Tensor) else Tensor(input)
    want = _acc_dtype(x.data, dtype)
    return cast(x, want) if x.dtype != want else x


@method
def cumsum(input, dim, *, dtype=None):
    """Running sum along ``dim``: ``out[i] = x[0] + ... + x[i]`` (integers accumulate in int64)."""
    x = _prepare(input, dtype, "cumsum")
    return Cumsum.apply(x, _norm_dim(dim, x.ndim, "cumsum"))


@method
def cumprod(input, dim, *, dtype=None):
    """Running product along ``dim``: ``out[i] = x[0] * ... * x[i]`` (integers accumulate in int64)."""
    x = _prepare(input, dtype, "cumprod")
    return Cumprod.apply(x, _norm_dim(dim, x.ndim, "cumprod"))


class _Prod(Function):
    """The product along one axis; the gradient is the product of the other elements (no division)."""

    @staticmethod
    def forward(ctx, a, dim, keepdim):
        ctx.dim, ctx.keepdim = dim, keepdim
        ctx.save_for_backward(a)
        return np.prod(a, axis=dim, keepdims=keepdim)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        d = ctx.dim
        if not ctx.keepdim:
            g = g.unsqueeze(d)
        n = x.shape[d]
        if n == 0:  # nothing to differentiate: an empty gradient (PyTorch gives one too)
            return Tensor._wrap(np.zeros(x.shape, x.dtype))
        head = x.narrow(d, 0, n - 1)
        tail = flip(x, (d,)).narrow(d, 0, n - 1)
        nd = x.ndim
        before = (0, 0) * (nd - 1 - d) + (1, 0)  # pad one 1 in front along d (pad lists the last dim first)
        left = pad(cumprod(head, d), before, value=1.0)
        right = flip(pad(cumprod(tail, d), before, value=1.0), (d,))
        return g * left * right


@method
def prod(input, dim=None, keepdim=False, *, dtype=None):
    """The product of all elements, or along the one dimension ``dim`` (integers multiply in int64)."""
    x = _prepare(input, dtype, "prod")
    if dim is None:
        return _Prod.apply(reshape(x, (-1,)), 0, False)
    if isinstance(dim, (tuple, list)):
        raise TypeError(f"prod: dim must be one int (PyTorch's prod reduces one dimension), got {dim!r}")
    d = _norm_dim(dim, x.ndim, "prod")
    if x.ndim == 0:
        return _Prod.apply(reshape(x, (1,)), 0, keepdim) if not keepdim else reshape(x, ())
    return _Prod.apply(x, d, keepdim)
