"""Matrix products: ``matmul`` (batched, broadcasting, 1-D operands as in numpy/PyTorch), ``linear``;
the strict forms ``mm bmm mv dot``, the fused-looking ``addmm addmv addr baddbmm`` (composed here),
``outer inner kron tensordot`` and ``einsum``.

``einsum`` is one node whose backward is again an ``einsum`` (of the upstream
gradient with the other operands), so it is differentiable to any order;
``tensordot``, ``inner`` and ``kron`` are built on it or on broadcasting.
"""

from __future__ import annotations

import numpy as np

from ..function import Function, ShapeError
from ..tensor import Tensor
from . import fused as _fused
from ._common import check_dtypes, shape_of
from ._declare import functional, method

__all__ = ["matmul", "mm", "bmm", "mv", "dot", "linear", "addmm", "addmv", "addr", "baddbmm", "outer", "ger",
           "inner", "kron", "tensordot", "einsum"]


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


@method
def mm(input, mat2):
    """The product of two matrices: ``(n, k) @ (k, m) -> (n, m)`` (no broadcasting; see ``matmul``)."""
    _check_dims("mm", (input, 2, "input"), (mat2, 2, "mat2"))
    return matmul(input, mat2)


@method
def bmm(input, mat2):
    """Batched matrix products: ``(b, n, k) @ (b, k, m) -> (b, n, m)``, the same ``b`` (no broadcasting)."""
    _check_dims("bmm", (input, 3, "input"), (mat2, 3, "mat2"))
    if shape_of(input)[0] != shape_of(mat2)[0]:
        raise ShapeError(f"bmm: batch sizes differ: input {shape_of(input)}, mat2 {shape_of(mat2)} "
                         "(use matmul to broadcast)")
    return matmul(input, mat2)


@method
def mv(input, vec):
    """Matrix times vector: ``(n, m) @ (m,) -> (n,)``."""
    _check_dims("mv", (input, 2, "input"), (vec, 1, "vec"))
    return matmul(input, vec)


@method
def dot(input, other):
    if input.ndim != 1 or np.ndim(other) != 1:
        raise ShapeError(f"dot: expects two 1-D tensors, got shapes {shape_of(input)} and {shape_of(other)}")
    return matmul(input, other)


def _check_dims(op, *args):
    for x, nd, name in args:
        if len(shape_of(x)) != nd:
            raise ShapeError(f"{op}: {name} must have {nd} dimension(s), got shape {shape_of(x)}")


def _scaled_sum(input, product, beta, alpha):
    """``beta * input + alpha * product``; ``beta=0`` ignores ``input`` (NaN in it does not spread), as in PyTorch."""
    if alpha != 1:
        product = product * alpha
    if beta == 0:
        return product + _zeros_like_broadcast(input, product)
    return product + (input if beta == 1 else input * beta)


def _zeros_like_broadcast(input, product):
    """Zeros that broadcast like ``input`` would (so the result's shape does not depend on beta)."""
    shape = np.broadcast_shapes(shape_of(input), shape_of(product))
    return Tensor._wrap(np.zeros(shape, dtype=product.dtype)) if shape != shape_of(product) else 0


@method
def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    """``beta * input + alpha * (mat1 @ mat2)`` (``input`` broadcasts to ``(n, m)``)."""
    return _scaled_sum(input, mm(mat1, mat2), beta, alpha)


@method
def addmv(input, mat, vec, *, beta=1, alpha=1):
    """``beta * input + alpha * (mat @ vec)``."""
    return _scaled_sum(input, mv(mat, vec), beta, alpha)


@method
def addr(input, vec1, vec2, *, beta=1, alpha=1):
    """``beta * input + alpha * outer(vec1, vec2)``."""
    return _scaled_sum(input, outer(vec1, vec2), beta, alpha)


@method
def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """``beta * input + alpha * bmm(batch1, batch2)`` (``input`` broadcasts to ``(b, n, m)``)."""
    return _scaled_sum(input, bmm(batch1, batch2), beta, alpha)


@method
def outer(input, vec2):
    """``input[i] * vec2[j]`` for two vectors."""
    _check_dims("outer", (input, 1, "input"), (vec2, 1, "vec2"))
    a = input if isinstance(input, Tensor) else Tensor(input)
    return a.reshape(-1, 1) * (vec2.reshape(1, -1) if isinstance(vec2, Tensor) else np.reshape(vec2, (1, -1)))


ger = outer


@method
def inner(input, other):
    """The sum over the last dimension of both (``a * b`` if either is 0-d)."""
    if not shape_of(input) or not shape_of(other):
        return (input if isinstance(input, Tensor) else Tensor(input)) * other
    return tensordot(input, other, ([-1], [-1]))


@method
def kron(input, other):
    """The Kronecker product: every element of ``input`` times a whole copy of ``other`` (shapes multiply)."""
    a = input if isinstance(input, Tensor) else Tensor(input)
    b = other if isinstance(other, Tensor) else Tensor(other)
    nd = max(a.ndim, b.ndim)
    sa = (1,) * (nd - a.ndim) + tuple(a.shape)
    sb = (1,) * (nd - b.ndim) + tuple(b.shape)
    # (a0, 1, a1, 1, ...) * (1, b0, 1, b1, ...) -> (a0, b0, a1, b1, ...) -> (a0 b0, a1 b1, ...)
    pa = a.reshape(tuple(v for s in sa for v in (s, 1)))
    pb = b.reshape(tuple(v for s in sb for v in (1, s)))
    return (pa * pb).reshape(tuple(x * y for x, y in zip(sa, sb)))


def tensordot(a, b, dims=2):
    """Sum products over ``dims``: the last ``dims`` of ``a`` with the first ``dims`` of ``b`` (an int), or
    the listed dimensions ``([a's], [b's])``; the remaining dimensions of ``a`` then of ``b``."""
    na, nb = len(shape_of(a)), len(shape_of(b))
    if isinstance(dims, Tensor):
        dims = dims.data.tolist()
    if isinstance(dims, (int, np.integer)):
        n = int(dims)
        if n < 0 or n > min(na, nb):
            raise ValueError(f"tensordot: dims={n} must be in [0, {min(na, nb)}] for shapes {shape_of(a)} "
                             f"and {shape_of(b)}")
        da, db = list(range(na - n, na)), list(range(n))
    else:
        da, db = ([d] if isinstance(d, (int, np.integer)) else list(d) for d in dims)
        if len(da) != len(db):
            raise ValueError(f"tensordot: dims {dims} must list as many dimensions of a as of b")
        da = [int(d) % na if na else 0 for d in da]
        db = [int(d) % nb if nb else 0 for d in db]
    letters = iter(_LETTERS)
    sa = [next(letters) for _ in range(na)]
    sb = [next(letters) for _ in range(nb)]
    for i, j in zip(da, db):
        sb[j] = sa[i]
    out = [c for k, c in enumerate(sa) if k not in da] + [c for k, c in enumerate(sb) if k not in db]
    return einsum(f"{''.join(sa)},{''.join(sb)}->{''.join(out)}", a, b)


# --------------------------------------------------------------------------- einsum

_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


class Einsum(Function):
    """``np.einsum(spec, *operands)``; each operand's gradient is the einsum of the upstream gradient
    with the other operands, broadcast over letters only that operand had, and written back onto
    its diagonals where a letter repeats in it (``'ii->i'``)."""

    @staticmethod
    def forward(ctx, *arrays, inputs, output):
        ctx.inputs, ctx.output = inputs, output
        ctx.shapes = [a.shape for a in arrays]
        ctx.save_for_backward(*arrays)
        spec = ",".join(inputs) + "->" + output
        # numpy's direct loop runs over every combination of letters; above ~64k of them, let it find
        # a contraction order and call BLAS (finding one costs ~0.1 ms: not worth it for small operands)
        size = {c: n for t, a in zip(inputs, arrays) for c, n in zip(t, a.shape)}
        loops = float(np.prod([float(n) for n in size.values()]))
        return np.asarray(np.einsum(spec, *arrays, optimize=len(arrays) > 1 and loops > 1 << 16))

    @staticmethod
    def backward(ctx, g):
        ops = ctx.saved_tensors
        grads = []
        for i, need in enumerate(ctx.needs_input_grad):
            if not need:
                grads.append(None)
                continue
            sub = ctx.inputs[i]
            uniq = "".join(dict.fromkeys(sub))
            others = [k for k in range(len(ops)) if k != i]
            seen = set(ctx.output).union(*[ctx.inputs[k] for k in others])
            kept = "".join(c for c in uniq if c in seen)
            terms = [ctx.output] + [ctx.inputs[k] for k in others]
            grad = Einsum.apply(g, *[ops[k] for k in others], inputs=terms, output=kept)
            if kept != uniq:  # letters summed within this operand alone: the gradient is constant along them
                size = {c: n for c, n in zip(sub, ctx.shapes[i])}
                grad = grad.reshape(tuple(size[c] if c in kept else 1 for c in uniq)).broadcast_to(
                    tuple(size[c] for c in uniq))
            if uniq != sub:
                grad = EinsumDiagonalEmbed.apply(grad, uniq, sub, ctx.shapes[i])
            grads.append(grad)
        return tuple(grads)


class EinsumDiagonalEmbed(Function):
    """Zeros of ``shape`` (subscripts ``full``, some letters repeated) with ``v`` (subscripts ``uniq``)
    written on the diagonals the repeated letters name: the adjoint of ``einsum('full->uniq')``."""

    @staticmethod
    def forward(ctx, v, uniq, full, shape):
        ctx.uniq, ctx.full = uniq, full
        out = np.zeros(shape, dtype=v.dtype)
        np.einsum(f"{full}->{uniq}", out)[...] = v  # numpy returns a writable diagonal view
        return out

    @staticmethod
    def backward(ctx, g):
        return Einsum.apply(g, inputs=[ctx.full], output=ctx.uniq)


def _parse_sublists(args):
    """``einsum(op0, [0, 1], op1, [1, 2], [0, 2])`` -> ('ab,bc->ac', [op0, op1])."""
    def letters(sub):
        return "".join("..." if s is Ellipsis else _LETTERS[int(s)] for s in sub)
    ops, subs = list(args[0::2]), [letters(s) for s in args[1::2]]
    if len(subs) > len(ops):
        raise ValueError("einsum: sublist format needs operand, sublist pairs and an optional output sublist")
    out = None
    if len(ops) > len(subs):
        out = letters(ops.pop())
    return ",".join(subs) + ("" if out is None else "->" + out), ops


def einsum(equation, *operands):
    """Einstein summation, with numpy's and PyTorch's rules: ``einsum('ij,jk->ik', a, b)``.

    Letters name dimensions; a letter in two operands multiplies along it, a letter
    missing from the output is summed. Without ``->`` the output is the letters that
    appear once, in alphabetical order. ``...`` stands for broadcast dimensions; a
    dimension of size 1 broadcasts against the same letter elsewhere. The operands may
    also come as one list, or in the sublist format (``einsum(a, [0, 1], b, [1, 2])``).
    """
    if not isinstance(equation, str):
        equation, operands = _parse_sublists((equation,) + operands)
    elif len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    ops = [x if isinstance(x, Tensor) else Tensor(x) for x in operands]
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(ops):
        raise ValueError(f"einsum: the equation {equation!r} has {len(terms)} operand(s) but {len(ops)} were given")
    for t_ in terms + ([rhs] if arrow else []):
        bad = set(t_.replace("...", "")) - set(_LETTERS)
        if bad or t_.replace("...", "").count(".") or t_.count("...") > 1:
            raise ValueError(f"einsum: {equation!r}: subscripts must be letters, with at most one '...' each")
    # the broadcast dimensions '...' get letters the equation does not use, right-aligned across operands
    free = [c for c in _LETTERS if c not in eq]
    n_ell = []
    for t_, x in zip(terms, ops):
        named = len(t_.replace("...", ""))
        if "..." in t_:
            n_ell.append(x.ndim - named)
        elif named != x.ndim:
            raise ShapeError(f"einsum: subscripts {t_!r} name {named} dimension(s) but the operand has shape "
                             f"{tuple(x.shape)}")
        else:
            n_ell.append(0)
        if n_ell[-1] < 0:
            raise ShapeError(f"einsum: subscripts {t_!r} name more dimensions than the operand's shape "
                             f"{tuple(x.shape)}")
    m = max(n_ell, default=0)
    ell = "".join(free[:m])
    terms = [t_.replace("...", ell[m - k:]) for t_, k in zip(terms, n_ell)]
    if arrow:
        out = rhs.replace("...", ell)
        for c in out:
            if out.count(c) > 1:
                raise ValueError(f"einsum: output subscript {c!r} appears more than once in {equation!r}")
            if not any(c in t_ for t_ in terms):
                raise ValueError(f"einsum: output subscript {c!r} does not appear in any operand of {equation!r}")
    else:
        counts = {c: sum(t_.count(c) for t_ in terms) for c in set("".join(terms))}
        out = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
    # sizes: equal, or 1 (broadcast) - then every operand is brought to the common sizes
    size = {}
    for k, (t_, x) in enumerate(zip(terms, ops)):
        for c, n in zip(t_, x.shape):
            seen_n = size.get(c, n)
            if seen_n != n and 1 not in (seen_n, n):
                raise ShapeError(f"einsum: subscript {c!r} has size {n} for operand {k} which does not broadcast "
                                 f"with the size {seen_n} seen before ({equation!r})")
            size[c] = max(seen_n, n) if 1 in (seen_n, n) else n
    for k, (t_, x) in enumerate(zip(terms, ops)):
        want = tuple(size[c] for c in t_)
        if tuple(x.shape) != want and len(set(t_)) == len(t_):
            ops[k] = x.broadcast_to(want)
    return Einsum.apply(*ops, inputs=terms, output=out)


class Linear(Function):
    """``y = x @ W.T + b`` in one node; ``x`` is ``(..., in)``, ``W`` is ``(out, in)``, ``b`` is ``(out,)``.

    Backward: ``dx = g @ W``, ``dW = g.T @ x`` (leading dimensions flattened),
    ``db = g`` summed by the engine down to ``(out,)``.
    """

    @staticmethod
    def forward(ctx, x, weight, bias=None):
        ctx.save_for_backward(x, weight)
        out = _fused.matmul(x, weight.T) if x.ndim == 2 else np.matmul(x, weight.T)
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

