"""Optimizers: trajectories against numpy transcriptions of the published update rules, state dicts, errors.

The references below follow the pseudo-code in PyTorch's documentation of each
optimizer, written out step by step in its own notation (bias-corrected
moments for Adam, and so on), not the way the implementations arrange it.
"""

import math

import numpy as np
import pytest

import autograd_core as ag
import nn
import optim

STEPS = 6


def grad_fn(p):
    """The gradient of f(p) = sum(a * (p - c)^2) + sum(sin(p)): a fixed, state-dependent gradient."""
    a = np.linspace(0.5, 2.0, p.size).reshape(p.shape)
    return 2 * a * (p - 0.3) + np.cos(p)


def start():
    return np.array([[0.5, -1.0, 2.0], [0.0, 1.5, -0.2]])


# --------------------------------------------------------------------------- references

def ref_sgd(lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False):
    th, b = start(), None
    out = []
    for t in range(1, STEPS + 1):
        g = grad_fn(th)
        if weight_decay:
            g = g + weight_decay * th
        if momentum:
            b = g if t == 1 else momentum * b + (1 - dampening) * g
            g = g + momentum * b if nesterov else b
        th = th + lr * g if maximize else th - lr * g
        out.append(th)
    return out


def ref_adam(lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, maximize=False, decoupled=False):
    b1, b2 = betas
    th = start()
    m = v = vmax = np.zeros_like(th)
    out = []
    for t in range(1, STEPS + 1):
        g = -grad_fn(th) if maximize else grad_fn(th)
        if decoupled:
            th = th - lr * weight_decay * th
        elif weight_decay:
            g = g + weight_decay * th
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g ** 2
        m_hat = m / (1 - b1 ** t)
        if amsgrad:
            vmax = np.maximum(vmax, v)
            v_hat = vmax / (1 - b2 ** t)
        else:
            v_hat = v / (1 - b2 ** t)
        th = th - lr * m_hat / (np.sqrt(v_hat) + eps)
        out.append(th)
    return out


def ref_adagrad(lr, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10):
    th = start()
    s = np.full_like(th, initial_accumulator_value)
    out = []
    for t in range(1, STEPS + 1):
        g = grad_fn(th)
        lr_t = lr / (1 + (t - 1) * lr_decay)
        if weight_decay:
            g = g + weight_decay * th
        s = s + g ** 2
        th = th - lr_t * g / (np.sqrt(s) + eps)
        out.append(th)
    return out


def ref_adadelta(lr, rho=0.9, eps=1e-6, weight_decay=0.0):
    th = start()
    v = u = np.zeros_like(th)
    out = []
    for _ in range(STEPS):
        g = grad_fn(th)
        if weight_decay:
            g = g + weight_decay * th
        v = v * rho + g ** 2 * (1 - rho)
        dx = np.sqrt(u + eps) / np.sqrt(v + eps) * g
        u = u * rho + dx ** 2 * (1 - rho)
        th = th - lr * dx
        out.append(th)
    return out


def ref_rmsprop(lr, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False):
    th = start()
    v = g_ave = b = np.zeros_like(th)
    out = []
    for _ in range(STEPS):
        g = grad_fn(th)
        if weight_decay:
            g = g + weight_decay * th
        v = alpha * v + (1 - alpha) * g ** 2
        v_tilde = v
        if centered:
            g_ave = g_ave * alpha + (1 - alpha) * g
            v_tilde = v_tilde - g_ave ** 2
        if momentum > 0:
            b = momentum * b + g / (np.sqrt(v_tilde) + eps)
            th = th - lr * b
        else:
            th = th - lr * g / (np.sqrt(v_tilde) + eps)
        out.append(th)
    return out


CASES = [
    (optim.SGD, dict(lr=0.1), ref_sgd),
    (optim.SGD, dict(lr=0.05, momentum=0.9), ref_sgd),
    (optim.SGD, dict(lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.1), ref_sgd),
    (optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01), ref_sgd),
    (optim.SGD, dict(lr=0.05, maximize=True), ref_sgd),
    (optim.Adam, dict(lr=0.1), ref_adam),
    (optim.Adam, dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1), ref_adam),
    (optim.Adam, dict(lr=0.1, amsgrad=True), ref_adam),
    (optim.Adam, dict(lr=0.1, maximize=True), ref_adam),
    (optim.AdamW, dict(lr=0.1, weight_decay=0.5), lambda **k: ref_adam(decoupled=True, **k)),
    (optim.AdamW, dict(lr=0.1, weight_decay=0.1, amsgrad=True), lambda **k: ref_adam(decoupled=True, **k)),
    (optim.Adagrad, dict(lr=0.5), ref_adagrad),
    (optim.Adagrad, dict(lr=0.5, lr_decay=0.1, weight_decay=0.1, initial_accumulator_value=0.2), ref_adagrad),
    (optim.Adadelta, dict(lr=1.0), ref_adadelta),
    (optim.Adadelta, dict(lr=0.5, rho=0.8, eps=1e-4, weight_decay=0.1), ref_adadelta),
    (optim.RMSprop, dict(lr=0.01), ref_rmsprop),
    (optim.RMSprop, dict(lr=0.01, alpha=0.9, momentum=0.5, centered=True, weight_decay=0.1), ref_rmsprop),
    (optim.RMSprop, dict(lr=0.01, momentum=0.9), ref_rmsprop),
]


def run(cls, kwargs, dtype=np.float64, steps=STEPS):
    p = nn.Parameter(ag.tensor(start(), dtype=dtype))
    opt = cls([p], **kwargs)
    out = []
    for _ in range(steps):
        opt.zero_grad()
        p.grad = ag.tensor(grad_fn(p.data.astype(np.float64)), dtype=dtype)
        opt.step()
        out.append(p.data.copy())
    return out, p, opt


@pytest.mark.parametrize("cls, kwargs, ref", CASES, ids=[f"{c.__name__}-{sorted(k)}" for c, k, _ in CASES])
def test_trajectory_matches_published_update_rule(cls, kwargs, ref):
    got, p, _ = run(cls, kwargs)
    want = ref(**kwargs)
    for t, (g, w) in enumerate(zip(got, want), 1):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12, err_msg=f"step {t}")
    assert p.grad_fn is None and p.is_leaf  # updates record nothing


@pytest.mark.parametrize("cls, kwargs, ref", CASES[::3])
def test_float32_parameters_stay_float32(cls, kwargs, ref):
    got, p, opt = run(cls, kwargs, dtype=np.float32)
    assert p.dtype == np.float32
    assert all(v.dtype == np.float32 for v in opt.state[p].values() if isinstance(v, np.ndarray))
    np.testing.assert_allclose(got[-1], ref(**kwargs)[-1], rtol=1e-4, atol=1e-5)


def _train(model, opt, batches):
    for x, y in batches:
        opt.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        opt.step()


@pytest.mark.parametrize("cls, kwargs", [(optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True)),
                                         (optim.Adam, dict(lr=0.01, amsgrad=True)), (optim.AdamW, {}),
                                         (optim.RMSprop, dict(momentum=0.5, centered=True)), (optim.Adagrad, {}),
                                         (optim.Adadelta, {})])
def test_state_dict_round_trip_resumes_training_exactly(cls, kwargs, tmp_path):
    ag.manual_seed(0)
    batches = [(ag.randn(8, 3), ag.randn(8, 2)) for _ in range(6)]
    model = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2))
    opt = cls(model.parameters(), **kwargs)
    _train(model, opt, batches[:3])
    nn.save({"model": model.state_dict(), "opt": opt.state_dict()}, tmp_path / "ckpt.npz")
    _train(model, opt, batches[3:])

    ckpt = nn.load(tmp_path / "ckpt.npz")
    model2 = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2))
    model2.load_state_dict(ckpt["model"])
    opt2 = cls(model2.parameters(), lr=123.0)  # hyperparameters come from the checkpoint
    opt2.load_state_dict(ckpt["opt"])
    assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"]
    _train(model2, opt2, batches[3:])
    for a, b in zip(model.parameters(), model2.parameters()):
        np.testing.assert_array_equal(a.data, b.data)


def test_load_state_dict_copies_and_validates_without_changing_anything():
    m = nn.Linear(3, 2)
    opt = optim.Adam(m.parameters(), lr=0.1)
    m(ag.randn(4, 3)).sum().backward()
    opt.step()
    sd = opt.state_dict()
    opt2 = optim.Adam(nn.Linear(3, 2).parameters())
    opt2.load_state_dict(sd)
    p2 = opt2.param_groups[0]["params"][0]
    assert opt2.state[p2]["exp_avg"] is not sd["state"][0]["exp_avg"]

    before = {k: v for k, v in opt2.state[p2].items()}
    bad = {"state": {0: dict(sd["state"][0], exp_avg=np.zeros((5, 5), np.float32))},
           "param_groups": sd["param_groups"]}
    with pytest.raises(ValueError, match=r"'exp_avg' of parameter 0 has shape \(5, 5\).*\(2, 3\)"):
        opt2.load_state_dict(bad)
    assert opt2.state[p2] == before and opt2.param_groups[0]["lr"] == 0.1
    with pytest.raises(ValueError, match="2 parameter group"):
        opt2.load_state_dict({"state": {}, "param_groups": sd["param_groups"] * 2})
    with pytest.raises(ValueError, match="group 0 has 1 parameters in the state dict but 2"):
        opt2.load_state_dict({"state": {}, "param_groups": [dict(sd["param_groups"][0], params=[0])]})


@pytest.mark.parametrize("make, match", [
    (lambda p: optim.SGD(p, lr=-0.1), "invalid learning rate lr -0.1"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=-1), "invalid momentum"),
    (lambda p: optim.SGD(p, lr=0.1, nesterov=True), "Nesterov momentum requires momentum > 0"),
    (lambda p: optim.SGD(p, lr=0.1, weight_decay=-1e-4), "invalid weight_decay"),
    (lambda p: optim.Adam(p, betas=(0.9, 1.0)), r"beta parameter at index 1 1\.0.*\[0, 1\)"),
    (lambda p: optim.Adam(p, eps=-1e-8), "invalid eps"),
    (lambda p: optim.Adadelta(p, rho=1.5), "invalid rho"),
    (lambda p: optim.RMSprop(p, alpha=-0.1), "invalid alpha"),
    (lambda p: optim.Adagrad(p, lr_decay=-1), "invalid lr_decay"),
])
def test_hyperparameters_are_validated(make, match):
    with pytest.raises(ValueError, match=match):
        make([nn.Parameter(ag.zeros(2))])


def test_parameter_list_errors():
    p = nn.Parameter(ag.zeros(2))
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="single Tensor"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([p * 2], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    with pytest.raises(TypeError, match="not a set"):
        optim.SGD({p}, lr=0.1)
    with pytest.raises(TypeError, match="dtype int64"):
        optim.SGD([ag.tensor([1, 2])], lr=0.1)


def test_param_groups_and_defaults():
    a, b = nn.Parameter(ag.ones(2)), nn.Parameter(ag.ones(2))
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5}], lr=0.1, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert opt.param_groups[1]["momentum"] == 0.9
    a.grad, b.grad = ag.ones(2), ag.ones(2)
    opt.step()
    np.testing.assert_allclose(a.data, 0.9)
    np.testing.assert_allclose(b.data, 0.5)
    c = nn.Parameter(ag.ones(1))
    opt.add_param_group({"params": [c], "lr": 1.0})
    c.grad = ag.ones(1)
    opt.step()
    np.testing.assert_allclose(c.data, 0.0)
    assert "Parameter Group 2" in repr(opt) and "lr: 1.0" in repr(opt)


def test_zero_grad_closure_and_skipping_params_without_grad():
    a, b = nn.Parameter(ag.ones(2)), nn.Parameter(ag.ones(2))
    opt = optim.Adam([a, b], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (a * a).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.item() == 2.0
    assert not np.allclose(a.data, 1) and np.array_equal(b.data, [1, 1]) and b not in opt.state
    opt.zero_grad(set_to_none=False)
    assert a.grad is not None and not a.grad.data.any()
    opt.zero_grad()
    assert a.grad is None


def test_step_bumps_the_version_so_a_stale_graph_is_caught():
    m = nn.Linear(2, 2)
    opt = optim.SGD(m.parameters(), lr=0.1)
    loss = m(ag.randn(3, 2)).square().sum()
    loss.backward(retain_graph=True)
    opt.step()
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        loss.backward()  # the saved weight changed under the graph


def test_sgd_converges_on_a_quadratic():
    p = nn.Parameter(ag.tensor([5.0, -3.0]))
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    for _ in range(200):
        opt.zero_grad()
        ((p - ag.tensor([1.0, 2.0])) ** 2).sum().backward()
        opt.step()
    np.testing.assert_allclose(p.data, [1.0, 2.0], atol=1e-4)
    assert math.isfinite(p.data.sum())


# --------------------------------------------------------------------------- Adamax, NAdam, RAdam
# References in the notation of the papers / PyTorch's documented pseudo-code, run long enough (12 steps)
# for RAdam's rectified branch (rho_t > 5) to switch on with beta2 = 0.9.

LONG = 12


def ref_adamax(lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, maximize=False):
    b1, b2 = betas
    th = start()
    m = u = np.zeros_like(th)
    out = []
    for t in range(1, LONG + 1):
        g = -grad_fn(th) if maximize else grad_fn(th)
        g = g + weight_decay * th
        m = b1 * m + (1 - b1) * g
        u = np.maximum(b2 * u, np.abs(g) + eps)
        th = th - lr * m / ((1 - b1 ** t) * u)
        out.append(th)
    return out


def decay_and_moments(th, m, v, lr, b1, b2, weight_decay, decoupled):
    """One step's weight decay (L2 in the gradient, or decoupled) and Adam's two moment estimates."""
    g = grad_fn(th)
    if decoupled:
        th = th - lr * weight_decay * th
    else:
        g = g + weight_decay * th
    return th, g, b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g ** 2


def ref_nadam(lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, momentum_decay=4e-3,
              decoupled_weight_decay=False):
    b1, b2 = betas
    th = start()
    m = v = np.zeros_like(th)
    mus = [None] + [b1 * (1 - 0.5 * 0.96 ** (i * momentum_decay)) for i in range(1, LONG + 2)]
    out = []
    for t in range(1, LONG + 1):
        th, g, m, v = decay_and_moments(th, m, v, lr, b1, b2, weight_decay, decoupled_weight_decay)
        m_hat = mus[t + 1] * m / (1 - np.prod(mus[1:t + 2])) + (1 - mus[t]) * g / (1 - np.prod(mus[1:t + 1]))
        v_hat = v / (1 - b2 ** t)
        th = th - lr * m_hat / (np.sqrt(v_hat) + eps)
        out.append(th)
    return out


def ref_radam(lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decoupled_weight_decay=False):
    b1, b2 = betas
    th = start()
    m = v = np.zeros_like(th)
    rho_inf = 2 / (1 - b2) - 1
    out, rectified = [], []
    for t in range(1, LONG + 1):
        th, g, m, v = decay_and_moments(th, m, v, lr, b1, b2, weight_decay, decoupled_weight_decay)
        m_hat = m / (1 - b1 ** t)
        rho_t = rho_inf - 2 * t * b2 ** t / (1 - b2 ** t)
        if rho_t > 5:
            l_t = np.sqrt(1 - b2 ** t) / (np.sqrt(v) + eps)
            r_t = np.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            th = th - lr * m_hat * r_t * l_t
        else:
            th = th - lr * m_hat
        rectified.append(rho_t > 5)
        out.append(th)
    if b2 <= 0.9:
        assert any(rectified) and not all(rectified)  # both branches exercised
    return out


NEW_CASES = [
    (optim.Adamax, dict(lr=0.1), ref_adamax),
    (optim.Adamax, dict(lr=0.05, betas=(0.8, 0.95), eps=1e-3, weight_decay=0.1), ref_adamax),
    (optim.Adamax, dict(lr=0.1, maximize=True), ref_adamax),
    (optim.NAdam, dict(lr=0.1), ref_nadam),
    (optim.NAdam, dict(lr=0.05, betas=(0.8, 0.9), momentum_decay=0.1, weight_decay=0.1), ref_nadam),
    (optim.NAdam, dict(lr=0.05, weight_decay=0.3, decoupled_weight_decay=True), ref_nadam),
    (optim.RAdam, dict(lr=0.1), ref_radam),
    (optim.RAdam, dict(lr=0.05, betas=(0.8, 0.9), weight_decay=0.1), ref_radam),
    (optim.RAdam, dict(lr=0.05, betas=(0.9, 0.85), weight_decay=0.3, decoupled_weight_decay=True), ref_radam),
]


@pytest.mark.parametrize("cls, kwargs, ref", NEW_CASES, ids=[f"{c.__name__}-{sorted(k)}" for c, k, _ in NEW_CASES])
def test_new_optimizers_follow_their_published_rules(cls, kwargs, ref):
    got, p, opt = run(cls, kwargs, steps=LONG)
    for t, (g, w) in enumerate(zip(got, ref(**kwargs)), 1):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12, err_msg=f"step {t}")
    got32, p32, opt32 = run(cls, kwargs, np.float32, steps=LONG)
    assert p32.dtype == np.float32
    assert all(v.dtype == np.float32 for v in opt32.state[p32].values() if isinstance(v, np.ndarray))
    np.testing.assert_allclose(got32[-1], got[-1], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("cls", [optim.Adamax, optim.NAdam, optim.RAdam])
def test_new_optimizers_resume_exactly_and_validate(cls, tmp_path):
    test_state_dict_round_trip_resumes_training_exactly(cls, {}, tmp_path)
    with pytest.raises(ValueError, match="invalid beta parameter at index 0"):
        cls([nn.Parameter(ag.zeros(2))], betas=(1.0, 0.9))
    with pytest.raises(ValueError, match="invalid learning rate"):
        cls([nn.Parameter(ag.zeros(2))], lr=-1)
