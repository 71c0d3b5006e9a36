"""Losses against numpy references of their formulas, values PyTorch 2.13 printed for fixed inputs, and gradcheck."""

import numpy as np
import pytest

import autograd_core as ag
import nn
import nn.functional as F

rng = np.random.default_rng(1)

# fixed inputs with the values torch.nn.functional gave for them (float64)
X = np.array([[1.0, -2.0, 0.5, 3.0], [0.2, 0.1, -1.0, 2.0], [-0.5, 1.5, 2.5, 0.0], [1.0, 1.0, 1.0, 1.0]])
Y = np.array([3, 0, 2, -100])
W = np.array([1.0, 2.0, 0.5, 1.5])
TORCH_CE = {  # (weight?, label_smoothing, reduction) -> value
    (False, 0.0, "mean"): 0.9061514064796223, (False, 0.0, "sum"): 2.718454219438867,
    (True, 0.0, "mean"): 0.8723104088994647, (True, 0.0, "sum"): 2.616931226698394,
    (True, 0.2, "mean"): 1.2593861787394773, (True, 0.2, "sum"): 3.7781585362184322,
    (False, 0.2, "mean"): 1.1644847398129556, (False, 0.2, "sum"): 3.4934542194388674,
}


def t64(a, requires_grad=True):
    return ag.tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad)


def np_log_softmax(x, axis=1):
    m = x.max(axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis, keepdims=True))


@pytest.mark.parametrize("key", sorted(TORCH_CE))
def test_cross_entropy_matches_pytorch_values(key):
    weighted, ls, red = key
    loss = F.cross_entropy(t64(X), ag.tensor(Y), weight=W if weighted else None, reduction=red,
                           label_smoothing=ls)
    np.testing.assert_allclose(loss.item(), TORCH_CE[key], rtol=1e-12)


def test_cross_entropy_none_reduction_and_probabilities_match_pytorch():
    loss = nn.CrossEntropyLoss(weight=ag.tensor(W), reduction="none", label_smoothing=0.2)(t64(X), ag.tensor(Y))
    np.testing.assert_allclose(loss.data, [0.9557674991350601, 2.121446405529178, 0.7009446315541938, 0.0],
                               rtol=1e-12)
    logits = np.array([[0.3, 0.2, 0.1, 0.4], [2.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0], [1.0, 2.0, 3.0, 4.0]])
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    loss = F.cross_entropy(t64(X), p, weight=W, label_smoothing=0.1)
    np.testing.assert_allclose(loss.item(), 2.4563878498280465, rtol=1e-12)


def test_cross_entropy_matches_numpy_formula_and_gradcheck():
    x = rng.normal(size=(5, 4))
    y = rng.integers(0, 4, 5)
    logp = np_log_softmax(x)
    np.testing.assert_allclose(F.cross_entropy(t64(x), ag.tensor(y)).item(), -logp[np.arange(5), y].mean(),
                               rtol=1e-12)
    xt = t64(x)
    for kw in [dict(), dict(weight=W, label_smoothing=0.3), dict(reduction="sum", ignore_index=1),
               dict(reduction="none", label_smoothing=0.1)]:
        assert ag.gradcheck(lambda a, kw=kw: F.cross_entropy(a, ag.tensor(y), **kw), (xt,))
    assert ag.gradgradcheck(lambda a: F.cross_entropy(a, ag.tensor(y)), (xt,))
    target = t64(np.abs(rng.normal(size=(5, 4))))  # probabilities may require grad too
    assert ag.gradcheck(lambda a, t: F.cross_entropy(a, t, label_smoothing=0.1), (xt, target))


def test_cross_entropy_spatial_and_unbatched():
    x = rng.normal(size=(2, 3, 4, 5))
    y = rng.integers(0, 3, (2, 4, 5))
    logp = np_log_softmax(x)
    picked = np.take_along_axis(logp, y[:, None], 1)[:, 0]
    np.testing.assert_allclose(F.cross_entropy(t64(x), ag.tensor(y), reduction="none").data, -picked, rtol=1e-12)
    y_small = ag.tensor(y[:, :2, :2])
    assert ag.gradcheck(lambda a: F.cross_entropy(a, y_small, label_smoothing=0.1), (t64(x[:, :, :2, :2]),))
    v = rng.normal(size=4)
    np.testing.assert_allclose(F.cross_entropy(t64(v), ag.tensor(2)).item(), -np_log_softmax(v, 0)[2], rtol=1e-12)


def test_cross_entropy_is_stable_for_large_logits():
    x = ag.tensor([[1000.0, 0.0, -1000.0], [-1e4, 1e4, 0.0]], requires_grad=True)
    loss = F.cross_entropy(x, ag.tensor([0, 0]))
    assert np.isfinite(loss.item())
    np.testing.assert_allclose(loss.item(), 1e4, rtol=1e-6)   # (0 + 2e4) / 2
    loss.backward()
    assert np.isfinite(x.grad.data).all()
    np.testing.assert_allclose(x.grad.data, [[0, 0, 0], [-0.5, 0.5, 0]], atol=1e-6)


def test_cross_entropy_errors_name_the_problem():
    with pytest.raises(IndexError, match=r"target 7 is out of bounds.*\[0, 4\)"):
        F.cross_entropy(ag.randn(2, 4), ag.tensor([1, 7]))
    with pytest.raises(ag.ShapeError, match=r"target of shape \(3,\).*input of shape \(2, 4\)"):
        F.cross_entropy(ag.randn(2, 4), ag.tensor([1, 2, 3]))
    with pytest.raises(ValueError, match="reduction must be"):
        nn.CrossEntropyLoss(reduction="average")
    with pytest.raises(ag.ShapeError, match="weight has shape"):
        F.cross_entropy(ag.randn(2, 4), ag.tensor([1, 2]), weight=np.ones(3))


def test_nll_loss_matches_numpy_and_ignores_index():
    logp = np_log_softmax(X)
    ok = Y != -100
    ref = -(W[Y[ok]] * logp[np.arange(4)[ok], Y[ok]]).sum() / W[Y[ok]].sum()
    np.testing.assert_allclose(nn.NLLLoss(weight=ag.tensor(W))(t64(logp), ag.tensor(Y)).item(), ref, rtol=1e-12)
    x = t64(logp)
    assert ag.gradcheck(lambda a: F.nll_loss(a, ag.tensor(Y), weight=W), (x,))
    # everything ignored: 0 / 0, NaN like PyTorch
    assert np.isnan(F.nll_loss(t64(logp), ag.tensor([-100] * 4)).item())


def test_mse_and_l1():
    a, b = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    np.testing.assert_allclose(nn.MSELoss()(t64(a), t64(b)).item(), ((a - b) ** 2).mean(), rtol=1e-12)
    np.testing.assert_allclose(nn.MSELoss(reduction="sum")(t64(a), t64(b)).item(), ((a - b) ** 2).sum(), rtol=1e-12)
    np.testing.assert_allclose(nn.L1Loss(reduction="none")(t64(a), t64(b)).data, np.abs(a - b), rtol=1e-12)
    assert ag.gradcheck(F.mse_loss, (t64(a), t64(b)))
    assert ag.gradcheck(F.l1_loss, (t64(a), t64(b)))
    with pytest.raises(ag.ShapeError, match=r"target shape \(3,\) differs from input shape \(3, 1\)"):
        F.mse_loss(ag.randn(3, 1), ag.randn(3))


def test_bce_matches_pytorch_and_numpy():
    p = np.array([[0.1, 0.9], [0.5, 0.0], [1.0, 0.3]])
    t = np.array([[0.0, 1.0], [1.0, 0.25], [0.0, 1.0]])
    np.testing.assert_allclose(nn.BCELoss()(t64(p), t64(t)).item(), 21.184640169366922, rtol=1e-12)
    q = rng.uniform(0.05, 0.95, (3, 2))
    ref = -(t * np.log(q) + (1 - t) * np.log(1 - q))
    np.testing.assert_allclose(F.binary_cross_entropy(t64(q), t, reduction="none").data, ref, rtol=1e-12)
    assert ag.gradcheck(F.binary_cross_entropy, (t64(q), t64(t)))
    assert ag.gradgradcheck(F.binary_cross_entropy, (t64(q), t64(t)))
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\].*max 1.5"):
        F.binary_cross_entropy(ag.tensor([0.5, 1.5]), ag.tensor([0.0, 1.0]))


def test_bce_with_logits_matches_pytorch_and_is_stable():
    z = np.array([[-3.0, 0.5], [2.0, 0.0], [40.0, -40.0]])
    t = np.array([[0.0, 1.0], [1.0, 0.25], [0.0, 1.0]])
    np.testing.assert_allclose(nn.BCEWithLogitsLoss()(t64(z), t64(t)).item(), 13.557123254559462, rtol=1e-12)
    loss = nn.BCEWithLogitsLoss(weight=ag.tensor([1.0, 3.0], dtype=np.float64), reduction="sum",
                                pos_weight=ag.tensor([2.0, 0.5], dtype=np.float64))
    np.testing.assert_allclose(loss(t64(z), t64(t)).item(), 102.8330701988997, rtol=1e-12)
    s = 1 / (1 + np.exp(-z[:2]))  # the naive formula, where it does not overflow
    ref = -(t[:2] * np.log(s) + (1 - t[:2]) * np.log(1 - s))
    np.testing.assert_allclose(F.binary_cross_entropy_with_logits(t64(z[:2]), t[:2], reduction="none").data, ref,
                               rtol=1e-9)
    big = ag.tensor([1e4, -1e4], requires_grad=True)
    out = F.binary_cross_entropy_with_logits(big, ag.tensor([0.0, 1.0]))
    np.testing.assert_allclose(out.item(), 1e4, rtol=1e-6)
    out.backward()
    np.testing.assert_allclose(big.grad.data, [0.5, -0.5])
    zz = t64(rng.normal(size=(3, 2)))
    pw = np.array([2.0, 0.5])
    assert ag.gradcheck(lambda a, b: F.binary_cross_entropy_with_logits(a, b, pos_weight=pw), (zz, t64(t)))
    assert ag.gradgradcheck(lambda a: F.binary_cross_entropy_with_logits(a, t, pos_weight=pw), (zz,))


def test_bce_with_logits_gradient_at_zero():
    z = t64([0.0, 0.0])
    F.binary_cross_entropy_with_logits(z, np.array([1.0, 0.0]), reduction="sum").backward()
    np.testing.assert_allclose(z.grad.data, [-0.5, 0.5])   # sigmoid(0) - t
