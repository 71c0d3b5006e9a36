"""Elementwise ops: values against numpy, gradients by gradcheck/gradgradcheck in float64.

Every test draws shapes (mutually broadcastable for binary ops) and values with
Hypothesis through ``autograd_core.testing``; references are plain numpy.
"""

import numpy as np
import pytest
from hypothesis import given, strategies as st

import autograd_core as ag
import nn
from autograd_core.testing import op_test


def np_sigmoid(x):
    return 1 / (1 + np.exp(-x))


# binary arithmetic, broadcasting included
test_add = op_test(lambda a, b: a + b, np.add, 2)
test_radd_scalar = op_test(lambda a: 2.5 + a, lambda a: 2.5 + a)
test_sub = op_test(lambda a, b: a - b, np.subtract, 2)
test_rsub_scalar = op_test(lambda a: 1.5 - a, lambda a: 1.5 - a)
test_mul = op_test(lambda a, b: a * b, np.multiply, 2)
test_div = op_test(lambda a, b: a / b, np.divide, 2, domain=[(-3, 3), (0.5, 3)])
test_rdiv_scalar = op_test(lambda a: 2.0 / a, lambda a: 2.0 / a, domain=(0.5, 3))
test_pow_tensor_tensor = op_test(lambda a, b: a ** b, np.power, 2, domain=[(0.5, 2.5), (-2, 2)])
test_pow_scalar_exponent = op_test(lambda a: a ** 3, lambda a: a ** 3)
test_pow_fractional = op_test(lambda a: a ** 0.5, np.sqrt, domain=(0.2, 3))
test_rpow = op_test(lambda a: 2.0 ** a, lambda a: 2.0 ** a)
test_maximum = op_test(ag.maximum, np.maximum, 2, distinct=True)
test_minimum = op_test(ag.minimum, np.minimum, 2, distinct=True)
test_where = op_test(lambda c, a, b: ag.where(c.data > 0, a, b),
                     lambda c, a, b: np.where(c > 0, a, b), 3, kinks=(0,))

# unary
test_neg = op_test(lambda a: -a, np.negative)
test_abs = op_test(ag.abs, np.abs, kinks=(0,))
test_exp = op_test(ag.exp, np.exp)
test_log = op_test(ag.log, np.log, domain=(0.1, 5))
test_sqrt = op_test(ag.sqrt, np.sqrt, domain=(0.1, 5))
test_sin = op_test(ag.sin, np.sin)
test_cos = op_test(ag.cos, np.cos)
test_tanh = op_test(ag.tanh, np.tanh)
test_sigmoid = op_test(ag.sigmoid, np_sigmoid)
test_relu = op_test(ag.relu, lambda a: np.maximum(a, 0), kinks=(0,))
test_leaky_relu = op_test(lambda a: ag.leaky_relu(a, 0.1), lambda a: np.where(a > 0, a, 0.1 * a), kinks=(0,))
test_elu = op_test(lambda a: ag.elu(a, 1.5), lambda a: np.where(a > 0, a, 1.5 * (np.exp(a) - 1)), kinks=(0,))
test_softplus = op_test(ag.softplus, lambda a: np.log1p(np.exp(a)))
test_softplus_beta_threshold = op_test(
    lambda a: ag.softplus(a, beta=2.0, threshold=3.0),
    lambda a: np.where(2 * a > 3, a, np.log1p(np.exp(2 * a)) / 2), kinks=(1.5,))
test_clamp = op_test(lambda a: ag.clamp(a, -1.0, 0.5), lambda a: np.clip(a, -1.0, 0.5), kinks=(-1.0, 0.5))
test_clamp_min_only = op_test(lambda a: a.clamp(min=0.25), lambda a: np.maximum(a, 0.25), kinks=(0.25,))
test_square = op_test(ag.square, np.square)
# hardshrink's three entry points (function, method, nn layer) against one numpy reference
test_hardshrink = op_test(lambda a: ag.hardshrink(a, 0.7), lambda a: np.where(np.abs(a) > 0.7, a, 0.0),
                          kinks=(-0.7, 0.7))
test_hardshrink_method = op_test(lambda a: a.hardshrink(), lambda a: np.where(np.abs(a) > 0.5, a, 0.0),
                                 kinks=(-0.5, 0.5))
test_hardshrink_layer = op_test(lambda a: nn.Hardshrink(1.0)(a), lambda a: np.where(np.abs(a) > 1.0, a, 0.0),
                                kinks=(-1.0, 1.0))


def test_sigmoid_is_stable_for_large_inputs():
    x = ag.tensor([-100.0, -20.0, 0.0, 20.0, 100.0])
    y = ag.sigmoid(x).numpy()
    assert np.all(np.isfinite(y))
    np.testing.assert_allclose(y, np_sigmoid(np.array([-100.0, -20, 0, 20, 100])).astype(np.float32), rtol=1e-6)
    assert y[1] > 0  # no underflow to 0 through cancellation at -20


def test_softplus_large_values_are_linear_and_finite():
    x = ag.tensor([1000.0, -1000.0], requires_grad=True)
    y = ag.softplus(x)
    np.testing.assert_allclose(y.numpy() if not y.requires_grad else y.detach().numpy(), [1000.0, 0.0])
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 0.0])


def test_maximum_splits_gradient_on_ties_like_pytorch():
    a = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = ag.tensor([1.0, 5.0, 0.0], requires_grad=True)
    ag.maximum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [0.5, 0.0, 1.0])
    np.testing.assert_array_equal(b.grad.numpy(), [0.5, 1.0, 0.0])


def test_relu_gradient_at_zero_is_zero():
    x = ag.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    x.relu().sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 1.0])


def test_pow_gradient_at_zero_base():
    # d/dx x**2 at 0 is 0; d/db 0**b is 0 for b >= 0 (PyTorch's convention), not nan
    x = ag.tensor([0.0, 2.0], dtype=np.float64, requires_grad=True)
    b = ag.tensor([2.0, 3.0], dtype=np.float64, requires_grad=True)
    (x ** b).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 3 * 4.0])
    np.testing.assert_allclose(b.grad.numpy(), [0.0, 8 * np.log(2.0)])


def test_comparisons_have_no_gradient_and_bool_dtype():
    a = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = ag.tensor([3.0, 2.0, 1.0])
    for op, ref in [(ag.eq, np.equal), (ag.ne, np.not_equal), (ag.lt, np.less), (ag.le, np.less_equal),
                    (ag.gt, np.greater), (ag.ge, np.greater_equal)]:
        r = op(a, b)
        assert r.dtype == np.bool_ and not r.requires_grad
        np.testing.assert_array_equal(r.numpy(), ref(a.data, b.data))
    np.testing.assert_array_equal((a == b).numpy(), [False, True, False])
    np.testing.assert_array_equal((a < 2).numpy(), [True, False, False])
    np.testing.assert_array_equal((a >= b).numpy(), [False, True, True])


def test_numpy_array_on_the_left_defers_to_tensor():
    a = ag.tensor([1.0, 2.0], requires_grad=True)
    y = np.array([3.0, 4.0], dtype=np.float32) * a
    assert isinstance(y, ag.Tensor) and y.requires_grad
    y.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [3.0, 4.0])


@given(st.sampled_from(["float32", "float64"]), st.sampled_from(["float32", "float64"]))
def test_mixed_precision_promotes_like_numpy(da, db):
    a = ag.ones(2, 3, dtype=da, requires_grad=True)
    b = ag.ones(3, dtype=db, requires_grad=True)
    y = a * b
    assert y.dtype == np.result_type(np.dtype(da), np.dtype(db))
    y.sum().backward()
    # gradients come back in each input's own dtype
    assert a.grad.dtype == np.dtype(da) and b.grad.dtype == np.dtype(db)
    np.testing.assert_array_equal(b.grad.numpy(), [2.0, 2.0, 2.0])


def test_python_scalars_keep_float32():
    x = ag.tensor([1.0, 2.0])
    assert x.dtype == np.float32
    assert (x * 2.5).dtype == np.float32 and (x + 1).dtype == np.float32 and (2 ** x).dtype == np.float32


def test_broadcast_shape_error_names_op_and_shapes():
    a, b = ag.ones(3, 4), ag.ones(5)
    try:
        a + b
    except ag.ShapeError as e:
        msg = str(e)
        assert "add" in msg and "(3, 4)" in msg and "(5,)" in msg and "broadcast" in msg
    else:
        raise AssertionError("no error")
    import pytest

    with pytest.raises(ValueError):  # also a ValueError, for numpy habits
        a * b
    with pytest.raises(RuntimeError):  # and a RuntimeError, for PyTorch habits
        a - b


# in-place forms: same values and gradients as the out-of-place op (on a non-leaf)
def _inplace(method):
    def f(a, b):
        y = a * 1.0
        getattr(y, method)(b)
        return y
    f.__name__ = method
    return f


_same_shape = dict(broadcast=False)
test_add_ = op_test(_inplace("add_"), np.add, 2, **_same_shape)
test_iadd = op_test(_inplace("__iadd__"), np.add, 2, **_same_shape)
test_sub_ = op_test(_inplace("sub_"), np.subtract, 2, **_same_shape)
test_isub = op_test(_inplace("__isub__"), np.subtract, 2, **_same_shape)
test_mul_ = op_test(_inplace("mul_"), np.multiply, 2, **_same_shape)
test_imul = op_test(_inplace("__imul__"), np.multiply, 2, **_same_shape)
test_div_ = op_test(_inplace("div_"), np.divide, 2, domain=[(-3, 3), (0.5, 3)], **_same_shape)
test_itruediv = op_test(_inplace("__itruediv__"), np.divide, 2, domain=[(-3, 3), (0.5, 3)], **_same_shape)
test_ipow = op_test(_inplace("__ipow__"), np.power, 2, domain=[(0.5, 2), (-2, 2)], **_same_shape)
test_copy_ = op_test(_inplace("copy_"), lambda a, b: b.copy(), 2, **_same_shape)
test_clamp_ = op_test(lambda a: (a * 1.0).clamp_(-0.5, 0.5), lambda a: np.clip(a, -0.5, 0.5), kinks=(-0.5, 0.5))
test_relu_ = op_test(lambda a: (a * 1.0).relu_(), lambda a: np.maximum(a, 0), kinks=(0,))


def test_inplace_broadcasts_the_other_operand_but_not_self():
    y = ag.zeros(2, 3)
    y += ag.tensor([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(y.numpy(), [[1, 2, 3], [1, 2, 3]])
    import pytest

    with pytest.raises(ag.ShapeError, match=r"mul_: the result has shape \(2, 3\) but the tensor modified in place has shape \(3,\)"):
        ag.ones(3).mul_(ag.ones(2, 3))
    with pytest.raises(TypeError, match="add_: result dtype float64 cannot be stored in place into a tensor of dtype int64"):
        ag.arange(3).add_(ag.ones(3))


def test_masked_gradients_are_exactly_zero_even_for_nan_upstream():
    # ReLU, clamp and where send exactly 0 (not NaN) where they are off, like PyTorch
    for dtype in (np.float32, np.float64):
        x = ag.tensor(np.array([-1.0, 2.0, 3.0], dtype=dtype), requires_grad=True)
        x.relu().backward(ag.tensor(np.array([np.nan, np.inf, 1.0], dtype=dtype)))
        assert x.grad.dtype == dtype
        np.testing.assert_array_equal(x.grad.numpy(), [0.0, np.inf, 1.0])
        x.grad = None
        ag.where(x.data > 0, x, 0.0).backward(ag.tensor(np.array([np.nan, 2.0, 3.0], dtype=dtype)))
        np.testing.assert_array_equal(x.grad.numpy(), [0.0, 2.0, 3.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["c", "channels_last", "strided"])
def test_relu_on_large_arrays_matches_numpy_in_every_layout(dtype, layout):
    """Arrays above the serial threshold take the one-pass kernels; results, layout and masks as numpy's."""
    from autograd_core.ops.elementwise import _big
    rng = np.random.default_rng(7)
    shape = (4, 8, 33, 33)
    assert _big(np.empty(shape, dtype))
    a = rng.integers(-3, 4, size=shape).astype(dtype)  # exact zeros: gradient 0 there
    a[0, 0, 0, :3] = [np.nan, np.inf, -np.inf]
    g = rng.standard_normal(shape).astype(dtype)
    g[1, 2, 3, 4] = np.nan
    a_pos = ~(a <= 0)  # where the gradient passes: a > 0, and NaN (PyTorch's threshold_backward)

    def relu_input(requires_grad):
        """(leaf, the relu's input with ``a``'s values in the layout under test)."""
        if layout == "channels_last":  # a view in NHWC memory, as the GEMM convs return
            leaf = ag.tensor(np.ascontiguousarray(a.transpose(0, 2, 3, 1)), requires_grad=requires_grad)
            return leaf, leaf.permute(0, 3, 1, 2)
        if layout == "strided":  # every other column: dense in no order, numpy's path
            leaf = ag.tensor(np.repeat(a, 2, axis=3), requires_grad=requires_grad)
            return leaf, leaf[..., ::2]
        leaf = ag.tensor(a, requires_grad=requires_grad)
        return leaf, leaf

    leaf, x = relu_input(True)
    y = x.relu()
    np.testing.assert_array_equal(y.data, np.maximum(a, 0))
    if layout == "channels_last":
        assert not x.data.flags.c_contiguous and y.data.strides == x.data.strides  # memory order kept
    y.backward(ag.tensor(g))
    want = np.where(a_pos, g, 0.0)
    got = leaf.grad.data
    if layout == "channels_last":
        got = got.transpose(0, 3, 1, 2)
    elif layout == "strided":
        assert not got[..., 1::2].any()
        got = got[..., ::2]
    np.testing.assert_array_equal(got, want)
    # the backward's select is itself differentiable (double backward through ReLU)
    leaf2, x2 = relu_input(True)
    gy = ag.tensor(g, requires_grad=True)
    (gx,) = ag.grad(x2.relu(), [x2], grad_outputs=[gy], create_graph=True)
    np.testing.assert_array_equal(gx.data, want)
    (ggy,) = ag.grad((gx * 2.0).sum(), [gy])
    np.testing.assert_array_equal(ggy.data, np.where(a_pos, 2.0, 0.0))


def test_dense_order_and_inverse_order_agree_with_numpy_argsort():
    """The stride-order helpers the kernels' memory-order paths use (plain Python, for speed) against the
    numpy formulation: every axis order of a 4-d array, also sliced, size-1 and broadcast views."""
    import itertools

    from autograd_core.ops._common import dense_order, inverse_order

    def reference(a):
        if a.flags.c_contiguous:
            return None
        perm = tuple(int(i) for i in np.argsort([-s for s in a.strides], kind="stable"))
        return perm if a.transpose(perm).flags.c_contiguous else False

    base = np.zeros((2, 3, 4, 5))
    seen = set()
    for p in itertools.permutations(range(4)):
        a = base.transpose(p)
        for v in (a, a[:, ::2], a[..., :1], np.broadcast_to(a[:1], a.shape)):
            got = dense_order(v)
            assert got == reference(v), (p, v.strides)
            seen.add(type(got))
            if got:
                assert v.transpose(got).flags.c_contiguous
        assert inverse_order(p) == tuple(np.argsort(p))
        assert base.transpose(p).transpose(inverse_order(p)).shape == base.shape
    assert seen == {type(None), tuple, bool}  # all three answers occur
