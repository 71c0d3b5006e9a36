"""One place that decides thread counts (imported first by ``autograd_core``).

Placeholder policy while the kernels are measured: ``configure()`` runs once,
at the first conv/pool call, before Numba is imported.
"""

from __future__ import annotations

import os

_configured = False


def configure():
    """Set up Numba's threading before its first kernel runs (idempotent)."""
    global _configured
    if _configured:
        return
    _configured = True
    os.environ.setdefault("NUMBA_THREADING_LAYER_PRIORITY", "omp tbb workqueue")
    _single_thread_scipy_blas()


def _single_thread_scipy_blas():
    import ctypes, glob
    import scipy
    import scipy.linalg.cython_blas  # noqa: F401  (loads the BLAS Numba's np.dot calls)
    base = os.path.dirname(os.path.dirname(scipy.__file__))
    for path in glob.glob(os.path.join(base, "scipy.libs", "*openblas*")):
        lib = ctypes.CDLL(path)
        for name in ("scipy_openblas_set_num_threads", "openblas_set_num_threads"):
            fn = getattr(lib, name, None)
            if fn is not None:
                fn(1)
                break


def num_threads():
    """Threads the parallel kernels use."""
    import numba
    return numba.get_num_threads()
