"""Matrix products callable from Numba kernels, without SciPy.

Numba compiles ``np.dot`` inside ``@njit`` code to calls into SciPy's BLAS, so
it needs SciPy installed. Our runtime dependencies are numpy and numba only, so
the kernels call ``dot_into`` / ``dot_acc`` from this module instead. They reach
the OpenBLAS that numpy's own wheels bundle (``numpy.libs/libscipy_openblas*``,
the library behind numpy's ``@``) through its CBLAS ``?gemm`` entry points:

* the library is found and loaded with ctypes once, at import of this module;
* its ``sgemm``/``dgemm`` addresses are registered with LLVM under our own
  symbol names (``llvmlite.binding.add_symbol``), and the kernels declare them
  as ``numba.types.ExternalFunction``. Compiled code refers to the symbol by
  name, so Numba's on-disk cache works: a later process registers the symbol
  again before it loads cached kernels.

If no such library is found (e.g. a numpy built against Apple's Accelerate),
``np.dot`` is used when SciPy is importable, else a plain blocked loop (correct,
slow). ``BACKEND`` says which one is active.

Thread count: this is numpy's BLAS; ``autograd_core._threads`` sets it to one
thread while our parallel kernels own the cores.
"""

from __future__ import annotations

import ctypes
import glob
import os

import numpy as np
from numba import njit, types

__all__ = ["dot_into", "dot_acc", "BACKEND"]

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112


def _candidate_libraries():
    base = os.path.dirname(os.path.dirname(os.path.abspath(np.__file__)))
    libdirs = [os.path.join(base, "numpy.libs"), os.path.join(base, ".dylibs"),
               os.path.join(os.path.dirname(np.__file__), ".dylibs")]
    for d in libdirs:
        yield from sorted(glob.glob(os.path.join(d, "*openblas*")))
    try:  # libraries already mapped into this process (a numpy linked to a system BLAS)
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "blas" in line.lower() and "/" in line}
        yield from sorted(paths)
    except OSError:
        pass


# (symbol prefix, symbol suffix, integer type of the interface)
_VARIANTS = [("scipy_cblas_", "64_", types.int64), ("cblas_", "64_", types.int64),
             ("scipy_cblas_", "", types.int32), ("cblas_", "", types.int32)]


def _find_gemm():
    for path in _candidate_libraries():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for pre, suf, itype in _VARIANTS:
            s, d = getattr(lib, f"{pre}sgemm{suf}", None), getattr(lib, f"{pre}dgemm{suf}", None)
            if s is not None and d is not None:
                return path, ctypes.cast(s, ctypes.c_void_p).value, ctypes.cast(d, ctypes.c_void_p).value, itype
    return None


def _external(name, itype, ftype):
    return types.ExternalFunction(name, types.void(
        types.int32, types.int32, types.int32, itype, itype, itype, ftype, types.voidptr, itype,
        types.voidptr, itype, ftype, types.voidptr, itype))


_found = None if os.environ.get("AUTOGRAD_CORE_NO_BLAS") else _find_gemm()
if _found is not None:
    import llvmlite.binding as _llvm

    LIBRARY, _s_addr, _d_addr, _itype = _found
    _llvm.add_symbol("autograd_core_sgemm", _s_addr)
    _llvm.add_symbol("autograd_core_dgemm", _d_addr)
    _sgemm = _external("autograd_core_sgemm", _itype, types.float32)
    _dgemm = _external("autograd_core_dgemm", _itype, types.float64)
    BACKEND = f"cblas ({os.path.basename(LIBRARY)})"

    @njit(inline="always")
    def _layout(a):
        """(transpose flag, leading dimension) for a 2-D array with a unit stride, or (0, 0)."""
        item = a.itemsize
        rows, cols = a.shape
        s0, s1 = a.strides
        if cols == 1 or s1 == item:
            return _NO_TRANS, max(s0 // item if rows > 1 else cols, cols, 1)
        if rows == 1 or s0 == item:
            return _TRANS, max(s1 // item if cols > 1 else rows, rows, 1)
        return 0, 0

    @njit(inline="always")
    def _gemm_rows(a, b, out, ldc, beta):
        m, k = a.shape
        n = b.shape[1]
        ta, lda = _layout(a)
        if ta == 0:
            a = np.ascontiguousarray(a)
            ta, lda = _layout(a)
        tb, ldb = _layout(b)
        if tb == 0:
            b = np.ascontiguousarray(b)
            tb, ldb = _layout(b)
        if out.itemsize == 4:
            _sgemm(_ROW_MAJOR, ta, tb, m, n, k, np.float32(1.0), a.ctypes.data, lda, b.ctypes.data, ldb,
                   np.float32(beta), out.ctypes.data, ldc)
        else:
            _dgemm(_ROW_MAJOR, ta, tb, m, n, k, 1.0, a.ctypes.data, lda, b.ctypes.data, ldb,
                   float(beta), out.ctypes.data, ldc)

    @njit(inline="always")
    def _gemm(a, b, out, beta):
        m, k = a.shape
        n = b.shape[1]
        if m == 0 or n == 0:
            return
        if k == 0:
            if beta == 0:
                out[:] = 0
            return
        tc, ldc = _layout(out)
        if tc == _NO_TRANS:
            _gemm_rows(a, b, out, ldc, beta)
        else:  # BLAS writes row-major output: go through a buffer
            tmp = np.empty((m, n), out.dtype)
            if beta != 0:
                tmp[:] = out
            _gemm_rows(a, b, tmp, n, beta)
            out[:] = tmp

else:
    LIBRARY = None
    try:
        import scipy.linalg.cython_blas  # noqa: F401  (what Numba's np.dot needs)
        _have_scipy = not os.environ.get("AUTOGRAD_CORE_NO_BLAS")
    except ImportError:
        _have_scipy = False

    if _have_scipy:
        BACKEND = "numba np.dot (scipy BLAS)"

        @njit(inline="always")
        def _gemm(a, b, out, beta):
            if beta == 0:
                np.dot(a, b, out)
            else:
                out += np.dot(a, b)
    else:
        BACKEND = "numba loops (no BLAS found: slow)"

        @njit(inline="always")
        def _gemm(a, b, out, beta):
            m, k = a.shape
            n = b.shape[1]
            if beta == 0:
                out[:] = 0
            for i in range(m):
                for p in range(k):
                    aip = a[i, p]
                    for j in range(n):
                        out[i, j] += aip * b[p, j]


@njit(inline="always")
def dot_into(a, b, out):
    """``out[...] = a @ b`` for 2-D float32/float64 arrays (any unit-stride layout)."""
    _gemm(a, b, out, 0.0)


@njit(inline="always")
def dot_acc(a, b, out):
    """``out += a @ b``."""
    _gemm(a, b, out, 1.0)
