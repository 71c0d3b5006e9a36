"""Learning-rate schedules against their formulas, ReduceLROnPlateau and EarlyStopping step by step."""

import math

import numpy as np
import pytest

import autograd_core as ag
import nn
import optim
from optim import lr_scheduler as S


def _opt(lr=1.0, groups=1):
    return optim.SGD([{"params": [nn.Parameter(ag.zeros(1))], "lr": lr * (i + 1)} for i in range(groups)], lr=lr)


def _lrs(sched, n):
    out = [sched.get_last_lr()[0]]
    for _ in range(n):
        sched.step()
        out.append(sched.get_last_lr()[0])
    return out


def test_step_lr():
    assert _lrs(S.StepLR(_opt(), step_size=3, gamma=0.5), 7) == [1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25]


def test_multistep_lr():
    np.testing.assert_allclose(_lrs(S.MultiStepLR(_opt(), milestones=[4, 2], gamma=0.1), 5),
                               [1, 1, 0.1, 0.1, 0.01, 0.01])


def test_exponential_lr():
    np.testing.assert_allclose(_lrs(S.ExponentialLR(_opt(2.0), gamma=0.9), 4), [2 * 0.9 ** t for t in range(5)])


def test_cosine_annealing_lr():
    got = _lrs(S.CosineAnnealingLR(_opt(0.1), T_max=4, eta_min=0.01), 8)
    want = [0.01 + 0.09 * (1 + math.cos(math.pi * t / 4)) / 2 for t in range(9)]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert got[4] == pytest.approx(0.01) and got[8] == pytest.approx(0.1)


def test_lambda_lr_per_group_and_state_dict():
    opt = _opt(1.0, groups=2)
    sched = S.LambdaLR(opt, [lambda t: 1 / (t + 1), lambda t: 0.5 ** t])
    sched.step()
    sched.step()
    assert sched.get_last_lr() == [pytest.approx(1 / 3), pytest.approx(2 * 0.25)]
    assert [g["lr"] for g in opt.param_groups] == sched.get_last_lr()
    sd = sched.state_dict()
    assert "lr_lambdas" not in sd and sd["last_epoch"] == 2
    with pytest.raises(ValueError, match="expected 2 lr_lambdas"):
        S.LambdaLR(opt, [lambda t: 1.0])


def test_resuming_a_schedule():
    opt = _opt(1.0)
    sched = S.StepLR(opt, step_size=2, gamma=0.1)
    for _ in range(3):
        sched.step()
    sd_opt, sd_sched = opt.state_dict(), sched.state_dict()
    opt2 = _opt(1.0)
    opt2.load_state_dict(sd_opt)
    sched2 = S.StepLR(opt2, step_size=2, gamma=0.1, last_epoch=sd_sched["last_epoch"] - 1)
    sched2.load_state_dict(sd_sched)
    sched.step()
    sched2.step()
    assert sched2.get_last_lr() == sched.get_last_lr() == [pytest.approx(0.01)]
    with pytest.raises(KeyError, match="initial_lr"):
        S.StepLR(_opt(), step_size=2, last_epoch=4)


def test_reduce_lr_on_plateau():
    opt = _opt(1.0)
    sched = S.ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=2, cooldown=1, min_lr=0.2)
    metrics = [10, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9]
    lrs = []
    for m in metrics:
        sched.step(m)
        lrs.append(opt.param_groups[0]["lr"])
    # improve, improve, bad 1, bad 2, bad 3 > patience -> 0.5, cooldown, bad 1, 2, 3 -> 0.25, cooldown, bad 1
    assert lrs == [1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25]
    for _ in range(10):
        sched.step(9)
    assert opt.param_groups[0]["lr"] == 0.2  # min_lr
    mx = S.ReduceLROnPlateau(_opt(1.0), mode="max", patience=0, threshold=0.1, threshold_mode="abs")
    mx.step(1.0)
    mx.step(1.05)  # not better by 0.1: reduce
    assert mx.get_last_lr() == [pytest.approx(0.1)]
    with pytest.raises(ValueError, match="factor must be in"):
        S.ReduceLROnPlateau(_opt(), factor=1.5)


def test_early_stopping_stops_and_restores_the_best_model():
    model = nn.Linear(1, 1)
    stopper = optim.EarlyStopping(patience=2, min_delta=0.01)
    losses = [1.0, 0.8, 0.795, 0.7, 0.75, 0.72, 0.9]
    best_weight = None
    stops = []
    for epoch, loss in enumerate(losses):
        with ag.no_grad():
            model.weight.fill_(float(epoch))
        if loss == 0.7:
            best_weight = float(epoch)
        stops.append(stopper.step(loss, model))
    # 0.795 is not better by min_delta; after 0.7 two epochs without improvement stop it
    assert stops == [False, False, False, False, False, True, True]
    assert stopper.best == 0.7 and stopper.best_epoch == 3
    stopper.restore(model)
    assert model.weight.item() == best_weight
    mx = optim.EarlyStopping(patience=0, mode="max")
    assert [mx.step(a) for a in (0.5, 0.6, 0.6)] == [False, False, True]
    with pytest.raises(RuntimeError, match="no best state"):
        optim.EarlyStopping().restore(model)


# --------------------------------------------------------------------------- closed forms and chaining
# Reference: each schedule's published closed form in the epoch t, written out here. Stepped one at a
# time the schedulers apply ratios to the current rate (PyTorch's chainable form); the tests check that
# this reproduces the closed form alone, the product of the factors when several act on one optimizer,
# and the active phase's closed form under SequentialLR.

def closed(name, base, t, **k):
    if name == "step":
        return base * k["gamma"] ** (t // k["step_size"])
    if name == "multistep":
        return base * k["gamma"] ** sum(m <= t for m in k["milestones"])
    if name == "exp":
        return base * k["gamma"] ** t
    if name == "constant":
        return base * (k["factor"] if t < k["total_iters"] else 1.0)
    if name == "linear":
        s, e, n = k["start_factor"], k["end_factor"], k["total_iters"]
        return base * (s + (e - s) * min(t, n) / n)
    if name == "poly":
        return base * (1 - min(t, k["total_iters"]) / k["total_iters"]) ** k["power"]
    if name == "cos":
        return k["eta_min"] + (base - k["eta_min"]) * (1 + math.cos(math.pi * t / k["T_max"])) / 2
    raise KeyError(name)


MAKERS = {
    "step": (S.StepLR, dict(step_size=3, gamma=0.5)),
    "multistep": (S.MultiStepLR, dict(milestones=[2, 5, 5, 9], gamma=0.3)),
    "exp": (S.ExponentialLR, dict(gamma=0.9)),
    "constant": (S.ConstantLR, dict(factor=0.25, total_iters=4)),
    "linear": (S.LinearLR, dict(start_factor=0.1, end_factor=0.8, total_iters=6)),
    "poly": (S.PolynomialLR, dict(total_iters=8, power=2.0)),
    "cos": (S.CosineAnnealingLR, dict(T_max=7, eta_min=0.0)),
}


def _two_groups():
    return optim.SGD([{"params": [nn.Parameter(ag.zeros(1))]}, {"params": [nn.Parameter(ag.zeros(1))], "lr": 0.5}],
                     lr=1.0)


@pytest.mark.parametrize("name", MAKERS)
def test_each_schedule_stepped_follows_its_closed_form(name):
    cls, kw = MAKERS[name]
    opt = _two_groups()
    sched = cls(opt, **kw)
    for t in range(25):
        want = [closed(name, base, t, **kw) for base in (1.0, 0.5)]
        np.testing.assert_allclose([g["lr"] for g in opt.param_groups], want, rtol=1e-12, atol=1e-15,
                                   err_msg=f"{name} epoch {t}")
        assert sched.get_last_lr() == [g["lr"] for g in opt.param_groups]
        opt.step()
        sched.step()
    # step(epoch) jumps to the closed form
    for t in (4, 2, 11, 0):
        sched.step(t)
        np.testing.assert_allclose(opt.param_groups[0]["lr"], closed(name, 1.0, t, **kw), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("names", [("constant", "exp"), ("linear", "cos"), ("multistep", "poly", "exp"),
                                   ("step", "linear")])
@pytest.mark.parametrize("chained", [False, True])
def test_schedulers_on_one_optimizer_multiply_their_factors(names, chained):
    # (the cosine's factors multiply up to T_max; past it PyTorch's recursion adds a step at the minimum)
    kws = {n: dict(MAKERS[n][1], T_max=30) if n == "cos" else MAKERS[n][1] for n in names}
    opt = _two_groups()
    scheds = [MAKERS[n][0](opt, **kws[n]) for n in names]
    driver = [S.ChainedScheduler(scheds)] if chained else scheds
    for t in range(20):
        for base, g in zip((1.0, 0.5), opt.param_groups):
            want = base * math.prod(closed(n, 1.0, t, **kws[n]) for n in names)
            assert g["lr"] == pytest.approx(want, rel=1e-12, abs=1e-15), (names, t)
        opt.step()
        for s in driver:
            s.step()


def test_sequential_lr_runs_each_phase_from_its_own_epoch_zero():
    opt = _two_groups()
    phases = [("linear", dict(start_factor=0.1, end_factor=1.0, total_iters=4)),
              ("cos", dict(T_max=8, eta_min=0.0)), ("exp", dict(gamma=0.8))]
    classes = {"linear": S.LinearLR, "cos": S.CosineAnnealingLR, "exp": S.ExponentialLR}
    seq = S.SequentialLR(opt, [classes[n](opt, **k) for n, k in phases], milestones=[4, 12])
    starts = [0, 4, 12]
    for t in range(25):
        i = sum(t >= m for m in starts) - 1
        name, kw = phases[i]
        want = [closed(name, base, t - starts[i], **kw) for base in (1.0, 0.5)]
        np.testing.assert_allclose(seq.get_last_lr(), want, rtol=1e-12, atol=1e-15, err_msg=f"epoch {t}")
        opt.step()
        seq.step()
    sd = seq.state_dict()
    assert sd["last_epoch"] == 25 and len(sd["_schedulers"]) == 3 and "optimizer" not in sd
    with pytest.raises(ValueError, match="expected 2 milestones"):
        S.SequentialLR(opt, [S.ExponentialLR(opt, 0.9)] * 3, milestones=[3])
    with pytest.raises(ValueError, match="same optimizer"):
        S.SequentialLR(opt, [S.ExponentialLR(_opt(), 0.9)], milestones=[])
    with pytest.raises(ValueError, match="ReduceLROnPlateau"):
        S.ChainedScheduler([S.ReduceLROnPlateau(opt)])


def test_cosine_annealing_warm_restarts():
    opt = _opt(1.0)
    sched = S.CosineAnnealingWarmRestarts(opt, T_0=3, T_mult=2, eta_min=0.1)
    # periods of 3, 6, 12 epochs: restarts at epochs 3 and 9
    t_cur = [0, 1, 2, 0, 1, 2, 3, 4, 5, 0, 1, 2]
    t_i = [3, 3, 3, 6, 6, 6, 6, 6, 6, 12, 12, 12]
    for t in range(12):
        want = 0.1 + 0.9 * (1 + math.cos(math.pi * t_cur[t] / t_i[t])) / 2
        assert opt.param_groups[0]["lr"] == pytest.approx(want, rel=1e-12), t
        sched.step()
    sched.step(10.5)  # fractional epochs, for per-batch use: 1.5 into the period of 6 that starts at 9
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1 + 0.9 * (1 + math.cos(math.pi * 1.5 / 12)) / 2)
    with pytest.raises(ValueError, match="T_mult must be an int >= 1"):
        S.CosineAnnealingWarmRestarts(opt, 3, T_mult=0)


def test_cyclic_lr_triangles_and_inverse_momentum():
    opt = optim.SGD([nn.Parameter(ag.zeros(1))], lr=1.0, momentum=0.9)
    sched = S.CyclicLR(opt, base_lr=0.1, max_lr=1.0, step_size_up=4, step_size_down=2, mode="triangular2")
    for t in range(20):
        cycle, pos = divmod(t, 6)
        frac = pos / 4 if pos <= 4 else 1 - (pos - 4) / 2      # up 4 steps, down 2
        amp = 0.5 ** cycle                                     # triangular2 halves each cycle
        g = opt.param_groups[0]
        assert g["lr"] == pytest.approx(0.1 + 0.9 * frac * amp, rel=1e-12), t
        assert g["momentum"] == pytest.approx(0.9 - 0.1 * frac * amp, rel=1e-12), t
        opt.step()
        sched.step()
    adam = optim.Adam([nn.Parameter(ag.zeros(1))])
    S.CyclicLR(adam, 0.001, 0.01, step_size_up=2, mode="exp_range", gamma=0.5)
    assert adam.param_groups[0]["betas"] == (0.9, 0.999)   # beta1 cycles; beta2 stays
    with pytest.raises(ValueError, match="momentum or betas"):
        S.CyclicLR(optim.Adagrad([nn.Parameter(ag.zeros(1))]), 0.1, 1.0)
    S.CyclicLR(optim.Adagrad([nn.Parameter(ag.zeros(1))]), 0.1, 1.0, cycle_momentum=False)


def test_one_cycle_lr_phases_endpoints_and_the_end():
    opt = optim.SGD([nn.Parameter(ag.zeros(1))], lr=0.0, momentum=0.9)
    sched = S.OneCycleLR(opt, max_lr=1.0, total_steps=20, pct_start=0.25, div_factor=10.0, final_div_factor=100.0)
    lrs, moms = [], []
    for _ in range(20):
        lrs.append(opt.param_groups[0]["lr"])
        moms.append(opt.param_groups[0]["momentum"])
        opt.step()
        sched.step() if len(lrs) < 20 else None
    # up (cosine) from 1/10 to 1 over steps 0..4, down (cosine) to 1/10/100 over steps 4..19
    for t, lr in enumerate(lrs):
        if t <= 4:
            want = 1.0 + (0.1 - 1.0) / 2 * (math.cos(math.pi * t / 4) + 1)
        else:
            want = 0.001 + (1.0 - 0.001) / 2 * (math.cos(math.pi * (t - 4) / 15) + 1)
        assert lr == pytest.approx(want, rel=1e-12), t
    assert moms[0] == pytest.approx(0.95) and moms[4] == pytest.approx(0.85) and moms[-1] == pytest.approx(0.95)
    sched.step()   # step 20: the schedule is over
    with pytest.raises(ValueError, match="stepped 21 times, but total_steps is 20"):
        sched.step()
    with pytest.raises(ValueError, match="give total_steps, or epochs and steps_per_epoch"):
        S.OneCycleLR(opt, max_lr=1.0)


def test_every_scheduler_state_survives_a_checkpoint(tmp_path):
    def build():
        opt = _two_groups()
        return opt, [S.SequentialLR(opt, [S.LinearLR(opt, 0.2, total_iters=3), S.MultiStepLR(opt, [2, 4])], [3]),
                     S.CosineAnnealingWarmRestarts(opt, 2, 2)]

    opt, scheds = build()
    for _ in range(5):
        opt.step()
        for s in scheds:
            s.step()
    ag.save({"opt": opt.state_dict(), "s": [s.state_dict() for s in scheds]}, tmp_path / "ck.npz")
    ck = ag.load(tmp_path / "ck.npz")
    opt2, scheds2 = build()
    opt2.load_state_dict(ck["opt"])
    for s, sd in zip(scheds2, ck["s"]):
        s.load_state_dict(sd)
    for _ in range(6):
        for o, ss in ((opt, scheds), (opt2, scheds2)):
            o.step()
            for s in ss:
                s.step()
        assert [g["lr"] for g in opt2.param_groups] == [g["lr"] for g in opt.param_groups]
    one = S.OneCycleLR(optim.Adam([nn.Parameter(ag.zeros(1))]), max_lr=0.1, total_steps=10)
    cyc = S.CyclicLR(optim.SGD([nn.Parameter(ag.zeros(1))], lr=0.1, momentum=0.5), 0.1, 1.0, scale_fn=lambda x: 1.0)
    ag.save({"one": one.state_dict(), "cyc": cyc.state_dict()}, tmp_path / "ck2.npz")  # no functions inside
