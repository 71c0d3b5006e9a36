"""End to end: a tiny CNN learns a tiny problem; the LeNet-5 script trains, checkpoints and resumes exactly."""

import os
import sys

import numpy as np
import pytest

import autograd_core as ag
import nn
import nn.functional as F
import optim
from autograd_core import data

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))
import train_lenet5  # noqa: E402


def bars(n, rng):
    """8x8 images of one vertical (class 0) or horizontal (class 1) bar, plus noise."""
    x = rng.normal(0, 0.1, (n, 1, 8, 8)).astype(np.float32)
    y = rng.integers(0, 2, n)
    pos = rng.integers(1, 7, n)
    for i in range(n):
        if y[i] == 0:
            x[i, 0, :, pos[i]] += 1
        else:
            x[i, 0, pos[i], :] += 1
    return x, y


def test_tiny_cnn_learns_bars_to_100_percent():
    ag.manual_seed(0)
    rng = np.random.default_rng(0)
    x, y = bars(64, rng)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(4 * 4 * 4, 2))
    opt = optim.Adam(model.parameters(), lr=0.02)
    loader = data.DataLoader(data.TensorDataset(x, y), batch_size=16, shuffle=True)
    for _ in range(15):
        for xb, yb in loader:
            opt.zero_grad()
            F.cross_entropy(model(xb), yb).backward()
            opt.step()
    model.eval()
    with ag.no_grad():
        assert (model(ag.tensor(x)).argmax(1).numpy() == y).mean() == 1.0
        xt, yt = bars(200, rng)  # new images: it learnt the bars, not the samples
        assert (model(ag.tensor(xt)).argmax(1).numpy() == yt).mean() == 1.0


def _run(tmp_path, *extra):
    return train_lenet5.main(["--limit", "192", "--batch-size", "64", "--out", str(tmp_path), "--no-progress",
                              *extra])


def test_lenet5_script_trains_checkpoints_and_plots(tmp_path, capsys):
    acc = _run(tmp_path, "--epochs", "2")
    out = capsys.readouterr().out
    assert 0.0 <= acc <= 1.0 and "test accuracy" in out and "epoch 2/2" in out
    ckpt = nn.load(tmp_path / "checkpoint.npz")
    assert ckpt["epoch"] == 2 and len(ckpt["history"]["test_acc"]) == 2
    model = train_lenet5.LeNet5()
    model.load_state_dict(ckpt["model"])
    assert sum(p.numel() for p in model.parameters()) == 61706
    pytest.importorskip("matplotlib")
    assert (tmp_path / "history.png").stat().st_size > 0


def test_resume_continues_exactly(tmp_path):
    straight, split = tmp_path / "straight", tmp_path / "split"
    _run(straight, "--epochs", "2", "--no-plot")
    _run(split, "--epochs", "1", "--no-plot")
    _run(split, "--epochs", "2", "--no-plot", "--resume")
    a, b = nn.load(straight / "checkpoint.npz"), nn.load(split / "checkpoint.npz")
    for k, v in a["model"].items():
        np.testing.assert_array_equal(v.data, b["model"][k].data, err_msg=k)
    assert a["history"] == b["history"]


def test_script_works_without_tqdm_and_matplotlib(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)        # import tqdm -> ImportError
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    _run(tmp_path, "--epochs", "1", "--optimizer", "sgd")
    out = capsys.readouterr()
    assert "plot skipped: matplotlib is not installed" in out.out
    assert not (tmp_path / "history.png").exists()


def test_plain_progress_line_without_tqdm(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    train_lenet5.main(["--limit", "256", "--batch-size", "32", "--epochs", "1", "--out", str(tmp_path),
                       "--no-plot"])
    err = capsys.readouterr().err
    assert "epoch 1/1 8/8 loss" in err and "img/s" in err   # stderr is not a terminal: a line per quarter


def test_resume_refuses_a_different_optimizer(tmp_path):
    _run(tmp_path, "--epochs", "1", "--no-plot")
    with pytest.raises(train_lenet5.UsageError, match=r"--optimizer sgd \(the run used --optimizer adam\)"):
        _run(tmp_path, "--epochs", "2", "--no-plot", "--resume", "--optimizer", "sgd")
