"""Matrix products: ``matmul`` (batched, broadcasting, 1-D operands as in numpy/PyTorch), ``linear``."""

from __future__ import annotations

import numpy as np

from ..function import Function, ShapeError
from ..tensor import Tensor
from ._common import check_dtypes, shape_of
from ._declare import functional, method

__all__ = ["matmul", "mm", "dot", "linear"]


class Matmul(Function):
    """``a @ b`` for operands with at least 2 dimensions (1-D cases are reshaped around it)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.matmul(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        need = ctx.needs_input_grad
        # the engine sums broadcast batch dimensions back down
        ga = g @ b.mT if need[0] else None
        gb = a.mT @ g if need[1] else None
        return ga, gb


@method
def matmul(input, other):
    """Matrix product with PyTorch's rules.

    Shapes ``(..., n, k) @ (..., k, m) -> (..., n, m)`` with batch dimensions
    broadcast; a 1-D first operand is a row vector and a 1-D second operand a
    column vector, their added dimension removed from the result.
    """
    sa, sb = shape_of(input), shape_of(other)
    if len(sa) == 0 or len(sb) == 0:
        raise ShapeError(
            f"matmul: both operands need at least 1 dimension, got shapes {sa} and {sb}; "
            "use * for a product with a scalar")
    ka = sa[-1]
    kb = sb[-2] if len(sb) >= 2 else sb[0]
    if ka != kb:
        raise ShapeError(
            f"matmul: cannot multiply shapes {sa} and {sb}: the last dimension of the first operand "
            f"({ka}) must equal the {'second-to-last' if len(sb) >= 2 else 'only'} dimension of the "
            f"second ({kb})")
    try:
        np.broadcast_shapes(sa[:-2], sb[:-2])
    except ValueError:
        raise ShapeError(
            f"matmul: batch dimensions {sa[:-2]} and {sb[:-2]} of shapes {sa} and {sb} are not "
            "broadcastable") from None
    if not isinstance(input, Tensor):
        input = Tensor(input)
    if len(sa) >= 2 and len(sb) >= 2:
        return Matmul.apply(input, other)
    a = input.unsqueeze(0) if len(sa) == 1 else input
    b = other if isinstance(other, Tensor) else Tensor(other)
    b = b.unsqueeze(-1) if len(sb) == 1 else b
    out = Matmul.apply(a, b)
    if len(sb) == 1:
        out = out.squeeze(-1)
    if len(sa) == 1:
        out = out.squeeze(-2 if len(sb) > 1 else -1)
    return out


mm = matmul


@method
def dot(input, other):
    if input.ndim != 1 or np.ndim(other) != 1:
        raise ShapeError(f"dot: expects two 1-D tensors, got shapes {shape_of(input)} and {shape_of(other)}")
    return matmul(input, other)


class Linear(Function):
    """``y = x @ W.T + b`` in one node; ``x`` is ``(..., in)``, ``W`` is ``(out, in)``, ``b`` is ``(out,)``.

    Backward: ``dx = g @ W``, ``dW = g.T @ x`` (leading dimensions flattened),
    ``db = g`` summed by the engine down to ``(out,)``.
    """

    @staticmethod
    def forward(ctx, x, weight, bias=None):
        ctx.save_for_backward(x, weight)
        out = np.matmul(x, weight.T)
        if bias is not None:
            if bias.dtype == out.dtype:
                out += bias  # a fresh array: add in place, saving one allocation
            else:
                out = out + bias
        return out

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        gx = Matmul.apply(g, w) if need[0] else None
        gw = None
        if need[1]:
            if g.ndim == 2:
                gw = Matmul.apply(g.mT, x)
            else:  # (..., out) and (..., in): flatten the leading dimensions
                gw = Matmul.apply(g.reshape(-1, g.shape[-1]).mT, x.reshape(-1, x.shape[-1]))
        gb = g if len(need) > 2 and need[2] else None
        return gx, gw, gb


@functional
def linear(input, weight, bias=None):
    """``input @ weight.T + bias`` with ``input`` ``(..., in)``, ``weight`` ``(out, in)``, ``bias`` ``(out,)``."""
    xs, ws = shape_of(input), shape_of(weight)
    if len(ws) != 2 or not xs or xs[-1] != ws[1]:
        raise ShapeError(
            f"linear: input of shape {xs} does not fit weight of shape {ws}: the input's last dimension "
            f"must equal in_features = weight.shape[1] ({ws[1] if len(ws) == 2 else '?'})")
    if bias is not None and shape_of(bias) != ws[:1]:
        raise ShapeError(f"linear: bias has shape {shape_of(bias)}, expected ({ws[0]},) = (out_features,)")
    check_dtypes("linear", input, weight=weight, bias=bias)
    if len(xs) == 1:
        return Linear.apply(input.reshape(1, -1) if isinstance(input, Tensor) else np.reshape(input, (1, -1)),
                            weight, bias).reshape(ws[0])
    return Linear.apply(input, weight, bias)

