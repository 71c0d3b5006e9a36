"""Data sets (``torch.utils.data``'s names): map-style ones index samples, iterable ones stream them.

- ``Dataset``: ``__getitem__`` and ``__len__``; ``a + b`` is ``ConcatDataset([a, b])``.
- ``IterableDataset``: ``__iter__``; ``a + b`` is ``ChainDataset([a, b])``. With worker
  processes each worker iterates its own copy: split the work with ``get_worker_info()``.
- ``TensorDataset``, ``StackDataset``, ``Subset``, ``ConcatDataset``, ``ChainDataset``, ``random_split``.

A ``TensorDataset`` (and a ``Subset`` of one) also offers ``_get_batch(indices)``: the
``DataLoader`` then fetches a whole batch by fancy indexing instead of sample by sample.
"""

from __future__ import annotations

import bisect
import math

import numpy as np

from ..random import numpy_rng
from ..tensor import Tensor

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "StackDataset", "ConcatDataset", "ChainDataset", "Subset",
           "random_split"]


class Dataset:
    """An indexable collection of samples: subclasses define ``__getitem__`` and ``__len__``."""

    def __getitem__(self, index):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __len__(self):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __add__(self, other):
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A stream of samples: subclasses define ``__iter__`` (``__len__`` is optional)."""

    def __iter__(self):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")

    def __getitem__(self, index):
        raise TypeError(f"{type(self).__name__} is an IterableDataset: iterate over it, it cannot be indexed")

    def __len__(self):  # TypeError, as for any object without a length (list() then just iterates)
        raise TypeError(f"{type(self).__name__} is an IterableDataset without a __len__")

    def __add__(self, other):
        return ChainDataset([self, other])


def _as_array(x, what):
    if isinstance(x, Tensor):
        return x.data
    if isinstance(x, np.ndarray):
        return x
    raise TypeError(f"{what}: expected Tensors or ndarrays, got {type(x).__name__}")


class TensorDataset(Dataset):
    """Samples are rows of equally long arrays: ``dataset[i] == (a[i], b[i], ...)``.

    Parameters
    ----------
    *tensors : Tensors or ndarrays with the same first dimension
    transform : callable, optional
        Applied to the first array's rows (the inputs), one row or a whole
        batch at a time; see the transforms in ``autograd_core.data``.
    """

    def __init__(self, *tensors, transform=None):
        if not tensors:
            raise ValueError("TensorDataset: needs at least one tensor")
        arrays = [_as_array(t, "TensorDataset") for t in tensors]
        n = len(arrays[0]) if arrays[0].ndim else None
        for i, a in enumerate(arrays):
            if a.ndim == 0 or len(a) != n:
                raise ValueError(
                    f"TensorDataset: all tensors need the same first dimension (the number of samples); "
                    f"tensor 0 has shape {arrays[0].shape}, tensor {i} has shape {a.shape}")
        self.arrays = arrays
        self.transform = transform

    @property
    def tensors(self):
        return tuple(Tensor._wrap(a) for a in self.arrays)

    def __len__(self):
        return len(self.arrays[0])

    def _get(self, index):
        items = [a[index] for a in self.arrays]
        if self.transform is not None:
            items[0] = self.transform(items[0])
        return tuple(Tensor._wrap(np.asarray(x)) for x in items)

    def __getitem__(self, index):
        return self._get(index)

    def _get_batch(self, indices):
        """A whole batch by fancy indexing (what ``DataLoader`` uses with the default collate)."""
        return self._get(indices)


class StackDataset(Dataset):
    """Samples of several equally long data sets side by side: a tuple (positional) or a dict (keywords)."""

    def __init__(self, *args, **kwargs):
        if bool(args) == bool(kwargs):
            raise ValueError("StackDataset: give data sets either all positionally or all by keyword")
        parts = list(args) or list(kwargs.values())
        lengths = {len(d) for d in parts}
        if len(lengths) != 1:
            raise ValueError(f"StackDataset: the data sets have different lengths {sorted(lengths)}")
        self.datasets = tuple(args) if args else dict(kwargs)
        self._length = lengths.pop()

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __len__(self):
        return self._length


class ConcatDataset(Dataset):
    """Several map-style data sets one after another: index ``i`` of the whole is in the part where it falls."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: needs at least one data set")
        for i, d in enumerate(self.datasets):
            if isinstance(d, IterableDataset):
                raise TypeError(f"ConcatDataset: part {i} is an IterableDataset; chain streams with ChainDataset")
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets]).tolist()

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, index):
        n = len(self)
        if index < 0:
            if -index > n:
                raise IndexError(f"ConcatDataset: index {index} is out of range for {n} samples")
            index += n
        if index >= n:
            raise IndexError(f"ConcatDataset: index {index} is out of range for {n} samples")
        part = bisect.bisect_right(self.cumulative_sizes, index)
        start = self.cumulative_sizes[part - 1] if part else 0
        return self.datasets[part][index - start]


class ChainDataset(IterableDataset):
    """Several iterable data sets one after another (chained streams)."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        for i, d in enumerate(self.datasets):
            if not isinstance(d, IterableDataset):
                raise TypeError(f"ChainDataset: part {i} ({type(d).__name__}) is not an IterableDataset")

    def __iter__(self):
        for d in self.datasets:
            yield from d

    def __len__(self):
        return sum(len(d) for d in self.datasets)


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64)

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, index):
        return self.dataset[int(self.indices[index])]

    def _get_batch(self, indices):
        return self.dataset._get_batch(self.indices[indices])


def has_batches(dataset):
    """Whether ``dataset`` can hand out whole batches by fancy indexing (``Subset`` only when what it wraps can)."""
    while isinstance(dataset, Subset):
        dataset = dataset.dataset
    return hasattr(dataset, "_get_batch")


def random_split(dataset, lengths, generator=None, seed=None):
    """Split ``dataset`` into non-overlapping random ``Subset``s of the given lengths (or fractions).

    The permutation comes from ``generator``, or a generator seeded with ``seed``, or the
    package generator (``manual_seed``).
    """
    n = len(dataset)
    lengths = list(lengths)
    if all(0 <= x <= 1 for x in lengths) and math.isclose(sum(lengths), 1.0) and sum(lengths) != n:
        counts = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - sum(counts)):  # hand out the remainder round-robin
            counts[i % len(counts)] += 1
        lengths = counts
    if sum(lengths) != n:
        raise ValueError(f"random_split: the lengths {list(lengths)} sum to {sum(lengths)}, but the data set has "
                         f"{n} samples (give counts summing to {n}, or fractions summing to 1)")
    if generator is not None and seed is not None:
        raise ValueError("random_split: give generator or seed, not both")
    rng = np.random.default_rng(seed) if seed is not None else numpy_rng(generator, "random_split")
    perm = rng.permutation(n)
    out, start = [], 0
    for k in lengths:
        out.append(Subset(dataset, perm[start:start + k]))
        start += k
    return out
