"""Process-wide settings with PyTorch's names: the default dtype and the kernels' thread count.

The default floating-point dtype is what Python floats and the factories without ``dtype=`` give:
float32 unless ``set_default_dtype(float64)`` says otherwise (PyTorch's rule). The one place that
holds it: ``tensor.py`` (Python floats), ``creation.py`` (``zeros``, ``randn``, ...), the data
loaders (collated Python floats) and the layers (``nn.Linear`` through
``autograd_core.get_default_dtype()``) read it here.

``set_num_threads``/``get_num_threads`` are the parallel kernels' threads (``_threads.py``
decides everything else about threads).
"""

from __future__ import annotations

import numpy as np

_ALLOWED = (np.dtype(np.float32), np.dtype(np.float64))

dtype = np.dtype(np.float32)  # read directly by the engine (fast path); set only through set_default_dtype


def get_default_dtype():
    """The default floating-point type (``autograd_core.float32`` unless changed)."""
    return dtype.type


def set_default_dtype(d):
    """Make ``d`` (float32 or float64) what Python floats and the factories give, as ``torch.set_default_dtype``.

    It changes new tensors only: existing tensors, numpy arrays passed in (they keep their dtype)
    and integer data are unaffected.
    """
    global dtype
    if d is None:
        raise TypeError("set_default_dtype: expected a dtype (autograd_core.float32 or float64), got None")
    try:
        new = np.dtype(d)
    except TypeError:
        raise TypeError(f"set_default_dtype: expected a dtype (autograd_core.float32 or float64), got {d!r}") from None
    if new not in _ALLOWED:
        raise TypeError(f"set_default_dtype: only float32 and float64 can be the default dtype, got {new}")
    dtype = new


def get_num_threads():
    """Threads the parallel kernels use (``torch.get_num_threads``; imports Numba on first use)."""
    from . import _threads
    return _threads.num_threads()


def set_num_threads(n):
    """Run the parallel kernels on ``n`` threads, 1 <= n <= ``NUMBA_NUM_THREADS`` (the core count by default).

    Like Numba's setting it applies to the calling thread. BLAS stays at one thread per kernel
    thread (see ``_threads.py``).
    """
    from . import _threads
    _threads.configure()  # before Numba's first import: it reads the threading-layer settings then
    import numba
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"set_num_threads: expected a positive int, got {n!r}")
    if n > numba.config.NUMBA_NUM_THREADS:
        raise ValueError(f"set_num_threads: {n} threads asked for, but at most {numba.config.NUMBA_NUM_THREADS} "
                         "are available (NUMBA_NUM_THREADS, the core count unless set before the first kernel)")
    _threads.set_num_threads(int(n))
