"""examples/graph_pictures.py, newton.py and checkpointing.py on tiny settings.

References: the chain rule by hand (backprop_by_hand.by_hand) for the values
and gradients drawn on the 2-2-2 network, and central differences of those
hand-written gradients for the Hessian.
"""

import os
import shutil
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))
import backprop_by_hand  # noqa: E402
import checkpointing  # noqa: E402
import newton  # noqa: E402


def test_graph_pictures_show_the_chain_rule_values(tmp_path):
    pytest.importorskip("graphviz")
    import graph_pictures
    res = graph_pictures.main(["--batch", "4", "--formats", "png", "--out", str(tmp_path)])
    values, hand = backprop_by_hand.by_hand(backprop_by_hand.START)
    net = res["network_222"]
    for k in ("out_h1", "out_h2", "out_o1", "out_o2"):
        assert net["values"][k] == pytest.approx(values[k], rel=1e-14)
    assert net["values"]["E"] == pytest.approx(values["total_error"], rel=1e-14)
    for k in backprop_by_hand.NAMES:
        assert net["grads"][k] == pytest.approx(hand[k], rel=1e-12)
    # dE/dout_o1 = out_o1 - t1: the first factor of the chain rule, on the out_o1 node
    assert net["grads"]["out_o1"] == pytest.approx(values["out_o1"] - backprop_by_hand.TARGETS[0], rel=1e-12)
    dot = (tmp_path / "network_222.dot").read_text()
    assert "out_h1\\nSigmoidBackward\\n() float64\\ndata 0.5933" in dot
    assert res["lenet5"]["nodes"] == 13          # conv relu pool x2, flatten, 3 linear + 2 relu, cross-entropy
    lenet = (tmp_path / "lenet5.dot").read_text()
    assert 'subgraph "cluster_features.0"' in lenet and "features.0.weight" in lenet
    if shutil.which("dot"):
        for name in ("lenet5.png", "network_222.png"):
            assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"


def hand_hessian(w, eps=1e-6):
    """Central differences of the chain-rule-by-hand gradient: an independent 8x8 Hessian."""
    names = backprop_by_hand.NAMES

    def g(vec):
        return np.array([backprop_by_hand.by_hand(dict(zip(names, vec)))[1][k] for k in names])

    return np.stack([(g(w + eps * e) - g(w - eps * e)) / (2 * eps) for e in np.eye(8)], 1)


def test_newton_against_gradient_descent(tmp_path):
    res = newton.main(["--gd-steps", "200", "--newton-steps", "10", "--out", str(tmp_path)])
    H = hand_hessian(newton.W0)
    np.testing.assert_allclose(res["eigenvalues_start"], np.linalg.eigvalsh((H + H.T) / 2), atol=1e-8)
    assert (res["eigenvalues_start"] < -1e-3).sum() == 2        # a saddle's directions at the start
    assert res["hvp_gap"] < 1e-12
    assert res["newton"]["errors"][10] < 1e-4 < res["gd"]["errors"][200]
    assert (tmp_path / "newton.json").stat().st_size > 0


def test_checkpointing_keeps_less_and_gives_the_same_gradients(tmp_path):
    rows = checkpointing.main(["--batch", "4", "--segments", "0", "3", "--steps", "1", "--out", str(tmp_path)])
    plain, ckpt = rows
    assert ckpt["max_rel_grad_diff"] == 0.0
    assert ckpt["after_forward_bytes"] < 0.5 * plain["after_forward_bytes"]
    assert ckpt["peak_bytes"] < plain["peak_bytes"]
