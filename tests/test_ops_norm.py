"""layer_norm, group_norm, instance_norm, local_response_norm and normalize against numpy references, their
gradients by gradcheck/gradgradcheck in float64, and their layers (running statistics, state_dict)."""

import numpy as np
import pytest
from hypothesis import strategies as st

import autograd_core as ag
import nn
import nn.functional as F
from autograd_core.testing import divisible_shapes, op_test, shapes


def np_standardize(x, axes, eps):
    """In float64 whatever the input's dtype: the exact result, rounded once (the ops accumulate in float64)."""
    x64 = x.astype(np.float64)
    m = x64.mean(axis=axes, keepdims=True)
    v = x64.var(axis=axes, keepdims=True)
    return ((x64 - m) / np.sqrt(v + eps)).astype(x.dtype)


# --------------------------------------------------------------------------- layer norm

def _ln_shapes():
    """(input, weight, bias) shapes: weight and bias are the input's last k dimensions."""
    return shapes(min_dims=1, max_dims=3, min_side=2, max_side=3).flatmap(
        lambda s: st.integers(1, len(s)).map(lambda k: (s, s[len(s) - k:], s[len(s) - k:])))


def _np_layer_norm(x, w, b, eps=1e-5):
    axes = tuple(range(x.ndim - w.ndim, x.ndim))
    return np_standardize(x, axes, eps) * w + b


test_layer_norm = op_test(lambda x, w, b: F.layer_norm(x, w.shape, w, b), _np_layer_norm, 3, shapes=_ln_shapes())
test_layer_norm_no_affine = op_test(lambda x: F.layer_norm(x, x.shape[-1:], eps=1e-3),
                                    lambda x: np_standardize(x, (-1,), 1e-3),
                                    shapes=shapes(min_dims=1, min_side=2, max_side=3).map(lambda s: (s,)))


def test_layer_norm_edges_and_errors():
    np.testing.assert_array_equal(F.layer_norm(ag.tensor([[3.0]]), (1,)).numpy(), [[0.0]])  # one element
    assert F.layer_norm(ag.zeros(0, 4), 4).shape == (0, 4)
    y = F.layer_norm(ag.tensor([[1.0, np.nan, 2.0], [1.0, 2.0, 3.0]]), 3).numpy()
    assert np.isnan(y[0]).all() and np.allclose(y[1], [-1.2247357, 0, 1.2247357])
    with pytest.raises(ag.ShapeError, match=r"normalized_shape=\[5\] must be the last dimensions.*\(2, 4\)"):
        F.layer_norm(ag.zeros(2, 4), 5)
    with pytest.raises(ag.ShapeError, match="must be the last dimensions"):
        F.layer_norm(ag.tensor(1.0), ())
    with pytest.raises(ag.ShapeError, match=r"layer_norm: weight has shape \(3,\), expected \(4,\)"):
        F.layer_norm(ag.zeros(2, 4), 4, ag.ones(3))
    with pytest.raises(TypeError, match="layer_norm: expected a floating-point input, got dtype int64"):
        F.layer_norm(ag.ones(2, 4, dtype=np.int64), 4)


def test_layer_norm_plain_backward_uses_saved_statistics_and_agrees_with_the_recomputed_one():
    x = ag.tensor(np.random.default_rng(1).standard_normal((3, 5)), dtype=np.float64, requires_grad=True)
    g = ag.tensor(np.random.default_rng(2).standard_normal((3, 5)), dtype=np.float64)
    (plain,) = ag.grad(F.layer_norm(x, 5), x, g)
    (recorded,) = ag.grad(F.layer_norm(x, 5), x, g, create_graph=True)
    np.testing.assert_allclose(plain.numpy(), recorded.detach().numpy(), rtol=1e-12, atol=1e-14)


# --------------------------------------------------------------------------- group and instance norm

def _gn_case():
    return st.integers(1, 3).flatmap(lambda g: divisible_shapes({1: g}, min_dims=2, max_dims=3, max_side=2).map(
        lambda s: (s, g)))


def _np_group_norm(x, g, w, b, eps=1e-5):
    n, c = x.shape[:2]
    y = np_standardize(x.reshape(n, g, -1), (2,), eps).reshape(x.shape)
    shp = (1, c) + (1,) * (x.ndim - 2)
    return y * w.reshape(shp) + b.reshape(shp)


@st.composite
def _gn_shapes(draw):
    s, g = draw(_gn_case())
    return (s, (s[1],), (s[1],), (g,))


test_group_norm = op_test(lambda x, w, b, g: F.group_norm(x, g.shape[0], w, b),
                          lambda x, w, b, g: _np_group_norm(x, g.shape[0], w, b), 4,
                          shapes=_gn_shapes().filter(lambda s: np.prod(s[0][2:], dtype=int) * s[0][1] // s[3][0] > 1))


def _np_instance_norm(x, eps=1e-5):
    return np_standardize(x, tuple(range(2, x.ndim)), eps)


test_instance_norm = op_test(F.instance_norm, _np_instance_norm,
                             shapes=shapes(min_dims=3, max_dims=4, min_side=2, max_side=2).map(lambda s: (s,)))


def test_group_norm_errors():
    with pytest.raises(ValueError, match="num_groups=3 must be a positive int dividing the 4 channels"):
        F.group_norm(ag.zeros(2, 4, 3), 3)
    with pytest.raises(ag.ShapeError, match=r"expected input of shape \(N, C, \*\)"):
        F.group_norm(ag.zeros(4), 2)
    assert F.group_norm(ag.zeros(0, 4, 3), 2).shape == (0, 4, 3)


def test_instance_norm_running_statistics_and_eval():
    x = np.arange(12.0).reshape(2, 3, 2)
    m = nn.InstanceNorm1d(3, track_running_stats=True)
    y = m(ag.tensor(x, dtype=np.float32))
    np.testing.assert_allclose(y.numpy(), _np_instance_norm(x), rtol=1e-4, atol=1e-5)
    # PyTorch's values: the batch mean of the per-instance means and unbiased variances, momentum 0.1
    np.testing.assert_allclose(m.running_mean.numpy(), [0.35, 0.55, 0.75], rtol=1e-6)
    np.testing.assert_allclose(m.running_var.numpy(), [0.95, 0.95, 0.95], rtol=1e-6)
    assert int(m.num_batches_tracked.item()) == 1
    m.eval()
    z = m(ag.tensor(x, dtype=np.float32)).numpy()
    want = (x - np.array([0.35, 0.55, 0.75])[None, :, None]) / np.sqrt(0.95 + 1e-5)
    np.testing.assert_allclose(z, want, rtol=1e-5)
    assert set(m.state_dict()) == {"running_mean", "running_var", "num_batches_tracked"}


def test_instance_norm_running_statistics_move_once_under_checkpoint():
    from autograd_core.utils.checkpoint import checkpoint
    x = ag.tensor(np.random.default_rng(2).standard_normal((4, 3, 5)), requires_grad=True)
    plain, ckpt = nn.InstanceNorm1d(3, track_running_stats=True).double(), nn.InstanceNorm1d(3, track_running_stats=True).double()
    (plain(x) ** 2).sum().backward()
    (checkpoint(ckpt, x) ** 2).sum().backward()  # the segment runs twice; the statistics count once
    np.testing.assert_allclose(ckpt.running_mean.numpy(), plain.running_mean.numpy(), rtol=1e-14)
    np.testing.assert_allclose(ckpt.running_var.numpy(), plain.running_var.numpy(), rtol=1e-14)
    assert int(ckpt.num_batches_tracked.item()) == 1


def test_instance_norm_layers_unbatched_affine_and_errors():
    m = nn.InstanceNorm2d(3, affine=True).double()
    x = ag.tensor(np.random.default_rng(0).standard_normal((3, 4, 5)), dtype=np.float64, requires_grad=True)
    y = m(x)
    assert y.shape == (3, 4, 5)
    np.testing.assert_allclose(y.detach().numpy(), _np_instance_norm(x.detach().numpy()[None])[0], atol=1e-12)
    assert ag.gradcheck(lambda t: m(t), (x,))
    assert nn.InstanceNorm3d(2)(ag.randn(1, 2, 2, 2, 2)).shape == (1, 2, 2, 2, 2)
    with pytest.raises(ag.ShapeError, match="InstanceNorm2d: expected a 3-D .* or 4-D input"):
        m(ag.zeros(3, 4))
    with pytest.raises(ValueError, match="more than 1 spatial element"):
        F.instance_norm(ag.zeros(2, 3, 1))


def test_layer_and_group_norm_layers():
    m = nn.LayerNorm((3, 4)).double()
    assert m.weight.shape == (3, 4) and m.bias.shape == (3, 4)
    x = ag.tensor(np.random.default_rng(0).standard_normal((2, 3, 4)), dtype=np.float64, requires_grad=True)
    np.testing.assert_allclose(m(x).detach().numpy(), np_standardize(x.detach().numpy(), (1, 2), 1e-5), atol=1e-12)
    assert nn.LayerNorm(4, elementwise_affine=False).weight is None and nn.LayerNorm(4, bias=False).bias is None
    g = nn.GroupNorm(2, 4).double()
    x = ag.tensor(np.random.default_rng(1).standard_normal((2, 4, 3)), dtype=np.float64, requires_grad=True)
    out = g(x)
    out.sum().backward()
    assert g.weight.grad.shape == (4,)
    assert ag.gradcheck(lambda t: g(t), (x,))
    with pytest.raises(ValueError, match="divisible by num_groups"):
        nn.GroupNorm(3, 4)
    with pytest.raises(ag.ShapeError, match=r"GroupNorm\(2, 4\): expected input \(N, 4, \*\)"):
        g(ag.zeros(2, 6, 3))
    repr(m), repr(g)


# --------------------------------------------------------------------------- local response norm

def _np_lrn(x, size, alpha=1e-4, beta=0.75, k=1.0):
    c = x.shape[1]
    sq = x * x
    div = np.zeros_like(x)
    for ch in range(c):
        lo, hi = max(0, ch - size // 2), min(c, ch + (size - 1) // 2 + 1)
        div[:, ch] = sq[:, lo:hi].sum(axis=1)
    return x / (k + alpha / size * div) ** beta


test_local_response_norm = op_test(lambda x, size: F.local_response_norm(x, size, alpha=0.5, beta=0.75, k=1.5),
                                   lambda x, size: _np_lrn(x, size, 0.5, 0.75, 1.5),
                                   shapes=shapes(min_dims=3, max_dims=3, max_side=3).map(lambda s: (1,) + s[1:]).map(
                                       lambda s: (s,)),
                                   kwargs=st.fixed_dictionaries({"size": st.integers(1, 5)}))


def test_local_response_norm_known_values_and_errors():
    # PyTorch's values for this input
    y = F.local_response_norm(ag.arange(24.0).reshape(1, 4, 2, 3), 3, alpha=0.1, beta=0.5, k=2.0)
    np.testing.assert_allclose(y.numpy().reshape(-1)[:6], [0.0, 0.52223301, 0.96824586, 1.34164071, 1.65144563,
                                                          1.90808189], rtol=1e-6)
    with pytest.raises(ag.ShapeError, match="expected input of 3 or more dimensions"):
        F.local_response_norm(ag.zeros(2, 3), 2)
    m = nn.LocalResponseNorm(2)
    x = ag.randn(2, 3, 4)
    np.testing.assert_allclose(m(x).numpy(), _np_lrn(x.numpy().astype(np.float64), 2), rtol=1e-5)
    assert F.local_response_norm(ag.zeros(0, 3, 2), 2).shape == (0, 3, 2)


# --------------------------------------------------------------------------- normalize and the p-norm

def _np_normalize(x, p, dim, eps=1e-12):
    if p == np.inf:
        n = np.abs(x).max(axis=dim, keepdims=True)
    else:
        n = (np.abs(x) ** p).sum(axis=dim, keepdims=True) ** (1 / p)
    return x / np.maximum(n, eps)


def _normalize_kwargs(shp):
    nd = len(shp[0])
    return st.fixed_dictionaries({"p": st.sampled_from([1.0, 2.0, 3.0, np.inf]), "dim": st.integers(-nd, nd - 1)})


test_normalize = op_test(lambda x, p, dim: F.normalize(x, p, dim), _np_normalize,
                         shapes=shapes(min_dims=1).map(lambda s: (s,)), kwargs=_normalize_kwargs, kinks=(0,),
                         distinct=True)


def test_normalize_edges_like_pytorch():
    np.testing.assert_array_equal(F.normalize(ag.zeros(2, 3)).numpy(), np.zeros((2, 3)))
    x = ag.zeros(2, 3, requires_grad=True)
    F.normalize(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full((2, 3), 1e12), rtol=1e-6)  # 1/eps, as in PyTorch
    np.testing.assert_allclose(F.normalize(ag.tensor([3.0, 4.0]), dim=0).numpy(), [0.6, 0.8])
    assert F.normalize(ag.tensor(3.0), dim=0).item() == 1.0
    assert F.normalize(ag.zeros(0, 3)).shape == (0, 3)
    x = ag.tensor([[1.0, 2.0, 2.0]], requires_grad=True)
    F.normalize(x, p=float("inf")).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0.5, -0.125, -0.125]])  # PyTorch's: tied maxima share
    with pytest.raises(TypeError, match="normalize: expected a floating-point input"):
        F.normalize(ag.tensor([3, 4]), dim=0)


@pytest.mark.parametrize("p,value,grad", [  # PyTorch's values and gradients of sum(normalize(x, p))
    (0.0, [[1 / 3, -2 / 3, 1 / 6], [0.0, 3.0, 0.0]], [[1 / 3, 1 / 3, 1 / 3], [1.0, 1.0, 1.0]]),
    (-1.0, [[3.5, -7.0, 1.75], [0.0, 3e12, 0.0]], [[4.0, 3.375, 5.5], [1e12, 1e12, 1e12]]),
    (-np.inf, [[2.0, -4.0, 1.0], [0.0, 3e12, 0.0]], [[2.0, 2.0, 4.0], [1e12, 1e12, 1e12]]),
])
def test_normalize_with_zero_and_negative_p(p, value, grad):
    x = ag.tensor([[1.0, -2.0, 0.5], [0.0, 3.0, 0.0]], dtype=np.float64, requires_grad=True)
    y = F.normalize(x, p=p, dim=1)
    np.testing.assert_allclose(y.detach().numpy(), value, rtol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), grad, rtol=1e-6)


def test_convert_sync_batchnorm_swaps_batch_norms_only():
    model = nn.Sequential(nn.BatchNorm3d(2), nn.InstanceNorm2d(2, affine=True), nn.LayerNorm(3))
    nn.SyncBatchNorm.convert_sync_batchnorm(model)
    assert [type(m).__name__ for m in model] == ["SyncBatchNorm", "InstanceNorm2d", "LayerNorm"]


def test_batchnorm3d():
    m = nn.BatchNorm3d(2).double()
    x = ag.tensor(np.random.default_rng(0).standard_normal((3, 2, 2, 2, 2)), dtype=np.float64)
    np.testing.assert_allclose(m(x).detach().numpy(), np_standardize(x.numpy(), (0, 2, 3, 4), 1e-5), atol=1e-12)
    with pytest.raises(ag.ShapeError):
        m(ag.zeros(3, 2, 2, 2))
