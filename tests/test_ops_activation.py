"""The activations of ``ops/activation.py`` and their layers: values against numpy, gradients by
gradcheck/gradgradcheck in float64, and PyTorch's behaviour on the edges (kinks, NaN, integers, empty, 0-d).

The edge values written out below were read off PyTorch 2.13 (a developer check, not a test dependency).
"""

import math

import numpy as np
import pytest
from hypothesis import strategies as st

import autograd_core as ag
import nn
import nn.functional as F
from autograd_core.ops.activation import _ndtr
from autograd_core.testing import op_test, shapes

_erf = np.vectorize(math.erf, otypes=[np.float64])
_erfc = np.vectorize(math.erfc, otypes=[np.float64])


def np_sigmoid(x):
    return 1 / (1 + np.exp(-x))


def np_softplus(x):
    return np.log1p(np.exp(x))


# --------------------------------------------------------------------------- the normal CDF

def test_ndtr_edges_tail_and_dtypes():
    p = _ndtr(np.array([np.nan, np.inf, -np.inf, 0.0]))
    assert np.isnan(p[0]) and p[1] == 1.0 and p[2] == 0.0 and p[3] == 0.5
    assert _ndtr(np.ones(3, np.float32)).dtype == np.float32
    assert _ndtr(np.zeros((0, 2))).shape == (0, 2)
    # relatively accurate far in the left tail (1 + erf(x / sqrt 2) would be 0 there)
    np.testing.assert_allclose(_ndtr(np.array([-10.0, -30.0])), _erfc(np.array([10.0, 30.0]) / math.sqrt(2)) / 2,
                               rtol=1e-15)


# --------------------------------------------------------------------------- values and gradients

def np_gelu(x):
    return x * 0.5 * (1 + _erf(x / math.sqrt(2)))


def np_gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def np_hardswish(x):
    return x * np.clip(x + 3, 0, 6) / 6


def np_elu(x, a=1.0):
    return np.where(x > 0, x, a * np.expm1(np.minimum(x, 0)))


SELU_A, SELU_S = 1.6732632423543772, 1.0507009873554805

test_gelu = op_test(F.gelu, np_gelu, domain=(-5, 5))
test_gelu_tanh = op_test(lambda a: F.gelu(a, approximate="tanh"), np_gelu_tanh, domain=(-5, 5))
test_silu = op_test(F.silu, lambda a: a * np_sigmoid(a), domain=(-6, 6))
test_mish = op_test(F.mish, lambda a: a * np.tanh(np_softplus(a)), domain=(-6, 6))
test_hardswish = op_test(F.hardswish, np_hardswish, domain=(-5, 5), kinks=(-3, 3))
test_hardsigmoid = op_test(F.hardsigmoid, lambda a: np.clip(a / 6 + 0.5, 0, 1), domain=(-5, 5), kinks=(-3, 3))
test_hardtanh = op_test(lambda a: F.hardtanh(a, -0.5, 1.5), lambda a: np.clip(a, -0.5, 1.5), kinks=(-0.5, 1.5))
test_relu6 = op_test(F.relu6, lambda a: np.clip(a, 0, 6), domain=(-2, 8), kinks=(0, 6))
test_logsigmoid = op_test(F.logsigmoid, lambda a: np.log(np_sigmoid(a)), domain=(-8, 8))
test_selu = op_test(F.selu, lambda a: SELU_S * np_elu(a, SELU_A), kinks=(0,))
test_celu = op_test(lambda a: F.celu(a, 0.5), lambda a: np.where(a > 0, a, 0.5 * np.expm1(a / 0.5)), kinks=(0,))
test_softsign = op_test(F.softsign, lambda a: a / (1 + np.abs(a)), kinks=(0,))
test_tanhshrink = op_test(F.tanhshrink, lambda a: a - np.tanh(a))
test_threshold = op_test(lambda a: F.threshold(a, 0.5, -2.0), lambda a: np.where(a > 0.5, a, -2.0), kinks=(0.5,))
test_softshrink = op_test(lambda a: F.softshrink(a, 0.7), lambda a: np.where(a > 0.7, a - 0.7,
                                                                              np.where(a < -0.7, a + 0.7, 0.0)),
                          kinks=(-0.7, 0.7))
test_rrelu_eval = op_test(lambda a: F.rrelu(a, 0.1, 0.3), lambda a: np.where(a > 0, a, 0.2 * a), kinks=(0,))


def _softmin_kwargs(shapes_):
    nd = len(shapes_[0])
    return st.fixed_dictionaries({"dim": st.integers(-max(nd, 1), max(nd, 1) - 1)})


def _np_softmin(a, dim):
    if a.ndim == 0:
        return np.ones_like(a)
    e = np.exp(-a - np.max(-a, axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)


test_softmin = op_test(lambda a, dim: F.softmin(a, dim), _np_softmin, kwargs=_softmin_kwargs)


def _glu_shapes():
    """A shape with at least one even dimension (the one glu halves)."""
    return shapes(min_dims=1, max_dims=3).flatmap(
        lambda s: st.integers(0, len(s) - 1).map(lambda d: (tuple(2 * n if i == d else n for i, n in enumerate(s)),)))


def _np_glu(a, dim):
    first, second = np.split(a, 2, axis=dim)
    return first * np_sigmoid(second)


test_glu = op_test(lambda a, dim: F.glu(a, dim), _np_glu, shapes=_glu_shapes(),
                   kwargs=lambda shp: st.fixed_dictionaries({"dim": st.sampled_from(
                       [d for d in range(-len(shp[0]), len(shp[0])) if shp[0][d] % 2 == 0])}))


def _prelu_shapes():
    """(input, weight) shapes: (N, C, *) with one slope or one per channel."""
    return st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(0, 2), st.booleans()).map(
        lambda t: ((t[0], t[1]) + (3,) * t[2], (1,) if t[3] else (t[1],)))


def _np_prelu(x, w):
    wv = w if w.size == 1 else w.reshape((1, -1) + (1,) * (x.ndim - 2))
    return np.where(x > 0, x, wv * x)


test_prelu = op_test(F.prelu, _np_prelu, 2, shapes=_prelu_shapes(), kinks=(0,))


def test_prelu_on_1d_and_0d_inputs_and_as_a_method():
    x = ag.tensor([-2.0, 1.0, -4.0], dtype=np.float64, requires_grad=True)
    w = ag.tensor([0.1, 0.2, 0.3], dtype=np.float64, requires_grad=True)
    y = F.prelu(x, w)  # a 1-D input: its only dimension holds the channels
    np.testing.assert_allclose(y.detach().numpy(), [-0.2, 1.0, -1.2])
    assert ag.gradcheck(F.prelu, (x, w)) and ag.gradgradcheck(F.prelu, (x, w))
    assert x.prelu(ag.tensor([0.5], dtype=np.float64)).tolist() == [-1.0, 1.0, -2.0]
    assert F.prelu(ag.tensor(-2.0), ag.tensor(0.25)).item() == -0.5
    with pytest.raises(ag.ShapeError, match="2 elements.*3 channels"):
        F.prelu(ag.zeros(4, 3), ag.zeros(2))


# --------------------------------------------------------------------------- PyTorch's edges

def _grad_at(fn, points):
    x = ag.tensor(points, dtype=np.float64, requires_grad=True)
    fn(x).sum().backward()
    return x.grad.numpy().tolist()


def test_gradients_at_the_kinks_are_pytorchs():
    assert _grad_at(F.hardtanh, [-1.0, 1.0]) == [0.0, 0.0]
    assert _grad_at(F.relu6, [0.0, 6.0]) == [0.0, 0.0]
    assert _grad_at(F.hardsigmoid, [-3.0, 3.0]) == [0.0, 0.0]
    assert _grad_at(F.hardswish, [-3.0, 3.0]) == [0.0, 1.0]
    assert _grad_at(lambda x: F.threshold(x, 0.5, -1.0), [0.5]) == [0.0]
    assert _grad_at(F.softshrink, [-0.5, 0.5]) == [0.0, 0.0]
    assert _grad_at(F.celu, [0.0]) == [1.0]
    np.testing.assert_allclose(_grad_at(F.selu, [0.0]), [SELU_S * SELU_A])
    assert _grad_at(lambda x: F.prelu(x, ag.tensor([0.25], dtype=np.float64)), [0.0]) == [0.25]


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # inf / inf in softsign
def test_nan_and_infinities_follow_pytorch():
    x = ag.tensor([np.nan, np.inf, -np.inf, 0.0, 3.0, -3.0])

    def vals(fn):
        return fn(x).numpy().tolist()

    def same(a, b):
        return all((np.isnan(p) and np.isnan(q)) or p == q for p, q in zip(a, b))

    assert same(vals(F.hardtanh), [np.nan, 1.0, -1.0, 0.0, 1.0, -1.0])
    assert same(vals(F.relu6), [np.nan, 6.0, 0.0, 0.0, 3.0, 0.0])
    assert same(vals(F.hardsigmoid), [np.nan, 1.0, 0.0, 0.5, 1.0, 0.0])
    assert same(vals(F.hardswish), [np.nan, np.inf, np.nan, 0.0, 3.0, 0.0])
    assert same(vals(lambda t: F.threshold(t, 0.5, -1.0)), [np.nan, np.inf, -1.0, -1.0, 3.0, -1.0])
    assert same(vals(F.softshrink), [np.nan, np.inf, -np.inf, 0.0, 2.5, -2.5])
    assert same(vals(F.gelu)[:4], [np.nan, np.inf, np.nan, 0.0])
    assert same(vals(F.silu)[:4], [np.nan, np.inf, np.nan, 0.0])
    assert same(vals(F.logsigmoid)[:3], [np.nan, 0.0, -np.inf])
    assert same(vals(F.softsign)[:4], [np.nan, np.nan, np.nan, 0.0])
    assert np.isnan(vals(lambda t: F.softmin(t, 0))).all()
    # where PyTorch passes the gradient through NaN (the comparisons fail), so do we
    for fn, g in ((F.hardtanh, 1.0), (F.relu6, 1.0), (F.hardsigmoid, 0.0), (F.hardswish, 1.0),
                  (F.softshrink, 1.0), (lambda t: F.threshold(t, 0.5, -1.0), 1.0)):
        assert _grad_at(fn, [np.nan]) == [g]


ALL = {
    "gelu": F.gelu, "silu": F.silu, "mish": F.mish, "hardswish": F.hardswish, "hardsigmoid": F.hardsigmoid,
    "hardtanh": F.hardtanh, "relu6": F.relu6, "logsigmoid": F.logsigmoid, "softmin": lambda x: F.softmin(x, 0),
    "selu": F.selu, "celu": F.celu, "softsign": F.softsign, "tanhshrink": F.tanhshrink,
    "threshold": lambda x: F.threshold(x, 0.5, -1), "softshrink": F.softshrink, "glu": lambda x: F.glu(x, 0),
    "prelu": lambda x: F.prelu(x, ag.tensor([0.25], dtype=x.dtype)), "rrelu": F.rrelu,
}


@pytest.mark.parametrize("name", sorted(ALL))
def test_empty_inputs_give_empty_outputs(name):
    y = ALL[name](ag.zeros(0))
    assert y.shape == (0,) and y.dtype == np.float32


@pytest.mark.parametrize("name", sorted(set(ALL) - {"glu"}))
def test_0d_inputs_give_0d_outputs(name):
    x = ag.tensor(1.5, dtype=np.float64, requires_grad=True)
    y = ALL[name](x)
    assert y.shape == ()
    y.backward()
    assert x.grad.shape == ()


def test_integer_inputs_as_pytorch_treats_them():
    i = ag.tensor([-2, 0, 3])
    assert F.hardtanh(i).dtype == np.int64 and F.hardtanh(i).tolist() == [-1, 0, 1]
    assert F.relu6(i).tolist() == [0, 0, 3] and F.relu6(i).dtype == np.int64
    assert F.threshold(i, 0.5, -1).tolist() == [-1, -1, 3] and F.threshold(i, 0.5, -1).dtype == np.int64
    assert F.softsign(i).dtype == np.float32 and F.tanhshrink(i).dtype == np.float32
    np.testing.assert_allclose(F.softsign(i).numpy(), [-2 / 3, 0, 0.75], rtol=1e-6)
    for name in ("gelu", "silu", "mish", "hardswish", "hardsigmoid", "logsigmoid", "softmin", "selu", "celu",
                 "softshrink", "prelu", "rrelu"):
        with pytest.raises(TypeError, match=f"{name}: expected a floating-point tensor, got dtype int64"):
            ALL[name](i)


def test_argument_errors_name_the_op():
    x = ag.randn(3, 4)
    with pytest.raises(ValueError, match="gelu: approximate must be 'none' or 'tanh'"):
        F.gelu(x, approximate="fast")
    with pytest.raises(ValueError, match="hardtanh: min_val"):
        F.hardtanh(x, 1.0, -1.0)
    with pytest.raises(ag.ShapeError, match="glu: dimension 0 must have an even size.*size 3"):
        F.glu(x, 0)
    with pytest.raises(ag.ShapeError, match="glu: does not take a scalar"):
        F.glu(ag.tensor(1.0))
    with pytest.raises(IndexError, match="dimension 2 is out of range"):
        F.glu(x, 2)
    with pytest.raises(ValueError, match="softshrink: lambd must be non-negative"):
        F.softshrink(x, -1.0)
    with pytest.raises(TypeError, match="softmin: pass dim"):
        F.softmin(x)


def test_gelu_tail_and_float32():
    x = ag.tensor([-40.0, -10.0, 10.0], dtype=np.float64)
    np.testing.assert_allclose(F.gelu(x).numpy(), [-40 * _erfc(40 / math.sqrt(2)) / 2,
                                                   -10 * _erfc(10 / math.sqrt(2)) / 2, 10.0], rtol=1e-13)
    x32 = ag.randn(100)
    np.testing.assert_allclose(F.gelu(x32).numpy(), np_gelu(x32.numpy().astype(np.float64)), rtol=1e-6, atol=1e-7)
    assert F.gelu(x32).dtype == np.float32


def test_rrelu_training_draws_a_slope_per_negative_element():
    ag.manual_seed(0)
    x = ag.tensor(-np.ones(2000), dtype=np.float64, requires_grad=True)
    y = F.rrelu(x, 0.1, 0.3, training=True)
    slopes = -y.detach().numpy()
    assert 0.1 <= slopes.min() and slopes.max() <= 0.3 and slopes.std() > 0.03
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), slopes)  # the gradient is the slope drawn
    assert F.rrelu(ag.tensor([2.0]), training=True).item() == 2.0


def test_inplace_forms_overwrite_their_input():
    for fn in (F.silu, F.mish, F.hardswish, F.hardsigmoid, F.relu6, F.selu, F.celu, F.hardtanh):
        x = ag.tensor([-1.0, 0.5, 4.0])
        want = fn(x.clone()).numpy()
        out = fn(x, inplace=True)
        assert out is x and np.allclose(x.numpy(), want)


def test_silu_and_gelu_third_derivative():
    # _Reuse keeps the saved values differentiable: d3/dx3 of x*sigmoid(x) at 0.3 by finite differences
    def d2(fn, v):
        x = ag.tensor(v, dtype=np.float64, requires_grad=True)
        (g,) = ag.grad(fn(x), x, create_graph=True)
        (gg,) = ag.grad(g, x, create_graph=True)
        (ggg,) = ag.grad(gg, x)
        return gg.item(), ggg.item()

    for fn in (F.silu, F.gelu, F.mish):
        h = 1e-5
        _, third = d2(fn, 0.3)
        fd = (d2(fn, 0.3 + h)[0] - d2(fn, 0.3 - h)[0]) / (2 * h)
        assert abs(third - fd) < 1e-6, fn


# --------------------------------------------------------------------------- layers

LAYERS = [
    (nn.GELU(), F.gelu), (nn.GELU("tanh"), lambda x: F.gelu(x, approximate="tanh")), (nn.SiLU(), F.silu),
    (nn.Mish(), F.mish), (nn.Hardswish(), F.hardswish), (nn.Hardsigmoid(), F.hardsigmoid),
    (nn.Hardtanh(-2, 2), lambda x: F.hardtanh(x, -2, 2)), (nn.ReLU6(), F.relu6), (nn.LogSigmoid(), F.logsigmoid),
    (nn.Softmin(1), lambda x: F.softmin(x, 1)), (nn.SELU(), F.selu), (nn.CELU(2.0), lambda x: F.celu(x, 2.0)),
    (nn.Softsign(), F.softsign), (nn.Tanhshrink(), F.tanhshrink), (nn.Threshold(0.1, 20), lambda x: F.threshold(x, 0.1, 20)),
    (nn.GLU(1), lambda x: F.glu(x, 1)), (nn.Softshrink(0.3), lambda x: F.softshrink(x, 0.3)),
    (nn.Softplus(2.0, 5.0), lambda x: F.softplus(x, 2.0, 5.0)), (nn.Softmax2d(), lambda x: F.softmax(x, 1)),
    (nn.PReLU(), lambda x: F.prelu(x, ag.tensor([0.25]))),
]


@pytest.mark.parametrize("layer,fn", LAYERS, ids=[type(m).__name__ for m, _ in LAYERS])
def test_layers_compute_their_functional_form(layer, fn):
    x = ag.randn(2, 4, 3, 3)
    np.testing.assert_array_equal(layer(x).detach().numpy(), fn(x).detach().numpy())
    repr(layer)


def test_prelu_layer_learns_one_slope_per_channel():
    m = nn.PReLU(3, init=0.1).double()
    assert m.weight.shape == (3,) and np.allclose(m.weight.detach().numpy(), 0.1)
    x = ag.tensor(-np.ones((2, 3, 2)), dtype=np.float64)
    m(x).sum().backward()
    np.testing.assert_allclose(m.weight.grad.numpy(), [-4.0, -4.0, -4.0])
    assert set(m.state_dict()) == {"weight"}


def test_rrelu_layer_is_deterministic_in_eval():
    m = nn.RReLU(0.1, 0.3)
    x = ag.tensor([-1.0, 2.0])
    m.eval()
    np.testing.assert_allclose(m(x).numpy(), [-0.2, 2.0])


# --------------------------------------------------------------------------- GELU's kernels

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["nchw", "channels_last"])
def test_gelu_kernels_match_the_numpy_path(monkeypatch, dtype, layout):
    from autograd_core.ops import activation
    rng = np.random.default_rng(5)
    base = rng.uniform(-6, 6, (3, 5, 4, 6)).astype(dtype)
    base.reshape(-1)[:4] = [np.nan, np.inf, -np.inf, 0.0]
    x = base if layout == "nchw" else np.ascontiguousarray(base.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    g = rng.standard_normal(x.shape).astype(dtype)
    g = g if layout == "nchw" else np.ascontiguousarray(g.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)

    def run():
        t = ag.from_numpy(x).requires_grad_()
        y = F.gelu(t)
        y.backward(ag.from_numpy(g))
        return y.detach().numpy(), t.grad.numpy(), y.data.strides

    numpy_path = run()
    monkeypatch.setattr(activation, "_ERF_COST", 1e9)  # every array counts as large: the kernels
    kernel_path = run()
    tol = dict(rtol=2e-6, atol=1e-7) if dtype == np.float32 else dict(rtol=1e-13, atol=1e-15)
    for a, b in zip(kernel_path[:2], numpy_path[:2]):
        np.testing.assert_allclose(a, b, equal_nan=True, **tol)
    assert kernel_path[2] == x.strides  # the output keeps the input's memory order
    assert np.isnan(kernel_path[0].reshape(-1)[0]) and kernel_path[0].reshape(-1)[1] == np.inf
