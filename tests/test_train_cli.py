"""examples/train_lenet5.py as a command line: --resume with changed settings, user mistakes as one line and exit
status 2, Ctrl-C as 130 with nothing partial saved, --out checked before training (issue 11)."""

import os
import re
import shutil
import sys

import numpy as np
import pytest

import nn
from test_data import _fake_fashion

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))
import train_lenet5  # noqa: E402

SMALL = ["--limit", "128", "--batch-size", "64", "--no-progress", "--no-plot"]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A 1-epoch run on 128 images with lr 0.002 (not the default), as train_lenet5.py leaves it."""
    out = tmp_path_factory.mktemp("run") / "run"
    train_lenet5.main([*SMALL, "--epochs", "1", "--lr", "0.002", "--out", str(out)])
    return out


@pytest.fixture
def run(finished_run, tmp_path):
    """A copy of the finished run, to resume (or break)."""
    out = tmp_path / "run"
    shutil.copytree(finished_run, out)
    return out


def _no_training(monkeypatch):
    def fail(*a, **k):
        raise AssertionError("it trained")
    monkeypatch.setattr(train_lenet5, "train_epoch", fail)


def _error_line(capsys, status, code):
    assert status == code
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def test_resume_continues_at_the_runs_learning_rate_and_says_which(run, capsys):
    train_lenet5.main(["--resume", "--epochs", "2", "--out", str(run), "--no-progress", "--no-plot"])
    out = capsys.readouterr().out
    assert "adam lr=0.002, batch 64, epochs 2-2" in out and "128 training" in out   # the run's settings, not defaults
    assert nn.load(run / "checkpoint.npz")["optimizer"]["param_groups"][0]["lr"] == 0.002


def test_resume_applies_a_new_learning_rate_and_says_so(run, capsys):
    train_lenet5.main(["--resume", "--epochs", "2", "--lr", "0.05", "--weight-decay", "0.01", "--out", str(run),
                       "--no-progress", "--no-plot"])
    out = capsys.readouterr().out
    assert "--lr 0.05 from the command line replaces the run's 0.002" in out
    assert "--weight-decay 0.01 from the command line replaces the run's 0" in out
    assert "adam lr=0.05" in out
    ckpt = nn.load(run / "checkpoint.npz")
    assert ckpt["optimizer"]["param_groups"][0]["lr"] == 0.05 and ckpt["config"]["lr"] == 0.05
    assert ckpt["optimizer"]["param_groups"][0]["weight_decay"] == 0.01


@pytest.mark.parametrize("extra, message", [
    (["--batch-size", "32"], r"--batch-size 32 \(the run used --batch-size 64\)"),
    (["--limit", "100"], r"--limit 100 \(the run used --limit 128\)"),
    (["--optimizer", "sgd"], r"--optimizer sgd \(the run used --optimizer adam\)"),
    (["--augment"], r"--augment \(the run used no --augment\)"),
    (["--seed", "3"], r"--seed 3 \(the run used --seed 0\)"),
])
def test_resume_refuses_other_settings(run, capsys, monkeypatch, extra, message):
    _no_training(monkeypatch)
    err = _error_line(capsys, train_lenet5.cli(["--resume", "--epochs", "3", "--out", str(run), *extra]), 2)
    assert err.startswith("train_lenet5.py: error: --resume: the run in") and "start a new run with another --out" in err
    assert re.search(message, err), err
    assert nn.load(run / "checkpoint.npz")["epoch"] == 1


def test_resume_refuses_other_data(run, capsys, monkeypatch, tmp_path):
    _no_training(monkeypatch)
    fake = tmp_path / "fashion"
    fake.mkdir()
    _fake_fashion(fake, n_train=200, n_test=150)
    err = _error_line(capsys, train_lenet5.cli(["--resume", "--epochs", "3", "--out", str(run), "--data", str(fake)]),
                      2)
    assert "was trained on other data (128 training and 128 test images, the bundled sample)" in err
    assert f"loads 128 and 128 (--data {fake})" in err


def test_resume_past_the_end_says_the_run_is_done(run, capsys, monkeypatch):
    _no_training(monkeypatch)
    assert train_lenet5.cli(["--resume", "--out", str(run)]) == 0          # its own --epochs: 1, done
    assert train_lenet5.cli(["--resume", "--epochs", "1", "--out", str(run)]) == 0
    out = capsys.readouterr().out
    assert out.count("nothing to do: the run in") == 2 and "already done (its checkpoint is at epoch 1" in out
    assert "epochs 2-1" not in out


@pytest.mark.parametrize("case", ["missing checkpoint", "foreign", "garbage", "npy", "other model", "missing data",
                                  "data without the files", "out is a file", "checkpoint is a directory"])
def test_user_mistakes_are_one_line_and_exit_status_2(run, tmp_path, capsys, monkeypatch, case):
    _no_training(monkeypatch)
    ckpt = run / "checkpoint.npz"
    argv = ["--resume", "--epochs", "3", "--out", str(run)]
    want = {"missing checkpoint": "--resume: no checkpoint at", "foreign": "is not a checkpoint of train_lenet5.py",
            "garbage": "is not a readable checkpoint", "npy": "is a .npy file",
            "other model": "does not fit this LeNet-5", "missing data": "--data /no/such/dir: no such directory",
            "data without the files": "the Fashion-MNIST files were not found in",
            "out is a file": "cannot write there", "checkpoint is a directory": "is a directory"}[case]
    if case == "missing checkpoint":
        argv[-1] = str(tmp_path / "elsewhere")
    elif case == "foreign":
        np.savez(ckpt, w=np.zeros(3))
    elif case == "garbage":
        ckpt.write_bytes(b"\x00garbage" * 100)
    elif case == "npy":
        ckpt.unlink()
        np.save(ckpt, np.zeros(3))
        os.replace(str(ckpt) + ".npy", ckpt)
    elif case == "other model":
        state = nn.load(ckpt)
        state["model"]["features.0.weight"] = np.zeros((3, 1, 5, 5), np.float32)
        nn.save(state, ckpt)
    elif case == "missing data":
        argv = ["--data", "/no/such/dir", "--out", str(tmp_path / "new")]
    elif case == "data without the files":
        (tmp_path / "empty").mkdir()
        argv = ["--data", str(tmp_path / "empty"), "--out", str(tmp_path / "new")]
    elif case == "out is a file":
        (tmp_path / "file").write_text("x")
        argv = ["--out", str(tmp_path / "file" / "sub")]
    elif case == "checkpoint is a directory":
        (tmp_path / "new" / "checkpoint.npz").mkdir(parents=True)
        argv = ["--out", str(tmp_path / "new")]
    err = _error_line(capsys, train_lenet5.cli(argv), 2)
    assert err.startswith("train_lenet5.py: error: ") and want in err, err


def test_an_unwritable_out_fails_before_loading_data_or_training(tmp_path, capsys, monkeypatch):
    _no_training(monkeypatch)
    monkeypatch.setattr(train_lenet5, "load_data", lambda args: pytest.fail("it loaded the data first"))
    (tmp_path / "file").write_text("x")
    err = _error_line(capsys, train_lenet5.cli(["--out", str(tmp_path / "file" / "run")]), 2)
    assert "--out" in err


@pytest.mark.parametrize("option", ["--limit", "--epochs", "--batch-size"])
def test_zero_counts_are_refused(option, capsys):
    with pytest.raises(SystemExit) as e:
        train_lenet5.parse_args([option, "0"])
    assert e.value.code == 2 and f"argument {option}: must be at least 1, got 0" in capsys.readouterr().err


def test_ctrl_c_exits_130_and_saves_nothing_of_the_unfinished_epoch(run, capsys, monkeypatch):
    real = train_lenet5.train_epoch
    calls = []

    def interrupted_in_epoch_3(*a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(train_lenet5, "train_epoch", interrupted_in_epoch_3)
    before = nn.load(run / "checkpoint.npz")["epoch"]
    status = train_lenet5.cli(["--resume", "--epochs", "4", "--out", str(run), "--no-progress", "--no-plot"])
    err = capsys.readouterr().err
    assert status == 130 and "interrupted: nothing of the unfinished epoch was saved" in err and "Traceback" not in err
    assert before == 1 and nn.load(run / "checkpoint.npz")["epoch"] == 2       # epoch 2 finished, 3 did not
    assert sorted(os.listdir(run)) == ["checkpoint.npz"]


def test_ctrl_c_while_saving_keeps_the_last_checkpoint_whole(run, capsys, monkeypatch):
    def interrupt(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(np.lib.format, "write_array", interrupt)
    status = train_lenet5.cli(["--resume", "--epochs", "2", "--out", str(run), "--no-progress", "--no-plot"])
    monkeypatch.undo()
    assert status == 130
    assert nn.load(run / "checkpoint.npz")["epoch"] == 1 and sorted(os.listdir(run)) == ["checkpoint.npz"]
