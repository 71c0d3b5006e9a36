"""Matrix products: ``matmul`` (batched, broadcasting, 1-D operands as in numpy/PyTorch)."""

from __future__ import annotations

import numpy as np

from ..function import Function, ShapeError
from ..tensor import Tensor
from . import fused as _fused


class Matmul(Function):
    """``a @ b`` for operands with at least 2 dimensions (1-D cases are reshaped around it)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return _fused.matmul(a, b)  # 2-D float products: row blocks over the threads

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        need = ctx.needs_input_grad
        # the engine sums broadcast batch dimensions back down
        ga = g @ b.mT if need[0] else None
        gb = a.mT @ g if need[1] else None
        return ga, gb


def _shape(x):
    return tuple(np.shape(x.data if isinstance(x, Tensor) else x))


def matmul(input, other):
    """Matrix product with PyTorch's rules.

    Shapes ``(..., n, k) @ (..., k, m) -> (..., n, m)`` with batch dimensions
    broadcast; a 1-D first operand is a row vector and a 1-D second operand a
    column vector, their added dimension removed from the result.
    """
    sa, sb = _shape(input), _shape(other)
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


def dot(input, other):
    if input.ndim != 1 or np.ndim(other) != 1:
        raise ShapeError(f"dot: expects two 1-D tensors, got shapes {_shape(input)} and {_shape(other)}")
    return matmul(input, other)
