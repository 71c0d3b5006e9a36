"""examples/mlp_xor_spiral.py: with ReLU the MLP solves XOR and the spirals; with linear activations it cannot."""

import os
import sys

import numpy as np
import pytest

import autograd_core as ag

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))
import mlp_xor_spiral  # noqa: E402


def test_relu_succeeds_where_linear_fails(tmp_path):
    res = mlp_xor_spiral.main(["--samples", "200", "--steps", "300", "--hidden", "32", "--out", str(tmp_path)])
    for problem in ("xor", "spiral"):
        relu, linear = res[f"{problem}/relu"], res[f"{problem}/linear"]
        assert relu["test_acc"] >= 0.9, (problem, relu)
        # a straight line gets about 3/4 of XOR's quadrants and about 2/3 of the spirals
        assert linear["test_acc"] <= 0.8, (problem, linear)
        assert linear["train_acc"] <= 0.8, (problem, linear)
        assert relu["loss"] < 0.5 * linear["loss"], problem
        # the trained linear net is a single affine map
        assert linear["collapse_max_diff"] < 1e-4, problem
    assert (tmp_path / "mlp.json").stat().st_size > 0
    pytest.importorskip("matplotlib")
    assert (tmp_path / "decision_boundaries.png").stat().st_size > 0


def test_collapse_of_a_random_linear_net():
    ag.manual_seed(1)
    model = mlp_xor_spiral.mlp(8, linear=True)
    x = np.random.default_rng(0).normal(size=(5, 2)).astype(np.float32)
    w, b = mlp_xor_spiral.collapse(model)
    with ag.no_grad():
        np.testing.assert_allclose(model(x).numpy(), x @ w + b, rtol=1e-5, atol=1e-6)
    relu = mlp_xor_spiral.mlp(8, linear=False)
    relu.load_state_dict(model.state_dict())
    with ag.no_grad():   # the same weights with ReLU between them: no longer that map
        assert np.abs(relu(x).numpy() - (x @ w + b)).max() > 1e-3
