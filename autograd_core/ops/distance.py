"""Norms and distances: ``norm`` (``torch.norm``), ``linalg.vector_norm / matrix_norm / norm``, ``dist``,
``cdist`` and ``cosine_similarity``.

``vector_norm`` is one node for every ``ord``; its gradient follows PyTorch's
conventions where the norm is not differentiable: zero where the norm is zero
(and, for ``ord < 1``, where an element is zero), shared evenly between ties
for ``ord = +-inf``, none for ``ord = 0``. The spectral norms (``ord = +-2``,
``'nuc'``) go through ``Svdvals``, whose backward ``U diag(g) V^T`` is on arrays:
first derivatives only. The ``linalg`` names are exported by
``autograd_core/linalg.py`` (``autograd_core.linalg.vector_norm``), not as
``autograd_core.vector_norm``, as in PyTorch.
"""

from __future__ import annotations

import math

import numpy as np

from ..function import Function, ShapeError, once_differentiable
from ..tensor import Tensor
from ._declare import functional, method
from .elementwise import cast, clamp, sign, where
from .reduce import norm_dims
from .shape import broadcast_to

__all__ = ["norm", "dist", "cdist", "cosine_similarity"]

_wrap = Tensor._wrap


def _float_input(x, dtype, op):
    x = x if isinstance(x, Tensor) else Tensor(x)
    if dtype is not None:
        x = cast(x, dtype)
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: expects a floating-point tensor, got dtype {x.dtype}; convert it with .float()")
    return x


def _keep_shape(shape, dims):
    return tuple(1 if i in dims else s for i, s in enumerate(shape))


class VectorNorm(Function):
    """``(sum |x|^ord)^(1/ord)`` over ``dims`` (max/min of ``|x|`` for +-inf, the count of non-zeros for 0)."""

    @staticmethod
    def forward(ctx, a, ord, dims, keepdim):
        ctx.ord, ctx.dims, ctx.keepdim = ord, dims, keepdim
        ctx.keep_shape = _keep_shape(a.shape, dims)
        axis = dims if a.ndim else None
        absa = np.abs(a)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            if ord == math.inf or ord == -math.inf:
                out = (np.amax if ord > 0 else np.amin)(absa, axis=axis, keepdims=True)
            elif ord == 0:
                out = np.sum(a != 0, axis=axis, keepdims=True).astype(a.dtype)
            elif ord == 1:
                out = np.sum(absa, axis=axis, keepdims=True)
            elif ord == 2:
                out = np.sqrt(np.sum(a * a, axis=axis, keepdims=True))
            else:
                out = np.sum(absa ** ord, axis=axis, keepdims=True) ** (1.0 / ord)
        out = np.asarray(out, dtype=a.dtype)
        if not keepdim:
            out = out.reshape([s for i, s in enumerate(a.shape) if i not in dims])
        ctx.save_for_backward(a, out)  # the returned array itself, so that backward can differentiate through it
        return out

    @staticmethod
    def backward(ctx, g):
        x, n = ctx.saved_tensors
        p = ctx.ord
        if p == 0:
            return None
        if not ctx.keepdim:
            g, n = g.reshape(ctx.keep_shape), n.reshape(ctx.keep_shape)
        zero_norm = n.data == 0
        if p == 1:
            return g * sign(x)
        if p == 2:
            return g * x / where(zero_norm, 1.0, n)
        if p == math.inf or p == -math.inf:  # the gradient is shared between the tied extremes
            hit = (np.abs(x.data) == n.data).astype(x.dtype)
            share = hit / hit.sum(axis=ctx.dims if x.ndim else None, keepdims=True)
            return g * sign(x) * share
        # x |x|^(p-2) / n^(p-1), with zeros where x or n is zero (inputs made safe first so that the
        # masked-out branch has finite derivatives too)
        zero_x = x.data == 0
        ax = where(zero_x, 1.0, x.abs())
        safe_n = where(zero_norm, 1.0, n)
        grad = g * sign(x) * ax ** (p - 1) / safe_n ** (p - 1)
        return where(zero_x | zero_norm, 0.0, grad)


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    """The vector ``ord``-norm over ``dim`` (all dimensions by default): ``(sum |x|^ord)^(1/ord)``,
    ``max |x|`` for ``inf``, ``min |x|`` for ``-inf``, the number of non-zeros for ``0``."""
    x = _float_input(x, dtype, "linalg.vector_norm")
    if isinstance(ord, str):
        raise ValueError(f"linalg.vector_norm: ord must be a number (or +-inf), got {ord!r}; "
                         "use linalg.matrix_norm for 'fro' and 'nuc'")
    dims = norm_dims(dim, x.ndim, "linalg.vector_norm")
    if abs(ord) == math.inf and (x.data.size == 0 or any(x.shape[d] == 0 for d in dims)):
        raise ValueError(f"linalg.vector_norm: cannot compute the {ord} norm of an empty tensor (shape "
                         f"{tuple(x.shape)}): max and min have no identity")
    return VectorNorm.apply(x, float(ord), dims, keepdim)


class Svdvals(Function):
    """The singular values of the last two dimensions, in descending order; ``d s_k / d A = u_k v_k^T``."""

    @staticmethod
    def forward(ctx, a):
        u, s, vh = np.linalg.svd(a, full_matrices=False)
        ctx.u, ctx.vh = u, vh
        return s

    @staticmethod
    @once_differentiable
    def backward(ctx, g):
        return _wrap(np.matmul(ctx.u * g.data[..., None, :], ctx.vh))


def svdvals(A):
    """The singular values of ``A`` (``(..., m, n)`` -> ``(..., min(m, n))``), largest first."""
    A = _float_input(A, None, "linalg.svdvals")
    if A.ndim < 2:
        raise ShapeError(f"linalg.svdvals: expects at least 2 dimensions, got shape {tuple(A.shape)}")
    return Svdvals.apply(A)


def _matrix_dims(A, dim, op):
    if A.ndim < 2:
        raise ShapeError(f"{op}: the input must have at least 2 dimensions, got shape {tuple(A.shape)}")
    if isinstance(dim, (int, np.integer)) or len(dim) != 2:
        raise ValueError(f"{op}: dim must be a pair of dimensions, got {dim!r}")
    d0, d1 = (int(d) % A.ndim if -A.ndim <= d < A.ndim else None for d in dim)
    if d0 is None or d1 is None:
        raise IndexError(f"{op}: dim {tuple(dim)} is out of range for a tensor with {A.ndim} dimensions")
    if d0 == d1:
        raise ValueError(f"{op}: the two dims must differ, got {tuple(dim)}")
    return d0, d1


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    """A matrix norm of the matrices in dimensions ``dim``: ``'fro'`` (default), ``'nuc'`` (sum of the
    singular values), ``1`` / ``-1`` (max / min column sum of ``|A|``), ``inf`` / ``-inf`` (max / min row
    sum), ``2`` / ``-2`` (largest / smallest singular value)."""
    A = _float_input(A, dtype, "linalg.matrix_norm")
    d0, d1 = _matrix_dims(A, dim, "linalg.matrix_norm")
    if ord == "fro":
        return vector_norm(A, 2, (d0, d1), keepdim)
    out_shape = tuple(s for i, s in enumerate(A.shape) if i not in (d0, d1))
    keep_shape = _keep_shape(A.shape, (d0, d1))
    if A.shape[d0] == 0 or A.shape[d1] == 0:  # an empty matrix: PyTorch returns 0
        if ord not in ("nuc", 1, -1, 2, -2, math.inf, -math.inf):
            raise ValueError(f"linalg.matrix_norm: ord must be 'fro', 'nuc', +-1, +-2 or +-inf, got {ord!r}")
        return _wrap(np.zeros(keep_shape if keepdim else out_shape, dtype=A.dtype))
    if ord in ("nuc", 2, -2):
        s = svdvals(A.movedim((d0, d1), (-2, -1)))
        r = s.sum(-1) if ord == "nuc" else (s.amax(-1) if ord == 2 else s.amin(-1))
        return r.reshape(keep_shape) if keepdim else r
    if ord in (1, -1, math.inf, -math.inf):
        inner, outer = (d0, d1) if ord in (1, -1) else (d1, d0)
        sums = A.abs().sum(inner, keepdim=True)
        r = sums.amax(outer, keepdim=True) if ord > 0 else sums.amin(outer, keepdim=True)
        return r if keepdim else r.reshape(out_shape)
    raise ValueError(f"linalg.matrix_norm: ord must be 'fro', 'nuc', +-1, +-2 or +-inf, got {ord!r}")


def linalg_norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    """``torch.linalg.norm``: a vector norm for one ``dim``, a matrix norm for two; without ``dim`` the
    2-norm of everything when ``ord`` is None, else a vector norm of a 1-D or a matrix norm of a 2-D input."""
    A = _float_input(A, dtype, "linalg.norm")
    if dim is not None:
        dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
        if len(dims) == 1:
            return vector_norm(A, 2 if ord is None else ord, dims, keepdim)
        if len(dims) == 2:
            return matrix_norm(A, "fro" if ord is None else ord, dims, keepdim)
        raise ValueError(f"linalg.norm: dim must be one or two dimensions, got {dim!r}")
    if ord is None:
        return vector_norm(A, 2, None, keepdim)
    if A.ndim == 1:
        if isinstance(ord, str):
            raise ValueError(f"linalg.norm: ord={ord!r} is a matrix norm; the input is 1-D")
        return vector_norm(A, ord, None, keepdim)
    if A.ndim == 2:
        return matrix_norm(A, ord, (-2, -1), keepdim)
    raise ValueError(f"linalg.norm: with ord given and no dim, the input must be 1-D or 2-D, got {A.ndim}-D")


@method
def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """``torch.norm``: the ``p``-norm over ``dim`` (all dimensions by default).

    A number ``p`` (or +-inf) is a vector norm over the given dimensions; ``'fro'``
    (the default) is the 2-norm over them (one or two dimensions, or all);
    ``'nuc'`` the nuclear norm of the matrices in ``dim`` (the last two by default).
    """
    x = _float_input(input, dtype, "norm")
    if p is None or p == "fro":
        if dim is not None and not isinstance(dim, (int, np.integer)) and len(dim) > 2:
            raise ValueError(f"norm: the Frobenius norm takes one or two dims, got {dim!r}")
        return vector_norm(x, 2, dim, keepdim)
    if p == "nuc":
        return matrix_norm(x, "nuc", (-2, -1) if dim is None else dim, keepdim)
    if isinstance(p, str):
        raise ValueError(f"norm: p must be a number, 'fro' or 'nuc', got {p!r}")
    return vector_norm(x, p, dim, keepdim)


@method
def dist(input, other, p=2):
    """``norm(input - other, p)`` over all elements (the two broadcast)."""
    return vector_norm(_float_input(input, None, "dist") - other, p)


# --------------------------------------------------------------------------- cdist

class CdistMM(Function):
    """Euclidean distances between the rows of ``x1`` (..., P, M) and ``x2`` (..., R, M) through one
    matrix product: ``sqrt(max(|a|^2 + |b|^2 - 2 a.b, 0))`` (PyTorch's fast path, less exact for
    nearly equal rows). The gradient is the exact one, ``(a - b) / d``, zero where ``d`` is zero."""

    @staticmethod
    def forward(ctx, x1, x2):
        sq = (np.sum(x1 * x1, axis=-1)[..., :, None] + np.sum(x2 * x2, axis=-1)[..., None, :]
              - 2 * np.matmul(x1, np.swapaxes(x2, -1, -2)))
        out = np.sqrt(np.maximum(sq, 0)).astype(np.result_type(x1, x2), copy=False)
        ctx.save_for_backward(x1, x2, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x1, x2, d = ctx.saved_tensors
        zero = d.data == 0
        w = where(zero, 0.0, g / where(zero, 1.0, d))
        need = ctx.needs_input_grad
        g1 = w.sum(-1, keepdim=True) * x1 - w @ x2 if need[0] else None
        g2 = w.sum(-2, keepdim=True).mT * x2 - w.mT @ x1 if need[1] else None
        return g1, g2


_CDIST_MODES = ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist", "donot_use_mm_for_euclid_dist")


def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """The ``p``-norm distances between each row of ``x1`` ``(..., P, M)`` and each row of ``x2``
    ``(..., R, M)``: ``(..., P, R)``, the leading dimensions broadcast.

    For ``p = 2`` PyTorch's ``compute_mode`` applies: a matrix-product formula when
    P or R exceeds 25 (or always / never), else the differences themselves.
    """
    x1, x2 = _float_input(x1, None, "cdist"), _float_input(x2, None, "cdist")
    if x1.ndim < 2 or x2.ndim < 2 or x1.shape[-1] != x2.shape[-1]:
        raise ShapeError(f"cdist: expects (..., P, M) and (..., R, M) with the same M, got shapes "
                         f"{tuple(x1.shape)} and {tuple(x2.shape)}")
    if p < 0:
        raise ValueError(f"cdist: p must be non-negative, got {p}")
    if compute_mode not in _CDIST_MODES:
        raise ValueError(f"cdist: compute_mode must be one of {', '.join(_CDIST_MODES)}; got {compute_mode!r}")
    try:
        batch = np.broadcast_shapes(tuple(x1.shape[:-2]), tuple(x2.shape[:-2]))
    except ValueError:
        raise ShapeError(f"cdist: batch dimensions of {tuple(x1.shape)} and {tuple(x2.shape)} "
                         "do not broadcast") from None
    a = broadcast_to(x1, batch + tuple(x1.shape[-2:]))
    b = broadcast_to(x2, batch + tuple(x2.shape[-2:]))
    use_mm = p == 2 and (compute_mode == "use_mm_for_euclid_dist" or (
        compute_mode == _CDIST_MODES[0] and (a.shape[-2] > 25 or b.shape[-2] > 25)))
    if use_mm:
        return CdistMM.apply(a, b)
    return vector_norm(a.unsqueeze(-2) - b.unsqueeze(-3), p, -1)


@functional
def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """``sum(x1 * x2) / (max(|x1|, eps) * max(|x2|, eps))`` along ``dim``, the inputs broadcast.

    Each norm is clamped on its own, as PyTorch does: the result is 0 (not NaN) for a zero vector.
    """
    a, b = _float_input(x1, None, "cosine_similarity"), _float_input(x2, None, "cosine_similarity")
    shape = np.broadcast_shapes(tuple(a.shape), tuple(b.shape))
    a, b = broadcast_to(a, shape), broadcast_to(b, shape)
    na = clamp(vector_norm(a, 2, dim, keepdim=True), min=eps)
    nb = clamp(vector_norm(b, 2, dim, keepdim=True), min=eps)
    return ((a / na) * (b / nb)).sum(dim)
