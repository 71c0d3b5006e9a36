"""Kernels for GELU's exact form on large arrays: the normal CDF needs ``erfc``, which numpy lacks.

The numpy path (``ops/activation.py``'s ``_ndtr``: the C library's ``erfc`` called
element by element) is the reference these are tested against; here each direction is one
compiled pass of ``erfc`` (and ``exp``) over flat, C-contiguous 1-D arrays,
split into blocks over the threads, as in ``elementwise.py``.
"""

from __future__ import annotations

import math

from numba import njit, prange, uint64

_opts = dict(cache=True, nogil=True, boundscheck=False, error_model="numpy")

_BLOCK = 16384
_SQRT1_2 = 0.7071067811865476
_INV_SQRT_2PI = 0.3989422804014327


@njit(parallel=True, **_opts)
def gelu_forward(x, out, cdf):
    """``cdf = Phi(x) = erfc(-x / sqrt 2) / 2`` and ``out = x * cdf`` (float64 arithmetic, stored in x's dtype)."""
    n = x.shape[0]
    nblocks = (n + _BLOCK - 1) // _BLOCK
    for b in prange(nblocks):
        for i in range(uint64(b * _BLOCK), uint64(min(n, (b + 1) * _BLOCK))):
            v = float(x[i])
            c = 0.5 * math.erfc(-v * _SQRT1_2)
            cdf[i] = c
            out[i] = v * c


@njit(parallel=True, **_opts)
def gelu_backward(g, x, cdf, out):
    """``out = g * (Phi(x) + x * phi(x))``, ``phi`` the standard normal density."""
    n = x.shape[0]
    nblocks = (n + _BLOCK - 1) // _BLOCK
    for b in prange(nblocks):
        for i in range(uint64(b * _BLOCK), uint64(min(n, (b + 1) * _BLOCK))):
            v = float(x[i])
            out[i] = g[i] * (cdf[i] + v * _INV_SQRT_2PI * math.exp(-0.5 * v * v))
