"""The BLAS binding the kernels use (autograd_core.kernels.blas), against numpy's matmul.

Every layout the kernels pass (C-contiguous, transposed views, row and column
blocks of larger arrays, size-1 dimensions) in float32 and float64, both
``out = a @ b`` and ``out += a @ b``; and the fallback used when no BLAS is found.
"""

import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, strategies as st

from autograd_core.kernels import blas
from autograd_core.kernels import conv as _conv
from numba import njit


# One signature per dtype with any-layout ('A') arrays: two compilations per function
# instead of one per layout combination (each costs seconds on a cold cache).
_SIGS = ["void(float32[:, :], float32[:, :], float32[:, :])", "void(float64[:, :], float64[:, :], float64[:, :])"]


@njit(_SIGS, cache=True)
def _into(a, b, out):
    blas.dot_into(a, b, out)


@njit(_SIGS, cache=True)
def _acc(a, b, out):
    blas.dot_acc(a, b, out)


def _view(rng, rows, cols, kind, dtype):
    if kind == "c":
        return rng.standard_normal((rows, cols)).astype(dtype)
    if kind == "t":    # transposed view of a C array
        return rng.standard_normal((cols, rows)).astype(dtype).T
    if kind == "block":  # a window of a larger C array (row stride > cols)
        return rng.standard_normal((rows + 2, cols + 3)).astype(dtype)[1:rows + 1, 2:cols + 2]
    return rng.standard_normal((rows, cols * 2)).astype(dtype)[:, ::2]   # "strided": no unit stride


def _check(into, acc, m, k, n, ka, kb, kout, dtype):
    """``acc`` adds a @ b onto ``out``, ``into`` overwrites it (a NaN-filled one too), against numpy in float64."""
    rng = np.random.default_rng(m * 100 + k * 10 + n)
    a, b = _view(rng, m, k, ka, dtype), _view(rng, k, n, kb, dtype)
    out = _view(rng, m, n, kout, dtype)
    start = out.copy()
    acc(a, b, out)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out, start + a.astype(np.float64) @ b, rtol=tol, atol=tol)
    out[...] = np.nan
    into(a, b, out)
    np.testing.assert_allclose(out, a.astype(np.float64) @ b, rtol=tol, atol=tol)


@given(st.integers(1, 6), st.integers(0, 6), st.integers(1, 6),
       st.sampled_from(["c", "t", "block", "strided"]), st.sampled_from(["c", "t", "block", "strided"]),
       st.sampled_from(["c", "block", "t"]), st.sampled_from([np.float32, np.float64]))
def test_dot_into_and_acc_match_numpy(m, k, n, ka, kb, kout, dtype):
    _check(_into, _acc, m, k, n, ka, kb, kout, dtype)


# Not cached: Numba's cache of a function does not notice a change in another module it calls.
@njit(_SIGS)
def _conv_into(a, b, out):
    _conv.dot_into(a, b, out)


@njit(_SIGS)
def _conv_acc(a, b, out):
    _conv.dot_acc(a, b, out)


@given(st.integers(0, 6), st.integers(0, 6), st.integers(0, 6),
       st.sampled_from(["c", "t", "block"]), st.sampled_from(["c", "t", "block"]),
       st.sampled_from(["c", "block"]), st.sampled_from([np.float32, np.float64]))
def test_conv_gemm_matches_numpy(m, k, n, ka, kb, kout, dtype):
    # The convolution kernels' GEMM (kernels/conv.py, operands with a unit stride): one compiled
    # function on addresses and byte strides for every layout; k = 0 relies on BLAS writing beta * C.
    _check(_conv_into, _conv_acc, m, k, n, ka, kb, kout, dtype)


def test_backend_is_blas_on_this_platform():
    # numpy's Linux and Windows wheels bundle OpenBLAS: the kernels must not fall back to loops there
    if sys.platform.startswith("linux"):
        assert blas.BACKEND.startswith("cblas"), blas.BACKEND


def test_fallback_without_blas_is_correct(tmp_path):
    code = (
        "import numpy as np\n"
        "from numba import njit\n"
        "from autograd_core.kernels import blas\n"
        "assert not blas.BACKEND.startswith('cblas'), blas.BACKEND\n"
        "@njit('void(float64[:, :], float64[:, :], float64[:, :])')\n"
        "def f(a, b, o):\n"
        "    blas.dot_acc(a, b, o)\n"
        "a = np.arange(6.0).reshape(2, 3); b = np.arange(12.0).reshape(3, 4); o = np.ones((2, 4))\n"
        "f(a, b.T.copy().T, o)\n"
        "assert np.allclose(o, 1 + a @ b)\n"
        "print(blas.BACKEND)\n"
    )
    env = dict(os.environ, AUTOGRAD_CORE_NO_BLAS="1", NUMBA_CACHE_DIR=str(tmp_path))
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
