"""Indexing ops (ops/index.py): values against loop-by-loop numpy references, gradients by gradcheck.

Index arrays are drawn with Hypothesis for each drawn input shape; repeated indices are drawn on
purpose where the op adds (gather's gradient, scatter_add, index_add) and avoided where PyTorch
leaves the result unspecified (scatter's forward).
"""

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import autograd_core as ag
from autograd_core.testing import op_test, shapes

nonempty = shapes(min_dims=1, max_dims=3).map(lambda s: (s,))


def _replace(pos, dim, value):
    return pos[:dim] + (int(value),) + pos[dim + 1:]


def np_gather(a, dim, index):
    out = np.empty(index.shape, a.dtype)
    for pos in np.ndindex(index.shape):
        out[pos] = a[_replace(pos, dim, index[pos])]
    return out


def np_scatter(a, dim, index, src, add=False):
    out = a.copy()
    for pos in np.ndindex(index.shape):
        tgt = _replace(pos, dim, index[pos])
        out[tgt] = out[tgt] + src[pos] if add else src[pos]
    return out


def np_index_add(a, dim, index, src, alpha=1):
    out = a.copy()
    for k, i in enumerate(index):
        sl = (slice(None),) * dim
        out[sl + (i,)] += alpha * src[sl + (k,)]
    return out


@st.composite
def _gather_case(draw, shps, unique=False, within=False):
    """dim, and an index no larger than the input outside dim (smaller allowed), values in range."""
    shape = shps[0]
    nd = len(shape)
    dim = draw(st.integers(-nd, nd - 1))
    d = dim % nd
    ishape = tuple(draw(st.integers(1, s)) if k != d else draw(st.integers(1, s if unique or within else 4))
                   for k, s in enumerate(shape))
    if unique:  # distinct positions along dim in every column: a prefix of a permutation
        keys = draw(hnp.arrays(np.float64, shape, elements=st.floats(0, 1), unique=False))
        perm = np.argsort(keys + np.arange(keys.size).reshape(shape) * 1e-9, axis=d, kind="stable")
        index = perm[tuple(slice(0, n) for n in ishape)]
    else:
        index = draw(hnp.arrays(np.int64, ishape, elements=st.integers(0, shape[d] - 1)))
    return {"dim": dim, "index": index}


test_gather = op_test(lambda a, dim, index: ag.gather(a, dim, ag.tensor(index)),
                      lambda a, dim, index: np_gather(a, dim % a.ndim, index),
                      shapes=nonempty, kwargs=lambda s: _gather_case(s))
test_gather_method = op_test(lambda a, dim, index: a.gather(dim, index), lambda a, dim, index: np_gather(a, dim % a.ndim, index),
                             shapes=nonempty, kwargs=lambda s: _gather_case(s))


@st.composite
def _broadcast_index(draw, shps):
    """dim, and indices whose other dimensions are the input's or 1 (they broadcast); negative ones too."""
    shape = shps[0]
    nd = len(shape)
    dim = draw(st.integers(-nd, nd - 1))
    d = dim % nd
    ishape = tuple(draw(st.integers(1, 4)) if k == d else draw(st.sampled_from([1, s])) for k, s in enumerate(shape))
    index = draw(hnp.arrays(np.int64, ishape, elements=st.integers(-shape[d], shape[d] - 1)))
    return {"dim": dim, "index": index}


test_take_along_dim = op_test(lambda a, dim, index: ag.take_along_dim(a, ag.tensor(index), dim),
                              lambda a, dim, index: np.take_along_axis(a, index, dim),
                              shapes=nonempty, kwargs=_broadcast_index)


# scatter / scatter_add with src as a second differentiable input of the index's shape
def _src_shapes():
    return shapes(min_dims=1, max_dims=3, max_side=3).map(lambda s: (s, s))


def _scatter_kwargs(shps, unique):
    return _gather_case(shps, unique=unique, within=True)  # src has the input's shape: index fits in both


test_scatter = op_test(lambda a, src, dim, index: ag.scatter(a, dim, ag.tensor(index), src[tuple(slice(0, n) for n in index.shape)]),
                       lambda a, src, dim, index: np_scatter(a, dim % a.ndim, index, src),
                       2, shapes=_src_shapes(), kwargs=lambda s: _scatter_kwargs(s, True))
test_scatter_src_larger = op_test(lambda a, src, dim, index: a.scatter(dim, index, src),
                                  lambda a, src, dim, index: np_scatter(a, dim % a.ndim, index, src),
                                  2, shapes=_src_shapes(), kwargs=lambda s: _scatter_kwargs(s, True))
test_scatter_add = op_test(lambda a, src, dim, index: ag.scatter_add(a, dim, ag.tensor(index), src),
                           lambda a, src, dim, index: np_scatter(a, dim % a.ndim, index, src, add=True),
                           2, shapes=_src_shapes(), kwargs=lambda s: _scatter_kwargs(s, False))


@st.composite
def _vector_index(draw, shps, max_len=5):
    shape = shps[0]
    nd = len(shape)
    dim = draw(st.integers(-nd, nd - 1))
    index = draw(hnp.arrays(np.int64, draw(st.integers(0, max_len)), elements=st.integers(0, shape[dim % nd] - 1)))
    return {"dim": dim, "index": index}


test_index_select = op_test(lambda a, dim, index: ag.index_select(a, dim, ag.tensor(index)),
                            lambda a, dim, index: np.take(a, index, axis=dim),
                            shapes=nonempty, kwargs=lambda s: _vector_index(s))


@st.composite
def _index_add_case(draw):
    shape = draw(shapes(min_dims=1, max_dims=3))
    nd = len(shape)
    dim = draw(st.integers(0, nd - 1))
    n = draw(st.integers(1, 5))
    src_shape = shape[:dim] + (n,) + shape[dim + 1:]
    return shape, src_shape, dim, draw(hnp.arrays(np.int64, n, elements=st.integers(0, shape[dim] - 1)))


_IA_CASES = {}


def _ia_shapes():
    def keep(case):
        _IA_CASES[(case[0], case[1])] = case
        return (case[0], case[1])
    return _index_add_case().map(keep)


def _ia_kwargs(shps):
    shape, src_shape, dim, index = _IA_CASES[tuple(shps)]
    return st.just({"dim": dim, "index": index})


test_index_add = op_test(lambda a, src, dim, index: ag.index_add(a, dim, ag.tensor(index), src, alpha=-1.5),
                         lambda a, src, dim, index: np_index_add(a, dim, index, src, alpha=-1.5),
                         2, shapes=_ia_shapes(), kwargs=_ia_kwargs)


def _mask_kwargs(shps):
    return hnp.arrays(np.bool_, shps[0]).map(lambda m: {"mask": m})


test_masked_fill = op_test(lambda a, mask: ag.masked_fill(a, ag.tensor(mask), -2.0),
                           lambda a, mask: np.where(mask, -2.0, a), kwargs=_mask_kwargs)
test_masked_fill_tensor_value = op_test(lambda a, v, mask: a.masked_fill(mask, v.sum()),
                                        lambda a, v, mask: np.where(mask, v.sum(), a), 2,
                                        shapes=shapes().map(lambda s: (s, (2,))), kwargs=_mask_kwargs)
test_masked_select = op_test(lambda a, mask: ag.masked_select(a, ag.tensor(mask)), lambda a, mask: a[mask],
                             kwargs=_mask_kwargs)
test_take = op_test(lambda a, index: ag.take(a, ag.tensor(index)), lambda a, index: a.reshape(-1)[index],
                    kwargs=lambda s: hnp.arrays(np.int64, (3,), elements=st.integers(
                        -int(np.prod(s[0])), int(np.prod(s[0])) - 1)).map(lambda i: {"index": i}))


# ------------------------------------------------------------------ PyTorch's edge cases

def test_gather_and_scatter_follow_pytorch_on_edges():
    x = ag.arange(12.0).reshape(3, 4)
    assert ag.gather(x, 1, ag.tensor([[0], [1]])).tolist() == [[0.0], [5.0]]  # index smaller than input
    assert ag.gather(x, -1, np.array([[3, 3]], dtype=np.int32)).tolist() == [[3.0, 3.0]]
    with pytest.raises(IndexError, match="index -1 is out of bounds for dimension 1 with size 4"):
        ag.gather(x, 1, ag.tensor([[-1]]))
    with pytest.raises(IndexError, match="index 4 is out of bounds"):
        x.gather(1, ag.tensor([[4]]))
    with pytest.raises(ag.ShapeError, match="larger than input"):
        ag.gather(x, 1, ag.zeros(4, 1, dtype=np.int64))
    with pytest.raises(ag.ShapeError, match="same number of dimensions"):
        ag.gather(x, 1, ag.tensor([0, 1]))
    with pytest.raises(TypeError, match="integer"):
        ag.gather(x, 1, ag.tensor([[0.0]]))
    assert ag.gather(x, 1, ag.zeros(3, 0, dtype=np.int64)).shape == (3, 0)
    assert ag.gather(ag.tensor(5.0), 0, ag.tensor(0)).shape == ()
    assert ag.gather(ag.tensor(5.0), 0, ag.tensor([0, 0])).tolist() == [5.0, 5.0]
    assert ag.gather(ag.tensor([5.0, 6.0]), 0, ag.tensor(1)).item() == 6.0
    z = ag.zeros(2, 3)
    assert z.scatter(1, ag.tensor([[0], [2]]), 7.0).tolist() == [[7, 0, 0], [0, 0, 7]]
    assert z.scatter(1, ag.tensor([[0], [2]]), value=7.0).tolist() == [[7, 0, 0], [0, 0, 7]]
    assert ag.zeros(2, 3, dtype=np.int64).scatter(1, ag.tensor([[0], [2]]), 7.5).tolist() == [[7, 0, 0], [0, 0, 7]]
    assert z.scatter(1, ag.tensor([[0], [2]]), ag.arange(1.0, 7.0).reshape(2, 3)).tolist() == [[1, 0, 0], [0, 0, 4]]
    assert z.scatter(1, ag.tensor([[0, 0], [2, 2]]), ag.ones(2, 2), reduce="add").tolist() == [[2, 0, 0], [0, 0, 2]]
    assert ag.ones(2, 3).scatter(1, ag.tensor([[0, 0], [2, 2]]), 2 * ag.ones(2, 2), reduce="multiply").tolist() == \
        [[4, 1, 1], [1, 1, 4]]
    with pytest.raises(TypeError, match="dtype"):
        z.scatter(1, ag.tensor([[0]]), ag.ones(1, 1, dtype=np.float64))
    with pytest.raises(IndexError, match="out of bounds"):
        z.scatter(0, ag.tensor([[-1]]), ag.ones(1, 1))
    with pytest.raises(ag.ShapeError, match="larger than src"):
        z.scatter(0, ag.tensor([[0, 1]]), ag.ones(1, 1))
    assert ag.tensor(1.0).scatter_add(0, ag.tensor(0), ag.tensor(2.0)).item() == 3.0


def test_scatter_gradients_with_repeated_indices_match_pytorch():
    a = ag.zeros(3, requires_grad=True)
    s = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    a.scatter(0, ag.tensor([1, 1, 0]), s).backward(ag.tensor([10.0, 20.0, 30.0]))
    assert a.grad.tolist() == [0.0, 0.0, 30.0] and s.grad.tolist() == [20.0, 20.0, 10.0]
    a.grad = None
    a.scatter(0, ag.tensor([1]), 5.0).backward(ag.tensor([10.0, 20.0, 30.0]))
    assert a.grad.tolist() == [10.0, 0.0, 30.0]


def test_index_select_and_index_add_edges():
    x = ag.arange(12.0).reshape(3, 4)
    assert ag.index_select(x, 1, ag.tensor(2)).shape == (3, 1)  # a 0-d index keeps the dimension
    assert x.index_select(0, np.array([2, 0], dtype=np.int32)).tolist() == [[8, 9, 10, 11], [0, 1, 2, 3]]
    assert ag.index_select(ag.tensor(3.0), 0, ag.tensor([0])).item() == 3.0
    with pytest.raises(IndexError, match="vector"):
        ag.index_select(x, 1, ag.tensor([[2]]))
    with pytest.raises(IndexError, match="out of bounds"):
        ag.index_select(x, 1, ag.tensor([-1]))
    assert ag.zeros(3, 2).index_add(0, ag.tensor([0, 0, 2]), ag.ones(3, 2), alpha=2).tolist() == \
        [[4, 4], [0, 0], [2, 2]]
    with pytest.raises(ag.ShapeError, match="source has shape"):
        ag.zeros(3, 2).index_add(0, ag.tensor([0]), ag.ones(1, 3))
    with pytest.raises(TypeError, match="dtype"):
        ag.zeros(3).index_add(0, ag.tensor([0]), ag.ones(1, dtype=np.float64))


def test_masked_ops_follow_pytorch():
    assert ag.zeros(3).masked_fill(ag.ones(2, 3, dtype=np.bool_), 1.0).shape == (2, 3)  # broadcasts
    assert ag.zeros(3, dtype=np.int64).masked_fill(ag.ones(3, dtype=np.bool_), 2.7).tolist() == [2, 2, 2]
    with pytest.raises(TypeError, match="bool"):
        ag.zeros(3).masked_fill(ag.ones(3, dtype=np.uint8), 1.0)
    with pytest.raises(ValueError, match="0-d"):
        ag.zeros(3).masked_fill(ag.ones(3, dtype=np.bool_), ag.tensor([2.0]))
    a = ag.zeros(3, requires_grad=True)
    v = ag.tensor(2.0, requires_grad=True)
    a.masked_fill(ag.tensor([True, False, True]), v).backward(ag.tensor([1.0, 2.0, 3.0]))
    assert a.grad.tolist() == [0.0, 2.0, 0.0] and v.grad.item() == 4.0
    m = ag.tensor([[True, False, True], [False, False, True]])
    assert ag.masked_select(ag.arange(3.0), m).tolist() == [0.0, 2.0, 2.0]
    assert ag.masked_select(ag.tensor(3.0), ag.tensor(True)).tolist() == [3.0]
    assert ag.zeros(0, 3).masked_fill(ag.zeros(0, 3, dtype=np.bool_), 1.0).shape == (0, 3)


def test_take_and_take_along_dim_wrap_negative_indices():
    x = ag.arange(12.0).reshape(3, 4)
    assert ag.take(x, ag.tensor([[0, -1]])).tolist() == [[0.0, 11.0]]
    with pytest.raises(IndexError, match="out of range"):
        ag.take(ag.ones(3), ag.tensor([3]))
    assert ag.take_along_dim(x, ag.tensor([0, 11])).tolist() == [0.0, 11.0]
    assert ag.take_along_dim(x, ag.tensor([[-1]]), dim=1).tolist() == [[3.0], [7.0], [11.0]]
    assert ag.take_along_dim(x, ag.tensor([[0, 1]]), dim=1).tolist() == [[0, 1], [4, 5], [8, 9]]  # broadcasts
    assert x.take_along_dim(ag.tensor([[0], [1], [2]]), 1).tolist() == [[0.0], [5.0], [10.0]]
    with pytest.raises(ag.ShapeError, match="same number of dimensions"):
        ag.take_along_dim(x, ag.tensor([0]), dim=1)


def test_nonzero_argwhere_and_where_with_one_argument():
    c = ag.tensor([[0, 1], [2, 0]])
    assert ag.nonzero(c).tolist() == [[0, 1], [1, 0]] and ag.nonzero(c).dtype == np.int64
    assert ag.argwhere(c).tolist() == [[0, 1], [1, 0]]
    rows, cols = ag.where(c)
    assert rows.tolist() == [0, 1] and cols.tolist() == [1, 0]
    assert [t.tolist() for t in c.nonzero(as_tuple=True)] == [[0, 1], [1, 0]]
    assert ag.nonzero(ag.tensor(3)).shape == (1, 0) and ag.nonzero(ag.tensor(0)).shape == (0, 0)
    assert [t.tolist() for t in ag.nonzero(ag.tensor(3), as_tuple=True)] == [[0]]
    assert ag.nonzero(ag.tensor([float("nan"), 0.0])).tolist() == [[0]]
    assert ag.nonzero(ag.zeros(0, 3)).shape == (0, 2)


@given(shapes(min_dims=1, max_dims=3), st.data())
def test_in_place_forms_match_the_out_of_place_ones(shape, data):
    x = np.random.default_rng(0).standard_normal(shape)
    mask = data.draw(hnp.arrays(np.bool_, shape))
    t = ag.tensor(x)
    assert t.masked_fill_(ag.tensor(mask), 3.0) is t
    np.testing.assert_array_equal(t.numpy(), np.where(mask, 3.0, x))
    index = data.draw(hnp.arrays(np.int64, shape, elements=st.integers(0, shape[0] - 1)))
    t = ag.tensor(x)
    t.scatter_add_(0, index, ag.ones(*shape, dtype=np.float64))
    np.testing.assert_allclose(t.numpy(), np_scatter(x, 0, index, np.ones(shape), add=True), rtol=1e-13)  # order of the sums
    t = ag.tensor(x)
    t.index_add_(0, ag.tensor([0, 0]), ag.ones(2, *shape[1:], dtype=np.float64), alpha=2)
    want = x.copy()
    want[0] += 4
    np.testing.assert_array_equal(t.numpy(), want)
    t = ag.tensor(x)
    t.scatter_(0, index[:1], 9.0)
    np.testing.assert_array_equal(t.numpy(), np_scatter(x, 0, index[:1], np.full(index[:1].shape, 9.0)))


def test_in_place_forms_record_the_graph():
    w = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = w * 2
    y.masked_fill_(ag.tensor([True, False, False]), 0.0)
    y.index_add_(0, ag.tensor([2]), w[:1] * 10)
    y.sum().backward()
    assert w.grad.tolist() == [10.0, 2.0, 2.0]
    with pytest.raises(RuntimeError, match="leaf"):
        w.masked_fill_(ag.tensor([True, False, False]), 0.0)
