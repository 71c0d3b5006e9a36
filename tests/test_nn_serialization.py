"""nn.save / nn.load: round trips, atomic writes (a crash keeps the old file), refusal of bad files."""

import os

import numpy as np
import pytest

import autograd_core as ag
import nn
import optim


def _model():
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))


def test_model_state_dict_round_trip(tmp_path):
    ag.manual_seed(0)
    a = _model()
    a(ag.randn(5, 3))  # move the running statistics
    path = tmp_path / "model.npz"
    nn.save(a.state_dict(), path)
    sd = nn.load(path)
    assert list(sd) == list(a.state_dict())
    assert all(isinstance(v, ag.Tensor) for v in sd.values())
    assert sd["1.num_batches_tracked"].dtype == np.int64
    b = _model()
    b.load_state_dict(sd)
    for k, v in a.state_dict().items():
        np.testing.assert_array_equal(b.state_dict()[k].data, v.data)
    # numpy reads it too, with the parameter names as keys
    with np.load(path) as z:
        np.testing.assert_array_equal(z["0.weight"], a[0].weight.data)


def test_nested_checkpoint_round_trip(tmp_path):
    m = _model()
    opt = optim.Adam(m.parameters(), lr=1e-2, betas=(0.8, 0.9))
    m(ag.randn(4, 3)).sum().backward()
    opt.step()
    ckpt = {"model": m.state_dict(), "optimizer": opt.state_dict(), "epoch": 3,
            "history": {"loss": [1.5, 0.5], "acc": [float("nan"), 0.75]}, "note": None, "pair": (1, "two")}
    nn.save(ckpt, tmp_path / "ckpt.npz")
    back = nn.load(tmp_path / "ckpt.npz")
    assert back["epoch"] == 3 and back["note"] is None and back["pair"] == (1, "two")
    assert back["history"]["loss"] == [1.5, 0.5] and np.isnan(back["history"]["acc"][0])
    assert back["optimizer"]["param_groups"][0]["betas"] == (0.8, 0.9)
    state = back["optimizer"]["state"]
    assert sorted(state) == list(range(len(list(m.parameters()))))  # int keys survive
    assert isinstance(state[0]["exp_avg"], np.ndarray) and state[0]["step"] == 1
    np.testing.assert_array_equal(state[0]["exp_avg"], opt.state[m[0].weight]["exp_avg"])


def test_crash_during_save_leaves_the_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    old = {"w": ag.ones(3, 3)}
    nn.save(old, path)
    before = path.read_bytes()
    calls = []
    real = np.lib.format.write_array

    def crash_on_second_array(fp, arr, *a, **k):
        calls.append(1)
        if len(calls) == 2:
            fp.write(b"half a checkpoint")
            raise OSError("disk full (simulated)")
        return real(fp, arr, *a, **k)

    monkeypatch.setattr(np.lib.format, "write_array", crash_on_second_array)
    with pytest.raises(OSError, match="simulated"):
        nn.save({"a": ag.zeros(100), "b": ag.zeros(100), "c": ag.zeros(2)}, path)
    monkeypatch.undo()
    assert len(calls) == 2
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["ckpt.npz"]  # no temporary file left behind
    np.testing.assert_array_equal(nn.load(path)["w"].data, np.ones((3, 3)))


def test_unsaveable_values_are_refused_before_writing(tmp_path):
    path = tmp_path / "x.npz"
    with pytest.raises(TypeError, match=r"cannot save a function \(at model/fn\)"):
        nn.save({"model": {"fn": lambda: 0}}, path)
    with pytest.raises(TypeError, match="dtype object"):
        nn.save({"a": np.array([None, 1])}, path)
    assert not path.exists()
    with pytest.raises(FileNotFoundError, match="does not exist"):
        nn.save({}, tmp_path / "no" / "dir.npz")


def test_load_refuses_missing_damaged_and_foreign_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        nn.load(tmp_path / "missing.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="not a readable .npz checkpoint"):
        nn.load(bad)
    plain = tmp_path / "plain.npz"
    np.savez(plain, w=np.arange(3.0))
    assert nn.load(plain)["w"].tolist() == [0.0, 1.0, 2.0]
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, __structure__=np.frombuffer(b'{"format": "other"}', np.uint8))
    with pytest.raises(ValueError, match="not a checkpoint written by nn.save"):
        nn.load(foreign)


def test_keys_that_would_clash_are_kept_apart(tmp_path):
    obj = {"a/b": np.zeros(1), "a": {"b": np.ones(1)}}
    nn.save(obj, tmp_path / "c.npz")
    back = nn.load(tmp_path / "c.npz")
    assert back["a/b"][0] == 0 and back["a"]["b"][0] == 1


def test_whole_models_and_optimizers_are_refused_with_the_state_dict_way(tmp_path):
    m = _model()
    opt = optim.SGD(m.parameters(), lr=0.1)
    for save in (nn.save, ag.save):
        with pytest.raises(TypeError, match=r"(?s)cannot save a whole Sequential \(at the top level\).*"
                                            r"save\(model.state_dict\(\), path\).*model.load_state_dict"):
            save(m, tmp_path / "m.pt")
    with pytest.raises(TypeError, match=r"(?s)whole SGD \(at opt\).*optimizer.state_dict\(\)"):
        ag.save({"opt": opt}, tmp_path / "m.pt")
    assert not (tmp_path / "m.pt").exists()


def test_torch_style_save_and_load(tmp_path):
    assert ag.save is nn.save and ag.load is nn.load
    m = _model()
    ag.save(m.state_dict(), tmp_path / "model.pt")          # any suffix
    for loc in (None, "cpu", ag.device("cpu"), {"cuda:0": "cpu"}):
        sd = ag.load(tmp_path / "model.pt", map_location=loc, weights_only=True)
        np.testing.assert_array_equal(sd["0.weight"].data, m[0].weight.data)
    for loc in ("cuda", ag.device("cuda", 0), {"cpu": "mps"}):
        with pytest.raises(RuntimeError, match="runs on the CPU only"):
            ag.load(tmp_path / "model.pt", map_location=loc)
    with pytest.raises(TypeError, match="map_location as a function"):
        ag.load(tmp_path / "model.pt", map_location=lambda storage, loc: storage)
    # file objects, as torch.save(obj, f) / torch.load(f)
    with open(tmp_path / "f.pt", "wb") as f:
        ag.save({"w": ag.arange(3), "n": 2}, f)
    with open(tmp_path / "f.pt", "rb") as f:
        back = ag.load(f)
    assert back["w"].tolist() == [0, 1, 2] and back["n"] == 2
