"""examples/port_pytorch_cnn.py: a PyTorch training script whose only change is its imports."""

import ast
import json
import os
import sys

import numpy as np

import autograd_core as ag

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "examples")
sys.path.insert(0, EXAMPLES)
import port_pytorch_cnn  # noqa: E402


def test_only_the_imports_name_autograd_core():
    with open(os.path.join(EXAMPLES, "port_pytorch_cnn.py")) as f:
        tree = ast.parse(f.read())
    imported = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names] + \
               [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    ours = sorted(m for m in imported if m.startswith("autograd_core"))
    assert ours == ["autograd_core", "autograd_core.nn", "autograd_core.nn.functional", "autograd_core.optim",
                    "autograd_core.optim.lr_scheduler", "autograd_core.utils.data"]
    assert not any(m.startswith(("nn", "optim")) for m in imported)
    # the code itself says torch: every use of the package goes through the names PyTorch scripts use
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    assert "autograd_core" not in names and {"torch", "nn", "F", "optim"} <= names


def run(tmp_path, *extra):
    return port_pytorch_cnn.main(["--limit", "600", "--epochs", "3", "--batch-size", "32", "--out", str(tmp_path),
                                  *extra])


def test_it_trains_with_workers_exactly_as_without(tmp_path):
    with_workers = run(tmp_path / "w", "--workers", "2")
    without = run(tmp_path / "0", "--workers", "0")
    assert [h["val_loss"] for h in with_workers["history"]] == [h["val_loss"] for h in without["history"]]
    assert with_workers["test_acc"] == without["test_acc"] > 0.5          # chance is 0.1
    losses = [h["train_loss"] for h in without["history"]]
    assert losses[-1] < losses[0]
    lrs = [h["lr"] for h in without["history"]]
    assert lrs[0] > lrs[-1] and lrs[-1] < 3e-3 / 25                        # the one-cycle schedule ran down
    saved = ag.load(tmp_path / "0" / "best_model.pt")
    assert set(saved) == set(port_pytorch_cnn.Net().state_dict())
    with open(tmp_path / "0" / "results.json") as f:
        assert json.load(f)["test_acc"] == without["test_acc"]


def test_early_stopping_stops_and_keeps_the_best_model(tmp_path):
    out = run(tmp_path, "--workers", "0", "--epochs", "6", "--patience", "2", "--min-delta", "100")
    # nothing beats the first epoch by 100: two more epochs, then stop, and test the first epoch's model
    assert len(out["history"]) == 3 and out["stopped_early"]
    assert out["best_val_loss"] == out["history"][0]["val_loss"]
    model = port_pytorch_cnn.Net()
    model.load_state_dict(ag.load(tmp_path / "best_model.pt"))
    test = port_pytorch_cnn.load_split(port_pytorch_cnn.BUNDLED, "t10k")
    loader = ag.utils.data.DataLoader(test, batch_size=1000)
    loss, acc = port_pytorch_cnn.evaluate(model, ag.device("cpu"), loader)
    assert np.isclose(loss, out["test_loss"]) and acc == out["test_acc"]
