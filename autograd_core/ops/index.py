"""Indexing: ``x[index]`` and ``x[index] = value`` with numpy's (and PyTorch's) rules, and the
indexing ops built on them: ``gather scatter scatter_add index_select index_add masked_fill
masked_select take take_along_dim nonzero argwhere`` (and ``where(condition)``).

An index may hold ints, slices, None, Ellipsis, integer arrays/tensors/lists and
boolean arrays/tensors. The gradient of ``x[index]`` scatters back with
``np.add.at``, so repeated integer indices accumulate.

The named ops are ``x[index]`` (``GetItem``), its adjoint (``IndexAdd``) and
``x[index] = v`` (``SetItem``) with the index spelt out: ``gather(x, d, i)`` is
``x[..., i, ...]`` with an open mesh of aranges in the other dimensions, so each
is differentiable as often as indexing is, and none needs a backward of its own.
"""

from __future__ import annotations

import numpy as np

from ..function import Function, ShapeError, _state
from ..tensor import Tensor
from .elementwise import Mask, Where, _check_inplace_allowed, _write_back, cast
from .shape import _as_view, _norm_dim, broadcast_to, reshape
from ._declare import functional, method

__all__ = ["one_hot", "gather", "scatter", "scatter_add", "index_select", "index_add", "masked_fill",
           "masked_select", "take", "take_along_dim", "nonzero", "argwhere"]

_BASIC = (int, slice, type(None), type(Ellipsis), np.integer)


def _convert(index):
    """Tensors and lists inside an index become ndarrays."""
    if isinstance(index, tuple):
        return tuple(_convert_one(i) for i in index)
    return _convert_one(index)


def _convert_one(i):
    if isinstance(i, Tensor):
        i = i.data
        if i.dtype.kind not in "biu":
            raise IndexError(f"tensors used as indices must be integer or boolean, got dtype {i.dtype}")
        return i
    if isinstance(i, list):
        a = np.asarray(i)
        if a.dtype.kind not in "biu":
            raise IndexError(f"lists used as indices must hold ints or bools, got {i!r}")
        return a
    if isinstance(i, np.ndarray) and i.dtype.kind not in "biu":
        raise IndexError(f"arrays used as indices must be integer or boolean, got dtype {i.dtype}")
    return i


def _has_int_array(index):
    items = index if isinstance(index, tuple) else (index,)
    return any(isinstance(i, np.ndarray) and i.dtype.kind in "iu" for i in items)


def _is_basic(index):
    if isinstance(index, tuple):
        return all(isinstance(i, _BASIC) for i in index)
    return isinstance(index, _BASIC)


def _index_error(e, shape, index):
    return IndexError(f"index {_show(index)} does not fit a tensor of shape {tuple(shape)}: {e}")


def _show(index):
    if isinstance(index, np.ndarray):
        return f"array(shape={index.shape}, dtype={index.dtype})"
    if isinstance(index, tuple):
        return "[" + ", ".join(_show(i) for i in index) + "]"
    return repr(index)


class GetItem(Function):
    @staticmethod
    def forward(ctx, a, index):
        ctx.index = index
        ctx.shape = a.shape
        try:
            return a[index]
        except IndexError as e:
            raise _index_error(e, a.shape, index) from None

    @staticmethod
    def backward(ctx, g):
        return IndexAdd.apply(g, ctx.index, ctx.shape)


class IndexAdd(Function):
    """``zeros(shape)`` with ``g`` added at ``index`` (the adjoint of ``x[index]``)."""

    @staticmethod
    def forward(ctx, g, index, shape):
        ctx.index = index
        out = np.zeros(shape, dtype=g.dtype)
        if _has_int_array(index):  # repeated indices must accumulate
            np.add.at(out, index, g)
        else:
            out[index] = g
        return out

    @staticmethod
    def backward(ctx, gg):
        return gg[ctx.index]


class SetItem(Function):
    """``a`` with ``a[index] = v``, out of place (the recorded form of ``__setitem__``)."""

    @staticmethod
    def forward(ctx, a, v, index):
        ctx.index = index
        out = a.copy()
        try:
            out[index] = v
        except IndexError as e:
            raise _index_error(e, a.shape, index) from None
        keep = np.ones(a.shape, dtype=bool)
        keep[index] = False
        ctx.keep = keep
        return out

    @staticmethod
    def backward(ctx, g):
        need = ctx.needs_input_grad
        return (Mask.apply(g, ctx.keep) if need[0] else None,
                g[ctx.index] if need[1] else None)


def getitem(x, index):
    index = _convert(index)
    out = GetItem.apply(x, index)
    return _as_view(out, x) if _is_basic(index) else out


def setitem(t, index, value):
    index = _convert(index)
    recording = _state.enabled and (t.requires_grad or (isinstance(value, Tensor) and value.requires_grad))
    if not recording:
        v = value.data if isinstance(value, Tensor) else value
        if not t.data.flags.writeable:
            raise RuntimeError("__setitem__: this tensor is a read-only (expanded) view; clone() it first")
        try:
            t.data[index] = v
        except IndexError as e:
            raise _index_error(e, t.shape, index) from None
        except ValueError as e:
            raise ValueError(
                f"__setitem__: value of shape {np.shape(v)} cannot be assigned to x{_show(index)} of a "
                f"tensor of shape {tuple(t.shape)}: {e}") from None
        t._ver[0] += 1
        return
    _check_inplace_allowed(t, "__setitem__")
    old = Tensor._wrap(t.data.copy())
    old.requires_grad, old.grad_fn, old._output_nr = t.requires_grad, t.grad_fn, t._output_nr
    res = SetItem.apply(old, value, index)
    _write_back(t, res.data, "__setitem__")
    t.grad_fn, t._output_nr, t.requires_grad = res.grad_fn, res._output_nr, True


@functional
def one_hot(tensor, num_classes=-1):
    """Integer class indices ``(*)`` to a one-hot int64 tensor ``(*, num_classes)``."""
    idx = tensor.data if isinstance(tensor, Tensor) else np.asarray(tensor)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expects integer class indices, got dtype {idx.dtype}")
    if num_classes < 0:
        num_classes = int(idx.max()) + 1 if idx.size else 0
    if idx.size and (idx.min() < 0 or idx.max() >= num_classes):
        raise ValueError(f"one_hot: class values must be in [0, {num_classes}), got min {idx.min()} "
                         f"and max {idx.max()}")
    return Tensor._wrap((idx[..., None] == np.arange(num_classes)).astype(np.int64))


# --------------------------------------------------------------------------- named indexing ops

def _index_array(index, op, name="index"):
    """An integer index (Tensor, array or list) as an int64 ndarray."""
    idx = index.data if isinstance(index, Tensor) else np.asarray(index)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{op}: {name} must be an integer tensor (int64 or int32), got dtype {idx.dtype}")
    return idx.astype(np.int64, copy=False)


def _check_bounds(idx, size, dim, op):
    if idx.size and (idx.min() < 0 or idx.max() >= size):
        bad = idx.min() if idx.min() < 0 else idx.max()
        raise IndexError(f"{op}: index {bad} is out of bounds for dimension {dim} with size {size}")


def _t(x):
    return x if isinstance(x, Tensor) else Tensor(x)


def _mesh(idx, dim):
    """The index tuple that reads ``x[i0, ..., idx[i0, ...], ...]`` at every position of ``idx`` (dim ``dim``)."""
    mesh = list(np.indices(idx.shape, sparse=True)) if idx.ndim else []
    mesh[dim] = idx
    return tuple(mesh)


def _scatter_args(input, dim, index, op, src=None):
    """Checked (tensor, dim, index array) for gather/scatter, 0-d tensors as 1-D ones (PyTorch allows both)."""
    x = _t(input)
    idx = _index_array(index, op)
    scalar = x.ndim == 0
    d = _norm_dim(dim, x.ndim, op)
    if scalar:
        x = reshape(x, (1,))
    if idx.ndim == 0 or (scalar and idx.ndim == 1):
        idx = idx.reshape(-1)
    if idx.ndim != x.ndim:
        raise ShapeError(f"{op}: index has {idx.ndim} dimension(s) {idx.shape} but input has {x.ndim} "
                         f"{tuple(x.shape)}; "
                         "they must have the same number of dimensions")
    limits = [("input", tuple(x.shape))] + ([("src", tuple(np.shape(_arr(src))))] if src is not None else [])
    for what, shp in limits:
        if len(shp) == idx.ndim and any(i > s for k, (i, s) in enumerate(zip(idx.shape, shp))
                                        if k != d or what == "src"):
            raise ShapeError(f"{op}: index of shape {idx.shape} is larger than {what} of shape {shp} in a "
                             f"dimension other than dim={dim}; it may not be")
    _check_bounds(idx, x.shape[d], d, op)
    return x, d, idx, scalar


def _arr(x):
    return x.data if isinstance(x, Tensor) else np.asarray(x)


@method
def gather(input, dim, index, *, sparse_grad=False):
    """``out[i][j][k] = input[index[i][j][k]][j][k]`` (for ``dim=0``); ``index`` has input's number of dims.

    The gradient scatters back, adding where ``index`` repeats.
    """
    x, d, idx, scalar = _scatter_args(input, dim, index, "gather")
    out = GetItem.apply(x, _mesh(idx, d))
    return reshape(out, np.shape(_index_array(index, "gather"))) if scalar else out


def _src_part(src, idx, op, dtype):
    """``src`` cut to ``index``'s shape (a differentiable slice) and of the input's dtype."""
    if not isinstance(src, Tensor):
        src = Tensor(np.asarray(src))
    if src.dtype != dtype:
        raise TypeError(f"{op}: src has dtype {src.dtype} but the input has dtype {dtype}; they must match")
    if src.ndim == 0:
        src = reshape(src, (1,) * max(idx.ndim, 1))
    if tuple(src.shape) != idx.shape:
        src = src[tuple(slice(0, n) for n in idx.shape)]
    return src


@method
def scatter(input, dim, index, src=None, value=None, *, reduce=None):
    """A copy of ``input`` with ``out[index[i][j]][j] = src[i][j]`` (for ``dim=0``); ``src`` may be a number.

    Where ``index`` repeats a position, one of the values lands there (as in PyTorch,
    which leaves the choice unspecified). ``reduce='add'`` is ``scatter_add``;
    ``reduce='multiply'`` multiplies instead (no gradient). The gradient of ``input``
    is zero where it was overwritten; ``src`` gets ``gather(grad, dim, index)``.
    """
    if src is None:
        src = value
    if src is None:
        raise TypeError("scatter: give src (a tensor) or value (a number)")
    if reduce == "add":
        return scatter_add(input, dim, index, src if isinstance(src, Tensor) else _filled(input, index, src))
    x, d, idx, scalar = _scatter_args(input, dim, index, "scatter", src if isinstance(src, Tensor) else None)
    if isinstance(src, Tensor) or (isinstance(src, np.ndarray) and src.ndim):
        v = _src_part(src, idx, "scatter", x.dtype)
    else:
        v = np.asarray(src).astype(x.dtype)  # a number: cast to the input's dtype, as PyTorch does
    if reduce == "multiply":
        if x.requires_grad or (isinstance(v, Tensor) and v.requires_grad):
            raise NotImplementedError("scatter(reduce='multiply'): no gradient; use scatter_reduce-free ops "
                                      "(e.g. x * scatter(ones_like(x), dim, index, src)) to differentiate")
        out = x.data.copy()
        np.multiply.at(out, _mesh(idx, d), _arr(v) if np.ndim(_arr(v)) == 0 else _arr(v))
        res = Tensor._wrap(out)
    elif reduce is not None:
        raise ValueError(f"scatter: reduce must be None, 'add' or 'multiply', got {reduce!r}")
    else:
        res = SetItem.apply(x, v, _mesh(idx, d))
    return reshape(res, ()) if scalar else res


def _filled(input, index, value):
    idx = _index_array(index, "scatter")
    return Tensor(np.full(idx.shape, value, dtype=_arr(input).dtype))


@method
def scatter_add(input, dim, index, src):
    """A copy of ``input`` with ``src[i][j]`` added at ``out[index[i][j]][j]`` (for ``dim=0``), repeats adding up."""
    x, d, idx, scalar = _scatter_args(input, dim, index, "scatter_add", src)
    v = _src_part(src, idx, "scatter_add", x.dtype)
    res = x + IndexAdd.apply(v, _mesh(idx, d), tuple(x.shape))
    return reshape(res, ()) if scalar else res


@method
def index_select(input, dim, index):
    """The slices ``index`` (a vector of ints) of ``input`` along ``dim``, in that order."""
    x = _t(input)
    idx = _index_array(index, "index_select")
    if idx.ndim > 1:
        raise IndexError(f"index_select: index must be a vector (1-D), got shape {idx.shape}")
    d = _norm_dim(dim, x.ndim, "index_select")
    if x.ndim == 0:
        if idx.size != 1:
            raise IndexError(f"index_select: a 0-d input can only be indexed by one value, got {idx.size}")
        _check_bounds(idx, 1, 0, "index_select")
        return x * 1 if isinstance(input, Tensor) else x
    idx = idx.reshape(-1)
    _check_bounds(idx, x.shape[d], d, "index_select")
    return GetItem.apply(x, (slice(None),) * d + (idx,))


@method
def index_add(input, dim, index, source, *, alpha=1):
    """A copy of ``input`` with ``alpha * source`` added at the slices ``index`` along ``dim`` (repeats add)."""
    x = _t(input)
    src = _t(source)
    idx = _index_array(index, "index_add").reshape(-1)
    d = _norm_dim(dim, x.ndim, "index_add")
    if x.ndim == 0:
        x1 = reshape(x, (1,))
        return reshape(index_add(x1, 0, idx, reshape(src, (-1,)), alpha=alpha), ())
    want = tuple(x.shape[:d]) + (idx.size,) + tuple(x.shape[d + 1:])
    if tuple(src.shape) != want and not (src.ndim == 0 and want == (1,)):
        raise ShapeError(f"index_add: source has shape {tuple(src.shape)}, expected {want} (the input's shape "
                         f"{tuple(x.shape)} with dimension {d} the length of index, {idx.size})")
    if src.dtype != x.dtype:
        raise TypeError(f"index_add: source has dtype {src.dtype} but the input has dtype {x.dtype}; they must match")
    _check_bounds(idx, x.shape[d], d, "index_add")
    if alpha != 1:
        src = src * alpha
    return x + IndexAdd.apply(reshape(src, want), (slice(None),) * d + (idx,), tuple(x.shape))


def _bool_mask(mask, op):
    m = mask.data if isinstance(mask, Tensor) else np.asarray(mask)
    if m.dtype != np.bool_:
        raise TypeError(f"{op}: mask must be a bool tensor, got dtype {m.dtype}; compare to make one (e.g. x > 0)")
    return m


@method
def masked_fill(input, mask, value):
    """``input`` with ``value`` where ``mask`` (bool, broadcasting) is True; ``value`` a number or a 0-d tensor.

    ``value`` takes the input's dtype; a 0-d tensor value gets the sum of the gradient where it was used.
    """
    m = _bool_mask(mask, "masked_fill")
    x = _t(input)
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise ValueError(f"masked_fill: value must be a number or a 0-d tensor, got shape {tuple(value.shape)}")
        if value.dtype != x.dtype:
            value = cast(value, x.dtype)
    else:
        value = np.asarray(value).astype(x.dtype)
    return Where.apply(m, value, x)


@method
def masked_select(input, mask):
    """The elements of ``input`` where ``mask`` (bool) is True, as a 1-D tensor (both broadcast first)."""
    m = _bool_mask(mask, "masked_select")
    x = _t(input)
    shape = np.broadcast_shapes(tuple(x.shape), m.shape)
    return GetItem.apply(broadcast_to(x, shape), np.broadcast_to(m, shape))


@method
def take(input, index):
    """``input.flatten()[index]``: negative indices count from the end."""
    x = _t(input)
    idx = _index_array(index, "take")
    n = int(np.prod(x.shape))
    if idx.size and (idx.min() < -n or idx.max() >= n):
        bad = idx.min() if idx.min() < -n else idx.max()
        raise IndexError(f"take: index {bad} is out of range for a tensor of {n} elements")
    return GetItem.apply(reshape(x, (-1,)), idx)


@method
def take_along_dim(input, indices, dim=None):
    """``gather`` with broadcasting (and negative indices counting from the end); ``dim=None`` flattens both."""
    x = _t(input)
    idx = _index_array(indices, "take_along_dim", "indices")
    if dim is None:
        return take(x, idx.reshape(-1))
    d = _norm_dim(dim, x.ndim, "take_along_dim")
    if x.ndim == 0:
        x = reshape(x, (1,))
    if idx.ndim != x.ndim:
        raise ShapeError(f"take_along_dim: input and indices must have the same number of dimensions, got "
                         f"shapes {tuple(x.shape)} and {idx.shape}")
    n = x.shape[d]
    if idx.size and (idx.min() < -n or idx.max() >= n):
        bad = idx.min() if idx.min() < -n else idx.max()
        raise IndexError(f"take_along_dim: index {bad} is out of bounds for dimension {d} with size {n}")
    xs, ids = list(x.shape), list(idx.shape)
    xs[d] = ids[d] = 1
    try:
        common = np.broadcast_shapes(tuple(xs), tuple(ids))
    except ValueError:
        raise ShapeError(f"take_along_dim: input {tuple(x.shape)} and indices {idx.shape} do not broadcast "
                         f"outside dimension {d}") from None
    xb = list(common)
    xb[d] = n
    ib = list(common)
    ib[d] = idx.shape[d]
    idx = np.broadcast_to(np.where(idx < 0, idx + n, idx), tuple(ib))
    return GetItem.apply(broadcast_to(x, tuple(xb)), _mesh(idx, d))


@method
def nonzero(input, *, as_tuple=False):
    """Indices of the non-zero elements: an ``(n, ndim)`` int64 tensor, or a tuple of ``ndim`` vectors."""
    a = _arr(input)
    if a.ndim == 0:  # PyTorch treats a 0-d tensor as a 1-element vector here, with no index columns
        hit = bool(a)
        if as_tuple:
            return (Tensor._wrap(np.zeros(int(hit), np.int64)),)
        return Tensor._wrap(np.zeros((int(hit), 0), np.int64))
    where = np.nonzero(a)
    if as_tuple:
        return tuple(Tensor._wrap(w.astype(np.int64)) for w in where)
    return Tensor._wrap(np.stack(where, axis=1).astype(np.int64).reshape(-1, a.ndim))


@method
def argwhere(input):
    """``nonzero(input)``: an ``(n, ndim)`` tensor of the indices of the non-zero elements."""
    return nonzero(input)


# --------------------------------------------------------------------------- in-place forms

def _inplace(t, name, compute, *others):
    """Store ``compute(t)`` (out of place) in ``t``: PyTorch's ``x.op_(...)`` for the composite ops above.

    Under recording ``t`` becomes the output of the new nodes, which saw a copy
    of its old value (as ``setitem`` does).
    """
    recording = _state.enabled and (t.requires_grad or any(isinstance(o, Tensor) and o.requires_grad
                                                              for o in others))
    if not recording:
        res = compute(t)
        _write_back(t, np.asarray(res.data), name)
        return t
    _check_inplace_allowed(t, name)
    old = Tensor._wrap(t.data.copy())
    old.requires_grad, old.grad_fn, old._output_nr = t.requires_grad, t.grad_fn, t._output_nr
    res = compute(old)
    _write_back(t, res.data, name)
    t.grad_fn, t._output_nr, t.requires_grad = res.grad_fn, res._output_nr, res.requires_grad
    return t


@method
def masked_fill_(input, mask, value):
    """In place: ``value`` where ``mask`` is True (the mask must broadcast to the tensor's shape)."""
    return _inplace(input, "masked_fill_", lambda x: masked_fill(x, mask, value), value)


@method
def scatter_(input, dim, index, src=None, value=None, *, reduce=None):
    """In place: ``scatter``."""
    return _inplace(input, "scatter_", lambda x: scatter(x, dim, index, src, value, reduce=reduce), src)


@method
def scatter_add_(input, dim, index, src):
    """In place: ``scatter_add``."""
    return _inplace(input, "scatter_add_", lambda x: scatter_add(x, dim, index, src), src)


@method
def index_add_(input, dim, index, source, *, alpha=1):
    """In place: ``index_add``."""
    return _inplace(input, "index_add_", lambda x: index_add(x, dim, index, source, alpha=alpha), source)
