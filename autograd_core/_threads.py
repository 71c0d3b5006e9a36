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


def num_threads():
    """Threads the parallel kernels use."""
    import numba
    return numba.get_num_threads()
