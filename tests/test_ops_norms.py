"""Norms and distances (ops/distance.py, autograd_core.linalg): values against numpy formulas, gradients
by gradcheck (and gradgradcheck where PyTorch has double backward), PyTorch's conventions at zero."""

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import autograd_core as ag
from autograd_core.testing import op_test, shapes

INF = math.inf
nonempty = shapes(min_dims=1, max_dims=3).map(lambda s: (s,))


def np_vector_norm(a, ord, dim=None, keepdim=False):
    axis = None if dim is None else (dim if isinstance(dim, tuple) else (dim,))
    x = np.abs(a)
    if ord == INF:
        return np.amax(x, axis=axis, keepdims=keepdim)
    if ord == -INF:
        return np.amin(x, axis=axis, keepdims=keepdim)
    if ord == 0:
        return np.sum(x != 0, axis=axis, keepdims=keepdim).astype(a.dtype)
    return np.sum(x ** ord, axis=axis, keepdims=keepdim) ** (1 / ord)


def _vn_kwargs(ords):
    def strategy(shps):
        nd = len(shps[0])
        dims = st.one_of(st.none(), st.integers(-nd, nd - 1) if nd else st.none(),
                         st.lists(st.integers(0, nd - 1), min_size=1, max_size=nd, unique=True).map(tuple)
                         if nd else st.none())
        return st.fixed_dictionaries({"ord": st.sampled_from(ords), "dim": dims, "keepdim": st.booleans()})
    return strategy


def _vn(a, ord, dim, keepdim):
    return ag.linalg.vector_norm(a, ord, dim, keepdim)


test_vector_norm_smooth = op_test(_vn, np_vector_norm, kwargs=_vn_kwargs([2, 3, 1.5]), kinks=(0,), gap=0.1)
test_vector_norm_l1 = op_test(_vn, np_vector_norm, kwargs=_vn_kwargs([1]), kinks=(0,))
test_vector_norm_fractional = op_test(_vn, np_vector_norm, kwargs=_vn_kwargs([0.5, -1, -2.5]), kinks=(0,), gap=0.3,
                                      grad_rtol=2e-3)
test_vector_norm_max_min = op_test(_vn, np_vector_norm, kwargs=_vn_kwargs([INF, -INF]), shapes=nonempty,
                                   distinct=True, kinks=(0,), gap=0.05)
test_vector_norm_zero = op_test(_vn, np_vector_norm, kwargs=_vn_kwargs([0]), kinks=(0,), gap=0.1)
test_norm_fro = op_test(lambda a: ag.norm(a), lambda a: np.sqrt(np.sum(a * a)), kinks=(0,), gap=0.1)
test_norm_p_dim = op_test(lambda a: a.norm(3, dim=-1, keepdim=True),
                          lambda a: np_vector_norm(a, 3, a.ndim - 1, True), shapes=nonempty, kinks=(0,), gap=0.1)
test_dist = op_test(lambda a, b: ag.dist(a, b, 1.5), lambda a, b: np_vector_norm(a - b, 1.5), 2,
                    distinct=True, gap=0.1)


def _matrix(min_side=1, max_side=4):
    return shapes(min_dims=2, max_dims=3, min_side=min_side, max_side=max_side).map(lambda s: (s,))


def _mn_kwargs(ords):
    def strategy(shps):
        nd = len(shps[0])
        pair = st.lists(st.integers(-nd, nd - 1), min_size=2, max_size=2).filter(lambda d: d[0] % nd != d[1] % nd)
        return st.fixed_dictionaries({"ord": st.sampled_from(ords), "dim": pair.map(tuple), "keepdim": st.booleans()})
    return strategy


def np_matrix_norm(a, ord, dim, keepdim):
    d0, d1 = dim[0] % a.ndim, dim[1] % a.ndim
    moved = np.moveaxis(a, (d0, d1), (-2, -1))
    out = np.linalg.norm(moved, ord, axis=(-2, -1))
    if keepdim:
        out = np.expand_dims(out, tuple(sorted((d0, d1))))
    return out


def _mn(a, ord, dim, keepdim):
    return ag.linalg.matrix_norm(a, ord, dim, keepdim)


test_matrix_norm_entrywise = op_test(_mn, np_matrix_norm, shapes=_matrix(), kwargs=_mn_kwargs(["fro", 1, -1, INF, -INF]),
                                     distinct=True, kinks=(0,), gap=0.05)


@settings(deadline=None)
@given(hnp.arrays(np.float64, st.tuples(st.integers(1, 3), st.integers(2, 4), st.integers(2, 4)),
                  elements=st.floats(-3, 3)), st.sampled_from(["nuc", 2, -2]), st.booleans())
def test_spectral_norms(a, ord, keepdim):
    s = np.linalg.svd(a, compute_uv=False)
    assume(np.all(np.diff(-s, axis=-1) > 0.05) and np.all(s > 0.05))  # distinct, non-zero: differentiable
    got = ag.linalg.matrix_norm(ag.tensor(a), ord, keepdim=keepdim)
    np.testing.assert_allclose(got.numpy(), np_matrix_norm(a, ord, (-2, -1), keepdim), rtol=1e-10)
    x = ag.tensor(a, requires_grad=True)
    assert ag.gradcheck(lambda t: ag.linalg.matrix_norm(t, ord), (x,), atol=1e-5, rtol=1e-3)


def test_spectral_norms_are_once_differentiable():
    x = ag.tensor([[2.0, 1.0], [0.0, 1.0]], dtype=np.float64, requires_grad=True)
    (g,) = ag.grad(ag.linalg.matrix_norm(x, "nuc"), x, create_graph=True)
    with pytest.raises(RuntimeError, match="Svdvals"):
        g.sum().backward()


@st.composite
def _cdist_shapes(draw):
    batch = draw(st.lists(st.integers(1, 2), max_size=1).map(tuple))
    p_, r, m = draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(1, 3))
    return batch + (p_, m), (r, m)


def np_cdist(a, b, p):
    return np_vector_norm(a[..., :, None, :] - b[..., None, :, :], p, -1)


test_cdist_p2 = op_test(lambda a, b: ag.cdist(a, b), lambda a, b: np_cdist(a, b, 2), 2, shapes=_cdist_shapes(),
                        distinct=True, gap=0.1)
test_cdist_p2_mm = op_test(lambda a, b: ag.cdist(a, b, compute_mode="use_mm_for_euclid_dist"),
                           lambda a, b: np_cdist(a, b, 2), 2, shapes=_cdist_shapes(), distinct=True, gap=0.1,
                           rtol=1e-6, atol=1e-6)
test_cdist_p1 = op_test(lambda a, b: ag.cdist(a, b, 1.0), lambda a, b: np_cdist(a, b, 1), 2, shapes=_cdist_shapes(),
                        distinct=True, gap=0.1)


def _near_zero_rows(a):  # two fixed rows of tiny values: |a - b| stays as untied as a's (positive) values
    return np.stack([np.linspace(-0.01, 0.01, a.shape[-1]), np.linspace(0.005, -0.005, a.shape[-1])]).astype(a.dtype)


test_cdist_pinf = op_test(lambda a: ag.cdist(a, _near_zero_rows(a), INF), lambda a: np_cdist(a, _near_zero_rows(a), INF),
                          shapes=_cdist_shapes().map(lambda s: s[:1]), domain=(0.5, 3), distinct=True, gap=0.1)


def np_cosine(a, b, dim, eps=1e-8):
    a, b = np.broadcast_arrays(a, b)
    na = np.maximum(np.sqrt(np.sum(a * a, axis=dim, keepdims=True)), eps)
    nb = np.maximum(np.sqrt(np.sum(b * b, axis=dim, keepdims=True)), eps)
    return np.sum(a / na * b / nb, axis=dim)


test_cosine_similarity = op_test(lambda a, b: ag.cosine_similarity(a, b, dim=-1), lambda a, b: np_cosine(a, b, -1), 2,
                                 shapes=st.tuples(st.integers(1, 3), st.integers(1, 4)).map(
                                     lambda t: ((t[0], t[1]), (t[1],))), kinks=(0,), gap=0.1)


# ------------------------------------------------------------------ PyTorch's conventions

def test_norm_gradients_at_zero_follow_pytorch():
    cases = [(2, [0.0, 0.0], [0.0, 0.0]), (1, [0.0, 0.0], [0.0, 0.0]), (0.5, [0.0, 1.0], [0.0, 1.0]),
             (3, [0.0, 0.0], [0.0, 0.0]), (INF, [2.0, -2.0, 1.0], [0.5, -0.5, 0.0]),
             (-INF, [2.0, -2.0, 1.0], [0.0, 0.0, 1.0]), (-1, [2.0, 0.0, 1.0], [0.0, 0.0, 0.0])]
    for ord, x, want in cases:
        t = ag.tensor(x, requires_grad=True)
        ag.linalg.vector_norm(t, ord).backward()
        assert t.grad.tolist() == want, ord
    t = ag.tensor([2.0, 0.5, 1.0], requires_grad=True)
    ag.linalg.vector_norm(t, -1).backward()
    np.testing.assert_allclose(t.grad.numpy(), [0.0204, 0.3265, 0.0816], atol=1e-4)  # PyTorch's values


def test_norm_edge_cases_follow_pytorch():
    with pytest.raises(TypeError, match="floating-point"):
        ag.linalg.vector_norm(ag.tensor([3, 4]))
    assert ag.linalg.vector_norm(ag.zeros(0)).item() == 0.0
    with pytest.raises(ValueError, match="empty"):
        ag.linalg.vector_norm(ag.zeros(0), INF)
    assert ag.linalg.vector_norm(ag.tensor(-3.0)).item() == 3.0
    assert ag.linalg.vector_norm(ag.tensor([3.0, 4.0]), dtype=np.float64).dtype == np.float64
    assert ag.norm(ag.ones(2, 3), p=1, dim=(0, 1)).item() == 6.0  # a number p is entrywise
    assert ag.norm(ag.tensor([[1.0, 2.0], [3.0, 4.0]]), p="nuc").item() == pytest.approx(5.8310, abs=1e-4)
    with pytest.raises(ValueError, match="one or two dims"):
        ag.norm(ag.ones(2, 3, 4), p="fro", dim=(0, 1, 2))
    assert ag.norm(ag.ones(2, 3, 4)).item() == pytest.approx(math.sqrt(24))
    assert ag.linalg.norm(ag.tensor([[3.0, 4.0], [1.0, 1.0]]), ord=2).item() == pytest.approx(5.1926, abs=1e-4)
    assert ag.linalg.norm(ag.tensor([3.0, 4.0]), ord=2).item() == 5.0
    with pytest.raises(ValueError, match="matrix norm"):
        ag.linalg.norm(ag.tensor([3.0, 4.0]), ord="fro")
    with pytest.raises(ValueError, match="1-D or 2-D"):
        ag.linalg.norm(ag.ones(2, 3, 4), ord=2)
    assert ag.linalg.matrix_norm(ag.tensor([[3.0, -4.0], [1.0, 1.0]]), ord=1).item() == 5.0
    assert ag.linalg.matrix_norm(ag.zeros(0, 3), ord=INF).item() == 0.0
    with pytest.raises(ag.ShapeError, match="at least 2"):
        ag.linalg.matrix_norm(ag.tensor([3.0, -4.0]))
    assert ag.dist(ag.tensor([1.0, 2.0]), ag.tensor([[0.0, 0.0], [1.0, 1.0]]), p=1).item() == 4.0


def test_cdist_and_cosine_similarity_follow_pytorch():
    assert ag.cdist(ag.ones(5, 1, 2, 3), ag.zeros(6, 4, 3)).shape == (5, 6, 2, 4)
    with pytest.raises(TypeError, match="floating-point"):
        ag.cdist(ag.ones(2, 3, dtype=np.int64), ag.zeros(4, 3, dtype=np.int64))
    assert ag.cdist(ag.tensor([[1.0, 2.0]]), ag.tensor([[1.0, 3.0]]), p=0).item() == 1.0
    for n in (1, 30):  # the difference path and the matrix-product path: zero gradient at zero distance
        x = ag.ones(n, 2, requires_grad=True)
        ag.cdist(x, ag.ones(n, 2)).sum().backward()
        assert x.grad.tolist() == np.zeros((n, 2)).tolist()
    with pytest.raises(ValueError, match="compute_mode"):
        ag.cdist(ag.ones(1, 2), ag.ones(1, 2), compute_mode="fast")
    x = ag.tensor([[0.0, 0.0]], requires_grad=True)
    ag.cosine_similarity(x, ag.tensor([[1.0, 2.0]])).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[44721360.0, 89442720.0]], rtol=1e-6)  # each norm clamped to eps
    tiny = ag.tensor([[1e-9, 0.0]], dtype=np.float64)
    assert ag.cosine_similarity(tiny, tiny, eps=1e-8).item() == pytest.approx(0.01)
    assert ag.cosine_similarity(ag.ones(2, 3, 1), ag.ones(3, 4), dim=1).shape == (2, 4)
    import nn.functional as F
    assert F.cosine_similarity is ag.cosine_similarity


def test_linalg_namespace_is_its_own_module():
    import autograd_core.linalg as L
    import autograd_core.ops.linalg as ops_linalg
    assert ag.linalg is L and L is not ops_linalg
    assert not hasattr(ag, "vector_norm")  # torch.linalg names live in linalg only, as in PyTorch
    assert L.matmul is ag.matmul
    assert L.diagonal(ag.arange(9.0).reshape(3, 3)).tolist() == [0.0, 4.0, 8.0]
    np.testing.assert_allclose(L.svdvals(ag.tensor([[3.0, 0.0], [0.0, -4.0]])).numpy(), [4.0, 3.0])
