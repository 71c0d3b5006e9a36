"""The functional forms of two layers with no family of their own: ``embedding`` (a table lookup) and
``bilinear`` (``x1^T A x2 + b``)."""

from __future__ import annotations

import numpy as np

from ..function import Function, ShapeError
from ..tensor import Tensor
from ._common import array_of, as_tensor, check_dtypes, shape_of
from ._declare import functional
from .elementwise import Mask

__all__ = ["embedding", "bilinear"]


class Embedding(Function):
    """Rows ``weight[idx]``: ``(*idx.shape, D)``. The gradient is scattered back (added for repeated indices),
    with nothing for the row ``padding_idx`` and, optionally, each row's share divided by its count."""

    @staticmethod
    def forward(ctx, weight, idx, padding_idx=None, scale=None):
        ctx.idx, ctx.rows = idx, weight.shape[0]
        ctx.keep = None if padding_idx is None else (idx != padding_idx)[..., None]
        ctx.scale = scale
        return np.take(weight, idx, axis=0)

    @staticmethod
    def backward(ctx, g):
        if ctx.keep is not None:
            g = Mask.apply(g, ctx.keep)
        if ctx.scale is not None:
            g = g * ctx.scale
        return EmbeddingGrad.apply(g, ctx.idx, ctx.rows), None, None, None


class EmbeddingGrad(Function):
    """``zeros((rows, D))`` with ``g[..., :]`` added at rows ``idx`` (the adjoint of the lookup)."""

    @staticmethod
    def forward(ctx, g, idx, rows):
        ctx.idx = idx
        d = g.shape[-1]
        out = np.zeros((rows, d), dtype=g.dtype)
        flat = idx.reshape(-1)
        if flat.size:
            # rows of g sorted by index, each run of equal indices summed at once: 5-6x faster than
            # np.add.at on a 64x128 lookup of 128-wide rows
            order = np.argsort(flat, kind="stable")
            sidx = flat[order]
            starts = np.flatnonzero(np.r_[True, sidx[1:] != sidx[:-1]])
            out[sidx[starts]] = np.add.reduceat(g.reshape(-1, d)[order], starts, axis=0)
        return out

    @staticmethod
    def backward(ctx, gg):
        return Embedding.apply(gg, ctx.idx), None, None


def _renorm_rows(weight, idx, max_norm, norm_type):
    """PyTorch's ``max_norm``: rows of ``weight`` looked up by ``idx`` whose norm exceeds ``max_norm`` are
    scaled, in place, to norm ``max_norm`` (not recorded: it changes the parameter, like an optimizer step)."""
    w = weight.data
    rows = np.unique(idx)
    sub = w[rows].astype(np.float64)
    norms = np.max(np.abs(sub), axis=1) if norm_type == np.inf else np.sum(np.abs(sub) ** norm_type, axis=1) ** (
        1.0 / norm_type)
    big = norms > max_norm
    if big.any():
        w[rows[big]] = (sub[big] * (max_norm / (norms[big] + 1e-7))[:, None]).astype(w.dtype)
        weight._ver[0] += 1


@functional
def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
              sparse=False):
    """Look up rows of ``weight`` (num_embeddings, D) at the integer indices ``input`` (any shape).

    Parameters
    ----------
    padding_idx : int, optional
        This row gets no gradient (negative counts from the end).
    max_norm : float, optional
        Rows looked up whose ``norm_type``-norm exceeds it are renormalised in place first.
    scale_grad_by_freq : bool
        Divide each row's gradient by how often its index occurs in ``input``.
    sparse : bool
        Sparse gradients are not supported: only False.

    Returns
    -------
    Tensor ``(*input.shape, D)``.
    """
    op = "embedding"
    idx = array_of(input)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{op}: indices must be an integer tensor (int64 or int32), got dtype {idx.dtype}")
    ws = shape_of(weight)
    if len(ws) != 2:
        raise ShapeError(f"{op}: weight must be 2-D (num_embeddings, embedding_dim), got shape {ws}")
    if sparse:
        raise NotImplementedError(f"{op}: sparse gradients are not supported; use sparse=False (dense gradients)")
    n = ws[0]
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        bad = idx.min() if idx.min() < 0 else idx.max()
        raise IndexError(f"{op}: index {bad} is out of range for a table of {n} rows (indices must be in [0, {n}))")
    if padding_idx is not None:
        if not -n <= padding_idx < n:
            raise ValueError(f"{op}: padding_idx={padding_idx} must be within num_embeddings ({n})")
        padding_idx = int(padding_idx) % n
    idx = idx.astype(np.intp, copy=False)
    if max_norm is not None and idx.size:
        if not isinstance(weight, Tensor):
            raise TypeError(f"{op}: max_norm renormalises weight in place, so weight must be a Tensor")
        _renorm_rows(weight, idx, float(max_norm), float(norm_type))
    scale = None
    if scale_grad_by_freq and idx.size:
        counts = np.bincount(idx.reshape(-1), minlength=n)
        scale = (1.0 / counts[idx])[..., None].astype(array_of(weight).dtype)
    return Embedding.apply(weight, idx, padding_idx, scale)


@functional
def bilinear(input1, input2, weight, bias=None):
    """``y[..., o] = sum_ij x1[..., i] A[o, i, j] x2[..., j] + b[o]``.

    ``input1`` (*, in1), ``input2`` (*, in2) with the same leading dimensions,
    ``weight`` (out, in1, in2), ``bias`` (out,). Computed as one matrix product
    of ``x1`` with ``A`` laid out as (in1, out * in2), then a product with ``x2``
    summed over ``j``.
    """
    op = "bilinear"
    check_dtypes(op, input1, weight, bias, input2=input2)
    a, b, w = as_tensor(input1), as_tensor(input2), as_tensor(weight)
    if w.ndim != 3:
        raise ShapeError(f"{op}: weight must be 3-D (out_features, in1_features, in2_features), got {tuple(w.shape)}")
    out, in1, in2 = w.shape
    if a.ndim == 0 or b.ndim == 0 or a.shape[:-1] != b.shape[:-1]:
        raise ShapeError(f"{op}: input1 and input2 must have the same leading (batch) dimensions, got shapes "
                         f"{tuple(a.shape)} and {tuple(b.shape)}")
    if a.shape[-1] != in1 or b.shape[-1] != in2:
        raise ShapeError(f"{op}: inputs of shapes {tuple(a.shape)} and {tuple(b.shape)} do not fit weight of shape "
                         f"{tuple(w.shape)}: expected last dimensions {in1} and {in2}")
    if bias is not None and shape_of(bias) != (out,):
        raise ShapeError(f"{op}: bias must have shape ({out},), got {shape_of(bias)}")
    lead = tuple(a.shape[:-1])
    a2, b2 = a.reshape(-1, in1), b.reshape(-1, in2)
    t = (a2 @ w.permute(1, 0, 2).reshape(in1, out * in2)).reshape(-1, out, in2)
    y = (t * b2.unsqueeze(1)).sum(2)
    if bias is not None:
        y = y + bias
    return y.reshape(lead + (out,))
