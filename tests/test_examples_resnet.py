"""examples/resnet_small.py: the architecture, the gradient at initialisation, and skips training faster."""

import os
import sys

import numpy as np
import pytest

import autograd_core as ag
import nn

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))
import example_utils  # noqa: E402
import resnet_small  # noqa: E402


def test_shapes_and_layers():
    ag.manual_seed(0)
    model = resnet_small.SmallResNet(blocks=3)
    x = ag.rand(2, 1, 28, 28)
    assert model.features(x).shape == (2, 32, 7, 7)           # two stages halve 28 -> 14 -> 7
    assert model(x).shape == (2, 10)
    convs = [m for name, m in model.named_modules() if isinstance(m, nn.Conv2d) and "shortcut" not in name]
    assert len(convs) + 1 == 20                                # 6 * 3 + 2 layers with weights on the main path
    plain = resnet_small.SmallResNet(blocks=3, skip=False)
    assert not any("shortcut.0" in name for name, _ in plain.named_parameters())


def test_a_block_whose_last_batch_norm_is_zero_is_the_identity():
    ag.manual_seed(0)
    block = resnet_small.Block(4, 4).eval()
    nn.init.zeros_(block.conv2[1].weight)
    nn.init.zeros_(block.conv2[1].bias)
    x = ag.rand(3, 4, 6, 6)                                    # non-negative, like a ReLU's output
    with ag.no_grad():
        np.testing.assert_array_equal(block(x).numpy(), x.numpy())


def test_gradient_is_even_across_depth_only_with_skips():
    x, y, _, _ = example_utils.fashion(64)
    spread = {}
    for skip in (True, False):
        ag.manual_seed(0)
        model = resnet_small.SmallResNet(blocks=3, skip=skip)
        norms = resnet_small.gradient_norms(model, ag.tensor(x), ag.tensor(y))
        assert len(norms) == 19
        spread[skip] = resnet_small.spread(norms)
    assert spread[True] < 2 and spread[False] > 2 * spread[True], spread


def test_skips_train_faster(tmp_path):
    res = resnet_small.main(["--samples", "256", "--test-samples", "100", "--epochs", "2", "--widths", "4", "8", "16",
                             "--out", str(tmp_path)])
    skip, plain = res["with skips"]["history"], res["without skips"]["history"]
    assert skip[-1]["loss"] < skip[0]["loss"] and plain[-1]["loss"] < plain[0]["loss"]
    assert skip[-1]["loss"] < plain[-1]["loss"] - 0.1
    assert (tmp_path / "resnet.json").stat().st_size > 0
    pytest.importorskip("matplotlib")
    assert (tmp_path / "resnet.png").stat().st_size > 0
