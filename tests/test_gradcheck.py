"""gradcheck itself: it must catch wrong gradients and say exactly where."""

import numpy as np
import pytest

import autograd_core as ag
from autograd_core import Function, GradcheckError


class BadSin(Function):
    """Forward sin, backward off by a factor at one element."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.sin(a)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        scale = np.ones(a.shape)
        scale.reshape(-1)[-1] = 1.5
        return g * a.cos() * scale


def test_gradcheck_names_output_input_element_values_and_tolerances():
    x = ag.tensor(np.linspace(0.1, 1.0, 6).reshape(2, 3), requires_grad=True)
    with pytest.raises(GradcheckError) as err:
        ag.gradcheck(BadSin.apply, (x,))
    msg = str(err.value)
    assert "output 0" in msg and "input 0" in msg
    assert "d output[1, 2] / d input[1, 2]" in msg
    assert f"{np.cos(1.0):.6f}"[:6] in msg and f"{1.5 * np.cos(1.0):.6f}"[:6] in msg
    assert "atol + rtol" in msg and "1 of 36 elements mismatch" in msg


def test_gradcheck_returns_false_without_raising():
    x = ag.tensor(np.linspace(0.1, 1.0, 4), requires_grad=True)
    assert ag.gradcheck(BadSin.apply, (x,), raise_exception=False) is False


def test_fast_mode_catches_the_error_too():
    x = ag.tensor(np.linspace(0.1, 1.0, 6), requires_grad=True)
    with pytest.raises(GradcheckError, match="fast mode.*fast_mode=False"):
        ag.gradcheck(BadSin.apply, (x,), fast_mode=True)
    assert ag.gradcheck(ag.sin, (x,), fast_mode=True)


def test_warns_for_float32_inputs():
    x = ag.tensor([0.5, 1.0], requires_grad=True)
    with pytest.warns(UserWarning, match="float64"):
        ag.gradcheck(ag.exp, (x,), atol=1e-2, rtol=1e-2)


def test_detects_nondeterministic_backward():
    state = {"n": 0}

    class Flaky(Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            state["n"] += 1
            return g * (2 + 1e-3 * state["n"])

    with pytest.raises(GradcheckError, match="not deterministic"):
        ag.gradcheck(Flaky.apply, (ag.tensor(np.ones(2), requires_grad=True),), atol=1e-1)


def test_detects_nonzero_gradient_for_zero_upstream():
    class Leaky(Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2 + 1e-3

    with pytest.raises(GradcheckError, match="zero gradient"):
        ag.gradcheck(Leaky.apply, (ag.tensor(np.ones(2), requires_grad=True),))


def test_gradgradcheck_catches_a_backward_that_hides_its_dependence():
    class DetachedBackward(Function):
        """Right first derivative, but computed from detached values: the second is wrong."""

        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a ** 3

        @staticmethod
        def backward(ctx, g):
            (a,) = ctx.saved_tensors
            return g * 3 * a.detach() ** 2

    x = ag.tensor(np.array([0.5, -1.2]), requires_grad=True)
    assert ag.gradcheck(DetachedBackward.apply, (x,))
    with pytest.raises(GradcheckError, match="Jacobian mismatch"):
        ag.gradgradcheck(DetachedBackward.apply, (x,))


def test_multiple_outputs_and_inputs_are_checked_pairwise():
    def f(a, b):
        return a * b, (a + b).exp()

    a = ag.tensor(np.array([0.3, -0.2]), requires_grad=True)
    b = ag.tensor(np.array([1.1, 0.4]), requires_grad=True)
    assert ag.gradcheck(f, (a, b)) and ag.gradgradcheck(f, (a, b))


def test_requires_some_input_to_require_grad():
    with pytest.raises(ValueError, match="requires_grad=True"):
        ag.gradcheck(ag.exp, (ag.tensor(np.ones(2)),))
