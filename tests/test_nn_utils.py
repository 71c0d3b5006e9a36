"""nn.utils: gradient clipping and parameter vectors against numpy."""

import math

import numpy as np
import pytest

import autograd_core as ag
import nn
from nn.utils import clip_grad_norm_, clip_grad_value_, parameters_to_vector, vector_to_parameters


def _params_with_grads(grads):
    ps = []
    for g in grads:
        p = nn.Parameter(ag.zeros(*np.shape(g)))
        p.grad = ag.tensor(np.asarray(g, dtype=np.float32))
        ps.append(p)
    return ps


def test_clip_grad_norm_scales_jointly():
    ps = _params_with_grads([[3.0, 0.0], [[0.0], [4.0]]])  # joint 2-norm 5
    total = clip_grad_norm_(ps, max_norm=1.0)
    assert total.item() == pytest.approx(5.0)
    np.testing.assert_allclose(ps[0].grad.data, [0.6, 0.0], rtol=1e-5)
    np.testing.assert_allclose(ps[1].grad.data, [[0.0], [0.8]], rtol=1e-5)
    ps = _params_with_grads([[3.0, 0.0]])
    clip_grad_norm_(ps, max_norm=10.0)  # below the limit: unchanged
    np.testing.assert_array_equal(ps[0].grad.data, [3.0, 0.0])


def test_clip_grad_norm_other_norms_and_errors():
    ps = _params_with_grads([[3.0, -4.0], [1.0]])
    assert clip_grad_norm_(ps, 100, norm_type=math.inf).item() == 4.0
    assert clip_grad_norm_(ps, 100, norm_type=1).item() == pytest.approx(8.0)
    ps = _params_with_grads([[np.inf, 1.0]])
    with pytest.raises(RuntimeError, match="total norm .* is inf"):
        clip_grad_norm_(ps, 1.0, error_if_nonfinite=True)
    assert clip_grad_norm_([nn.Parameter(ag.ones(2))], 1.0).item() == 0.0  # no gradients at all


def test_clip_grad_value():
    ps = _params_with_grads([[-3.0, 0.5, 2.0]])
    clip_grad_value_(ps, 1.0)
    np.testing.assert_array_equal(ps[0].grad.data, [-1.0, 0.5, 1.0])


def test_parameters_to_vector_round_trip():
    m = nn.Linear(3, 2)
    v = parameters_to_vector(m.parameters())
    assert v.shape == (8,)
    np.testing.assert_array_equal(v.data[:6], m.weight.data.reshape(-1))
    vector_to_parameters(ag.arange(8.0), m.parameters())
    np.testing.assert_array_equal(m.bias.data, [6.0, 7.0])
    with pytest.raises(ValueError, match="8 elements"):
        vector_to_parameters(ag.zeros(7), m.parameters())
