"""conv2d, conv_transpose2d, conv1d, correlate2d and convolve2d against plain numpy references.

The references below are written independently of the kernels: the forward
sums, tap by tap, shifted slices of an explicitly zero-padded input; the input
gradient scatters ``gy * w`` back into a padded buffer tap by tap; the weight
gradient is an einsum over the same slices. Gradients are also checked against
finite differences (gradcheck) and, through the double backward, gradgradcheck.
"""

import contextlib
import os

import numpy as np
import pytest
from hypothesis import given, strategies as st

import autograd_core as ag
from autograd_core.ops import conv as conv_mod, log_routes


# --------------------------------------------------------------------------- references

def _pad(x, pads):
    (pt, pb), (pl, pr) = pads
    N, C, H, W = x.shape
    xp = np.zeros((N, C, H + pt + pb, W + pl + pr), x.dtype)
    xp[:, :, pt:pt + H, pl:pl + W] = x
    return xp


def _taps(xp, KH, KW, stride, dil, OH, OW):
    """(i, j, slice of xp that tap (i, j) reads for every output pixel)."""
    sh, sw = stride
    dh, dw = dil
    for i in range(KH):
        for j in range(KW):
            yield i, j, (slice(None), slice(None), slice(i * dh, i * dh + sh * (OH - 1) + 1, sh),
                         slice(j * dw, j * dw + sw * (OW - 1) + 1, sw))


def _out(n, k, s, p0, p1, d):
    return (n + p0 + p1 - d * (k - 1) - 1) // s + 1


def conv_ref(x, w, b, stride, pads, dil, groups):
    N, C, H, W = x.shape
    Co, Cig, KH, KW = w.shape
    OH = _out(H, KH, stride[0], *pads[0], dil[0])
    OW = _out(W, KW, stride[1], *pads[1], dil[1])
    xp = _pad(x, pads)
    Cog = Co // groups
    y = np.zeros((N, Co, OH, OW))
    for g in range(groups):
        ci, co = slice(g * Cig, (g + 1) * Cig), slice(g * Cog, (g + 1) * Cog)
        for i, j, sl in _taps(xp, KH, KW, stride, dil, OH, OW):
            y[:, co] += np.einsum("nchw,oc->nohw", xp[sl][:, ci], w[co, :, i, j])
    if b is not None:
        y += b[None, :, None, None]
    return y


def conv_grads_ref(x, w, gy, stride, pads, dil, groups):
    """(dx, dw, db) of sum(conv(x, w, b) * gy)."""
    N, C, H, W = x.shape
    Co, Cig, KH, KW = w.shape
    OH, OW = gy.shape[2:]
    xp = _pad(x, pads)
    dxp = np.zeros_like(xp)
    dw = np.zeros(w.shape)
    Cog = Co // groups
    for g in range(groups):
        ci, co = slice(g * Cig, (g + 1) * Cig), slice(g * Cog, (g + 1) * Cog)
        for i, j, sl in _taps(xp, KH, KW, stride, dil, OH, OW):
            dxp[sl][:, ci] += np.einsum("nohw,oc->nchw", gy[:, co], w[co, :, i, j])
            dw[co, :, i, j] += np.einsum("nohw,nchw->oc", gy[:, co], xp[sl][:, ci])
    (pt, _), (pl, _) = pads
    return dxp[:, :, pt:pt + H, pl:pl + W], dw, gy.sum(axis=(0, 2, 3))


def conv_transpose_ref(x, w, stride, padding, output_padding, groups, dil):
    """Scatter every input pixel times the kernel into the output, then crop the padding."""
    N, Ci, H, W = x.shape
    _, Cog, KH, KW = w.shape
    sh, sw = stride
    dh, dw = dil
    ph, pw = padding
    OH = (H - 1) * sh - 2 * ph + dh * (KH - 1) + output_padding[0] + 1
    OW = (W - 1) * sw - 2 * pw + dw * (KW - 1) + output_padding[1] + 1
    big = np.zeros((N, Cog * groups, OH + 2 * ph + sh + dh * KH, OW + 2 * pw + sw + dw * KW))
    Cig = Ci // groups
    for n in range(N):
        for c in range(Ci):
            g = c // Cig
            for h in range(H):
                for v in range(W):
                    for i in range(KH):
                        for j in range(KW):
                            big[n, g * Cog:(g + 1) * Cog, h * sh + i * dh, v * sw + j * dw] += x[n, c, h, v] * w[c, :, i, j]
    return big[:, :, ph:ph + OH, pw:pw + OW]


# --------------------------------------------------------------------------- strategies

@st.composite
def conv_cases(draw, max_side=7):
    groups = draw(st.integers(1, 3))
    Cig, Cog = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    N = draw(st.integers(1, 3))
    KH, KW = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dil = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    kind = draw(st.sampled_from(["int", "pair", "same", "valid"]))
    if kind == "same":
        stride = (1, 1)
    if kind == "int":
        padding = draw(st.integers(0, 2))
    elif kind == "pair":
        padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    else:
        padding = kind
    pads = conv_mod._conv_setup("t", (N, Cig * groups, 9, 9), (Cog * groups, Cig, KH, KW), stride, padding,
                                dil, groups)[1]
    # smallest input the kernel fits in
    minH = max(1, dil[0] * (KH - 1) + 1 - sum(pads[0]))
    minW = max(1, dil[1] * (KW - 1) + 1 - sum(pads[1]))
    H = draw(st.integers(minH, max(minH, max_side)))
    W = draw(st.integers(minW, max(minW, max_side)))
    seed = draw(st.integers(0, 2 ** 16))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, Cig * groups, H, W))
    w = rng.standard_normal((Cog * groups, Cig, KH, KW))
    b = rng.standard_normal(Cog * groups) if draw(st.booleans()) else None
    return x, w, b, dict(stride=stride, padding=padding, dilation=dil, groups=groups), pads


# --------------------------------------------------------------------------- conv2d

@given(conv_cases(), st.booleans())
def test_conv2d_matches_reference_values_and_all_three_gradients(case, channels_last):
    x, w, b, kw, pads = case
    # NCHW memory (with <= 16 channels) takes the planar kernels, channels-last memory the NHWC ones
    xt = ag.from_numpy(_channels_last(x) if channels_last else x).requires_grad_()
    wt = ag.tensor(w, requires_grad=True)
    bt = ag.tensor(b, requires_grad=True) if b is not None else None
    y = ag.conv2d(xt, wt, bt, **kw)
    want = conv_ref(x, w, b, kw["stride"], pads, kw["dilation"], kw["groups"])
    assert y.shape == want.shape
    np.testing.assert_allclose(y.data, want, rtol=1e-10, atol=1e-10)
    gy = np.random.default_rng(1).standard_normal(want.shape)
    y.backward(gy)
    dx, dw, db = conv_grads_ref(x, w, gy, kw["stride"], pads, kw["dilation"], kw["groups"])
    np.testing.assert_allclose(xt.grad.data, dx, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(wt.grad.data, dw, rtol=1e-10, atol=1e-10)
    if b is not None:
        np.testing.assert_allclose(bt.grad.data, db, rtol=1e-10, atol=1e-10)


def test_conv2d_float32_matches_reference():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4, 9, 8)).astype(np.float32)
    w = rng.standard_normal((6, 2, 3, 3)).astype(np.float32)
    b = rng.standard_normal(6).astype(np.float32)
    xt, wt = ag.tensor(x, requires_grad=True), ag.tensor(w, requires_grad=True)
    y = ag.conv2d(xt, wt, b, stride=2, padding=1, groups=2)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.data, conv_ref(x, w, b, (2, 2), ((1, 1), (1, 1)), (1, 1), 2), rtol=1e-5, atol=1e-5)
    gy = rng.standard_normal(y.shape).astype(np.float32)
    y.backward(gy)
    dx, dw, _ = conv_grads_ref(x, w, gy, (2, 2), ((1, 1), (1, 1)), (1, 1), 2)
    assert xt.grad.dtype == np.float32 and wt.grad.dtype == np.float32
    np.testing.assert_allclose(xt.grad.data, dx, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(wt.grad.data, dw, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("kw", [
    dict(stride=1, padding=1),
    dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2),
    dict(padding="same", dilation=2),
])
def test_conv2d_gradcheck_and_gradgradcheck(kw):
    rng = np.random.default_rng(0)
    x = ag.tensor(rng.standard_normal((2, 4, 5, 5)), requires_grad=True)
    w = ag.tensor(rng.standard_normal((4, 4 // kw.get("groups", 1), 3, 2)), requires_grad=True)
    b = ag.tensor(rng.standard_normal(4), requires_grad=True)

    def f(x, w, b):
        return ag.conv2d(x, w, b, **kw)

    assert ag.gradcheck(f, (x, w, b))
    assert ag.gradgradcheck(f, (x, w, b))


def test_channels_last_kernels_gradcheck_and_gradgradcheck():
    """More than 16 input channels: the channels-last kernels (the tests above take the planar ones)."""
    rng = np.random.default_rng(2)
    x = ag.tensor(rng.standard_normal((1, 18, 3, 4)), requires_grad=True)
    w = ag.tensor(rng.standard_normal((4, 9, 2, 2)), requires_grad=True)
    b = ag.tensor(rng.standard_normal(4), requires_grad=True)

    def f(x, w, b):
        return ag.conv2d(x, w, b, stride=(1, 2), padding=1, groups=2)

    assert not ag.conv2d(x, w, b, groups=2).data.flags.c_contiguous  # channels-last result
    assert ag.gradcheck(f, (x, w, b))
    assert ag.gradgradcheck(f, (x, w, b))


def test_double_backward_through_a_small_cnn():
    """grad of a gradient norm (as in a gradient penalty) through conv, relu-free for smoothness."""
    rng = np.random.default_rng(1)
    x = ag.tensor(rng.standard_normal((2, 2, 6, 6)), requires_grad=True)
    w1 = ag.tensor(rng.standard_normal((3, 2, 3, 3)), requires_grad=True)
    w2 = ag.tensor(rng.standard_normal((2, 3, 3, 3)), requires_grad=True)

    def f(x, w1, w2):
        h = ag.conv2d(x, w1, padding=1).tanh()
        return ag.conv2d(h, w2, stride=2).sum()

    assert ag.gradgradcheck(lambda x, w1, w2: f(x, w1, w2), (x, w1, w2))


@pytest.mark.parametrize("n,f,p,s", [(28, 5, 2, 1), (14, 5, 0, 1), (32, 3, 1, 2), (7, 3, 0, 2), (5, 5, 0, 3),
                                     (10, 4, 3, 3), (1, 1, 0, 1)])
def test_output_size_is_the_lecture_rule(n, f, p, s):
    y = ag.conv2d(np.zeros((1, 1, n, n)), np.zeros((1, 1, f, f)), stride=s, padding=p)
    assert y.shape == (1, 1, (n - f + 2 * p) // s + 1, (n - f + 2 * p) // s + 1)


@pytest.mark.parametrize("k,d", [(3, 1), (4, 1), (2, 3), (5, 2)])
def test_padding_same_keeps_the_size(k, d):
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((1, 2, 7, 6)), rng.standard_normal((3, 2, k, k))
    y = ag.conv2d(x, w, padding="same", dilation=d)
    assert y.shape == (1, 3, 7, 6)
    total = d * (k - 1)
    pads = ((total // 2, total - total // 2),) * 2  # the extra pixel goes bottom/right
    np.testing.assert_allclose(y.data, conv_ref(x, w, None, (1, 1), pads, (d, d), 1), atol=1e-12)


def test_depthwise_conv():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 5, 6, 6)), rng.standard_normal((10, 1, 3, 3))
    y = ag.conv2d(x, w, padding=1, groups=5)
    np.testing.assert_allclose(y.data, conv_ref(x, w, None, (1, 1), ((1, 1), (1, 1)), (1, 1), 5), atol=1e-12)


def _channels_last(x):
    """The same (N, C, H, W) values in channels-last memory."""
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


def _is_channels_last(a):
    return a.transpose(0, 2, 3, 1).flags.c_contiguous


@pytest.mark.parametrize("C", [3, 17])
def test_both_layouts_give_the_same_values_and_gradients(C):
    """Up to 16 channels in NCHW memory take the planar kernels, the rest the channels-last ones."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, C, 6, 5))
    w = rng.standard_normal((4, C, 3, 3))
    gy = rng.standard_normal((2, 4, 4, 3))
    results = []
    for arr in (x, _channels_last(x)):
        xt, wt = ag.from_numpy(arr).requires_grad_(), ag.tensor(w, requires_grad=True)
        y = ag.conv2d(xt, wt)
        y.backward(gy)
        results.append((y, xt.grad.data, wt.grad.data))
    (y0, dx0, dw0), (y1, dx1, dw1) = results
    assert _is_channels_last(y1.data)  # channels-last in, channels-last out
    assert _is_channels_last(y0.data) == (C > 16)  # NCHW in: planar kernels (C <= 16) keep NCHW
    want = conv_ref(x, w, None, (1, 1), ((0, 0), (0, 0)), (1, 1), 1)
    dx, dw, _ = conv_grads_ref(x, w, gy, (1, 1), ((0, 0), (0, 0)), (1, 1), 1)
    for y_, dx_, dw_ in results:
        np.testing.assert_allclose(y_.data, want, atol=1e-12)
        np.testing.assert_allclose(dx_, dx, atol=1e-12)
        np.testing.assert_allclose(dw_, dw, atol=1e-12)
    w2 = rng.standard_normal((2, 4, 2, 2))
    z = ag.conv2d(y1, w2)  # consumes the channels-last view as is
    np.testing.assert_allclose(z.data, conv_ref(want, w2, None, (1, 1), ((0, 0), (0, 0)), (1, 1), 1), atol=1e-12)


def test_unbatched_input():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((3, 5, 5)), rng.standard_normal((2, 3, 3, 3))
    np.testing.assert_allclose(ag.conv2d(x, w).data, ag.conv2d(x[None], w).data[0])


def test_frozen_weight_skips_the_weight_gradient_kernel(monkeypatch):
    rng = np.random.default_rng(0)
    x = ag.tensor(rng.standard_normal((1, 2, 4, 4)), requires_grad=True)
    w = ag.tensor(rng.standard_normal((3, 2, 3, 3)))

    def boom(*a, **k):
        raise AssertionError("weight gradient computed for a weight that does not require grad")

    monkeypatch.setattr(conv_mod, "_weight_grad", boom)
    ag.conv2d(x, w).sum().backward()
    assert x.grad is not None


def test_input_without_grad_skips_the_input_gradient_kernel(monkeypatch):
    rng = np.random.default_rng(0)
    x = ag.tensor(rng.standard_normal((1, 2, 4, 4)))
    w = ag.tensor(rng.standard_normal((3, 2, 3, 3)), requires_grad=True)

    def boom(*a, **k):
        raise AssertionError("input gradient computed for an input that does not require grad")

    monkeypatch.setattr(conv_mod, "_input_grad", boom)
    ag.conv2d(x, w).sum().backward()
    assert w.grad is not None


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("N", [1, 5, 17])
@pytest.mark.parametrize("with_bias", [True, False])
def test_stride1_planar_forward_lenet_c3(dtype, N, with_bias):
    """The stride-1 planar forward (im2row on the virtual width + GEMM) at LeNet C3 sizes, in both float types."""
    rng = np.random.default_rng(N)
    x = rng.standard_normal((N, 6, 14, 14)).astype(dtype)
    w = rng.standard_normal((16, 6, 5, 5)).astype(dtype)
    b = rng.standard_normal(16).astype(dtype) if with_bias else None
    y = ag.conv2d(ag.tensor(x), ag.tensor(w), None if b is None else ag.tensor(b))
    assert y.dtype == dtype
    want = conv_ref(x.astype(np.float64), w.astype(np.float64), None if b is None else b.astype(np.float64),
                    (1, 1), ((0, 0), (0, 0)), (1, 1), 1)
    tol = 1e-12 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(y.data, want, rtol=tol, atol=tol)


# --------------------------------------------------------------------------- conv_transpose2d, conv1d

@given(st.integers(1, 2), st.integers(1, 2), st.integers(1, 3), st.integers(1, 3), st.integers(0, 1),
       st.integers(1, 2), st.integers(0, 2 ** 16))
def test_conv_transpose2d_matches_reference(groups, stride, k, H, padding, dil, seed):
    rng = np.random.default_rng(seed)
    Ci, Cog = 2 * groups, 2
    output_padding = (stride - 1, 0) if stride > 1 else (0, 0)
    padding = min(padding, (dil * (k - 1)) // 2)
    x = rng.standard_normal((2, Ci, H, H + 1))
    w = rng.standard_normal((Ci, Cog, k, k))
    b = rng.standard_normal(Cog * groups)
    y = ag.conv_transpose2d(x, w, b, stride=stride, padding=padding, output_padding=output_padding,
                            groups=groups, dilation=dil)
    want = conv_transpose_ref(x, w, (stride, stride), (padding, padding), output_padding, groups, (dil, dil))
    want = want + b[None, :, None, None]
    assert y.shape == want.shape
    np.testing.assert_allclose(y.data, want, rtol=1e-10, atol=1e-10)


def test_conv_transpose2d_gradcheck_and_gradgradcheck():
    rng = np.random.default_rng(0)
    x = ag.tensor(rng.standard_normal((2, 4, 3, 3)), requires_grad=True)
    w = ag.tensor(rng.standard_normal((4, 1, 3, 3)), requires_grad=True)
    b = ag.tensor(rng.standard_normal(2), requires_grad=True)

    def f(x, w, b):
        return ag.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1, groups=2)

    assert f(x, w, b).shape == (2, 2, 6, 6)
    assert ag.gradcheck(f, (x, w, b))
    assert ag.gradgradcheck(f, (x, w, b))


def test_conv_transpose2d_is_the_input_gradient_of_conv2d():
    rng = np.random.default_rng(0)
    x = ag.tensor(rng.standard_normal((2, 3, 7, 7)), requires_grad=True)
    w = rng.standard_normal((4, 3, 3, 3))
    y = ag.conv2d(x, w, stride=2, padding=1)
    gy = rng.standard_normal(y.shape)
    y.backward(gy)
    np.testing.assert_allclose(ag.conv_transpose2d(gy, w, stride=2, padding=1).data, x.grad.data, atol=1e-12)


def test_conv1d_matches_reference_and_gradcheck():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 9))
    w = rng.standard_normal((6, 2, 3))
    b = rng.standard_normal(6)
    y = ag.conv1d(x, w, b, stride=2, padding=2, dilation=2, groups=2)
    want = conv_ref(x[:, :, None], w[:, :, None], b, (1, 2), ((0, 0), (2, 2)), (1, 2), 2)[:, :, 0]
    np.testing.assert_allclose(y.data, want, atol=1e-12)
    xt, wt = ag.tensor(x, requires_grad=True), ag.tensor(w, requires_grad=True)
    assert ag.gradcheck(lambda x, w: ag.conv1d(x, w, None, 2, 1, 1, 2), (xt, wt))
    assert ag.conv1d(x[0], w, groups=2).shape == (6, 7)


def test_conv_transpose1d():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((1, 2, 5)), rng.standard_normal((2, 3, 3))
    want = conv_transpose_ref(x[:, :, None], w[:, :, None], (1, 2), (0, 1), (0, 1), 1, (1, 1))[:, :, 0]
    np.testing.assert_allclose(ag.conv_transpose1d(x, w, stride=2, padding=1, output_padding=1).data, want,
                               atol=1e-12)


# --------------------------------------------------------------------------- correlate2d vs convolve2d

def _correlate_loops(x, k, pad):
    xp = np.pad(x, pad)
    H, W = xp.shape[0] - k.shape[0] + 1, xp.shape[1] - k.shape[1] + 1
    return np.array([[np.sum(xp[i:i + k.shape[0], j:j + k.shape[1]] * k) for j in range(W)] for i in range(H)])


def _convolve_full_loops(x, k):
    """out[i, j] = sum_{p, q} x[p, q] * k[i - p, j - q]: the textbook full convolution."""
    out = np.zeros((x.shape[0] + k.shape[0] - 1, x.shape[1] + k.shape[1] - 1))
    for p in range(x.shape[0]):
        for q in range(x.shape[1]):
            out[p:p + k.shape[0], q:q + k.shape[1]] += x[p, q] * k
    return out


def test_correlate2d_and_convolve2d_differ_by_a_flip():
    rng = np.random.default_rng(0)
    x, k = rng.standard_normal((6, 5)), rng.standard_normal((3, 2))
    np.testing.assert_allclose(ag.correlate2d(x, k).data, _correlate_loops(x, k, 0), atol=1e-12)
    np.testing.assert_allclose(ag.convolve2d(x, k, padding="full").data, _convolve_full_loops(x, k), atol=1e-12)
    np.testing.assert_allclose(ag.convolve2d(x, k).data, ag.correlate2d(x, k[::-1, ::-1]).data, atol=1e-12)
    assert not np.allclose(ag.convolve2d(x, k).data, ag.correlate2d(x, k).data)
    # an asymmetric kernel shows the difference plainly: correlation with [1, 0] shifts one way,
    # convolution the other
    e = np.arange(5.0)[None, :]
    assert ag.correlate2d(e, np.array([[1.0, 0.0]])).data.tolist() == [[0.0, 1.0, 2.0, 3.0]]
    assert ag.convolve2d(e, np.array([[1.0, 0.0]])).data.tolist() == [[1.0, 2.0, 3.0, 4.0]]


def test_convolve2d_gradcheck():
    rng = np.random.default_rng(0)
    x = ag.tensor(rng.standard_normal((5, 4)), requires_grad=True)
    k = ag.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    assert ag.gradcheck(lambda x, k: ag.convolve2d(x, k, stride=2, padding=1), (x, k))


# --------------------------------------------------------------------------- errors

def _raises(match, fn, exc=(ValueError, RuntimeError, TypeError)):
    with pytest.raises(exc) as info:
        fn()
    msg = str(info.value)
    for m in match:
        assert m in msg, f"{m!r} not in {msg!r}"


def test_error_channel_mismatch_names_both_counts():
    _raises(["conv2d", "3 channels", "expects 4"], lambda: ag.conv2d(np.zeros((1, 3, 5, 5)), np.zeros((2, 4, 3, 3))))
    _raises(["conv2d", "3 channels", "expects 4", "groups=2"],
            lambda: ag.conv2d(np.zeros((1, 3, 5, 5)), np.zeros((2, 2, 3, 3)), groups=2))


def test_error_kernel_larger_than_padded_input():
    _raises(["kernel", "larger than the padded input", "5 taps", "4 + padding 0 = 4"],
            lambda: ag.conv2d(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 5, 5))))
    _raises(["5 with dilation 2", "4 + padding 0"],
            lambda: ag.conv2d(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 3, 3)), dilation=2))


@pytest.mark.parametrize("kw,words", [
    (dict(stride=0), ["stride", "positive", "0"]),
    (dict(stride=(1, -1)), ["stride", "positive", "(1, -1)"]),
    (dict(dilation=0), ["dilation", "positive"]),
    (dict(padding=-1), ["padding", "non-negative", "-1"]),
    (dict(padding="full"), ["padding", "'same' or 'valid'", "'full'"]),
    (dict(padding="same", stride=2), ["'same'", "stride 1", "(2, 2)"]),
    (dict(groups=0), ["groups", "positive", "0"]),
])
def test_error_bad_settings(kw, words):
    _raises(["conv2d"] + words, lambda: ag.conv2d(np.zeros((1, 4, 5, 5)), np.zeros((4, 4, 3, 3)), **kw))


def test_error_groups_do_not_divide_channels():
    _raises(["groups=2", "out_channels=3"], lambda: ag.conv2d(np.zeros((1, 4, 5, 5)), np.zeros((3, 2, 3, 3)), groups=2))
    _raises(["conv_transpose2d", "groups=2", "3 channels"],
            lambda: ag.conv_transpose2d(np.zeros((1, 3, 5, 5)), np.zeros((3, 2, 3, 3)), groups=2))


def test_error_wrong_ranks_and_bias():
    _raises(["conv2d", "4-D", "(5, 5)"], lambda: ag.conv2d(np.zeros((5, 5)), np.zeros((1, 1, 3, 3))))
    _raises(["conv2d", "weight must be 4-D", "(3, 3)"], lambda: ag.conv2d(np.zeros((1, 1, 5, 5)), np.zeros((3, 3))))
    _raises(["conv1d", "3-D", "(1, 1, 5, 5, 5)"], lambda: ag.conv1d(np.zeros((1, 1, 5, 5, 5)), np.zeros((1, 1, 3))))
    _raises(["bias", "(2,)", "(3,)"], lambda: ag.conv2d(np.zeros((1, 1, 5, 5)), np.zeros((2, 1, 3, 3)), np.zeros(3)))
    _raises(["correlate2d", "2-D", "(1, 5, 5)"], lambda: ag.correlate2d(np.zeros((1, 5, 5)), np.zeros((3, 3))))
    _raises(["conv2d", "floating-point", "int64"],
            lambda: ag.conv2d(np.zeros((1, 1, 5, 5), np.int64), np.zeros((1, 1, 3, 3), np.int64)))


def test_error_output_padding_too_large():
    _raises(["output_padding", "stride"],
            lambda: ag.conv_transpose2d(np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 3, 3)), stride=2, output_padding=2))


# --------------------------------------------------------------------------- routes: direct and depthwise kernels

@st.composite
def routed_cases(draw):
    """Channel counts that the direct route takes (>= 12 per group) or the depthwise one (groups = channels)."""
    depthwise = draw(st.booleans())
    if depthwise:
        groups = draw(st.sampled_from([2, 5, 17]))
        Cig = Cog = 1
    else:
        groups = draw(st.integers(1, 2))
        Cig, Cog = draw(st.sampled_from([3, 12, 16])), draw(st.sampled_from([5, 16, 24]))
    N = draw(st.integers(1, 2))
    KH, KW = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    dil = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    kind = draw(st.sampled_from(["int", "pair", "same", "valid"]))
    if kind == "same":
        stride = (1, 1)
    padding = {"int": draw(st.integers(0, 2)), "pair": (draw(st.integers(0, 2)), draw(st.integers(0, 2)))}.get(kind, kind)
    pads = conv_mod._conv_setup("t", (N, Cig * groups, 9, 9), (Cog * groups, Cig, KH, KW), stride, padding,
                                dil, groups)[1]
    minH = max(1, dil[0] * (KH - 1) + 1 - sum(pads[0]))
    minW = max(1, dil[1] * (KW - 1) + 1 - sum(pads[1]))
    H = draw(st.integers(minH, max(minH, 6)))
    W = draw(st.integers(minW, max(minW, 6)))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    x = rng.standard_normal((N, Cig * groups, H, W))
    w = rng.standard_normal((Cog * groups, Cig, KH, KW))
    b = rng.standard_normal(Cog * groups) if draw(st.booleans()) else None
    return x, w, b, dict(stride=stride, padding=padding, dilation=dil, groups=groups), pads


@contextlib.contextmanager
def _forced_routes(route):
    """AUTOGRAD_CORE_CONV_ROUTES=route inside the block (usable under Hypothesis, unlike monkeypatch)."""
    old = os.environ.get("AUTOGRAD_CORE_CONV_ROUTES")
    os.environ["AUTOGRAD_CORE_CONV_ROUTES"] = route
    try:
        yield
    finally:
        if old is None:
            del os.environ["AUTOGRAD_CORE_CONV_ROUTES"]
        else:
            os.environ["AUTOGRAD_CORE_CONV_ROUTES"] = old


def _forced_route_against_reference(case, channels_last, dtype, route):
    """Run ``case`` (x, w, b, conv kwargs, explicit pads) forward and backward with route ``route`` forced,
    check values and all gradients against the float64 numpy reference; returns (routes taken, output)."""
    x, w, b, kw, pads = case
    x, w = x.astype(dtype), w.astype(dtype)
    b = None if b is None else b.astype(dtype)
    xt = ag.from_numpy(_channels_last(x) if channels_last else x).requires_grad_()
    wt = ag.tensor(w, requires_grad=True)
    bt = ag.tensor(b, requires_grad=True) if b is not None else None
    with _forced_routes(route), log_routes() as taken:
        y = ag.conv2d(xt, wt, bt, **kw)
        gy = np.random.default_rng(1).standard_normal(y.shape).astype(dtype)
        y.backward(_channels_last(gy) if channels_last else gy)
    x64, w64 = x.astype(np.float64), w.astype(np.float64)
    want = conv_ref(x64, w64, None if b is None else b.astype(np.float64), kw["stride"], pads, kw["dilation"],
                    kw["groups"])
    tol = 1e-10 if dtype == np.float64 else 1e-4
    assert y.dtype == dtype
    np.testing.assert_allclose(y.data, want, rtol=tol, atol=tol)
    dx, dw, db = conv_grads_ref(x64, w64, gy.astype(np.float64), kw["stride"], pads, kw["dilation"], kw["groups"])
    np.testing.assert_allclose(xt.grad.data, dx, rtol=tol, atol=tol)
    np.testing.assert_allclose(wt.grad.data, dw, rtol=tol, atol=tol)
    if b is not None:
        np.testing.assert_allclose(bt.grad.data, db, rtol=tol, atol=tol)
    return {r.route for r in taken}, y


@given(routed_cases(), st.booleans(), st.sampled_from([np.float64, np.float32]))
def test_direct_and_depthwise_routes_match_the_reference(case, channels_last, dtype):
    """Every map on the direct kernel (forced: the default table takes it only where it is faster) or the
    depthwise one, against the float64 numpy reference."""
    routes, _ = _forced_route_against_reference(case, channels_last, dtype, "direct")
    assert routes == {"depthwise" if case[3]["groups"] == case[0].shape[1] else "direct"}


def _transposed_against_reference(x, w, b, stride, padding, output_padding, groups, forced, dtype, channels_last):
    """conv_transpose2d forward and backward with route ``forced``, values and all gradients against the float64
    numpy reference; returns the routes its input-gradient maps took."""
    rng = np.random.default_rng(3)
    x, w = x.astype(dtype), w.astype(dtype)
    b = None if b is None else b.astype(dtype)
    xt = ag.from_numpy(_channels_last(x) if channels_last else x).requires_grad_()
    wt = ag.tensor(w, requires_grad=True)
    bt = None if b is None else ag.tensor(b, requires_grad=True)
    with _forced_routes(forced), log_routes() as taken:
        y = ag.conv_transpose2d(xt, wt, bt, stride=stride, padding=padding, output_padding=output_padding,
                                groups=groups)
        h = rng.standard_normal(y.shape).astype(dtype)
        y.backward(h)
    x64, w64, h64 = (a.astype(np.float64) for a in (x, w, h))
    st2, pd2 = (stride,) * 2 if np.isscalar(stride) else stride, (padding,) * 2 if np.isscalar(padding) else padding
    op2 = (output_padding,) * 2 if np.isscalar(output_padding) else output_padding
    want = conv_transpose_ref(x64, w64, st2, pd2, op2, groups, (1, 1))
    if b is not None:
        want = want + b.astype(np.float64)[None, :, None, None]
    tol = 1e-10 if dtype == np.float64 else 1e-4
    assert y.dtype == dtype
    np.testing.assert_allclose(y.data, want, rtol=tol, atol=tol)
    pads = ((pd2[0],) * 2, (pd2[1],) * 2)
    np.testing.assert_allclose(xt.grad.data, conv_ref(h64, w64, None, st2, pads, (1, 1), groups), rtol=tol, atol=tol)
    dw = conv_grads_ref(h64, w64, x64, st2, pads, (1, 1), groups)[1]
    np.testing.assert_allclose(wt.grad.data, dw, rtol=tol, atol=tol)
    if b is not None:
        np.testing.assert_allclose(bt.grad.data, h64.sum((0, 2, 3)), rtol=tol, atol=tol)
    return {r.route for r in taken if r.op == "conv2d input grad"}


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("forced, route, groups, ci, co, k, stride", [
    ("direct", "direct", 1, 16, 16, 4, 2),      # four output phases, the bias added by the kernel
    ("direct", "direct", 1, 16, 16, 3, 1),
    ("winograd", "winograd", 1, 16, 16, 3, 1),  # the bias added by the output transform
    ("winograd", "winograd", 1, 16, 16, 4, 2),  # F(2x2, 2x2) per phase
    ("direct", "depthwise", 8, 8, 8, 3, 2),     # the bias added in place after the kernel
    ("gemm", None, 2, 4, 6, 3, 2),
    ("gemm", None, 1, 4, 6, 4, 1),
])
def test_conv_transpose2d_bias_on_every_route(forced, route, groups, ci, co, k, stride, dtype, channels_last):
    """conv_transpose2d's bias, added by the kernel or after it depending on the route: values and all three
    gradients against the float64 reference."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, ci, 5, 6))
    w = rng.standard_normal((ci, co // groups, k, k))
    b = rng.standard_normal(co)
    routes = _transposed_against_reference(x, w, b, stride, 1, 0, groups, forced, dtype, channels_last)
    if route is not None:
        assert route in routes


@given(st.sampled_from([16, 24]), st.sampled_from([16, 24]), st.integers(1, 3), st.integers(1, 13),
       st.integers(0, 3), st.booleans(), st.booleans(), st.sampled_from([np.float64, np.float32]),
       st.integers(0, 2 ** 16))
def test_winograd_conv1d_route_matches_the_reference(C, Co, N, L, pad, with_bias, channels_last, dtype, seed):
    """conv1d (a unit-height conv2d) with 3 taps on Winograd F(2, 3), forced: forward and input gradient on the
    route (odd lengths leave half of the last tile outside; paddings above 2 crop the input gradient's
    placement), values and all gradients against the float64 reference."""
    if L + 2 * pad < 3:
        return
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, C, 1, L))
    w = rng.standard_normal((Co, C, 1, 3))
    b = rng.standard_normal(Co) if with_bias else None
    case = (x, w, b, dict(stride=(1, 1), padding=(0, pad), dilation=(1, 1), groups=1), ((0, 0), (pad, pad)))
    with log_routes() as taken:
        _forced_route_against_reference(case, channels_last, dtype, "winograd")
    assert {r.op for r in taken if r.route == "winograd"} == {"conv2d forward", "conv2d input grad"}
    xt = ag.tensor(x[:, :, 0].astype(dtype))
    with _forced_routes("winograd"):  # conv1d itself goes there too
        y = ag.conv1d(xt, w[:, :, 0].astype(dtype), padding=pad)
    want = conv_ref(x, w, None, (1, 1), ((0, 0), (pad, pad)), (1, 1), 1)[:, :, 0]
    np.testing.assert_allclose(y.data, want, rtol=1e-4, atol=1e-4)


@st.composite
def upsampling_cases(draw):
    """conv_transpose2d with a 4x4 kernel and stride 2 whose channels fit Winograd F(2x2, 2x2): paddings 0-3
    per axis (tiles placed before, inside or after the input), output padding 0 or 1, sizes odd and even."""
    C, Co = draw(st.sampled_from([16, 24])), draw(st.sampled_from([16, 24]))
    pad = (draw(st.integers(0, 3)), draw(st.integers(0, 3)))
    op = (draw(st.integers(0, 1)), draw(st.integers(0, 1)))
    H = draw(st.integers(max(1, pad[0]), 7))  # the output, 2H + 2 - 2p + op, at least 2 rows
    W = draw(st.integers(max(1, pad[1]), 7))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    x = rng.standard_normal((draw(st.integers(1, 3)), C, H, W))
    w = rng.standard_normal((C, Co, 4, 4))
    b = rng.standard_normal(Co) if draw(st.booleans()) else None
    return x, w, b, pad, op


@given(upsampling_cases(), st.booleans(), st.sampled_from([np.float64, np.float32]))
def test_winograd_upsampling_route_matches_the_reference(case, channels_last, dtype):
    """conv_transpose2d's x2 upsampling (and a stride-2 4x4 conv's input gradient) on Winograd F(2x2, 2x2),
    forced, against the float64 reference."""
    x, w, b, pad, op = case
    routes = _transposed_against_reference(x, w, b, 2, pad, op, 1, "winograd", dtype, channels_last)
    assert routes == {"winograd"}


@st.composite
def winograd_cases(draw):
    """3x3 stride-1 convs with a Winograd form (channels multiples of 8 that fill the 16-lane tiles), paddings
    0-3 (the kernel test covers 8 channels)."""
    C, Co = draw(st.sampled_from([16, 24])), draw(st.sampled_from([16, 24]))
    N = draw(st.integers(1, 3))
    pad = (draw(st.integers(0, 3)), draw(st.integers(0, 3)))
    H = draw(st.integers(max(1, 3 - 2 * pad[0]), 9))
    W = draw(st.integers(max(1, 3 - 2 * pad[1]), 9))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    x = rng.standard_normal((N, C, H, W))
    w = rng.standard_normal((Co, C, 3, 3))
    b = rng.standard_normal(Co) if draw(st.booleans()) else None
    return x, w, b, dict(stride=(1, 1), padding=pad, dilation=(1, 1), groups=1), ((pad[0],) * 2, (pad[1],) * 2)


@given(winograd_cases(), st.booleans(), st.sampled_from([np.float64, np.float32]))
def test_winograd_route_matches_the_reference(case, channels_last, dtype):
    """All three maps on the Winograd kernels (forced: by default only float32 maps large enough for the
    threads), against the float64 numpy reference; paddings above 2 make the input gradient's placement
    negative (cropped), odd sizes leave half of the last tiles outside the map."""
    routes, y = _forced_route_against_reference(case, channels_last, dtype, "winograd")
    assert routes == {"winograd"}
    assert y.data.transpose(0, 2, 3, 1).flags.c_contiguous  # channels-last memory out, as the direct route


def test_winograd_route_agrees_with_the_direct_route(monkeypatch):
    """The same float32 ResNet-sized conv through the Winograd and the direct kernel: the default table
    sends it to Winograd, and the two agree to float32 rounding (values and both gradients)."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((4, 32, 10, 10)).astype(np.float32)
    w = (rng.standard_normal((32, 32, 3, 3)) / 17).astype(np.float32)
    gy = rng.standard_normal((4, 32, 10, 10)).astype(np.float32)
    assert conv_mod._route("forward", x, w.shape, _p()) == "winograd"
    out = []
    for forced in ("winograd", "direct"):
        monkeypatch.setenv("AUTOGRAD_CORE_CONV_ROUTES", forced)
        xt = ag.from_numpy(_channels_last(x)).requires_grad_()
        wt = ag.tensor(w, requires_grad=True)
        y = ag.conv2d(xt, wt, None, padding=1)
        y.backward(gy)
        out.append((y.data, xt.grad.data, wt.grad.data))
    for a, b in zip(*out):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def _p(stride=1, padding=1, dilation=1, groups=1):
    return conv_mod.ConvParams(stride, stride, padding, padding, dilation, dilation, groups)


@pytest.mark.parametrize("shape,w_shape,p,expected", [
    ((2, 16, 8, 8), (16, 16, 3, 3), _p(), ("winograd",) * 3),
    ((2, 32, 8, 8), (32, 32, 3, 3), _p(dilation=2), ("direct", "direct", "direct")),
    ((2, 64, 8, 8), (64, 16, 3, 3), _p(groups=4), ("direct", "direct", "direct")),
    ((2, 64, 8, 8), (64, 64, 3, 3), _p(), ("winograd",) * 3),                      # 8x8: Winograd dw beats GEMM
    ((2, 128, 6, 6), (128, 128, 3, 3), _p(), ("winograd", "winograd", "nhwc")),    # 128 in, 6x6: GEMM dw
    ((2, 64, 16, 16), (64, 64, 3, 3), _p(), ("winograd",) * 3),
    ((2, 16, 8, 8), (24, 16, 3, 3), _p(padding=0), ("winograd",) * 3),             # 24 fill 75% of the tiles
    ((2, 16, 8, 8), (28, 16, 3, 3), _p(), ("direct", "direct", "direct")),         # 28: not a multiple of 8
    ((2, 8, 8, 8), (16, 8, 3, 3), _p(), ("direct", "planar_s1", "direct")),        # 8 in: Winograd not measured
    ((2, 64, 8, 8), (128, 64, 3, 3), _p(stride=2), ("direct", "direct", "nhwc")),  # 64 in, 8x8: GEMM dw
    ((2, 128, 16, 16), (256, 128, 3, 3), _p(stride=2), ("direct",) * 3),          # 16x16 in: direct dw 2.3x
    ((2, 32, 32, 32), (64, 32, 4, 4), _p(stride=2), ("direct", "winograd", "direct")),  # dx: x2 upsampling
    ((2, 32, 32, 32), (8, 32, 4, 4), _p(stride=2), ("nhwc", "direct", "nhwc")),  # 8 channels into dx: too few
    ((2, 64, 1, 256), (64, 64, 1, 3), conv_mod.ConvParams(1, 1, 0, 1, 1, 1, 1), ("winograd", "winograd", "direct")),  # conv1d
    ((2, 64, 8, 32), (64, 64, 1, 3), conv_mod.ConvParams(1, 1, 0, 1, 1, 1, 1), ("direct",) * 3),  # 1x3 on 8 rows
    ((2, 6, 14, 14), (16, 6, 5, 5), _p(padding=0), ("direct", "planar_s1", "direct")),  # 6 input channels
    ((2, 3, 32, 32), (32, 3, 3, 3), _p(), ("direct", "planar_s1", "direct")),     # reduction 27: direct 1.6-1.9x
    ((2, 3, 32, 32), (32, 3, 1, 1), _p(padding=0), ("planar_s1",) * 3),           # 1x1 over 3 channels: GEMM
    ((2, 1, 28, 28), (6, 1, 5, 5), _p(padding=2), ("planar_s1",) * 3),             # 6 output channels
    ((2, 8, 8, 8), (8, 1, 3, 3), _p(groups=8), ("depthwise",) * 3),
    ((2, 8, 8, 8), (8, 1, 3, 3), _p(stride=2, groups=8), ("depthwise",) * 3),
])
def test_route_table(shape, w_shape, p, expected, monkeypatch):
    x = np.zeros(shape, np.float32)
    KH, KW = w_shape[2:]
    gy = np.zeros((shape[0], w_shape[0], _out(shape[2], KH, p.sh, p.ph, p.ph, p.dh),
                   _out(shape[3], KW, p.sw, p.pw, p.pw, p.dw)), np.float32)
    got = tuple(conv_mod._route(kind, x if kind == "forward" else gy, w_shape, p)
                for kind in ("forward", "input", "weight"))
    assert got == expected
    # float64 never takes the direct or Winograd route by default (GEMM measured faster: 24 registers wanted of 16)
    got64 = tuple(conv_mod._route(kind, x.astype(np.float64), w_shape, p) for kind in ("forward", "input", "weight"))
    assert not {"direct", "winograd"} & set(got64)
    assert [a for a in got64 if a in ("depthwise",)] == [a for a in expected if a == "depthwise"]
    assert set(got) <= set(conv_mod.ROUTES)
    small = {conv_mod._route(kind, x, w_shape, p, serial=True) for kind in ("forward", "input", "weight")}
    assert small <= {"planar_s1", "planar", "nhwc", "depthwise"}  # small convs: direct packing costs more
    monkeypatch.setenv("AUTOGRAD_CORE_CONV_ROUTES", "gemm")
    assert {conv_mod._route(kind, x, w_shape, p) for kind in ("forward", "input", "weight")} <= {
        "planar_s1", "planar", "nhwc"}


@pytest.mark.parametrize("channels_last", [False, True])
def test_direct_route_agrees_with_the_gemm_route(channels_last, monkeypatch):
    """The same float32 conv through both routes (the GEMM route is the reference path)."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 16, 9, 7)).astype(np.float32)
    w = rng.standard_normal((32, 8, 3, 3)).astype(np.float32)
    gy = rng.standard_normal((3, 32, 9, 7)).astype(np.float32)
    assert conv_mod._route("forward", x, w.shape, _p(groups=2)) == "direct"
    out = []
    for forced in ("direct", "gemm"):
        monkeypatch.setenv("AUTOGRAD_CORE_CONV_ROUTES", forced)
        xt = ag.from_numpy(_channels_last(x) if channels_last else x).requires_grad_()
        wt = ag.tensor(w, requires_grad=True)
        y = ag.conv2d(xt, wt, None, padding=1, dilation=(1, 1), groups=2)
        y.backward(gy)
        out.append((y.data, xt.grad.data, wt.grad.data))
    for a, b in zip(*out):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("k, stride, route", [(3, 1, "direct"), (3, 2, "direct"), (1, 1, "planar_s1")])
def test_first_conv_writes_channels_last_like_the_direct_convs_after_it(k, stride, route):
    """A first conv over 3 NCHW channels writes channels-last memory, as the direct convs after it do, so
    batch norm and residual adds see one layout: 3x3 through the direct kernel (reduction 27), 1x1 through
    the planar GEMM with its result transposed. Values and the weight gradient against the numpy reference."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((64, 3, 32, 32)).astype(np.float32)  # large enough for two threads (1x1 too)
    w = (rng.standard_normal((16, 3, k, k)) / 5).astype(np.float32)
    w2 = (rng.standard_normal((16, 16, 3, 3)) / 12).astype(np.float32)
    xt, wt, w2t = ag.tensor(x), ag.tensor(w, requires_grad=True), ag.tensor(w2, requires_grad=True)
    pad = k // 2
    with log_routes() as taken:
        y = ag.conv2d(xt, wt, None, stride=stride, padding=pad)
        z = ag.conv2d(y, w2t, None, padding=1)
    assert [r.route for r in taken] == [route, "winograd"]
    assert _is_channels_last(y.data) and _is_channels_last(z.data)
    s, pads = (stride, stride), ((pad, pad), (pad, pad))
    y_ref = conv_ref(x.astype(np.float64), w.astype(np.float64), None, s, pads, (1, 1), 1)
    np.testing.assert_allclose(y.data, y_ref, rtol=1e-4, atol=1e-4)
    gy = rng.standard_normal(y.shape).astype(np.float32)
    y.backward(ag.tensor(_channels_last(gy)))  # the gradient in the layout the layers after it give
    _, dw_ref, _ = conv_grads_ref(x.astype(np.float64), w.astype(np.float64), gy.astype(np.float64), s, pads,
                                  (1, 1), 1)
    np.testing.assert_allclose(wt.grad.data, dw_ref, rtol=1e-3, atol=1e-3)
    # float64, small (serial) maps and forced GEMM keep NCHW memory
    assert ag.conv2d(ag.tensor(x.astype(np.float64)), ag.tensor(w.astype(np.float64)), None,
                     padding=pad).data.flags.c_contiguous
    assert ag.conv2d(ag.tensor(x[:1, :, :8, :8]), wt, None, padding=pad).data.flags.c_contiguous


@pytest.mark.parametrize("kw", [dict(padding=1), dict(stride=2, padding=(1, 0), dilation=(1, 2))])
def test_direct_route_gradcheck_and_gradgradcheck(kw, monkeypatch):
    monkeypatch.setenv("AUTOGRAD_CORE_CONV_ROUTES", "direct")
    rng = np.random.default_rng(0)
    x = ag.tensor(rng.standard_normal((1, 12, 4, 4)), requires_grad=True)
    w = ag.tensor(rng.standard_normal((12, 12, 2, 2)) / 4, requires_grad=True)
    b = ag.tensor(rng.standard_normal(12), requires_grad=True)

    def f(x, w, b):
        return ag.conv2d(x, w, b, **kw)

    with log_routes() as taken:
        assert ag.gradcheck(f, (x, w, b))
        assert ag.gradgradcheck(f, (x, w, b))
    assert {r.route for r in taken} == {"direct"}


@pytest.mark.parametrize("padding", [0, 3])  # the input gradient placed at 2 and at -1 (cropped)
def test_winograd_route_gradcheck_and_gradgradcheck(padding, monkeypatch):
    """float64 through the Winograd kernel (forced), finite differences of the first and second derivatives."""
    monkeypatch.setenv("AUTOGRAD_CORE_CONV_ROUTES", "winograd")
    rng = np.random.default_rng(0)
    x = ag.tensor(rng.standard_normal((1, 16, 3, 4)), requires_grad=True)
    w = ag.tensor(rng.standard_normal((16, 16, 3, 3)) / 12, requires_grad=True)
    b = ag.tensor(rng.standard_normal(16), requires_grad=True)

    def f(x, w, b):
        return ag.conv2d(x, w, b, padding=padding)

    with log_routes() as taken:
        assert ag.gradcheck(f, (x, w, b))
        assert ag.gradgradcheck(f, (x, w, b))
    assert {r.route for r in taken} == {"winograd"}


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("stride", [1, 2])
def test_depthwise_route_gradcheck_and_gradgradcheck(channels_last, stride):
    rng = np.random.default_rng(0)
    xa = rng.standard_normal((2, 3, 5, 5))
    x = ag.from_numpy(_channels_last(xa) if channels_last else xa).requires_grad_()
    w = ag.tensor(rng.standard_normal((3, 1, 3, 3)), requires_grad=True)
    b = ag.tensor(rng.standard_normal(3), requires_grad=True)

    def f(x, w, b):
        return ag.conv2d(x, w, b, stride=stride, padding=1, groups=3)

    assert _is_channels_last(f(x, w, b).data) == channels_last  # the depthwise kernels keep the layout
    assert ag.gradcheck(f, (x, w, b))
    assert ag.gradgradcheck(f, (x, w, b))
