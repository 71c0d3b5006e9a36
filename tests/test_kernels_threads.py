"""Thread and import policy of the kernels (see autograd_core/_threads.py), in fresh processes."""

import json
import subprocess
import sys

SCRIPT = r"""
import json, sys, ctypes
import autograd_core as ag
report = {"numba_at_import": "numba" in sys.modules}
import numpy as np
y = ag.conv2d(np.ones((2, 3, 6, 6), np.float32), np.ones((4, 3, 3, 3), np.float32), padding=1)
report["value"] = float(y.data[0, 0, 2, 2])
report["scipy_linalg_imported"] = "scipy.linalg" in sys.modules
from autograd_core import _threads
report["blas_threads"] = {}
for path in _threads._loaded_openblas():
    lib = ctypes.CDLL(path)
    for name in ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads", "openblas_get_num_threads"):
        fn = getattr(lib, name, None)
        if fn is not None:
            report["blas_threads"][path] = fn()
            break
import numba
report["layer"] = numba.threading_layer()
from autograd_core.kernels import blas
report["blas"] = blas.BACKEND
print(json.dumps(report))
"""


def _run(env_extra=None):
    import os
    env = dict(os.environ)
    env.pop("OPENBLAS_NUM_THREADS", None)
    env.update(env_extra or {})
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_does_not_load_numba_and_first_kernel_sets_one_blas_thread():
    r = _run()
    assert r["numba_at_import"] is False
    assert r["value"] == 27.0
    assert r["scipy_linalg_imported"] is False  # the kernels' GEMM is numpy's OpenBLAS, no SciPy
    assert r["blas"].startswith("cblas"), r["blas"]
    assert r["blas_threads"] and all(n == 1 for n in r["blas_threads"].values()), r["blas_threads"]
    assert r["layer"] == "omp"


def test_blas_runs_single_threaded_inside_the_kernels_even_if_asked_for_more():
    r = _run({"OPENBLAS_NUM_THREADS": "2"})
    assert r["value"] == 27.0
    assert r["blas_threads"] and all(n == 1 for n in r["blas_threads"].values()), r["blas_threads"]


def test_serial_call_runs_a_parallel_kernel_on_one_thread_and_restores_the_count():
    """``_threads.call(serial=True)``: inside, Numba's count for the calling thread is 1 (what a parallel
    kernel would use); after it, and after a kernel that raised, the count is back, also from another
    Python thread (Numba keeps one count per calling thread)."""
    import threading

    import numba
    import pytest
    from numba import njit

    from autograd_core import _threads

    @njit
    def count():
        return numba.get_num_threads()

    @njit
    def fail(n):
        if n > 0:
            raise ValueError("boom")
        return n

    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("one thread only")
    prev = numba.get_num_threads()
    numba.set_num_threads(2)
    try:
        assert _threads.call(count, serial=True) == 1
        assert _threads.call(count) == 2 and numba.get_num_threads() == 2
        with pytest.raises(ValueError):
            _threads.call(fail, 1, serial=True)
        assert numba.get_num_threads() == 2
        seen = []
        t = threading.Thread(target=lambda: seen.extend([_threads.call(count, serial=True), numba.get_num_threads()]))
        t.start()
        t.join()
        assert seen[0] == 1 and seen[1] == numba.config.NUMBA_NUM_THREADS  # a new thread's own default, untouched
        assert numba.get_num_threads() == 2
    finally:
        numba.set_num_threads(prev)
