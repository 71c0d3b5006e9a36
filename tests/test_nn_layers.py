"""Each layer against a plain numpy reference, and its gradients against finite differences (float64)."""

import math

import numpy as np
import pytest

import autograd_core as ag
import nn
import nn.functional as F

rng = np.random.default_rng(0)


def t64(*shape, requires_grad=True, low=-1.0, high=1.0):
    return ag.tensor(rng.uniform(low, high, shape), dtype=np.float64, requires_grad=requires_grad)


def away_from_zero(*shape):
    """Values in +-[0.1, 1]: finite differences never cross a ReLU kink."""
    a = rng.uniform(0.1, 1.0, shape) * rng.choice([-1.0, 1.0], shape)
    return ag.tensor(a, dtype=np.float64, requires_grad=True)


# --------------------------------------------------------------------------- numpy references

def np_conv2d(x, w, b, stride, padding, dilation, groups):
    n, c, h, wd = x.shape
    co, cig, kh, kw = w.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, co, oh, ow))
    cog = co // groups
    for o in range(co):
        g = o // cog
        for i in range(oh):
            for j in range(ow):
                patch = xp[:, g * cig:(g + 1) * cig, i * sh:i * sh + dh * (kh - 1) + 1:dh,
                           j * sw:j * sw + dw * (kw - 1) + 1:dw]
                out[:, o, i, j] = (patch * w[o]).sum(axis=(1, 2, 3))
    return out + (0 if b is None else b[None, :, None, None])


def np_conv_transpose2d(x, w, b, stride, padding, output_padding):
    """Scatter each input pixel times the kernel (groups=1, dilation=1)."""
    n, ci, h, wd = x.shape
    _, co, kh, kw = w.shape
    (sh, sw), (ph, pw), (oph, opw) = stride, padding, output_padding
    full = np.zeros((n, co, (h - 1) * sh + kh + oph, (wd - 1) * sw + kw + opw))
    for i in range(h):
        for j in range(wd):
            full[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw] += np.einsum("nc,cokl->nokl", x[:, :, i, j], w)
    oh = (h - 1) * sh - 2 * ph + kh + oph
    ow = (wd - 1) * sw - 2 * pw + kw + opw
    return full[:, :, ph:ph + oh, pw:pw + ow] + b[None, :, None, None]


def np_pool2d(x, k, s, reduce):
    n, c, h, w = x.shape
    oh, ow = (h - k) // s + 1, (w - k) // s + 1
    out = np.empty((n, c, oh, ow))
    for i in range(oh):
        for j in range(ow):
            out[:, :, i, j] = reduce(x[:, :, i * s:i * s + k, j * s:j * s + k], axis=(2, 3))
    return out


# --------------------------------------------------------------------------- Linear

def test_linear_matches_numpy_and_gradcheck():
    m = nn.Linear(5, 3).double()
    x = t64(4, 5)
    np.testing.assert_allclose(m(x).data, x.data @ m.weight.data.T + m.bias.data, rtol=1e-12)
    assert ag.gradcheck(F.linear, (x, m.weight, m.bias))
    assert ag.gradgradcheck(F.linear, (x, m.weight, m.bias))


def test_linear_batch_dims_unbatched_and_no_bias():
    m = nn.Linear(4, 2, bias=False).double()
    assert m.bias is None and [n for n, _ in m.named_parameters()] == ["weight"]
    x = t64(2, 3, 4)
    np.testing.assert_allclose(m(x).data, x.data @ m.weight.data.T, rtol=1e-12)
    assert ag.gradcheck(lambda a, w: F.linear(a, w), (x, m.weight))
    v = t64(4)
    assert m(v).shape == (2,)
    assert ag.gradcheck(lambda a, w: F.linear(a, w), (v, m.weight))


def test_linear_shape_error_names_shapes():
    with pytest.raises(ag.ShapeError, match=r"input of shape \(2, 3\).*weight of shape \(4, 5\).*in_features"):
        nn.Linear(5, 4)(ag.randn(2, 3))


def test_linear_default_init_is_pytorchs():
    ag.manual_seed(0)
    m = nn.Linear(100, 300)
    bound = 1 / math.sqrt(100)
    assert m.weight.dtype == np.float32 and m.weight.shape == (300, 100)
    assert np.abs(m.weight.data).max() <= bound and np.abs(m.bias.data).max() <= bound
    np.testing.assert_allclose(m.weight.data.std(), bound / math.sqrt(3), rtol=0.05)  # U(-b, b)


# --------------------------------------------------------------------------- convolution

@pytest.mark.parametrize("kw", [dict(), dict(stride=2, padding=1), dict(dilation=2, padding=(2, 1)),
                                dict(groups=2, bias=False)])
def test_conv2d_matches_numpy(kw):
    m = nn.Conv2d(4, 6, 3, **kw).double()
    x = t64(2, 4, 7, 6)
    ref = np_conv2d(x.data, m.weight.data, None if m.bias is None else m.bias.data, m.stride,
                    m.padding, m.dilation, m.groups)
    np.testing.assert_allclose(m(x).data, ref, rtol=1e-10, atol=1e-12)


def test_conv2d_gradcheck_and_shapes():
    m = nn.Conv2d(2, 3, (3, 2), stride=(2, 1), padding=1).double()
    assert m.weight.shape == (3, 2, 3, 2) and m.bias.shape == (3,)
    x = t64(2, 2, 5, 4)
    assert ag.gradcheck(lambda a, w, b: F.conv2d(a, w, b, stride=(2, 1), padding=1), (x, m.weight, m.bias))


def test_conv2d_padding_modes_and_same():
    x = t64(1, 2, 5, 5, requires_grad=False)
    for mode, np_mode in [("reflect", "reflect"), ("replicate", "edge"), ("circular", "wrap")]:
        m = nn.Conv2d(2, 3, 3, padding=1, padding_mode=mode).double()
        xp = np.pad(x.data, ((0, 0), (0, 0), (1, 1), (1, 1)), mode=np_mode)
        ref = np_conv2d(xp, m.weight.data, m.bias.data, (1, 1), (0, 0), (1, 1), 1)
        np.testing.assert_allclose(m(x).data, ref, rtol=1e-10, atol=1e-12)
    assert nn.Conv2d(2, 3, 4, padding="same")(x.float()).shape == (1, 3, 5, 5)
    assert nn.Conv2d(2, 3, 4, padding="same", padding_mode="reflect")(x.float()).shape == (1, 3, 5, 5)
    with pytest.raises(ValueError, match="padding_mode"):
        nn.Conv2d(2, 3, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)


def test_conv_default_init_is_pytorchs():
    ag.manual_seed(0)
    m = nn.Conv2d(8, 64, 3, groups=2)
    fan_in = 4 * 9
    bound = 1 / math.sqrt(fan_in)
    assert m.weight.shape == (64, 4, 3, 3)
    assert np.abs(m.weight.data).max() <= bound and np.abs(m.bias.data).max() <= bound
    np.testing.assert_allclose(m.weight.data.std(), bound / math.sqrt(3), rtol=0.08)


def test_conv1d_matches_numpy_and_gradcheck():
    m = nn.Conv1d(3, 4, 3, stride=2, padding=1).double()
    assert m.weight.shape == (4, 3, 3)
    x = t64(2, 3, 9)
    ref = np_conv2d(x.data[:, :, None], m.weight.data[:, :, None], m.bias.data, (1, 2), (0, 1), (1, 1), 1)[:, :, 0]
    np.testing.assert_allclose(m(x).data, ref, rtol=1e-10, atol=1e-12)
    assert ag.gradcheck(lambda a, w, b: F.conv1d(a, w, b, stride=2, padding=1), (x, m.weight, m.bias))


def test_conv_transpose2d_matches_numpy_and_gradcheck():
    m = nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1).double()
    assert m.weight.shape == (3, 2, 3, 3)
    x = t64(2, 3, 4, 3)
    out = m(x)
    assert out.shape == (2, 2, 8, 6)
    ref = np_conv_transpose2d(x.data, m.weight.data, m.bias.data, (2, 2), (1, 1), (1, 1))
    np.testing.assert_allclose(out.data, ref, rtol=1e-10, atol=1e-12)
    assert ag.gradcheck(lambda a, w, b: F.conv_transpose2d(a, w, b, stride=2, padding=1, output_padding=1),
                        (x, m.weight, m.bias))


# --------------------------------------------------------------------------- pooling

def test_max_pool2d_matches_numpy_and_gradcheck():
    x = ag.tensor(rng.permutation(2 * 3 * 6 * 6).reshape(2, 3, 6, 6) / 10.0, dtype=np.float64,
                  requires_grad=True)  # distinct values: no ties for the finite differences
    m = nn.MaxPool2d(2)
    np.testing.assert_array_equal(m(x).data, np_pool2d(x.data, 2, 2, np.max))
    assert ag.gradcheck(m, (x,))
    assert nn.MaxPool2d(3, stride=2, padding=1)(x).shape == (2, 3, 3, 3)


def test_avg_pool2d_and_adaptive_match_numpy():
    x = t64(2, 3, 6, 6)
    np.testing.assert_allclose(nn.AvgPool2d(2)(x).data, np_pool2d(x.data, 2, 2, np.mean), rtol=1e-12)
    np.testing.assert_allclose(nn.AvgPool2d(3, stride=3)(x).data, np_pool2d(x.data, 3, 3, np.mean), rtol=1e-12)
    assert ag.gradcheck(nn.AvgPool2d(2), (x,))
    np.testing.assert_allclose(nn.AdaptiveAvgPool2d(1)(x).data, x.data.mean(axis=(2, 3), keepdims=True),
                               rtol=1e-12)
    # 6 rows in 3 windows of 2, 6 columns in 2 windows of 3
    np.testing.assert_allclose(nn.AdaptiveAvgPool2d((3, 2))(x).data,
                               x.data.reshape(2, 3, 3, 2, 2, 3).mean(axis=(3, 5)), rtol=1e-12)
    assert ag.gradcheck(nn.AdaptiveAvgPool2d((4, 3)), (x,))  # overlapping windows for 6 -> 4


def test_pool1d_matches_numpy():
    x = ag.tensor(rng.permutation(2 * 3 * 8).reshape(2, 3, 8) / 7.0, dtype=np.float64, requires_grad=True)
    np.testing.assert_array_equal(nn.MaxPool1d(2)(x).data, x.data.reshape(2, 3, 4, 2).max(-1))
    np.testing.assert_allclose(nn.AvgPool1d(4)(x).data, x.data.reshape(2, 3, 2, 4).mean(-1), rtol=1e-12)
    assert ag.gradcheck(nn.MaxPool1d(2), (x,))
    assert ag.gradcheck(nn.AvgPool1d(3, stride=2, padding=1), (x,))


# --------------------------------------------------------------------------- activations, flatten, identity

@pytest.mark.parametrize("layer, ref", [
    (nn.ReLU(), lambda x: np.maximum(x, 0)),
    (nn.LeakyReLU(0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
    (nn.ELU(1.5), lambda x: np.where(x > 0, x, 1.5 * (np.exp(x) - 1))),
    (nn.Sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
    (nn.Tanh(), np.tanh),
    (nn.Softmax(dim=1), lambda x: np.exp(x) / np.exp(x).sum(1, keepdims=True)),
    (nn.LogSoftmax(dim=1), lambda x: x - np.log(np.exp(x).sum(1, keepdims=True))),
    (nn.Identity(54, unused="x"), lambda x: x),
])
def test_activation_layers(layer, ref):
    x = away_from_zero(3, 4)
    np.testing.assert_allclose(layer(x).data, ref(x.data), rtol=1e-12, atol=1e-15)
    assert ag.gradcheck(layer, (x,))


def test_inplace_relu_modifies_its_input():
    x = ag.tensor([-1.0, 2.0])
    out = nn.ReLU(inplace=True)(x)
    assert out is x and x.tolist() == [0.0, 2.0]


def test_flatten_unflatten():
    x = t64(2, 3, 4, 5)
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, 1)(x).shape == (6, 4, 5)
    np.testing.assert_array_equal(nn.Flatten()(x).data, x.data.reshape(2, 60))
    assert nn.Unflatten(1, (3, 20))(nn.Flatten()(x)).shape == (2, 3, 20)
    assert ag.gradcheck(nn.Flatten(), (t64(2, 2, 3),))


# --------------------------------------------------------------------------- dropout

def test_dropout_train_and_eval():
    ag.manual_seed(0)
    d = nn.Dropout(0.25)
    x = ag.ones(200, 500, requires_grad=True)
    y = d(x)
    kept = y.data != 0
    assert abs(kept.mean() - 0.75) < 0.01
    np.testing.assert_allclose(y.data[kept], 1 / 0.75, rtol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, kept / 0.75, rtol=1e-6)  # the same mask scales the gradient
    d.eval()
    assert d(x) is x
    assert nn.Dropout(1.0)(x).data.sum() == 0 and nn.Dropout(0.0)(x) is x
    with pytest.raises(ValueError, match="p must be in"):
        nn.Dropout(1.5)


def test_dropout_is_seeded_by_manual_seed():
    x = ag.ones(10, 10)
    ag.manual_seed(3)
    a = nn.Dropout()(x).data
    ag.manual_seed(3)
    np.testing.assert_array_equal(a, nn.Dropout()(x).data)


# --------------------------------------------------------------------------- batch norm

def np_bn_train(x, w, b, eps):
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    mean, var = x.mean(axes, keepdims=True), x.var(axes, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w.reshape(shape) + b.reshape(shape)


@pytest.mark.parametrize("cls, shape", [(nn.BatchNorm1d, (8, 3)), (nn.BatchNorm1d, (4, 3, 5)),
                                        (nn.BatchNorm2d, (4, 3, 2, 3))])
def test_batchnorm_train_mode(cls, shape):
    bn = cls(3, momentum=0.2).double()
    with ag.no_grad():
        bn.weight.copy_(ag.tensor([0.5, 2.0, -1.0], dtype=np.float64))
        bn.bias.copy_(ag.tensor([0.1, 0.0, 0.3], dtype=np.float64))
    x = t64(*shape, low=-2, high=3)
    y = bn(x)
    np.testing.assert_allclose(y.data, np_bn_train(x.data, bn.weight.data, bn.bias.data, 1e-5), rtol=1e-10)
    axes = (0,) + tuple(range(2, x.ndim))
    n = x.data.size // 3
    np.testing.assert_allclose(bn.running_mean.data, 0.2 * x.data.mean(axes), rtol=1e-10)
    np.testing.assert_allclose(bn.running_var.data, 0.8 + 0.2 * x.data.var(axes) * n / (n - 1), rtol=1e-10)
    assert int(bn.num_batches_tracked.data) == 1
    fn = lambda a, w, b: F.batch_norm(a, None, None, w, b, training=True)  # noqa: E731
    assert ag.gradcheck(fn, (x, bn.weight, bn.bias))
    assert ag.gradgradcheck(fn, (x, bn.weight, bn.bias))


def np_bn_grads(x, w, g, eps):
    """(dx, dw, db) of training-mode batch norm, from the textbook formulas in float64."""
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    mean, var = x.mean(axes, keepdims=True), x.var(axes, keepdims=True)
    inv = 1 / np.sqrt(var + eps)
    xh = (x - mean) * inv
    gh = g * w.reshape(shape)
    dx = (gh - gh.mean(axes, keepdims=True) - xh * (gh * xh).mean(axes, keepdims=True)) * inv
    return dx, (g * xh).sum(axes), g.sum(axes)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["nchw", "channels_last", "strided"])
@pytest.mark.parametrize("shape", [(6, 5, 33, 35), (8, 16, 18, 18)])
def test_batchnorm_kernels_on_large_inputs(dtype, layout, shape):
    """Inputs of at least ``_BN_KERNEL_MIN`` elements take the Numba kernels: values, statistics, gradients.

    Channels-last memory is handed to the kernels as rows of k pixels (``_mc_rows``): k = 2 for the
    first shape (6930 pixels of 5 channels), 16 for the second (2592 of 16: 162 rows, 81 per thread, so
    the four-rows-per-step loops leave a tail)."""
    rng = np.random.default_rng(3)
    C = shape[1]
    from autograd_core.ops.norm import _use_kernels, _mc_rows
    assert _use_kernels(np.empty(shape, dtype))
    M = shape[0] * shape[2] * shape[3]
    assert _mc_rows(np.empty((M, C)))[1] == {5: 2, 16: 16}[C]
    # a large mean against the spread: the statistics must not cancel
    base = (rng.standard_normal(shape) * 0.5 + 300.0 + np.arange(C)[None, :, None, None]).astype(dtype)
    if layout == "channels_last":  # what the GEMM convolutions return
        leaf = ag.tensor(np.ascontiguousarray(base.transpose(0, 2, 3, 1)), requires_grad=True)
        x = leaf.permute(0, 3, 1, 2)
    elif layout == "strided":  # dense in no order: copied first
        leaf = ag.tensor(np.repeat(base, 2, axis=3), requires_grad=True)
        x = leaf[..., ::2]
    else:
        leaf = x = ag.tensor(base, requires_grad=True)
    bn = nn.BatchNorm2d(C, momentum=0.5)
    if dtype == np.float64:
        bn.double()
    with ag.no_grad():
        bn.weight.copy_(ag.tensor(np.resize(np.array([0.5, 2.0, -1.0, 1.5, 1.0], dtype=dtype), C)))
        bn.bias.copy_(ag.tensor(np.resize(np.array([0.1, 0.0, 0.3, -2.0, 0.0], dtype=dtype), C)))
    y = bn(x)
    xd = base.astype(np.float64)
    w, b = bn.weight.data.astype(np.float64), bn.bias.data.astype(np.float64)
    tol = dict(rtol=2e-4, atol=2e-4) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-9)
    assert y.dtype == dtype
    np.testing.assert_allclose(y.data, np_bn_train(xd, w, b, 1e-5), **tol)
    if layout == "channels_last":
        assert y.data.strides == x.data.strides  # the activation keeps the conv's memory order
    n = xd.size // C
    np.testing.assert_allclose(bn.running_mean.data, 0.5 * xd.mean((0, 2, 3)), rtol=1e-6)
    np.testing.assert_allclose(bn.running_var.data, 0.5 + 0.5 * xd.var((0, 2, 3)) * n / (n - 1), rtol=1e-4)
    g = rng.standard_normal(shape).astype(dtype)
    y.backward(ag.tensor(g))
    dx, dw, db = np_bn_grads(xd, w, g.astype(np.float64), 1e-5)
    got = leaf.grad.data
    if layout == "channels_last":
        got = got.transpose(0, 3, 1, 2)
    elif layout == "strided":
        got = got[..., ::2]
    # dx is O(|g| / std) = O(2); float32 sums over 7000 values per channel
    np.testing.assert_allclose(got, dx, rtol=1e-3 if dtype == np.float32 else 1e-8,
                               atol=2e-3 if dtype == np.float32 else 1e-8)
    # float32: the mean (300 + c) is rounded to float32 as in PyTorch, which moves sum(g * xh) by up to
    # |sum(g)| * ulp(300) / 2 / std = 51 * 1.5e-5 / 0.5 (second shape)
    np.testing.assert_allclose(bn.weight.grad.data, dw, rtol=1e-4 if dtype == np.float32 else 1e-9,
                               atol=3e-3 if dtype == np.float32 else 0)
    np.testing.assert_allclose(bn.bias.grad.data, db, rtol=1e-4 if dtype == np.float32 else 1e-9)
    # with create_graph the backward is recorded with Tensor ops instead: same first derivatives
    x2 = ag.tensor(base, requires_grad=True)
    (gx,) = ag.grad(bn(x2), [x2], grad_outputs=[ag.tensor(g)], create_graph=True)
    assert gx.requires_grad
    np.testing.assert_allclose(gx.data, dx, rtol=1e-3 if dtype == np.float32 else 1e-8,
                               atol=2e-3 if dtype == np.float32 else 1e-8)


@pytest.mark.parametrize("channels_last", [False, True])
def test_batchnorm_kernels_without_affine_parameters(channels_last):
    """affine=False on the kernel path (weight and bias None: ones and zeros stand in): values and dx."""
    rng = np.random.default_rng(4)
    base = (rng.standard_normal((8, 16, 18, 18)) * 2 + 5).astype(np.float32)
    from autograd_core.ops.norm import _use_kernels
    assert _use_kernels(base)
    if channels_last:
        leaf = ag.tensor(np.ascontiguousarray(base.transpose(0, 2, 3, 1)), requires_grad=True)
        x = leaf.permute(0, 3, 1, 2)
    else:
        leaf = x = ag.tensor(base, requires_grad=True)
    y = nn.BatchNorm2d(16, affine=False)(x)
    xd = base.astype(np.float64)
    C = xd.shape[1]
    np.testing.assert_allclose(y.data, np_bn_train(xd, np.ones(C), np.zeros(C), 1e-5), rtol=1e-4, atol=1e-4)
    g = rng.standard_normal(base.shape).astype(np.float32)
    y.backward(ag.tensor(g))
    dx, _, _ = np_bn_grads(xd, np.ones(C), g.astype(np.float64), 1e-5)
    got = leaf.grad.data.transpose(0, 3, 1, 2) if channels_last else leaf.grad.data
    np.testing.assert_allclose(got, dx, rtol=1e-3, atol=1e-3)


def test_batchnorm_eval_mode_uses_running_statistics():
    bn = nn.BatchNorm2d(2).double()
    for _ in range(5):
        bn(t64(6, 2, 3, 3, low=1, high=4))
    bn.eval()
    rm, rv = bn.running_mean.data.copy(), bn.running_var.data.copy()
    x = t64(3, 2, 3, 3)
    ref = (x.data - rm[None, :, None, None]) / np.sqrt(rv[None, :, None, None] + 1e-5)
    np.testing.assert_allclose(bn(x).data, ref * bn.weight.data[:, None, None] + bn.bias.data[:, None, None],
                               rtol=1e-10)
    np.testing.assert_array_equal(bn.running_mean.data, rm)  # eval does not update
    assert ag.gradcheck(bn, (x,))
    assert bn(t64(1, 2, 1, 1)).shape == (1, 2, 1, 1)  # a single value per channel is fine in eval


def test_batchnorm_options_and_errors():
    bn = nn.BatchNorm1d(3, affine=False, track_running_stats=False)
    assert list(bn.parameters()) == [] and list(bn.state_dict()) == []
    x = ag.randn(5, 3)
    np.testing.assert_allclose(bn(x).data.mean(0), 0, atol=1e-6)
    bn.eval()  # without running statistics, eval still normalises with the batch
    np.testing.assert_allclose(bn(x).data.std(0), 1, rtol=1e-3)
    cma = nn.BatchNorm1d(1, momentum=None)  # cumulative moving average
    cma(ag.tensor([[1.0], [3.0]]))
    cma(ag.tensor([[5.0], [7.0]]))
    np.testing.assert_allclose(cma.running_mean.data, [4.0])
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(ag.randn(1, 3))
    with pytest.raises(ag.ShapeError, match=r"3 channels.*\(4, 2\)"):
        nn.BatchNorm1d(3)(ag.randn(4, 2))
