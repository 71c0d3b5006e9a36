"""A child made by fork after the parallel kernels ran can run every kernel (serial twins, kernels/__init__.py).

Without them GNU OpenMP's runtime (Numba's ``omp`` layer) terminates such a child at its first
parallel region, and a ``multiprocessing.Pool`` waits forever for it.
"""

import importlib
import multiprocessing as mp
import sys

import numpy as np
import pytest

import autograd_core as ag
import nn.functional as F
from autograd_core import kernels

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork is the default start method on Linux")


def _work(seed):
    """Conv (channels-last GEMM route), ReLU's kernels and max pooling, forward and backward."""
    rng = np.random.default_rng(seed)
    x = ag.tensor(rng.standard_normal((16, 32, 16, 16)).astype(np.float32), requires_grad=True)
    w = ag.tensor(rng.standard_normal((32, 32, 3, 3)).astype(np.float32) * 0.1, requires_grad=True)
    y = F.max_pool2d(F.relu(F.conv2d(x, w, padding=1)), 2)
    y.backward(ag.tensor(rng.standard_normal(y.shape).astype(np.float32)))
    return y.detach().numpy().copy(), x.grad.numpy().copy(), w.grad.numpy().copy(), kernels._forked


def test_a_forked_pool_runs_the_kernels_after_the_parent_did():
    parent = _work(0)                        # parallel regions have run in this process
    assert not parent[3]
    with mp.get_context("fork").Pool(1) as pool:      # one worker: its twins compile once
        res = pool.map_async(_work, [0, 0])
        children = res.get(timeout=600)      # a killed child would make this hang
    for child in children:
        assert child[3], "the child did not switch to the serial kernels"
        for got, want in zip(child[:3], parent[:3]):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_every_parallel_kernel_has_a_serial_twin():
    for name in ("conv", "pool", "elementwise", "norm", "special", "activation"):
        module = importlib.import_module(f"autograd_core.kernels.{name}")
        view = kernels._SerialView(module)
        parallel = [a for a, obj in vars(module).items() if kernels._is_parallel(obj)]
        assert parallel, name
        for attr in parallel:
            twin = getattr(view, attr)
            assert not kernels._is_parallel(twin)
            assert twin.py_func.__code__ is getattr(module, attr).py_func.__code__
            assert twin.py_func.__qualname__.endswith("__serial")   # its own cache entries
