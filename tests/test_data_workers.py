"""DataLoader worker processes (num_workers=2): the same batches as in-process loading, seeds, errors with the
worker's traceback, dead and slow workers, iterable data sets split by get_worker_info, persistent workers."""

import multiprocessing
import os
import random
import signal
import time

import numpy as np
import pytest

import autograd_core as ag
from autograd_core import data
import nn.functional as F


class Squares(data.Dataset):
    """Sample i: (i as a float array, i * i); fails on the index ``bad`` with ``error``."""

    def __init__(self, n=23, bad=None, error=ValueError):
        self.n, self.bad, self.error = n, bad, error

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if i == self.bad:
            raise self.error(f"sample {i} is broken")
        return np.full(3, float(i), np.float32), i * i


class WhoAmI(data.Dataset):
    """Which process loaded a sample, with a random draw from each generator a worker seeds."""

    def __len__(self):
        return 8

    def __getitem__(self, i):
        info = data.get_worker_info()
        return (os.getpid(), -1 if info is None else info.id, float(ag.rand(1).item()), random.random(),
                float(np.random.random()))


def plain(b):
    if isinstance(b, ag.Tensor):
        return b.tolist()
    if isinstance(b, (tuple, list)):
        return tuple(plain(x) for x in b)
    return b


def batches(loader):
    return [plain(b) for b in loader]


@pytest.mark.parametrize("make", [
    lambda **k: data.DataLoader(data.TensorDataset(np.arange(50.0)[:, None], np.arange(50)), 8, shuffle=True,
                                generator=ag.Generator().manual_seed(3), **k),
    lambda **k: data.DataLoader(Squares(), 4, shuffle=True, drop_last=True, seed=1, **k),
    lambda **k: data.DataLoader(Squares(), batch_sampler=[[3, 1], [22], [0, 5, 9]], **k),
    lambda **k: data.DataLoader(Squares(), 5, collate_fn=lambda s: ag.tensor([x[1] for x in s]), **k),
    lambda **k: data.DataLoader(Squares(7), batch_size=None, **k),
], ids=["tensor-dataset", "shuffled-custom", "batch-sampler", "collate-fn", "unbatched"])
def test_workers_give_the_batches_of_in_process_loading(make):
    want = batches(make())
    for workers in (1, 2):
        got = batches(make(num_workers=workers))
        assert got == want
    assert batches(make(num_workers=2, in_order=False, prefetch_factor=1)) != [] \
        and sorted(map(repr, batches(make(num_workers=2, in_order=False)))) == sorted(map(repr, want))
    assert not multiprocessing.active_children()   # the workers are gone after the pass
    it = iter(make(num_workers=2))
    next(it)
    del it                                           # ... and after a pass left early
    assert not multiprocessing.active_children()


def test_worker_errors_surface_with_the_worker_traceback():
    with pytest.raises(ValueError, match=r"(?s)Caught ValueError in DataLoader worker process \d \(pid \d+\).*"
                                         r"in __getitem__.*sample 13 is broken"):
        list(data.DataLoader(Squares(bad=13), 4, num_workers=2))
    with pytest.raises(KeyError, match="(?s)Caught KeyError.*sample 2 is broken"):  # the type is kept
        list(data.DataLoader(Squares(bad=2, error=KeyError), 4, num_workers=2))

    def init(worker_id):
        if worker_id == 1:
            raise RuntimeError("no setup for worker 1")

    with pytest.raises(RuntimeError, match="(?s)in worker_init_fn of DataLoader worker process 1.*no setup"):
        list(data.DataLoader(Squares(), 4, num_workers=2, worker_init_fn=init))
    # a batch that cannot be pickled is reported, not waited for
    with pytest.raises(Exception, match="(?s)Caught .* in DataLoader worker process.*pickle"):
        list(data.DataLoader(Squares(), 4, num_workers=2, collate_fn=lambda s: (lambda: s)))
    assert not multiprocessing.active_children()


class Kills(data.Dataset):
    def __len__(self):
        return 10

    def __getitem__(self, i):
        if i == 6:
            os.kill(os.getpid(), signal.SIGKILL)
        return i


class Slow(data.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        time.sleep(1)
        return i


def test_dead_and_slow_workers_are_reported():
    with pytest.raises(RuntimeError, match=r"DataLoader worker \d \(pid \d+\) exited unexpectedly \(signal SIGKILL\)"):
        list(data.DataLoader(Kills(), 2, num_workers=2))
    t = time.monotonic()
    with pytest.raises(RuntimeError, match="no batch from the workers within timeout=0.3 s"):
        list(data.DataLoader(Slow(), 2, num_workers=2, timeout=0.3))
    assert time.monotonic() - t < 2.5
    assert not multiprocessing.active_children()


def test_worker_seeds_info_and_init_fn():
    calls = multiprocessing.get_context("fork").Queue()

    def init(worker_id):
        info = data.get_worker_info()
        calls.put((worker_id, info.id, info.num_workers, info.seed))

    ag.manual_seed(0)
    loader = data.DataLoader(WhoAmI(), batch_size=2, num_workers=2, worker_init_fn=init)
    first = batches(loader)
    seen = sorted(calls.get(timeout=10) for _ in range(2))
    assert [s[:3] for s in seen] == [(0, 0, 2), (1, 1, 2)] and seen[1][3] == seen[0][3] + 1
    rows = [r for b in first for r in zip(*b)]
    assert {r[1] for r in rows} == {0, 1} and os.getpid() not in {r[0] for r in rows}
    # each worker's generators start from a seed of their own: draws differ between workers
    by_worker = {w: [r for r in rows if r[1] == w] for w in (0, 1)}
    for k in (2, 3, 4):
        assert by_worker[0][0][k] != by_worker[1][0][k]
    second = batches(loader)                         # a new pass: new seeds
    assert [b[2] for b in second] != [b[2] for b in first]
    ag.manual_seed(0)                                # ... and manual_seed repeats them all
    again = batches(data.DataLoader(WhoAmI(), batch_size=2, num_workers=2))
    assert [b[2:] for b in again] == [b[2:] for b in first]
    assert data.get_worker_info() is None            # in the main process


class Stream(data.IterableDataset):
    def __init__(self, n, split):
        self.n, self.split = n, split

    def __iter__(self):
        info = data.get_worker_info()
        if not self.split or info is None:
            return iter(range(self.n))
        return iter(range(info.id, self.n, info.num_workers))   # each worker its own share


def test_iterable_datasets_stream_from_every_worker():
    got = [x.tolist() for x in data.DataLoader(Stream(11, split=True), batch_size=3, num_workers=2)]
    assert sorted(sum(got, [])) == list(range(11))
    assert got[:2] == [[0, 2, 4], [1, 3, 5]]         # batches taken from the workers in turn
    # without a split every worker streams everything, as in PyTorch
    dup = sum((x.tolist() for x in data.DataLoader(Stream(5, split=False), batch_size=2, num_workers=2)), [])
    assert sorted(dup) == sorted(list(range(5)) * 2)
    assert list(data.DataLoader(Stream(3, split=True), batch_size=None, num_workers=2)) == [0, 1, 2]


def test_persistent_workers_live_across_epochs_and_abandoned_passes():
    loader = data.DataLoader(WhoAmI(), batch_size=2, num_workers=2, persistent_workers=True)
    pids = [set(batches(loader)[0][0]) | set(batches(loader)[1][0]) for _ in range(2)]
    it = iter(loader)
    next(it)                                          # abandon this pass midway
    del it
    full = data.DataLoader(Squares(), 4, num_workers=2, persistent_workers=True)
    assert batches(full) == batches(data.DataLoader(Squares(), 4))
    first = {p for b in batches(loader) for p in b[0]}
    assert first == {p for b in batches(loader) for p in b[0]} and len(first) == 2
    assert pids[0] == pids[1]
    it = iter(full)
    next(it)
    del it
    assert batches(full) == batches(data.DataLoader(Squares(), 4))   # stale results are dropped
    del loader, full


def test_spawned_workers():
    ds = data.TensorDataset(np.arange(12.0)[:, None], np.arange(12))
    got = batches(data.DataLoader(ds, 5, num_workers=2, multiprocessing_context="spawn"))
    assert got == batches(data.DataLoader(ds, 5))


def conv_collate(samples):
    """A collate_fn that runs kernels (conv, ReLU, max pooling) in the worker."""
    x = ag.tensor(np.stack([s[0] for s in samples]))
    w = ag.tensor(np.linspace(-0.1, 0.1, 32 * 32 * 9, dtype=np.float32).reshape(32, 32, 3, 3))
    return F.max_pool2d(F.relu(F.conv2d(x, w, padding=1)), 2)


class Images(data.Dataset):
    def __len__(self):
        return 32

    def __getitem__(self, i):
        return (np.random.default_rng(i).standard_normal((32, 16, 16)).astype(np.float32),)


def test_forked_workers_run_kernels_after_the_parent_did():
    want = [b.numpy().copy() for b in data.DataLoader(Images(), 16, collate_fn=conv_collate)]   # parallel here
    got = [b.numpy() for b in data.DataLoader(Images(), 16, collate_fn=conv_collate, num_workers=2, timeout=600)]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)


def test_tensors_pickle_as_their_values():
    import copy
    import pickle

    x = ag.tensor([[1.5, -2.0]], requires_grad=True)
    for y in (pickle.loads(pickle.dumps(x)), copy.deepcopy(x)):
        assert y is not x and y.requires_grad and y.is_leaf and y.tolist() == x.tolist() and y.data is not x.data
    i = pickle.loads(pickle.dumps(ag.arange(3)))
    assert i.dtype == np.int64 and i.tolist() == [0, 1, 2]
    with pytest.raises(RuntimeError, match="non-leaf tensor that requires grad.*detach"):
        pickle.dumps(x * 2)
    assert pickle.loads(pickle.dumps((x * 2).detach())).tolist() == [[3.0, -4.0]]
