"""Samplers, the new data sets and the DataLoader's sampler / batch_sampler / collate options."""

from collections import Counter, namedtuple

import numpy as np
import pytest

import autograd_core as ag
from autograd_core import data


def ids(loader):
    return [b[1].tolist() if isinstance(b, (tuple, list)) else b.tolist() for b in loader]


DS = data.TensorDataset(np.arange(10.0)[:, None], np.arange(10))


def test_sequential_and_random_samplers():
    assert list(data.SequentialSampler(DS)) == list(range(10)) and len(data.SequentialSampler(DS)) == 10
    g = ag.Generator().manual_seed(5)
    r = data.RandomSampler(DS, generator=g)
    first, second = list(r), list(r)
    assert sorted(first) == sorted(second) == list(range(10)) and first != second   # a new order per pass
    assert first == np.random.default_rng(5).permutation(10).tolist()               # numpy's permutation
    ag.manual_seed(3)
    a = list(data.RandomSampler(DS))
    ag.manual_seed(3)
    assert list(data.RandomSampler(DS)) == a                                        # package generator
    # more samples than the data set without replacement: whole permutations in a row
    long = list(data.RandomSampler(DS, num_samples=25, generator=g))
    assert len(long) == 25 and sorted(long[:10]) == sorted(long[10:20]) == list(range(10))
    # with replacement: uniform draws
    draws = list(data.RandomSampler(DS, replacement=True, num_samples=20000, generator=g))
    counts = np.bincount(draws, minlength=10) / 20000
    assert np.abs(counts - 0.1).max() < 0.015
    with pytest.raises(ValueError, match="num_samples must be a positive int"):
        data.RandomSampler(DS, num_samples=0)
    with pytest.raises(TypeError, match="generator must be"):
        data.RandomSampler(DS, generator=3)


def test_subset_random_and_weighted_samplers():
    g = ag.Generator().manual_seed(0)
    s = data.SubsetRandomSampler([7, 3, 5], generator=g)
    assert sorted(s) == [3, 5, 7] and len(s) == 3
    w = data.WeightedRandomSampler([1.0, 3.0, 0.0, 6.0], num_samples=30000, generator=g)
    freq = np.bincount(list(w), minlength=4) / 30000
    np.testing.assert_allclose(freq, [0.1, 0.3, 0.0, 0.6], atol=0.015)
    assert freq[2] == 0
    nr = list(data.WeightedRandomSampler(ag.tensor([1.0, 1.0, 0.0, 5.0, 2.0]), 4, replacement=False, generator=g))
    assert sorted(nr) == [0, 1, 3, 4]                 # distinct, and never the zero weight
    for bad, match in (([1.0, -1.0], "non-negative"), ([0.0, 0.0], "not all be zero"), ([[1.0]], "1-D")):
        with pytest.raises(ValueError, match=match):
            data.WeightedRandomSampler(bad, 2)
    with pytest.raises(ValueError, match="cannot draw 3 samples without replacement from 2"):
        data.WeightedRandomSampler([1.0, 0.0, 1.0], 3, replacement=False)


def test_batch_sampler():
    assert list(data.BatchSampler(data.SequentialSampler(range(7)), 3, False)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(data.BatchSampler(range(7), 3, True)) == [[0, 1, 2], [3, 4, 5]]    # any iterable of indices
    assert len(data.BatchSampler(range(7), 3, False)) == 3 and len(data.BatchSampler(range(7), 3, True)) == 2
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        data.BatchSampler(range(3), 0, False)


def test_dataloader_with_samplers_and_batch_samplers():
    assert ids(data.DataLoader(DS, batch_size=2, sampler=[9, 0, 4, 4, 7])) == [[9, 0], [4, 4], [7]]
    g = ag.Generator().manual_seed(1)
    got = ids(data.DataLoader(DS, batch_size=4, sampler=data.WeightedRandomSampler([0.0] * 5 + [1.0] * 5, 12,
                                                                                     generator=g)))
    assert [len(b) for b in got] == [4, 4, 4] and min(sum(got, [])) >= 5
    assert ids(data.DataLoader(DS, batch_sampler=[[1, 2], [8], [0, 0, 3]])) == [[1, 2], [8], [0, 0, 3]]
    dl = data.DataLoader(DS, batch_sampler=data.BatchSampler(range(10), 4, drop_last=True))
    assert len(dl) == 2 and ids(dl) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    # shuffle with a generator repeats; with the package generator, manual_seed repeats it
    a = ids(data.DataLoader(DS, 3, shuffle=True, generator=ag.Generator().manual_seed(4)))
    assert a == ids(data.DataLoader(DS, 3, shuffle=True, generator=ag.Generator().manual_seed(4)))
    assert sorted(sum(a, [])) == list(range(10))
    for kwargs, match in ((dict(sampler=[1], shuffle=True), "mutually exclusive"),
                          (dict(batch_sampler=[[1]], batch_size=2), "batch_sampler gives whole batches"),
                          (dict(batch_sampler=[[1]], drop_last=True), "batch_sampler gives whole batches"),
                          (dict(batch_size=None, drop_last=True), "drop_last needs a batch_size"),
                          (dict(prefetch_factor=2), "prefetch_factor applies to worker processes"),
                          (dict(persistent_workers=True), "persistent_workers needs num_workers > 0"),
                          (dict(num_workers=-1), "num_workers must be an int >= 0"),
                          (dict(seed=1, generator=ag.Generator()), "generator or seed")):
        with pytest.raises(ValueError, match=match):
            data.DataLoader(DS, **kwargs)
    data.DataLoader(DS, pin_memory=True, pin_memory_device="", timeout=0)   # accepted


def test_batch_size_none_yields_converted_samples():
    class Pairs(data.Dataset):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return np.full(2, i, np.float32), i

    out = list(data.DataLoader(Pairs(), batch_size=None))
    assert len(out) == 3 and isinstance(out[1][0], ag.Tensor) and out[1][0].tolist() == [1.0, 1.0] and out[1][1] == 1
    assert len(data.DataLoader(Pairs(), batch_size=None)) == 3


def test_default_collate_keeps_namedtuples_strings_and_the_default_dtype():
    P = namedtuple("P", "x name")
    batch = data.default_collate([P(1.5, "a"), P(2.5, "b")])
    assert isinstance(batch, P) and batch.name == ["a", "b"] and batch.x.dtype == np.float32
    ag.set_default_dtype(ag.float64)
    try:
        assert data.default_collate([1.5, 2.0]).dtype == np.float64
    finally:
        ag.set_default_dtype(ag.float32)


class Count(data.IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


def test_concat_chain_stack_and_iterable_datasets():
    a, b = data.TensorDataset(np.arange(3)), data.TensorDataset(np.arange(10, 15))
    c = a + b
    assert isinstance(c, data.ConcatDataset) and len(c) == 8 and c.cumulative_sizes == [3, 8]
    assert [int(c[i][0]) for i in range(8)] == [0, 1, 2, 10, 11, 12, 13, 14] and int(c[-1][0]) == 14
    with pytest.raises(IndexError, match="out of range for 8"):
        c[8]
    with pytest.raises(TypeError, match="ChainDataset"):
        data.ConcatDataset([a, Count(2)])
    ch = Count(3) + Count(2)
    assert isinstance(ch, data.ChainDataset) and list(ch) == [0, 1, 2, 0, 1] and len(ch) == 5
    assert [x.tolist() for x in data.DataLoader(ch, batch_size=2)] == [[0, 1], [2, 0], [1]]
    assert [x.tolist() for x in data.DataLoader(Count(5), batch_size=2, drop_last=True)] == [[0, 1], [2, 3]]
    assert len(data.DataLoader(Count(5), batch_size=2)) == 3
    assert list(data.DataLoader(Count(2), batch_size=None)) == [0, 1]
    with pytest.raises(ValueError, match="IterableDataset decides its own order"):
        data.DataLoader(Count(3), shuffle=True)
    with pytest.raises(ValueError, match="takes no sampler"):
        data.DataLoader(Count(3), sampler=[0])
    with pytest.raises(TypeError, match="cannot be indexed"):
        Count(3)[0]
    s = data.StackDataset(a, data.TensorDataset(np.arange(3) * 2))
    assert len(s) == 3 and [int(t[0]) for t in s[2]] == [2, 4]
    d = data.StackDataset(x=a, y=a)
    assert set(d[0]) == {"x", "y"}
    with pytest.raises(ValueError, match="different lengths"):
        data.StackDataset(a, b)


def test_random_split_with_a_generator():
    parts = data.random_split(DS, [6, 4], generator=ag.Generator().manual_seed(2))
    again = data.random_split(DS, [6, 4], generator=ag.Generator().manual_seed(2))
    assert [p.indices.tolist() for p in parts] == [p.indices.tolist() for p in again]
    assert sorted(parts[0].indices.tolist() + parts[1].indices.tolist()) == list(range(10))
    assert Counter(len(p) for p in data.random_split(DS, [0.5, 0.5])) == {5: 2}
