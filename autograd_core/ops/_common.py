"""Helpers the ops modules share: operands as arrays, argument checks, float dtypes, layouts.

Private to ``autograd_core/ops`` (``nn`` and ``optim`` use the public ops instead).
"""

from __future__ import annotations

import functools

import numpy as np

from ..tensor import Tensor

FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def array_of(x):
    """An operand's ndarray: a Tensor's data, else ``np.asarray(x)``."""
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def shape_of(x):
    """An operand's shape as a tuple, without converting it."""
    return tuple(np.shape(x.data if isinstance(x, Tensor) else x))


def as_tensor(a):
    """``a`` itself if it is a Tensor, else a Tensor wrapping ``np.asarray(a)`` (no copy)."""
    return a if isinstance(a, Tensor) else Tensor._wrap(np.asarray(a))


def ntuple(value, n, op, name, minimum):
    """An int or a length-n sequence of ints, each >= minimum, as a tuple of n ints (``name`` in errors)."""
    if isinstance(value, (int, np.integer)):
        vals = (int(value),) * n
    else:
        try:
            vals = tuple(int(v) for v in value)
        except TypeError:
            raise TypeError(f"{op}: {name} must be an int or a tuple of {n} ints, got {value!r}") from None
        if len(vals) == 1:
            vals = vals * n
        if len(vals) != n or any(v != u for v, u in zip(vals, value)):
            raise ValueError(f"{op}: {name} must be an int or a tuple of {n} ints, got {value!r}")
    if any(v < minimum for v in vals):
        what = "positive" if minimum == 1 else "non-negative"
        raise ValueError(f"{op}: {name} must be {what}, got {value!r}")
    return vals


_CAST = {np.dtype(np.float16): "half", np.dtype(np.float32): "float", np.dtype(np.float64): "double"}


def check_dtypes(op, input, weight=None, bias=None, **more):
    """A layer's input and parameters must share one dtype, as in PyTorch (no silent float64 model).

    Promoting instead would run a float32 model in float64 (2-5x the time) when
    one float64 batch comes in. The error names both dtypes and both fixes.
    """
    x = input.data.dtype if isinstance(input, Tensor) else array_of(input).dtype
    # the usual call: Tensors of one dtype (one dtype object), checked by identity
    if (not more and (weight is None or (isinstance(weight, Tensor) and weight.data.dtype is x))
            and (bias is None or (isinstance(bias, Tensor) and bias.data.dtype is x))):
        return
    for name, p in (("weight", weight), ("bias", bias), *more.items()):
        if p is None:
            continue
        d = array_of(p).dtype
        if d is not x and d != x:
            fixes = f"convert the input with x.{_CAST[d]}()" if d in _CAST else f"convert the input to {d}"
            if x in _CAST and x.kind == "f":
                fixes += f", or the model's parameters with model.{_CAST[x]}()"
            raise TypeError(f"{op}: the input is {x} but {name} is {d}; {fixes}")


def compute_dtype(op, *arrays):
    """(dtype the kernels compute in, dtype of the result) for float operands; float16 computes in float32."""
    dt = np.result_type(*[a.dtype for a in arrays if a is not None])
    if dt in FLOATS:
        return dt, dt
    if dt == np.float16:
        return np.dtype(np.float32), dt
    raise TypeError(f"{op}: expected floating-point tensors, got dtypes "
                    f"{', '.join(str(a.dtype) for a in arrays if a is not None)}; convert with .float()")


def to_nhwc(a):
    """(N, C, H, W) -> C-contiguous (N, H, W, C); free when ``a`` is a channels-last view."""
    t = a.transpose(0, 2, 3, 1)
    if t.flags.c_contiguous:
        return t
    if a.flags.c_contiguous and a.size >= 1 << 15 and a.dtype in FLOATS:
        from ..kernels import load
        out = np.empty(t.shape, a.dtype)
        load("conv").nchw_to_nhwc(a, out)  # 3-4x faster than numpy's transposing copy
        return out
    return np.ascontiguousarray(t)


def nchw_view(a):
    """C-contiguous (N, H, W, C) -> its (N, C, H, W) view (channels-last memory)."""
    return a.transpose(0, 3, 1, 2)


def dense_order(a):
    """The axis order in which ``a`` is C-contiguous (``None``: identity), or ``False`` if there is none.

    Worked out once per (shape, strides, itemsize) and remembered: the kernels' memory-order paths ask
    for every large elementwise op, and ``np.argsort`` of the strides cost 25-35 us on the development
    VM (a quarter of a ReLU on 32x16x32x32 channels-last memory)."""
    if a.flags.c_contiguous:
        return None
    return _dense_perm(a.shape, a.strides, a.itemsize)


@functools.lru_cache(maxsize=1024)
def _dense_perm(shape, strides, itemsize):
    perm = tuple(sorted(range(len(shape)), key=lambda i: -strides[i]))  # stable: equal strides keep their order
    expect = itemsize  # C-contiguous in perm's order: numpy's rule, size-1 axes may have any stride
    for i in reversed(perm):
        if shape[i] != 1 and strides[i] != expect:
            return False
        expect *= shape[i]
    return perm


def inverse_order(perm):
    """The permutation that undoes ``perm`` (``np.argsort(perm)``, without numpy's per-call cost)."""
    return _inverse(tuple(perm))


@functools.lru_cache(maxsize=256)
def _inverse(perm):
    inv = [0] * len(perm)
    for i, p in enumerate(perm):
        inv[p] = i
    return tuple(inv)
