"""Samplers: which indices a ``DataLoader`` loads, in which order (``torch.utils.data``'s names).

A sampler is any iterable of indices, best with a ``len()``; ``DataLoader(sampler=...)``
takes one (a ``DistributedSampler`` too), ``DataLoader(batch_sampler=...)`` an iterable
of index lists. Randomness comes from ``generator`` (an ``autograd_core.Generator`` or a
numpy Generator) or, without one, from the package generator (``manual_seed``), drawn
anew at the start of each pass.
"""

from __future__ import annotations

import numpy as np

from ..random import numpy_rng
from ..tensor import Tensor

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler",
           "BatchSampler", "DistributedSampler"]


class Sampler:
    """Base class: subclasses define ``__iter__`` (indices) and, where they can, ``__len__``.

    ``_order()`` may return the whole pass as an int64 array: ``BatchSampler`` and the
    ``DataLoader`` then slice it instead of iterating index by index.
    """

    def __init__(self, data_source=None):
        pass

    def __iter__(self):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")

    def _order(self):
        return None


def _positive_int(cls, name, v):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0:
        raise ValueError(f"{cls}: {name} must be a positive int, got {v!r}")
    return int(v)


class SequentialSampler(Sampler):
    """``0, 1, ..., len(data_source) - 1``."""

    def __init__(self, data_source):
        self.data_source = data_source

    def _order(self):
        return np.arange(len(self.data_source))

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """A random order of ``data_source``'s indices: a new permutation every pass, or, with
    ``replacement=True``, ``num_samples`` indices drawn uniformly with replacement.

    Without replacement, ``num_samples`` larger than the data set takes several permutations
    in a row (as PyTorch does).
    """

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        if not isinstance(replacement, bool):
            raise TypeError(f"RandomSampler: replacement must be a bool, got {replacement!r}")
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = None if num_samples is None else _positive_int("RandomSampler", "num_samples",
                                                                           num_samples)
        numpy_rng(generator, "RandomSampler")  # checks the type now
        self.generator = generator

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def _order(self):
        n, k = len(self.data_source), self.num_samples
        rng = numpy_rng(self.generator)
        if self.replacement:
            if n == 0:
                raise ValueError("RandomSampler: cannot draw with replacement from an empty data set")
            return rng.integers(0, n, size=k, dtype=np.int64)
        if k == n:
            return rng.permutation(n)
        parts = [rng.permutation(n) for _ in range(-(-k // n))] if n else [np.zeros(0, np.int64)]
        return np.concatenate(parts)[:k]

    def __iter__(self):
        return iter(self._order().tolist())

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given ``indices`` in a random order (a new one every pass)."""

    def __init__(self, indices, generator=None):
        self.indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        numpy_rng(generator, "SubsetRandomSampler")
        self.generator = generator

    def _order(self):
        return self.indices[numpy_rng(self.generator).permutation(len(self.indices))]

    def __iter__(self):
        return iter(self._order().tolist())

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices ``i`` drawn with probability ``weights[i] / sum(weights)``.

    With ``replacement=False`` each index appears at most once (``num_samples`` <= the number
    of non-zero weights). Typical use: oversampling rare classes, ``weights = 1 / class_count[label]``.
    """

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        cls = "WeightedRandomSampler"
        w = np.asarray(weights.data if isinstance(weights, Tensor) else weights, dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(f"{cls}: weights must be a 1-D sequence, got shape {w.shape}")
        if not np.isfinite(w).all() or (w < 0).any():
            raise ValueError(f"{cls}: weights must be finite and non-negative")
        if w.sum() <= 0:
            raise ValueError(f"{cls}: weights must not all be zero")
        if not isinstance(replacement, bool):
            raise TypeError(f"{cls}: replacement must be a bool, got {replacement!r}")
        self.num_samples = _positive_int(cls, "num_samples", num_samples)
        if not replacement and self.num_samples > np.count_nonzero(w):
            raise ValueError(f"{cls}: cannot draw {self.num_samples} samples without replacement from "
                             f"{np.count_nonzero(w)} non-zero weights")
        numpy_rng(generator, cls)
        self.weights, self.replacement, self.generator = w, replacement, generator

    def _order(self):
        p = self.weights / self.weights.sum()
        rng = numpy_rng(self.generator)
        return rng.choice(len(p), size=self.num_samples, replace=self.replacement, p=p).astype(np.int64)

    def __iter__(self):
        return iter(self._order().tolist())

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Group a sampler's indices into lists of ``batch_size`` (the last one shorter unless ``drop_last``)."""

    def __init__(self, sampler, batch_size, drop_last):
        self.sampler = sampler
        self.batch_size = _positive_int("BatchSampler", "batch_size", batch_size)
        if not isinstance(drop_last, bool):
            raise TypeError(f"BatchSampler: drop_last must be a bool, got {drop_last!r}")
        self.drop_last = drop_last

    def _arrays(self):
        """The batches as int64 arrays (slices of the sampler's whole pass when it offers one)."""
        order = self.sampler._order() if isinstance(self.sampler, Sampler) else None
        b = self.batch_size
        if order is not None:
            stop = len(order) - len(order) % b if self.drop_last else len(order)
            for start in range(0, stop, b):
                yield order[start:start + b]
            return
        batch = []
        for i in self.sampler:
            batch.append(int(i))
            if len(batch) == b:
                yield np.asarray(batch, dtype=np.int64)
                batch = []
        if batch and not self.drop_last:
            yield np.asarray(batch, dtype=np.int64)

    def __iter__(self):
        for arr in self._arrays():
            yield arr.tolist()

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


class DistributedSampler(Sampler):
    """Each rank's share of a data set, for data-parallel training (``torch.utils.data``'s semantics).

    Every rank draws the same permutation (from ``seed + epoch``), pads it by
    repeating its start up to a multiple of ``num_replicas`` (or, with
    ``drop_last``, cuts the tail), and takes every ``num_replicas``-th index
    from position ``rank``: the shards are disjoint and, together, cover the
    data set. Call ``set_epoch(epoch)`` before each epoch for a new order.

    Parameters
    ----------
    dataset : Dataset (anything with a ``len()``)
    num_replicas, rank : int, optional
        Default: ``autograd_core.distributed``'s world size and rank.
    shuffle : bool
    seed : int
        Must be the same on every rank.
    drop_last : bool
        Drop the tail so every rank gets ``len(dataset) // num_replicas`` samples
        (else the first ones are repeated so every rank gets the ceiling).
    """

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False):
        if num_replicas is None or rank is None:
            from .. import distributed as dist
            if not dist.is_initialized():
                raise RuntimeError("DistributedSampler: give num_replicas and rank, or call "
                                   "autograd_core.distributed.init_process_group() first")
            num_replicas = dist.get_world_size() if num_replicas is None else num_replicas
            rank = dist.get_rank() if rank is None else rank
        if not isinstance(num_replicas, (int, np.integer)) or num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas must be a positive int, got {num_replicas!r}")
        if not isinstance(rank, (int, np.integer)) or not 0 <= rank < num_replicas:
            raise ValueError(f"DistributedSampler: invalid rank {rank!r}; expected a rank in 0..{num_replicas - 1}")
        self.dataset = dataset
        self.num_replicas, self.rank = int(num_replicas), int(rank)
        self.shuffle, self.seed, self.drop_last = bool(shuffle), int(seed), bool(drop_last)
        self.epoch = 0
        n = len(dataset)
        if drop_last:
            self.num_samples = n // self.num_replicas
        else:
            self.num_samples = -(-n // self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def set_epoch(self, epoch):
        """Use the order of ``epoch`` (call it with the same value on every rank)."""
        self.epoch = int(epoch)

    def __len__(self):
        return self.num_samples

    def _order(self):
        n = len(self.dataset)
        if self.shuffle:
            order = np.random.default_rng(self.seed + self.epoch).permutation(n)
        else:
            order = np.arange(n)
        if self.total_size > n:  # pad by repeating the start (several times if the data set is tiny)
            order = np.resize(order, self.total_size)
        else:
            order = order[:self.total_size]
        return order[self.rank:self.total_size:self.num_replicas]

    def __iter__(self):
        return iter(self._order().tolist())
