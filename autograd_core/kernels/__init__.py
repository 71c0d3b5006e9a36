"""Numba kernels: pure functions on ndarrays, no autograd knowledge.

``conv``: 2-D cross-correlation forward, input gradient and weight gradient
(im2col + GEMM, channels-last and planar variants); ``conv_direct``: the same
maps as direct convolutions on register tiles (16 output channels x 6
pixels); ``winograd``: stride-1 3x3 convolutions by Winograd F(2x2, 3x3) on the
same register tile; ``depthwise``: depthwise convolutions as per-channel stencils;
``simd``: the short-vector intrinsics those three are written with; ``pool``: max and average
pooling forward and backward; ``elementwise``: ReLU and masked selects on
large arrays, and the parallel add; ``norm``: batch normalisation's
statistics, affine map and backward sums; ``rows``: softmax, log-softmax,
cross-entropy and sums over rows; ``matmul``: matrix products split in row
blocks over the threads; ``optim``: multi-tensor optimizer steps; ``special``:
erf and erfc on large arrays; ``activation``: GELU's exact form, fused.
Importing this package is cheap: ``load(name)``
imports a kernel module, and with it Numba, on first use.

Fork. GNU OpenMP (Numba's ``omp`` threading layer) cannot run in a child made by
``fork`` once the parent has used it: Numba terminates such a child at its first
parallel region, even with one thread ("fork() called from a process already
using GNU OpenMP, this is unsafe"). So a process forked after the kernels were
loaded (a ``DataLoader`` worker, a ``multiprocessing`` pool on Linux) gets, from
``load``, the same modules with every parallel kernel replaced by its serial
twin: the same Python function compiled with ``parallel=False`` (``prange``
runs as ``range``), cached on disk under its own name. Results are the same;
the child runs each kernel on one thread.
"""

import importlib
import os
import types

_loaded = {}
_forked = False   # True in a child forked after kernels were loaded: use the serial twins
_serial = {}      # module name -> its serial view


def loaded():
    """Whether any kernel module is loaded (so Numba is imported and BLAS runs one thread)."""
    return bool(_loaded)


def load(name):
    """The kernel module ``name`` ('conv', 'conv_direct', 'depthwise', 'pool', 'norm', ...), threads configured first.

    In a process forked after the kernels were loaded, a view of the module whose
    parallel kernels are their serial twins (see the module docstring).
    """
    module = _loaded.get(name)
    if module is None:
        from .. import _threads
        _threads.configure()
        module = _loaded[name] = importlib.import_module(f"{__name__}.{name}")
    if _forked:
        view = _serial.get(name)
        if view is None:
            view = _serial[name] = _SerialView(module)
        return view
    return module


class _SerialView:
    """A kernel module seen from a forked child: parallel kernels replaced by serial twins on first use."""

    def __init__(self, module):
        self._module = module
        self._twins = {}

    def __getattr__(self, attr):
        obj = getattr(self._module, attr)
        if not _is_parallel(obj):
            return obj
        twin = self._twins.get(attr)
        if twin is None:
            twin = self._twins[attr] = serial_twin(obj)
        return twin


def _is_parallel(obj):
    opts = getattr(obj, "targetoptions", None)
    return isinstance(opts, dict) and bool(opts.get("parallel"))


def serial_twin(dispatcher):
    """The Numba function of ``dispatcher`` compiled without ``parallel`` (same code, one thread).

    The Python function is copied under the qualified name ``<name>__serial`` so
    that its on-disk cache entries never mix with the parallel version's.
    """
    import numba

    f = dispatcher.py_func
    g = types.FunctionType(f.__code__, f.__globals__, f.__name__ + "__serial", f.__defaults__, f.__closure__)
    g.__qualname__ = f.__qualname__ + "__serial"
    g.__module__ = f.__module__
    g.__doc__ = f.__doc__
    opts = {k: v for k, v in dispatcher.targetoptions.items() if k not in ("parallel", "nopython")}
    # (``cache`` is not among a dispatcher's targetoptions: every kernel here is cached)
    return numba.njit(cache=True, **opts)(g)


def _after_fork_in_child():
    global _forked
    if _loaded:
        _forked = True


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
