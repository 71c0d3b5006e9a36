"""Numba kernels: pure functions on ndarrays, no autograd knowledge.

``conv``: 2-D cross-correlation forward, input gradient and weight gradient
(im2col + GEMM, channels-last and planar variants); ``pool``: max and average
pooling forward and backward; ``elementwise``: ReLU and masked selects on
large arrays, and the parallel add; ``norm``: batch normalisation's
statistics, affine map and backward sums; ``rows``: softmax, log-softmax,
cross-entropy and sums over rows; ``matmul``: matrix products split in row
blocks over the threads; ``optim``: multi-tensor optimizer steps. Importing this package is cheap: ``load(name)``
imports a kernel module, and with it Numba, on first use.
"""

import importlib

_loaded = {}


def loaded():
    """Whether any kernel module is loaded (so Numba is imported and BLAS runs one thread)."""
    return bool(_loaded)


def load(name):
    """The kernel module ``name`` (a module of this package), threads configured first (see ``_threads``)."""
    module = _loaded.get(name)
    if module is None:
        from .. import _threads
        _threads.configure()
        module = _loaded[name] = importlib.import_module(f"{__name__}.{name}")
    return module
