"""Tensor construction, dtype rules, conversions and the top-level function API."""

import numpy as np
import pytest

import autograd_core as ag


def test_dtype_rules_follow_pytorch_for_python_numbers_and_numpy_for_arrays():
    assert ag.tensor(1.5).dtype == np.float32
    assert ag.tensor([1, 2]).dtype == np.int64
    assert ag.tensor([True, False]).dtype == np.bool_
    assert ag.tensor(np.ones(2)).dtype == np.float64          # numpy arrays keep their dtype
    assert ag.tensor(np.ones(2, np.float16)).dtype == np.float16
    assert ag.tensor([1, 2], dtype=np.float64).dtype == np.float64
    assert (ag.ones(2) * ag.ones(2, dtype=np.float64)).dtype == np.float64


def test_tensor_copies_but_from_numpy_shares():
    a = np.zeros(3)
    t, s = ag.tensor(a), ag.from_numpy(a)
    a[0] = 1
    assert t[0].item() == 0 and s[0].item() == 1


def test_constructors_shapes_and_dtypes():
    assert ag.zeros(2, 3).shape == (2, 3) and ag.zeros((2, 3)).dtype == np.float32
    assert ag.ones(4, dtype=np.float64).dtype == np.float64
    assert ag.full((2,), 7).dtype == np.int64 and ag.full((2,), 7.0).dtype == np.float32
    assert ag.arange(5).dtype == np.int64 and ag.arange(0, 1, 0.25).dtype == np.float32
    np.testing.assert_array_equal(ag.arange(1, 7, 2).numpy(), [1, 3, 5])
    np.testing.assert_array_equal(ag.eye(2).numpy(), np.eye(2))
    x = ag.ones(2, 3, dtype=np.float64)
    for like in (ag.zeros_like, ag.ones_like, ag.randn_like, ag.rand_like):
        y = like(x)
        assert y.shape == (2, 3) and y.dtype == np.float64
    assert ag.full_like(x, 3).numpy().tolist() == [[3, 3, 3], [3, 3, 3]]


def test_manual_seed_makes_random_constructors_repeatable():
    ag.manual_seed(123)
    a = ag.randn(3, 4).numpy().copy(), ag.rand(5).numpy().copy()
    ag.manual_seed(123)
    b = ag.randn(3, 4).numpy(), ag.rand(5).numpy()
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert 0 <= b[1].min() and b[1].max() < 1
    with pytest.raises(ValueError, match="manual_seed"):
        ag.manual_seed(-1)


def test_attributes():
    x = ag.randn(2, 3, requires_grad=True)
    assert x.shape == (2, 3) and x.ndim == 2 and x.dtype == np.float32 and x.T.shape == (3, 2)
    assert x.is_leaf and x.grad is None and x.grad_fn is None and x.requires_grad
    y = x * 2
    assert not y.is_leaf and y.grad_fn.name() == "MulBackward"
    assert x.size() == (2, 3) and x.size(-1) == 3 and x.numel() == 6 and x.dim() == 2 and len(x) == 2


def test_conversions():
    x = ag.tensor([[1.5, 2.0]], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"detach\(\)\.numpy\(\)"):
        x.numpy()
    assert isinstance(x.detach().numpy(), np.ndarray)
    assert ag.tensor(3.5).item() == 3.5 and isinstance(ag.tensor(3).item(), int)
    with pytest.raises(ValueError, match=r"item\(\): only a tensor with one element.*shape \(1, 2\)"):
        x.item()
    d = x.double()
    assert d.dtype == np.float64 and d.requires_grad
    d.sum().backward()
    assert x.grad.dtype == np.float32        # the gradient flows back through the cast
    assert ag.tensor([1.7]).long().dtype == np.int64
    assert float(ag.tensor(2.0)) == 2.0 and int(ag.tensor(3)) == 3
    assert np.asarray(ag.tensor([1.0, 2.0])).tolist() == [1.0, 2.0]


def test_requires_grad_only_for_floats():
    with pytest.raises(RuntimeError, match=r"only floating-point tensors can require gradients.*int64"):
        ag.tensor([1, 2], requires_grad=True)
    x = ag.tensor([1.0]).requires_grad_()
    assert x.requires_grad


def test_truth_value_of_many_elements_is_ambiguous():
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(ag.ones(3))
    assert bool(ag.tensor([2.0]))


def test_repr_shows_values_and_grad_fn():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    assert repr(x) == "tensor([1., 2.], requires_grad=True)"
    assert "grad_fn=<MulBackward>" in repr(x * 2)
    assert "dtype=float64" in repr(ag.tensor(np.ones(1)))


def test_bad_data_is_rejected_with_a_clear_error():
    with pytest.raises(TypeError, match="cannot make a tensor"):
        ag.tensor("abc")


def test_every_method_is_also_a_top_level_function():
    names = ["exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "relu", "leaky_relu", "elu", "softplus",
             "clamp", "maximum", "minimum", "where", "sum", "mean", "var", "std", "max", "min", "amax",
             "logsumexp", "softmax", "log_softmax", "reshape", "view", "flatten", "transpose", "permute",
             "squeeze", "unsqueeze", "expand", "broadcast_to", "matmul", "eq", "ne", "lt", "le", "gt", "ge",
             "argmax", "argmin", "view_as", "abs", "neg"]
    for n in names:
        assert callable(getattr(ag, n)), n
        assert callable(getattr(ag.Tensor, n)), n
    for n in ["cat", "stack", "pad", "grad", "no_grad", "enable_grad", "gradcheck", "gradgradcheck"]:
        assert callable(getattr(ag, n)), n


def test_top_level_functions_accept_numpy_arrays():
    out = ag.exp(np.zeros(2))
    assert isinstance(out, ag.Tensor) and out.numpy().tolist() == [1.0, 1.0]
    assert ag.flatten(ag.ones(2, 3, 4), 1).shape == (2, 12)
    assert ag.cat([np.ones(2), ag.zeros(2, dtype=np.float64)]).shape == (4,)


def test_numpy_ufuncs_dispatch_to_differentiable_ops():
    x = ag.tensor([0.5, 2.0], dtype=np.float64, requires_grad=True)
    y = np.exp(x) * np.array([1.0, 3.0])    # ufunc on a Tensor, then ndarray * Tensor
    assert isinstance(y, ag.Tensor) and y.requires_grad
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.exp([0.5, 2.0]) * [1.0, 3.0])
    with pytest.raises(TypeError, match=r"numpy.arctan has no differentiable.*detach"):
        np.arctan(x)
    np.testing.assert_allclose(np.arctan(x.detach()), np.arctan([0.5, 2.0]))
