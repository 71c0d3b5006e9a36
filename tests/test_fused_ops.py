"""The generic ops' kernel paths against their reference paths (``autograd_core/ops/fused.py``).

Each op runs twice on the same inputs: once as it is (the kernels, forced for
small arrays too by marking the kernels loaded), once with the kernels switched
off (the numpy / Tensor-op reference path, itself checked against numpy and
finite differences in ``test_ops_reduce.py``, ``test_nn_losses.py``, ...).
Values and input gradients must agree, for float32 and float64, odd shapes,
NaN and inf where the op defines them; second derivatives go through the
Tensor-op backward (gradgradcheck in float64). A spy counts kernel calls, so no
test passes by falling back silently.
"""

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import autograd_core as ag
import nn.functional as F
from autograd_core import kernels
from autograd_core.ops import fused

TOL = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-12, atol=1e-13)}


@pytest.fixture
def calls(monkeypatch):
    """Kernels on for any size; returns the list of kernel names called."""
    monkeypatch.setattr(kernels, "loaded", lambda: True)
    seen = []
    orig = fused._kernel

    def spy(module, name, n):
        seen.append(name)
        return orig(module, name, n)
    monkeypatch.setattr(fused, "_kernel", spy)
    return seen


def reference(monkeypatch, fn):
    """``fn()`` with the kernels off."""
    with monkeypatch.context() as m:
        m.setattr(fused, "usable", lambda a: False)
        m.setattr(fused, "add", lambda a, b: None)
        m.setattr(fused, "matmul", np.matmul)
        return fn()


def both(monkeypatch, fn):
    return fn(), reference(monkeypatch, fn)


def assert_close(a, b, dtype):
    np.testing.assert_allclose(a, b, **TOL[dtype])


def _fwd_bwd(op, x, g):
    t = ag.from_numpy(x).requires_grad_()  # x's memory layout as it is
    y = op(t)
    (gx,) = ag.grad(y, [t], ag.tensor(g))
    return y.data, gx.data


# --------------------------------------------------------------------------- exp


def test_expf_accuracy_and_special_values():
    from numba import njit
    from autograd_core.kernels._math import fexp

    @njit
    def run(x, out):
        for i in range(x.shape[0]):
            out[i] = fexp(x[i])

    x = np.concatenate([np.linspace(-87.3, 88.7, 200001), np.random.default_rng(0).uniform(-20, 20, 10000)])
    x = x.astype(np.float32)
    out = np.empty_like(x)
    run(x, out)
    ref = np.exp(x.astype(np.float64))
    assert np.max(np.abs(out - ref) / ref) < 2e-7
    tiny = np.linspace(-103.9, -87.4, 1001).astype(np.float32)  # denormal results
    o = np.empty_like(tiny)
    run(tiny, o)
    assert np.max(np.abs(o - np.exp(tiny.astype(np.float64)))) < 4 * 2.0 ** -149
    sp = np.array([np.nan, -np.inf, np.inf, -105.0, 88.73, 0.0, -0.0, 89.0], np.float32)
    o = np.empty_like(sp)
    run(sp, o)
    assert np.isnan(o[0]) and o[1] == 0 and o[2] == np.inf and o[3] == 0 and o[4] == np.inf
    assert o[5] == 1 and o[6] == 1 and o[7] == np.inf


def test_expf_bounded_equals_expf_up_to_overflow():
    """The softmax kernels' exp (no overflow handling) gives ``expf``'s bits wherever it is used."""
    from numba import njit
    from autograd_core.kernels._math import fexp, fexp_bounded

    @njit
    def run(x, full, bounded):
        for i in range(x.shape[0]):
            full[i] = fexp(x[i])
            bounded[i] = fexp_bounded(x[i])

    x = np.concatenate([np.linspace(-110.0, 88.72, 400001), [np.nan, -np.inf, -0.0, 0.0, -103.98, -103.97]])
    x = x.astype(np.float32)
    assert np.nanmax(x) <= np.float32(88.72284)
    full, bounded = np.empty_like(x), np.empty_like(x)
    run(x, full, bounded)
    np.testing.assert_array_equal(bounded.view(np.int32), full.view(np.int32))
    ok = x > -87.3  # normal results: within 2e-7 of float64's exp, as for expf
    ref = np.exp(x[ok].astype(np.float64))
    assert np.max(np.abs(bounded[ok] - ref) / ref) < 2e-7


# --------------------------------------------------------------------------- softmax, log-softmax

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])  # m: a fresh context
@given(shape=st.lists(st.integers(1, 37), min_size=1, max_size=3), seed=st.integers(0, 2 ** 16))
def test_softmax_kernels_match_reference(monkeypatch, op, dtype, shape, seed):
    with monkeypatch.context() as m:
        m.setattr(kernels, "loaded", lambda: True)
        rng = np.random.default_rng(seed)
        x = (rng.standard_normal(shape) * 4).astype(dtype)
        g = rng.standard_normal(shape).astype(dtype)
        f = lambda t: getattr(t, op)(-1)  # noqa: E731
        (y, gx), (ry, rgx) = both(m, lambda: _fwd_bwd(f, x, g))
        assert y.dtype == dtype and gx.dtype == dtype
        assert_close(y, ry, dtype)
        assert_close(gx, rgx, dtype)


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_kernels_nan_and_inf_rows(monkeypatch, calls, op):
    x = np.array([[1.0, np.nan, 2.0], [np.nan, 1.0, 2.0], [np.inf, 1.0, 0.0], [-np.inf, -np.inf, -np.inf],
                  [-np.inf, 0.0, 3.0],
                  [1e30, -1e30, 0.0]], np.float32)
    f = lambda: getattr(ag.tensor(x), op)(1).data  # noqa: E731
    with np.errstate(invalid="ignore"):
        got, ref = both(monkeypatch, f)
    assert calls
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    ok = ~np.isnan(ref)
    np.testing.assert_allclose(got[ok], ref[ok], rtol=1e-6)


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_kernel_path_differentiates_twice(calls, op):
    x = ag.tensor(np.random.default_rng(1).standard_normal((3, 5)), requires_grad=True)
    assert ag.gradcheck(lambda t: getattr(t, op)(-1), (x,))
    assert ag.gradgradcheck(lambda t: getattr(t, op)(-1), (x,))
    assert op in calls


def test_softmax_large_rows_run_parallel_kernel(calls):
    x = np.random.default_rng(2).standard_normal((64, 1024)).astype(np.float32)
    y = ag.tensor(x).softmax(-1).data
    e = np.exp(x.astype(np.float64) - x.max(1, keepdims=True))
    np.testing.assert_allclose(y, e / e.sum(1, keepdims=True), rtol=1e-5, atol=1e-9)
    assert calls == ["softmax"]  # the parallel twin (no "_serial")


# --------------------------------------------------------------------------- cross-entropy

CE_CASES = [
    dict(),
    dict(reduction="sum"),
    dict(reduction="none"),
    dict(ignore_index=2),
    dict(weight=True),
    dict(weight=True, ignore_index=0, reduction="mean"),
    dict(weight=True, reduction="none"),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kw", CE_CASES, ids=lambda k: "-".join(f"{a}={b}" for a, b in k.items()) or "default")
def test_cross_entropy_kernel_matches_log_softmax_nll(monkeypatch, calls, kw, dtype):
    rng = np.random.default_rng(3)
    N, C = 13, 7
    x = (rng.standard_normal((N, C)) * 3).astype(dtype)
    t = rng.integers(0, C, N)
    kw = dict(kw)
    if kw.pop("weight", False):
        kw["weight"] = ag.tensor(rng.uniform(0.2, 2.0, C).astype(dtype))
    g = rng.standard_normal(N).astype(dtype) if kw.get("reduction") == "none" else np.array(1.7, dtype)

    def run():
        xt = ag.tensor(x, requires_grad=True)
        loss = F.cross_entropy(xt, ag.tensor(t), **kw)
        (gx,) = ag.grad(loss, [xt], ag.tensor(g))
        return loss.data, gx.data, type(loss.grad_fn).__name__

    (y, gx, node), (ry, rgx, rnode) = both(monkeypatch, run)
    assert node == "CrossEntropy" and rnode == "NLLLoss"
    assert y.dtype == dtype and gx.dtype == dtype
    assert_close(y, ry, dtype)
    assert_close(gx, rgx, dtype)
    assert "cross_entropy" in calls and "cross_entropy_backward" in calls


def test_cross_entropy_kernel_all_ignored_is_nan_like_reference(monkeypatch, calls):
    x = np.zeros((3, 4), np.float32)
    t = np.full(3, -100)
    with np.errstate(invalid="ignore"):
        got, ref = both(monkeypatch, lambda: F.cross_entropy(ag.tensor(x), ag.tensor(t)).data)
    assert np.isnan(got) and np.isnan(ref)


def test_cross_entropy_kernel_inf_and_nan_logits(monkeypatch, calls):
    x = np.array([[0.0, np.inf, 1.0], [np.nan, 0.0, 0.0], [-np.inf, 0.0, 1.0]], np.float32)
    t = np.array([0, 1, 2])
    f = lambda: F.cross_entropy(ag.tensor(x), ag.tensor(t), reduction="none").data  # noqa: E731
    with np.errstate(invalid="ignore"):
        got, ref = both(monkeypatch, f)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    np.testing.assert_allclose(got[2], ref[2], rtol=1e-6)


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_cross_entropy_kernel_path_differentiates_twice(calls, reduction):
    rng = np.random.default_rng(4)
    x = ag.tensor(rng.standard_normal((4, 5)), requires_grad=True)
    t = ag.tensor(np.array([0, 4, 2, 2]))
    w = ag.tensor(rng.uniform(0.5, 1.5, 5))
    fn = lambda a: F.cross_entropy(a, t, weight=w, reduction=reduction)  # noqa: E731
    assert type(fn(x).grad_fn).__name__ == "CrossEntropy"
    assert ag.gradcheck(fn, (x,))
    assert ag.gradgradcheck(fn, (x,))


# --------------------------------------------------------------------------- sums, means, global pooling

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_row_sum_kernel_long_and_odd_rows(dtype):
    rng = np.random.default_rng(5)
    for shape in [(3, 70001), (40000, 3), (257, 129)]:
        x = rng.standard_normal(shape).astype(dtype) + 1
        y = ag.tensor(x).sum(-1).data
        scale = np.abs(x.astype(np.float64)).sum(-1)  # the error bound of a sum scales with sum |x|
        err = np.abs(y - x.astype(np.float64).sum(-1))
        assert np.all(err <= (1e-6 if dtype == np.float32 else 1e-14) * scale)


@pytest.mark.parametrize("layout", ["nchw", "channels-last"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_spatial_mean_kernel_matches_reference(monkeypatch, calls, layout, dtype):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((33, 17, 9, 11)).astype(dtype)
    if layout == "channels-last":
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    x[0, 0, 0, 0] = np.nan
    x[1, 2, 3, 4] = np.inf
    g = rng.standard_normal((33, 17, 1, 1)).astype(dtype)
    f = lambda: _fwd_bwd(lambda t: F.adaptive_avg_pool2d(t, 1), x, g)  # noqa: E731
    (y, gx), (ry, rgx) = both(monkeypatch, f)
    assert calls and calls[0].startswith("mid_sum" if layout == "channels-last" else "row_sum")
    np.testing.assert_array_equal(np.isnan(y), np.isnan(ry))
    assert y[1, 2, 0, 0] == np.inf
    ok = np.isfinite(ry)
    assert_close(y[ok], ry[ok], dtype)
    assert_close(gx, rgx, dtype)
    m = ag.from_numpy(x).mean((2, 3)).data
    assert m.shape == (33, 17)
    assert_close(m[ok[:, :, 0, 0]], ry[:, :, 0, 0][ok[:, :, 0, 0]], dtype)


# --------------------------------------------------------------------------- add, matmul

@pytest.mark.parametrize("layout", ["c", "channels-last", "mixed"])
def test_add_kernel_keeps_layout_and_values(monkeypatch, layout):
    rng = np.random.default_rng(7)
    a = rng.standard_normal((8, 16, 20, 21)).astype(np.float32)
    b = rng.standard_normal((8, 16, 20, 21)).astype(np.float32)
    b[0, 0, 0, 0] = np.nan
    if layout in ("channels-last", "mixed"):
        a = np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    if layout == "channels-last":
        b = np.ascontiguousarray(b.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    ran = []
    orig = fused.add

    def spy(x, y):
        r = orig(x, y)
        ran.append(r is not None)
        return r
    monkeypatch.setattr(fused, "add", spy)
    y = (ag.from_numpy(a) + ag.from_numpy(b)).data
    np.testing.assert_array_equal(y, a + b)
    assert ran == [layout != "mixed"]
    if layout == "channels-last":
        assert y.transpose(0, 2, 3, 1).flags.c_contiguous


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matmul_row_blocks_match_numpy_with_gradients(monkeypatch, dtype):
    from autograd_core import _threads
    monkeypatch.setattr(_threads, "configured", lambda: True)
    rng = np.random.default_rng(8)
    a = rng.standard_normal((161, 257)).astype(dtype)  # 5.4M multiply-adds: above fused._MATMUL_MIN
    b = rng.standard_normal((257, 131)).astype(dtype)
    g = rng.standard_normal((161, 131)).astype(dtype)
    kernels.load("matmul")
    ran = []
    orig = kernels.load

    def spy(name):
        ran.append(name)
        return orig(name)
    monkeypatch.setattr(kernels, "load", spy)

    def run():
        at, bt = ag.tensor(a, requires_grad=True), ag.tensor(b, requires_grad=True)
        y = at @ bt
        ga, gb = ag.grad(y, [at, bt], ag.tensor(g))
        return y.data, ga.data, gb.data

    got, ref = both(monkeypatch, run)
    assert ran.count("matmul") == (3 if _threads.num_threads() > 1 else 0)
    for x, y in zip(got, ref):
        np.testing.assert_allclose(x, y, rtol=1e-4 if dtype == np.float32 else 1e-11, atol=1e-4)


def test_matmul_splits_over_threads_after_set_num_threads_alone():
    # A fresh process: set_num_threads gives numpy's BLAS one thread without loading a kernel; a
    # model of Linear layers alone then multiplied on one core, because the row blocks waited
    # for a kernel to be loaded.
    script = """
import numpy as np, autograd_core as ag
from autograd_core import kernels
n = ag.get_num_threads()
ag.set_num_threads(n)
rng = np.random.default_rng(0)
a, b = rng.standard_normal((300, 200)), rng.standard_normal((200, 150))
y = (ag.tensor(a) @ ag.tensor(b)).data
np.testing.assert_allclose(y, a @ b, rtol=1e-12, atol=1e-12)
print(n, "matmul" in kernels._loaded)
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    n, used = out.stdout.split()
    assert used == ("True" if int(n) > 1 else "False")
