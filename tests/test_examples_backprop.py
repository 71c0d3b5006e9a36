"""examples/backprop_by_hand.py reproduces the notes' numbers.

A number the notes quote with d decimals is matched when ours rounds to it:
|ours - quoted| <= 0.5e-d. Everything runs in float64, where the rounding of
10,000 steps stays near 1e-13, far below those half-units.
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))
import backprop_by_hand  # noqa: E402


def assert_rounds_to(value, quoted):
    decimals = len(quoted.split(".")[1])
    assert abs(value - float(quoted)) <= 0.5 * 10.0 ** -decimals * (1 + 1e-9), (value, quoted)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("backprop")
    return backprop_by_hand.main(["--steps", "10000", "--notes-order", "--out", str(out)]), out


def test_forward_pass_and_total_error(run):
    res, _ = run
    for k, quoted in [("out_h1", "0.593269992"), ("out_h2", "0.596884378"), ("out_o1", "0.75136507"),
                      ("out_o2", "0.772928465"), ("total_error", "0.298371109")]:
        assert_rounds_to(res[k], quoted)


def test_autograd_gradients_equal_the_chain_rule_by_hand(run):
    res, _ = run
    auto, hand = res["grad_autograd"], res["grad_by_hand"]
    assert set(auto) == set(hand) == {f"w{i}" for i in range(1, 9)}
    for k in auto:
        assert auto[k] == pytest.approx(hand[k], rel=1e-12, abs=0), k
    assert_rounds_to(auto["w5"], "0.082167041")
    assert_rounds_to(auto["w1"], "0.000438568")


def test_weights_after_one_step(run):
    res, _ = run
    quoted = {"w1": "0.149780716", "w2": "0.19956143", "w3": "0.24975114", "w4": "0.29950229",
              "w5": "0.35891648", "w6": "0.408666186", "w7": "0.511301270", "w8": "0.561370121"}
    for k, q in quoted.items():
        assert_rounds_to(res["weights_after_one_step"][k], q)


def test_error_after_one_and_10000_steps(run):
    res, _ = run
    # faithful gradient descent: every gradient from the same weights
    assert_rounds_to(res["error_after_one_step"], "0.291027774")
    assert res["final_error"] == pytest.approx(3.5101878e-05, rel=1e-7)
    # the notes' 0.0000351085 is the error of the 10,000th forward pass (before its update)
    assert_rounds_to(res["errors"][9999], "0.0000351085")
    assert len(res["errors"]) == 10001 and res["errors"][0] == res["total_error"]
    # the notes' one-step error and final outputs: the hidden error sent back through updated w5..w8
    notes = res["notes_order"]
    assert_rounds_to(notes["error_after_one_step"], "0.291027924")
    assert_rounds_to(notes["final_outputs"][0], "0.015912196")
    assert_rounds_to(notes["final_outputs"][1], "0.984065734")


def test_writes_results(run):
    _, out = run
    assert (out / "backprop.json").stat().st_size > 0
    pytest.importorskip("matplotlib")
    assert (out / "error.png").stat().st_size > 0
