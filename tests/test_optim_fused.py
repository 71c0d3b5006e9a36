"""Multi-tensor optimizer steps (``foreach``) against the numpy loop, bit for bit.

The numpy loop is checked against the published update rules in
``test_optim.py``; here both paths run the same trajectories on several
parameters of odd sizes (a chunk boundary inside one of them), float32 and
float64, with NaN and inf in a gradient, and must agree exactly.
"""

import numpy as np
import pytest

import autograd_core as ag
import nn
import optim
from autograd_core.kernels import optim as KO

SHAPES = [(3, 5), (7,), (1,), (KO.CHUNK + 17,), (2, 3, 4)]

CONFIGS = [
    (optim.SGD, dict(lr=0.1)),
    (optim.SGD, dict(lr=0.05, momentum=0.9)),
    (optim.SGD, dict(lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.1)),
    (optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01, maximize=True)),
    (optim.Adam, dict(lr=0.1)),
    (optim.Adam, dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    (optim.Adam, dict(lr=0.1, amsgrad=True, maximize=True)),
    (optim.AdamW, dict(lr=0.1, weight_decay=0.5)),
    (optim.AdamW, dict(lr=0.1, weight_decay=0.1, amsgrad=True)),
]


def _trajectory(cls, kw, dtype, foreach, steps=4, special=False):
    rng = np.random.default_rng(7)
    params = [nn.Parameter(ag.tensor(rng.standard_normal(s).astype(dtype))) for s in SHAPES]
    opt = cls(params, foreach=foreach, **kw)
    grads = [[rng.standard_normal(s).astype(dtype) for s in SHAPES] for _ in range(steps)]
    if special:
        grads[1][0][0, 0] = np.nan
        grads[2][1][3] = np.inf
        grads[2][2][0] = -np.inf
    out = []
    for t in range(steps):
        opt.zero_grad()
        for p, g in zip(params, grads[t]):
            p.grad = ag.tensor(g)
        if t == 2:  # a parameter without a gradient is skipped (and its state does not advance)
            params[1].grad = None
        opt.step()
        out.append([p.data.copy() for p in params])
    return out, opt, params


@pytest.fixture
def kernel_calls(monkeypatch):
    """Counts the multi-tensor kernel calls (so a test cannot pass by falling back silently)."""
    from autograd_core.ops import foreach
    calls = []
    run = foreach._run

    def spy(name, *args):
        calls.append(name)
        return run(name, *args)
    monkeypatch.setattr(foreach, "_run", spy)
    return calls


@pytest.mark.parametrize("threads", ["serial", "parallel"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cls, kw", CONFIGS, ids=[f"{c.__name__}-{sorted(k)}" for c, k in CONFIGS])
def test_foreach_is_bitwise_the_numpy_loop(cls, kw, dtype, threads, kernel_calls, monkeypatch):
    # both compilations of each kernel (the serial twin is a separate build: it
    # once lost vectorisation to Numba's Python division semantics)
    from autograd_core.ops import foreach
    monkeypatch.setattr(foreach._threads, "small", lambda **kw: threads == "serial")
    ref, ropt, rparams = _trajectory(cls, kw, dtype, foreach=False)
    assert kernel_calls == []
    got, gopt, gparams = _trajectory(cls, kw, dtype, foreach=True)
    assert len(kernel_calls) == 4
    for t, (a, b) in enumerate(zip(got, ref)):
        for k, (x, y) in enumerate(zip(a, b)):
            assert x.dtype == dtype
            np.testing.assert_array_equal(x, y, err_msg=f"step {t + 1}, parameter {k}")
    for p, q in zip(gparams, rparams):
        s, r = gopt.state[p], ropt.state[q]
        assert s.keys() == r.keys()
        for key in s:
            np.testing.assert_array_equal(s[key], r[key], err_msg=key)


@pytest.mark.parametrize("cls, kw", [CONFIGS[1], CONFIGS[6]])
def test_foreach_nan_and_inf_like_the_numpy_loop(cls, kw, kernel_calls):
    with np.errstate(invalid="ignore"):
        ref, _, _ = _trajectory(cls, kw, np.float32, foreach=False, special=True)
    got, _, _ = _trajectory(cls, kw, np.float32, foreach=True, special=True)
    assert len(kernel_calls) == 4
    assert np.isnan(ref[-1][0]).any()
    for a, b in zip(got, ref):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)


def test_foreach_state_dict_resumes_on_either_path():
    _, opt, params = _trajectory(optim.Adam, dict(lr=0.1), np.float32, foreach=True, steps=2)
    sd = opt.state_dict()
    q = [nn.Parameter(ag.tensor(p.data.copy())) for p in params]
    opt2 = optim.Adam(q, lr=0.1, foreach=False)
    opt2.load_state_dict(sd)
    for p in params + q:
        p.grad = ag.tensor(np.ones(p.shape, np.float32))
    opt.step()
    opt2.step()
    for a, b in zip(params, q):
        np.testing.assert_array_equal(a.data, b.data)


def test_default_uses_the_kernel_for_large_groups_only(kernel_calls, monkeypatch):
    from autograd_core import kernels
    monkeypatch.setattr(kernels, "loaded", lambda: False)
    small = nn.Parameter(ag.tensor(np.ones(10, np.float32)))
    big = nn.Parameter(ag.tensor(np.ones(1 << 16, np.float32)))
    for p in (small, big):
        opt = optim.Adam([p])
        p.grad = ag.tensor(np.ones(p.shape, np.float32))
        opt.step()
    assert kernel_calls == ["adam"]


def test_noncontiguous_gradient_and_mixed_dtypes_fall_back_or_agree():
    w = nn.Parameter(ag.tensor(np.arange(12, dtype=np.float32).reshape(3, 4)))
    v = nn.Parameter(ag.tensor(np.ones(3)))  # float64 beside float32: the numpy loop
    opt = optim.SGD([w, v], lr=0.5, momentum=0.9, foreach=True)
    w.grad = ag.tensor(np.ones((4, 3), np.float32).T)  # a transposed (F-ordered) gradient
    v.grad = ag.tensor(np.ones(3))
    opt.step()
    np.testing.assert_array_equal(w.data, np.arange(12, dtype=np.float32).reshape(3, 4) - np.float32(0.5))
    w2 = nn.Parameter(ag.tensor(np.arange(12, dtype=np.float32).reshape(3, 4)))
    opt2 = optim.SGD([w2], lr=0.5, momentum=0.9, foreach=True)
    w2.grad = ag.tensor(np.arange(12, dtype=np.float32).reshape(4, 3).T)
    opt2.step()
    np.testing.assert_array_equal(w2.data, np.arange(12, dtype=np.float32).reshape(3, 4)
                                  - np.float32(0.5) * np.arange(12, dtype=np.float32).reshape(4, 3).T)
