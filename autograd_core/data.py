"""Data sets, samplers, batching, MNIST-format files and augmentation (``torch.utils.data``'s names).

- ``Dataset``, ``IterableDataset``, ``TensorDataset``, ``StackDataset``, ``Subset``,
  ``ConcatDataset``, ``ChainDataset``, ``random_split`` (``data_utils/dataset.py``).
- Samplers: ``SequentialSampler``, ``RandomSampler``, ``SubsetRandomSampler``,
  ``WeightedRandomSampler``, ``BatchSampler``, ``DistributedSampler`` (each rank's share of a
  data set for data-parallel training) (``data_utils/sampler.py``).
- ``DataLoader``: batches in a sampler's order, ``collate_fn``, ``num_workers`` worker
  processes (``data_utils/dataloader.py``, ``get_worker_info`` in ``data_utils/worker.py``).
  A ``TensorDataset`` is batched by fancy indexing, whole batches at once, not sample by sample.
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
import os
from collections import namedtuple

import numpy as np

from .tensor import Tensor
from . import random as _random
from .data_utils.dataset import (Dataset, IterableDataset, TensorDataset, StackDataset, ConcatDataset, ChainDataset,
                                 Subset, random_split)
from .data_utils.sampler import (Sampler, SequentialSampler, RandomSampler, SubsetRandomSampler,
                                 WeightedRandomSampler, BatchSampler, DistributedSampler)
from .data_utils.dataloader import DataLoader, default_collate, default_convert
from .data_utils.worker import get_worker_info, WorkerInfo

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "StackDataset", "ConcatDataset", "ChainDataset", "Subset",
           "random_split", "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "BatchSampler", "DistributedSampler", "DataLoader", "default_collate",
           "default_convert", "get_worker_info", "WorkerInfo", "read_idx",
           "fashion_mnist", "fashion_mnist_small", "FASHION_MNIST_CLASSES", "Compose", "ToFloat", "Normalize",
           "RandomHorizontalFlip", "RandomCrop", "GaussianNoise", "Lambda"]


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


_SAME = object()  # test_transform not given: the test split gets ``transform`` too


def _random_parts(t):
    """The random augmentations in transform ``t`` (looking inside ``Compose``)."""
    if isinstance(t, Compose):
        return [r for part in t.transforms for r in _random_parts(part)]
    return [t] if isinstance(t, _Random) else []


def _split_transforms(op, transform, test_transform):
    """(training, test) transforms: one ``transform`` serves both splits unless ``test_transform`` is given.

    A ``transform`` holding random augmentation needs an explicit
    ``test_transform``: augmenting the test images would measure the wrong
    thing, and quietly leaving them unnormalised (the old rule) gave 27-35%
    test accuracy for a model at 77%.
    """
    if test_transform is not _SAME:
        return transform, test_transform
    rand = _random_parts(transform)
    if rand:
        names = ", ".join(type(r).__name__ for r in rand)
        raise ValueError(
            f"{op}: transform holds random augmentation ({names}), which the test split must not get; pass "
            "test_transform= too (e.g. the Normalize alone, or None for no transform)")
    return transform, transform


def _datasets(paths, transform, test_transform):
    """TensorDatasets of uint8 images ``(N, 1, 28, 28)`` (made float in [0, 1] by ``ToFloat``) and int64 labels."""
    tr_x, tr_y = _load_pair(paths[0], paths[1])
    te_x, te_y = _load_pair(paths[2], paths[3])
    to_float = ToFloat()
    train_t = to_float if transform is None else Compose([to_float, transform])
    test_t = to_float if test_transform is None else Compose([to_float, test_transform])
    return FashionMNIST(TensorDataset(tr_x, tr_y, transform=train_t), TensorDataset(te_x, te_y, transform=test_t))


def fashion_mnist(root=None, transform=None, test_transform=_SAME):
    """The full Fashion-MNIST (60,000 training and 10,000 test images of 10 kinds of clothing).

    Looks for ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte`` (each maybe ``.gz``)
    in ``root`` if given, else in ``$FASHION_MNIST_DIR`` if set, else in
    ``/usr/share/datasets/fashion-mnist`` (Debian's ``dataset-fashion-mnist``).

    Parameters
    ----------
    root : str, optional
    transform : callable, optional
        Applied after the conversion to float in [0, 1], to the images of both
        splits (e.g. ``Normalize``), as torchvision's one call per split would.
    test_transform : callable or None, optional
        A different transform for the test images: needed when ``transform``
        holds random augmentation (``RandomCrop``, ...), which the test split
        must not get (a ``ValueError`` says so); ``None`` for none.

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
    transform, test_transform = _split_transforms("fashion_mnist", transform, test_transform)
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


def fashion_mnist_small(transform=None, test_transform=_SAME):
    """The Fashion-MNIST sample bundled with the package: 5,000 training and 1,000 test images.

    The first 500 training and first 100 test images of each class of the
    full set, in their original order. Arguments and return value as
    ``fashion_mnist``: ``transform`` serves both splits unless ``test_transform``
    is given.
    """
    transform, test_transform = _split_transforms("fashion_mnist_small", transform, test_transform)
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
