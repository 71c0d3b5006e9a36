"""nn.init: PyTorch's fan and gain conventions, checked on the statistics of large draws."""

import math

import numpy as np
import pytest

import autograd_core as ag
import nn
from nn import init


def test_calculate_gain_table():
    assert init.calculate_gain("linear") == 1 and init.calculate_gain("conv2d") == 1
    assert init.calculate_gain("sigmoid") == 1
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01 ** 2)))
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    assert init.calculate_gain("selu") == pytest.approx(0.75)
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")


def test_fans():
    assert init._calculate_fan_in_and_fan_out(ag.empty(30, 20)) == (20, 30)
    assert init._calculate_fan_in_and_fan_out(ag.empty(16, 6, 5, 5)) == (150, 400)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(ag.empty(5))


def _stats(t):
    return float(t.data.mean()), float(t.data.std()), float(np.abs(t.data).max())


def test_uniform_and_normal_and_constants():
    ag.manual_seed(0)
    t = init.uniform_(ag.empty(200, 200), -2, 3)
    assert t.data.min() >= -2 and t.data.max() <= 3
    assert _stats(t)[0] == pytest.approx(0.5, abs=0.02)
    t = init.normal_(ag.empty(200, 200), 1.0, 0.5)
    assert _stats(t)[:2] == pytest.approx((1.0, 0.5), abs=0.01)
    assert (init.constant_(ag.empty(3), 2.5).data == 2.5).all()
    assert (init.zeros_(ag.ones(3)).data == 0).all() and (init.ones_(ag.zeros(3)).data == 1).all()


def test_xavier():
    ag.manual_seed(0)
    fan_in, fan_out = 64 * 9, 32 * 9
    t = init.xavier_uniform_(ag.empty(32, 64, 3, 3), gain=2.0)
    a = 2.0 * math.sqrt(6 / (fan_in + fan_out))
    assert _stats(t)[2] <= a and _stats(t)[1] == pytest.approx(a / math.sqrt(3), rel=0.03)
    t = init.xavier_normal_(ag.empty(300, 200))
    assert _stats(t)[1] == pytest.approx(math.sqrt(2 / 500), rel=0.03)


def test_kaiming():
    ag.manual_seed(0)
    t = init.kaiming_uniform_(ag.empty(300, 200), nonlinearity="relu")
    bound = math.sqrt(2) * math.sqrt(3 / 200)
    assert _stats(t)[2] <= bound and _stats(t)[1] == pytest.approx(bound / math.sqrt(3), rel=0.03)
    t = init.kaiming_normal_(ag.empty(300, 200), mode="fan_out", nonlinearity="relu")
    assert _stats(t)[1] == pytest.approx(math.sqrt(2 / 300), rel=0.03)
    with pytest.raises(ValueError, match="mode must be 'fan_in' or 'fan_out'"):
        init.kaiming_normal_(ag.empty(3, 3), mode="fan_avg")


def test_init_is_in_place_seeded_and_outside_the_graph():
    p = nn.Parameter(ag.zeros(4, 4))
    data = p.data
    ag.manual_seed(5)
    init.kaiming_uniform_(p)
    assert p.data is data and p.grad_fn is None and p.requires_grad
    first = p.data.copy()
    ag.manual_seed(5)
    init.kaiming_uniform_(p)
    np.testing.assert_array_equal(p.data, first)
    ag.manual_seed(5)
    a = nn.Linear(3, 3).weight.data.copy()
    ag.manual_seed(5)
    np.testing.assert_array_equal(nn.Linear(3, 3).weight.data, a)
