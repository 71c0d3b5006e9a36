"""Tensor constructors: ``tensor zeros ones full empty eye arange linspace randn rand randint`` and ``*_like``."""

from __future__ import annotations

import numpy as np

from .tensor import Tensor
from . import random as _random

_DEFAULT = np.float32


def _size(size, fn):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    try:
        size = tuple(int(s) for s in size)
    except (TypeError, ValueError):
        raise TypeError(f"{fn}: size must be ints or a tuple of ints, got {size!r}") from None
    if any(s < 0 for s in size):
        raise ValueError(f"{fn}: sizes must be non-negative, got {size}")
    return size


def _finish(arr, requires_grad):
    t = Tensor._wrap(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def tensor(data, requires_grad=False, dtype=None):
    """A new tensor holding a copy of ``data``.

    Python floats become float32, ints int64; numpy arrays keep their dtype.
    """
    t = Tensor(data, requires_grad=False, dtype=dtype)
    if isinstance(data, np.ndarray) and t.data is data:
        t.data = data.copy()
    return t.requires_grad_(requires_grad) if requires_grad else t


def from_numpy(array):
    """A tensor sharing memory with ``array``."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected an ndarray, got {type(array).__name__}")
    return Tensor._wrap(array)


def as_tensor(data, dtype=None):
    if isinstance(data, Tensor) and (dtype is None or data.dtype == np.dtype(dtype)):
        return data
    if isinstance(data, np.ndarray) and (dtype is None or data.dtype == np.dtype(dtype)):
        return Tensor._wrap(data)
    return Tensor(data, dtype=dtype)


def is_tensor(obj):
    return isinstance(obj, Tensor)


def zeros(*size, dtype=None, requires_grad=False):
    return _finish(np.zeros(_size(size, "zeros"), dtype=dtype or _DEFAULT), requires_grad)


def ones(*size, dtype=None, requires_grad=False):
    return _finish(np.ones(_size(size, "ones"), dtype=dtype or _DEFAULT), requires_grad)


def empty(*size, dtype=None, requires_grad=False):
    return _finish(np.empty(_size(size, "empty"), dtype=dtype or _DEFAULT), requires_grad)


def full(size, fill_value, dtype=None, requires_grad=False):
    if dtype is None:
        dtype = np.int64 if isinstance(fill_value, (bool, int, np.integer)) and not isinstance(fill_value, bool) \
            else (np.bool_ if isinstance(fill_value, bool) else _DEFAULT)
    return _finish(np.full(_size((size,), "full"), fill_value, dtype=dtype), requires_grad)


def eye(n, m=None, dtype=None, requires_grad=False):
    return _finish(np.eye(n, m, dtype=dtype or _DEFAULT), requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad=False):
    """Values from ``start`` to ``end`` (exclusive); int64 for ints, float32 otherwise."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be non-zero")
    if dtype is None:
        ints = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = np.int64 if ints else _DEFAULT
    return _finish(np.arange(start, end, step).astype(dtype), requires_grad)


def linspace(start, end, steps, dtype=None, requires_grad=False):
    return _finish(np.linspace(start, end, int(steps)).astype(dtype or _DEFAULT), requires_grad)


def randn(*size, dtype=None, requires_grad=False):
    """Standard normal samples from the package generator (see ``manual_seed``)."""
    arr = _random.get_rng().standard_normal(_size(size, "randn"), dtype=np.float64)
    return _finish(arr.astype(dtype or _DEFAULT), requires_grad)


def rand(*size, dtype=None, requires_grad=False):
    """Uniform samples in [0, 1) from the package generator."""
    arr = _random.get_rng().random(_size(size, "rand"), dtype=np.float64)
    return _finish(arr.astype(dtype or _DEFAULT), requires_grad)


def randint(low, high=None, size=(), dtype=None):
    if high is None:
        low, high = 0, low
    return _finish(_random.get_rng().integers(low, high, size=_size((size,), "randint")).astype(dtype or np.int64),
                   False)


def randperm(n, dtype=None):
    return _finish(_random.get_rng().permutation(int(n)).astype(dtype or np.int64), False)


def _like(fn, input, dtype, requires_grad, *args):
    shape = tuple(np.shape(input.data if isinstance(input, Tensor) else input))
    dt = dtype or (input.dtype if isinstance(input, (Tensor, np.ndarray)) else _DEFAULT)
    return fn(shape, *args, dtype=dt, requires_grad=requires_grad)


def zeros_like(input, dtype=None, requires_grad=False):
    return _like(zeros, input, dtype, requires_grad)


def ones_like(input, dtype=None, requires_grad=False):
    return _like(ones, input, dtype, requires_grad)


def empty_like(input, dtype=None, requires_grad=False):
    return _like(empty, input, dtype, requires_grad)


def full_like(input, fill_value, dtype=None, requires_grad=False):
    shape = tuple(np.shape(input.data if isinstance(input, Tensor) else input))
    return full(shape, fill_value, dtype=dtype or input.dtype, requires_grad=requires_grad)


def randn_like(input, dtype=None, requires_grad=False):
    return _like(randn, input, dtype, requires_grad)


def rand_like(input, dtype=None, requires_grad=False):
    return _like(rand, input, dtype, requires_grad)
