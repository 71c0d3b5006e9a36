"""Sorting and selection (ops/sort.py) against references written with Python's own stable ``sorted``.

Values are drawn with ties (Hypothesis shrinks towards equal values) for the orders, and spread
apart (``distinct=True``) where gradients are checked, so finite differences never cross a tie.
"""

import collections
import math

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import autograd_core as ag
from autograd_core.testing import op_test, shapes

nonempty = shapes(min_dims=1, max_dims=3).map(lambda s: (s,))


def along(fn, a, dim, keepdim=True, ints=(1,)):
    """Apply ``fn(row) -> tuple of scalars or lists`` to every 1-D slice of ``a`` along ``dim``.

    Outputs numbered in ``ints`` (the indices) are int64, the others keep ``a``'s dtype.
    """
    moved = np.moveaxis(a, dim, -1)
    outs = [fn(list(row)) for row in moved.reshape(-1, moved.shape[-1])]
    results = []
    for k in range(len(outs[0]) if outs else 0):
        arr = np.array([o[k] for o in outs], dtype=np.int64 if k in ints else a.dtype)
        arr = arr.reshape(moved.shape[:-1] + np.shape(outs[0][k]))
        if np.ndim(outs[0][k]) == 0 and keepdim:
            arr = arr[..., None]
        results.append(np.moveaxis(arr, -1, dim) if arr.ndim == moved.ndim else arr)
    return tuple(results)


def py_sort(row, descending=False):
    order = sorted(range(len(row)), key=lambda i: row[i], reverse=descending)  # stable both ways
    return [row[i] for i in order], order


def _dim(shps):
    nd = len(shps[0])
    return st.fixed_dictionaries({"dim": st.integers(-nd, nd - 1), "descending": st.booleans()})


test_sort = op_test(lambda a, dim, descending: ag.sort(a, dim, descending),
                    lambda a, dim, descending: along(lambda r: py_sort(r, descending), a, dim),
                    shapes=nonempty, kwargs=_dim, distinct=True)
test_argsort_with_ties = op_test(
    lambda a, dim, descending: a.round().argsort(dim, descending=descending),
    lambda a, dim, descending: along(lambda r: (py_sort(r, descending)[1],), np.round(a), dim, ints=(0,))[0],
    shapes=nonempty, kwargs=_dim, grad=False)
test_sort_with_ties_values_and_indices = op_test(
    lambda a, dim, descending: a.round().sort(dim, descending=descending),
    lambda a, dim, descending: along(lambda r: py_sort(r, descending), np.round(a), dim),
    shapes=nonempty, kwargs=_dim, grad=False)


def _k_kwargs(shps):
    nd = len(shps[0])
    return st.integers(-nd, nd - 1).flatmap(lambda d: st.fixed_dictionaries({
        "dim": st.just(d), "k": st.integers(0, shps[0][d]), "largest": st.booleans()}))


test_topk = op_test(lambda a, dim, k, largest: ag.topk(a, k, dim, largest),
                    lambda a, dim, k, largest: along(lambda r: tuple(x[:k] for x in py_sort(r, largest)), a, dim),
                    shapes=nonempty, kwargs=_k_kwargs, distinct=True)
test_topk_ties = op_test(lambda a, dim, k, largest: a.round().topk(k, dim, largest),
                         lambda a, dim, k, largest: along(lambda r: tuple(x[:k] for x in py_sort(r, largest)),
                                                          np.round(a), dim),
                         shapes=nonempty, kwargs=_k_kwargs, grad=False)


def _kth_kwargs(shps):
    nd = len(shps[0])
    return st.integers(-nd, nd - 1).flatmap(lambda d: st.fixed_dictionaries({
        "dim": st.just(d), "k": st.integers(1, shps[0][d]), "keepdim": st.booleans()}))


def py_kth(row, k):
    values, order = py_sort(row)
    return values[k - 1], order[k - 1]


test_kthvalue = op_test(lambda a, dim, k, keepdim: ag.kthvalue(a, k, dim, keepdim),
                        lambda a, dim, k, keepdim: along(lambda r: py_kth(r, k), a, dim, keepdim),
                        shapes=nonempty, kwargs=_kth_kwargs, distinct=True)


def _dim_keep(shps):
    nd = len(shps[0])
    return st.fixed_dictionaries({"dim": st.integers(-nd, nd - 1), "keepdim": st.booleans()})


def py_median(row):
    values, order = py_sort(row)
    return values[(len(row) - 1) // 2], order[(len(row) - 1) // 2]


test_median_dim = op_test(lambda a, dim, keepdim: ag.median(a, dim, keepdim),
                          lambda a, dim, keepdim: along(py_median, a, dim, keepdim),
                          shapes=nonempty, kwargs=_dim_keep, distinct=True)
test_median_all = op_test(ag.median, lambda a: np.array(py_median(list(a.reshape(-1)))[0]), shapes=nonempty,
                          distinct=True)
test_nanmedian_dim = op_test(lambda a, dim, keepdim: a.nanmedian(dim, keepdim),
                             lambda a, dim, keepdim: along(py_median, a, dim, keepdim),
                             shapes=nonempty, kwargs=_dim_keep, distinct=True)


def py_mode(row):
    counts = collections.Counter(row)
    best = max(counts.values())
    value = min(v for v, c in counts.items() if c == best)
    return value, max(i for i, v in enumerate(row) if v == value)


test_mode = op_test(lambda a, dim, keepdim: ag.mode(a.round(), dim, keepdim),
                    lambda a, dim, keepdim: along(py_mode, np.round(a), dim, keepdim),
                    shapes=nonempty, kwargs=_dim_keep, grad=False)


@given(hnp.arrays(np.int64, shapes(max_dims=3), elements=st.integers(-3, 3)))
def test_mode_gradient_goes_to_the_last_occurrence(a):
    if a.size == 0:
        return
    x = ag.tensor(a.reshape(-1).astype(np.float64), requires_grad=True)
    v, i = ag.mode(x)
    v.backward()
    want = np.zeros(a.size)
    want[py_mode(list(a.reshape(-1)))[1]] = 1.0
    np.testing.assert_array_equal(x.grad.numpy(), want)
    assert i.item() == py_mode(list(a.reshape(-1)))[1]


@given(hnp.arrays(np.int64, shapes(max_dims=3, min_side=0), elements=st.integers(-3, 3)))
def test_unique_against_python_sets(a):
    values, inverse, counts = ag.unique(ag.tensor(a), return_inverse=True, return_counts=True)
    flat = a.reshape(-1).tolist()
    distinct = sorted(set(flat))
    assert values.tolist() == distinct
    assert inverse.shape == a.shape and [distinct[i] for i in inverse.numpy().reshape(-1)] == flat
    assert counts.tolist() == [flat.count(v) for v in distinct]
    vals, counts = ag.unique_consecutive(ag.tensor(a), return_counts=True)
    runs = [(k, len(list(g))) for k, g in __import__("itertools").groupby(flat)]
    assert vals.tolist() == [k for k, _ in runs] and counts.tolist() == [n for _, n in runs]


# ------------------------------------------------------------------ PyTorch's edge cases

NAN = math.nan


def test_nan_sorts_above_everything_in_original_order():
    x = ag.tensor([3.0, 1.0, 3.0, NAN, 1.0, 2.0, NAN])
    v, i = ag.sort(x)
    assert i.tolist() == [1, 4, 5, 0, 2, 3, 6] and np.isnan(v.numpy()[-2:]).all()
    v, i = x.sort(descending=True)
    assert i.tolist() == [3, 6, 0, 2, 5, 1, 4]
    assert ag.argsort(x, descending=True).tolist() == [3, 6, 0, 2, 5, 1, 4]
    assert ag.topk(x, 3).indices.tolist() == [3, 6, 0]
    assert ag.topk(x, 3, largest=False).indices.tolist() == [1, 4, 5]
    assert ag.kthvalue(x, 7).indices.item() == 6
    assert np.isnan(ag.median(x).item())
    assert ag.median(x, 0).indices.item() == 3  # the first NaN, as PyTorch
    v, i = ag.nanmedian(x, 0)
    assert v.item() == 2.0 and i.item() == 5
    v, i = ag.nanmedian(ag.tensor([NAN, NAN]), 0)
    assert np.isnan(v.item()) and i.item() == 0


def test_sorting_edge_cases():
    assert ag.sort(ag.tensor([-128, 127, 0], dtype=np.int8), descending=True).values.tolist() == [127, 0, -128]
    assert ag.sort(ag.tensor([True, False])).indices.tolist() == [1, 0]
    assert ag.sort(ag.tensor([0.0, -0.0, 0.0, -0.0])).indices.tolist() == [0, 1, 2, 3]  # -0 == 0: stable
    v, i = ag.sort(ag.tensor(3.0))
    assert v.shape == () and i.item() == 0
    assert ag.topk(ag.tensor(2.0), 1).values.shape == ()
    assert ag.topk(ag.ones(4), 0).values.shape == (0,)
    with pytest.raises(IndexError, match="k=5"):
        ag.topk(ag.ones(4), 5)
    with pytest.raises(IndexError, match="k=0"):
        ag.kthvalue(ag.ones(4), 0)
    assert np.isnan(ag.median(ag.zeros(0)).item())
    e = ag.zeros(0, requires_grad=True)
    ag.median(e).backward()
    assert e.grad.shape == (0,)  # still in the graph, as in PyTorch
    assert ag.msort(ag.tensor([[3.0, 1.0], [2.0, 4.0]])).tolist() == [[2.0, 1.0], [3.0, 4.0]]
    with pytest.raises(IndexError, match="size 0"):
        ag.median(ag.zeros(0), 0)
    assert ag.median(ag.tensor([4, 1, 3, 2])).item() == 2 and ag.median(ag.tensor([4, 1, 3, 2])).dtype == np.int64
    assert ag.sort(ag.zeros(2, 0), dim=1).values.shape == (2, 0)
    assert ag.mode(ag.tensor([[1.0, 3.0, 3.0, 1.0, 2.0, 1.0, 3.0]]), 1).indices.tolist() == [5]
    assert type(ag.sort(ag.ones(2))).__name__ == "sort" and ag.topk(ag.ones(2), 1)._fields == ("values", "indices")


def test_unique_follows_pytorch():
    assert ag.unique(ag.tensor([NAN, 1.0, NAN])).numpy()[0] == 1.0  # NaNs stay apart
    assert ag.unique(ag.tensor([NAN, 1.0, NAN])).shape == (3,)
    v, inv, cnt = ag.unique(ag.tensor([[1, 2], [1, 2], [0, 1]]), dim=0, return_inverse=True, return_counts=True)
    assert v.tolist() == [[0, 1], [1, 2]] and inv.tolist() == [1, 1, 0] and cnt.tolist() == [1, 2]
    assert ag.tensor([3, 1, 3, 2]).unique(sorted=False).tolist() == [1, 2, 3]
    assert ag.unique_consecutive(ag.tensor([[1, 1], [1, 1], [2, 1]]), dim=0).tolist() == [[1, 1], [2, 1]]


def test_sort_gradient_goes_back_through_the_permutation():
    a = ag.tensor([1.0, 3.0, 3.0, 2.0], requires_grad=True)
    ag.sort(a).values.backward(ag.tensor([1.0, 2.0, 3.0, 4.0]))
    assert a.grad.tolist() == [1.0, 3.0, 4.0, 2.0]
    a.grad = None
    ag.median(a).backward()
    assert a.grad.tolist() == [0.0, 0.0, 0.0, 1.0]
