"""autograd_core.testing: its strategies do what they promise and its checker can fail."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import autograd_core as ag
from autograd_core import Function, GradcheckError
from autograd_core.testing import away_from, untied, op_inputs, op_test, check_op, divisible_shapes


def test_away_from_moves_values_out_of_the_gap():
    a = away_from(np.array([-0.001, 0.0, 0.002, 0.5, 0.999]), kinks=(0.0, 1.0), gap=0.01)
    assert np.all(np.abs(a) >= 0.01) and np.all(np.abs(a - 1.0) >= 0.01)
    assert a[3] == 0.5   # far values untouched


def test_untied_spreads_equal_values_and_keeps_order():
    a, b = untied([np.array([1.0, 1.0, 0.0]), np.array([1.0])], gap=0.1)
    flat = np.concatenate([a, b])
    diffs = np.abs(flat[:, None] - flat[None, :]) + np.eye(4)
    assert diffs.min() >= 0.1 - 1e-12
    assert a[2] < a[0]   # order preserved


@settings(max_examples=30)
@given(op_inputs(n_inputs=2, domain=[(-1, 1), (2, 3)], kinks=(0.0,), gap=0.05))
def test_op_inputs_respect_domains_and_kinks(arrays):
    a, b = arrays
    np.broadcast_shapes(a.shape, b.shape)   # mutually broadcastable
    assert a.dtype == np.float64
    assert np.all(np.abs(a) >= 0.05) and np.all((b >= 2) & (b <= 3))


def test_checker_fails_on_wrong_values():
    with pytest.raises(AssertionError):
        check_op(lambda a: ag.exp(a) + 1e-3, np.exp, max_examples=5)


class WrongGrad(Function):
    @staticmethod
    def forward(ctx, a):
        return np.tanh(a)

    @staticmethod
    def backward(ctx, g):
        return g   # should be g * (1 - tanh^2)


def test_checker_fails_on_wrong_gradient():
    with pytest.raises(GradcheckError):
        check_op(WrongGrad.apply, np.tanh, max_examples=5)


class Mutating(Function):
    @staticmethod
    def forward(ctx, a):
        out = a * 2
        a += 1   # a bug: modifies its input
        return out

    @staticmethod
    def backward(ctx, g):
        return g * 2


def test_checker_fails_when_the_op_mutates_its_input():
    with pytest.raises(AssertionError, match="modified its input"):
        check_op(Mutating.apply, lambda a: a * 2, max_examples=5, gradgrad=False)


test_op_test_returns_a_collectable_test = op_test(ag.tanh, np.tanh, max_examples=5)


@given(st.integers(1, 4).flatmap(lambda g: divisible_shapes({1: g, -1: 2}, min_dims=4, max_dims=4)
                                 .map(lambda s: (s, g))))
def test_divisible_shapes_respect_each_divisor(case):
    shape, g = case
    assert len(shape) == 4
    assert shape[1] % g == 0 and shape[1] >= g
    assert shape[-1] % 2 == 0
    assert all(1 <= s <= 4 for s in shape[:1] + shape[2:3])


def test_divisible_shapes_reject_bad_arguments():
    with pytest.raises(ValueError, match="at least 3 dimensions"):
        divisible_shapes({2: 2}, min_dims=2)
    with pytest.raises(ValueError, match="positive int"):
        divisible_shapes({0: 0})
