"""examples/transfer.py: frozen layers stay frozen, the head is new, the pretrained model is not touched."""

import os
import sys

import numpy as np
import pytest

import autograd_core as ag

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))
import example_utils  # noqa: E402
import transfer  # noqa: E402


def snapshot(module):
    return {k: v.numpy().copy() for k, v in module.state_dict().items()}


def test_fine_tuning_changes_only_what_is_not_frozen():
    ag.manual_seed(0)
    pretrained = example_utils.PixelLeNet5(num_classes=5)
    before = snapshot(pretrained)
    model = transfer.transferred(pretrained)
    frozen = snapshot(model.features)
    assert all(not p.requires_grad for p in model.features.parameters())
    assert all(p.requires_grad for p in model.classifier.parameters())
    head = model.classifier[-1]
    assert head.weight.shape == (5, 84)
    assert not np.array_equal(head.weight.detach().numpy(), before["classifier.5.weight"])

    x, y, _, _ = example_utils.fashion(n_train=60, classes=transfer.TARGET)
    transfer.fine_tune(model, x, y - 5, steps=5, lr=1e-2)
    after = snapshot(model)
    for k, v in frozen.items():                               # the convolutions: bit for bit
        np.testing.assert_array_equal(after["features." + k], v, err_msg=k)
    assert all(p.grad is None for p in model.features.parameters())   # no gradient was even computed
    for k in ("classifier.1.weight", "classifier.3.weight", "classifier.5.weight"):
        assert not np.array_equal(after[k], before[k]), k      # the rest did learn
    for k, v in snapshot(pretrained).items():                  # and the pretrained model is its own copy
        np.testing.assert_array_equal(v, before[k], err_msg=k)


def test_script_compares_transfer_with_scratch(tmp_path):
    res = transfer.main(["--epochs", "1", "--source-samples", "500", "--shots", "3", "--repeats", "1",
                         "--steps", "30", "--out", str(tmp_path)])
    assert res["source_test_accuracy"] > 0.5            # five classes: chance is 0.2
    (row,) = res["rows"]
    assert row["shots"] == 3 and row["frozen_layers_unchanged"]
    assert len(row["transfer"]) == len(row["scratch"]) == 1
    assert row["transfer"][0] > 0.3 and row["scratch"][0] > 0.3
    assert (tmp_path / "transfer.json").stat().st_size > 0
    pytest.importorskip("matplotlib")
    assert (tmp_path / "transfer.png").stat().st_size > 0
