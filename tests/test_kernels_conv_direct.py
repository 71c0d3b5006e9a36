"""The direct and depthwise conv kernels called directly, over Hypothesis-drawn shapes, strides,
paddings (negative too: the input-gradient use crops), dilations, groups, both input and output
layouts, float32 and float64, and thread slots, against the plain numpy references of
``test_conv`` (tap-by-tap sums over an explicitly padded input)."""

import numpy as np
import pytest
from hypothesis import given, strategies as st

from autograd_core.kernels import load
from autograd_core.kernels.simd import LANES
from test_conv import conv_grads_ref, conv_ref


def _K():
    return load("conv_direct")


def _DW():
    return load("depthwise")


def _out(n, k, s, p0, p1, d):
    return (n + p0 + p1 - d * (k - 1) - 1) // s + 1


def _nhwc(a):
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1))


def _crop_ref(x, w, b, stride, pads, dil, groups):
    """conv_ref for paddings that may be negative (a negative padding crops the padded input)."""
    (pt, pb), (pl, pr) = pads
    N, C, H, W = x.shape
    xp = np.zeros((N, C, H + max(pt, 0) + max(pb, 0), W + max(pl, 0) + max(pr, 0)))
    xp[:, :, max(pt, 0):max(pt, 0) + H, max(pl, 0):max(pl, 0) + W] = x
    xp = xp[:, :, max(0, -pt):xp.shape[2] - max(0, -pb), max(0, -pl):xp.shape[3] - max(0, -pr)]
    return conv_ref(xp, w, b, stride, ((0, 0), (0, 0)), dil, groups)


@st.composite
def direct_cases(draw):
    G = draw(st.integers(1, 3))
    Cig = draw(st.integers(1, 7))
    Cog = draw(st.sampled_from([1, 5, 8, 16, 17, 32]))
    N = draw(st.integers(1, 4))
    KH, KW = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 2))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    pt, pl = draw(st.integers(-1, 3)), draw(st.integers(-1, 3))
    H = draw(st.integers(max(1, dh * (KH - 1) + 1 - 2 * pt), 9))
    W = draw(st.integers(max(1, dw * (KW - 1) + 1 - 2 * pl), 9))
    # bottom/right padding: what makes the output size come out as drawn (kernels take it from y)
    OH = draw(st.integers(1, max(1, _out(H, KH, sh, pt, pt, dh))))
    OW = draw(st.integers(1, max(1, _out(W, KW, sw, pl, pl, dw))))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    slots = draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2 ** 16))
    return dict(G=G, Cig=Cig, Cog=Cog, N=N, KH=KH, KW=KW, s=(sh, sw), d=(dh, dw), pt=pt, pl=pl, H=H, W=W,
                OH=OH, OW=OW, dtype=dtype, slots=slots, seed=seed)


def _bottom_right(c):
    """The bottom/right padding that gives output size (OH, OW) (the rest of the input is unread)."""
    pb = (c["OH"] - 1) * c["s"][0] + c["d"][0] * (c["KH"] - 1) + 1 - c["H"] - c["pt"]
    pr = (c["OW"] - 1) * c["s"][1] + c["d"][1] * (c["KW"] - 1) + 1 - c["W"] - c["pl"]
    return pb, pr


def _tol(dtype):
    return 1e-12 if dtype == np.float64 else 2e-5


def _assert_close(got, want, dtype):
    scale = max(1.0, np.abs(want).max())
    np.testing.assert_allclose(got, want, rtol=0, atol=_tol(dtype) * scale)


def _forward(x, x_nchw, w, b, G, KH, KW, s, pt, pl, d, OH, OW, slots, dtype):
    """The direct kernel as a forward conv (what ``ops/_conv_direct.direct_forward`` sets up)."""
    K = _K()
    N, C = x.shape[0], x.shape[1]
    Co = w.shape[0]
    Hp, Wp = (OH - 1) * s[0] + (KH - 1) * d[0] + 1, (OW - 1) * s[1] + (KW - 1) * d[1] + 1
    y = np.full((N, OH, OW, Co), np.nan, dtype)
    order, toff, inner = K.merge_taps([(i, j, i * d[0], j * d[1]) for i in range(KH) for j in range(KW)], C, G, Wp)
    passes = np.array([[OH, OW, 0, 0, 0, len(toff), inner, 0]], np.int64)
    K.direct_conv(x if x_nchw else _nhwc(x), x_nchw, C // G, K.pack_weight(w, G, order).reshape(-1),
                  K.pack_bias(b, Co, G, dtype), passes, toff, y, Hp, Wp, pt, pl, *s, 1, 1, slots)
    return y.transpose(0, 3, 1, 2)


@given(direct_cases(), st.booleans(), st.booleans())
def test_direct_forward(c, x_nchw, with_bias):
    rng = np.random.default_rng(c["seed"])
    G, dt = c["G"], c["dtype"]
    x = rng.standard_normal((c["N"], c["Cig"] * G, c["H"], c["W"])).astype(dt)
    w = rng.standard_normal((c["Cog"] * G, c["Cig"], c["KH"], c["KW"])).astype(dt)
    b = rng.standard_normal(c["Cog"] * G).astype(dt) if with_bias else None
    pb, pr = _bottom_right(c)
    want = _crop_ref(x.astype(np.float64), w.astype(np.float64), None if b is None else b.astype(np.float64),
                     c["s"], ((c["pt"], pb), (c["pl"], pr)), c["d"], G)
    assert want.shape[2:] == (c["OH"], c["OW"])
    y = _forward(x, x_nchw, w, b, G, c["KH"], c["KW"], c["s"], c["pt"], c["pl"], c["d"], c["OH"], c["OW"],
                 c["slots"], dt)
    _assert_close(y, want, dt)


@given(direct_cases(), st.booleans(), st.booleans())
def test_direct_weight_and_bias_gradient(c, x_nchw, g_nchw):
    rng = np.random.default_rng(c["seed"])
    G, dt = c["G"], c["dtype"]
    pb, pr = _bottom_right(c)
    if pb < 0 or pr < 0 or c["pt"] < 0 or c["pl"] < 0:
        c["pt"], c["pl"], pb, pr = max(0, c["pt"]), max(0, c["pl"]), max(0, pb), max(0, pr)
        c["OH"] = _out(c["H"], c["KH"], c["s"][0], c["pt"], pb, c["d"][0])
        c["OW"] = _out(c["W"], c["KW"], c["s"][1], c["pl"], pr, c["d"][1])
    Cig, Cog, KH, KW = c["Cig"], c["Cog"], c["KH"], c["KW"]
    x = rng.standard_normal((c["N"], Cig * G, c["H"], c["W"])).astype(dt)
    w = np.zeros((Cog * G, Cig, KH, KW))
    gy = rng.standard_normal((c["N"], Cog * G, c["OH"], c["OW"])).astype(dt)
    _, dw_ref, db_ref = conv_grads_ref(x.astype(np.float64), w, gy.astype(np.float64), c["s"],
                                       ((c["pt"], pb), (c["pl"], pr)), c["d"], G)
    Cob = -(-Cog // 16)
    S = c["slots"]
    dwp = np.zeros((S, G, KH * KW * Cig, Cob * 16), dt)
    dbp = np.zeros((S, Cog * G), dt)
    _K().direct_weight(x if x_nchw else _nhwc(x), x_nchw, gy if g_nchw else _nhwc(gy), g_nchw, dwp, dbp,
                       KH, KW, *c["s"], c["pt"], c["pl"], *c["d"], Cob)
    dw = dwp.sum(0)[:, :, :Cog].reshape(G, KH, KW, Cig, Cog).transpose(0, 4, 3, 1, 2).reshape(w.shape)
    assert not dwp[:, :, :, Cog:].any()  # the padded output channels stay zero
    _assert_close(dw, dw_ref, dt)
    _assert_close(dbp.sum(0), db_ref, dt)


@given(direct_cases(), st.booleans())
def test_direct_input_gradient_by_phases(c, g_nchw):
    """The input gradient as ``ops/_conv_direct.direct_input_grad`` runs it: a direct conv of ``gy`` in
    one pass per output phase of the strided conv, each writing every stride-th pixel of ``dx`` (phases
    that no tap reaches get zeros)."""
    from autograd_core.ops import _conv_direct
    rng = np.random.default_rng(c["seed"])
    G, dt = c["G"], c["dtype"]
    pt, pl = max(0, c["pt"]), max(0, c["pl"])
    OH = _out(c["H"], c["KH"], c["s"][0], pt, pt, c["d"][0])
    OW = _out(c["W"], c["KW"], c["s"][1], pl, pl, c["d"][1])
    if OH < 1 or OW < 1:
        return
    # the conv's output channels are the gradient's input channels: Cog plays Cig's part here
    w = rng.standard_normal((c["Cig"] * G, c["Cog"], c["KH"], c["KW"])).astype(dt)
    gy = rng.standard_normal((c["N"], c["Cig"] * G, OH, OW)).astype(dt)
    x = np.zeros((c["N"], c["Cog"] * G, c["H"], c["W"]))
    p = (*c["s"], pt, pl, *c["d"], G)
    dx_ref = conv_grads_ref(x, w.astype(np.float64), gy.astype(np.float64), c["s"], ((pt, pt), (pl, pl)), c["d"], G)[0]
    calls = []

    def call(name, *args):
        calls.append(name)
        getattr(_K(), name)(*args)

    dx = _conv_direct.direct_input_grad(call, gy if g_nchw else gy.transpose(0, 2, 3, 1).copy().transpose(0, 3, 1, 2),
                                        w, p, c["H"], c["W"], np.dtype(dt), c["slots"])
    assert calls == ["direct_conv"]  # every phase in one call
    _assert_close(dx, dx_ref, dt)


# --------------------------------------------------------------------------- depthwise

@st.composite
def depthwise_cases(draw):
    c = draw(direct_cases())
    c["C"] = draw(st.sampled_from([1, 3, 8, 9, 17]))
    return c


@given(depthwise_cases(), st.booleans())
def test_depthwise_forward_both_layouts(c, with_bias):
    rng = np.random.default_rng(c["seed"])
    C, dt, KH, KW = c["C"], c["dtype"], c["KH"], c["KW"]
    x = rng.standard_normal((c["N"], C, c["H"], c["W"])).astype(dt)
    w = rng.standard_normal((C, 1, KH, KW)).astype(dt)
    b = rng.standard_normal(C).astype(dt) if with_bias else np.zeros(C, dt)
    pb, pr = _bottom_right(c)
    want = _crop_ref(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64), c["s"],
                     ((c["pt"], pb), (c["pl"], pr)), c["d"], C)
    geo = (KH, KW, *c["s"], c["pt"], c["pl"], *c["d"])
    y = np.full((c["N"], C, c["OH"], c["OW"]), np.nan, dt)
    _DW().dw_forward_planar(x, np.ascontiguousarray(w.reshape(C, KH * KW)), b, y, *geo, c["slots"])
    _assert_close(y, want, dt)
    Cp = -(-C // LANES) * LANES
    wt = np.zeros((KH * KW, Cp), dt)
    wt[:, :C] = w.reshape(C, KH * KW).T
    bp = np.zeros(Cp, dt)
    bp[:C] = b
    yl = np.full((c["N"], c["OH"], c["OW"], C), np.nan, dt)
    _DW().dw_forward_cl(_nhwc(x), wt, bp, yl, *geo, c["slots"])
    _assert_close(yl.transpose(0, 3, 1, 2), want, dt)


@given(depthwise_cases())
def test_depthwise_gradients_both_layouts(c):
    rng = np.random.default_rng(c["seed"])
    C, dt, KH, KW = c["C"], c["dtype"], c["KH"], c["KW"]
    pt, pl = max(0, c["pt"]), max(0, c["pl"])
    OH, OW = _out(c["H"], KH, c["s"][0], pt, pt, c["d"][0]), _out(c["W"], KW, c["s"][1], pl, pl, c["d"][1])
    if OH < 1 or OW < 1:
        return
    x = rng.standard_normal((c["N"], C, c["H"], c["W"])).astype(dt)
    w = rng.standard_normal((C, 1, KH, KW)).astype(dt)
    gy = rng.standard_normal((c["N"], C, OH, OW)).astype(dt)
    dx_ref, dw_ref, db_ref = conv_grads_ref(x.astype(np.float64), w.astype(np.float64), gy.astype(np.float64),
                                            c["s"], ((pt, pt), (pl, pl)), c["d"], C)
    geo = (KH, KW, *c["s"], pt, pl, *c["d"])
    DW = _DW()
    dx = np.full(x.shape, np.nan, dt)
    DW.dw_backward_input_planar(gy, np.ascontiguousarray(w.reshape(C, KH * KW)), dx, *geo, c["slots"])
    _assert_close(dx, dx_ref, dt)
    S = c["slots"]
    dwp, dbp = np.zeros((S, C, KH * KW), dt), np.zeros((S, C), dt)
    DW.dw_weight_planar(x, gy, dwp, dbp, *geo)
    _assert_close(dwp.sum(0).reshape(w.shape), dw_ref, dt)
    _assert_close(dbp.sum(0), db_ref, dt)
    Cp = -(-C // LANES) * LANES
    dwp, dbp = np.zeros((S, KH * KW, Cp), dt), np.zeros((S, Cp), dt)
    DW.dw_weight_cl(_nhwc(x), _nhwc(gy), dwp, dbp, *geo)
    assert not dwp[:, :, C:].any()
    _assert_close(dwp.sum(0)[:, :C].T.reshape(w.shape), dw_ref, dt)
    _assert_close(dbp.sum(0)[:C], db_ref, dt)


@given(st.integers(1, 40), st.integers(1, 9), st.integers(1, 3), st.integers(1, 3), st.sampled_from([1, 2, 4]),
       st.sampled_from([np.float32, np.float64]), st.randoms(use_true_random=False))
def test_weight_packers_match_their_numpy_references(cog, cig, KH, KW, G, dtype, rnd):
    """The compiled packers (one pass each) lay the weight out exactly as the numpy ones: all taps, and a
    shuffled subset of taps in a given order (an input-gradient phase), groups, ragged 16-channel blocks."""
    K = _K()
    w = np.random.default_rng(rnd.randrange(1 << 30)).standard_normal((cog * G, cig, KH, KW)).astype(dtype)
    taps = [(i, j) for i in range(KH) for j in range(KW)]
    order = rnd.sample(taps, rnd.randint(1, len(taps)))
    for got, want in ((K.pack_weight(w, G), K.pack_weight_numpy(w, G)),
                      (K.pack_weight(w, G, order), K.pack_weight_numpy(w, G, order)),
                      (K.pack_weight_transposed(w, G, order), K.pack_weight_transposed_numpy(w, G, order))):
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(got, want)


def test_merge_taps_is_remembered_and_its_offsets_are_the_callers_own():
    K = _K()
    taps = [(i, j, i, j) for i in range(3) for j in range(3)]
    a = K.merge_taps(taps, 16, 1, 10)
    b = K.merge_taps(list(taps), 16, 1, 10)
    assert a[0] == b[0] and a[2] == b[2] == 3 * 16
    np.testing.assert_array_equal(a[1], [0, 160, 320])  # one run of 3 pixels per buffer row of 10
    a[1][:] = -1  # a caller's copy: the remembered answer is not changed
    np.testing.assert_array_equal(K.merge_taps(taps, 16, 1, 10)[1], [0, 160, 320])


# --------------------------------------------------------------------------- winograd

def _W():
    return load("winograd")


@given(st.sampled_from([8, 16]), st.sampled_from([8, 16, 24, 40]), st.integers(1, 3), st.integers(1, 9),
       st.integers(1, 9), st.integers(-1, 3), st.integers(-1, 3), st.booleans(), st.booleans(),
       st.sampled_from([np.float32, np.float64]), st.integers(1, 3), st.integers(0, 2 ** 16))
def test_winograd_kernel_matches_the_reference(C, Co, N, OH, OW, pt, pl, x_nchw, with_bias, dtype, slots, seed):
    """``winograd_conv`` called as the ops layer calls it, over odd and even output sizes (a last tile
    half outside), paddings that crop (negative) and widen, both input layouts and thread slots."""
    rng = np.random.default_rng(seed)
    H = max(1, OH + 2 - 2 * max(pt, 0))
    W = max(1, OW + 2 - 2 * max(pl, 0))
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    w = rng.standard_normal((Co, C, 3, 3)).astype(dtype)
    b = rng.standard_normal(Co).astype(dtype) if with_bias else None
    pb, pr = OH + 2 - H - pt, OW + 2 - W - pl  # what gives an (OH, OW) output
    want = _crop_ref(x.astype(np.float64), w.astype(np.float64), None if b is None else b.astype(np.float64),
                     (1, 1), ((pt, pb), (pl, pr)), (1, 1), 1)
    assert want.shape[2:] == (OH, OW)
    y = np.full((N, OH, OW, Co), np.nan, dtype)
    bp = _K().pack_bias(b, Co, 1, dtype).reshape(-1)
    _W().winograd_conv(x if x_nchw else _nhwc(x), x_nchw, _W().transform_weight(w, dtype), bp, y, pt, pl, slots)
    _assert_close(y.transpose(0, 3, 1, 2), want, dtype)


@given(st.integers(1, 40), st.integers(1, 20), st.booleans(), st.sampled_from([np.float32, np.float64]),
       st.integers(0, 2 ** 16))
def test_winograd_weight_transform_matches_its_einsum_reference(Co, C, flipped, dtype, seed):
    """The compiled ``G w G^T`` packing against ``np.einsum`` (flipped, transposed views too: the input
    gradient's weight); the padding of the last block and between positions stays zero."""
    W = _W()
    w = np.random.default_rng(seed).standard_normal((Co, C, 3, 3)).astype(dtype)
    if flipped:
        w = w.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1]
    got, want = W.transform_weight(w, dtype), W.transform_weight_numpy(w, dtype)
    assert got.shape == want.shape == (16, -(-w.shape[0] // 16) * w.shape[1] * 16 + W.PAD)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6 if dtype == np.float32 else 1e-14)
    # a 1 at one tap comes back as the outer product of two columns of G (the textbook definition)
    e = np.zeros((1, 1, 3, 3), dtype)
    e[0, 0, 1, 2] = 1
    u = W.transform_weight(e, dtype)[:, :16].reshape(16, 16)[:, 0].reshape(4, 4)
    np.testing.assert_allclose(u, np.outer(W.G_MATRIX[:, 1], W.G_MATRIX[:, 2]))


@given(st.integers(1, 40), st.integers(1, 20), st.sampled_from([np.float32, np.float64]), st.integers(0, 2 ** 16))
def test_winograd_1d_weight_transform_matches_its_einsum_reference(Co, C, dtype, seed):
    """F(2, 3)'s ``G g`` packing (conv1d) against ``np.einsum``, on a flipped view as the input gradient's."""
    W = _W()
    w = np.random.default_rng(seed).standard_normal((Co, C, 3)).astype(dtype)[:, :, ::-1]
    got, want = W.transform_weight1(w, dtype), W.transform_weight1_numpy(w, dtype)
    assert got.shape == want.shape == (4, -(-Co // 16) * C * 16 + W.PAD)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6 if dtype == np.float32 else 1e-14)


@given(st.integers(1, 4), st.integers(1, 40), st.integers(1, 20), st.booleans(),
       st.sampled_from([np.float32, np.float64]), st.integers(0, 2 ** 16))
def test_winograd_2x2_weight_transform_matches_its_einsum_reference(P, Co, C, gathered, dtype, seed):
    """F(2x2, 2x2)'s ``G k G^T`` packing of P phases' 2x2 kernels against ``np.einsum`` (also on the strided
    gather the upsampling route makes of a (C, Co, 4, 4) weight); padding stays zero."""
    W = _W()
    rng = np.random.default_rng(seed)
    if gathered:
        w = rng.standard_normal((C, Co, 4, 4)).astype(dtype).transpose(1, 0, 2, 3)
        k = np.stack([w[:, :, [p % 4, (p + 2) % 4]][:, :, :, [1, 3]] for p in range(P)])
    else:
        k = rng.standard_normal((P, Co, C, 2, 2)).astype(dtype)
    got, want = W.transform_weight2(k, dtype), W.transform_weight2_numpy(k, dtype)
    assert got.shape == want.shape == (P, 9, -(-Co // 16) * C * 16 + W.PAD)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6 if dtype == np.float32 else 1e-14)
    e = np.zeros((1, 1, 1, 2, 2), dtype)  # a 1 at one tap: the outer product of two columns of G
    e[0, 0, 0, 1, 0] = 1
    u = W.transform_weight2(e, dtype)[0, :, 0].reshape(3, 3)
    np.testing.assert_allclose(u, np.outer(W.G2_MATRIX[:, 1], W.G2_MATRIX[:, 0]))


@given(st.sampled_from([8, 16, 24]), st.sampled_from([8, 16, 24]), st.integers(1, 3), st.integers(1, 9),
       st.integers(1, 9), st.integers(0, 2), st.booleans(), st.sampled_from([np.float32, np.float64]),
       st.integers(1, 3), st.integers(0, 2 ** 16))
def test_winograd_weight_gradient_matches_the_reference(C, Co, N, H, W, pad, x_nchw, dtype, slots, seed):
    """``winograd_weight`` (workers' partial sums of the transformed weight's gradient and of the bias
    gradient) and ``weight_from_transformed`` as ``ops/_conv_direct.winograd_weight_grad`` runs them."""
    OH, OW = H + 2 * pad - 2, W + 2 * pad - 2
    if OH < 1 or OW < 1:
        return
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    gy = rng.standard_normal((N, Co, OH, OW)).astype(dtype)
    dw_ref = conv_grads_ref(x.astype(np.float64), np.zeros((Co, C, 3, 3)), gy.astype(np.float64), (1, 1),
                            ((pad, pad), (pad, pad)), (1, 1), 1)[1]
    Cop = -(-Co // 16) * 16
    dU = np.zeros((slots, 16, C, Cop), dtype)
    dbp = np.zeros((slots, Cop), dtype)
    _W().winograd_weight(x if x_nchw else _nhwc(x), x_nchw, _nhwc(gy), dU, dbp, pad, pad)
    assert not dU[:, :, :, Co:].any() and not dbp[:, Co:].any()  # the padded output channels stay zero
    _assert_close(dbp.sum(0)[:Co], gy.astype(np.float64).sum((0, 2, 3)), dtype)
    dw = _W().weight_from_transformed(dU.sum(0), Co)
    assert dw.dtype == dtype
    _assert_close(dw, dw_ref, dtype)
    np.testing.assert_allclose(dw, _W().weight_from_transformed_numpy(dU.sum(0), Co), rtol=0,
                               atol=(1e-6 if dtype == np.float32 else 1e-13) * max(1.0, np.abs(dw).max()))


@pytest.mark.parametrize("N, C, Co, H, W", [(2, 16, 40, 30, 40), (1, 8, 24, 3, 201)])
def test_winograd_kernels_over_several_bands(N, C, Co, H, W):
    """Maps of several bands of tiles (30x40: three bands of 5 tile rows; a 201-wide map: bands of one
    row) and three blocks of output channels (40), forward and weight gradient, float64, two slots."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((N, C, H, W))
    w = rng.standard_normal((Co, C, 3, 3))
    b = rng.standard_normal(Co)
    pads = ((1, 1), (1, 1))
    want = _crop_ref(x, w, b, (1, 1), pads, (1, 1), 1)
    y = np.full((N, H, W, Co), np.nan)
    _W().winograd_conv(_nhwc(x), False, _W().transform_weight(w, np.float64), _K().pack_bias(b, Co, 1, np.float64)
                       .reshape(-1), y, 1, 1, 2)
    _assert_close(y.transpose(0, 3, 1, 2), want, np.float64)
    gy = rng.standard_normal(want.shape)
    dw_ref = conv_grads_ref(x, w, gy, (1, 1), pads, (1, 1), 1)[1]
    Cop = -(-Co // 16) * 16
    dU = np.zeros((2, 16, C, Cop))
    dbp = np.zeros((2, Cop))
    _W().winograd_weight(x, True, _nhwc(gy), dU, dbp, 1, 1)
    _assert_close(_W().weight_from_transformed(dU.sum(0), Co), dw_ref, np.float64)
    _assert_close(dbp.sum(0)[:Co], gy.sum((0, 2, 3)), np.float64)
