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
