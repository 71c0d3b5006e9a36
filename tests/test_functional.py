"""autograd_core.functional against closed forms and float64 finite differences.

References: Jacobians and Hessians written out by hand for functions whose
derivatives are known (A sin(x), quadratic forms plus cubes), and central
differences of the function (or of its gradient, for Hessians) in float64.
"""

import importlib
import inspect
import pkgutil

import numpy as np
import pytest

import autograd_core as ag
import nn
import nn.functional as F
from autograd_core.functional import hessian, hvp, jacobian, jvp, vhp, vjp


def t64(a, requires_grad=False):
    return ag.tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad)


def fd_jacobian(f, xs, eps=1e-6):
    """Central differences: J[i][j] of shape out_i.shape + in_j.shape, f on float64 arrays -> tuple of arrays."""
    xs = [np.array(x, dtype=np.float64) for x in xs]
    outs = f(*xs)
    jac = [[np.zeros(o.shape + x.shape) for x in xs] for o in outs]
    for j, x in enumerate(xs):
        for k in np.ndindex(x.shape):
            xp = [a.copy() for a in xs]
            xm = [a.copy() for a in xs]
            xp[j][k] += eps
            xm[j][k] -= eps
            for i, (op, om) in enumerate(zip(f(*xp), f(*xm))):
                jac[i][j][(Ellipsis,) + k] = (op - om) / (2 * eps)
    return jac


RNG = np.random.default_rng(0)
A = RNG.standard_normal((3, 4))
X0 = RNG.standard_normal(4)


def f_lin_sin(x):
    return ag.tensor(A) @ x.sin()


def test_jacobian_closed_form_and_both_strategies():
    expected = A * np.cos(X0)                     # d(A sin x)/dx = A diag(cos x)
    for strategy in ("reverse-mode", "forward-mode"):
        J = jacobian(f_lin_sin, t64(X0), strategy=strategy)
        assert isinstance(J, ag.Tensor) and J.shape == (3, 4) and not J.requires_grad
        np.testing.assert_allclose(J.numpy(), expected, rtol=1e-12, atol=1e-12)


def test_vjp_and_jvp_closed_form():
    Jx = A * np.cos(X0)
    v_out, v_in = RNG.standard_normal(3), RNG.standard_normal(4)
    out, vj = vjp(f_lin_sin, t64(X0), t64(v_out))
    np.testing.assert_allclose(out.numpy(), A @ np.sin(X0), rtol=1e-12)
    np.testing.assert_allclose(vj.numpy(), v_out @ Jx, rtol=1e-12, atol=1e-12)
    out, jv = jvp(f_lin_sin, t64(X0), t64(v_in))
    np.testing.assert_allclose(jv.numpy(), Jx @ v_in, rtol=1e-12, atol=1e-12)
    assert not out.requires_grad and not jv.requires_grad


def two_in_two_out(x, y):
    return (x[:, None] * y).tanh(), (x.exp() * y[:3]).sum()


def two_in_two_out_np(x, y):
    return np.tanh(x[:, None] * y), np.asarray((np.exp(x) * y[:3]).sum())


def test_jacobian_tuples_against_finite_differences():
    x, y = RNG.standard_normal(3), RNG.standard_normal(5)
    ref = fd_jacobian(two_in_two_out_np, (x, y))
    for strategy in ("reverse-mode", "forward-mode"):
        J = jacobian(two_in_two_out, (t64(x), t64(y)), strategy=strategy, vectorize=True)
        assert isinstance(J, tuple) and len(J) == 2 and all(isinstance(r, tuple) and len(r) == 2 for r in J)
        assert J[0][0].shape == (3, 5, 3) and J[0][1].shape == (3, 5, 5)
        assert J[1][0].shape == (3,) and J[1][1].shape == (5,)
        for i in range(2):
            for j in range(2):
                np.testing.assert_allclose(J[i][j].numpy(), ref[i][j], rtol=1e-6, atol=1e-8)


def test_return_conventions_follow_the_arguments():
    x, y = t64(RNG.standard_normal(3)), t64(RNG.standard_normal(3))
    # tuple of inputs, one output: a tuple per input
    J = jacobian(lambda a, b: a * b, (x, y))
    assert isinstance(J, tuple) and len(J) == 2
    np.testing.assert_allclose(J[0].numpy(), np.diag(y.numpy()))
    # one input, tuple of outputs: a tuple per output
    J = jacobian(lambda a: (a * 2, a.sum()), x)
    assert isinstance(J, tuple) and J[0].shape == (3, 3) and J[1].shape == (3,)
    # vjp with tuples keeps them; with a single tensor it does not
    out, g = vjp(lambda a, b: (a * b).sum(), (x, y))
    assert isinstance(g, tuple) and len(g) == 2 and isinstance(out, ag.Tensor)
    out, g = vjp(lambda a: (a * a).sum(), x)
    assert isinstance(g, ag.Tensor)
    np.testing.assert_allclose(g.numpy(), 2 * x.numpy())


def quad_cubic(x):
    """0.5 x^T B x + sum(x^3): Hessian (B + B^T) / 2 + diag(6 x)."""
    return 0.5 * (x @ (ag.tensor(B) @ x)) + (x ** 3).sum()


B = RNG.standard_normal((4, 4))


def test_hessian_hvp_vhp_closed_form():
    H_ref = (B + B.T) / 2 + np.diag(6 * X0)
    for strategy in ("reverse-mode", "forward-mode"):
        H = hessian(quad_cubic, t64(X0), outer_jacobian_strategy=strategy)
        np.testing.assert_allclose(H.numpy(), H_ref, rtol=1e-12, atol=1e-12)
    v = RNG.standard_normal(4)
    out, hv = hvp(quad_cubic, t64(X0), t64(v))
    np.testing.assert_allclose(out.item(), quad_cubic(t64(X0)).item(), rtol=1e-14)
    np.testing.assert_allclose(hv.numpy(), H_ref @ v, rtol=1e-12, atol=1e-12)
    _, vh = vhp(quad_cubic, t64(X0), t64(v))
    np.testing.assert_allclose(vh.numpy(), v @ H_ref, rtol=1e-12, atol=1e-12)


def test_hessian_of_two_inputs():
    # f(x, y) = sum(x^2 y): d2f/dx2 = diag(2y), d2f/dxdy = diag(2x), d2f/dy2 = 0
    x, y = RNG.standard_normal(3), RNG.standard_normal(3)
    H = hessian(lambda a, b: (a * a * b).sum(), (t64(x), t64(y)))
    np.testing.assert_allclose(H[0][0].numpy(), np.diag(2 * y))
    np.testing.assert_allclose(H[0][1].numpy(), np.diag(2 * x))
    np.testing.assert_allclose(H[1][0].numpy(), np.diag(2 * x))
    np.testing.assert_allclose(H[1][1].numpy(), np.zeros((3, 3)))


def small_cnn_loss(params, x, y):
    """conv -> batch norm (training) -> relu -> max pool -> avg pool -> linear -> cross-entropy, float64."""
    w, b, g, beta, lw, lb = params
    h = F.conv2d(x, w, b, padding=1)
    h = F.batch_norm(h, None, None, g, beta, training=True)
    h = F.max_pool2d(h.relu(), 2)
    h = F.avg_pool2d(h, 2).flatten(1)
    return F.cross_entropy(F.linear(h, lw, lb), y)


def test_hvp_through_conv_pool_batchnorm_and_loss_matches_finite_differences():
    """The common CNN ops are twice differentiable: H v against differences of the gradient."""
    rng = np.random.default_rng(1)
    x = t64(rng.standard_normal((4, 2, 8, 8)))
    y = ag.tensor(np.array([0, 2, 1, 2]))
    shapes = [(3, 2, 3, 3), (3,), (3,), (3,), (3, 12), (3,)]
    p0 = [rng.standard_normal(s) * 0.5 for s in shapes]
    p0[2] += 1.0
    v = [rng.standard_normal(s) for s in shapes]

    def loss(*ps):
        return small_cnn_loss(ps, x, y)

    def grad_at(ps):
        ts = [t64(p, requires_grad=True) for p in ps]
        return [g.numpy() for g in ag.grad(loss(*ts), ts)]

    _, hv = hvp(loss, tuple(t64(p) for p in p0), tuple(t64(a) for a in v))
    eps = 1e-6
    gp = grad_at([p + eps * a for p, a in zip(p0, v)])
    gm = grad_at([p - eps * a for p, a in zip(p0, v)])
    for h, a, b_ in zip(hv, gp, gm):
        np.testing.assert_allclose(h.numpy(), (a - b_) / (2 * eps), rtol=1e-5, atol=1e-7)
    _, vh = vhp(loss, tuple(t64(p) for p in p0), tuple(t64(a) for a in v))
    for h1, h2 in zip(hv, vh):   # the Hessian is symmetric
        np.testing.assert_allclose(h1.numpy(), h2.numpy(), rtol=1e-8, atol=1e-10)


def test_jvp_through_the_cnn_matches_finite_differences():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 2, 8, 8))
    w = t64(rng.standard_normal((3, 2, 3, 3)))
    v = rng.standard_normal(x.shape)

    def f(xx):
        return F.max_pool2d(F.conv2d(xx, w, padding=1).relu(), 2)

    _, jv = jvp(f, t64(x), t64(v))
    eps = 1e-6
    with ag.no_grad():
        fd = (f(t64(x + eps * v)).numpy() - f(t64(x - eps * v)).numpy()) / (2 * eps)
    np.testing.assert_allclose(jv.numpy(), fd, rtol=1e-5, atol=1e-7)


def test_strict_raises_where_an_output_does_not_depend_on_an_input():
    x, y = t64([1.0, 2.0]), t64([3.0, 4.0])
    J = jacobian(lambda a, b: a * 2, (x, y))
    np.testing.assert_array_equal(J[1].numpy(), np.zeros((2, 2)))
    with pytest.raises(RuntimeError, match="independent of input 1"):
        jacobian(lambda a, b: a * 2, (x, y), strict=True)
    with pytest.raises(RuntimeError, match="independent of input 1"):
        vjp(lambda a, b: (a * 2).sum(), (x, y), strict=True)
    _, g = vjp(lambda a, b: (a * 2).sum(), (x, y))
    np.testing.assert_array_equal(g[1].numpy(), [0.0, 0.0])
    # a linear function has a zero Hessian: strict says so, non-strict returns zeros
    H = hessian(lambda a: (a * 3).sum(), x)
    np.testing.assert_array_equal(H.numpy(), np.zeros((2, 2)))
    with pytest.raises(RuntimeError, match="strict"):
        hessian(lambda a: (a * 3).sum(), x, strict=True)


def test_create_graph_results_can_be_differentiated_again():
    x = t64([0.5, -1.0], requires_grad=True)
    J = jacobian(lambda a: a ** 3, x, create_graph=True)
    assert J.requires_grad
    (d,) = ag.grad(J.sum(), x)                   # d/dx sum(diag(3 x^2)) = 6 x
    np.testing.assert_allclose(d.numpy(), 6 * x.data)
    _, g = vjp(lambda a: (a ** 3).sum(), x, create_graph=True)
    (d,) = ag.grad(g.sum(), x)
    np.testing.assert_allclose(d.numpy(), 6 * x.data)
    # without create_graph the results are detached
    _, g = vjp(lambda a: (a ** 3).sum(), x)
    assert not g.requires_grad


def test_errors_name_the_argument():
    x = t64([1.0, 2.0])
    with pytest.raises(RuntimeError, match="v can be omitted only"):
        vjp(lambda a: a * 2, x)
    with pytest.raises(ValueError, match=r"v has shape \(3,\).*\(2,\)"):
        vjp(lambda a: a * 2, x, t64([1.0, 2.0, 3.0]))
    with pytest.raises(TypeError, match="inputs must be a Tensor"):
        jacobian(lambda a: a, [1.0, 2.0][0])
    with pytest.raises(RuntimeError, match="single Tensor with one element"):
        hessian(lambda a: a * 2, x)
    with pytest.raises(ValueError, match="strategy"):
        jacobian(lambda a: a, x, strategy="sideways")


class OnceSquare(ag.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    @ag.once_differentiable
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g.data * 2 * x.data


def test_a_once_differentiable_op_raises_in_second_order_transforms():
    x = t64([1.0, 2.0])
    _, g = vjp(lambda a: OnceSquare.apply(a).sum(), x)      # first order is fine
    np.testing.assert_allclose(g.numpy(), [2.0, 4.0])
    with pytest.raises(RuntimeError, match="OnceSquareBackward.*once-differentiable"):
        hessian(lambda a: OnceSquare.apply(a).sum(), x)


def test_only_the_documented_ops_are_once_differentiable():
    """The docs list the once-differentiable built-in ops: SyncBatchNorm (distributed) and Svdvals (norms)."""
    import autograd_core
    modules = [importlib.import_module(m.name) for m in pkgutil.walk_packages(autograd_core.__path__, "autograd_core.")
               if ".kernels" not in m.name and not m.name.endswith((".viz",))]
    modules += [importlib.import_module(n) for n in ("nn.functional", "nn.loss", "nn.batchnorm")]
    functions = {c for m in modules for _, c in inspect.getmembers(m, inspect.isclass)
                 if issubclass(c, ag.Function) and c is not ag.Function}
    assert len(functions) > 30
    once = sorted(c.__name__ for c in functions if getattr(c.backward, "_once_differentiable", False))
    assert once == ["Svdvals", "SyncBatchNorm"]


def test_hessian_of_a_small_mlp_loss_is_symmetric_and_matches_finite_differences():
    ag.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1)).double()
    x = t64(np.random.default_rng(3).standard_normal((5, 2)))
    t = t64(np.random.default_rng(4).standard_normal((5, 1)))
    w0 = mlp[0].weight.detach().numpy().copy()

    def loss(w):
        return F.mse_loss(F.linear(F.linear(x, w, mlp[0].bias).tanh(), mlp[2].weight, mlp[2].bias), t)

    H = hessian(loss, t64(w0)).numpy().reshape(6, 6)
    np.testing.assert_allclose(H, H.T, atol=1e-12)

    def g(w):
        wt = t64(w, requires_grad=True)
        return ag.grad(loss(wt), wt)[0].numpy().ravel()

    eps = 1e-6
    fd = np.stack([(g(w0 + eps * e.reshape(3, 2)) - g(w0 - eps * e.reshape(3, 2))) / (2 * eps) for e in np.eye(6)], 1)
    np.testing.assert_allclose(H, fd, rtol=1e-5, atol=1e-8)
