"""Matrix products split over the threads: row blocks of the output, each a single-threaded GEMM.

Once a kernel has run, numpy's OpenBLAS has one thread (``_threads``), which
left every plain ``@`` (each ``nn.Linear``) on one core. Here the output's
rows are cut into one block per thread inside a ``prange`` loop, and each
block is one call to the same BLAS (``blas.dot_into``), as the convolution
kernels do: no second thread pool competes with Numba's.
"""

from __future__ import annotations

from numba import njit, prange

from .blas import dot_into

_opts = dict(cache=True, nogil=True, boundscheck=False)


@njit(parallel=True, **_opts)
def matmul_rows(a, b, out, nblocks):
    """``out = a @ b`` for 2-D arrays (any unit-stride layouts), ``nblocks`` row blocks in parallel."""
    M = a.shape[0]
    step = (M + nblocks - 1) // nblocks
    for t in prange(nblocks):
        r0 = t * step
        r1 = min(M, r0 + step)
        if r0 < r1:
            dot_into(a[r0:r1], b, out[r0:r1])
