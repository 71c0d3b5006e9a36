"""cumsum, cumprod and prod (ops/cumulative.py): values against numpy, gradients by gradcheck/gradgradcheck,
including inputs with zeros, where the product rule cannot divide."""

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import autograd_core as ag
from autograd_core.testing import op_test, shapes

nonempty = shapes(min_dims=1, max_dims=3).map(lambda s: (s,))


def one_dim(shps):
    nd = max(len(shps[0]), 1)
    return st.integers(-nd, nd - 1).map(lambda d: {"dim": d})


def np_axis(a, dim):
    return dim if a.ndim else None


test_cumsum = op_test(lambda a, dim: ag.cumsum(a, dim),
                      lambda a, dim: np.cumsum(a, axis=np_axis(a, dim)).reshape(a.shape), kwargs=one_dim)
test_cumsum_method = op_test(lambda a, dim: a.cumsum(dim), lambda a, dim: np.cumsum(a, axis=dim),
                             shapes=nonempty, kwargs=one_dim)
test_cumprod = op_test(lambda a, dim: ag.cumprod(a, dim),
                       lambda a, dim: np.cumprod(a, axis=np_axis(a, dim)).reshape(a.shape),
                       kwargs=one_dim, domain=(-2, 2), kinks=(0,), gap=0.1)  # zeros: tested below


def _with_zeros(draw_shape=shapes(min_dims=1, max_dims=2, max_side=4)):
    """Arrays where about a third of the values are exactly zero."""
    return draw_shape.flatmap(lambda s: hnp.arrays(np.float64, s, elements=st.one_of(
        st.just(0.0), st.floats(-2, 2).filter(lambda v: abs(v) > 0.1))))


@given(_with_zeros(), st.data())
def test_cumprod_and_prod_gradients_with_zeros(a, data):
    dim = data.draw(st.integers(-a.ndim, a.ndim - 1))
    for fn in (lambda x: ag.cumprod(x, dim), lambda x: ag.prod(x, dim), lambda x: ag.prod(x)):
        x = ag.tensor(a, requires_grad=True)
        assert ag.gradcheck(fn, (x,)) and ag.gradgradcheck(fn, (x,))


def _prod_kwargs(shps):
    nd = len(shps[0])
    if not nd:
        return st.just({"dim": None, "keepdim": False})
    return st.fixed_dictionaries({"dim": st.one_of(st.none(), st.integers(-nd, nd - 1)), "keepdim": st.booleans()})


def np_prod(a, dim, keepdim):
    if dim is None:
        return np.prod(a)
    return np.prod(a, axis=dim, keepdims=keepdim)


test_prod = op_test(lambda a, dim, keepdim: ag.prod(a, dim, keepdim) if dim is not None else ag.prod(a),
                    np_prod, kwargs=_prod_kwargs, domain=(-2, 2))


def test_integer_and_edge_cases_follow_pytorch():
    assert ag.prod(ag.tensor([2, 3])).item() == 6 and ag.prod(ag.tensor([2, 3], dtype=np.int32)).dtype == np.int64
    assert ag.prod(ag.tensor([True, False])).item() == 0
    assert ag.prod(ag.tensor([2, 3]), dtype=np.float32).dtype == np.float32
    assert ag.prod(ag.zeros(0)).item() == 1.0
    e = ag.zeros(0, 3, requires_grad=True)
    ag.prod(e, 0).sum().backward()
    assert e.grad.shape == (0, 3)
    assert ag.prod(ag.tensor(3.0), 0).item() == 3.0
    assert ag.prod(ag.ones(2, 3), 1, keepdim=True).shape == (2, 1)
    with pytest.raises(TypeError, match="one int"):
        ag.prod(ag.ones(2, 3), dim=(0, 1))
    assert ag.cumsum(ag.tensor([1, 2], dtype=np.int32), 0).dtype == np.int64
    assert ag.cumsum(ag.tensor([True, True]), 0).tolist() == [1, 2]
    assert ag.cumsum(ag.tensor(3.0), 0).item() == 3.0
    assert ag.cumsum(ag.tensor([1, 2]), 0, dtype=np.float64).tolist() == [1.0, 3.0]
    assert ag.cumprod(ag.tensor([1, 2, 3]), 0).tolist() == [1, 2, 6]
    with pytest.raises(IndexError, match="out of range"):
        ag.cumsum(ag.ones(2), 1)


def test_gradients_with_zeros_match_pytorch():
    for v, g_prod, g_cumprod in (([2.0, 0.0, 3.0, 4.0], [0.0, 24.0, 0.0, 0.0], [1.0, 118.0, 0.0, 0.0]),
                                 ([0.0, 0.0, 3.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0]),
                                 ([2.0, 3.0, 0.0], [0.0, 0.0, 6.0], [7.0, 4.0, 18.0])):
        a = ag.tensor(v, requires_grad=True)
        ag.prod(a).backward()
        assert a.grad.tolist() == g_prod
        a = ag.tensor(v, requires_grad=True)
        ag.cumprod(a, 0).backward(ag.tensor([1.0, 2.0, 3.0, 4.0][:len(v)]))
        assert a.grad.tolist() == g_cumprod
