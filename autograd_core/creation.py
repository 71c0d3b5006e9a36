"""Tensor constructors: ``tensor zeros ones full empty eye arange linspace randn rand randint`` and ``*_like``.

Every factory takes PyTorch's ``dtype=``, ``device=`` (the CPU only: see ``devices.py``) and
``requires_grad=``; the random ones take ``generator=`` (``autograd_core.Generator``). Floating-point
results without ``dtype=`` get the default dtype (``set_default_dtype``; float32 unless changed).
"""

from __future__ import annotations

import numpy as np

from .tensor import Tensor
from . import random as _random, _settings
from .devices import check as _check_device


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


def _float(dtype):
    return dtype or _settings.dtype


def tensor(data, requires_grad=False, dtype=None, device=None, pin_memory=False):
    """A new tensor holding a copy of ``data``.

    Python floats become the default dtype (float32), ints int64; numpy arrays keep their dtype.
    """
    _check_device(device, "tensor")
    t = Tensor(data, requires_grad=False, dtype=dtype)
    if isinstance(data, np.ndarray) and t.data is data:
        t.data = data.copy()
    return t.requires_grad_(requires_grad) if requires_grad else t


def from_numpy(array):
    """A tensor sharing memory with ``array``."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected an ndarray, got {type(array).__name__}")
    return Tensor._wrap(array)


def as_tensor(data, dtype=None, device=None):
    """``data`` as a tensor, sharing memory when it already is one (or an ndarray) of that dtype."""
    _check_device(device, "as_tensor")
    if isinstance(data, Tensor) and (dtype is None or data.dtype == np.dtype(dtype)):
        return data
    if isinstance(data, np.ndarray) and (dtype is None or data.dtype == np.dtype(dtype)):
        return Tensor._wrap(data)
    return Tensor(data, dtype=dtype)


def is_tensor(obj):
    return isinstance(obj, Tensor)


def numel(input):
    """The number of elements of ``input`` (a Tensor or anything numpy can shape)."""
    return int(input.data.size if isinstance(input, Tensor) else np.size(input))


def zeros(*size, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False,
          memory_format=None):
    _check_device(device, "zeros")
    return _finish(np.zeros(_size(size, "zeros"), dtype=_float(dtype)), requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False,
         memory_format=None):
    _check_device(device, "ones")
    return _finish(np.ones(_size(size, "ones"), dtype=_float(dtype)), requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False,
          memory_format=None):
    _check_device(device, "empty")
    return _finish(np.empty(_size(size, "empty"), dtype=_float(dtype)), requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    _check_device(device, "full")
    if dtype is None:
        dtype = np.int64 if isinstance(fill_value, (bool, int, np.integer)) and not isinstance(fill_value, bool) \
            else (np.bool_ if isinstance(fill_value, bool) else _settings.dtype)
    return _finish(np.full(_size((size,), "full"), fill_value, dtype=dtype), requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    _check_device(device, "eye")
    return _finish(np.eye(n, m, dtype=_float(dtype)), requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    """Values from ``start`` to ``end`` (exclusive); int64 for ints, the default float dtype otherwise."""
    _check_device(device, "arange")
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be non-zero")
    if dtype is None:
        ints = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = np.int64 if ints else _settings.dtype
    return _finish(np.arange(start, end, step).astype(dtype), requires_grad)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    _check_device(device, "linspace")
    return _finish(np.linspace(start, end, int(steps)).astype(_float(dtype)), requires_grad)


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False):
    """Standard normal samples from the package generator (see ``manual_seed``) or ``generator``."""
    _check_device(device, "randn")
    arr = _random.numpy_rng(generator, "randn").standard_normal(_size(size, "randn"), dtype=np.float64)
    return _finish(arr.astype(_float(dtype)), requires_grad)


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False):
    """Uniform samples in [0, 1) from the package generator or ``generator``."""
    _check_device(device, "rand")
    arr = _random.numpy_rng(generator, "rand").random(_size(size, "rand"), dtype=np.float64)
    return _finish(arr.astype(_float(dtype)), requires_grad)


def randint(low, high=None, size=(), generator=None, dtype=None, device=None, requires_grad=False):
    """Integers drawn uniformly from ``[low, high)`` (``randint(high, size)`` starts at 0), int64 by default."""
    _check_device(device, "randint")
    if isinstance(high, (tuple, list)):  # randint(high, size), PyTorch's other overload
        high, size = None, high
    if high is None:
        low, high = 0, low
    rng = _random.numpy_rng(generator, "randint")
    return _finish(rng.integers(low, high, size=_size((size,), "randint")).astype(dtype or np.int64), requires_grad)


def randperm(n, generator=None, dtype=None, device=None, requires_grad=False):
    """A random permutation of ``0 .. n-1`` (int64 by default)."""
    _check_device(device, "randperm")
    return _finish(_random.numpy_rng(generator, "randperm").permutation(int(n)).astype(dtype or np.int64),
                   requires_grad)


def _like(fn, input, dtype, device, requires_grad):
    _check_device(device, fn.__name__ + "_like")
    shape = tuple(np.shape(input.data if isinstance(input, Tensor) else input))
    dt = dtype or (input.dtype if isinstance(input, (Tensor, np.ndarray)) else _settings.dtype)
    return fn(shape, dtype=dt, requires_grad=requires_grad)


def zeros_like(input, dtype=None, device=None, requires_grad=False, layout=None, memory_format=None):
    return _like(zeros, input, dtype, device, requires_grad)


def ones_like(input, dtype=None, device=None, requires_grad=False, layout=None, memory_format=None):
    return _like(ones, input, dtype, device, requires_grad)


def empty_like(input, dtype=None, device=None, requires_grad=False, layout=None, memory_format=None):
    return _like(empty, input, dtype, device, requires_grad)


def full_like(input, fill_value, dtype=None, device=None, requires_grad=False, layout=None, memory_format=None):
    _check_device(device, "full_like")
    shape = tuple(np.shape(input.data if isinstance(input, Tensor) else input))
    return full(shape, fill_value, dtype=dtype or input.dtype, requires_grad=requires_grad)


def randn_like(input, dtype=None, device=None, requires_grad=False, layout=None, memory_format=None):
    return _like(randn, input, dtype, device, requires_grad)


def rand_like(input, dtype=None, device=None, requires_grad=False, layout=None, memory_format=None):
    return _like(rand, input, dtype, device, requires_grad)
