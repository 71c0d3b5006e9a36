"""Pointwise maths beyond arithmetic: rounding, exp/log variants, the error function, hyperbolic and
inverse trigonometric functions, ``atan2 hypot lerp addcmul addcdiv``, ``isinf nan_to_num``,
``clamp_min clamp_max rsub`` and ``div``'s rounding modes.

Integer inputs of the transcendental functions give float32 results, as in
PyTorch; the rounding functions keep an integer input's dtype. Rounding has a
zero gradient (PyTorch's convention). ``erf`` and ``erfc`` are the C library's
(numpy has neither; ``kernels/special.py`` runs them compiled on large
arrays); ``erfinv`` refines an approximate inverse with Halley's method on
``erf`` (or on ``erfc`` near +-1, where ``1 - y`` is exact), to within a few
ulps in float64.
"""

from __future__ import annotations

import math

import numpy as np

from .. import _threads
from ..function import Function
from ..tensor import Tensor
from ._declare import method
from .elementwise import Mask, Sub, clamp, exp, sqrt, sub, where

__all__ = [
    "floor", "ceil", "round", "trunc", "fix", "frac", "log1p", "expm1", "log2", "log10", "exp2", "rsqrt",
    "erf", "erfc", "erfinv", "sinh", "cosh", "tan", "asin", "acos", "atan", "asinh", "acosh", "atanh",
    "arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh", "atan2", "arctan2", "hypot", "lerp",
    "addcmul", "addcdiv", "isinf", "isposinf", "isneginf", "nan_to_num", "clamp_min", "clamp_max", "rsub",
]

_wrap = Tensor._wrap


def _arr(x):
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def _float(a):
    """Integer and bool arrays as float32 (PyTorch's promotion for transcendental functions)."""
    return a.astype(np.float32) if a.dtype.kind in "biu" else a


def _zeros(g):
    return _wrap(np.zeros(g.shape, g.dtype))


# --------------------------------------------------------------------------- rounding (zero gradient)

class _Rounding(Function):
    """Shared backward of floor, ceil, round and trunc: zero, as in PyTorch."""

    @staticmethod
    def backward(ctx, g):
        return _zeros(g)


class Floor(_Rounding):
    @staticmethod
    def forward(ctx, a):
        return a.copy() if a.dtype.kind in "iu" else np.floor(a)


class Ceil(_Rounding):
    @staticmethod
    def forward(ctx, a):
        return a.copy() if a.dtype.kind in "iu" else np.ceil(a)


class Trunc(_Rounding):
    @staticmethod
    def forward(ctx, a):
        return a.copy() if a.dtype.kind in "iu" else np.trunc(a)


class Round(_Rounding):
    """Half to even, as ``torch.round``; ``decimals`` scales by a power of ten first."""

    @staticmethod
    def forward(ctx, a, decimals=0):
        if a.dtype.kind in "iu":
            if decimals:
                raise TypeError(f"round: decimals={decimals} is not supported for integer tensors (dtype {a.dtype})")
            return a.copy()
        if decimals == 0:
            return np.rint(a)
        if decimals > 0:
            scale = a.dtype.type(10.0 ** decimals)
            return np.rint(a * scale) / scale
        scale = a.dtype.type(10.0 ** -decimals)
        return np.rint(a / scale) * scale


class Frac(Function):
    """``x - trunc(x)``; the gradient passes unchanged."""

    @staticmethod
    def forward(ctx, a):
        return a - np.trunc(a)

    @staticmethod
    def backward(ctx, g):
        return g


def _no_bool(x, op):
    if _arr(x).dtype.kind == "b":
        raise TypeError(f"{op}: not defined for bool tensors; convert with .float() or .long()")
    return x


@method
def floor(input):
    """Largest integer <= x (integer tensors are returned unchanged); zero gradient."""
    return Floor.apply(_no_bool(input, "floor"))


@method
def ceil(input):
    """Smallest integer >= x; zero gradient."""
    return Ceil.apply(_no_bool(input, "ceil"))


@method
def trunc(input):
    """x rounded towards zero; zero gradient."""
    return Trunc.apply(_no_bool(input, "trunc"))


fix = trunc


@method
def round(input, *, decimals=0):
    """x rounded half to even (``round(2.5) == 2``) to ``decimals`` decimal places; zero gradient."""
    return Round.apply(_no_bool(input, "round"), decimals=int(decimals))


@method
def frac(input):
    """``x - trunc(x)`` (keeps the sign of x); gradient 1."""
    a = _arr(input)
    if a.dtype.kind not in "fc":
        raise TypeError(f"frac: expects a floating-point tensor, got dtype {a.dtype}")
    return Frac.apply(input)


# --------------------------------------------------------------------------- exp / log variants

class Log1p(Function):
    @staticmethod
    def forward(ctx, a):
        a = _float(a)
        ctx.save_for_backward(a)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log1p(a)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g / (a + 1.0)


class Expm1(Function):
    @staticmethod
    def forward(ctx, a):
        out = np.expm1(_float(a))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * (out + 1.0)


class _LogBase(Function):
    _np = None
    _ln_base = 1.0

    @classmethod
    def forward(cls, ctx, a):
        a = _float(a)
        ctx.save_for_backward(a)
        with np.errstate(divide="ignore", invalid="ignore"):
            return cls._np(a)

    @classmethod
    def backward(cls, ctx, g):
        (a,) = ctx.saved_tensors
        return g / (a * cls._ln_base)


class Log2(_LogBase):
    _np = staticmethod(np.log2)
    _ln_base = math.log(2.0)


class Log10(_LogBase):
    _np = staticmethod(np.log10)
    _ln_base = math.log(10.0)


class Exp2(Function):
    @staticmethod
    def forward(ctx, a):
        out = np.exp2(_float(a))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * out * math.log(2.0)


class Rsqrt(Function):
    """``1 / sqrt(x)``; d/dx = -x^(-3/2) / 2 = -out^3 / 2."""

    @staticmethod
    def forward(ctx, a):
        a = _float(a)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = 1.0 / np.sqrt(a)
        out = out.astype(a.dtype, copy=False)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * (out * out * out) * -0.5


@method
def log1p(input):
    """``log(1 + x)``, accurate for small x."""
    return Log1p.apply(input)


@method
def expm1(input):
    """``exp(x) - 1``, accurate for small x."""
    return Expm1.apply(input)


@method
def log2(input):
    return Log2.apply(input)


@method
def log10(input):
    return Log10.apply(input)


@method
def exp2(input):
    """``2 ** x``."""
    return Exp2.apply(input)


@method
def rsqrt(input):
    """``1 / sqrt(x)`` (inf at 0, NaN below)."""
    return Rsqrt.apply(input)


# --------------------------------------------------------------------------- the error function

_erf_py = np.frompyfunc(math.erf, 1, 1)
_erfc_py = np.frompyfunc(math.erfc, 1, 1)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)

# Above this many elements erf/erfc take the compiled loop of kernels/special.py (the same C
# functions, about 20x faster than frompyfunc on 2 threads); below it Numba is not worth importing.
KERNEL_MIN = 4096
_NS_PER_ERF = 15  # in units of _threads.NS_PER_ELEMENT: an erf costs about 20 ns on one core


def _erf64(x):
    """``erf`` of a float64 array (the C library's, element by element): the plain path."""
    return np.asarray(_erf_py(x), dtype=np.float64).reshape(np.shape(x))


def _erfc64(x):
    return np.asarray(_erfc_py(x), dtype=np.float64).reshape(np.shape(x))


def _special(name, a):
    """``erf`` or ``erfc`` of a float array in its own dtype: compiled for large float32/64 arrays."""
    if a.size >= KERNEL_MIN and a.dtype in (np.float32, np.float64):
        from ..kernels import load
        src = np.ascontiguousarray(a).reshape(-1)
        out = np.empty(src.shape, a.dtype)
        _threads.run(getattr(load("special"), name), src, out, elements=a.size * _NS_PER_ERF)
        return out.reshape(a.shape)
    return (_erf64 if name == "erf" else _erfc64)(a).astype(a.dtype, copy=False)


def erfinv_array(y):
    """The inverse error function of an array, computed in float64 (returned in float64).

    Start from Winitzki's closed-form approximation (relative error < 2e-3),
    then take three Halley steps on ``f(x) = erf(x) - |y|``, or on
    ``erfc(x) - (1 - |y|)`` for ``|y| >= 0.5`` so that the tails keep their
    relative accuracy. ``f'' = -2 x f'``, so each step is
    ``x -= r / (1 + x r)`` with ``r = f / f'``. ``+-1`` map to ``+-inf``,
    ``|y| > 1`` and NaN to NaN.
    """
    y = np.asarray(y, dtype=np.float64)
    a = np.abs(y)
    out = np.full(y.shape, np.nan)
    inside = a < 1  # False for NaN
    out[a == 1] = np.inf
    ai = a[inside]
    with np.errstate(divide="ignore"):
        t = np.log((1.0 - ai) * (1.0 + ai))
    k = 0.147
    b = 2.0 / (math.pi * k) + t / 2.0
    x = np.sqrt(np.maximum(np.sqrt(b * b - t / k) - b, 0.0))
    tail = ai >= 0.5
    q = 1.0 - ai  # exact for ai in [0.5, 1)
    for _ in range(3):
        fp = _TWO_OVER_SQRT_PI * np.exp(-x * x)
        f = np.where(tail, q - _special("erfc", x), _special("erf", x) - ai)  # both signs: f' of (q - erfc) is +fp
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(fp > 0, f / fp, 0.0)
        x = x - r / (1.0 + x * r)
    out[inside] = x
    return np.copysign(out, y)


class Erf(Function):
    @staticmethod
    def forward(ctx, a):
        a = _float(a)
        ctx.save_for_backward(a)
        return _special("erf", a)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * exp(-(a * a)) * _TWO_OVER_SQRT_PI


class Erfc(Function):
    @staticmethod
    def forward(ctx, a):
        a = _float(a)
        ctx.save_for_backward(a)
        return _special("erfc", a)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * exp(-(a * a)) * -_TWO_OVER_SQRT_PI


class Erfinv(Function):
    """``erf(out) = x``; d/dx = sqrt(pi) / 2 * exp(out^2)."""

    @staticmethod
    def forward(ctx, a):
        a = _float(a)
        out = erfinv_array(a).astype(a.dtype, copy=False)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * exp(out * out) * (math.sqrt(math.pi) / 2.0)


@method
def erf(input):
    """The error function ``2/sqrt(pi) * integral_0^x exp(-t^2) dt``."""
    return Erf.apply(input)


@method
def erfc(input):
    """``1 - erf(x)``, accurate where erf(x) is close to 1."""
    return Erfc.apply(input)


@method
def erfinv(input):
    """The inverse of ``erf`` on (-1, 1); +-inf at +-1, NaN outside."""
    return Erfinv.apply(input)


# --------------------------------------------------------------------------- hyperbolic and inverse trigonometric

class _Unary(Function):
    """A unary function ``_np`` whose derivative ``_grad(a, out)`` is written with Tensor ops."""

    _np = None
    _errstate = {"invalid": "ignore", "divide": "ignore", "over": "ignore"}

    @classmethod
    def forward(cls, ctx, a):
        a = _float(a)
        with np.errstate(**cls._errstate):
            out = cls._np(a)
        ctx.save_for_backward(a, out)
        return out

    @classmethod
    def backward(cls, ctx, g):
        a, out = ctx.saved_tensors
        return g * cls._grad(a, out)


class Sinh(_Unary):
    _np = staticmethod(np.sinh)
    _grad = staticmethod(lambda a, out: cosh(a))


class Cosh(_Unary):
    _np = staticmethod(np.cosh)
    _grad = staticmethod(lambda a, out: sinh(a))


class Tan(_Unary):
    _np = staticmethod(np.tan)
    _grad = staticmethod(lambda a, out: out * out + 1.0)


class Asin(_Unary):
    _np = staticmethod(np.arcsin)
    _grad = staticmethod(lambda a, out: 1.0 / sqrt(1.0 - a * a))


class Acos(_Unary):
    _np = staticmethod(np.arccos)
    _grad = staticmethod(lambda a, out: -1.0 / sqrt(1.0 - a * a))


class Atan(_Unary):
    _np = staticmethod(np.arctan)
    _grad = staticmethod(lambda a, out: 1.0 / (a * a + 1.0))


class Asinh(_Unary):
    _np = staticmethod(np.arcsinh)
    _grad = staticmethod(lambda a, out: 1.0 / sqrt(a * a + 1.0))


class Acosh(_Unary):
    _np = staticmethod(np.arccosh)
    _grad = staticmethod(lambda a, out: 1.0 / sqrt(a * a - 1.0))


class Atanh(_Unary):
    _np = staticmethod(np.arctanh)
    _grad = staticmethod(lambda a, out: 1.0 / (1.0 - a * a))


@method
def sinh(input):
    return Sinh.apply(input)


@method
def cosh(input):
    return Cosh.apply(input)


@method
def tan(input):
    return Tan.apply(input)


@method
def asin(input):
    """arcsin on [-1, 1] (NaN outside); the gradient is inf at +-1, as in PyTorch."""
    return Asin.apply(input)


@method
def acos(input):
    return Acos.apply(input)


@method
def atan(input):
    return Atan.apply(input)


@method
def asinh(input):
    return Asinh.apply(input)


@method
def acosh(input):
    return Acosh.apply(input)


@method
def atanh(input):
    return Atanh.apply(input)


arcsin, arccos, arctan, arcsinh, arccosh, arctanh = asin, acos, atan, asinh, acosh, atanh


# --------------------------------------------------------------------------- binary and ternary

class Atan2(Function):
    """``atan2(y, x)``, the angle of the point (x, y); zero gradient at the origin, as in PyTorch."""

    @staticmethod
    def forward(ctx, y, x):
        y, x = _float(np.asarray(y)), _float(np.asarray(x))
        ctx.save_for_backward(y, x)
        return np.arctan2(y, x)

    @staticmethod
    def backward(ctx, g):
        y, x = ctx.saved_tensors
        r2 = x * x + y * y
        scale = g / where(r2 == 0, 1.0, r2)
        need = ctx.needs_input_grad
        return (scale * x if need[0] else None), (-scale * y if need[1] else None)


class Hypot(Function):
    """``sqrt(a^2 + b^2)`` without overflow; the gradient is NaN at (0, 0), as in PyTorch."""

    @staticmethod
    def forward(ctx, a, b):
        out = np.hypot(a, b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, b, out = ctx.saved_tensors
        need = ctx.needs_input_grad
        return (g * a / out if need[0] else None), (g * b / out if need[1] else None)


class Lerp(Function):
    """``start + weight * (end - start)``, evaluated from the nearer end as PyTorch does."""

    @staticmethod
    def forward(ctx, start, end, weight):
        ctx.save_for_backward(start, end, weight)
        w = weight
        diff = end - start
        return np.where(np.abs(w) < 0.5, start + w * diff, end - diff * (1 - w)).astype(
            np.result_type(start, end), copy=False)

    @staticmethod
    def backward(ctx, g):
        start, end, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        return (g * (1.0 - w) if need[0] else None,
                g * w if need[1] else None,
                g * (end - start) if need[2] else None)


@method
def atan2(input, other):
    """``atan2(input, other)``: the angle of (other, input) in (-pi, pi]."""
    return Atan2.apply(input, other)


arctan2 = atan2


@method
def hypot(input, other):
    for x in (input, other):
        if _arr(x).dtype.kind not in "f":
            raise TypeError(f"hypot: expects floating-point tensors, got dtype {_arr(x).dtype}")
    return Hypot.apply(input, other)


@method
def lerp(input, end, weight):
    """``input + weight * (end - input)``; ``weight`` a number or a tensor."""
    for name, x in (("input", input), ("end", end)):
        if _arr(x).dtype.kind != "f":
            raise TypeError(f"lerp: {name} must be a floating-point tensor, got dtype {_arr(x).dtype}")
    if not isinstance(weight, Tensor):
        weight = np.asarray(weight, dtype=_arr(input).dtype)
    return Lerp.apply(input, end, weight)


@method
def addcmul(input, tensor1, tensor2, *, value=1):
    """``input + value * tensor1 * tensor2``."""
    _check_int_value("addcmul", input, value)
    prod = _as_t(tensor1) * tensor2
    return input + (prod if value == 1 else prod * value)


@method
def addcdiv(input, tensor1, tensor2, *, value=1):
    """``input + value * tensor1 / tensor2`` (floating-point tensors only, as in PyTorch)."""
    for x in (tensor1, tensor2):
        if _arr(x).dtype.kind in "biu":
            raise TypeError("addcdiv: integer division is not supported (PyTorch removed it); "
                            "convert tensor1 or tensor2 with .float()")
    quot = _as_t(tensor1) / tensor2
    return input + (quot if value == 1 else quot * value)


def _as_t(x):
    return x if isinstance(x, Tensor) else _wrap(np.asarray(x))


def _check_int_value(op, input, value):
    if _arr(input).dtype.kind in "biu" and isinstance(value, float):
        raise TypeError(f"{op}: for integer tensors, value must be an int, got {value!r}")


# --------------------------------------------------------------------------- special values

class NanToNum(Function):
    @staticmethod
    def forward(ctx, a, nan=0.0, posinf=None, neginf=None):
        ctx.finite = np.isfinite(a)
        return np.nan_to_num(a, nan=nan, posinf=posinf, neginf=neginf)

    @staticmethod
    def backward(ctx, g):
        return Mask.apply(g, ctx.finite)  # PyTorch: the gradient passes where the input is finite


@method
def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    """NaN -> ``nan``, +inf -> ``posinf``, -inf -> ``neginf`` (default: the dtype's largest and smallest)."""
    a = _arr(input)
    if a.dtype.kind != "f":
        return _wrap(a.copy())
    return NanToNum.apply(input, nan=nan, posinf=posinf, neginf=neginf)


@method
def isinf(input):
    return _wrap(np.isinf(_arr(input)))


@method
def isposinf(input):
    return _wrap(np.isposinf(_arr(input)) if _arr(input).dtype.kind == "f" else np.zeros(_arr(input).shape, bool))


@method
def isneginf(input):
    return _wrap(np.isneginf(_arr(input)) if _arr(input).dtype.kind == "f" else np.zeros(_arr(input).shape, bool))


@method
def clamp_min(input, min):
    """``max(x, min)``; ``min`` a number or a tensor."""
    return clamp(input, min=min)


@method
def clamp_max(input, max):
    """``min(x, max)``; ``max`` a number or a tensor."""
    return clamp(input, max=max)


class DivRounded(Function):
    """``a / b`` rounded towards zero ('trunc') or down ('floor', Python's ``//``); zero gradient."""

    @staticmethod
    def forward(ctx, a, b, mode):
        if np.asarray(a).dtype.kind in "biu" and np.asarray(b).dtype.kind in "biu":
            if not np.all(b):
                raise ZeroDivisionError(f"div: integer division by zero (rounding_mode={mode!r})")
            q = np.floor_divide(a, b)
            if mode == "trunc":  # floor and trunc differ where the quotient is negative and inexact
                q = q + ((q < 0) & (q * b != a))
            return q
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.trunc(a / b) if mode == "trunc" else np.floor_divide(a, b)

    @staticmethod
    def backward(ctx, g):
        need = ctx.needs_input_grad
        return (_zeros(g) if need[0] else None), (_zeros(g) if need[1] else None)


def div_rounded(input, other, rounding_mode):
    """``div(input, other, rounding_mode=...)`` for 'trunc' and 'floor' (``elementwise.div`` calls this)."""
    if rounding_mode not in ("trunc", "floor"):
        raise ValueError(f"div: rounding_mode must be None, 'trunc' or 'floor', got {rounding_mode!r}")
    return DivRounded.apply(input, other, rounding_mode)


def rsub(input, other, alpha=1):
    """``other - alpha * input`` (``torch.rsub``; there is no Tensor method)."""
    if _arr(input).dtype.kind in "biu" and isinstance(alpha, float):
        raise TypeError(f"rsub: for integer tensors, alpha must be an int, got {alpha!r}")
    if not isinstance(other, (Tensor, np.ndarray)):  # a Python number keeps input's dtype (no float64 array)
        return Sub.apply(other, input if alpha == 1 else input * alpha)
    return sub(_as_t(other), input, alpha=alpha)
