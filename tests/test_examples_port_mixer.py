"""examples/port_pytorch_mixer.py: an MLP-Mixer written as a PyTorch script, ported by its imports only."""

import ast
import json
import os
import sys

import numpy as np

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "examples")
sys.path.insert(0, EXAMPLES)
import port_pytorch_mixer  # noqa: E402


def test_only_the_imports_name_autograd_core():
    with open(os.path.join(EXAMPLES, "port_pytorch_mixer.py")) as f:
        tree = ast.parse(f.read())
    imported = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names] + \
               [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    ours = sorted(m for m in imported if m.startswith("autograd_core"))
    assert ours == ["autograd_core", "autograd_core.nn", "autograd_core.nn.functional",
                    "autograd_core.optim.lr_scheduler", "autograd_core.utils.data"]
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    assert "autograd_core" not in names and {"torch", "nn", "F"} <= names


def test_it_learns_and_reloads_its_best_checkpoint(tmp_path):
    res = port_pytorch_mixer.main(["--limit", "640", "--epochs", "2", "--depth", "2", "--out", str(tmp_path)])
    losses = [h["train_loss"] for h in res["history"]]
    assert losses[1] < losses[0] < np.log(10) + 0.1          # starts near chance, then learns
    assert res["best_test_acc"] > 0.25                        # chance is 0.1
    assert res["reloaded_test_acc"] == res["best_test_acc"]   # the saved state_dict, reloaded
    assert json.loads((tmp_path / "results.json").read_text())["parameters"] == res["parameters"]


def test_the_mixer_block_shapes_and_its_layer_norms():
    import autograd_core as ag
    block = port_pytorch_mixer.MixerBlock(num_patches=5, dim=6, token_hidden=4, channel_hidden=8, dropout=0.0)
    x = ag.randn(2, 5, 6, requires_grad=True)
    y = block(x)
    assert y.shape == (2, 5, 6)
    y.sum().backward()
    assert x.grad.shape == (2, 5, 6) and block.norm1.weight.grad.shape == (6,)
