"""examples/custom_op.py: a user's op with a Numba kernel, checked like the built-ins."""

import os
import sys

import numpy as np
import pytest
from hypothesis import strategies as st

import autograd_core as ag
from autograd_core.testing import op_test

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))
import custom_op  # noqa: E402

# the one-line property test a user writes for an op: values (float64 and float32), inputs and the upstream
# gradient not mutated, gradcheck and gradgradcheck, over signal lengths L >= kernel lengths K
lengths = st.integers(1, 10).flatmap(lambda n: st.tuples(st.just((n,)), st.integers(1, n).map(lambda k: (k,))))
test_correlate1d = op_test(custom_op.correlate1d, custom_op.reference, 2, shapes=lengths, rtol=1e-10)


def test_script_checks_and_catches_a_wrong_backward(tmp_path):
    res = custom_op.main(["--examples", "5", "--length", "2000", "--out", str(tmp_path)])
    assert res["max_abs_diff_vs_numpy"] < 1e-12
    assert res["gradcheck"] is True and res["gradgradcheck"] is True
    assert res["wrong_backward_caught"] is True
    assert res["property_test_examples"] == 5
    assert len(res["compiled_signatures"]) <= 2               # float32 and float64, nothing else
    assert (tmp_path / "custom_op.json").stat().st_size > 0


def test_backward_is_made_of_the_op_itself():
    x = ag.tensor(np.arange(6.0), requires_grad=True)
    w = ag.tensor(np.array([1.0, -2.0, 0.5]), requires_grad=True)
    y = custom_op.correlate1d(x, w)
    assert y.tolist() == np.correlate(x.data, w.data, "valid").tolist()
    (gx,) = ag.grad(y.sum(), x, create_graph=True)
    # d(sum y)/dx[m] = sum of the kernel weights that touch x[m]
    np.testing.assert_allclose(gx.detach().numpy(), [1.0, -1.0, -0.5, -0.5, -1.5, 0.5])
    (gw,) = ag.grad((gx * gx).sum(), w)                       # a second derivative, through the op
    assert gw.shape == (3,) and np.isfinite(gw.numpy()).all()


def test_shape_errors_are_named():
    with pytest.raises(ag.ShapeError, match="correlate1d"):
        custom_op.correlate1d(np.zeros(3), np.zeros(4))
