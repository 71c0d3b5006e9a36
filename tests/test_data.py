"""autograd_core.data: datasets, DataLoader, the IDX reader, Fashion-MNIST discovery, transforms."""

import gzip
import struct

import numpy as np
import pytest

import autograd_core as ag
from autograd_core import data


def write_idx(path, arr, code=0x08, compress=False):
    raw = bytes([0, 0, code, arr.ndim]) + b"".join(struct.pack(">I", s) for s in arr.shape) + arr.tobytes()
    path.write_bytes(gzip.compress(raw) if compress else raw)


# --------------------------------------------------------------------------- datasets and loading

def test_tensor_dataset_items_and_errors():
    x, y = np.arange(12.0).reshape(6, 2), np.arange(6)
    ds = data.TensorDataset(ag.tensor(x), y)
    assert len(ds) == 6
    xi, yi = ds[2]
    assert xi.tolist() == [4.0, 5.0] and yi.item() == 2
    with pytest.raises(ValueError, match=r"tensor 0 has shape \(6, 2\), tensor 1 has shape \(5,\)"):
        data.TensorDataset(x, np.arange(5))


def test_dataloader_batches_in_order():
    ds = data.TensorDataset(np.arange(10.0)[:, None], np.arange(10))
    batches = list(data.DataLoader(ds, batch_size=4))
    assert [b[1].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert batches[0][0].shape == (4, 1) and batches[0][1].dtype == np.int64
    assert len(data.DataLoader(ds, batch_size=4)) == 3
    dl = data.DataLoader(ds, batch_size=4, drop_last=True)
    assert len(dl) == 2 and [len(b[1]) for b in dl] == [4, 4]


def test_shuffle_is_seeded_and_covers_everything():
    ds = data.TensorDataset(np.arange(20))
    a = [b[0].tolist() for b in data.DataLoader(ds, 5, shuffle=True, seed=7)]
    b = [b[0].tolist() for b in data.DataLoader(ds, 5, shuffle=True, seed=7)]
    assert a == b and sorted(sum(a, [])) == list(range(20)) and sum(a, []) != list(range(20))
    dl = data.DataLoader(ds, 5, shuffle=True, seed=7)
    assert [x[0].tolist() for x in dl] != [x[0].tolist() for x in dl]  # a new order each epoch
    ag.manual_seed(1)  # without a seed, the package generator decides
    c = [b[0].tolist() for b in data.DataLoader(ds, 5, shuffle=True)]
    ag.manual_seed(1)
    assert c == [b[0].tolist() for b in data.DataLoader(ds, 5, shuffle=True)]


def test_custom_dataset_and_collate():
    class Squares(data.Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return {"x": np.full(2, float(i)), "y": i * i}

    batch = next(iter(data.DataLoader(Squares(), batch_size=3)))
    assert batch["x"].shape == (3, 2) and batch["y"].tolist() == [0, 1, 4]
    assert batch["x"].dtype == np.float64 and batch["y"].dtype == np.int64
    out = list(data.DataLoader(Squares(), batch_size=2, collate_fn=lambda s: len(s)))
    assert out == [2, 2, 1]
    with pytest.raises(TypeError, match="cannot batch samples of type object"):
        data.default_collate([object()])


def test_subset_and_random_split():
    ds = data.TensorDataset(np.arange(10))
    a, b = data.random_split(ds, [0.7, 0.3], seed=0)
    assert (len(a), len(b)) == (7, 3)
    got = sorted(sum((x[0].tolist() for x in data.DataLoader(a, 3)), []) + [int(b[i][0]) for i in range(3)])
    assert got == list(range(10))
    with pytest.raises(ValueError, match="sum to 9"):
        data.random_split(ds, [4, 5])


# --------------------------------------------------------------------------- IDX

@pytest.mark.parametrize("code, dtype", [(0x08, ">u1"), (0x09, ">i1"), (0x0B, ">i2"), (0x0C, ">i4"),
                                         (0x0D, ">f4"), (0x0E, ">f8")])
@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_round_trip(tmp_path, code, dtype, compress):
    arr = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    path = tmp_path / "a.idx"
    write_idx(path, arr, code, compress)
    got = data.read_idx(path)
    np.testing.assert_array_equal(got, arr)
    assert got.dtype.isnative and got.shape == (2, 3, 4)


def test_read_idx_errors(tmp_path):
    p = tmp_path / "x"
    p.write_bytes(b"\x00\x01\x08\x01abcd")
    with pytest.raises(ValueError, match="not an IDX file"):
        data.read_idx(p)
    write_idx(p, np.zeros((3, 4), np.uint8))
    p.write_bytes(p.read_bytes()[:-2])
    with pytest.raises(ValueError, match="holds 10 bytes of data, but its header .* needs 12"):
        data.read_idx(p)


# --------------------------------------------------------------------------- Fashion-MNIST

def _fake_fashion(d, n_train=6, n_test=4, compress=True):
    rng = np.random.default_rng(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        write_idx(d / f"{prefix}-images-idx3-ubyte{'.gz' if compress else ''}",
                  rng.integers(0, 256, (n, 28, 28)).astype(np.uint8), compress=compress)
        write_idx(d / f"{prefix}-labels-idx1-ubyte{'.gz' if compress else ''}", (np.arange(n) % 10).astype(np.uint8),
                  compress=compress)


def test_fashion_mnist_from_root_and_environment(tmp_path, monkeypatch):
    _fake_fashion(tmp_path, compress=False)
    train, test = data.fashion_mnist(tmp_path)
    assert (len(train), len(test)) == (6, 4)
    x, y = train[1]
    assert x.shape == (1, 28, 28) and x.dtype == np.float32 and 0 <= x.data.min() and x.data.max() <= 1
    assert y.item() == 1
    monkeypatch.setenv("FASHION_MNIST_DIR", str(tmp_path))
    assert len(data.fashion_mnist().train) == 6


def test_fashion_mnist_missing_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.delenv("FASHION_MNIST_DIR", raising=False)
    with pytest.raises(FileNotFoundError) as e:
        data.fashion_mnist(tmp_path)
    msg = str(e.value)
    assert str(tmp_path) in msg and "apt install dataset-fashion-mnist" in msg
    assert "train-images-idx3-ubyte" in msg and "FASHION_MNIST_DIR" in msg and "fashion_mnist_small()" in msg


def test_fashion_mnist_rejects_damaged_files(tmp_path):
    _fake_fashion(tmp_path)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.full(4, 12, np.uint8), compress=True)
    with pytest.raises(ValueError, match="holds label 12"):
        data.fashion_mnist(tmp_path)


def test_bundled_sample():
    train, test = data.fashion_mnist_small()
    assert (len(train), len(test)) == (5000, 1000)
    assert np.bincount(train.arrays[1]).tolist() == [500] * 10
    assert np.bincount(test.arrays[1]).tolist() == [100] * 10
    x, y = next(iter(data.DataLoader(train, batch_size=64)))
    assert x.shape == (64, 1, 28, 28) and x.dtype == np.float32 and y.dtype == np.int64
    assert 0.2 < float(x.data.mean()) < 0.4   # Fashion-MNIST's mean pixel is about 0.29


# --------------------------------------------------------------------------- transforms

def test_to_float_and_normalize():
    img = np.array([[[0, 255], [51, 102]]], dtype=np.uint8)
    f = data.ToFloat()(img)
    np.testing.assert_allclose(f, [[[0, 1], [0.2, 0.4]]], rtol=1e-6)
    assert f.dtype == np.float32
    norm = data.Normalize([0.5], [0.25])
    np.testing.assert_allclose(norm(f), (f - 0.5) / 0.25, rtol=1e-6)
    batch = np.ones((2, 3, 2, 2), np.float32)
    out = data.Normalize([1.0, 0.0, 0.5], [1.0, 2.0, 0.5])(ag.tensor(batch))
    assert isinstance(out, ag.Tensor)
    np.testing.assert_allclose(out.data[0, :, 0, 0], [0.0, 0.5, 1.0])
    with pytest.raises(TypeError, match="ToFloat"):
        norm(img)


def test_random_flip_per_image_and_seeded():
    batch = np.arange(4 * 1 * 2 * 3, dtype=np.float32).reshape(4, 1, 2, 3)
    out = data.RandomHorizontalFlip(0.5, seed=3)(batch)
    flipped = [np.array_equal(o, b[..., ::-1]) for o, b in zip(out, batch)]
    kept = [np.array_equal(o, b) for o, b in zip(out, batch)]
    assert all(f or k for f, k in zip(flipped, kept)) and any(flipped) and any(kept)
    np.testing.assert_array_equal(out, data.RandomHorizontalFlip(0.5, seed=3)(batch))
    np.testing.assert_array_equal(data.RandomHorizontalFlip(1.0)(batch[0]), batch[0][..., ::-1])


def test_random_crop_with_padding():
    img = np.arange(16, dtype=np.float32).reshape(1, 4, 4)
    crop = data.RandomCrop(4, padding=1, seed=0)
    seen = set()
    for _ in range(40):
        out = crop(img)
        assert out.shape == (1, 4, 4)
        padded = np.pad(img, ((0, 0), (1, 1), (1, 1)))
        matches = [(i, j) for i in range(3) for j in range(3) if np.array_equal(out, padded[:, i:i + 4, j:j + 4])]
        assert matches
        seen.update(matches)
    assert len(seen) > 3
    batch = np.stack([img + 100 * k for k in range(5)])
    out = crop(batch)
    assert out.shape == (5, 1, 4, 4)
    for k in range(5):  # each image cropped from itself
        padded = np.pad(batch[k], ((0, 0), (1, 1), (1, 1)))
        assert any(np.array_equal(out[k], padded[:, i:i + 4, j:j + 4]) for i in range(3) for j in range(3))
    with pytest.raises(ValueError, match="larger than"):
        data.RandomCrop(6)(img)


def test_gaussian_noise_and_compose_in_a_dataset():
    x = np.zeros((2000, 1, 2, 2), np.float32)
    noisy = data.GaussianNoise(std=0.5, seed=1)(x)
    assert abs(noisy.std() - 0.5) < 0.02 and noisy.dtype == np.float32
    t = data.Compose([data.ToFloat(), data.Lambda(lambda a: a * 2), data.GaussianNoise(0.0)])
    ds = data.TensorDataset(np.full((3, 1, 2, 2), 255, np.uint8), np.arange(3), transform=t)
    np.testing.assert_allclose(ds[0][0].data, 2.0)
    batch = next(iter(data.DataLoader(ds, batch_size=3)))
    np.testing.assert_allclose(batch[0].data, 2.0)
    ag.manual_seed(4)
    a = data.GaussianNoise(0.1)(x[:3])
    ag.manual_seed(4)
    np.testing.assert_array_equal(a, data.GaussianNoise(0.1)(x[:3]))
