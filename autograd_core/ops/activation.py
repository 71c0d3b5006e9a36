"""Activations beyond the basic ones of ``elementwise.py`` (``relu``, ``leaky_relu``, ``elu``, ``softplus``...).

``gelu silu mish hardswish hardsigmoid hardtanh relu6 logsigmoid softmin prelu selu celu softsign tanhshrink
threshold glu softshrink rrelu``, with PyTorch's signatures and its values on the edges: gradients at the
kinks of the piecewise ones, NaN and infinities, integer inputs (refused where PyTorch refuses them, kept
integer by ``hardtanh``/``relu6``/``threshold``, made float32 by ``softsign``/``tanhshrink``).

Every backward is made of Tensor operations, so all of these are differentiable
twice and more. Where forward computed a value backward needs again (GELU's
normal CDF, SiLU's sigmoid), ``_Reuse`` hands it over without recomputing it,
yet stays differentiable in the input.
"""

from __future__ import annotations

import math

import numpy as np

from .. import _threads
from ..function import Function, ShapeError, is_grad_enabled
from ..random import get_rng
from ..tensor import Tensor
from ._common import array_of, as_tensor, check_dtypes, inverse_order
from ._declare import functional, method
from .elementwise import (Elu, Mask, Mul, Where, _dense_order, _sigmoid, abs as _abs, cast, exp, leaky_relu, sigmoid,
                          softplus, tanh)
from .pointwise import _NS_PER_ERF, _erfc64
from .reduce import norm_dims, softmax

__all__ = ["gelu", "silu", "mish", "hardswish", "hardsigmoid", "hardtanh", "relu6", "logsigmoid", "softmin",
           "prelu", "selu", "celu", "softsign", "tanhshrink", "threshold", "glu", "softshrink", "rrelu"]


def _floating(op, input):
    """Refuse integer and bool inputs, as PyTorch does for this op."""
    dt = array_of(input).dtype
    if dt.kind != "f":
        raise TypeError(f"{op}: expected a floating-point tensor, got dtype {dt}; convert it with .float()")


def _as_float(input):
    """Integer or bool input as float32 (PyTorch's default dtype), floats unchanged."""
    return input if array_of(input).dtype.kind == "f" else cast(input, np.float32)


def _maybe_inplace(input, out, inplace):
    return input.copy_(out) if inplace else out


class _Reuse(Function):
    """``f(x)`` whose value forward already computed: returns ``value`` as is.

    Its backward is ``g * df(x)`` with ``df`` in Tensor operations, so an op can
    hand a value from its forward to its backward (where it is a constant
    under plain ``backward()``) and still be differentiated again through it
    under ``create_graph=True``.
    """

    @staticmethod
    def forward(ctx, x, value, df):
        ctx.df = df
        ctx.save_for_backward(x)
        return value

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * ctx.df(x), None, None


_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_GELU_K = math.sqrt(2.0 / math.pi)
_GELU_C = 0.044715


def _normal_pdf(x):
    return exp(x * x * -0.5) * _INV_SQRT_2PI


# GELU's exact form costs about an erfc per element (pointwise.py's measure, in elementwise passes):
# the serial rule (``_threads.small``) applied to size * this
_ERF_COST = _NS_PER_ERF
_SQRT1_2 = 1.0 / math.sqrt(2.0)


def _ndtr(x):
    """``Phi(x) = erfc(-x / sqrt 2) / 2`` in ``x``'s dtype: the C library's erfc element by element (the
    kernels' reference path); relatively accurate far into the left tail, where ``1 + erf`` would be 0."""
    out = _erfc64(np.asarray(x, dtype=np.float64) * -_SQRT1_2)
    out *= 0.5
    return out.astype(x.dtype, copy=False)


def _gelu_kernel_layout(*arrays):
    """The common dense axis order of ``arrays`` if GELU's kernels should take them, else False.

    Large float32/float64 arrays only (smaller ones stay on numpy, so small graphs never import
    Numba); any dense memory order (channels-last included), the same for all of them.
    """
    a = arrays[0]
    if a.dtype not in (np.float32, np.float64) or _threads.small(elements=a.size * _ERF_COST):
        return False
    perm = _dense_order(a)
    if perm is False or any(b.dtype != a.dtype or _dense_order(b) != perm for b in arrays[1:]):
        return False
    return perm


def _flat(a, perm):
    return (a if perm is None else a.transpose(perm)).reshape(-1)


def _unflat(flat, like, perm):
    shape = like.shape if perm is None else tuple(like.shape[p] for p in perm)
    out = flat.reshape(shape)
    return out if perm is None else out.transpose(inverse_order(perm))


def _gelu_kernels():
    from ..kernels import load
    return load("activation")


class Gelu(Function):
    """``x Phi(x)`` (Hendrycks & Gimpel 2016), or its tanh approximation
    ``x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``.

    ``d/dx = Phi(x) + x phi(x)``; tanh form: ``(1 + t)/2 + x/2 (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2)``.
    The exact form on large arrays runs the kernels of ``kernels/activation.py`` (one pass each way,
    the C library's erfc); smaller arrays, and the backward under ``create_graph=True``, take the
    numpy / Tensor-op path, which is also the kernels' reference.
    """

    @staticmethod
    def forward(ctx, x, approximate="none"):
        ctx.approximate = approximate
        ctx.save_for_backward(x)
        if approximate == "none":
            perm = _gelu_kernel_layout(x)
            if perm is not False:
                xf = np.ascontiguousarray(_flat(x, perm))
                out, cdf = np.empty_like(xf), np.empty_like(xf)
                _threads.run(_gelu_kernels().gelu_forward, xf, out, cdf, elements=x.size * _ERF_COST)
                ctx.cdf = _unflat(cdf, x, perm)
                return _unflat(out, x, perm)
            ctx.cdf = _ndtr(x)
            with np.errstate(invalid="ignore"):  # -inf * 0: NaN, as in PyTorch
                return x * ctx.cdf
        with np.errstate(over="ignore", invalid="ignore"):
            t = np.tanh(_GELU_K * (x + _GELU_C * x * x * x))
            return (0.5 * x * (1.0 + t)).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        if ctx.approximate == "none":
            if not is_grad_enabled():
                perm = _gelu_kernel_layout(x.data, g.data, ctx.cdf)
                if perm is not False:
                    flat = [np.ascontiguousarray(_flat(a, perm)) for a in (g.data, x.data, ctx.cdf)]
                    out = np.empty_like(flat[1])
                    _threads.run(_gelu_kernels().gelu_backward, *flat, out, elements=x.data.size * _ERF_COST)
                    return Tensor._wrap(_unflat(out, x.data, perm))
            cdf = _Reuse.apply(x, ctx.cdf, _normal_pdf)
            with np.errstate(invalid="ignore"):  # inf * 0 at x = +-inf: NaN, as in PyTorch
                return g * (cdf + x * _normal_pdf(x))
        x2 = x * x
        t = tanh((x + x2 * x * _GELU_C) * _GELU_K)
        return g * ((t + 1.0) * 0.5 + x * 0.5 * (1.0 - t * t) * ((x2 * (3 * _GELU_C) + 1.0) * _GELU_K))


def _dsigmoid(x):
    s = sigmoid(x)
    return s * (1.0 - s)


class Silu(Function):
    """``x sigmoid(x)`` (the swish); ``d/dx = s (1 + x (1 - s))``."""

    @staticmethod
    def forward(ctx, x):
        ctx.s = _sigmoid(x)
        ctx.save_for_backward(x)
        with np.errstate(invalid="ignore"):
            return x * ctx.s

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        s = _Reuse.apply(x, ctx.s, _dsigmoid)
        return g * (s * (x * (1.0 - s) + 1.0))


def _dtanh_softplus(x):
    t = tanh(softplus(x))
    return (1.0 - t * t) * sigmoid(x)


class Mish(Function):
    """``x tanh(softplus(x))`` (Misra 2019); ``d/dx = t + x (1 - t^2) sigmoid(x)``, ``t = tanh(softplus(x))``."""

    @staticmethod
    def forward(ctx, x):
        with np.errstate(over="ignore"):
            ctx.t = np.tanh(np.logaddexp(0, x)).astype(x.dtype, copy=False)
        ctx.save_for_backward(x)
        with np.errstate(invalid="ignore"):
            return x * ctx.t

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        t = _Reuse.apply(x, ctx.t, _dtanh_softplus)
        return g * (t + x * (1.0 - t * t) * sigmoid(x))


class Hardswish(Function):
    """``x relu6(x + 3) / 6`` (Howard et al. 2019); gradient 0 for ``x <= -3``, ``x/3 + 1/2`` inside, 1 from 3 on."""

    @staticmethod
    def forward(ctx, x):
        ctx.mid = (x > -3.0) & (x < 3.0)
        ctx.high = ~(x <= -3.0) & ~ctx.mid  # x >= 3, and NaN (PyTorch's gradient there is 1)
        ctx.save_for_backward(x)
        with np.errstate(invalid="ignore"):
            return (x * (np.clip(x + 3.0, 0.0, 6.0) / 6.0)).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return Where.apply(ctx.mid, g * (x * (1.0 / 3.0) + 0.5), Mask.apply(g, ctx.high))


class Hardsigmoid(Function):
    """``relu6(x + 3) / 6``; gradient 1/6 strictly inside (-3, 3), else 0."""

    @staticmethod
    def forward(ctx, x):
        ctx.mid = (x > -3.0) & (x < 3.0)
        return np.clip(x / 6.0 + 0.5, 0.0, 1.0).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        return Mask.apply(g, ctx.mid) * (1.0 / 6.0)


class Hardtanh(Function):
    """``clamp(x, min_val, max_val)``; the gradient passes strictly inside (and through NaN), as in PyTorch."""

    @staticmethod
    def forward(ctx, x, min_val=-1.0, max_val=1.0):
        ctx.keep = ~((x <= min_val) | (x >= max_val))
        return np.clip(x, min_val, max_val).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        return Mask.apply(g, ctx.keep)


class LogSigmoid(Function):
    """``log(sigmoid(x)) = -softplus(-x)``, stable for any ``x``; ``d/dx = sigmoid(-x)``."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        with np.errstate(invalid="ignore"):
            return (-np.logaddexp(0, -x)).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * sigmoid(-x)


class Prelu(Function):
    """``x`` where ``x > 0``, else ``w x`` (He et al. 2015); ``w`` broadcasts against ``x``."""

    @staticmethod
    def forward(ctx, x, w):
        ctx.pos = x > 0
        ctx.save_for_backward(x, w)
        return np.where(ctx.pos, x, w * x).astype(np.result_type(x, w), copy=False)

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        gx = Where.apply(ctx.pos, g, g * w) if need[0] else None
        gw = Mask.apply(g * x, ~ctx.pos) if need[1] else None
        return gx, gw


class Threshold(Function):
    """``x`` where ``x > threshold``, else ``value`` (NaN is kept, and passes the gradient)."""

    @staticmethod
    def forward(ctx, x, threshold, value):
        replace = x <= threshold
        ctx.keep = ~replace
        return np.where(replace, np.asarray(value).astype(x.dtype), x)

    @staticmethod
    def backward(ctx, g):
        return Mask.apply(g, ctx.keep)


class Softshrink(Function):
    """``x - lambd sign(x)`` where ``|x| > lambd``, else 0; gradient 1 outside ``[-lambd, lambd]`` (and at NaN)."""

    @staticmethod
    def forward(ctx, x, lambd=0.5):
        keep = ~((x >= -lambd) & (x <= lambd))
        ctx.keep = keep
        return np.where(keep, x - lambd * np.sign(x), 0).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        return Mask.apply(g, ctx.keep)


# --------------------------------------------------------------------------- functional API

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


@functional
def gelu(input, approximate="none"):
    """Gaussian error linear unit ``x Phi(x)``, ``Phi`` the standard normal CDF.

    ``approximate='tanh'``: ``x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``.
    """
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    _floating("gelu", input)
    return Gelu.apply(input, approximate=approximate)


@functional
def silu(input, inplace=False):
    """``x * sigmoid(x)`` (also called swish)."""
    _floating("silu", input)
    return _maybe_inplace(input, Silu.apply(input), inplace)


@functional
def mish(input, inplace=False):
    """``x * tanh(softplus(x))``."""
    _floating("mish", input)
    return _maybe_inplace(input, Mish.apply(input), inplace)


@functional
def hardswish(input, inplace=False):
    """``x * relu6(x + 3) / 6``: 0 for ``x <= -3``, ``x`` for ``x >= 3``."""
    _floating("hardswish", input)
    return _maybe_inplace(input, Hardswish.apply(input), inplace)


@functional
def hardsigmoid(input, inplace=False):
    """``relu6(x + 3) / 6``: 0 for ``x <= -3``, 1 for ``x >= 3``, linear between."""
    _floating("hardsigmoid", input)
    return _maybe_inplace(input, Hardsigmoid.apply(input), inplace)


@functional
def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """``clamp(x, min_val, max_val)``, with no gradient at the limits (integer inputs stay integer)."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) cannot be greater than max_val ({max_val})")
    return _maybe_inplace(input, Hardtanh.apply(input, min_val=min_val, max_val=max_val), inplace)


@functional
def relu6(input, inplace=False):
    """``min(max(x, 0), 6)``."""
    return hardtanh(input, 0.0, 6.0, inplace)


@functional
def logsigmoid(input):
    """``log(1 / (1 + exp(-x)))``, computed stably."""
    _floating("logsigmoid", input)
    return LogSigmoid.apply(input)


@functional
def softmin(input, dim=None, _stacklevel=3, dtype=None):
    """``softmax(-x)`` along ``dim`` (required); ``dtype`` casts the input first."""
    if dtype is not None:
        input = cast(input, dtype)
    _floating("softmin", input)
    if dim is None:
        raise TypeError("softmin: pass dim explicitly (e.g. dim=1 for (N, C) inputs)")
    x = as_tensor(input)
    (d,) = norm_dims(dim, x.ndim, "softmin")
    if x.ndim == 0:
        return softmax(-x.reshape(1), 0).reshape(())
    if x.data.size == 0:  # nothing to normalise (softmax itself refuses empty input)
        return -x
    return softmax(-x, d)


@method
@functional
def prelu(input, weight):
    """``x`` for ``x > 0``, else ``weight * x``, with one learned slope or one per channel (dimension 1).

    ``weight`` has one element, or ``C`` elements for an input ``(N, C, *)``
    (for a 1-D input, its only dimension counts as the channels).
    """
    _floating("prelu", input)
    check_dtypes("prelu", input, weight)
    x, w = as_tensor(input), as_tensor(weight)
    if w.ndim > 1:
        raise ShapeError(f"prelu: weight must be 0-D or 1-D, got shape {tuple(w.shape)}")
    n = w.data.size
    if n != 1:
        cdim = 1 if x.ndim >= 2 else 0
        c = x.shape[cdim] if x.ndim else 1
        if n != c:
            raise ShapeError(f"prelu: weight has {n} elements but the input (shape {tuple(x.shape)}) has {c} "
                             f"channels (dimension {cdim}); give one slope, or one per channel")
        w = w.reshape((-1,) + (1,) * (x.ndim - cdim - 1))
    elif w.ndim:
        w = w.reshape(())
    return Prelu.apply(x, w)


@functional
def selu(input, inplace=False):
    """``scale * elu(x, alpha)`` with Klambauer et al.'s (2017) self-normalising constants."""
    _floating("selu", input)
    return _maybe_inplace(input, Elu.apply(input, alpha=_SELU_ALPHA) * _SELU_SCALE, inplace)


@functional
def celu(input, alpha=1.0, inplace=False):
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))`` (Barron 2017): ELU, continuously differentiable."""
    if alpha == 0:
        raise ValueError("celu: alpha must not be 0 (the formula divides by it)")
    _floating("celu", input)
    out = Elu.apply(as_tensor(input) * (1.0 / alpha), alpha=1.0) * alpha
    return _maybe_inplace(input, out, inplace)


@functional
def softsign(input):
    """``x / (1 + |x|)``."""
    x = _as_float(input)
    return x / (_abs(x) + 1.0)


@functional
def tanhshrink(input):
    """``x - tanh(x)``."""
    x = _as_float(input)
    return x - tanh(x)


@functional
def threshold(input, threshold, value, inplace=False):
    """``x`` where ``x > threshold``, else ``value`` (integer inputs stay integer)."""
    return _maybe_inplace(input, Threshold.apply(input, threshold, value), inplace)


@functional
def glu(input, dim=-1):
    """Gated linear unit (Dauphin et al. 2017): ``a * sigmoid(b)`` for the two halves ``a, b`` of ``dim``."""
    x = as_tensor(input)
    if x.ndim == 0:
        raise ShapeError("glu: does not take a scalar (0-D) input: it halves a dimension")
    _floating("glu", x)
    (d,) = norm_dims(dim, x.ndim, "glu")
    n = x.shape[d]
    if n % 2:
        raise ShapeError(f"glu: dimension {dim} must have an even size to be halved, got size {n} "
                         f"(input shape {tuple(x.shape)})")
    head = (slice(None),) * d
    return x[head + (slice(0, n // 2),)] * sigmoid(x[head + (slice(n // 2, n),)])


@functional
def softshrink(input, lambd=0.5):
    """``x - lambd`` above ``lambd``, ``x + lambd`` below ``-lambd``, else 0."""
    if lambd < 0:
        raise ValueError(f"softshrink: lambd must be non-negative, got {lambd}")
    _floating("softshrink", input)
    return Softshrink.apply(input, lambd=lambd)


@functional
def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    """Randomised leaky ReLU (Xu et al. 2015).

    Training: each negative element gets its own slope drawn from
    ``U(lower, upper)`` (``autograd_core.random.get_rng()``); eval: the fixed
    slope ``(lower + upper) / 2``.
    """
    if not 0 <= lower <= upper:
        raise ValueError(f"rrelu: expected 0 <= lower <= upper, got lower={lower}, upper={upper}")
    _floating("rrelu", input)
    if not training:
        return leaky_relu(input, (lower + upper) / 2, inplace)
    x = array_of(input)
    slopes = get_rng().uniform(lower, upper, size=x.shape).astype(x.dtype)
    factor = np.where(x > 0, np.ones((), x.dtype), slopes)
    return _maybe_inplace(input, Mul.apply(input, factor), inplace)
