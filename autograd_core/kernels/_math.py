"""Helpers shared by the kernel modules: ``fexp`` (a vectorisable exp) and ``twins`` (parallel + serial).

Numba compiles ``np.exp`` inside a loop to a call of the C library's ``expf``
per element (no vector math library is bundled with numba's wheels), which
keeps the loop scalar: 4M float32 exps took 30 ms on one core here. ``expf``
below is the classic range reduction ``x = n ln2 + r``, ``|r| <= ln2 / 2``, a
degree-6 polynomial for ``e^r`` (Cephes' coefficients) and ``2^n`` built from
its bits; every step is plain arithmetic or a bit cast, so a loop of it runs
on 8-lane vectors (about 5x faster). Its relative error is below 1e-7 (about
1 ulp of float32), measured against float64 ``np.exp`` in the tests.

Special values: ``expf(NaN) = NaN``, ``expf(-inf) = 0`` (and 0 below
-103.97, where e^x rounds to 0), ``expf(x) = inf`` above 88.72 (float32's
largest value is e^88.72). Denormal results are computed (to within a few
of their ulps). float64 uses the C library's ``exp`` (exact to an ulp, not vectorised).
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic, overload


@intrinsic
def _f32_bits(typingctx, x):
    sig = types.int32(types.float32)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(32))
    return sig, codegen


@intrinsic
def _bits_f32(typingctx, x):
    sig = types.float32(types.int32)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())
    return sig, codegen


_LO = np.float32(-103.97208)  # below: e^x < 2^-150, returned as 0
_HI = np.float32(88.72284)    # above: inf
_MAGIC = np.float32(12582912.0)  # 1.5 * 2^23: adding it rounds to an integer kept in the low mantissa bits


@njit(inline="always")
def _expf_core(xc):
    """``e^xc`` for ``_LO <= xc <= _HI`` (and NaN): the range reduction, polynomial and scaling."""
    k = xc * np.float32(1.4426950408889634) + _MAGIC
    n = k - _MAGIC                         # round(x / ln2)
    r = xc - n * np.float32(0.693145751953125)
    r = r - n * np.float32(1.428606765330187e-06)
    p = np.float32(1.9875691500e-4)
    p = p * r + np.float32(1.3981999507e-3)
    p = p * r + np.float32(8.3334519073e-3)
    p = p * r + np.float32(4.1665795894e-2)
    p = p * r + np.float32(1.6666665459e-1)
    p = p * r + np.float32(5.0000001201e-1)
    p = p * r * r + r + np.float32(1.0)
    # 2^n as two factors 2^h 2^(n-h), each a normal float: no overflow before the product
    # near the top of the range, and denormal results near the bottom
    ni = _f32_bits(k) - np.int32(0x4B400000)
    h = ni >> 1
    return p * _bits_f32((h + np.int32(127)) << 23) * _bits_f32((ni - h + np.int32(127)) << 23)


@njit(inline="always")
def expf(x):
    """``e^x`` for a float32 ``x`` (vectorisable; see the module docstring)."""
    xc = _HI if x > _HI else x
    xc = _LO if xc < _LO else xc          # NaN passes both tests unchanged
    e = _expf_core(xc)
    if x > _HI:
        e = np.float32(np.inf)
    return np.float32(0.0) if x < _LO else e


@njit(inline="always")
def expf_bounded(x):
    """``expf(x)`` for ``x <= 88.72`` (``_HI``), NaN or -inf, bit for bit; above that meaningless.

    For arguments known not to overflow, such as ``x - max(row)`` in softmax: without the
    overflow test and its two selects a loop of it runs about 25% faster on AVX2.
    """
    xc = _LO if x < _LO else x
    e = _expf_core(xc)
    return np.float32(0.0) if x < _LO else e


def _dtype_exp(f32):
    """A function that is ``np.exp`` in Python and, in compiled code, ``f32`` on float32 arguments
    (``np.exp``, the C library's, on others)."""
    def exp(x):  # pragma: no cover - replaced in compiled code by the overload below
        return np.exp(x)

    @overload(exp, inline="always")
    def _exp(x):
        if x == types.float32:
            return lambda x: f32(x)
        return lambda x: np.exp(x)
    return exp


fexp = _dtype_exp(expf)
# for arguments at most 88.72 (or NaN, -inf): float32 skips the overflow handling
fexp_bounded = _dtype_exp(expf_bounded)


def twins(fn, **opts):
    """``(parallel, serial)`` compilations of one kernel written with ``prange``.

    The serial twin (for calls under the serial rule, ``_threads.small``) is the
    package's ``serial_twin``: the same function compiled without ``parallel``,
    cached under its own name.
    """
    from . import serial_twin
    par = njit(parallel=True, **opts)(fn)
    return par, serial_twin(par)
