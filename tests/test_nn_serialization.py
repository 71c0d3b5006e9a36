"""nn.save / nn.load: round trips, atomic writes (a crash keeps the old file, a killed save's temporary file is
cleaned up by the next save), refusal of bad and crafted files."""

import io
import os
import subprocess
import sys
import zipfile

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


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_KILLED_SAVE = """
import sys, time
import numpy as np
import nn
real = np.lib.format.write_array
def write_then_hang(fp, arr, *a, **k):
    real(fp, arr, *a, **k)
    print("half written", flush=True)
    time.sleep(120)
np.lib.format.write_array = write_then_hang
nn.save({"w": np.zeros(1000), "b": np.zeros(10)}, sys.argv[1])
"""


def test_a_killed_save_leaves_a_temp_file_that_the_next_save_to_that_path_removes(tmp_path):
    path = tmp_path / "ckpt.npz"
    nn.save({"w": ag.ones(2)}, path)
    # a save killed with SIGKILL mid-write: nothing in the process can clean up after it
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_SAVE, str(path)], cwd=ROOT, stdout=subprocess.PIPE)
    try:
        assert proc.stdout.readline() == b"half written\n"
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
    killed = [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]
    assert killed == [f".ckpt.npz.{killed[0].split('.')[3]}.{proc.pid}.tmp"], killed  # the naming scheme
    assert nn.load(path)["w"].tolist() == [1.0, 1.0]          # the old checkpoint is intact
    # by hand, with the same scheme: a stale file of the scheme without the pid (earlier versions), a file
    # of a save still running (its process is alive), and files that are not this path's temporary files
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        names = {"old": ".ckpt.npz.a1b2c3d4.tmp", "live": f".ckpt.npz.zz_9yy8x.{sleeper.pid}.tmp",
                 "other path": ".ckpt2.npz.a1b2c3d4.tmp", "longer name": ".ckpt.npz.5.a1b2c3d4.7.tmp",
                 "not hidden": "ckpt.npz.a1b2c3d4.tmp", "notes": "notes.txt", "other ckpt": "ckpt2.npz"}
        for name in names.values():
            (tmp_path / name).write_bytes(b"x")
        nn.save({"w": ag.zeros(2)}, path)
        left = set(os.listdir(tmp_path))
        assert killed[0] not in left and names["old"] not in left
        assert left == {"ckpt.npz"} | set(names.values()) - {names["old"]}
    finally:
        sleeper.kill()
        sleeper.wait()
    assert nn.load(path)["w"].tolist() == [0.0, 0.0]


def _npz(path, members):
    """A zip of raw ``.npy`` members (name -> bytes), as a crafted or damaged file would be."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, raw in members.items():
            zf.writestr(name + ".npy", raw)
    return path


def _npy(arr):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr)
    return buf.getvalue()


def _structure(text):
    return _npy(np.frombuffer(text.encode(), np.uint8))


_HEADER = '{"format": "autograd-core checkpoint", "version": 1, "root": '


def _huge_member():
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6)})
    return buf.getvalue() + bytes(64)


@pytest.mark.parametrize("members, message", [
    ({"__structure__": _structure(_HEADER + '{"__dict__": 5}}')}, "does not describe a checkpoint"),
    ({"__structure__": _structure(_HEADER + '{"__tensor__": ["w"]}}')}, "does not describe a checkpoint"),
    ({"__structure__": _structure(_HEADER + '{"__tuple__": 3}}')}, "does not describe a checkpoint"),
    ({"__structure__": _structure(_HEADER + "[" * 900 + "]" * 900 + "}")}, "does not describe a checkpoint"),
    ({"__structure__": _structure(_HEADER + "[" * 100000 + "]" * 100000 + "}")}, "not valid JSON"),
    ({"__structure__": _structure('{"format": "autograd-core checkpoint", "version": "2", "root": 1}')},
     "format version is '2'"),
    ({"__structure__": _npy(np.zeros(3))}, "not the bytes of a JSON document"),
    ({"w": _huge_member()}, r"claims shape \(1000000, 1000000\) of float64 \(8,000,000,000,000 bytes\)"),
    ({"w": _huge_member(), "__structure__": _structure(_HEADER + '{"__tensor__": "w"}}')}, "claims shape"),
    ({"w": b"\x93NUMPY\x09\x00"}, "not a valid .npy header"),
], ids=["dict", "key", "tuple", "deep", "deeper", "version", "structure", "huge", "huge-in-checkpoint", "header"])
def test_load_refuses_crafted_files_with_a_clear_error(tmp_path, members, message):
    path = _npz(tmp_path / "crafted.npz", members)
    with pytest.raises(ValueError, match=message):
        nn.load(path)
    with open(path, "rb") as f, pytest.raises(ValueError, match=message):   # torch.load(f) style too
        ag.load(f)


def test_load_of_a_npy_file_says_what_it_is(tmp_path):
    np.save(tmp_path / "w.npy", np.arange(3))
    with pytest.raises(ValueError, match=r"is a \.npy file .*numpy\.load"):
        nn.load(tmp_path / "w.npy")
    with pytest.raises(IsADirectoryError, match="is a directory"):
        nn.load(tmp_path)


def test_load_reads_what_numpy_writes(tmp_path):
    np.savez_compressed(tmp_path / "c.npz", w=np.arange(6.0).reshape(2, 3), f=np.asfortranarray(np.eye(2)))
    back = nn.load(tmp_path / "c.npz")
    assert back["w"].tolist() == [[0, 1, 2], [3, 4, 5]] and back["f"].tolist() == [[1, 0], [0, 1]]
