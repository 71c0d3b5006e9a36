"""The error function on large arrays: ``erf`` and ``erfc`` from the C library, one pass on all threads.

numpy has no erf; the plain path (``autograd_core/ops/pointwise.py``) calls
Python's ``math.erf`` per element through ``np.frompyfunc`` (about 100-300 ns
an element here); these loops call the same C functions from compiled code
(about 20x faster on 2 threads: 2.3 ms against 52 ms for 64x6x28x28 float32,
``benchmarks/RESULTS.md``). Flat, C-contiguous 1-D arrays, blocks over
the threads, unsigned indices (see ``elementwise.py``).
"""

from __future__ import annotations

import math

from numba import njit, prange, uint64

_opts = dict(cache=True, nogil=True, boundscheck=False, error_model="numpy")

_BLOCK = 8192


@njit(parallel=True, **_opts)
def erf(a, out):
    """``out = erf(a)``."""
    n = a.shape[0]
    nblocks = (n + _BLOCK - 1) // _BLOCK
    for b in prange(nblocks):
        for i in range(uint64(b * _BLOCK), uint64(min(n, (b + 1) * _BLOCK))):
            out[i] = math.erf(a[i])


@njit(parallel=True, **_opts)
def erfc(a, out):
    """``out = erfc(a) = 1 - erf(a)``, accurate where erf(a) is close to 1."""
    n = a.shape[0]
    nblocks = (n + _BLOCK - 1) // _BLOCK
    for b in prange(nblocks):
        for i in range(uint64(b * _BLOCK), uint64(min(n, (b + 1) * _BLOCK))):
            out[i] = math.erfc(a[i])
