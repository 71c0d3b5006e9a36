"""Embedding, Bilinear, channel dropout, interpolate/Upsample, pixel shuffle, unfold/fold, adaptive max pooling,
padding layers and true convolution: each against a plain numpy reference (loops where that is clearest),
gradcheck/gradgradcheck in float64, and values PyTorch 2.13 gave for fixed inputs (a developer check)."""

import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

import autograd_core as ag
import nn
import nn.functional as F
from autograd_core.testing import op_test, shapes

rng = np.random.default_rng(0)


def T(a, **kw):
    return ag.tensor(a, **kw)


def t64(a):
    return ag.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


def check(fn, ref, x, gradgrad=True):
    """``fn`` against the numpy ``ref`` in float64 and float32, then gradcheck (and gradgradcheck) in float64
    (inside tests that draw their own cases, where ``check_op`` would nest Hypothesis)."""
    for dt, rtol, atol in ((np.float64, 1e-10, 1e-12), (np.float32, 1e-4, 1e-5)):
        got = fn(ag.tensor(x.astype(dt)))
        assert got.dtype == dt
        np.testing.assert_allclose(got.numpy(), ref(x.astype(dt)), rtol=rtol, atol=atol)
    assert ag.gradcheck(fn, (t64(x),))
    if gradgrad:
        assert ag.gradgradcheck(fn, (t64(x),))


# --------------------------------------------------------------------------- embedding

@given(st.integers(1, 5), st.integers(1, 3), shapes(min_dims=0, max_dims=2, min_side=0), st.data())
def test_embedding_forward_and_gradient_against_numpy(rows, dim, idx_shape, data):
    w = rng.normal(size=(rows, dim))
    idx = np.asarray(data.draw(st.lists(st.integers(0, rows - 1), min_size=int(np.prod(idx_shape)),
                                        max_size=int(np.prod(idx_shape))))).reshape(idx_shape).astype(np.int64)
    pad = data.draw(st.one_of(st.none(), st.integers(-rows, rows - 1)))
    freq = data.draw(st.booleans())
    wt = t64(w)
    out = F.embedding(T(idx), wt, padding_idx=pad, scale_grad_by_freq=freq)
    np.testing.assert_array_equal(out.detach().numpy(), w[idx])
    g = rng.normal(size=out.shape)
    out.backward(T(g))
    want = np.zeros_like(w)
    counts = np.bincount(idx.reshape(-1), minlength=rows)
    for i, row in zip(idx.reshape(-1), g.reshape(-1, dim)):
        if pad is None or i != pad % rows:
            want[i] += row / (counts[i] if freq else 1)
    np.testing.assert_allclose(wt.grad.numpy(), want, rtol=1e-12, atol=1e-15)


def test_embedding_double_backward_pytorch_values_and_errors():
    w = t64(rng.normal(size=(4, 3)))
    idx = T([[0, 3], [3, 1]])
    fn = lambda t: F.embedding(idx, t, padding_idx=2) ** 2  # noqa: E731 (row 2 unused: its zero gradient is by design)
    assert ag.gradcheck(fn, (w,)) and ag.gradgradcheck(fn, (w,))
    # PyTorch's values: max_norm renormalises the looked-up rows of the weight in place
    w3 = ag.arange(12.0).reshape(4, 3)
    y = F.embedding(T([0, 3]), w3, max_norm=5.0)
    np.testing.assert_allclose(w3.numpy()[3], [2.58945894, 2.87717676, 3.16489434], rtol=1e-6)
    np.testing.assert_allclose(y.numpy()[1], w3.numpy()[3])
    np.testing.assert_array_equal(w3.numpy()[:3], np.arange(9.0).reshape(3, 3))
    assert F.embedding(T(2), w3).shape == (3,) and F.embedding(T(np.zeros(0, np.int64)), w3).shape == (0, 3)
    assert F.embedding(T(np.array([1], np.int32)), w3).shape == (1, 3)
    with pytest.raises(TypeError, match="indices must be an integer tensor"):
        F.embedding(T([0.0]), w3)
    with pytest.raises(IndexError, match="index 4 is out of range for a table of 4 rows"):
        F.embedding(T([4]), w3)
    with pytest.raises(IndexError, match="index -1 is out of range"):
        F.embedding(T([-1]), w3)
    with pytest.raises(ValueError, match="padding_idx=4 must be within num_embeddings"):
        F.embedding(T([1]), w3, padding_idx=4)
    with pytest.raises(NotImplementedError, match="sparse gradients"):
        F.embedding(T([1]), w3, sparse=True)


def test_embedding_layer():
    ag.manual_seed(0)
    m = nn.Embedding(1000, 8, padding_idx=-1)
    w = m.weight.detach().numpy()
    assert m.padding_idx == 999 and np.all(w[999] == 0)
    assert abs(w[:999].mean()) < 0.02 and abs(w[:999].std() - 1) < 0.02  # N(0, 1), as in PyTorch
    x = T([[1, 999], [3, 3]])
    m(x).sum().backward()
    assert np.all(m.weight.grad.numpy()[999] == 0) and np.all(m.weight.grad.numpy()[3] == 2)
    p = nn.Embedding.from_pretrained(T([[1.0, 2.0], [3.0, 4.0]]))
    assert not p.weight.requires_grad and p(T([1])).tolist() == [[3.0, 4.0]]
    assert nn.Embedding.from_pretrained(T([[1.0, 2.0]]), freeze=False).weight.requires_grad
    assert set(m.state_dict()) == {"weight"} and "padding_idx=999" in repr(m)


# --------------------------------------------------------------------------- bilinear

def np_bilinear(a, b, w, bias):
    return np.einsum("...i,oij,...j->...o", a, w, b) + bias


@st.composite
def _bilinear_shapes(draw):
    lead = draw(shapes(min_dims=0, max_dims=2, max_side=2))
    i1, i2, o = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 2))
    return (lead + (i1,), lead + (i2,), (o, i1, i2), (o,))


test_bilinear = op_test(F.bilinear, np_bilinear, 4, shapes=_bilinear_shapes())


def test_bilinear_layer_and_errors():
    m = nn.Bilinear(2, 3, 4)
    bound = 1 / math.sqrt(2)
    assert m.weight.shape == (4, 2, 3) and np.abs(m.weight.detach().numpy()).max() <= bound
    np.testing.assert_allclose(m(ag.ones(5, 2), ag.ones(5, 3)).detach().numpy(),
                               np_bilinear(np.ones((5, 2)), np.ones((5, 3)), m.weight.detach().numpy(),
                                           m.bias.detach().numpy()), rtol=1e-5)
    assert nn.Bilinear(2, 3, 4, bias=False).bias is None
    assert F.bilinear(ag.ones(2), ag.ones(3), ag.ones(4, 2, 3)).tolist() == [6.0] * 4  # PyTorch's value
    with pytest.raises(ag.ShapeError, match="same leading"):
        F.bilinear(ag.ones(5, 2), ag.ones(4, 3), ag.ones(4, 2, 3))
    with pytest.raises(ag.ShapeError, match="do not fit weight"):
        F.bilinear(ag.ones(5, 3), ag.ones(5, 3), ag.ones(4, 2, 3))


# --------------------------------------------------------------------------- dropout variants

@pytest.mark.parametrize("fn,shape,mask_shape", [
    (F.dropout1d, (4, 6, 5), (4, 6, 1)), (F.dropout1d, (6, 5), (6, 1)),
    (F.dropout2d, (4, 6, 3, 3), (4, 6, 1, 1)), (F.dropout2d, (6, 3, 3), (6, 3, 1)),  # 3-D: (N, C, L) today
    (F.dropout3d, (2, 6, 2, 2, 2), (2, 6, 1, 1, 1)), (F.dropout3d, (6, 2, 2, 2), (6, 1, 1, 1)),
])
@pytest.mark.filterwarnings("ignore:dropout2d")
def test_channel_dropout_zeroes_whole_channels_and_scales_the_rest(fn, shape, mask_shape):
    ag.manual_seed(3)
    x = T(rng.uniform(1, 2, shape), dtype=np.float64, requires_grad=True)
    y = fn(x, 0.4)
    ratio = y.detach().numpy() / x.detach().numpy()
    lead = max(i for i, m in enumerate(mask_shape) if m != 1) + 1  # the (batch and) channel dimensions
    per_channel = ratio.reshape(mask_shape[:lead] + (-1,))
    assert np.all((per_channel == 0) | np.isclose(per_channel, 1 / 0.6))
    assert np.allclose(per_channel, per_channel[..., :1], rtol=1e-12)  # constant over each channel
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), ratio)
    assert fn(x, 0.4, training=False) is x
    ag.manual_seed(3)
    np.testing.assert_array_equal(fn(x, 0.4).detach().numpy(), y.detach().numpy())  # seeded


def test_channel_dropout_edges():
    with pytest.warns(UserWarning, match="3-D input"):
        y = F.dropout2d(ag.ones(2, 3, 4), 0.5)  # PyTorch still reads 3-D as (N, C, L)
    assert np.all(y.numpy() == y.numpy()[:, :, :1])
    with pytest.raises(ValueError, match=r"dropout1d: expected a 2-D or 3-D input"):
        F.dropout1d(ag.ones(2, 3, 2, 2))
    assert F.dropout2d(ag.zeros(0, 3, 2, 2), 0.5).shape == (0, 3, 2, 2)
    assert np.all(F.dropout2d(ag.ones(2, 3, 2, 2), 1.0).numpy() == 0)
    m = nn.Dropout2d(0.5)
    m.eval()
    x = ag.ones(2, 3, 2, 2)
    assert m(x) is x
    assert repr(nn.Dropout1d(0.1)) == "Dropout1d(p=0.1, inplace=False)"


def test_alpha_dropout_keeps_mean_and_variance():
    ag.manual_seed(0)
    x = ag.randn(200000, dtype=np.float64)
    y = F.alpha_dropout(x, 0.3, training=True).numpy()
    assert abs(y.mean()) < 0.01 and abs(y.std() - 1) < 0.01
    # PyTorch's values for ones at p = 0.5: kept -> 1.6656, dropped -> -0.7792
    vals = np.unique(np.round(F.alpha_dropout(ag.ones(64), 0.5, training=True).numpy(), 4))
    np.testing.assert_allclose(vals, [-0.7792, 1.6656])
    assert F.alpha_dropout(x, 0.3) is x  # training=False by default, as in PyTorch
    assert np.all(F.alpha_dropout(ag.ones(4), 1.0, training=True).numpy() == 0)
    f = F.feature_alpha_dropout(ag.ones(4, 5, 3), 0.5, training=True).numpy()
    assert np.all(f == f[:, :, :1])
    m = nn.AlphaDropout(0.2)
    assert m(x).shape == x.shape and nn.FeatureAlphaDropout(0.2).p == 0.2


# --------------------------------------------------------------------------- interpolate

def _src(out_size, in_size, scale, align_corners, clamp=True):
    srcs = []
    for j in range(out_size):
        if align_corners:
            s = j * (in_size - 1) / (out_size - 1) if out_size > 1 else 0.0
        else:
            s = (j + 0.5) * scale - 0.5
            if clamp:
                s = max(s, 0.0)
        srcs.append(s)
    return srcs


def np_resample_matrix(mode, in_size, out_size, scale, align_corners=False):
    """The (out, in) matrix of one axis, built entry by entry from the formulas."""
    m = np.zeros((out_size, in_size))
    if mode == "nearest":
        for j in range(out_size):
            m[j, min(int(math.floor(np.float32(j) * np.float32(scale))), in_size - 1)] = 1
    elif mode == "nearest-exact":
        for j in range(out_size):
            m[j, min(int(math.floor((np.float32(j) + np.float32(0.5)) * np.float32(scale))), in_size - 1)] = 1
    elif mode in ("linear", "bilinear", "trilinear"):
        for j, s in enumerate(_src(out_size, in_size, scale, align_corners)):
            i0 = min(int(math.floor(s)), in_size - 1)
            i1 = min(i0 + 1, in_size - 1)
            m[j, i0] += 1 - (s - i0)
            m[j, i1] += s - i0
    elif mode == "bicubic":
        a = -0.75
        for j, s in enumerate(_src(out_size, in_size, scale, align_corners, clamp=False)):
            i = math.floor(s)
            for k in range(-1, 3):
                d = abs(s - (i + k))
                w = ((a + 2) * d - (a + 3)) * d * d + 1 if d <= 1 else ((a * d - 5 * a) * d + 8 * a) * d - 4 * a
                m[j, min(max(i + k, 0), in_size - 1)] += w
    elif mode == "area":
        for j in range(out_size):
            lo, hi = (j * in_size) // out_size, -((-(j + 1) * in_size) // out_size)
            m[j, lo:hi] = 1 / (hi - lo)
    return m


def np_interpolate(x, out, mode, align_corners=False, scales=None):
    y = x
    for k, o in enumerate(out):
        n = x.shape[2 + k]
        s = scales[k] if scales else n / o
        y = np.moveaxis(np.moveaxis(y, 2 + k, -1) @ np_resample_matrix(mode, n, o, s, align_corners).T, -1, 2 + k)
    return y


@st.composite
def _interp_case(draw):
    mode = draw(st.sampled_from(["nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area"]))
    nsp = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}.get(mode) or draw(st.integers(1, 2))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) + tuple(draw(st.integers(1, 4)) for _ in range(nsp))
    out = tuple(draw(st.integers(1, 5)) for _ in range(nsp))
    ac = draw(st.booleans()) if mode in ("linear", "bilinear", "bicubic", "trilinear") else None
    return shape, dict(size=out, mode=mode, align_corners=ac)


@given(_interp_case())
def test_interpolate_matches_numpy_resampling_matrices(case):
    shape, kw = case
    check(lambda x: F.interpolate(x, **kw),
          lambda x: np_interpolate(x, kw["size"], kw["mode"], bool(kw["align_corners"])).astype(x.dtype),
          rng.normal(size=shape), gradgrad=False)


def test_interpolate_second_derivative_and_scale_factor_rules():
    x = t64(rng.normal(size=(1, 2, 3, 4)))
    for mode in ("bilinear", "bicubic", "nearest", "area"):
        fn = lambda t, mode=mode: F.interpolate(t, scale_factor=1.7, mode=mode) ** 2  # noqa: E731
        assert ag.gradgradcheck(fn, (x,))
    xv = x.detach().numpy()
    # scale_factor: output floor(in * s); positions from 1 / s unless recompute_scale_factor
    got = F.interpolate(x, scale_factor=1.7, mode="bilinear").detach().numpy()
    np.testing.assert_allclose(got, np_interpolate(xv, (5, 6), "bilinear", scales=(1 / 1.7, 1 / 1.7)), rtol=1e-12)
    got = F.interpolate(x, scale_factor=1.7, mode="bilinear", recompute_scale_factor=True).detach().numpy()
    np.testing.assert_allclose(got, np_interpolate(xv, (5, 6), "bilinear"), rtol=1e-12)


def test_interpolate_pytorch_values():
    x = ag.arange(12.0).reshape(1, 1, 3, 4)

    def same(want, **kw):
        got = F.interpolate(x, **kw).numpy().reshape(-1)[:len(want)]
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)

    same([0, 1, 2, 0, 1, 2, 4, 5, 6, 4, 5, 6, 8, 9, 10], size=(5, 3))
    same([0, 2, 3, 0, 2, 3, 4, 6, 7, 8, 10, 11, 8, 10, 11], size=(5, 3), mode="nearest-exact")
    same([0.16667, 1.5, 2.83333, 1.76667, 3.1, 4.43333], size=(5, 3), mode="bilinear")
    same([0.0, 1.5, 3.0, 2.0, 3.5, 5.0], size=(5, 3), mode="bilinear", align_corners=True)
    same([0.0, 0.38235, 0.97059, 1.55882], scale_factor=1.7, mode="bilinear")
    same([-0.25784, 1.116, 2.48984, 1.39016], size=(5, 3), mode="bicubic")
    same([2.5, 3.5, 4.5, 6.5, 7.5, 8.5], size=(2, 3), mode="area")
    same([0, 2, 0, 2, 4, 6, 4, 6, 8, 10, 8, 10], scale_factor=(2, 0.5))
    assert F.interpolate(ag.zeros(0, 2, 3, 3), scale_factor=2).shape == (0, 2, 6, 6)
    y = F.interpolate(x, scale_factor=1)
    assert y is not x and np.array_equal(y.numpy(), x.numpy())


def test_interpolate_errors():
    x = ag.zeros(1, 1, 3, 4)
    with pytest.raises(ValueError, match="exactly one of size and scale_factor"):
        F.interpolate(x)
    with pytest.raises(ValueError, match="exactly one of size and scale_factor"):
        F.interpolate(x, size=4, scale_factor=2)
    with pytest.raises(ValueError, match="align_corners can only be set"):
        F.interpolate(x, scale_factor=2, align_corners=True)
    with pytest.raises(ag.ShapeError, match="mode 'bilinear' needs 4-D input"):
        F.interpolate(ag.zeros(1, 3, 4), scale_factor=2, mode="bilinear")
    with pytest.raises(TypeError, match="floating-point"):
        F.interpolate(ag.zeros(1, 1, 3, 4, dtype=np.int64), scale_factor=2)
    with pytest.raises(ValueError, match="mode must be one of"):
        F.interpolate(x, scale_factor=2, mode="cubic")
    with pytest.raises(NotImplementedError, match="antialias"):
        F.interpolate(x, scale_factor=0.5, mode="bilinear", antialias=True)


def test_upsample_layers():
    x = ag.arange(12.0).reshape(1, 1, 3, 4)
    np.testing.assert_array_equal(nn.Upsample(scale_factor=2, mode="bilinear")(x).numpy(),
                                  F.interpolate(x, scale_factor=2, mode="bilinear").numpy())
    # PyTorch's UpsamplingBilinear2d aligns corners
    np.testing.assert_allclose(nn.UpsamplingBilinear2d(scale_factor=2)(x).numpy().reshape(-1)[:4],
                               [0.0, 0.42857143, 0.85714286, 1.28571429], rtol=1e-6)
    assert nn.UpsamplingNearest2d(size=(6, 8))(x).shape == (1, 1, 6, 8)
    assert F.upsample_bilinear(x, scale_factor=2).shape == (1, 1, 6, 8)
    repr(nn.Upsample(size=3))


# --------------------------------------------------------------------------- pixel shuffle

def np_pixel_shuffle(x, r):
    *lead, c, h, w = x.shape
    out = np.zeros(tuple(lead) + (c // (r * r), h * r, w * r))
    for ch in range(c // (r * r)):
        for i in range(r):
            for j in range(r):
                out[..., ch, i::r, j::r] = x[..., ch * r * r + i * r + j, :, :]
    return out


@st.composite
def _shuffle_shapes(draw):
    r = draw(st.integers(1, 3))
    lead = draw(shapes(min_dims=0, max_dims=1, max_side=2))
    return (lead + (draw(st.integers(1, 2)) * r * r, draw(st.integers(1, 3)), draw(st.integers(1, 3))),), r


@given(_shuffle_shapes())
def test_pixel_shuffle_and_unshuffle(case):
    (shape,), r = case
    x = rng.normal(size=shape)
    check(lambda t: F.pixel_shuffle(t, r), lambda t: np_pixel_shuffle(t, r).astype(t.dtype), x)
    up = F.pixel_shuffle(T(x), r)
    np.testing.assert_array_equal(F.pixel_unshuffle(up, r).numpy(), x)
    assert nn.PixelUnshuffle(r)(nn.PixelShuffle(r)(T(x))).shape == shape


def test_pixel_shuffle_errors_and_values():
    assert F.pixel_unshuffle(ag.arange(16.0).reshape(1, 1, 4, 4), 2).numpy().reshape(-1)[:8].tolist() == \
        [0, 2, 8, 10, 1, 3, 9, 11]  # PyTorch's values
    with pytest.raises(ag.ShapeError, match="divisible by upscale_factor"):
        F.pixel_shuffle(ag.zeros(6, 1, 1), 2)
    with pytest.raises(ag.ShapeError, match="divisible by downscale_factor=2"):
        F.pixel_unshuffle(ag.zeros(1, 1, 4, 3), 2)
    assert F.pixel_shuffle(ag.arange(8).reshape(1, 8, 1, 1), 2).dtype == np.int64


# --------------------------------------------------------------------------- unfold / fold

def np_unfold(x, k, d, p, s):
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))
    oh = (h + 2 * p[0] - d[0] * (k[0] - 1) - 1) // s[0] + 1
    ow = (w + 2 * p[1] - d[1] * (k[1] - 1) - 1) // s[1] + 1
    out = np.zeros((n, c * k[0] * k[1], oh * ow))
    for ch in range(c):
        for i in range(k[0]):
            for j in range(k[1]):
                row = (ch * k[0] + i) * k[1] + j
                for a in range(oh):
                    for b in range(ow):
                        out[:, row, a * ow + b] = xp[:, ch, a * s[0] + i * d[0], b * s[1] + j * d[1]]
    return out


@st.composite
def _unfold_case(draw):
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    p = (draw(st.integers(0, 1)), draw(st.integers(0, 1)))
    s = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    lo_h, lo_w = max(1, d[0] * (k[0] - 1) + 1 - 2 * p[0]), max(1, d[1] * (k[1] - 1) + 1 - 2 * p[1])
    h, w = draw(st.integers(lo_h, lo_h + 2)), draw(st.integers(lo_w, lo_w + 2))
    return (1, draw(st.integers(1, 2)), h, w), (k, d, p, s)


@given(_unfold_case())
def test_unfold_and_fold_against_loops(case):
    shape, (k, d, p, s) = case
    x = rng.normal(size=shape)
    check(lambda t: F.unfold(t, k, d, p, s), lambda t: np_unfold(t, k, d, p, s).astype(t.dtype), x)
    # fold is unfold's adjoint: <unfold(x), y> == <x, fold(y)>
    cols = np_unfold(x, k, d, p, s)
    y = rng.normal(size=cols.shape)
    folded = F.fold(T(y), shape[2:], k, d, p, s).numpy()
    np.testing.assert_allclose((cols * y).sum(), (x * folded).sum(), rtol=1e-10)
    yt = t64(y)
    assert ag.gradgradcheck(lambda t: F.fold(t, shape[2:], k, d, p, s) ** 2, (yt,))


def test_unfold_is_conv2d_as_a_matrix_product_and_fold_values():
    x, w = rng.normal(size=(2, 3, 5, 6)), rng.normal(size=(4, 3, 3, 2))
    cols = F.unfold(T(x), (3, 2), padding=1, stride=(2, 1)).numpy()
    conv = F.conv2d(T(x), T(w), padding=1, stride=(2, 1)).numpy()
    np.testing.assert_allclose((w.reshape(4, -1) @ cols).reshape(conv.shape), conv, rtol=1e-10)
    # PyTorch's values: fold(ones) counts how many blocks cover each pixel
    assert F.fold(ag.ones(2, 8, 12), (4, 5), 2).numpy()[0, 0, 0].tolist() == [1, 2, 2, 2, 1]
    assert F.unfold(ag.ones(2, 4, 5), 2).shape == (8, 12)  # unbatched
    with pytest.raises(ag.ShapeError, match="gives 3 x 4 = 12 blocks"):
        F.fold(ag.ones(2, 8, 11), (4, 5), 2)
    with pytest.raises(ag.ShapeError, match="divisible by the kernel's size"):
        F.fold(ag.ones(2, 7, 12), (4, 5), 2)
    with pytest.raises(ag.ShapeError, match=r"expected input \(N, C, H, W\) or \(C, H, W\)"):
        F.unfold(ag.ones(4, 5), 2)
    m = nn.Fold((4, 5), 2)
    assert m(nn.Unfold(2)(ag.ones(1, 2, 4, 5))).shape == (1, 2, 4, 5)


# --------------------------------------------------------------------------- adaptive max pooling

def np_adaptive_max(x, out_hw):
    n, c, h, w = x.shape
    oh, ow = out_hw
    vals = np.zeros((n, c, oh, ow))
    idx = np.zeros((n, c, oh, ow), np.int64)
    for i in range(oh):
        r0, r1 = (i * h) // oh, -((-(i + 1) * h) // oh)
        for j in range(ow):
            c0, c1 = (j * w) // ow, -((-(j + 1) * w) // ow)
            win = x[:, :, r0:r1, c0:c1].reshape(n, c, -1)
            a = win.argmax(-1)
            vals[:, :, i, j] = win.max(-1)
            idx[:, :, i, j] = (r0 + a // (c1 - c0)) * w + c0 + a % (c1 - c0)
    return vals, idx


@st.composite
def _amp_case(draw):
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 6)), draw(st.integers(1, 6)))
    return shape, (draw(st.integers(1, 5)), draw(st.integers(1, 5)))


@given(_amp_case())
def test_adaptive_max_pool2d_against_loops(case):
    from autograd_core.testing import untied
    shape, out = case
    (x,) = untied([rng.normal(size=shape)], 1e-2)  # no ties: finite differences stay on one side
    check(lambda t: F.adaptive_max_pool2d(t, out), lambda t: np_adaptive_max(t, out)[0].astype(t.dtype), x)
    _, idx = F.adaptive_max_pool2d(T(x), out, return_indices=True)
    np.testing.assert_array_equal(idx.numpy(), np_adaptive_max(x, out)[1])


def test_adaptive_max_pool_pytorch_values_and_layers():
    x = T([[[[1.0, 3.0, 3.0], [3.0, 0.0, 2.0], [5.0, 5.0, 1.0]]]], dtype=np.float64, requires_grad=True)
    v, i = F.adaptive_max_pool2d(x, 2, return_indices=True)
    assert v.detach().numpy().reshape(-1).tolist() == [3, 3, 5, 5] and i.numpy().reshape(-1).tolist() == [1, 1, 6, 7]
    v.sum().backward()
    assert x.grad.numpy()[0, 0].tolist() == [[0, 2, 0], [0, 0, 0], [1, 1, 0]]  # ties: the first maximum
    nan = T([[[[1.0, np.nan, 3.0], [3.0, 0.0, 2.0], [5.0, 5.0, 1.0]]]])
    assert F.adaptive_max_pool2d(nan, 2, return_indices=True)[1].numpy().reshape(-1).tolist() == [1, 1, 6, 7]
    assert F.adaptive_max_pool1d(T([[[1.0, 3.0, 3.0, 7.0, 0.0]]]), 3, return_indices=True)[1].tolist() == [[[1, 3, 3]]]
    assert F.adaptive_max_pool2d(ag.ones(2, 3, 3), (5, 4)).shape == (2, 5, 4)
    assert F.adaptive_max_pool2d(ag.ones(0, 3, 3, 3), 2).shape == (0, 3, 2, 2)
    with pytest.raises(ag.ShapeError, match="non-batch dimensions must be non-empty"):
        F.adaptive_max_pool2d(ag.ones(1, 3, 0, 3), 2)
    assert nn.AdaptiveMaxPool2d(1)(x).shape == (1, 1, 1, 1)
    vals, ind = nn.AdaptiveMaxPool1d(2, return_indices=True)(ag.arange(6.0).reshape(1, 1, 6))
    assert vals.tolist() == [[[2.0, 5.0]]] and ind.tolist() == [[[2, 5]]]
    assert nn.AdaptiveAvgPool1d(3)(ag.arange(6.0).reshape(1, 1, 6)).tolist() == [[[0.5, 2.5, 4.5]]]
    xg = t64(rng.normal(size=(2, 2, 5, 7)))
    assert ag.gradgradcheck(lambda t: F.adaptive_max_pool2d(t, (2, 3)) ** 2, (xg,))


# --------------------------------------------------------------------------- padding layers

@pytest.mark.parametrize("cls,np_mode,n", [
    (nn.ZeroPad1d, "constant", 1), (nn.ZeroPad2d, "constant", 2), (nn.ZeroPad3d, "constant", 3),
    (nn.ReflectionPad1d, "reflect", 1), (nn.ReflectionPad2d, "reflect", 2), (nn.ReflectionPad3d, "reflect", 3),
    (nn.ReplicationPad1d, "edge", 1), (nn.ReplicationPad2d, "edge", 2), (nn.ReplicationPad3d, "edge", 3),
    (nn.CircularPad1d, "wrap", 1), (nn.CircularPad2d, "wrap", 2), (nn.CircularPad3d, "wrap", 3),
])
def test_padding_layers_match_numpy_pad(cls, np_mode, n):
    pads = tuple(int(v) for v in rng.integers(0, 3, 2 * n))
    x = rng.normal(size=(1, 2) + (3,) * n)
    width = [(0, 0), (0, 0)] + [(pads[2 * i], pads[2 * i + 1]) for i in reversed(range(n))]
    np.testing.assert_array_equal(cls(pads)(T(x)).numpy(), np.pad(x, width, mode=np_mode))
    np.testing.assert_array_equal(cls(1)(T(x[0])).numpy(), np.pad(x[0], [(0, 0)] + [(1, 1)] * n, mode=np_mode))
    assert ag.gradcheck(lambda t: cls(pads)(t), (t64(x),))


def test_constant_pad_and_errors():
    x = rng.normal(size=(1, 2, 3))
    np.testing.assert_array_equal(nn.ConstantPad1d((1, 2), 3.5)(T(x)).numpy(),
                                  np.pad(x, [(0, 0), (0, 0), (1, 2)], constant_values=3.5))
    assert nn.ConstantPad2d(1, -1.0)(ag.zeros(1, 2, 2)).numpy()[0, 0].tolist() == [-1, -1, -1, -1]
    with pytest.raises(ValueError, match=r"ZeroPad2d: padding must be an int or a tuple of 4 ints"):
        nn.ZeroPad2d((1, 2))
    with pytest.raises(ValueError, match="ReflectionPad2d: expected a 3-D or 4-D input"):
        nn.ReflectionPad2d(1)(ag.zeros(2, 2))
    assert repr(nn.ConstantPad3d(1, 2.0)) == "ConstantPad3d((1, 1, 1, 1, 1, 1), value=2.0)"


# --------------------------------------------------------------------------- true convolution

def np_convolve_batch(x, w, b, stride, pad):
    """Loops over the definition: out[n,o,i,j] = sum x[n,c,i*s - p + kh-1-u, ...] w[o,c,u,v] (kernel flipped)."""
    n, _, h, wd = x.shape
    co, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = (h + 2 * pad - kh) // stride + 1, (wd + 2 * pad - kw) // stride + 1
    out = np.zeros((n, co, oh, ow))
    for o in range(co):
        for i in range(oh):
            for j in range(ow):
                for u in range(kh):
                    for v in range(kw):
                        out[:, o, i, j] += (xp[:, :, i * stride + kh - 1 - u, j * stride + kw - 1 - v] * w[o, :, u, v]
                                            ).sum(1)
    return out + b[None, :, None, None]


@pytest.mark.parametrize("stride,pad", [(1, 0), (2, 1), (1, 2)])
def test_convolve2d_on_batches_against_the_definition(stride, pad):
    x, w, b = rng.normal(size=(2, 3, 6, 5)), rng.normal(size=(4, 3, 3, 2)), rng.normal(size=4)
    got = F.convolve2d(T(x), T(w), stride, pad, bias=T(b))
    np.testing.assert_allclose(got.numpy(), np_convolve_batch(x, w, b, stride, pad), rtol=1e-10, atol=1e-12)
    assert not np.allclose(got.numpy(), F.correlate2d(T(x), T(w), stride, pad, bias=T(b)).numpy())
    xt, wt, bt = t64(x), t64(w), t64(b)
    fn = lambda a, k, c: F.convolve2d(a, k, stride, pad, bias=c)  # noqa: E731
    assert ag.gradcheck(fn, (xt, wt, bt)) and ag.gradgradcheck(fn, (xt, wt, bt))
    np.testing.assert_allclose(F.convolve2d(T(x[0]), T(w), stride, pad).numpy(),
                               np_convolve_batch(x[:1], w, np.zeros(4), stride, pad)[0], rtol=1e-10, atol=1e-12)


def test_convolve2d_full_padding_groups_and_the_2d_form():
    x, w = rng.normal(size=(1, 4, 5, 5)), rng.normal(size=(2, 2, 3, 3))
    got = F.convolve2d(T(x), T(w), padding="full", groups=2).numpy()
    want = F.conv2d(T(x), T(w[:, :, ::-1, ::-1].copy()), padding=2, groups=2).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert got.shape == (1, 2, 7, 7)
    assert ag.convolve2d(T([[0.0, 1.0, 2.0, 3.0, 4.0]]), np.array([[1.0, 0.0]])).tolist() == [[1.0, 2.0, 3.0, 4.0]]
    with pytest.raises(ValueError, match="bias and groups apply to batched input"):
        F.convolve2d(ag.zeros(5, 5), ag.zeros(3, 3), bias=ag.zeros(1))
    with pytest.raises(ag.ShapeError, match="convolve2d: expected a 2-D image"):
        F.convolve2d(ag.zeros(5, 5), ag.zeros(1, 1, 3, 3))


def test_conv_layers_with_flip_are_true_convolutions():
    ag.manual_seed(0)
    m = nn.Conv2d(3, 4, (3, 2), padding=1, flip=True).double()
    x = t64(rng.normal(size=(2, 3, 5, 5)))
    w, b = m.weight.detach().numpy(), m.bias.detach().numpy()
    np.testing.assert_allclose(m(x).detach().numpy(), np_convolve_batch(x.detach().numpy(), w, b, 1, 1), rtol=1e-10,
                               atol=1e-12)
    m(x).sum().backward()
    assert m.weight.grad.shape == (4, 3, 3, 2) and "flip=True" in repr(m)
    ref = nn.Conv2d(3, 4, (3, 2), padding=1).double()
    ref.load_state_dict(m.state_dict())  # the same parameters, in the same orientation
    assert not np.allclose(ref(x).detach().numpy(), m(x).detach().numpy())
    m1 = nn.Conv1d(2, 3, 3, flip=True).double()
    x1 = rng.normal(size=(2, 2, 7))
    want = F.conv1d(T(x1), T(m1.weight.detach().numpy()[:, :, ::-1].copy()), m1.bias.detach()).numpy()
    np.testing.assert_allclose(m1(T(x1)).detach().numpy(), want, rtol=1e-12)
