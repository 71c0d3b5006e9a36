"""Pooling against plain numpy references (explicit window loops), gradcheck, ties and errors."""

import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

import autograd_core as ag
from autograd_core.testing import untied


# --------------------------------------------------------------------------- references

def _out(L, k, s, p, d, ceil_mode):
    """PyTorch's documented output size."""
    span = (L + 2 * p - d * (k - 1) - 1) / s
    o = (math.ceil(span) if ceil_mode else math.floor(span)) + 1
    if ceil_mode and (o - 1) * s >= L + p:
        o -= 1
    return o


def max_pool_ref(x, k, s, p, d, ceil_mode):
    """(values, flat indices) by looping over every window."""
    N, C, H, W = x.shape
    OH, OW = _out(H, k[0], s[0], p[0], d[0], ceil_mode), _out(W, k[1], s[1], p[1], d[1], ceil_mode)
    y = np.zeros((N, C, OH, OW))
    idx = np.zeros((N, C, OH, OW), np.int64)
    for n in range(N):
        for c in range(C):
            for i in range(OH):
                for j in range(OW):
                    best, arg = -np.inf, -1
                    for a in range(k[0]):
                        for b in range(k[1]):
                            h, w = i * s[0] - p[0] + a * d[0], j * s[1] - p[1] + b * d[1]
                            v = x[n, c, h, w] if 0 <= h < H and 0 <= w < W else None
                            # PyTorch's rule: a NaN beats any number (NaN propagates)
                            if v is not None and (arg < 0 or v > best or (np.isnan(v) and not np.isnan(best))):
                                best, arg = x[n, c, h, w], h * W + w
                    y[n, c, i, j], idx[n, c, i, j] = best, arg
    return y, idx


def max_pool_grad_ref(x_shape, idx, gy):
    dx = np.zeros(x_shape)
    N, C, H, W = x_shape
    for n, c, i, j in np.ndindex(*idx.shape):
        if idx[n, c, i, j] < 0:  # a window entirely in the padding (only with dilation)
            continue
        dx[n, c, idx[n, c, i, j] // W, idx[n, c, i, j] % W] += gy[n, c, i, j]
    return dx


def avg_pool_ref(x, k, s, p, ceil_mode, count_include_pad, divisor_override=None):
    N, C, H, W = x.shape
    OH, OW = _out(H, k[0], s[0], p[0], 1, ceil_mode), _out(W, k[1], s[1], p[1], 1, ceil_mode)
    y = np.zeros((N, C, OH, OW))
    for i in range(OH):
        for j in range(OW):
            h0, w0 = i * s[0] - p[0], j * s[1] - p[1]
            h1, w1 = min(h0 + k[0], H + p[0]), min(w0 + k[1], W + p[1])
            size = (h1 - h0) * (w1 - w0)
            h0, w0, h1, w1 = max(h0, 0), max(w0, 0), min(h1, H), min(w1, W)
            total = x[:, :, h0:h1, w0:w1].sum(axis=(2, 3))
            div = divisor_override or (size if count_include_pad else (h1 - h0) * (w1 - w0))
            y[:, :, i, j] = total / div
    return y


def adaptive_avg_ref(x, oh, ow):
    H, W = x.shape[2:]
    y = np.zeros(x.shape[:2] + (oh, ow))
    for i in range(oh):
        for j in range(ow):
            h0, h1 = (i * H) // oh, math.ceil((i + 1) * H / oh)
            w0, w1 = (j * W) // ow, math.ceil((j + 1) * W / ow)
            y[:, :, i, j] = x[:, :, h0:h1, w0:w1].mean(axis=(2, 3))
    return y


def _adjoint_check(op, x, rng):
    """The gradient of sum(op(x) * gy) must equal the Jacobian-transpose product, via <Jv, gy> = <v, J^T gy>."""
    xt = ag.tensor(x, requires_grad=True)
    y = op(xt)
    gy = rng.standard_normal(y.shape)
    y.backward(gy)
    v = rng.standard_normal(x.shape)
    eps = 1e-6
    jv = (op(ag.tensor(x + eps * v)).data - op(ag.tensor(x - eps * v)).data) / (2 * eps)
    np.testing.assert_allclose(np.sum(jv * gy), np.sum(v * xt.grad.data), rtol=1e-6, atol=1e-8)


# --------------------------------------------------------------------------- strategies

@st.composite
def pool_cases(draw, dilation=True):
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    p = (draw(st.integers(0, k[0] // 2)), draw(st.integers(0, k[1] // 2)))
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) if dilation else (1, 1)
    ceil_mode = draw(st.booleans())
    H = draw(st.integers(max(1, d[0] * (k[0] - 1) + 1 - 2 * p[0]), 8))
    W = draw(st.integers(max(1, d[1] * (k[1] - 1) + 1 - 2 * p[1]), 8))
    N, C = draw(st.integers(1, 2)), draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2 ** 16))
    # few distinct values: ties are common, as after a ReLU
    x = np.random.default_rng(seed).integers(-3, 4, size=(N, C, H, W)).astype(np.float64)
    return x, k, s, p, d, ceil_mode


# --------------------------------------------------------------------------- max pooling

def _channels_last(x):
    """The same (N, C, H, W) values in channels-last memory (what conv2d returns)."""
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


@given(pool_cases(), st.booleans())
def test_max_pool2d_matches_reference_with_ties(case, channels_last):
    x, k, s, p, d, ceil_mode = case
    want, want_idx = max_pool_ref(x, k, s, p, d, ceil_mode)
    xt = ag.tensor(_channels_last(x) if channels_last else x, requires_grad=True)
    y, idx = ag.max_pool2d(xt, k, s, p, d, ceil_mode, return_indices=True)
    np.testing.assert_array_equal(y.data, want)
    np.testing.assert_array_equal(idx.data, want_idx)  # first maximum wins ties
    assert idx.dtype == np.int64 and not idx.requires_grad
    gy = np.random.default_rng(0).standard_normal(want.shape)
    y.backward(gy)
    np.testing.assert_allclose(xt.grad.data, max_pool_grad_ref(x.shape, want_idx, gy), atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("H,W,ceil_mode", [(28, 28, False), (7, 9, False), (7, 9, True), (2, 2, False)])
def test_max_pool2d_2x2_fast_path_matches_reference(dtype, H, W, ceil_mode):
    """k2 s2 (LeNet's pooling) on NCHW memory has a kernel of its own; ties, NaNs and odd sizes included."""
    rng = np.random.default_rng(H * W)
    x = rng.integers(-2, 3, size=(3, 5, H, W)).astype(dtype)
    x[0, 1, 0, 1] = np.nan  # a NaN second in its window still wins
    x[2, 4, -1, -1] = np.nan  # dropped by floor mode, kept by ceil mode
    want, want_idx = max_pool_ref(x.astype(np.float64), (2, 2), (2, 2), (0, 0), (1, 1), ceil_mode)
    xt = ag.tensor(x, requires_grad=True)
    y, idx = ag.max_pool2d(xt, 2, ceil_mode=ceil_mode, return_indices=True)
    np.testing.assert_array_equal(y.data, want.astype(dtype))
    np.testing.assert_array_equal(idx.data, want_idx)
    gy = rng.standard_normal(want.shape).astype(dtype)
    y.backward(gy)
    np.testing.assert_allclose(xt.grad.data, max_pool_grad_ref(x.shape, want_idx, gy), rtol=1e-6)


def test_max_pool2d_overlapping_windows_add_gradients():
    # kernel 3 stride 2: the centre column of each window is shared by two windows
    x = np.zeros((1, 1, 1, 5))
    x[0, 0, 0, 2] = 1.0
    xt = ag.tensor(x, requires_grad=True)
    y = ag.max_pool2d(xt, (1, 3), (1, 2))
    assert y.data.tolist() == [[[[1.0, 1.0]]]]
    y.sum().backward()
    assert xt.grad.data.tolist() == [[[[0.0, 0.0, 2.0, 0.0, 0.0]]]]


def test_max_pool2d_first_maximum_wins_a_tie():
    x = ag.tensor(np.array([[[[0.0, 5.0], [5.0, 5.0]]]]), requires_grad=True)
    ag.max_pool2d(x, 2).sum().backward()
    assert x.grad.data.tolist() == [[[[0.0, 1.0], [0.0, 0.0]]]]


def test_max_pool2d_propagates_nan():
    x = np.array([[[[1.0, np.nan], [3.0, 2.0]]]])
    assert np.isnan(ag.max_pool2d(x, 2).item())
    assert np.isnan(ag.max_pool2d(x.astype(np.float32), 2).item())


def test_max_pool2d_window_entirely_in_padding_gives_minus_inf_and_no_gradient():
    # width 1, padding 1, kernel 2 with dilation 2: the taps fall at -1 and 1
    x = ag.tensor(np.array([[[[2.0]]]]), requires_grad=True)
    y = ag.max_pool2d(x, (1, 2), 1, (0, 1), (1, 2))
    assert y.data.tolist() == [[[[-np.inf]]]]
    y.sum().backward()
    assert x.grad.data.tolist() == [[[[0.0]]]]


def test_max_pool2d_gradcheck_and_gradgradcheck():
    rng = np.random.default_rng(0)
    (x,) = untied([rng.standard_normal((2, 2, 5, 6))], 1e-2)
    xt = ag.tensor(x, requires_grad=True)

    def f(x):
        return ag.max_pool2d(x, 3, 2, 1)

    assert ag.gradcheck(f, (xt,))
    assert ag.gradgradcheck(f, (xt,))


def test_max_pool2d_float32_and_channels_last_view():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 5, 6, 6)).astype(np.float32)
    y = ag.max_pool2d(x, 2)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y.data, max_pool_ref(x, (2, 2), (2, 2), (0, 0), (1, 1), False)[0])
    np.testing.assert_array_equal(ag.max_pool2d(_channels_last(x), 2).data, y.data)
    # the gradient of a leaf comes back in the leaf's layout, either way
    for arr in (x, _channels_last(x)):
        xt = ag.from_numpy(arr).requires_grad_()  # shares memory (ag.tensor copies in C order)
        ag.max_pool2d(xt, 2).sum().backward()
        assert xt.grad.data.strides == arr.strides
        np.testing.assert_array_equal(xt.grad.data, max_pool_grad_ref(
            x.shape, max_pool_ref(x, (2, 2), (2, 2), (0, 0), (1, 1), False)[1], np.ones(y.shape)))


def test_max_pool1d():
    x = np.array([[[1.0, 3.0, 2.0, 5.0, 4.0]]])
    y, idx = ag.max_pool1d(x, 2, 1, return_indices=True)
    assert y.data.tolist() == [[[3.0, 3.0, 5.0, 5.0]]] and idx.data.tolist() == [[[1, 1, 3, 3]]]
    assert ag.max_pool1d(x, 2, ceil_mode=True).data.tolist() == [[[3.0, 5.0, 4.0]]]
    assert ag.max_pool1d(x[0], 3, 2, padding=1).data.tolist() == [[3.0, 5.0, 5.0]]


# --------------------------------------------------------------------------- average pooling

@given(pool_cases(dilation=False), st.booleans(), st.sampled_from([None, 3]), st.booleans())
def test_avg_pool2d_matches_reference(case, count_include_pad, divisor_override, channels_last):
    x, k, s, p, _, ceil_mode = case
    want = avg_pool_ref(x, k, s, p, ceil_mode, count_include_pad, divisor_override)
    y = ag.avg_pool2d(_channels_last(x) if channels_last else x, k, s, p, ceil_mode, count_include_pad,
                      divisor_override)
    np.testing.assert_allclose(y.data, want, rtol=1e-12, atol=1e-12)
    _adjoint_check(lambda t: ag.avg_pool2d(t, k, s, p, ceil_mode, count_include_pad, divisor_override), x,
                   np.random.default_rng(0))


def test_avg_pool2d_gradcheck_and_gradgradcheck():
    rng = np.random.default_rng(0)
    xt = ag.tensor(rng.standard_normal((2, 2, 5, 6)), requires_grad=True)

    def f(x):
        return ag.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False)

    assert ag.gradcheck(f, (xt,))
    assert ag.gradgradcheck(f, (xt,))


def test_avg_pool1d():
    x = np.array([[[1.0, 2.0, 3.0, 4.0, 5.0]]])
    assert ag.avg_pool1d(x, 2).data.tolist() == [[[1.5, 3.5]]]
    np.testing.assert_allclose(ag.avg_pool1d(x, 3, 2, 1).data, [[[1.0, 3.0, 3.0]]])
    np.testing.assert_allclose(ag.avg_pool1d(x, 3, 2, 1, count_include_pad=False).data, [[[1.5, 3.0, 4.5]]])


@given(st.integers(1, 9), st.integers(1, 9), st.integers(1, 5), st.integers(1, 5), st.integers(0, 2 ** 16))
def test_adaptive_avg_pool2d_matches_reference(H, W, oh, ow, seed):
    x = np.random.default_rng(seed).standard_normal((2, 3, H, W))
    np.testing.assert_allclose(ag.adaptive_avg_pool2d(x, (oh, ow)).data, adaptive_avg_ref(x, oh, ow), atol=1e-12)
    _adjoint_check(lambda t: ag.adaptive_avg_pool2d(t, (oh, ow)), x, np.random.default_rng(seed))


def test_global_average_pooling_and_none_sizes():
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5))
    np.testing.assert_allclose(ag.adaptive_avg_pool2d(x, 1).data, x.mean(axis=(2, 3), keepdims=True), atol=1e-12)
    assert ag.adaptive_avg_pool2d(x, (2, None)).shape == (2, 3, 2, 5)
    np.testing.assert_allclose(ag.adaptive_avg_pool1d(x[:, :, 0], 2).data, adaptive_avg_ref(x[:, :, :1], 1, 2)[:, :, 0])


def test_adaptive_avg_pool2d_gradcheck():
    xt = ag.tensor(np.random.default_rng(0).standard_normal((1, 2, 5, 7)), requires_grad=True)
    assert ag.gradcheck(lambda x: ag.adaptive_avg_pool2d(x, (3, 4)), (xt,))


# --------------------------------------------------------------------------- sizes and errors

@pytest.mark.parametrize("n,f,p,s", [(32, 2, 0, 2), (28, 2, 0, 2), (7, 3, 1, 2), (6, 3, 0, 3), (9, 4, 2, 2)])
def test_output_size_is_the_lecture_rule(n, f, p, s):
    x = np.zeros((1, 1, n, n))
    want = (n - f + 2 * p) // s + 1
    assert ag.max_pool2d(x, f, s, p).shape == (1, 1, want, want)
    assert ag.avg_pool2d(x, f, s, p).shape == (1, 1, want, want)


def test_ceil_mode_rounds_up_but_last_window_starts_inside():
    x = np.zeros((1, 1, 6, 6))
    assert ag.max_pool2d(x, 3, 2).shape[2:] == (2, 2)
    assert ag.max_pool2d(x, 3, 2, ceil_mode=True).shape[2:] == (3, 3)
    # (5 + 2*1 - 2) / 2 rounds up to 3, +1 = 4; but the 4th window would start at 6 - 1 = 5 >= 5 + 1 - ...
    assert ag.max_pool2d(np.zeros((1, 1, 5, 5)), 2, 2, 1, ceil_mode=True).shape[2:] == (3, 3)


def _raises(match, fn, exc=(ValueError, RuntimeError, TypeError)):
    with pytest.raises(exc) as info:
        fn()
    for m in match:
        assert m in str(info.value), f"{m!r} not in {str(info.value)!r}"


def test_pool_errors_name_the_argument_and_values():
    x = np.zeros((1, 1, 4, 4))
    _raises(["max_pool2d", "stride", "positive", "0"], lambda: ag.max_pool2d(x, 2, 0))
    _raises(["max_pool2d", "padding", "half of kernel_size", "padding=2", "kernel_size=2"],
            lambda: ag.max_pool2d(x, 2, 2, 2))
    _raises(["max_pool2d", "larger than the padded input", "kernel_size=5", "(4, 4)"], lambda: ag.max_pool2d(x, 5))
    _raises(["max_pool2d", "4-D", "(4, 4)"], lambda: ag.max_pool2d(np.zeros((4, 4)), 2))
    _raises(["avg_pool2d", "kernel_size", "positive"], lambda: ag.avg_pool2d(x, 0))
    _raises(["avg_pool2d", "divisor_override", "0"], lambda: ag.avg_pool2d(x, 2, divisor_override=0))
    _raises(["avg_pool1d", "3-D", "(1, 1, 4, 4, 1)"], lambda: ag.avg_pool1d(np.zeros((1, 1, 4, 4, 1)), 2))
    _raises(["adaptive_avg_pool2d", "output_size", "positive", "(0, 2)"],
            lambda: ag.adaptive_avg_pool2d(x, (0, 2)))
    _raises(["adaptive_avg_pool2d", "2 entries", "(1, 2, 3)"], lambda: ag.adaptive_avg_pool2d(x, (1, 2, 3)))
    _raises(["max_pool2d", "floating-point", "int64"], lambda: ag.max_pool2d(np.zeros((1, 1, 4, 4), np.int64), 2))
