"""The backward engine: ordering, accumulation, freeing, safety checks, hooks, grad(), anomaly mode.

References are finite differences (via gradcheck) or derivatives worked out by
hand in the test; nothing is compared with the engine's own output.
"""

import gc
import sys
import threading
import weakref

import numpy as np
import pytest

import autograd_core as ag
from autograd_core import Function


def f64(*shape, grad=True, seed=0):
    return ag.tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=grad)


# ------------------------------------------------------------------ ordering and depth

def test_chain_of_100000_ops_backward_and_free_without_recursion():
    limit = sys.getrecursionlimit()
    x = ag.tensor(1.0, dtype=np.float64, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0001
    y.backward()
    np.testing.assert_allclose(x.grad.item(), 1.0001 ** 100_000, rtol=1e-9)
    del y  # dropping a 100,000-node graph must not overflow the C stack
    gc.collect()
    assert sys.getrecursionlimit() == limit


def test_chain_of_100000_ops_with_grad():
    x = ag.tensor(0.5, dtype=np.float64, requires_grad=True)
    y = x
    for _ in range(50_000):   # two ops per step
        y = y + x * 1e-5
    (g,) = ag.grad(y, x)
    np.testing.assert_allclose(g.item(), 1 + 50_000 * 1e-5)


def test_diamond_graph_each_node_runs_once_with_summed_gradient():
    calls = []

    class Count(Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            calls.append(g.numpy().copy())
            return g * 2

    x = f64(3)
    h = Count.apply(x)          # used by two branches
    y = (h * 3 + h.exp()).sum()
    y.backward()
    assert len(calls) == 1      # ran once, after both branches delivered
    h_val = 2 * x.data
    np.testing.assert_allclose(calls[0], 3 + np.exp(h_val))
    np.testing.assert_allclose(x.grad.numpy(), 2 * (3 + np.exp(h_val)))


def test_tensor_used_many_times_accumulates():
    x = f64(4)
    y = sum((x * float(k) for k in range(1, 101)), ag.zeros(4, dtype=np.float64))
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full(4, 5050.0))


# ------------------------------------------------------------------ accumulation, freeing, retain

def test_gradients_accumulate_across_backward_calls():
    x = f64(3)
    (x * x).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.data + 3)


def test_second_backward_through_freed_graph_raises_and_names_op():
    x = f64(3)
    y = x * x
    y.backward(ag.ones_like(y))
    with pytest.raises(RuntimeError, match=r"MulBackward.*second time.*retain_graph=True"):
        y.backward(ag.ones_like(y))
    # the first node reached names itself: sum kept no tensors, but the dims it reduced are gone too
    z = (x * x).sum()
    z.backward()
    with pytest.raises(RuntimeError, match=r"SumBackward.*second time.*retain_graph=True"):
        z.backward()


def test_retain_graph_allows_second_backward():
    x = f64(3)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 4 * x.data)


def test_saved_tensors_are_released_after_backward():
    x = f64(1000)
    big = x * 2.0
    y = (big * big).sum()
    node = y.grad_fn.next_functions[0][0]   # MulBackward that saved `big` twice
    ref = weakref.ref(big)
    del big
    assert ref() is not None                # kept alive by the graph
    y.backward()
    gc.collect()
    assert ref() is None                    # freed with the graph
    assert node._saved is None


def test_leaf_grad_does_not_alias_the_callers_gradient_or_another_leaf():
    a, b = f64(3, seed=1), f64(3, seed=2)
    g = ag.ones(3, dtype=np.float64)
    y = a + b
    y.backward(g)
    g.data[:] = 7.0
    np.testing.assert_array_equal(a.grad.numpy(), [1, 1, 1])
    a.grad.data[0] = 5.0
    assert b.grad.data[0] == 1.0


def test_backward_inputs_restricts_accumulation():
    a, b = f64(2, seed=1), f64(2, seed=2)
    (a * b).sum().backward(inputs=[a])
    np.testing.assert_allclose(a.grad.numpy(), b.data)
    assert b.grad is None


# ------------------------------------------------------------------ errors

def test_non_scalar_backward_without_gradient_names_shape_and_fix():
    with pytest.raises(RuntimeError, match=r"scalar output.*shape \(2, 3\).*gradient=.*sum\(\)"):
        (f64(2, 3) * 2).backward()


def test_backward_gradient_of_wrong_shape():
    y = f64(2, 3) * 2
    with pytest.raises(ag.ShapeError, match=r"gradient has shape \(3, 2\).*shape \(2, 3\)"):
        y.backward(ag.ones(3, 2))


def test_backward_on_tensor_without_grad():
    with pytest.raises(RuntimeError, match="does not require grad"):
        ag.ones(2).sum().backward()


class WrongShape(Function):
    @staticmethod
    def forward(ctx, a):
        return a * 2

    @staticmethod
    def backward(ctx, g):
        return ag.ones(7, dtype=np.float64)


class WrongDtype(Function):
    @staticmethod
    def forward(ctx, a):
        return a * 2

    @staticmethod
    def backward(ctx, g):
        return ag.ones(*g.shape, dtype=np.int64)


class WrongCount(Function):
    @staticmethod
    def forward(ctx, a, b):
        return a * b

    @staticmethod
    def backward(ctx, g):
        return g


def test_custom_op_gradient_errors_name_op_input_and_shapes():
    x = f64(2, 3)
    with pytest.raises(ag.ShapeError, match=r"WrongShapeBackward.*input 0 has shape \(7,\).*shape \(2, 3\)"):
        WrongShape.apply(x).sum().backward()
    with pytest.raises(TypeError, match=r"WrongDtypeBackward.*dtype int64.*float64"):
        WrongDtype.apply(x).sum().backward()
    with pytest.raises(RuntimeError, match=r"WrongCountBackward: backward returned 1 gradient\(s\) but forward took 2"):
        WrongCount.apply(x, f64(2, 3)).sum().backward()


def test_engine_sums_broadcast_gradients_for_custom_ops():
    class AddRow(Function):
        @staticmethod
        def forward(ctx, a, row):
            return a + row

        @staticmethod
        def backward(ctx, g):
            return g, g   # g has a's shape; the engine must reduce it for `row`

    a, row = f64(4, 3), f64(3, seed=1)
    assert ag.gradcheck(AddRow.apply, (a, row))


def test_needs_input_grad_lets_an_op_skip_work():
    seen = []

    class Probe(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, g):
            seen.append(ctx.needs_input_grad)
            return (g if ctx.needs_input_grad[0] else None), (g if ctx.needs_input_grad[1] else None)

    Probe.apply(f64(2), f64(2, grad=False)).sum().backward()
    assert seen == [(True, False)]


# ------------------------------------------------------------------ version counters and in-place

def test_modifying_a_saved_output_in_place_raises_naming_the_op():
    x = f64(3)
    y = x.exp()
    y.add_(1)
    with pytest.raises(RuntimeError, match=r"ExpBackward: saved tensor 0.*modified by an in-place.*version 1, expected version 0"):
        y.sum().backward()


def test_modifying_a_saved_input_in_place_raises():
    x = f64(3)
    h = x * 1.0
    y = h * h
    h.mul_(2)
    with pytest.raises(RuntimeError, match="MulBackward: saved tensor"):
        y.sum().backward()


def test_in_place_on_leaf_requiring_grad_raises_unless_no_grad():
    w = f64(3)
    with pytest.raises(RuntimeError, match=r"add_: a leaf tensor that requires grad.*no_grad"):
        w.add_(1.0)
    with ag.no_grad():
        w -= 0.5 * ag.ones(3, dtype=np.float64)
    assert w._version == 1 and w.requires_grad


def test_in_place_on_non_leaf_is_differentiated():
    x = f64(3)
    y = x * 2.0
    y.mul_(3.0)
    y += x
    y.exp_()
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 7 * np.exp(7 * x.data))   # d/dx exp(7x)


def test_views_share_the_version_counter():
    x = ag.zeros(4, dtype=np.float64)
    v = x[1:3]
    v.fill_(2.0)
    np.testing.assert_array_equal(x.numpy(), [0, 2, 2, 0])
    assert x._version == 1


# ------------------------------------------------------------------ grad mode

def test_no_grad_and_enable_grad_nest_and_decorate():
    x = f64(2)
    with ag.no_grad():
        assert not (x * 2).requires_grad
        with ag.enable_grad():
            assert (x * 2).requires_grad
        assert not ag.is_grad_enabled()
    assert ag.is_grad_enabled()

    @ag.no_grad()
    def f(t):
        return t * 2

    assert not f(x).requires_grad and ag.is_grad_enabled()
    with ag.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad


def test_grad_mode_is_per_thread():
    x = f64(2)
    seen = []
    with ag.no_grad():
        t = threading.Thread(target=lambda: seen.append((x * 2).requires_grad))
        t.start()
        t.join()
    assert seen == [True]


def test_detach_stops_gradient_and_shares_memory():
    x = f64(3)
    d = x.detach()
    assert not d.requires_grad and d.data is x.data
    y = (x * d).sum()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), x.data)


# ------------------------------------------------------------------ hooks

def test_hooks_on_leaf_and_intermediate_can_replace_gradient_and_be_removed():
    x = f64(3)
    h = x * 2.0
    seen = []
    handle = h.register_hook(lambda g: seen.append(g.numpy().copy()) or g * 10)
    x.register_hook(lambda g: g + 1)
    h.sum().backward()
    np.testing.assert_array_equal(seen[0], [1, 1, 1])
    np.testing.assert_allclose(x.grad.numpy(), [21, 21, 21])
    handle.remove()
    x.grad = None
    h2 = x * 2.0
    h2.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3, 3, 3])


def test_retain_grad_keeps_intermediate_gradient():
    x = f64(3)
    h = x.exp()
    h.retain_grad()
    (h * 3).sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), [3, 3, 3])
    assert h.retains_grad


# ------------------------------------------------------------------ grad() and higher order

def test_grad_of_intermediate_and_unused_inputs():
    x, z = f64(3), f64(3, seed=3)
    h = x * 2.0
    y = (h * h).sum()
    gh, gx = ag.grad(y, [h, x], retain_graph=True)
    np.testing.assert_allclose(gh.numpy(), 2 * h.data)
    np.testing.assert_allclose(gx.numpy(), 8 * x.data)
    assert x.grad is None   # grad() does not accumulate
    with pytest.raises(RuntimeError, match=r"input 1 .* was not used.*allow_unused=True"):
        ag.grad(y, [x, z], retain_graph=True)
    assert ag.grad(y, [x, z], allow_unused=True)[1] is None


def test_third_derivative():
    x = ag.tensor([0.5, -1.5, 2.0], dtype=np.float64, requires_grad=True)
    (g1,) = ag.grad((x ** 4).sum(), x, create_graph=True)
    (g2,) = ag.grad(g1.sum(), x, create_graph=True)
    (g3,) = ag.grad(g2.sum(), x)
    np.testing.assert_allclose(g1.detach().numpy(), 4 * x.data ** 3)
    np.testing.assert_allclose(g2.detach().numpy(), 12 * x.data ** 2)
    np.testing.assert_allclose(g3.numpy(), 24 * x.data)


def test_hessian_vector_product_matches_finite_differences():
    def f(x):
        return (x.tanh() * x.sin()).sum() + (x @ x.T).logsumexp(1).sum() if x.ndim == 2 else None

    x = f64(3, 2)
    v = np.random.default_rng(5).standard_normal((3, 2))
    (g,) = ag.grad(f(x), x, create_graph=True)
    (hv,) = ag.grad((g * ag.tensor(v)).sum(), x)
    eps = 1e-6

    def grad_at(a):
        t = ag.tensor(a, requires_grad=True)
        return ag.grad(f(t), t)[0].numpy()

    fd = (grad_at(x.data + eps * v) - grad_at(x.data - eps * v)) / (2 * eps)
    np.testing.assert_allclose(hv.numpy(), fd, rtol=1e-5, atol=1e-7)


def test_backward_create_graph_then_second_backward():
    x = ag.tensor(3.0, dtype=np.float64, requires_grad=True)
    y = x ** 3
    y.backward(create_graph=True)
    gx = x.grad
    assert gx.requires_grad
    x.grad = None
    gx.backward()
    np.testing.assert_allclose(x.grad.item(), 6 * 3.0)


class RawSquare(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return a * a

    @staticmethod
    @ag.once_differentiable
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g.data * 2 * a.data   # raw arrays


def test_once_differentiable_first_order_works_second_raises_naming_op():
    x = f64(3)
    assert ag.gradcheck(RawSquare.apply, (x,))
    (g,) = ag.grad(RawSquare.apply(x).sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match=r"RawSquareBackward.*once-differentiable"):
        ag.grad(g.sum(), x)


# ------------------------------------------------------------------ anomaly mode

def test_anomaly_forward_names_op_and_creation_line():
    x = ag.tensor([1.0, -1.0], requires_grad=True)
    with ag.detect_anomaly():
        with pytest.raises(RuntimeError, match=r"(?s)'Log' returned non-finite.*index \(1,\).*test_engine.py"):
            x.log()


def test_anomaly_backward_names_op_and_where_it_was_created():
    x = ag.tensor([0.0, 4.0], requires_grad=True)
    with ag.detect_anomaly():
        y = x.sqrt()   # finite forward, infinite gradient at 0
        with pytest.raises(RuntimeError, match=r"(?s)'SqrtBackward' returned non-finite values in its gradient for input 0.*index \(0,\).*y = x.sqrt\(\)"):
            y.sum().backward()


def test_without_anomaly_mode_nan_passes_silently():
    x = ag.tensor([0.0], requires_grad=True)
    x.sqrt().sum().backward()
    assert np.isinf(x.grad.item())


def test_in_place_on_a_view_under_recording_raises_instead_of_losing_gradient():
    base = ag.zeros(4, dtype=np.float64)
    w = f64(2)
    with pytest.raises(RuntimeError, match=r"add_: in-place modification of a view .*base\[index\] = value"):
        base[1:3].add_(w)
    base[1:3] = w          # through the base: recorded
    base.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [1.0, 1.0])
