"""Pointwise maths (ops/pointwise.py): values against numpy / the C library, gradients by gradcheck.

PyTorch's conventions on edge cases (checked against PyTorch 2.13 while writing these): integer inputs
of transcendental functions give float32, rounding keeps integer dtypes and has a zero gradient,
``atan2`` has a zero gradient at the origin and ``hypot`` a NaN one, ``erfinv(+-1) = +-inf``.
"""

import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

import autograd_core as ag
from autograd_core.ops import pointwise
from autograd_core.testing import op_test

np_erf = np.vectorize(math.erf, otypes=[np.float64])
np_erfc = np.vectorize(math.erfc, otypes=[np.float64])


def bisect_erfinv(y):
    """erf^-1 by bisection on math.erf: slow, obviously right, independent of the op."""
    y = np.asarray(y, dtype=np.float64)
    lo, hi = np.full(y.shape, -6.0), np.full(y.shape, 6.0)
    for _ in range(80):
        mid = (lo + hi) / 2
        below = np_erf(mid) < y
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return (lo + hi) / 2


INTEGERS = tuple(range(-3, 4))
HALVES = tuple(k + 0.5 for k in range(-4, 4))

# rounding: gradient zero, inputs kept off the jumps
test_floor = op_test(ag.floor, np.floor, kinks=INTEGERS, gradgrad=False)
test_ceil = op_test(lambda a: a.ceil(), np.ceil, kinks=INTEGERS, gradgrad=False)
test_trunc = op_test(ag.trunc, np.trunc, kinks=INTEGERS, gradgrad=False)
test_round = op_test(ag.round, np.round, kinks=HALVES, gradgrad=False)
test_round_decimals = op_test(lambda a: ag.round(a, decimals=1), lambda a: np.round(a, 1),
                              kinks=tuple(k / 10 + 0.05 for k in range(-31, 31)), gap=1e-3, gradgrad=False)
test_frac = op_test(ag.frac, lambda a: a - np.trunc(a), kinks=INTEGERS)

# exp / log variants
test_log1p = op_test(ag.log1p, np.log1p, domain=(-0.9, 3))
test_expm1 = op_test(lambda a: a.expm1(), np.expm1)
test_log2 = op_test(ag.log2, np.log2, domain=(0.1, 5))
test_log10 = op_test(lambda a: a.log10(), np.log10, domain=(0.1, 5))
test_exp2 = op_test(ag.exp2, np.exp2)
test_rsqrt = op_test(ag.rsqrt, lambda a: 1 / np.sqrt(a), domain=(0.2, 5))

# the error function
test_erf = op_test(ag.erf, np_erf)
test_erfc = op_test(lambda a: a.erfc(), np_erfc)
test_erfinv = op_test(ag.erfinv, bisect_erfinv, domain=(-0.95, 0.95), rtol=1e-12, atol=1e-14)

# hyperbolic and inverse trigonometric
test_sinh = op_test(ag.sinh, np.sinh)
test_cosh = op_test(lambda a: a.cosh(), np.cosh)
test_tan = op_test(ag.tan, np.tan, domain=(-1.3, 1.3))
test_asin = op_test(ag.asin, np.arcsin, domain=(-0.95, 0.95))
test_acos = op_test(lambda a: a.arccos(), np.arccos, domain=(-0.95, 0.95))
test_atan = op_test(ag.arctan, np.arctan)
test_asinh = op_test(ag.asinh, np.arcsinh)
test_acosh = op_test(ag.acosh, np.arccosh, domain=(1.1, 4))
test_atanh = op_test(lambda a: a.atanh(), np.arctanh, domain=(-0.9, 0.9))

# binary and ternary
test_atan2 = op_test(ag.atan2, np.arctan2, 2, domain=[(0.2, 3), (-3, 3)])
test_atan2_method = op_test(lambda y, x: y.arctan2(x), np.arctan2, 2, domain=[(-3, -0.2), (-3, 3)])
test_hypot = op_test(ag.hypot, np.hypot, 2, domain=(0.2, 3))
test_lerp_tensor_weight = op_test(ag.lerp, lambda a, b, w: a + w * (b - a), 3)
test_lerp_scalar_weight = op_test(lambda a, b: a.lerp(b, 0.7), lambda a, b: a + 0.7 * (b - a), 2)
test_addcmul = op_test(lambda a, b, c: ag.addcmul(a, b, c, value=0.5), lambda a, b, c: a + 0.5 * b * c, 3)
test_addcdiv = op_test(lambda a, b, c: a.addcdiv(b, c, value=-2), lambda a, b, c: a - 2 * b / c, 3,
                       domain=[(-3, 3), (-3, 3), (0.5, 3)])
test_clamp_min = op_test(lambda a: ag.clamp_min(a, 0.5), lambda a: np.maximum(a, 0.5), kinks=(0.5,))
test_clamp_max = op_test(lambda a: a.clamp_max(-0.5), lambda a: np.minimum(a, -0.5), kinks=(-0.5,))
test_clamp_min_tensor = op_test(lambda a, b: ag.clamp_min(a, b), np.maximum, 2, distinct=True)
test_rsub = op_test(lambda a, b: ag.rsub(a, b, alpha=2), lambda a, b: b - 2 * a, 2)
test_nan_to_num_finite = op_test(ag.nan_to_num, lambda a: a)
STEPS = tuple(0.75 * k for k in range(-5, 6))  # where a / 0.75 crosses an integer
test_div_trunc = op_test(lambda a: ag.div(a, 0.75, rounding_mode="trunc"), lambda a: np.trunc(a / 0.75),
                         kinks=STEPS, gradgrad=False)
test_div_floor = op_test(lambda a, b: a.div(b, rounding_mode="floor"), np.floor_divide, 2,
                         domain=[(-3, 3), (0.5, 2)], grad=False)


# ------------------------------------------------------------------ PyTorch's edge cases

def test_integer_inputs_give_float32_and_rounding_keeps_ints():
    i = ag.tensor([1, 2, 3])
    for fn in (ag.log1p, ag.expm1, ag.log2, ag.log10, ag.exp2, ag.rsqrt, ag.erf, ag.erfc, ag.sinh, ag.atan):
        assert fn(i).dtype == np.float32, fn.__name__
    assert ag.atan2(i, i).dtype == np.float32
    for fn in (ag.floor, ag.ceil, ag.trunc, ag.round):
        out = fn(i)
        assert out.dtype == np.int64 and out.tolist() == [1, 2, 3], fn.__name__
    with pytest.raises(TypeError, match="frac"):
        ag.frac(i)
    with pytest.raises(TypeError, match="round: decimals"):
        ag.round(i, decimals=1)
    with pytest.raises(TypeError, match="bool"):
        ag.ceil(ag.tensor([True]))
    with pytest.raises(TypeError, match="lerp"):
        ag.lerp(i, i, 0.5)
    with pytest.raises(TypeError, match="addcdiv"):
        ag.addcdiv(i, i, i)
    with pytest.raises(TypeError, match="hypot"):
        ag.hypot(i, i)
    assert ag.nan_to_num(i).tolist() == [1, 2, 3]
    assert not ag.isinf(i).any() and not ag.isposinf(i).any()


def test_round_is_half_to_even_and_decimals_scale():
    assert ag.round(ag.tensor([0.5, 1.5, 2.5, -0.5, -1.5])).tolist() == [0.0, 2.0, 2.0, -0.0, -2.0]
    x = ag.tensor([1234.5678, -0.0449], dtype=np.float64)
    np.testing.assert_array_equal(ag.round(x, decimals=2).numpy(), [1234.57, -0.04])
    np.testing.assert_array_equal(ag.round(x, decimals=-2).numpy(), [1200.0, -0.0])


def test_rounding_gradient_is_zero_not_none():
    x = ag.tensor([1.5, -2.3], requires_grad=True)
    for fn in (ag.floor, ag.ceil, ag.round, ag.trunc):
        x.grad = None
        fn(x).sum().backward()
        assert x.grad.tolist() == [0.0, 0.0]
    x.grad = None
    ag.frac(x).sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]


def test_special_values():
    nan, inf = math.nan, math.inf
    y = ag.erfinv(ag.tensor([-1.0, 1.0, 1.5, -0.0, nan], dtype=np.float64)).numpy()
    assert y[0] == -inf and y[1] == inf and np.isnan(y[2]) and np.isnan(y[4])
    assert y[3] == 0 and np.signbit(y[3])
    x = ag.tensor([nan, inf, -inf, 1.0])
    assert ag.nan_to_num(x).tolist() == [0.0, float(np.finfo(np.float32).max), float(np.finfo(np.float32).min), 1.0]
    assert ag.nan_to_num(x, nan=1.0, posinf=2.0, neginf=-2.0).tolist() == [1.0, 2.0, -2.0, 1.0]
    assert ag.isinf(x).tolist() == [False, True, True, False]
    assert ag.isposinf(x).tolist() == [False, True, False, False]
    assert x.isneginf().tolist() == [False, False, True, False]
    assert ag.frac(ag.tensor([-1.5, 2.25])).tolist() == [-0.5, 0.25]
    assert np.isnan(ag.frac(ag.tensor([inf])).item())
    r = ag.rsqrt(ag.tensor([0.0, -1.0])).numpy()
    assert r[0] == inf and np.isnan(r[1])
    assert ag.log1p(ag.tensor([-1.0])).item() == -inf
    assert ag.erfc(ag.tensor([10.0], dtype=np.float64)).item() == pytest.approx(2.088487583762545e-45, rel=1e-14)


def test_edge_case_gradients_follow_pytorch():
    x = ag.tensor([nan := math.nan, math.inf, -math.inf, 1.0], requires_grad=True)
    ag.nan_to_num(x).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0, 1.0]
    a = ag.tensor([0.0, 1.0], requires_grad=True)
    b = ag.tensor([0.0, 0.0], requires_grad=True)
    ag.atan2(a, b).sum().backward()
    assert a.grad.tolist() == [0.0, 0.0] and b.grad.tolist() == [0.0, -1.0]
    a.grad = b.grad = None
    ag.hypot(a, b).sum().backward()
    assert np.isnan(a.grad.numpy()[0]) and a.grad.numpy()[1] == 1.0
    z = ag.tensor([0.0], requires_grad=True)
    ag.rsqrt(z).sum().backward()
    assert z.grad.item() == -math.inf
    w = ag.tensor([1.0, -1.0], requires_grad=True)
    ag.asin(w).sum().backward()
    assert w.grad.tolist() == [math.inf, math.inf]
    assert np.isnan(nan)


def test_div_rounding_modes_follow_pytorch():
    i = ag.tensor([5, -5, 7])
    assert ag.div(i, ag.tensor([2, 2, -2]), rounding_mode="trunc").tolist() == [2, -2, -3]
    assert i.div(ag.tensor([2, 2, -2]), rounding_mode="floor").tolist() == [2, -3, -4]
    assert ag.div(i, 2, rounding_mode="floor").dtype == np.int64
    with pytest.raises(ZeroDivisionError):
        ag.div(i, ag.tensor([0, 1, 1]), rounding_mode="floor")
    f = ag.div(ag.tensor([5.0, -5.0, 0.0, 5.5, -5.5]), ag.tensor([0.0, 0.0, 0.0, 2.0, 2.0]), rounding_mode="floor")
    assert f.numpy()[0] == math.inf and f.numpy()[1] == -math.inf and np.isnan(f.numpy()[2])
    assert f.numpy()[3:].tolist() == [2.0, -3.0]
    with pytest.raises(ValueError, match="rounding_mode"):
        ag.div(i, 2, rounding_mode="round")
    x = ag.tensor([1.5, -2.3], requires_grad=True)
    ag.div(x, 2.0, rounding_mode="floor").sum().backward()
    assert x.grad.tolist() == [0.0, 0.0]
    assert ag.div(ag.tensor([1.0]), 4.0).item() == 0.25  # no rounding_mode: true division as before


def test_rsub_alpha_and_integer_rule():
    assert ag.rsub(ag.tensor([1.0, 2.0]), 5, alpha=2).tolist() == [3.0, 1.0]
    assert ag.rsub(ag.tensor([1, 2]), 5).tolist() == [4, 3]
    assert ag.rsub(ag.ones(2), 2.0, alpha=3).dtype == np.float32  # a Python number keeps the tensor's dtype
    with pytest.raises(TypeError, match="alpha"):
        ag.rsub(ag.tensor([1, 2]), 5, alpha=2.5)


def test_lerp_is_exact_at_both_ends():
    a = ag.tensor([0.1, 1e8, -3.0])
    b = ag.tensor([0.3, -1e-8, 7.0])
    assert ag.lerp(a, b, 0.0).tolist() == a.tolist()
    assert ag.lerp(a, b, 1.0).tolist() == b.tolist()


def test_zero_dim_and_empty():
    for fn in (ag.floor, ag.erf, ag.erfinv, ag.sinh, ag.log1p, ag.nan_to_num):
        assert fn(ag.tensor(0.25)).shape == ()
        assert fn(ag.zeros(0, 3)).shape == (0, 3)
    assert ag.atan2(ag.tensor(1.0), ag.zeros(2)).shape == (2,)


def test_softmax_dtype_casts_first():
    x = ag.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    for y in (ag.softmax(x, 1, dtype=np.float64), x.softmax(1, ag.float64), ag.log_softmax(x, -1, dtype=ag.float64)):
        assert y.dtype == np.float64
    s = ag.softmax(x, 1, dtype=np.float64)
    (s * ag.tensor([[1.0, 0.0, 0.0]], dtype=np.float64)).sum().backward()
    assert x.grad.dtype == np.float32
    p = np.exp([1.0, 2.0, 3.0]) / np.exp([1.0, 2.0, 3.0]).sum()
    np.testing.assert_allclose(s.detach().numpy()[0], p, rtol=1e-15)
    np.testing.assert_allclose(x.grad.numpy()[0], p[0] * (np.eye(3)[0] - p), rtol=1e-6)


# ------------------------------------------------------------------ erf's compiled route

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["erf", "erfc"])
def test_erf_kernel_matches_the_plain_path(name, dtype):
    rng = np.random.default_rng(0)
    a = np.concatenate([rng.standard_normal(pointwise.KERNEL_MIN) * 4, [0.0, -0.0, np.inf, -np.inf, np.nan, 30.0]])
    a = a.astype(dtype)[::-1]  # a negatively strided view: the kernel copies it contiguous first
    got = getattr(ag, name)(ag.tensor(a)).numpy()
    plain = (np_erf if name == "erf" else np_erfc)(a)
    # float32: the kernel calls erff/erfcf, which lose digits among the subnormals (below 1.2e-38)
    tol = dict(rtol=2e-7, atol=1e-40) if dtype == np.float32 else dict(rtol=0, atol=0)
    np.testing.assert_allclose(got, plain.astype(dtype), equal_nan=True, **tol)
    small = getattr(ag, name)(ag.tensor(a[:10])).numpy()  # the frompyfunc path, in the same dtype
    np.testing.assert_allclose(small, got[:10], equal_nan=True, **tol)


@given(st.floats(-1, 1, allow_nan=False))
def test_erfinv_inverts_erf(y):
    x = ag.erfinv(ag.tensor([y], dtype=np.float64)).item()
    if abs(y) < 1:
        assert math.erf(x) == pytest.approx(y, rel=4e-16, abs=1e-300)
        if abs(y) > 0.5:  # the tails: 1 - |y| to full relative precision through erfc
            assert math.erfc(abs(x)) == pytest.approx(1 - abs(y), rel=1e-14)
