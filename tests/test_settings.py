"""Process-wide settings with PyTorch's names: default dtype, threads, inference mode, generators, numel."""

import subprocess
import sys

import numpy as np
import pytest

import autograd_core as ag
import nn


@pytest.fixture
def float64_default():
    ag.set_default_dtype(ag.float64)
    try:
        yield
    finally:
        ag.set_default_dtype(ag.float32)


def test_default_dtype_is_float32():
    assert ag.get_default_dtype() is ag.float32 == np.float32
    assert ag.tensor(1.5).dtype == np.float32 and ag.zeros(2).dtype == np.float32


def test_float64_default_reaches_python_floats_factories_and_layers(float64_default):
    f64 = np.dtype(np.float64)
    assert ag.get_default_dtype() is ag.float64
    made = [ag.tensor(1.5), ag.tensor([[1.0, 2]]), ag.zeros(2), ag.ones(2), ag.empty(2), ag.full((2,), 0.5),
            ag.eye(2), ag.arange(0.0, 1.0, 0.25), ag.linspace(0, 1, 5), ag.randn(2), ag.rand(2),
            ag.zeros_like([1.0]), nn.Linear(2, 2).weight, nn.Conv2d(1, 1, 3).bias, nn.BatchNorm2d(2).running_var,
            nn.Parameter()]
    assert [t.dtype for t in made] == [f64] * len(made)
    # what does not follow it: integers, explicit dtypes, numpy arrays (they keep theirs), existing tensors
    assert ag.tensor([1, 2]).dtype == np.int64 and ag.arange(3).dtype == np.int64
    assert ag.zeros(2, dtype=ag.float32).dtype == np.float32
    assert ag.tensor(np.ones(2, np.float32)).dtype == np.float32
    assert (ag.tensor(1.5) * 2.5).dtype == f64


def test_default_dtype_can_change_back_and_refuses_non_floats():
    ag.set_default_dtype(np.float64)
    ag.set_default_dtype(ag.float32)
    assert ag.tensor(1.0).dtype == np.float32
    for bad in (ag.int64, ag.float16, None, "nonsense"):
        with pytest.raises(TypeError, match="set_default_dtype"):
            ag.set_default_dtype(bad)
    assert ag.get_default_dtype() is ag.float32


def test_num_threads_round_trip_and_bounds():
    # a subprocess: the setting is per thread and the kernels' pool is process-wide
    script = """
import autograd_core as ag, numba
n = ag.get_num_threads()
assert n == numba.config.NUMBA_NUM_THREADS, n
ag.set_num_threads(1)
assert ag.get_num_threads() == 1
for bad in (0, -1, 1.5, n + 1):
    try:
        ag.set_num_threads(bad)
    except ValueError as e:
        assert "set_num_threads" in str(e)
    else:
        raise AssertionError(bad)
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


def test_inference_mode_records_nothing_as_context_and_decorator():
    w = ag.ones(2, requires_grad=True)
    assert not ag.is_inference_mode_enabled()
    with ag.inference_mode():
        assert ag.is_inference_mode_enabled() and not ag.is_grad_enabled()
        assert not (w * 2).requires_grad
    assert ag.is_grad_enabled() and not ag.is_inference_mode_enabled()

    @ag.inference_mode()
    def f(x):
        return x * 2

    @ag.inference_mode
    def g(x):
        return x * 3

    assert not f(w).requires_grad and not g(w).requires_grad and g.__name__ == "g"
    with ag.no_grad():
        with ag.inference_mode(False):   # as in PyTorch: turns recording back on
            assert ag.is_grad_enabled() and (w * 2).requires_grad
        assert not ag.is_grad_enabled()

    @ag.no_grad                          # bare decorators, as PyTorch allows
    def h(x):
        return x * 4

    assert not h(w).requires_grad and (w * 1).requires_grad


def test_generators_are_streams_of_their_own():
    g = ag.Generator().manual_seed(7)
    assert g.initial_seed() == 7 and g.device == ag.device("cpu")
    ag.manual_seed(0)
    a = ag.randn(3, generator=g)
    b = ag.randn(3)                       # the package stream is untouched by g's draws
    ag.manual_seed(0)
    assert np.array_equal(ag.randn(3).data, b.data)
    g2 = ag.Generator().manual_seed(7)
    assert np.array_equal(ag.randn(3, generator=g2).data, a.data)
    np.testing.assert_array_equal(a.data, np.random.default_rng(7).standard_normal(3).astype(np.float32))
    state = g.get_state()
    x1 = ag.rand(4, generator=g)
    g.set_state(state)
    assert np.array_equal(ag.rand(4, generator=g).data, x1.data)
    assert sorted(ag.randperm(5, generator=g).tolist()) == [0, 1, 2, 3, 4]
    assert ag.randint(0, 3, (10,), generator=g).data.max() < 3
    assert ag.initial_seed() == 0
    s = ag.seed()
    assert ag.initial_seed() == s
    with pytest.raises(TypeError, match="randn: generator must be"):
        ag.randn(2, generator=7)
    with pytest.raises(ValueError, match="seed must be a non-negative int"):
        g.manual_seed(-1)


def test_numel():
    assert ag.numel(ag.zeros(2, 3, 4)) == 24 and ag.numel(ag.tensor(1.0)) == 1 and ag.numel(np.zeros((0, 5))) == 0
    assert ag.zeros(2, 3).numel() == 6
