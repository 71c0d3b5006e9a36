"""Shape, indexing, cat/stack/pad and matmul: values against numpy, gradients by gradcheck."""

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import autograd_core as ag
from autograd_core.testing import op_test, shapes


def _one(shape_strategy):
    return shape_strategy.map(lambda s: (s,))


# reshape / view / flatten: to a permutation-derived target shape of the same size
def _reshape_kwargs(shps):
    size = int(np.prod(shps[0]))
    divisors = [d for d in range(1, size + 1) if size % d == 0]
    return st.sampled_from(divisors).map(lambda d: {"shape": (d, -1)})


test_reshape = op_test(lambda a, shape: a.reshape(shape), lambda a, shape: a.reshape(shape), kwargs=_reshape_kwargs)
test_view = op_test(lambda a, shape: a.view(*shape), lambda a, shape: a.reshape(shape), kwargs=_reshape_kwargs)
test_flatten = op_test(lambda a: ag.flatten(a, 1), lambda a: a.reshape(a.shape[0], -1),
                       shapes=_one(shapes(min_dims=2, max_dims=4)))


def _perm(shps):
    return st.permutations(range(len(shps[0]))).map(lambda p: {"dims": tuple(p)})


test_permute = op_test(lambda a, dims: a.permute(*dims), lambda a, dims: np.transpose(a, dims), kwargs=_perm)
test_transpose = op_test(lambda a: a.transpose(0, -1), lambda a: np.swapaxes(a, 0, -1),
                         shapes=_one(shapes(min_dims=1)))
test_T = op_test(lambda a: a.T, lambda a: a.T)
test_squeeze = op_test(lambda a: a.squeeze(), np.squeeze, shapes=_one(shapes(min_side=1, max_side=2)))
test_unsqueeze = op_test(lambda a: ag.unsqueeze(a, -1), lambda a: a[..., None])


def _expand_kwargs(shps):
    return st.integers(1, 3).map(lambda n: {"target": (n,) + tuple(s if s != 1 else 3 for s in shps[0])})


test_expand = op_test(lambda a, target: a.expand(*target), lambda a, target: np.broadcast_to(a, target),
                      kwargs=_expand_kwargs)
test_broadcast_to = op_test(lambda a, target: ag.broadcast_to(a, target),
                            lambda a, target: np.broadcast_to(a, target), kwargs=_expand_kwargs)

# indexing: basic, integer arrays with repeats, boolean masks
test_getitem_slices = op_test(lambda a: a[1:, ::2], lambda a: a[1:, ::2], shapes=_one(shapes(min_dims=2)))
test_getitem_int_none_ellipsis = op_test(lambda a: a[0, None, ..., -1], lambda a: a[0, None, ..., -1],
                                         shapes=_one(shapes(min_dims=2)))
test_getitem_repeated_indices = op_test(lambda a: a[[0, 0, -1]], lambda a: a[[0, 0, -1]],
                                        shapes=_one(shapes(min_dims=1)))
test_getitem_bool_mask = op_test(lambda a: a[a.data > 0], lambda a: a[a > 0], kinks=(0,))
test_getitem_tensor_index = op_test(lambda a: a[:, ag.tensor([1, 0, 1])], lambda a: a[:, [1, 0, 1]],
                                    shapes=_one(shapes(min_dims=2, min_side=2)))

test_cat = op_test(lambda a, b: ag.cat([a, b], 1), lambda a, b: np.concatenate([a, b], 1), 2,
                   shapes=st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3)).map(
                       lambda t: ((t[0], t[1]), (t[0], t[2]))))
test_stack = op_test(lambda a, b: ag.stack([a, b], -1), lambda a, b: np.stack([a, b], -1), 2, broadcast=False)
test_pad_constant = op_test(lambda a: ag.pad(a, (1, 2), value=0.5),
                            lambda a: np.pad(a, [(0, 0)] * (a.ndim - 1) + [(1, 2)], constant_values=0.5),
                            shapes=_one(shapes(min_dims=1)))
test_pad_crop = op_test(lambda a: ag.pad(a, (-1, 1, 1, 0)),
                        lambda a: np.pad(a, [(0, 0)] * (a.ndim - 2) + [(1, 0), (0, 1)])[..., 1:],
                        shapes=_one(shapes(min_dims=2, min_side=2)))
test_pad_reflect = op_test(lambda a: ag.pad(a, (2, 1), mode="reflect"),
                           lambda a: np.pad(a, [(0, 0)] * (a.ndim - 1) + [(2, 1)], mode="reflect"),
                           shapes=_one(shapes(min_dims=1, min_side=3)))
test_pad_replicate = op_test(lambda a: ag.pad(a, (1, 1, 2, 0), mode="replicate"),
                             lambda a: np.pad(a, [(0, 0)] * (a.ndim - 2) + [(2, 0), (1, 1)], mode="edge"),
                             shapes=_one(shapes(min_dims=2)))


@st.composite
def matmul_shapes(draw):
    n, k, m = draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(1, 4))
    kind = draw(st.sampled_from(["mm", "batched", "broadcast", "vec-mat", "mat-vec", "vec-vec"]))
    batch = draw(hnp.array_shapes(min_dims=1, max_dims=2, max_side=3))
    return {"mm": ((n, k), (k, m)), "batched": (batch + (n, k), batch + (k, m)),
            "broadcast": (batch + (n, k), (k, m)), "vec-mat": ((k,), batch + (k, m)),
            "mat-vec": (batch + (n, k), (k,)), "vec-vec": ((k,), (k,))}[kind]


test_matmul = op_test(lambda a, b: a @ b, np.matmul, 2, shapes=matmul_shapes())


# ------------------------------------------------------------------ views and errors

def test_view_shares_memory_and_version_with_base():
    x = ag.arange(6.0).reshape(2, 3)
    v = x.view(3, 2)
    v[0, 0] = 100.0
    assert x[0, 0].item() == 100.0
    assert x._version == v._version == 1


def test_view_of_non_contiguous_raises_and_points_to_reshape():
    x = ag.ones(2, 3).T
    with pytest.raises(ag.ShapeError, match=r"reshape"):
        x.view(6)
    assert x.reshape(6).shape == (6,)


def test_reshape_error_names_shapes_and_sizes():
    with pytest.raises(ag.ShapeError, match=r"reshape: shape \(4, 4\) is invalid for a tensor of shape \(2, 3\) \(6 elements\)"):
        ag.ones(2, 3).reshape(4, 4)


def test_matmul_error_names_both_shapes_and_the_rule():
    with pytest.raises(ag.ShapeError, match=r"matmul: cannot multiply shapes \(2, 3\) and \(4, 5\).*\(3\).*\(4\)"):
        ag.ones(2, 3) @ ag.ones(4, 5)


def test_cat_and_stack_errors_name_the_offending_tensor():
    with pytest.raises(ag.ShapeError, match=r"cat: tensor 1 has shape \(2, 4\) but tensor 0 has shape \(3, 4\)"):
        ag.cat([ag.ones(3, 4), ag.ones(2, 4)], 1)
    with pytest.raises(ag.ShapeError, match="stack: tensor 1"):
        ag.stack([ag.ones(3), ag.ones(2)])


def test_expand_error_is_pytorch_like():
    with pytest.raises(ag.ShapeError, match=r"expanded size \(4\) must match the existing size \(3\)"):
        ag.ones(2, 3).expand(2, 4)
    assert ag.ones(3, 1).expand(-1, 4).shape == (3, 4)


def test_index_error_names_shape():
    with pytest.raises(IndexError, match=r"shape \(2, 3\)"):
        ag.ones(2, 3)[5]


@given(shapes(min_dims=1, max_dims=3))
def test_setitem_gradient_flows_to_value_and_rest(shape):
    base = ag.randn(*shape, dtype=np.float64, requires_grad=True)
    val = ag.tensor(2.0, dtype=np.float64, requires_grad=True)
    y = base * 1.0
    y[0] = val
    y.sum().backward()
    expected = np.ones(shape)
    expected[0] = 0
    np.testing.assert_array_equal(base.grad.numpy(), expected)
    assert val.grad.item() == np.prod(shape[1:])  # broadcast into the row: summed back


def test_setitem_gradcheck():
    def f(a, v):
        y = a * 1.0
        y[1:, 0] = v
        return y * y
    a = ag.randn(3, 2, dtype=np.float64, requires_grad=True)
    v = ag.randn(2, dtype=np.float64, requires_grad=True)
    assert ag.gradcheck(f, (a, v)) and ag.gradgradcheck(f, (a, v))
