"""Reductions and softmax: values against numpy, gradients by gradcheck/gradgradcheck.

``dim`` is drawn from the valid dimensions of each drawn shape (None, one, or
several, negative ones included) and ``keepdim`` both ways.
"""

import numpy as np
import pytest
from hypothesis import given, strategies as st

import autograd_core as ag
from autograd_core.testing import op_test, shapes


def dims_kwargs(allow_none=True, multi=True):
    def strategy(shps):
        nd = len(shps[0])
        options = [st.just(None)] if allow_none else []
        if nd:
            options.append(st.integers(-nd, nd - 1))
            if multi:
                options.append(st.lists(st.integers(0, nd - 1), min_size=1, max_size=nd, unique=True).map(tuple))
        return st.fixed_dictionaries({"dim": st.one_of(*options), "keepdim": st.booleans()})
    return strategy


def one_dim(shps):
    nd = max(len(shps[0]), 1)
    return st.fixed_dictionaries({"dim": st.integers(-nd, nd - 1)})


def np_axis(dim):
    return dim if dim is None or isinstance(dim, int) else tuple(dim)


nonempty = shapes(min_dims=1, max_dims=3).map(lambda s: (s,))

test_sum = op_test(lambda a, dim, keepdim: a.sum(dim, keepdim),
                   lambda a, dim, keepdim: np.sum(a, axis=np_axis(dim), keepdims=keepdim), kwargs=dims_kwargs())
test_mean = op_test(lambda a, dim, keepdim: ag.mean(a, dim, keepdim),
                    lambda a, dim, keepdim: np.mean(a, axis=np_axis(dim), keepdims=keepdim), kwargs=dims_kwargs())


def _np_var(a, dim, keepdim, ddof):
    return np.var(a, axis=np_axis(dim), ddof=ddof, keepdims=keepdim)


# var/std need more than `correction` elements per reduction: draw sides >= 2
two_plus = shapes(min_dims=1, max_dims=3, min_side=2).map(lambda s: (s,))
test_var = op_test(lambda a, dim, keepdim: a.var(dim, keepdim=keepdim),
                   lambda a, dim, keepdim: _np_var(a, dim, keepdim, 1), shapes=two_plus, kwargs=dims_kwargs())
test_var_biased = op_test(lambda a, dim, keepdim: ag.var(a, dim, unbiased=False, keepdim=keepdim),
                          lambda a, dim, keepdim: _np_var(a, dim, keepdim, 0), shapes=two_plus, kwargs=dims_kwargs())
test_std = op_test(lambda a, dim, keepdim: a.std(dim, keepdim=keepdim),
                   lambda a, dim, keepdim: np.sqrt(_np_var(a, dim, keepdim, 1)), shapes=two_plus,
                   kwargs=dims_kwargs(), distinct=True, gap=0.05)
test_amax = op_test(lambda a, dim, keepdim: a.amax(dim, keepdim),
                    lambda a, dim, keepdim: np.amax(a, axis=np_axis(dim), keepdims=keepdim),
                    shapes=nonempty, kwargs=dims_kwargs(), distinct=True)
test_amin = op_test(lambda a, dim, keepdim: ag.amin(a, dim, keepdim),
                    lambda a, dim, keepdim: np.amin(a, axis=np_axis(dim), keepdims=keepdim),
                    shapes=nonempty, kwargs=dims_kwargs(), distinct=True)
test_max_full = op_test(lambda a: a.max(), np.max, shapes=nonempty, distinct=True)
test_min_full = op_test(lambda a: ag.min(a), np.min, shapes=nonempty, distinct=True)
test_max_dim = op_test(lambda a, dim: a.max(dim).values,
                       lambda a, dim: np.max(a, axis=dim), shapes=nonempty, kwargs=one_dim, distinct=True)
test_min_dim_keepdim = op_test(lambda a, dim: ag.min(a, dim, keepdim=True)[0],
                               lambda a, dim: np.min(a, axis=dim, keepdims=True), shapes=nonempty,
                               kwargs=one_dim, distinct=True)


def _np_logsumexp(a, dim, keepdim):
    m = np.max(a, axis=np_axis(dim), keepdims=True)
    out = np.log(np.sum(np.exp(a - m), axis=np_axis(dim), keepdims=True)) + m
    return out if keepdim else np.squeeze(out, axis=np_axis(dim) if dim is not None else None)


test_logsumexp = op_test(lambda a, dim, keepdim: a.logsumexp(dim, keepdim),
                         _np_logsumexp, shapes=nonempty, kwargs=dims_kwargs())


def _np_softmax(a, dim):
    e = np.exp(a - a.max(axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)


test_softmax = op_test(lambda a, dim: a.softmax(dim), _np_softmax, shapes=nonempty, kwargs=one_dim)
test_log_softmax = op_test(lambda a, dim: ag.log_softmax(a, dim),
                           lambda a, dim: np.log(_np_softmax(a, dim)), shapes=nonempty, kwargs=one_dim)


def test_softmax_is_stable_for_large_logits():
    x = ag.tensor([[1000.0, 0.0, -1000.0]], requires_grad=True)
    ls = ag.log_softmax(x, 1)
    assert np.all(np.isfinite(ls.detach().numpy()))
    np.testing.assert_allclose(ls.detach().numpy(), [[0.0, -1000.0, -2000.0]])
    ls[0, 0].backward()
    assert np.all(np.isfinite(x.grad.numpy()))
    assert np.isfinite(ag.logsumexp(ag.tensor([1e4, 1e4]), 0).item())


def test_max_with_dim_returns_values_and_first_index():
    x = ag.tensor([[1.0, 3.0, 3.0], [2.0, 0.0, 2.0]], requires_grad=True)
    values, indices = x.max(1)
    np.testing.assert_array_equal(values.detach().numpy(), [3.0, 2.0])
    np.testing.assert_array_equal(indices.numpy(), [1, 0])  # first maximum wins, like numpy and PyTorch
    assert indices.dtype == np.int64 and not indices.requires_grad
    values.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 1, 0], [1, 0, 0]])


def test_full_max_shares_gradient_between_ties():
    x = ag.tensor([1.0, 3.0, 3.0], requires_grad=True)
    x.max().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0, 0.5, 0.5])


def test_max_of_two_tensors_is_maximum():
    a, b = ag.tensor([1.0, 5.0]), ag.tensor([2.0, 3.0])
    np.testing.assert_array_equal(ag.max(a, b).numpy(), [2.0, 5.0])
    np.testing.assert_array_equal(a.min(b).numpy(), [1.0, 3.0])


@given(shapes(min_dims=1, max_dims=3).flatmap(
    lambda s: st.tuples(st.just(s), st.integers(-len(s), len(s) - 1), st.booleans())))
def test_argmax_argmin_match_numpy(case):
    shape, dim, keepdim = case
    a = np.random.default_rng(0).standard_normal(shape)
    np.testing.assert_array_equal(ag.argmax(ag.tensor(a), dim, keepdim).numpy(), np.argmax(a, axis=dim, keepdims=keepdim))
    np.testing.assert_array_equal(ag.tensor(a).argmin(dim).numpy(), np.argmin(a, axis=dim))
    assert ag.tensor(a).argmax().item() == np.argmax(a)


def test_bad_dim_names_the_op_and_range():
    x = ag.ones(2, 3)
    with pytest.raises(IndexError, match=r"sum: dimension 2 is out of range .* 2 dimension\(s\) .*\[-2, 1\]"):
        x.sum(2)
    with pytest.raises(IndexError, match="softmax"):
        x.softmax(-3)


def test_reductions_over_empty_max_raise_clearly():
    with pytest.raises(ValueError, match="amax: cannot reduce an empty tensor"):
        ag.zeros(0).amax()
