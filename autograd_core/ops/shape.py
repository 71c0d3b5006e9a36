"""Shape operations: reshape/view, permute/transpose, (un)squeeze, expand, cat, stack, pad; splitting
(chunk, split, unbind, narrow), moving (movedim, flip, roll, rot90), repeating (repeat, tile,
repeat_interleave) and the triangle and diagonal ops (tril, triu, diag, diagonal, diag_embed).

Ops whose result is a numpy view of the input share the input's version
counter, so an in-place change through either is seen by saved tensors of both.
"""

from __future__ import annotations

import numpy as np

from ..function import Function, ShapeError
from ..tensor import Tensor
from ._common import inverse_order
from ._declare import functional, method

__all__ = ["reshape", "view", "view_as", "flatten", "permute", "transpose", "t", "squeeze", "unsqueeze",
           "broadcast_to", "expand", "expand_as", "cat", "concatenate", "stack", "pad", "sum_to",
           "chunk", "split", "unbind", "narrow", "movedim", "moveaxis", "flip", "fliplr", "flipud", "roll",
           "rot90", "tile", "repeat_interleave", "tril", "triu", "diag", "diagonal", "diag_embed"]


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
        ctx.inverse = inverse_order(dims)
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


# --------------------------------------------------------------------------- split, chunk, unbind, narrow

class Split(Function):
    """Pieces of ``sizes`` along ``dim`` (numpy views); the gradient is the pieces' gradients joined."""

    @staticmethod
    def forward(ctx, a, sizes, dim):
        ctx.dim = dim
        return tuple(np.split(a, np.cumsum(sizes)[:-1], axis=dim))

    @staticmethod
    def backward(ctx, *grads):
        return Cat.apply(*grads, dim=ctx.dim)


class Unbind(Function):
    """The slices along ``dim`` (views); the gradient stacks their gradients."""

    @staticmethod
    def forward(ctx, a, dim):
        ctx.dim = dim
        pre = (slice(None),) * dim
        return tuple(a[pre + (i,)] for i in range(a.shape[dim]))

    @staticmethod
    def backward(ctx, *grads):
        return Stack.apply(*grads, dim=ctx.dim)


def _pieces(input, sizes, d):
    return tuple(_as_view(p, input) for p in Split.apply(input, tuple(sizes), d))


@method
def split(tensor, split_size_or_sections, dim=0):
    """Views of ``tensor`` cut along ``dim``: pieces of ``split_size_or_sections`` (the last one shorter),
    or of each size in a list of sizes that add up to the dimension's size."""
    x = tensor if isinstance(tensor, Tensor) else Tensor(tensor)
    if x.ndim == 0:
        raise ShapeError("split: a 0-d tensor cannot be split; it has no dimension")
    d = _norm_dim(dim, x.ndim, "split")
    n = x.shape[d]
    if isinstance(split_size_or_sections, (int, np.integer)):
        size = int(split_size_or_sections)
        if size < 0 or (size == 0 and n):
            raise ValueError(f"split: split_size must be positive (0 only for a dimension of size 0), got {size} "
                             f"for dimension {d} of size {n}")
        sizes = [size] * (n // size) + ([n % size] if n % size else []) if size else [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if any(s < 0 for s in sizes) or sum(sizes) != n:
            raise ValueError(f"split: the sizes {sizes} must be non-negative and add up to {n}, the size of "
                             f"dimension {d}")
    return _pieces(x, sizes, d)


@method
def chunk(input, chunks, dim=0):
    """At most ``chunks`` views of equal size ``ceil(n / chunks)`` along ``dim`` (the last one smaller;
    fewer pieces when that leaves nothing for the last ones, as in PyTorch)."""
    x = input if isinstance(input, Tensor) else Tensor(input)
    if int(chunks) <= 0:
        raise ValueError(f"chunk: chunks must be positive, got {chunks}")
    if x.ndim == 0:
        raise ShapeError("chunk: expects a tensor with at least one dimension, got a 0-d tensor")
    d = _norm_dim(dim, x.ndim, "chunk")
    n = x.shape[d]
    if n == 0:
        return _pieces(x, [0] * int(chunks), d)
    return split(x, -(-n // int(chunks)), d)


@method
def unbind(input, dim=0):
    """The slices of ``input`` along ``dim``, that dimension removed, as a tuple of views."""
    x = input if isinstance(input, Tensor) else Tensor(input)
    if x.ndim == 0:
        raise IndexError("unbind: a 0-d tensor has no dimension to unbind")
    d = _norm_dim(dim, x.ndim, "unbind")
    return tuple(_as_view(p, x) for p in Unbind.apply(x, d))


@method
def narrow(input, dim, start, length):
    """The view ``input[..., start:start + length, ...]`` along ``dim`` (a negative ``start`` counts from the end)."""
    d = _norm_dim(dim, input.ndim, "narrow")
    n = input.shape[d]
    start, length = int(start), int(length)
    if not -n <= start <= n:
        raise IndexError(f"narrow: start {start} is out of range for dimension {d} of size {n}")
    start %= n if n else 1
    if length < 0 or start + length > n:
        raise IndexError(f"narrow: start ({start}) + length ({length}) exceeds the size {n} of dimension {d}")
    return input[(slice(None),) * d + (slice(start, start + length),)]


# --------------------------------------------------------------------------- movedim, flip, roll, rot90

def _dims_list(dims, ndim, op, name="dims"):
    items = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    out = [_norm_dim(d, ndim, op) for d in items]
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: {name} {tuple(items)} repeat a dimension")
    return out


@method
def movedim(input, source, destination):
    """Move dimensions ``source`` to positions ``destination`` (ints or sequences), keeping the others in order."""
    nd = input.ndim
    src = _dims_list(source, nd, "movedim", "source")
    dst = _dims_list(destination, nd, "movedim", "destination")
    if len(src) != len(dst):
        raise ValueError(f"movedim: source {source} and destination {destination} must have the same length")
    order = [k for k in range(nd) if k not in src]
    for dest, s_ in sorted(zip(dst, src)):
        order.insert(dest, s_)
    return permute(input, tuple(order))


moveaxis = movedim


class Flip(Function):
    @staticmethod
    def forward(ctx, a, dims):
        ctx.dims = dims
        return np.flip(a, dims).copy() if dims else a.copy()  # a copy, as in PyTorch

    @staticmethod
    def backward(ctx, g):
        return Flip.apply(g, ctx.dims)


@method
def flip(input, dims):
    """``input`` reversed along each of ``dims`` (a copy)."""
    nd = input.ndim
    return Flip.apply(input, tuple(_dims_list(dims, nd, "flip")) if nd else ())


@method
def fliplr(input):
    """Reverse dimension 1 (left/right); needs at least 2 dimensions."""
    if input.ndim < 2:
        raise ShapeError(f"fliplr: expects a tensor with at least 2 dimensions, got shape {tuple(input.shape)}")
    return flip(input, (1,))


@method
def flipud(input):
    """Reverse dimension 0 (up/down); needs at least 1 dimension."""
    if input.ndim < 1:
        raise ShapeError("flipud: expects a tensor with at least 1 dimension, got a 0-d tensor")
    return flip(input, (0,))


class Roll(Function):
    @staticmethod
    def forward(ctx, a, shifts, dims):
        ctx.shifts, ctx.dims = shifts, dims
        return np.roll(a, shifts, axis=dims)

    @staticmethod
    def backward(ctx, g):
        neg = tuple(-s for s in ctx.shifts) if isinstance(ctx.shifts, tuple) else -ctx.shifts
        return Roll.apply(g, neg, ctx.dims)


@method
def roll(input, shifts, dims=None):
    """Shift elements along ``dims`` by ``shifts``, wrapping around; ``dims=None`` rolls the flattened tensor."""
    if dims is None:
        if not isinstance(shifts, (int, np.integer)):
            shifts = tuple(shifts)
            if len(shifts) != 1:
                raise ValueError(f"roll: without dims, shifts must be one int, got {shifts}")
            shifts = shifts[0]
        return Roll.apply(input, int(shifts), None)
    one = isinstance(dims, (int, np.integer))
    dims = tuple(_norm_dim(d, input.ndim, "roll") for d in ((dims,) if one else dims))
    shifts = (int(shifts),) if isinstance(shifts, (int, np.integer)) else tuple(int(s) for s in shifts)
    if len(shifts) != len(dims):
        raise ValueError(f"roll: shifts {shifts} and dims {dims} must have the same length")
    return Roll.apply(input, shifts, dims)


class Rot90(Function):
    @staticmethod
    def forward(ctx, a, k, dims):
        ctx.k, ctx.dims = k, dims
        return np.rot90(a, k, axes=dims).copy()

    @staticmethod
    def backward(ctx, g):
        return Rot90.apply(g, -ctx.k, ctx.dims)


@method
def rot90(input, k=1, dims=(0, 1)):
    """Rotate by ``k`` quarter turns in the plane of ``dims``, from the first dimension towards the second."""
    nd = input.ndim
    if nd < 2:
        raise ShapeError(f"rot90: expects a tensor with at least 2 dimensions, got shape {tuple(input.shape)}")
    d = tuple(_norm_dim(x, nd, "rot90") for x in dims)
    if len(d) != 2 or d[0] == d[1]:
        raise ValueError(f"rot90: dims must be two different dimensions, got {tuple(dims)}")
    return Rot90.apply(input, int(k) % 4, d)


# --------------------------------------------------------------------------- repeat, tile, repeat_interleave

class Repeat(Function):
    """``np.tile``: the input (with 1s prepended to its shape) repeated ``reps[i]`` times along each axis.

    The gradient sums the copies: reshape to ``(r0, s0, r1, s1, ...)`` and sum the ``r`` axes.
    """

    @staticmethod
    def forward(ctx, a, reps):
        ctx.in_shape = a.shape
        ctx.reps = reps
        return np.tile(a, reps)

    @staticmethod
    def backward(ctx, g):
        shape = (1,) * (len(ctx.reps) - len(ctx.in_shape)) + tuple(ctx.in_shape)
        split_shape = tuple(v for pair in zip(ctx.reps, shape) for v in pair)
        summed = g.reshape(split_shape).sum(tuple(range(0, 2 * len(shape), 2)))
        return summed.reshape(ctx.in_shape)


@method
def repeat(input, *sizes):  # a Tensor method only, as in PyTorch
    """Repeat ``input`` ``sizes[i]`` times along each dimension (``sizes`` may add leading dimensions)."""
    reps = _shape_arg(sizes, "repeat")
    if len(reps) < input.ndim:
        raise ShapeError(f"repeat: {len(reps)} repeat count(s) {reps} for a tensor with {input.ndim} dimensions; "
                         "give at least one per dimension (tile() prepends 1s instead)")
    if any(r < 0 for r in reps):
        raise ValueError(f"repeat: repeat counts must be non-negative, got {reps}")
    return Repeat.apply(input, reps)


@method
def tile(input, dims):
    """``repeat`` with too few counts padded with leading 1s (numpy's ``tile``)."""
    reps = _shape_arg((dims,), "tile")
    return repeat(input, (1,) * (input.ndim - len(reps)) + reps)


@method
def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    """Repeat each element (or each slice along ``dim``) ``repeats`` times, in place in the order.

    ``repeats``: an int, or one count per element along ``dim``; ``dim=None`` flattens first.
    ``repeat_interleave(counts)`` alone gives ``[0] * counts[0] + [1] * counts[1] + ...``.
    """
    if repeats is None:
        counts = np.asarray(input.data if isinstance(input, Tensor) else input)
        if counts.ndim > 1 or counts.dtype.kind not in "iu":
            raise TypeError("repeat_interleave: the one-argument form takes a 1-D integer tensor of counts")
        counts = counts.reshape(-1)
        if counts.size and counts.min() < 0:
            raise ValueError("repeat_interleave: repeats must be non-negative")
        return Tensor._wrap(np.repeat(np.arange(counts.size, dtype=np.int64), counts))
    x = input if isinstance(input, Tensor) else Tensor(input)
    if dim is None:
        x, d = reshape(x, (-1,)), 0
    else:
        d = _norm_dim(dim, x.ndim, "repeat_interleave")
        if x.ndim == 0:
            x = reshape(x, (1,))
    n = x.shape[d]
    counts = np.asarray(repeats.data if isinstance(repeats, Tensor) else repeats)
    if counts.dtype.kind not in "iu":
        raise TypeError(f"repeat_interleave: repeats must be integers, got dtype {counts.dtype}")
    if counts.size == 1:
        counts = np.full(n, int(counts.reshape(())))
    if counts.ndim != 1 or counts.shape[0] != n:
        raise ShapeError(f"repeat_interleave: repeats must be one int or one count per element along dimension "
                         f"{d} ({n}), got shape {counts.shape}")
    if counts.size and counts.min() < 0:
        raise ValueError("repeat_interleave: repeats must be non-negative")
    if output_size is not None and int(counts.sum()) != int(output_size):
        raise ValueError(f"repeat_interleave: output_size={output_size} but the repeats add up to {counts.sum()}")
    idx = np.repeat(np.arange(n, dtype=np.int64), counts)
    return x[(slice(None),) * d + (idx,)]


# --------------------------------------------------------------------------- triangles and diagonals

class Tri(Function):
    """The lower (``upper=False``) or upper triangle of the last two dimensions, the rest zeroed."""

    @staticmethod
    def forward(ctx, a, diagonal=0, upper=False):
        ctx.diagonal, ctx.upper = diagonal, upper
        return np.triu(a, diagonal) if upper else np.tril(a, diagonal)

    @staticmethod
    def backward(ctx, g):
        return Tri.apply(g, ctx.diagonal, ctx.upper)


def _check_matrix(input, op):
    if input.ndim < 2:
        raise ShapeError(f"{op}: expects a tensor with at least 2 dimensions, got shape {tuple(input.shape)}")


@method
def tril(input, diagonal=0):
    """Keep ``input[..., i, j]`` for ``j - i <= diagonal``, zero above."""
    _check_matrix(input, "tril")
    return Tri.apply(input, int(diagonal), False)


@method
def triu(input, diagonal=0):
    """Keep ``input[..., i, j]`` for ``j - i >= diagonal``, zero below."""
    _check_matrix(input, "triu")
    return Tri.apply(input, int(diagonal), True)


@method
def tril_(input, diagonal=0):
    """In place: ``tril``."""
    from .elementwise import inplace
    _check_matrix(input, "tril_")
    return inplace(input, "tril_", Tri, int(diagonal), False)


@method
def triu_(input, diagonal=0):
    """In place: ``triu``."""
    from .elementwise import inplace
    _check_matrix(input, "triu_")
    return inplace(input, "triu_", Tri, int(diagonal), True)


def diagonal_view(a, offset, d1, d2):
    """The diagonal ``a[..., i, ..., i + offset, ...]`` of axes ``d1``, ``d2`` as a strided view (writable
    when ``a`` is), those axes removed and the diagonal appended last, as ``np.diagonal`` orders it."""
    n1, n2 = a.shape[d1], a.shape[d2]
    s1, s2 = (0, offset) if offset >= 0 else (-offset, 0)
    length = max(0, min(n1 - s1, n2 - s2))
    start = [slice(None)] * a.ndim
    start[d1], start[d2] = slice(min(s1, n1), None), slice(min(s2, n2), None)
    base = a[tuple(start)]
    rest = [k for k in range(a.ndim) if k not in (d1, d2)]
    shape = tuple(a.shape[k] for k in rest) + (length,)
    strides = tuple(a.strides[k] for k in rest) + (a.strides[d1] + a.strides[d2],)
    return np.lib.stride_tricks.as_strided(base, shape, strides)


class Diagonal(Function):
    """A diagonal of two axes (a view of the input, or a copy); the gradient embeds it into zeros."""

    @staticmethod
    def forward(ctx, a, offset, d1, d2, copy=False):
        ctx.shape, ctx.args = a.shape, (offset, d1, d2)
        out = diagonal_view(a, offset, d1, d2)
        return out.copy() if copy else out

    @staticmethod
    def backward(ctx, g):
        return DiagEmbed.apply(g, ctx.shape, *ctx.args)


class DiagEmbed(Function):
    """Zeros of ``shape`` with ``v`` (diagonal last) written on the diagonal of axes ``d1``, ``d2``."""

    @staticmethod
    def forward(ctx, v, shape, offset, d1, d2):
        ctx.args = (offset, d1, d2)
        out = np.zeros(shape, dtype=v.dtype)
        diagonal_view(out, offset, d1, d2)[...] = v
        return out

    @staticmethod
    def backward(ctx, g):
        return Diagonal.apply(g, *ctx.args, copy=True)


@method
def diagonal(input, offset=0, dim1=0, dim2=1):
    """The diagonal of dimensions ``dim1`` and ``dim2`` (a view), those removed and the diagonal last.

    ``offset > 0`` is above the main diagonal (``input[i, i + offset]``), ``< 0`` below.
    """
    nd = input.ndim
    if nd < 2:
        raise ShapeError(f"diagonal: expects a tensor with at least 2 dimensions, got shape {tuple(input.shape)}")
    d1, d2 = _norm_dim(dim1, nd, "diagonal"), _norm_dim(dim2, nd, "diagonal")
    if d1 == d2:
        raise ValueError(f"diagonal: dim1 and dim2 must be different, got {dim1} and {dim2}")
    return _as_view(Diagonal.apply(input, int(offset), d1, d2), input)


@method
def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    """Tensors whose diagonal (of the new dimensions ``dim1``, ``dim2``) holds the last dimension of
    ``input``; everything else is zero. ``(..., n)`` -> ``(..., n + |offset|, n + |offset|)`` by default."""
    x = input if isinstance(input, Tensor) else Tensor(input)
    if x.ndim == 0:
        x = reshape(x, (1,))
    nd = x.ndim + 1
    d1, d2 = _norm_dim(dim1, nd, "diag_embed"), _norm_dim(dim2, nd, "diag_embed")
    if d1 == d2:
        raise ValueError(f"diag_embed: dim1 and dim2 must be different, got {dim1} and {dim2}")
    m = x.shape[-1] + abs(int(offset))
    shape = list(x.shape[:-1])
    for d in sorted((d1, d2)):
        shape.insert(d, m)
    return DiagEmbed.apply(x, tuple(shape), int(offset), d1, d2)


@method
def diag(input, diagonal=0):
    """A 1-D ``input``: the square matrix with it on diagonal ``diagonal``; a 2-D one: that diagonal (a copy)."""
    x = input if isinstance(input, Tensor) else Tensor(input)
    k = int(diagonal)
    if x.ndim == 1:
        m = x.shape[0] + abs(k)
        return DiagEmbed.apply(x, (m, m), k, 0, 1)
    if x.ndim == 2:
        return Diagonal.apply(x, k, 0, 1, copy=True)
    raise ShapeError(f"diag: expects a 1-D or 2-D tensor, got shape {tuple(x.shape)}")
