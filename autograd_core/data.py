"""Data sets, batching, MNIST-format files and augmentation.

- ``Dataset``, ``TensorDataset``, ``Subset``, ``random_split``: indexable collections of samples.
- ``DataLoader``: batches (shuffled with the package generator or its own seed, or in a
  ``sampler``'s order), ``drop_last``, ``collate_fn``. A ``TensorDataset`` is batched by
  fancy indexing, whole batches at once, not sample by sample.
- ``DistributedSampler``: each rank's share of a data set for data-parallel training.
- ``read_idx``: the IDX format of MNIST and Fashion-MNIST (gzipped or not).
- ``fashion_mnist(root=None)``: the full data set from ``root``, ``$FASHION_MNIST_DIR`` or
  where Debian's ``dataset-fashion-mnist`` installs it; ``fashion_mnist_small()``: the
  5,000 + 1,000 images bundled with the package.
- Transforms (``Compose``, ``ToFloat``, ``Normalize``, ``RandomHorizontalFlip``,
  ``RandomCrop``, ``GaussianNoise``, ``Lambda``) work on one image ``(C, H, W)``
  or a batch ``(N, C, H, W)``, drawing randomness per image from
  ``autograd_core.random.get_rng()`` (or their own ``seed``).
"""

from __future__ import annotations

import gzip
import math
import os
from collections import namedtuple

import numpy as np

from .tensor import Tensor
from . import random as _random

__all__ = ["Dataset", "TensorDataset", "Subset", "random_split", "DataLoader", "DistributedSampler",
           "default_collate", "read_idx",
           "fashion_mnist", "fashion_mnist_small", "FASHION_MNIST_CLASSES", "Compose", "ToFloat", "Normalize",
           "RandomHorizontalFlip", "RandomCrop", "GaussianNoise", "Lambda"]


# --------------------------------------------------------------------------- data sets

class Dataset:
    """An indexable collection of samples: subclasses define ``__getitem__`` and ``__len__``."""

    def __getitem__(self, index):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __len__(self):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must define __len__")


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
        batch at a time; see the transforms in this module.
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


# Subset only offers fast batches when the data set under it does
def _has_batches(dataset):
    while isinstance(dataset, Subset):
        dataset = dataset.dataset
    return hasattr(dataset, "_get_batch")


def random_split(dataset, lengths, seed=None):
    """Split ``dataset`` into non-overlapping random ``Subset``s of the given lengths (or fractions)."""
    n = len(dataset)
    if all(0 <= x <= 1 for x in lengths) and math.isclose(sum(lengths), 1.0) and sum(lengths) != n:
        counts = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - sum(counts)):  # hand out the remainder round-robin
            counts[i % len(counts)] += 1
        lengths = counts
    if sum(lengths) != n:
        raise ValueError(f"random_split: the lengths {list(lengths)} sum to {sum(lengths)}, but the data set has "
                         f"{n} samples (give counts summing to {n}, or fractions summing to 1)")
    rng = _random.get_rng() if seed is None else np.random.default_rng(seed)
    perm = rng.permutation(n)
    out, start = [], 0
    for k in lengths:
        out.append(Subset(dataset, perm[start:start + k]))
        start += k
    return out


# --------------------------------------------------------------------------- batching

def default_collate(samples):
    """Stack a list of samples into a batch: arrays and numbers to Tensors, recursing into tuples and dicts."""
    first = samples[0]
    if isinstance(first, (Tensor, np.ndarray)):
        return Tensor._wrap(np.stack([s.data if isinstance(s, Tensor) else s for s in samples]))
    if isinstance(first, (bool, np.bool_)):
        return Tensor._wrap(np.asarray(samples, dtype=np.bool_))
    if isinstance(first, (int, np.integer)):
        return Tensor._wrap(np.asarray(samples, dtype=np.int64))
    if isinstance(first, (float, np.floating)):
        return Tensor._wrap(np.asarray(samples, dtype=np.float32 if isinstance(first, float) else first.dtype))
    if isinstance(first, dict):
        return {k: default_collate([s[k] for s in samples]) for k in first}
    if isinstance(first, (tuple, list)):
        n = len(first)
        if any(len(s) != n for s in samples):
            raise ValueError("default_collate: samples of one batch have different lengths")
        cols = [default_collate(list(c)) for c in zip(*samples)]
        return tuple(cols) if isinstance(first, tuple) else cols
    raise TypeError(f"default_collate: cannot batch samples of type {type(first).__name__}; "
                    "pass a collate_fn that can")


class DataLoader:
    """Iterate over a data set in batches.

    Parameters
    ----------
    dataset : Dataset
    batch_size : int
    shuffle : bool
        A new random order every epoch, from ``autograd_core.random.get_rng()``
        (so ``manual_seed`` repeats it), or from a generator seeded with ``seed``.
    drop_last : bool
        Drop the last batch if it is smaller than ``batch_size``.
    collate_fn : callable, optional
        Turns a list of samples into a batch (default: ``default_collate``).
        Without one, a ``TensorDataset`` (or a ``Subset`` of one) is batched by
        fancy indexing, which is much faster than sample by sample.
    seed : int, optional
    sampler : iterable of int, optional
        The indices to load, in order, e.g. a ``DistributedSampler`` (then
        ``shuffle`` must be False: the sampler decides the order). It needs a
        ``len()``; it is iterated anew every epoch.
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, collate_fn=None, seed=None,
                 sampler=None):
        if not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
            raise ValueError(f"DataLoader: batch_size must be a positive int, got {batch_size!r}")
        if sampler is not None:
            if shuffle:
                raise ValueError("DataLoader: sampler and shuffle=True are mutually exclusive (the sampler decides "
                                 "the order; a DistributedSampler shuffles itself with shuffle=True)")
            if not hasattr(sampler, "__iter__") or not hasattr(sampler, "__len__"):
                raise TypeError(f"DataLoader: sampler must be an iterable of indices with a len(), got "
                                f"{type(sampler).__name__}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.collate_fn = collate_fn
        self.sampler = sampler
        self._rng = np.random.default_rng(seed) if seed is not None else None

    def __len__(self):
        n = len(self.dataset) if self.sampler is None else len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self):
        if self.sampler is not None:
            order = np.fromiter(iter(self.sampler), dtype=np.int64)
        elif self.shuffle:
            order = (self._rng or _random.get_rng()).permutation(len(self.dataset))
        else:
            order = np.arange(len(self.dataset))
        n = len(order)
        fast = self.collate_fn is None and _has_batches(self.dataset)
        collate = self.collate_fn or default_collate
        stop = n - n % self.batch_size if self.drop_last else n
        for start in range(0, stop, self.batch_size):
            idx = order[start:start + self.batch_size]
            if fast:
                yield self.dataset._get_batch(idx)
            else:
                yield collate([self.dataset[int(i)] for i in idx])


class DistributedSampler:
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
            from . import distributed as dist
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

    def __iter__(self):
        n = len(self.dataset)
        if self.shuffle:
            order = np.random.default_rng(self.seed + self.epoch).permutation(n)
        else:
            order = np.arange(n)
        if self.total_size > n:  # pad by repeating the start (several times if the data set is tiny)
            order = np.resize(order, self.total_size)
        else:
            order = order[:self.total_size]
        return iter(order[self.rank:self.total_size:self.num_replicas].tolist())


# --------------------------------------------------------------------------- IDX files

_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path):
    """Read an IDX file (the MNIST format), gzipped or not, into an ndarray.

    The header is two zero bytes, a type code (0x08 uint8, 0x09 int8, 0x0B
    int16, 0x0C int32, 0x0D float32, 0x0E float64), the number of dimensions,
    then each dimension as a big-endian uint32; the values follow, big-endian.
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise ValueError(f"read_idx: {path!r} is a damaged gzip file ({e})") from e
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise ValueError(f"read_idx: {path!r} is not an IDX file (header bytes {raw[:4].hex()}; expected 00 00, a "
                         "type code in 08 09 0b 0c 0d 0e, and the number of dimensions)")
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    ndim = raw[3]
    start = 4 + 4 * ndim
    if len(raw) < start:
        raise ValueError(f"read_idx: {path!r} is truncated inside its header")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    need = int(np.prod(dims)) * dtype.itemsize
    if len(raw) - start != need:
        raise ValueError(f"read_idx: {path!r} holds {len(raw) - start} bytes of data, but its header (shape {dims}, "
                         f"{dtype.itemsize}-byte values) needs {need}: the file is truncated or damaged")
    return np.frombuffer(raw, dtype=dtype, offset=start).reshape(dims).astype(dtype.newbyteorder("="))


# --------------------------------------------------------------------------- Fashion-MNIST

FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                         "Ankle boot")
_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
ENV_VAR = "FASHION_MNIST_DIR"
DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"
BUNDLED_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "datasets", "fashion-mnist-small")

FashionMNIST = namedtuple("FashionMNIST", ["train", "test"])


def _find(directory):
    """The four files' paths in ``directory`` (plain or .gz), or None if any is missing."""
    found = []
    for name in _FILES:
        for candidate in (name, name + ".gz"):
            p = os.path.join(directory, candidate)
            if os.path.isfile(p):
                found.append(p)
                break
        else:
            return None
    return found


def _load_pair(images_path, labels_path):
    images = read_idx(images_path)
    labels = read_idx(labels_path)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels) or images.dtype != np.uint8:
        raise ValueError(f"fashion_mnist: {images_path!r} and {labels_path!r} do not hold N uint8 images and N "
                         f"labels (got {images.dtype} {images.shape} and {labels.shape})")
    if labels.size and labels.max() >= 10:
        raise ValueError(f"fashion_mnist: {labels_path!r} holds label {labels.max()}; expected 0..9")
    return images[:, None], labels.astype(np.int64)


def _datasets(paths, transform, test_transform):
    """TensorDatasets of uint8 images ``(N, 1, 28, 28)`` (made float in [0, 1] by ``ToFloat``) and int64 labels."""
    tr_x, tr_y = _load_pair(paths[0], paths[1])
    te_x, te_y = _load_pair(paths[2], paths[3])
    to_float = ToFloat()
    train_t = to_float if transform is None else Compose([to_float, transform])
    test_t = to_float if test_transform is None else Compose([to_float, test_transform])
    return FashionMNIST(TensorDataset(tr_x, tr_y, transform=train_t), TensorDataset(te_x, te_y, transform=test_t))


def fashion_mnist(root=None, transform=None, test_transform=None):
    """The full Fashion-MNIST (60,000 training and 10,000 test images of 10 kinds of clothing).

    Looks for ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte`` (each maybe ``.gz``)
    in ``root`` if given, else in ``$FASHION_MNIST_DIR`` if set, else in
    ``/usr/share/datasets/fashion-mnist`` (Debian's ``dataset-fashion-mnist``).

    Parameters
    ----------
    root : str, optional
    transform, test_transform : callable, optional
        Applied after the conversion to float in [0, 1], to training and test
        images respectively (e.g. ``Normalize``, augmentation for training).

    Returns
    -------
    ``(train, test)`` : TensorDatasets yielding ``(image (1, 28, 28) float32, label int64)``
    """
    if root is not None:
        places = [os.fspath(root)]
    elif os.environ.get(ENV_VAR):
        places = [os.environ[ENV_VAR]]
    else:
        places = [DEBIAN_DIR]
    for place in places:
        paths = _find(place)
        if paths is not None:
            return _datasets(paths, transform, test_transform)
    raise FileNotFoundError(
        f"fashion_mnist: the Fashion-MNIST files were not found in {' or '.join(repr(p) for p in places)}.\n"
        f"It needs these four files (gzipped or not): {', '.join(_FILES)}.\nTo get them, either\n"
        f"  - on Debian/Ubuntu: sudo apt install dataset-fashion-mnist   (installs them in {DEBIAN_DIR}), or\n"
        "  - download train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and\n"
        "    t10k-labels-idx1-ubyte.gz from https://github.com/zalandoresearch/fashion-mnist (folder data/fashion)\n"
        f"    into a directory, and pass it as root=... or set {ENV_VAR}=/that/directory.\n"
        "For a quick start without any download, fashion_mnist_small() loads the 6,000 images bundled with the "
        "package.")


def fashion_mnist_small(transform=None, test_transform=None):
    """The Fashion-MNIST sample bundled with the package: 5,000 training and 1,000 test images.

    The first 500 training and first 100 test images of each class of the
    full set, in their original order. Same return value as ``fashion_mnist``.
    """
    paths = _find(BUNDLED_DIR)
    if paths is None:
        raise FileNotFoundError(f"fashion_mnist_small: the bundled files are missing from {BUNDLED_DIR!r}; "
                                "reinstall the package")
    return _datasets(paths, transform, test_transform)


# --------------------------------------------------------------------------- transforms

def _arr_in(x):
    return (x.data, True) if isinstance(x, Tensor) else (np.asarray(x), False)


def _out(a, was_tensor):
    return Tensor._wrap(a) if was_tensor else a


def _check_image(a, what):
    if a.ndim not in (2, 3, 4):
        raise ValueError(f"{what}: expected an image (H, W) or (C, H, W), or a batch (N, C, H, W); got shape "
                         f"{a.shape}")


class Compose:
    """Apply transforms in order."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self):
        return "Compose(" + ", ".join(repr(t) for t in self.transforms) + ")"


class ToFloat:
    """Integer images (e.g. uint8 in 0..255) to floats: ``x * scale`` as ``dtype`` (default: [0, 1] float32)."""

    def __init__(self, scale=1 / 255, dtype=np.float32):
        self.scale = scale
        self.dtype = np.dtype(dtype)

    def __call__(self, x):
        a, t = _arr_in(x)
        out = a.astype(self.dtype)
        out *= self.dtype.type(self.scale)
        return _out(out, t)

    def __repr__(self):
        return f"ToFloat(scale={self.scale:.6g}, dtype={self.dtype.name})"


class Normalize:
    """``(x - mean) / std`` per channel (channel dimension -3, or a single value for all)."""

    def __init__(self, mean, std):
        self.mean = np.asarray(mean, dtype=np.float64)
        self.std = np.asarray(std, dtype=np.float64)
        if (self.std == 0).any():
            raise ValueError(f"Normalize: std must be non-zero, got {std}")

    def __call__(self, x):
        a, t = _arr_in(x)
        _check_image(a, "Normalize")
        if a.dtype.kind != "f":
            raise TypeError(f"Normalize: expects float images, got dtype {a.dtype}; convert with ToFloat() first")
        shape = (-1, 1, 1) if self.mean.ndim else ()
        mean = self.mean.reshape(shape).astype(a.dtype)
        inv = (1 / self.std).reshape(shape).astype(a.dtype)
        return _out((a - mean) * inv, t)

    def __repr__(self):
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"


class _Random:
    def __init__(self, seed):
        self.seed = seed
        self._rng = np.random.default_rng(seed) if seed is not None else None

    @property
    def rng(self):
        return self._rng or _random.get_rng()


class RandomHorizontalFlip(_Random):
    """Mirror each image left-right with probability ``p``."""

    def __init__(self, p=0.5, seed=None):
        super().__init__(seed)
        if not 0 <= p <= 1:
            raise ValueError(f"RandomHorizontalFlip: p must be in [0, 1], got {p}")
        self.p = p

    def __call__(self, x):
        a, t = _arr_in(x)
        _check_image(a, "RandomHorizontalFlip")
        if a.ndim < 4:
            return _out(a[..., ::-1].copy() if self.rng.random() < self.p else a, t)
        flip = self.rng.random(len(a)) < self.p
        out = a.copy()
        out[flip] = a[flip][..., ::-1]
        return _out(out, t)

    def __repr__(self):
        return f"RandomHorizontalFlip(p={self.p})"


class RandomCrop(_Random):
    """A random ``size`` window of each image, after padding each side with ``padding`` pixels of ``fill``."""

    def __init__(self, size, padding=0, fill=0, seed=None):
        super().__init__(seed)
        self.size = (size, size) if isinstance(size, int) else tuple(size)
        self.padding = padding
        self.fill = fill

    def __call__(self, x):
        a, t = _arr_in(x)
        _check_image(a, "RandomCrop")
        p = self.padding
        if p:
            a = np.pad(a, [(0, 0)] * (a.ndim - 2) + [(p, p), (p, p)], constant_values=self.fill)
        h, w = self.size
        H, W = a.shape[-2:]
        if h > H or w > W:
            raise ValueError(f"RandomCrop: crop size {self.size} is larger than the (padded) image {(H, W)}")
        if a.ndim < 4:
            i, j = self.rng.integers(0, H - h + 1), self.rng.integers(0, W - w + 1)
            return _out(a[..., i:i + h, j:j + w].copy(), t)
        n = len(a)
        rows = self.rng.integers(0, H - h + 1, n)[:, None] + np.arange(h)
        cols = self.rng.integers(0, W - w + 1, n)[:, None] + np.arange(w)
        out = a[np.arange(n)[:, None, None, None], np.arange(a.shape[1])[None, :, None, None],
                rows[:, None, :, None], cols[:, None, None, :]]
        return _out(out, t)

    def __repr__(self):
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class GaussianNoise(_Random):
    """Add independent N(mean, std^2) noise to every pixel (noise injection as a regulariser)."""

    def __init__(self, std=0.1, mean=0.0, seed=None):
        super().__init__(seed)
        if std < 0:
            raise ValueError(f"GaussianNoise: std must be >= 0, got {std}")
        self.std, self.mean = std, mean

    def __call__(self, x):
        a, t = _arr_in(x)
        if a.dtype.kind != "f":
            raise TypeError(f"GaussianNoise: expects float images, got dtype {a.dtype}; convert with ToFloat() first")
        return _out(a + self.rng.normal(self.mean, self.std, a.shape).astype(a.dtype), t)

    def __repr__(self):
        return f"GaussianNoise(std={self.std}, mean={self.mean})"


class Lambda:
    """Wrap any function of an image (or batch) as a transform."""

    def __init__(self, fn):
        if not callable(fn):
            raise TypeError(f"Lambda: expected a callable, got {type(fn).__name__}")
        self.fn = fn

    def __call__(self, x):
        return self.fn(x)
