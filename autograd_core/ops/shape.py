"""Shape operations: reshape/view, permute/transpose, (un)squeeze, expand, cat, stack, pad.

Ops whose result is a numpy view of the input share the input's version
counter, so an in-place change through either is seen by saved tensors of both.
"""

from __future__ import annotations

import numpy as np

from ..function import Function, ShapeError
from ..tensor import Tensor
from ._declare import functional, method

__all__ = ["reshape", "view", "view_as", "flatten", "permute", "transpose", "t", "squeeze", "unsqueeze",
           "broadcast_to", "expand", "expand_as", "cat", "concatenate", "stack", "pad", "sum_to"]


def _norm_dim(dim, ndim, op, extra=0):
    """One dimension index, checked; ``extra=1`` allows the position after the last (unsqueeze)."""
    n = ndim + extra
    lo, hi = (-n, n - 1) if n else (-1, 0)
    if not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{op}: dim must be an int, got {type(dim).__name__}")
    if not lo <= dim <= hi:
        raise IndexError(
            f"{op}: dimension {dim} is out of range for a tensor with {ndim} dimension(s) "
            f"(expected a value in [{lo}, {hi}])"
        )
    return int(dim) % n if n else 0


def _shape_arg(shape, op):
    """Accept ``f(2, 3)``, ``f((2, 3))`` and ``f([2, 3])``."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    if len(shape) == 1 and isinstance(shape[0], Tensor):
        shape = tuple(int(s) for s in shape[0].data.reshape(-1))
    try:
        return tuple(int(s) for s in shape)
    except (TypeError, ValueError):
        raise TypeError(f"{op}: shape must be ints, got {shape!r}") from None


def _as_view(out, src):
    """Make ``out`` share ``src``'s version counter when its data is a view of ``src``'s."""
    if isinstance(src, Tensor) and out.data.base is not None:
        out._ver = src._ver
        out._base = src if src._base is None else src._base
    return out


def _reshape_error(op, shape, new):
    return ShapeError(
        f"{op}: shape {tuple(new)} is invalid for a tensor of shape {tuple(shape)} "
        f"({int(np.prod(shape))} elements); the new shape must have the same number of elements "
        "(use -1 for one dimension to have it inferred)"
    )


class Reshape(Function):
    @staticmethod
    def forward(ctx, a, shape, strict=False):
        ctx.in_shape = a.shape
        try:
            if strict:
                return np.reshape(a, shape, copy=False)
            return np.reshape(a, shape)
        except ValueError as e:
            if "copy" in str(e):
                raise ShapeError(
                    f"view: a tensor of shape {a.shape} with strides {a.strides} cannot be viewed as "
                    f"{tuple(shape)} without copying (it is not contiguous, e.g. after transpose); "
                    "use .reshape(...) instead, which copies when needed"
                ) from None
            raise _reshape_error("view" if strict else "reshape", a.shape, shape) from None

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.in_shape)


class Permute(Function):
    @staticmethod
    def forward(ctx, a, dims):
        ctx.inverse = tuple(np.argsort(dims))
        return np.transpose(a, dims)

    @staticmethod
    def backward(ctx, g):
        return g.permute(ctx.inverse)


class BroadcastTo(Function):
    @staticmethod
    def forward(ctx, a, shape):
        ctx.in_shape = np.shape(a)
        return np.broadcast_to(a, shape)

    @staticmethod
    def backward(ctx, g):
        return sum_to(g, ctx.in_shape)


def _sum_to_axes(shape, target):
    lead = len(shape) - len(target)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, t in enumerate(target) if t == 1 and shape[lead + i] != 1)
    return lead, axes


class SumTo(Function):
    """Sum a broadcast array back down to ``shape`` (the adjoint of broadcast_to)."""

    @staticmethod
    def forward(ctx, a, shape):
        ctx.in_shape = a.shape
        lead, axes = _sum_to_axes(a.shape, shape)
        out = np.sum(a, axis=axes, keepdims=True) if axes else a
        return out.reshape(shape) if lead or out.shape != tuple(shape) else out

    @staticmethod
    def backward(ctx, g):
        return g.broadcast_to(ctx.in_shape)


def can_sum_to(shape, target):
    if len(shape) < len(target):
        return False
    lead = len(shape) - len(target)
    return all(t == s or t == 1 for s, t in zip(shape[lead:], target))


def sum_to(x, shape):
    """Reduce ``x`` by summation to ``shape`` (which must broadcast to ``x.shape``)."""
    shape = tuple(shape)
    if tuple(x.shape) == shape:
        return x
    return SumTo.apply(x, shape)


def _legacy_empty(a, ndim):
    """PyTorch's legacy empty tensor: shape (0,) among tensors of another rank; cat skips it."""
    return a.shape == (0,) and ndim != 1


class Cat(Function):
    @staticmethod
    def forward(ctx, *arrays, dim=0):
        nd = max(a.ndim for a in arrays)
        skip = [_legacy_empty(a, nd) for a in arrays]
        ctx.sizes = [0 if s else a.shape[dim] for a, s in zip(arrays, skip)]
        ctx.skip = skip
        ctx.dim = dim
        kept = [a for a, s in zip(arrays, skip) if not s]
        out = np.concatenate(kept, axis=dim)
        dt = np.result_type(*arrays)  # a skipped tensor still takes part in the type promotion
        return out if out.dtype == dt else out.astype(dt)

    @staticmethod
    def backward(ctx, g):
        out, start = [], 0
        pre = (slice(None),) * ctx.dim
        for n, need, skip in zip(ctx.sizes, ctx.needs_input_grad, ctx.skip):
            if skip:
                out.append(Tensor._wrap(np.zeros((0,), g.dtype)) if need else None)
                continue
            out.append(g[pre + (slice(start, start + n),)] if need else None)
            start += n
        return tuple(out)


class Stack(Function):
    @staticmethod
    def forward(ctx, *arrays, dim=0):
        ctx.dim = dim
        return np.stack(arrays, axis=dim)

    @staticmethod
    def backward(ctx, g):
        pre = (slice(None),) * ctx.dim
        return tuple(g[pre + (i,)] if need else None for i, need in enumerate(ctx.needs_input_grad))


class PadConstant(Function):
    """Constant padding; a negative pad crops. Its adjoint is the opposite pad."""

    @staticmethod
    def forward(ctx, a, pad, value=0.0):
        ctx.pad = pad
        widths = [(0, 0)] * a.ndim
        crop = [slice(None)] * a.ndim
        for i in range(len(pad) // 2):
            d = a.ndim - 1 - i
            lo, hi = pad[2 * i], pad[2 * i + 1]
            widths[d] = (max(lo, 0), max(hi, 0))
            size = a.shape[d] + max(lo, 0) + max(hi, 0)
            crop[d] = slice(-min(lo, 0), size + min(hi, 0))
            if size + min(lo, 0) + min(hi, 0) < 0:
                raise ShapeError(
                    f"pad: padding {pad[2 * i:2 * i + 2]} of dimension {d} (size {a.shape[d]}) gives a "
                    "negative size")
        out = np.pad(a, widths, mode="constant", constant_values=value)
        return out[tuple(crop)]

    @staticmethod
    def backward(ctx, g):
        return PadConstant.apply(g, tuple(-p for p in ctx.pad))


# --------------------------------------------------------------------------- functional API

@method
def reshape(input, *shape):
    shape = _shape_arg(shape, "reshape")
    if tuple(input.shape) == shape:
        return input
    return _as_view(Reshape.apply(input, shape), input)


@method
def view(input, *shape):
    shape = _shape_arg(shape, "view")
    return _as_view(Reshape.apply(input, shape, strict=True), input)


@method
def view_as(input, other):
    return view(input, tuple(other.shape))


@method
def reshape_as(input, other):  # a Tensor method only, as in PyTorch
    return reshape(input, tuple(other.shape))


@method
@functional
def flatten(input, start_dim=0, end_dim=-1):
    shape = tuple(input.shape)
    if len(shape) == 0:
        return reshape(input, (1,))
    s = _norm_dim(start_dim, len(shape), "flatten")
    e = _norm_dim(end_dim, len(shape), "flatten")
    if s > e:
        raise ValueError(f"flatten: start_dim ({start_dim}) must not come after end_dim ({end_dim})")
    new = shape[:s] + (int(np.prod(shape[s:e + 1])),) + shape[e + 1:]
    return reshape(input, new)


@method
def permute(input, *dims):
    dims = _shape_arg(dims, "permute")
    nd = np.ndim(input.data if isinstance(input, Tensor) else input)
    if len(dims) != nd:
        raise ShapeError(
            f"permute: got {len(dims)} dims {dims} for a tensor with {nd} dimensions; give each "
            "dimension exactly once")
    dims = tuple(_norm_dim(d, nd, "permute") for d in dims)
    if len(set(dims)) != nd:
        raise ValueError(f"permute: dims {dims} repeat a dimension; give each dimension exactly once")
    if dims == tuple(range(nd)):
        return input
    return _as_view(Permute.apply(input, dims), input)


@method
def transpose(input, dim0, dim1):
    nd = input.ndim
    d0, d1 = _norm_dim(dim0, nd, "transpose"), _norm_dim(dim1, nd, "transpose")
    if nd == 0:  # transpose(x, 0, 0) of a 0-d tensor is x (PyTorch)
        return input
    perm = list(range(nd))
    perm[d0], perm[d1] = perm[d1], perm[d0]
    return permute(input, tuple(perm))


@method
def t(input):
    if input.ndim > 2:
        raise ValueError(f"t(): expects a tensor with <= 2 dimensions, got shape {tuple(input.shape)}")
    return permute(input, tuple(range(input.ndim - 1, -1, -1)))


@method
def squeeze(input, dim=None):
    shape = tuple(input.shape)
    if dim is None:
        new = tuple(s for s in shape if s != 1)
    else:
        dims = dim if isinstance(dim, (tuple, list)) else (dim,)
        dims = {_norm_dim(d, len(shape), "squeeze") for d in dims}
        new = tuple(s for i, s in enumerate(shape) if not (i in dims and s == 1))
    return reshape(input, new)


@method
def unsqueeze(input, dim):
    shape = list(input.shape)
    d = _norm_dim(dim, len(shape), "unsqueeze", extra=1)
    shape.insert(d, 1)
    return reshape(input, tuple(shape))


@method
def broadcast_to(input, *shape):
    shape = _shape_arg(shape, "broadcast_to")
    in_shape = tuple(np.shape(input.data if isinstance(input, Tensor) else input))
    if in_shape == shape:
        return input
    if not can_sum_to(shape, in_shape):
        raise ShapeError(
            f"broadcast_to: a tensor of shape {in_shape} cannot be broadcast to {shape}: each "
            "dimension must match the target's or be 1, counting from the last")
    return _as_view(BroadcastTo.apply(input, shape), input)


@method
def expand(input, *sizes):
    sizes = _shape_arg(sizes, "expand")
    shape = tuple(input.shape)
    if len(sizes) < len(shape):
        raise ShapeError(
            f"expand: the number of sizes given ({len(sizes)}) must be at least the tensor's number "
            f"of dimensions ({len(shape)}); tensor shape {shape}, sizes {sizes}")
    lead = len(sizes) - len(shape)
    target = []
    for i, s in enumerate(sizes):
        if i < lead:
            if s < 0:
                raise ShapeError(f"expand: -1 is not allowed for the new leading dimension {i} (sizes {sizes})")
            target.append(s)
            continue
        cur = shape[i - lead]
        if s == -1:
            target.append(cur)
        elif cur == 1 or cur == s:
            target.append(s)
        else:
            raise ShapeError(
                f"expand: the expanded size ({s}) must match the existing size ({cur}) at non-singleton "
                f"dimension {i}; target sizes {sizes}, tensor shape {shape}")
    return broadcast_to(input, tuple(target))


@method
def expand_as(input, other):
    return expand(input, tuple(other.shape))


def _seq_arrays(tensors, op):
    if isinstance(tensors, (Tensor, np.ndarray)):
        raise TypeError(f"{op}: expects a sequence of tensors, got a single {type(tensors).__name__}")
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    if not tensors:
        raise ValueError(f"{op}: expects a non-empty sequence of tensors")
    return tensors


def cat(tensors, dim=0):
    """Join tensors along an existing dimension ``dim``."""
    tensors = _seq_arrays(tensors, "cat")
    # PyTorch skips legacy empty tensors of shape (0,) when the others have another rank
    top = max(t_.ndim for t_ in tensors)
    k = next((i for i, t_ in enumerate(tensors) if not _legacy_empty(t_, top)), 0)
    nd = tensors[k].ndim
    d = _norm_dim(dim, nd, "cat")
    ref = tensors[k].shape
    for i, t_ in enumerate(tensors):
        if _legacy_empty(t_, nd):
            continue
        if t_.ndim != nd or any(a != b for j, (a, b) in enumerate(zip(t_.shape, ref)) if j != d):
            raise ShapeError(
                f"cat: tensor {i} has shape {tuple(t_.shape)} but tensor {k} has shape {tuple(ref)}; "
                f"all sizes must match except along dim {dim}")
    return Cat.apply(*tensors, dim=d)


concatenate = cat


def stack(tensors, dim=0):
    """Join tensors of equal shape along a new dimension ``dim``."""
    tensors = _seq_arrays(tensors, "stack")
    ref = tensors[0].shape
    for i, t_ in enumerate(tensors):
        if t_.shape != ref:
            raise ShapeError(
                f"stack: tensor {i} has shape {tuple(t_.shape)} but tensor 0 has shape {tuple(ref)}; "
                "stack needs tensors of the same shape")
    d = _norm_dim(dim, len(ref), "stack", extra=1)
    return Stack.apply(*tensors, dim=d)


def _pad_index(n, lo, hi, mode, d, pad):
    """Indices into an axis of size ``n`` for a (``lo``, ``hi``) pad in ``mode``; negative pads crop.

    As PyTorch: reflect and replicate pad from the whole axis, then crop; circular crops first, then
    wraps around what is left (each pad at most that size).
    """
    np_mode = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}[mode]
    size = n + lo + hi
    if mode == "circular":
        base = np.arange(max(-lo, 0), n - max(-hi, 0))
        m = len(base)
        if size < 0 or m < 0 or (m == 0 and max(lo, hi) > 0) or max(lo, hi) > m:
            raise ValueError(
                f"pad: circular padding ({lo}, {hi}) of dimension {d} (size {n}) would wrap around more than once "
                f"or leave a negative size: after cropping by the negative pads, {max(m, 0)} element(s) remain, "
                "and each positive pad must be at most that")
        return np.pad(base, (max(lo, 0), max(hi, 0)), mode=np_mode) if m else base
    if mode == "reflect" and max(lo, hi) >= n:
        raise ValueError(f"pad: reflect padding ({lo}, {hi}) must be smaller than the size {n} of dimension {d}")
    if size < 1:
        raise ValueError(f"pad: padding {pad} leaves dimension {d} (size {n}) with size {size}; it must stay "
                         "at least 1")
    if n == 0:
        raise ValueError(f"pad: {mode} padding of dimension {d} needs a non-empty input, got size 0")
    idx = np.pad(np.arange(n), (max(lo, 0), max(hi, 0)), mode=np_mode)
    return idx[max(-lo, 0):len(idx) - max(-hi, 0)]


@functional
def pad(input, pad, mode="constant", value=0.0):
    """Pad like ``torch.nn.functional.pad``: ``pad`` lists (before, after) pairs from the last dim.

    ``mode`` is 'constant', 'reflect', 'replicate' or 'circular'; a negative pad crops, in every mode
    (reflect and replicate pad from the whole input, then crop; circular crops first, as PyTorch does).
    """
    pad = tuple(int(p) for p in pad)
    nd = input.ndim
    if len(pad) % 2 or len(pad) // 2 > nd:
        raise ValueError(
            f"pad: the padding must have an even length of at most 2 * ndim = {2 * nd}, got {pad}")
    if mode == "constant":
        return PadConstant.apply(input, pad, value=value)
    if mode not in ("reflect", "replicate", "circular"):
        raise ValueError(f"pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', got {mode!r}")
    index = []
    for d in range(nd):
        i = nd - 1 - d
        n = input.shape[d]
        if i < len(pad) // 2:
            idx = _pad_index(n, pad[2 * i], pad[2 * i + 1], mode, d, pad)
        else:
            idx = np.arange(n)
        shp = [1] * nd
        shp[d] = len(idx)
        index.append(idx.reshape(shp))
    return input[tuple(index)]
