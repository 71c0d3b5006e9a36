"""The one place that decides thread counts.

Two runtimes want the cores: Numba's OpenMP pool (our parallel kernels) and
OpenBLAS (numpy's ``@``, and the GEMMs inside our kernels, ``kernels/blas.py``).
Measured on the 2-core development machine (README, "Convolution and pooling"):

* With numpy's OpenBLAS at 2 threads, a 512x512 float32 matmul right after a
  conv kernel took 36 ms instead of 1.1 ms: each pool's idle threads spin and
  steal the core the other pool is waiting for.
* OpenBLAS at 2 threads inside each ``prange`` worker made the conv kernels
  2-5x slower (four threads on two cores; measured with SciPy's OpenBLAS, which
  the kernels called through Numba's ``np.dot`` before ``kernels/blas.py``).
* OpenMP workers that spin while idle (``OMP_WAIT_POLICY=active``, or GNU
  OpenMP's default spin before sleeping) turned LeNet C1's 2.8 ms fwd+bwd into
  16 ms, and C3's 4.5 ms into 32 ms, whenever another process wanted a core:
  times quantised to the 4 ms scheduler tick. Sleeping workers cost a wake-up
  per kernel (tens of microseconds) and were never pathological.

So, once one runtime owns the cores, the other gets one thread:

* ``configure()`` runs at the first conv/pool call (not at import: importing
  Numba costs 0.3-0.5 s). It sets every loaded OpenBLAS to one thread, numpy's
  included, whatever ``OPENBLAS_NUM_THREADS`` says: the kernels call it inside
  their parallel loops. It prefers Numba's ``omp`` threading layer
  (``workqueue`` launches slowly and is not thread-safe), and asks OpenMP's idle
  workers to sleep rather than spin (``OMP_WAIT_POLICY=passive``) unless the
  user chose otherwise (it takes effect if OpenMP is not loaded yet).
* Before that first call nothing is changed, so a program that never uses the
  kernels keeps numpy's multi-threaded BLAS.

This works whether or not numpy was imported before ``autograd_core``: the
BLAS thread counts are set at run time through OpenBLAS's own
``*_set_num_threads`` entry points, found in the process's loaded libraries.
``set_num_threads(n)`` changes the kernels' thread count later.
"""

from __future__ import annotations

import os

_configured = False


def configure():
    """Arrange threads before the first kernel runs (idempotent, cheap after the first call)."""
    global _configured
    if _configured:
        return
    _configured = True
    os.environ.setdefault("NUMBA_THREADING_LAYER_PRIORITY", "omp tbb workqueue")
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    _load_cython_blas()
    from .kernels import blas  # noqa: F401  (loads the BLAS the kernels call, numpy's OpenBLAS)
    for path in _loaded_openblas():
        _set_blas_threads(path, 1)


def configured():
    """Whether ``configure()`` has run: from then on every loaded OpenBLAS, numpy's included, has one thread."""
    return _configured


def _load_cython_blas():
    """Load ``scipy.linalg.cython_blas`` (if SciPy is installed) without ``scipy.linalg``.

    Numba imports ``scipy.linalg.cython_blas`` when it sets up its array
    functions (``numba.np.arraymath``), whether or not our kernels use it (they
    do not: ``kernels/blas.py``). The normal import first imports the
    ``scipy.linalg`` package: 0.17-0.25 s here, a quarter of the 1 s budget from
    process start to the first conv2d. The extension module itself needs none of
    that, so it is loaded from its file and registered under its full name,
    where Numba finds it (``from scipy.linalg import cython_blas`` works later
    too; only the attribute ``scipy.linalg.cython_blas`` does not appear).
    Without SciPy, or on any surprise, nothing is done here.
    """
    import sys
    name = "scipy.linalg.cython_blas"
    if name in sys.modules:
        return
    try:
        import importlib.machinery
        import importlib.util
        spec = importlib.util.find_spec("scipy")
        folder = os.path.join(os.path.dirname(spec.origin), "linalg")
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = os.path.join(folder, "cython_blas" + suffix)
            if os.path.exists(path):
                loader = importlib.machinery.ExtensionFileLoader(name, path)
                mod_spec = importlib.util.spec_from_file_location(name, path, loader=loader)
                module = importlib.util.module_from_spec(mod_spec)
                sys.modules[name] = module
                loader.exec_module(module)
                return
    except Exception:  # pragma: no cover - no SciPy, or an unusual layout: Numba imports it itself
        sys.modules.pop(name, None)


def _loaded_openblas():
    """Paths of the OpenBLAS libraries loaded in this process (numpy's, SciPy's...)."""
    paths = []
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.rstrip("\n").split(" ")[-1]
                if "openblas" in os.path.basename(path).lower() and path not in paths:
                    paths.append(path)
    except OSError:  # not Linux: look where numpy's and SciPy's wheels keep theirs
        import glob
        import numpy
        site = os.path.dirname(os.path.dirname(numpy.__file__))
        for sub in ("numpy.libs", "scipy.libs", os.path.join("numpy", ".dylibs"), os.path.join("scipy", ".dylibs")):
            paths += glob.glob(os.path.join(site, sub, "*openblas*"))
    return paths


def _set_blas_threads(path, n):
    import ctypes
    try:
        lib = ctypes.CDLL(path)
    except OSError:  # pragma: no cover
        return
    for name in ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
                 "openblas_set_num_threads64_", "openblas_set_num_threads"):
        fn = getattr(lib, name, None)
        if fn is not None:
            fn(ctypes.c_int(n))
            return


def num_threads():
    """Threads the parallel kernels use."""
    configure()
    import numba
    return numba.get_num_threads()


def set_num_threads(n):
    """Use ``n`` threads in the parallel kernels (at most ``NUMBA_NUM_THREADS``, the core count by default)."""
    configure()
    import numba
    numba.set_num_threads(int(n))


# --------------------------------------------------------------------------- serial or parallel

# The one rule every kernel family follows: a kernel call estimated at less than
# SERIAL_NS of single-thread work runs on the calling thread (or, for ReLU and
# batch norm, stays on numpy, so that small graphs never import Numba), because
# waking the other OpenMP threads of a parallel region cost 50-90 us per region
# on the 2-core machine. The estimate counts elements for memory-bound kernels
# (pooling, ReLU, batch norm: about 1.5 ns each on one core) and floating-point
# operations for the GEMM-bound convolutions (about 40 GFLOP/s on one core).
# Measured: LeNet-5 at batch 1 (C1 0.24 and C3 0.48 MFLOP; 60-80 us per pooling
# call on 2 threads against 2-7 us on one) and ReLU fwd+bwd on 64x6x28x28
# (0.52 -> 0.31 ms with the kernel).
SERIAL_NS = 50_000
NS_PER_ELEMENT = 1.5
NS_PER_FLOP = 0.025


def small(*, elements=0, flops=0, ns_per_element=NS_PER_ELEMENT):
    """Whether a kernel call of this much work is cheaper on the calling thread alone.

    ``ns_per_element``: a kernel's own measured single-thread cost per element,
    where it is far from the generic estimate (the SGD step's three streams: 0.35).
    """
    return elements * ns_per_element + flops * NS_PER_FLOP < SERIAL_NS


def plan(*, elements=0, flops=0):
    """``(threads, serial)`` for a kernel call of this much work: ``(1, True)`` when ``small``."""
    if small(elements=elements, flops=flops):
        return 1, True
    return num_threads(), False


_COUNT_FNS = None


def _count_fns():
    """``(get, set)`` of Numba's thread count for the calling thread, as ``call`` uses them.

    Once the threads run, the threading layer's own entry points
    (``numba.np.ufunc.parallel._get_num_threads`` / ``_set_num_threads``): a
    switch to one thread and back cost 2.1 us with them against 8.7 us through
    the public functions, which check the argument and the launch each time.
    LeNet-5 at batch 1 makes 8 such switches per step, about 2.5% of it. The
    public pair where those names are missing (another Numba).
    """
    global _COUNT_FNS
    if _COUNT_FNS is None:
        import numba
        numba.get_num_threads()  # launches the threads, which binds the entry points
        from numba.np.ufunc import parallel
        get, set_ = getattr(parallel, "_get_num_threads", None), getattr(parallel, "_set_num_threads", None)
        _COUNT_FNS = (get, set_) if callable(get) and callable(set_) else (numba.get_num_threads,
                                                                            numba.set_num_threads)
    return _COUNT_FNS


def call(kernel, *args, serial=False):
    """``kernel(*args)``, on the calling thread alone when ``serial``.

    Numba's thread count is per calling thread, so other threads are not
    affected (``_count_fns``: about 2 us for the switch and back).
    """
    if not serial:
        return kernel(*args)
    get, set_ = _count_fns()
    prev = get()
    if prev == 1:
        return kernel(*args)
    set_(1)
    try:
        return kernel(*args)
    finally:
        set_(prev)


def run(kernel, *args, elements=0, flops=0):
    """``kernel(*args)``, serial or parallel by ``plan``: the dispatch every kernel family uses."""
    return call(kernel, *args, serial=small(elements=elements, flops=flops))
