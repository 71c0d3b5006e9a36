"""Elementwise operations: arithmetic, activations, comparisons, casts, in-place forms.

Each op is one ``Function``: forward on ndarrays beside backward in Tensor
operations. Broadcasting needs no code here: the engine sums each returned
gradient down to its input's shape.
"""

from __future__ import annotations

import math

import numpy as np

from .. import _settings, _threads
from ..function import Function, _state, ShapeError
from ..tensor import Tensor
from . import fused as _fused
from ._common import dense_order, inverse_order
from ._declare import functional, method
from .factory import check_memory_format, contiguous_format, copy_as, is_format, preserve_format

__all__ = [
    "add", "sub", "mul", "div", "pow", "neg", "abs", "exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid",
    "relu", "leaky_relu", "elu", "softplus", "hardshrink", "square", "reciprocal", "clamp", "clip", "maximum", "minimum",
    "where", "clone", "sign", "floor_divide", "remainder", "eq", "ne", "lt", "le", "gt", "ge", "logical_not",
    "logical_and", "logical_or", "isnan", "isfinite", "allclose", "equal",
    "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not",
    "negative", "divide", "multiply", "subtract", "absolute",
]

_wrap = Tensor._wrap


def _data(x):
    return x.data if isinstance(x, Tensor) else x


def _arr(x):
    """An operand as an ndarray (Python numbers follow the tensor() dtype rules)."""
    if isinstance(x, Tensor):
        return x.data
    if isinstance(x, np.ndarray):
        return x
    return Tensor(x).data


def _sign(a):
    """-1, 0 or 1 in ``a``'s dtype, with 0 at NaN (PyTorch's ``sign``; numpy's gives NaN)."""
    if a.dtype.kind != "f":
        return np.sign(a)
    return (np.greater(a, 0).astype(a.dtype) - np.less(a, 0)).astype(a.dtype, copy=False)


def _float(a):
    """``a`` for a float op: integer and bool arrays become the default float dtype (float32 unless
    ``set_default_dtype``), as ``torch.sigmoid(int_tensor)`` does; float arrays are returned as they are."""
    return a if a.dtype.kind in "fc" else a.astype(_settings.dtype)


# --------------------------------------------------------------------------- binary arithmetic

class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        if type(a) is np.ndarray and _big(a):  # (a residual connection, for one)
            out = _fused.add(a, b)
            if out is not None:
                return out
        return a + b

    @staticmethod
    def backward(ctx, g):
        return g, g


class Sub(Function):
    @staticmethod
    def forward(ctx, a, b):
        return a - b

    @staticmethod
    def backward(ctx, g):
        return g, (-g if ctx.needs_input_grad[1] else None)


class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        need = ctx.needs_input_grad
        return (g * b if need[0] else None), (g * a if need[1] else None)


def _float64_operand(x):
    return isinstance(x, (np.ndarray, np.generic)) and x.dtype == np.float64


class Div(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        out = a / b
        if out.dtype == np.float64 and not (_float64_operand(a) or _float64_operand(b)):
            out = out.astype(_settings.dtype)  # integers (and Python numbers) divide to the default float dtype
        return out

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        need = ctx.needs_input_grad
        ga = g / b if need[0] else None
        gb = -g * a / (b * b) if need[1] else None
        return ga, gb


class Pow(Function):
    """``a ** b`` for tensor or scalar base and exponent."""

    @staticmethod
    def forward(ctx, a, b):
        out = np.power(a, b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, b, out = ctx.saved_tensors
        need = ctx.needs_input_grad
        ga = gb = None
        if need[0]:
            if isinstance(b, Tensor):
                # b * a**(b-1), with 0 where a == b == 0 (instead of 0 * inf)
                ga = g * where((b == 0) & (a == 0), 0.0, b * a ** (b - 1))
            elif b == 0:
                ga = g * 0.0
            else:
                ga = g * (b * a ** (b - 1))
        if need[1]:
            if isinstance(a, Tensor):
                # d/db a**b = a**b log a; PyTorch's convention: 0 where a == 0 and b >= 0
                safe = where(a == 0, 1.0, a)
                gb = g * where((a == 0) & (b >= 0), 0.0, out * log(safe))
            elif a > 0:
                gb = g * out * math.log(a)
            elif a == 0:
                gb = g * where(b >= 0, 0.0, out * -math.inf)
            else:  # negative base: a**b is real only for integer b; the derivative is undefined
                gb = g * math.nan
        return ga, gb


def _shares(ctx, a, b, loses_a, loses_b):
    """The shares of the gradient of maximum/minimum for ``a`` and ``b`` (PyTorch's rule): all of it for the
    winner, half each on a tie, 0 for the loser, and all of it for both where either is NaN (a NaN is
    neither smaller, larger nor equal)."""
    need = ctx.needs_input_grad
    if not need:  # not recorded
        return
    dt = np.result_type(a, b, np.float32)
    tie = 0.5 * np.equal(a, b)
    ctx.shares = tuple((1.0 - lose(a, b) - tie).astype(dt, copy=False) if n else None
                       for lose, n in zip((loses_a, loses_b), need))


class Maximum(Function):
    @staticmethod
    def forward(ctx, a, b):
        _shares(ctx, a, b, np.less, np.greater)
        return np.maximum(a, b)

    @staticmethod
    def backward(ctx, g):
        return tuple(None if s is None else g * s for s in ctx.shares)


class Minimum(Function):
    @staticmethod
    def forward(ctx, a, b):
        _shares(ctx, a, b, np.greater, np.less)
        return np.minimum(a, b)

    @staticmethod
    def backward(ctx, g):
        return tuple(None if s is None else g * s for s in ctx.shares)


_MASK_INT = {np.dtype(np.float32): np.int32, np.dtype(np.float64): np.int64, np.dtype(np.float16): np.int16}

_KERNEL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _big(a):
    """Whether ReLU / its masked select on ``a`` take the Numba kernels of ``kernels/elementwise.py``.

    One pass on all threads instead of numpy's several single-threaded ones
    (ReLU fwd+bwd on LeNet's 64x6x28x28: 0.52 -> 0.31 ms) pays off above the
    package's serial threshold (``_threads.small``); smaller arrays stay on
    numpy, so tiny graphs never import Numba.
    """
    return a.dtype in _KERNEL_DTYPES and not _threads.small(elements=a.size)


_dense_order = dense_order


def _ew_kernels():
    from ..kernels import load
    return load("elementwise")


def select_mask(keep, dtype):
    """``keep`` (bool) as an integer mask for ``Mask``: all bits set where kept."""
    it = _MASK_INT.get(np.dtype(dtype))
    return keep if it is None else np.negative(keep, dtype=it)


class Mask(Function):
    """``g`` where ``keep``, exactly 0 elsewhere (even where ``g`` is NaN or inf).

    The select is a bitwise AND of the float bits with an integer mask: about
    10x faster than ``np.where`` on a random mask (no per-element branch), the
    case of every ReLU gradient. ``keep`` is a bool array or a mask made by
    ``select_mask``; it broadcasts against ``g``.
    """

    @staticmethod
    def forward(ctx, g, keep):
        ctx.keep = keep
        if keep.dtype == np.bool_ and keep.shape == g.shape and _big(g):
            perm = _dense_order(keep)
            if perm is not False:  # one pass with the kernel, in keep's memory order
                kp = keep if perm is None else keep.transpose(perm)
                gp = np.ascontiguousarray(g if perm is None else g.transpose(perm))
                out = np.empty(kp.shape, g.dtype)
                _threads.run(_ew_kernels().mask_select, gp.reshape(-1), kp.reshape(-1), out.reshape(-1),
                             elements=g.size)
                return out if perm is None else out.transpose(inverse_order(perm))
        it = _MASK_INT.get(g.dtype)
        if it is None:
            return np.where(keep, g, 0)
        if keep.dtype != it:
            keep = np.negative(keep, dtype=it)
        return np.bitwise_and(g.view(it), keep).view(g.dtype)

    @staticmethod
    def backward(ctx, gg):
        return Mask.apply(gg, ctx.keep)


class Where(Function):
    """``where(cond, a, b)``: ``a`` where ``cond`` is true, else ``b``."""

    @staticmethod
    def forward(ctx, cond, a, b):
        cond = np.asarray(cond)
        if cond.dtype != np.bool_:
            cond = cond.astype(bool)
        ctx.cond = cond
        return np.where(cond, a, b)

    @staticmethod
    def backward(ctx, g):
        need = ctx.needs_input_grad
        c = ctx.cond
        return (None,
                Mask.apply(g, c) if need[1] else None,
                Mask.apply(g, ~c) if need[2] else None)


# --------------------------------------------------------------------------- unary

class Neg(Function):
    @staticmethod
    def forward(ctx, a):
        return np.negative(a)

    @staticmethod
    def backward(ctx, g):
        return -g


class Abs(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.sign = _sign(a)  # 0 at 0 and at NaN, as PyTorch's gradient
        return np.abs(a)

    @staticmethod
    def backward(ctx, g):
        return g * ctx.sign


class Exp(Function):
    @staticmethod
    def forward(ctx, a):
        out = np.exp(_float(a))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * out


class Log(Function):
    @staticmethod
    def forward(ctx, a):
        a = _float(a)
        ctx.save_for_backward(a)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(a)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g / a


class Sqrt(Function):
    @staticmethod
    def forward(ctx, a):
        with np.errstate(invalid="ignore"):
            out = np.sqrt(_float(a))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g / (out * 2.0)


class Sin(Function):
    @staticmethod
    def forward(ctx, a):
        a = _float(a)
        ctx.save_for_backward(a)
        return np.sin(a)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * cos(a)


class Cos(Function):
    @staticmethod
    def forward(ctx, a):
        a = _float(a)
        ctx.save_for_backward(a)
        return np.cos(a)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return -g * sin(a)


class Tanh(Function):
    @staticmethod
    def forward(ctx, a):
        out = np.tanh(_float(a))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * (1.0 - out * out)


def _sigmoid(a):
    # exp of a non-positive number never overflows, and no cancellation for large |a|
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(a.dtype, copy=False)


class Sigmoid(Function):
    @staticmethod
    def forward(ctx, a):
        out = _sigmoid(_float(a))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * out * (1.0 - out)


class Relu(Function):
    """``max(a, 0)``; the gradient passes where ``a > 0`` and where ``a`` is NaN (0 at 0), as in PyTorch.

    Large dense arrays take one Numba pass writing the output and a bool mask
    (memory order kept, so channels-last activations stay channels-last);
    the backward's ``Mask`` then selects with that mask in one pass. LeNet's
    64x6x28x28 ReLU forward: 216 -> 96-120 us (numpy's way: ``np.maximum``,
    ``out > 0`` and a cast of the mask to integers, each single-threaded).
    """

    @staticmethod
    def forward(ctx, a):
        if _big(a):
            perm = _dense_order(a)
            if perm is not False:
                ap = a if perm is None else a.transpose(perm)
                out = np.empty(ap.shape, a.dtype)
                keep = np.empty(ap.shape, np.bool_)
                _threads.run(_ew_kernels().relu_forward, ap.reshape(-1), out.reshape(-1), keep.reshape(-1),
                             elements=a.size)
                if perm is not None:
                    inv = inverse_order(perm)
                    out, keep = out.transpose(inv), keep.transpose(inv)
                ctx.mask = keep
                return out
        out = np.maximum(a, 0)
        ctx.mask = select_mask(out != 0, out.dtype)  # out is > 0, 0 or NaN: NaN passes, as in PyTorch
        return out

    @staticmethod
    def backward(ctx, g):
        return Mask.apply(g, ctx.mask)


class LeakyRelu(Function):
    @staticmethod
    def forward(ctx, a, negative_slope=0.01):
        a = _float(a)
        # the derivative as a factor, built without a branchy np.where: 1 or the slope
        ctx.factor = ((a > 0) * (1 - negative_slope) + negative_slope).astype(a.dtype, copy=False)
        return a * ctx.factor

    @staticmethod
    def backward(ctx, g):
        return g * ctx.factor


class Elu(Function):
    @staticmethod
    def forward(ctx, a, alpha=1.0):
        a = _float(a)
        ctx.mask = ~(a <= 0)  # NaN takes the linear branch's gradient, as in PyTorch
        ctx.alpha = alpha
        out = np.where(ctx.mask, a, alpha * np.expm1(np.minimum(a, 0)))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        # d/dx alpha (e^x - 1) = alpha e^x = out + alpha
        return Where.apply(ctx.mask, g, g * (out + ctx.alpha))


class Softplus(Function):
    """``log(1 + exp(beta x)) / beta``, linear where ``beta x > threshold`` (PyTorch's form)."""

    @staticmethod
    def forward(ctx, a, beta=1.0, threshold=20.0):
        a = _float(a)
        z = a * beta
        ctx.linear = z > threshold
        ctx.beta = beta
        ctx.save_for_backward(a)
        return np.where(ctx.linear, a, np.logaddexp(0, z) / beta).astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return Where.apply(ctx.linear, g, g * sigmoid(a * ctx.beta))


class Hardshrink(Function):
    """``x`` where ``|x| > lambd``, else 0; the gradient passes where the input does."""

    @staticmethod
    def forward(ctx, a, lambd=0.5):
        ctx.keep = np.abs(a) > lambd
        return np.where(ctx.keep, a, 0).astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        return Mask.apply(g, ctx.keep)


class Clamp(Function):
    @staticmethod
    def forward(ctx, a, min=None, max=None):
        if min is None and max is None:
            raise ValueError("clamp: at least one of min and max must be given")
        ctx.mask = np.ones(a.shape, dtype=bool)
        if min is not None:
            ctx.mask &= a >= min
        if max is not None:
            ctx.mask &= a <= max
        out = a
        if min is not None:
            out = np.maximum(out, min)
        if max is not None:
            out = np.minimum(out, max)
        return out

    @staticmethod
    def backward(ctx, g):
        return Mask.apply(g, ctx.mask)


def _bound(a, v):
    """A clamp bound as an operand: integer bounds take a float input's dtype (PyTorch keeps the input's
    float dtype for an int32 bound, where numpy would promote float32 to float64)."""
    if isinstance(v, (np.ndarray, np.generic)) and v.dtype.kind in "biu" and a.dtype.kind == "f":
        return v.astype(a.dtype)
    return v


class ClampBounds(Function):
    """``clamp`` with tensor (or array) bounds ``lo``/``hi`` (either may be None); differentiable in all three.

    PyTorch's gradients: ``a`` gets it where ``lo <= a <= hi``; ``lo`` where
    ``a < lo < hi``; ``hi`` where ``a > hi`` or ``hi < lo`` (then every output
    is ``hi``). With ``lo == hi`` and ``a < lo`` none of them gets it.
    """

    @staticmethod
    def forward(ctx, a, lo=None, hi=None):
        if lo is None and hi is None:
            raise ValueError("clamp: at least one of min and max must be given")
        lo, hi = _bound(a, lo), _bound(a, hi)
        out = a if lo is None else np.maximum(a, lo)
        if hi is not None:
            out = np.minimum(out, hi)
        need = ctx.needs_input_grad
        if need:
            shape = out.shape
            keep = np.ones(shape, bool)
            if lo is not None:
                keep &= a >= lo
            if hi is not None:
                keep &= a <= hi
            masks = [keep, None, None]
            if len(need) > 1 and need[1]:
                masks[1] = np.broadcast_to(a < lo if hi is None else (a < lo) & (lo < hi), shape)
            if len(need) > 2 and need[2]:
                masks[2] = np.broadcast_to(a > hi if lo is None else (a > hi) | (hi < lo), shape)
            ctx.masks = masks
        return out

    @staticmethod
    def backward(ctx, g):
        return tuple(None if m is None or not n else Mask.apply(g, m)
                     for m, n in zip(ctx.masks, ctx.needs_input_grad))


class Remainder(Function):
    """``a - b * floor(a / b)`` (the sign of ``b``, Python's and PyTorch's ``%``); d/da = 1, d/db = -floor(a / b)."""

    @staticmethod
    def forward(ctx, a, b):
        need = ctx.needs_input_grad
        if len(need) > 1 and need[1]:
            with np.errstate(divide="ignore", invalid="ignore"):
                ctx.quotient = np.floor_divide(a, b)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.remainder(a, b)

    @staticmethod
    def backward(ctx, g):
        need = ctx.needs_input_grad
        # floor(a / b) is piecewise constant: a constant here is exact almost everywhere
        return (g if need[0] else None), (g * -ctx.quotient if need[1] else None)


class Cast(Function):
    @staticmethod
    def forward(ctx, a, dtype):
        return a.astype(dtype)

    @staticmethod
    def backward(ctx, g):
        return g  # the engine casts back to the input's dtype


class Clone(Function):
    @staticmethod
    def forward(ctx, a, memory_format=None):
        return a.copy() if memory_format is None else copy_as(a, memory_format)

    @staticmethod
    def backward(ctx, g):
        return g


class CopyFrom(Function):
    """``dst.copy_(src)`` computed out of place: ``src`` broadcast to ``dst``'s shape and dtype."""

    @staticmethod
    def forward(ctx, dst, src):
        dst_shape = np.shape(dst)
        try:
            out = np.broadcast_to(src, dst_shape)
        except ValueError:
            raise ShapeError(
                f"copy_: source of shape {np.shape(src)} cannot be broadcast to the destination's "
                f"shape {dst_shape}"
            ) from None
        return out.astype(np.asarray(dst).dtype, copy=True)

    @staticmethod
    def backward(ctx, g):
        return None, g


# --------------------------------------------------------------------------- functional API

@method
def add(input, other, alpha=1):
    return Add.apply(input, other if alpha == 1 else other * alpha)


@method
def sub(input, other, alpha=1):
    return Sub.apply(input, other if alpha == 1 else other * alpha)


@method
def mul(input, other):
    return Mul.apply(input, other)


@method
def div(input, other, *, rounding_mode=None):
    """``input / other``; ``rounding_mode`` 'trunc' or 'floor' rounds the quotient (zero gradient)."""
    if rounding_mode is not None:
        from .pointwise import div_rounded
        return div_rounded(input, other, rounding_mode)
    return Div.apply(input, other)


@method
def pow(input, exponent):
    return Pow.apply(input, exponent)


@method
def neg(input):
    return Neg.apply(input)


@method
def abs(input):
    return Abs.apply(input)


@method
def exp(input):
    return Exp.apply(input)


@method
def log(input):
    return Log.apply(input)


@method
def sqrt(input):
    return Sqrt.apply(input)


@method
def sin(input):
    return Sin.apply(input)


@method
def cos(input):
    return Cos.apply(input)


@method
@functional
def tanh(input):
    return Tanh.apply(input)


@method
@functional
def sigmoid(input):
    return Sigmoid.apply(input)


@method
@functional
def relu(input, inplace=False):
    """``max(x, 0)``; ``inplace=True`` overwrites ``input`` (as ``x.relu_()``)."""
    return input.relu_() if inplace else Relu.apply(input)


@method
@functional
def leaky_relu(input, negative_slope=0.01, inplace=False):
    """``x`` for ``x > 0``, else ``negative_slope * x``."""
    out = LeakyRelu.apply(input, negative_slope=negative_slope)
    return input.copy_(out) if inplace else out


@method
@functional
def elu(input, alpha=1.0, inplace=False):
    """``x`` for ``x > 0``, else ``alpha * (exp(x) - 1)``."""
    out = Elu.apply(input, alpha=alpha)
    return input.copy_(out) if inplace else out


@method
@functional
def hardshrink(input, lambd=0.5):
    """``x`` where ``|x| > lambd``, else 0 (PyTorch's hard shrinkage)."""
    return Hardshrink.apply(input, lambd=lambd)


@method
@functional
def softplus(input, beta=1.0, threshold=20.0):
    return Softplus.apply(input, beta=beta, threshold=threshold)


@method
def square(input):
    return Mul.apply(input, input)


@method
def reciprocal(input):
    return Div.apply(1.0, input)


@method
def clamp(input, min=None, max=None):
    """Limit values to ``[min, max]``; gradient passes where ``min <= x <= max``.

    With ``min > max`` every element becomes ``max``, as in PyTorch.

    ``min``/``max`` may be numbers or tensors; tensor bounds get gradients too
    (``ClampBounds``), and an integer bound keeps a float input's dtype.
    """
    if isinstance(min, (Tensor, np.ndarray)) or isinstance(max, (Tensor, np.ndarray)):
        return ClampBounds.apply(input, min, max)
    return Clamp.apply(input, min=min, max=max)


@method
def clamp_(input, min=None, max=None):  # a Tensor method only, as in PyTorch
    """``clamp`` in place; tensor bounds receive their gradients as in ``clamp``."""
    if isinstance(min, (Tensor, np.ndarray)) or isinstance(max, (Tensor, np.ndarray)):
        return inplace(input, "clamp_", ClampBounds, min, max)
    return inplace(input, "clamp_", Clamp, min=min, max=max)


clip = clamp
negative, divide, multiply, subtract, absolute = neg, div, mul, sub, abs


@method
def maximum(input, other):
    return Maximum.apply(input, other)


@method
def minimum(input, other):
    return Minimum.apply(input, other)


def _where_method(self, condition, other):
    """``x.where(cond, y)`` is ``where(cond, x, y)``, as in PyTorch."""
    return Where.apply(_data(condition), self, other)


@method(impl=_where_method)
def where(condition, input=None, other=None):
    """``input`` where ``condition`` holds, else ``other`` (broadcasting all three).

    ``where(condition)`` alone is ``nonzero(condition, as_tuple=True)``.
    """
    if input is None and other is None:
        from .index import nonzero
        return nonzero(condition, as_tuple=True)
    return Where.apply(_data(condition), input, other)


def cast(input, dtype):
    dtype = np.dtype(dtype)
    if isinstance(input, Tensor) and input.data.dtype == dtype:
        return input
    return Cast.apply(input, dtype)


@method
def clone(input, *, memory_format=None):
    """A copy; ``memory_format`` (default ``preserve_format``: the input's stride order) sets its layout."""
    fmt = check_memory_format(memory_format, "clone", np.ndim(_arr(input)))
    return Clone.apply(input, memory_format=fmt)


@method
def contiguous(input, memory_format=None):  # a Tensor method only, as in PyTorch
    """``input`` itself if its memory is C-contiguous (or laid out as ``memory_format``), else such a copy."""
    fmt = check_memory_format(memory_format or contiguous_format, "contiguous", input.ndim)
    if fmt is preserve_format:
        raise ValueError("contiguous: preserve_format is not a layout to make contiguous; use clone()")
    if is_format(input.data, fmt):
        return input
    return Clone.apply(input, memory_format=fmt)


@method
def sign(input):
    """-1, 0 or 1; 0 for NaN, as in PyTorch."""
    return _wrap(_sign(_arr(input)))


@method
def floor_divide(input, other):
    return _wrap(np.floor_divide(_arr(input), _data(other)))


@method
def remainder(input, other):
    """``input % other`` with the sign of ``other`` (Python's and PyTorch's rule); differentiable in both."""
    return Remainder.apply(input if isinstance(input, (Tensor, np.ndarray)) else _arr(input), other)


# comparisons and logic: no gradient, boolean results
@method
def eq(input, other):
    return _wrap(np.equal(_arr(input), _data(other)))


@method
def ne(input, other):
    return _wrap(np.not_equal(_arr(input), _data(other)))


@method
def lt(input, other):
    return _wrap(np.less(_arr(input), _data(other)))


@method
def le(input, other):
    return _wrap(np.less_equal(_arr(input), _data(other)))


@method
def gt(input, other):
    return _wrap(np.greater(_arr(input), _data(other)))


@method
def ge(input, other):
    return _wrap(np.greater_equal(_arr(input), _data(other)))


@method
def logical_not(input):
    """True where ``input`` is zero (False), for any dtype: a bool tensor, as in PyTorch."""
    return _wrap(np.logical_not(_arr(input)))


@method
def logical_and(input, other):
    return _wrap(np.logical_and(_arr(input), _data(other)))


@method
def logical_or(input, other):
    return _wrap(np.logical_or(_arr(input), _data(other)))


def _bitwise(name, ufunc, *operands):
    for x in operands:
        dt = np.asarray(x).dtype  # Python ints and bools count as integers
        if dt.kind not in "biu":
            raise TypeError(f"{name}: expects integer or bool tensors, got dtype {dt}; for the truth values "
                            f"of other tensors use logical_{name[len('bitwise_'):]}")
    return _wrap(ufunc(*operands))


@method
def bitwise_and(input, other):
    """``input & other``: bitwise AND of integers, logical AND of bools (as in PyTorch)."""
    return _bitwise("bitwise_and", np.bitwise_and, _arr(input), _data(other))


@method
def bitwise_or(input, other):
    """``input | other``: bitwise OR of integers, logical OR of bools."""
    return _bitwise("bitwise_or", np.bitwise_or, _arr(input), _data(other))


@method
def bitwise_xor(input, other):
    """``input ^ other``: bitwise XOR of integers, logical XOR of bools."""
    return _bitwise("bitwise_xor", np.bitwise_xor, _arr(input), _data(other))


@method
def bitwise_not(input):
    """``~input``: bitwise NOT of integers, logical NOT of bools."""
    return _bitwise("bitwise_not", np.invert, _arr(input))


@method
def isnan(input):
    return _wrap(np.isnan(_arr(input)))


@method
def isfinite(input):
    return _wrap(np.isfinite(_arr(input)))


@method
def allclose(input, other, rtol=1e-5, atol=1e-8, equal_nan=False):
    return bool(np.allclose(_arr(input), _arr(other), rtol=rtol, atol=atol, equal_nan=equal_nan))


@method
def equal(input, other):
    a, b = _arr(input), _arr(other)
    return a.shape == b.shape and bool(np.array_equal(a, b))


# --------------------------------------------------------------------------- in-place

def _check_inplace_allowed(t, name):
    if t.grad_fn is None and t.requires_grad:
        raise RuntimeError(
            f"{name}: a leaf tensor that requires grad (shape {tuple(t.shape)}) cannot be modified in "
            "place while grad mode is on, since its old value may be needed for backward. Modify it "
            "inside `with no_grad():` (as optimizers do) or work on a clone()."
        )
    if t._base is not None:
        # The base tensor would need its own graph rebased onto this change (PyTorch's
        # CopySlices); without it, the base would silently lose the gradient.
        raise RuntimeError(
            f"{name}: in-place modification of a view (shape {tuple(t.shape)}, a view of a tensor of "
            f"shape {tuple(t._base.shape)}) is not supported while gradients are recorded; compute the "
            "new values out of place (e.g. with where() or cat()), or assign through the base tensor "
            "(base[index] = value)"
        )


def _write_back(t, res, name):
    """Write an out-of-place result ``res`` (ndarray) into ``t``'s memory."""
    dst = t.data
    if res.shape != dst.shape:
        raise ShapeError(
            f"{name}: the result has shape {res.shape} but the tensor modified in place has shape "
            f"{dst.shape}; an in-place operation cannot change its tensor's shape (the other operand "
            f"must broadcast to {dst.shape})"
        )
    if not np.can_cast(res.dtype, dst.dtype, casting="same_kind"):
        raise TypeError(
            f"{name}: result dtype {res.dtype} cannot be stored in place into a tensor of dtype "
            f"{dst.dtype}; convert the tensor first (e.g. x = x.float())"
        )
    if not dst.flags.writeable:
        raise RuntimeError(
            f"{name}: this tensor's memory is read-only (it is an expanded/broadcast view); "
            "clone() it before modifying it in place"
        )
    np.copyto(dst, res, casting="same_kind")
    t._ver[0] += 1


def inplace(t, name, fn, *args, **kwargs):
    """Run ``fn`` out of place and store the result in ``t`` (PyTorch's ``x.op_(...)``).

    Under recording, ``t`` becomes the output of the new node; the node saw a
    copy of ``t``'s old value, so the old value stays valid for backward.
    """
    recording = _state.enabled and (
        t.requires_grad or any(isinstance(a, Tensor) and a.requires_grad for a in args))
    if not recording:
        ctx = object.__new__(fn)
        res = fn.forward(ctx, t.data, *[_data(a) for a in args], **kwargs)
        _write_back(t, np.asarray(res), name)
        return t
    _check_inplace_allowed(t, name)
    old = _wrap(t.data.copy())
    old.requires_grad = t.requires_grad
    old.grad_fn = t.grad_fn
    old._output_nr = t._output_nr
    res = fn.apply(old, *args, **kwargs)
    _write_back(t, res.data, name)
    if res.requires_grad:
        t.grad_fn = res.grad_fn
        t._output_nr = res._output_nr
        t.requires_grad = True
    return t


def fill_inplace(t, value, name):
    if isinstance(value, Tensor) and value.data.size != 1:
        raise ValueError(f"{name}: the value must be a number or a one-element tensor, got shape {value.shape}")
    return inplace(t, name, CopyFrom, value if isinstance(value, Tensor) else np.asarray(value, dtype=t.dtype))
