"""smooth L1, Huber, KL divergence, the margin and embedding losses, Poisson and Gaussian NLL: values against
numpy formulas over Hypothesis-drawn inputs (float32 and float64), gradcheck and gradgradcheck in float64,
the values PyTorch 2.13 gave for fixed inputs (a developer check), and the layers."""

import warnings

import numpy as np
import pytest
from hypothesis import strategies as st

import autograd_core as ag
import nn
import nn.functional as F
from autograd_core.testing import op_test, shapes

REDUCTIONS = st.sampled_from(["none", "mean", "sum"])


def red(loss, reduction):
    return {"none": loss, "mean": np.mean(loss), "sum": np.sum(loss)}[reduction]


def same_shapes(n, **kw):
    return shapes(**kw).map(lambda s: (s,) * n)


def T(a, **kw):
    return ag.tensor(a, **kw)


# --------------------------------------------------------------------------- regression losses

def np_smooth_l1(x, t, reduction="mean", beta=1.0):
    d = np.abs(x - t)
    return red(np.where(d < beta, 0.5 * d * d / beta, d - 0.5 * beta), reduction)


def np_huber(x, t, reduction="mean", delta=1.0):
    d = np.abs(x - t)
    return red(np.where(d < delta, 0.5 * d * d, delta * (d - 0.5 * delta)), reduction)


# both inputs drawn; the second derivative jumps where |input - target| = beta, which drawn pairs can hit
# exactly, so gradgradcheck runs below on one input against a fixed target, with the kinks known
REG_KW = st.fixed_dictionaries({"reduction": REDUCTIONS, "beta": st.sampled_from([0.5, 1.0, 2.0])})
test_smooth_l1_loss = op_test(F.smooth_l1_loss, np_smooth_l1, 2, broadcast=False, kwargs=REG_KW, gradgrad=False)
test_huber_loss = op_test(lambda x, t, reduction, beta: F.huber_loss(x, t, reduction, beta),
                          lambda x, t, reduction, beta: np_huber(x, t, reduction, beta), 2, broadcast=False,
                          kwargs=REG_KW, gradgrad=False)
T0 = 0.3125
test_smooth_l1_loss_second_derivative = op_test(
    lambda x: F.smooth_l1_loss(x, ag.full(x.shape, T0, dtype=x.dtype), beta=0.75),
    lambda x: np_smooth_l1(x, T0, beta=0.75), kinks=(T0 - 0.75, T0 + 0.75))
test_huber_loss_second_derivative = op_test(
    lambda x: F.huber_loss(x, ag.full(x.shape, T0, dtype=x.dtype), delta=0.75, reduction="sum"),
    lambda x: np_huber(x, T0, "sum", 0.75), kinks=(T0 - 0.75, T0 + 0.75))
test_smooth_l1_loss_beta0 = op_test(lambda x, t: F.smooth_l1_loss(x, t, beta=0.0, reduction="sum"),
                                    lambda x, t: np.abs(x - t).sum(), 2, broadcast=False, gradgrad=False,
                                    distinct=True)


def test_huber_is_delta_times_smooth_l1_and_takes_weights():
    x, t = T(np.linspace(-3, 3, 13)), ag.zeros(13)
    np.testing.assert_allclose(F.huber_loss(x, t, delta=0.7, reduction="none").numpy(),
                               0.7 * F.smooth_l1_loss(x, t, beta=0.7, reduction="none").numpy(), rtol=1e-6)
    w = T(np.arange(13.0))
    np.testing.assert_allclose(F.huber_loss(x, t, weight=w, reduction="sum").item(),
                               (np_huber(x.numpy(), 0.0, "none") * np.arange(13)).sum(), rtol=1e-6)


def np_kl(x, t, reduction="mean", log_target=False):
    pt = np.exp(t) if log_target else t
    lt = t if log_target else np.log(np.where(t > 0, t, 1))
    loss = pt * (lt - x)
    if reduction == "batchmean":
        return loss.sum() / (x.shape[0] if x.ndim else 1)
    return red(loss, reduction)


KL_KW = st.fixed_dictionaries({"reduction": st.sampled_from(["none", "mean", "sum", "batchmean"])})
test_kl_div = op_test(F.kl_div, np_kl, 2, broadcast=False, domain=[(-3, 0), (0.05, 1)], kwargs=KL_KW)
test_kl_div_log_target = op_test(lambda x, t, reduction: F.kl_div(x, t, reduction=reduction, log_target=True),
                                 lambda x, t, reduction: np_kl(x, t, reduction, True), 2, broadcast=False,
                                 domain=[(-3, 0), (-3, 0)], kwargs=KL_KW)


def test_kl_div_pytorch_values():
    p = np.log(np.array([[0.2, 0.8], [0.5, 0.5]]))
    q = np.array([[0.0, 1.0], [0.3, 0.7]])
    np.testing.assert_allclose(F.kl_div(T(p), T(q), reduction="batchmean").item(), 0.15271319, rtol=1e-6)
    np.testing.assert_allclose(F.kl_div(T(p), T(q)).item(), 0.07635660, rtol=1e-6)
    y = F.kl_div(T([-1.0, -2.0]), T([0.0, -0.5]), reduction="none").numpy()
    assert y[0] == 0.0 and np.isnan(y[1])  # 0 log 0 = 0; a negative target is NaN
    np.testing.assert_allclose(F.kl_div(T(-1.0), T(0.5), reduction="batchmean").item(), 0.15342641, rtol=1e-6)


def np_soft_margin(x, target, reduction="mean"):
    y = target
    return red(np.log1p(np.exp(-y * x)), reduction)


def signs_and_reduction(shp):
    """kwargs: a target of +-1 of the first input's shape (not an input: no gradient), and a reduction."""
    from hypothesis.extra import numpy as hnp
    return st.fixed_dictionaries({"target": hnp.arrays(np.float64, shp[0], elements=st.sampled_from([-1.0, 1.0])),
                                  "reduction": REDUCTIONS})


test_soft_margin_loss = op_test(lambda x, target, reduction: F.soft_margin_loss(x, target.astype(x.dtype), reduction=reduction),
                                np_soft_margin, kwargs=signs_and_reduction)


def np_poisson(x, t, reduction="mean", log_input=True, full=False, eps=1e-8):
    loss = np.exp(x) - t * x if log_input else x - t * np.log(x + eps)
    if full:
        ts = np.where(t > 1, t, 2.0)
        loss = loss + np.where(t > 1, ts * np.log(ts) - ts + 0.5 * np.log(2 * np.pi * ts), 0)
    return red(loss, reduction)


# kinks: full=True adds Stirling's term only where target > 1 (a jump at 1, as in PyTorch)
test_poisson_nll_loss = op_test(F.poisson_nll_loss, np_poisson, 2, broadcast=False, domain=[(-2, 2), (0, 4)], kinks=(1.0,),
                                kwargs=st.fixed_dictionaries({"reduction": REDUCTIONS, "full": st.booleans()}))
test_poisson_nll_loss_rates = op_test(
    lambda x, t, full: F.poisson_nll_loss(x, t, log_input=False, full=full),
    lambda x, t, full: np_poisson(x, t, "mean", False, full), 2, broadcast=False, domain=[(0.1, 3), (0, 4)], kinks=(1.0,),
    kwargs=st.fixed_dictionaries({"full": st.booleans()}))


def np_gaussian_nll(x, t, v, reduction="mean", full=False, eps=1e-6):
    v = np.maximum(v, eps)
    loss = 0.5 * (np.log(v) + (x - t) ** 2 / v) + (0.5 * np.log(2 * np.pi) if full else 0)
    return red(loss, reduction)


test_gaussian_nll_loss = op_test(F.gaussian_nll_loss, np_gaussian_nll, 3, broadcast=False, max_dims=2,
                                 domain=[(-2, 2), (-2, 2), (0.2, 3)],
                                 kwargs=st.fixed_dictionaries({"reduction": REDUCTIONS, "full": st.booleans()}))


def test_gaussian_nll_variance_shapes_clamp_and_errors():
    x, t = T([[0.5, 1.0], [2.0, 3.0]]), T([[1.0, 1.0], [1.0, 1.0]])
    # PyTorch's values: elementwise, one variance per sample as (N, 1) and as (N,)
    np.testing.assert_allclose(F.gaussian_nll_loss(x, t, T([[0.5, 2.0], [1e-8, 1.0]]), reduction="none").numpy(),
                               [[-0.09657359, 0.34657359], [499993.09375, 2.0]], rtol=1e-6)
    np.testing.assert_allclose(F.gaussian_nll_loss(x, t, T([[0.5], [2.0]]), full=True, reduction="none").numpy(),
                               [[0.82236493, 0.57236493], [1.51551211, 2.26551199]], rtol=1e-6)
    np.testing.assert_allclose(F.gaussian_nll_loss(x, t, T([0.5, 2.0]), reduction="none").numpy(),
                               [[-0.09657359, -0.34657359], [0.59657359, 1.34657359]], rtol=1e-6)
    np.testing.assert_allclose(F.gaussian_nll_loss(x, t, 0.5).item(),
                               np_gaussian_nll(x.numpy(), t.numpy(), 0.5), rtol=1e-6)
    v = T([1e-8, 1.0], requires_grad=True)
    F.gaussian_nll_loss(T([0.5, 2.0]), T([1.0, 1.0]), v, reduction="sum").backward()
    # the gradient at the clamped value 1e-6, passed to the unclamped variance (PyTorch's -1.25e11)
    np.testing.assert_allclose(v.grad.numpy(), [0.5 * (1e6 - 0.25e12), 0.0], rtol=1e-5)
    # the target may broadcast (PyTorch's samples use a scalar and (N, 1) targets)
    np.testing.assert_allclose(F.gaussian_nll_loss(ag.ones(5), T(2.0), ag.ones(5)).item(), 0.5)
    with pytest.raises(ag.ShapeError, match=r"target of shape \(3,\) does not broadcast"):
        F.gaussian_nll_loss(ag.ones(5), ag.ones(3), ag.ones(5))
    with pytest.raises(ValueError, match="var has negative entries"):
        F.gaussian_nll_loss(x, t, T([[0.5, -1.0], [1.0, 1.0]]))
    with pytest.raises(ag.ShapeError, match=r"var of shape \(3,\) does not fit input of shape \(2, 2\)"):
        F.gaussian_nll_loss(x, t, T([1.0, 1.0, 1.0]))


def np_hinge(x, y, reduction="mean", margin=1.0):
    return red(np.where(y != 1, np.maximum(0, margin - x), 0) + np.where(y != -1, x, 0), reduction)


test_hinge_embedding_loss = op_test(
    lambda x, target, reduction: F.hinge_embedding_loss(x, target.astype(x.dtype), 0.5, reduction=reduction),
    lambda x, target, reduction: np_hinge(x, target, reduction, 0.5), kinks=(0.5,), kwargs=signs_and_reduction)


def test_fixed_values_from_pytorch():
    np.testing.assert_allclose(F.smooth_l1_loss(T([0.5, -2.0]), ag.zeros(2), beta=0.0, reduction="none").numpy(),
                               [0.5, 2.0])
    np.testing.assert_allclose(F.hinge_embedding_loss(T([0.3, 2.0, -1.0, 0.5]), T([1.0, -1.0, -1.0, 0.0]),
                                                      reduction="none").numpy(), [0.3, 0.0, 2.0, 1.0], rtol=1e-6)
    np.testing.assert_allclose(F.soft_margin_loss(T([0.3, 2.0, -1.0]), T([1.0, -1.0, -1.0]), reduction="none").numpy(),
                               [0.55435520, 2.12692809, 0.31326169], rtol=1e-6)
    np.testing.assert_allclose(F.poisson_nll_loss(T([0.5, -1.0, 2.0]), T([1.0, 0.0, 3.0]), full=True,
                                                  reduction="none").numpy(), [1.14872122, 0.36787945, 3.15313768],
                               rtol=1e-6)
    np.testing.assert_allclose(F.poisson_nll_loss(T([0.5, 0.0, 2.0]), T([1.0, 0.0, 3.0]), log_input=False,
                                                  reduction="none").numpy(), [1.19314718, 0.0, -0.07944155], rtol=1e-6)
    np.testing.assert_allclose(F.multilabel_soft_margin_loss(T([[0.3, 2.0, -1.0]]), T([[1.0, 0.0, 1.0]]),
                                                             reduction="none").numpy(), [1.33151495], rtol=1e-6)


# --------------------------------------------------------------------------- class-margin losses

def np_multi_margin(x, y, p=1, margin=1.0, w=None, reduction="mean"):
    n, c = x.shape
    xy = x[np.arange(n), y][:, None]
    z = np.maximum(0, margin - xy + x) ** p
    z[np.arange(n), y] = 0
    loss = z.sum(1) / c
    if w is not None:
        loss = loss * w[y]
    return red(loss, reduction)


@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_multi_margin_loss(p, weighted, reduction):
    r = np.random.default_rng(p + 2 * weighted)
    x = r.uniform(-1, 1, (4, 3))
    y = r.integers(0, 3, 4)
    w = r.uniform(0.5, 2, 3) if weighted else None
    got = F.multi_margin_loss(T(x), T(y), p, 0.7, None if w is None else T(w), reduction=reduction)
    np.testing.assert_allclose(got.numpy(), np_multi_margin(x, y, p, 0.7, w, reduction), rtol=1e-12)
    xt = T(x, requires_grad=True)
    fn = lambda a: F.multi_margin_loss(a, T(y), p, 0.7, None if w is None else T(w), reduction=reduction)  # noqa
    assert ag.gradcheck(fn, (xt,)) and ag.gradgradcheck(fn, (xt,))


def test_multi_margin_pytorch_values_and_errors():
    x = T([[0.1, 0.2, 0.4, 0.8], [0.3, -0.2, 0.5, 0.1]])
    np.testing.assert_allclose(F.multi_margin_loss(x, T([3, 0]), reduction="none").numpy(), [0.325, 0.625], rtol=1e-6)
    np.testing.assert_allclose(F.multi_margin_loss(x, T([3, 0]), p=2, margin=0.5, weight=T([1.0, 2.0, 3.0, 4.0])).item(),
                               0.0775, rtol=1e-6)
    np.testing.assert_allclose(F.multi_margin_loss(T([0.1, 0.2, 0.4, 0.8]), T(1)).item(), 0.925, rtol=1e-6)
    assert F.multi_margin_loss(T(0.5), T(0), reduction="none").item() == 0.0  # one score, one class
    with pytest.raises(ValueError, match="only p == 1 and p == 2"):
        F.multi_margin_loss(x, T([3, 0]), p=3)
    with pytest.raises(IndexError, match="target 4 is out of bounds for 4 classes"):
        F.multi_margin_loss(x, T([4, 0]))
    with pytest.raises(TypeError, match="integer class indices"):
        F.multi_margin_loss(x, T([1.0, 0.0]))


def np_mlsm(x, y, reduction="mean"):
    ls = lambda v: -np.log1p(np.exp(-v))  # noqa: E731
    return red(-(y * ls(x) + (1 - y) * ls(-x)).mean(-1), reduction)


test_multilabel_soft_margin_loss = op_test(F.multilabel_soft_margin_loss, np_mlsm, 2, broadcast=False,
                                           shapes=same_shapes(2, min_dims=1, max_dims=2), domain=[(-3, 3), (0, 1)],
                                           kwargs=st.fixed_dictionaries({"reduction": REDUCTIONS}))


# --------------------------------------------------------------------------- embedding losses

def np_cosine_embedding(a, b, y, margin=0.0, reduction="mean"):
    cos = (a * b).sum(-1) / np.sqrt(((a * a).sum(-1) + 1e-12) * ((b * b).sum(-1) + 1e-12))
    return red(np.where(y == 1, 1 - cos, 0) + np.where(y == -1, np.maximum(0, cos - margin), 0), reduction)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("batched", [True, False])
def test_cosine_embedding_loss(reduction, batched):
    r = np.random.default_rng(7)
    shape = (5, 3) if batched else (3,)
    a, b = r.normal(size=shape), r.normal(size=shape)
    y = r.choice([-1, 1], size=shape[:-1])
    got = F.cosine_embedding_loss(T(a), T(b), T(y), -0.2, reduction=reduction)
    np.testing.assert_allclose(got.numpy(), np_cosine_embedding(a, b, y, -0.2, reduction), rtol=1e-12)
    fn = lambda u, v: F.cosine_embedding_loss(u, v, T(y), -0.2, reduction=reduction)  # noqa: E731
    ins = (T(a, requires_grad=True), T(b, requires_grad=True))
    assert ag.gradcheck(fn, ins) and ag.gradgradcheck(fn, ins)
    np.testing.assert_allclose(F.cosine_embedding_loss(T([[1.0, 0.0], [1.0, 1.0]]), T([[0.0, 1.0], [1.0, 0.9]]),
                                                       T([1, -1]), margin=0.1, reduction="none").numpy(),
                               [1.0, 0.89861780], rtol=1e-6)  # PyTorch's values
    assert F.cosine_embedding_loss(ag.zeros(1, 2), ag.ones(1, 2), T([1])).item() == 1.0


def np_margin_ranking(a, b, y, margin=0.0, reduction="mean"):
    return red(np.maximum(0, -y * (a - b) + margin), reduction)


test_margin_ranking_loss = op_test(
    lambda a, b, target, reduction: F.margin_ranking_loss(a, b, target.astype(a.dtype), 0.3, reduction=reduction),
    lambda a, b, target, reduction: np_margin_ranking(a, b, target, 0.3, reduction), 2, broadcast=False,
    distinct=True, gap=0.05, kwargs=signs_and_reduction)


def np_pdist(a, b, p=2.0, eps=1e-6):
    d = np.abs(a - b + eps)
    return d.max(-1) if p == np.inf else (d ** p).sum(-1) ** (1 / p)


def np_triplet(a, pos, neg, margin=1.0, p=2.0, eps=1e-6, swap=False, reduction="mean"):
    dp, dn = np_pdist(a, pos, p, eps), np_pdist(a, neg, p, eps)
    if swap:
        dn = np.minimum(dn, np_pdist(pos, neg, p, eps))
    return red(np.maximum(dp - dn + margin, 0), reduction)


TRIPLET_KW = st.fixed_dictionaries({"p": st.sampled_from([1.0, 2.0, 3.0]), "swap": st.booleans(),
                                    "reduction": REDUCTIONS})
test_triplet_margin_loss = op_test(lambda a, b, c, **kw: F.triplet_margin_loss(a, b, c, 0.5, **kw),
                                   lambda a, b, c, **kw: np_triplet(a, b, c, 0.5, **kw), 3, broadcast=False,
                                   shapes=same_shapes(3, min_dims=1, max_dims=2, min_side=2, max_side=3), kwargs=TRIPLET_KW,
                                   distinct=True, gap=0.05)
test_pairwise_distance = op_test(lambda a, b, p, keepdim: F.pairwise_distance(a, b, p, keepdim=keepdim),
                                 lambda a, b, p, keepdim: np_pdist(a, b, p)[..., None] if keepdim and a.ndim
                                 else np_pdist(a, b, p), 2, broadcast=False, shapes=same_shapes(2, min_dims=1),
                                 distinct=True, gap=0.05,
                                 kwargs=st.fixed_dictionaries({"p": st.sampled_from([1.0, 2.0, 3.0]),
                                                               "keepdim": st.booleans()}))


def test_triplet_pytorch_values_custom_distance_and_errors():
    a, p, n = T([[0.0, 0.0], [1.0, 1.0]]), T([[1.0, 0.0], [1.0, 2.0]]), T([[0.0, 2.0], [1.0, 1.5]])
    np.testing.assert_allclose(F.triplet_margin_loss(a, p, n, reduction="none").numpy(), [0.0, 1.5], rtol=1e-5)
    np.testing.assert_allclose(F.triplet_margin_loss(a, p, n, p=1, swap=True, reduction="none").numpy(), [0.0, 1.5],
                               rtol=1e-5)
    l1 = lambda u, v: (u - v).abs().sum(-1)  # noqa: E731
    got = F.triplet_margin_with_distance_loss(a, p, n, distance_function=l1, margin=2.0, reduction="none")
    np.testing.assert_allclose(got.numpy(), [1.0, 2.5])
    np.testing.assert_allclose(nn.TripletMarginWithDistanceLoss(distance_function=l1, margin=2.0)(a, p, n).item(), 1.75)
    np.testing.assert_allclose(F.pairwise_distance(T([[0.0, 0.0]]), T([[3.0, 4.0]])).numpy(), [4.9999986], rtol=1e-6)
    u = T([[0.0, 2.0], [1.0, -3.0]], dtype=np.float64, requires_grad=True)
    assert F.pairwise_distance(u, ag.zeros(2, 2, dtype=np.float64), p=float("inf")).tolist() == \
        pytest.approx([2.000001, 2.999999])
    assert ag.gradcheck(lambda a: F.pairwise_distance(a, ag.zeros(2, 2, dtype=np.float64), p=float("inf")), (u,))
    with pytest.raises(ag.ShapeError, match="anchor, positive and negative must all be"):
        F.triplet_margin_loss(a, p, n[0])


# --------------------------------------------------------------------------- shared rules, layers

@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the mean of an empty loss
def test_shape_dtype_and_reduction_errors():
    with pytest.raises(ag.ShapeError, match=r"smooth_l1_loss: target shape \(3,\) differs from input shape \(2, 3\)"):
        F.smooth_l1_loss(ag.zeros(2, 3), ag.zeros(3))
    with pytest.raises(TypeError, match="smooth_l1_loss: expected floating-point inputs, got dtype int64"):
        F.smooth_l1_loss(T([1, 2]), T([0, 0]))
    with pytest.raises(ValueError, match="beta must be non-negative"):
        F.smooth_l1_loss(ag.zeros(2), ag.zeros(2), beta=-1.0)
    with pytest.raises(ValueError, match="delta must be positive"):
        F.huber_loss(ag.zeros(2), ag.zeros(2), delta=0.0)
    with pytest.raises(ValueError, match="kl_div: reduction must be 'none', 'mean', 'sum' or 'batchmean'"):
        F.kl_div(ag.zeros(2), ag.zeros(2), reduction="avg")
    with pytest.raises(ValueError, match="hinge_embedding_loss: reduction must be"):
        F.hinge_embedding_loss(ag.zeros(2), ag.ones(2), reduction="avg")
    with pytest.raises(ag.ShapeError, match="same number of dimensions"):
        F.margin_ranking_loss(ag.ones(2, 3), ag.ones(3), ag.ones(3))
    assert np.isnan(F.smooth_l1_loss(ag.zeros(0), ag.zeros(0)).item())  # the mean of nothing, as in PyTorch


def test_legacy_size_average_and_reduce_flags():
    x, t = T([1.0, -2.0, 3.0]), ag.zeros(3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        assert F.smooth_l1_loss(x, t, reduce=False).shape == (3,)
        assert F.smooth_l1_loss(x, t, size_average=False).item() == pytest.approx(0.5 + 1.5 + 2.5)
        assert nn.SoftMarginLoss(size_average=False).reduction == "sum"
        assert nn.KLDivLoss(reduce=False).reduction == "none"
    with pytest.warns(DeprecationWarning, match="size_average and reduce are deprecated"):
        F.soft_margin_loss(x, T([1.0, -1.0, 1.0]), size_average=True)


LAYER_CASES = [
    (nn.SmoothL1Loss(beta=0.5), F.smooth_l1_loss, dict(beta=0.5), 2),
    (nn.HuberLoss(delta=0.5, reduction="sum"), F.huber_loss, dict(delta=0.5, reduction="sum"), 2),
    (nn.KLDivLoss(reduction="batchmean", log_target=True), F.kl_div, dict(reduction="batchmean", log_target=True), 2),
    (nn.SoftMarginLoss(), F.soft_margin_loss, {}, 2),
    (nn.PoissonNLLLoss(full=True), F.poisson_nll_loss, dict(full=True), 2),
    (nn.GaussianNLLLoss(full=True), F.gaussian_nll_loss, dict(full=True), 3),
    (nn.HingeEmbeddingLoss(margin=0.5), F.hinge_embedding_loss, dict(margin=0.5), 2),
    (nn.MultiLabelSoftMarginLoss(), F.multilabel_soft_margin_loss, {}, 2),
    (nn.MarginRankingLoss(margin=0.2), F.margin_ranking_loss, dict(margin=0.2), 3),
    (nn.TripletMarginLoss(margin=0.3, p=1), F.triplet_margin_loss, dict(margin=0.3, p=1), 3),
    (nn.CosineEmbeddingLoss(margin=0.1), F.cosine_embedding_loss, dict(margin=0.1), 3),
]


@pytest.mark.parametrize("layer,fn,kw,n", LAYER_CASES, ids=[type(c[0]).__name__ for c in LAYER_CASES])
def test_loss_layers_call_their_functional_form(layer, fn, kw, n):
    r = np.random.default_rng(0)
    ins = [T(r.uniform(0.1, 1, (4, 3))) for _ in range(n)]
    if isinstance(layer, nn.CosineEmbeddingLoss):
        ins[2] = T(np.array([1, -1, 1, -1]))
    np.testing.assert_array_equal(layer(*ins).numpy(), fn(*ins, **kw).numpy())
    repr(layer)


def test_multi_margin_layer_keeps_its_weight_as_a_buffer():
    m = nn.MultiMarginLoss(p=2, margin=0.5, weight=T([1.0, 2.0, 3.0, 4.0]))
    x = T([[0.1, 0.2, 0.4, 0.8], [0.3, -0.2, 0.5, 0.1]])
    np.testing.assert_allclose(m(x, T([3, 0])).item(), 0.0775, rtol=1e-6)
    assert set(m.state_dict()) == {"weight"}
