"""Padding layers: ``ZeroPad1d/2d/3d``, ``ConstantPad1d/2d/3d``, ``ReflectionPad1d/2d/3d``,
``ReplicationPad1d/2d/3d``, ``CircularPad1d/2d/3d`` (all ``nn.functional.pad``)."""

from __future__ import annotations

import numpy as np

from . import functional as F
from .module import Module

__all__ = ["ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "ConstantPad1d", "ConstantPad2d", "ConstantPad3d",
           "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d", "ReplicationPad1d", "ReplicationPad2d",
           "ReplicationPad3d", "CircularPad1d", "CircularPad2d", "CircularPad3d"]


class _PadNd(Module):
    """Pad the last ``_n`` dimensions; ``padding`` is an int (every side) or ``2 * _n`` ints
    (left, right, top, bottom, front, back: the last dimension first, as in ``F.pad``)."""

    _n = 1
    _mode = "constant"

    def __init__(self, padding, value=0.0):
        super().__init__()
        n = 2 * self._n
        if isinstance(padding, (int, np.integer)):
            padding = (int(padding),) * n
        padding = tuple(int(p) for p in padding)
        if len(padding) != n:
            raise ValueError(f"{type(self).__name__}: padding must be an int or a tuple of {n} ints, got {padding!r}")
        self.padding = padding
        self.value = value

    def forward(self, input):
        if input.ndim not in (self._n + 1, self._n + 2):
            raise ValueError(f"{type(self).__name__}: expected a {self._n + 1}-D or {self._n + 2}-D input, got shape "
                             f"{tuple(input.shape)}")
        if self._mode == "constant":
            return F.pad(input, self.padding, "constant", self.value)
        return F.pad(input, self.padding, self._mode)

    def extra_repr(self):
        return f"{self.padding}" + (f", value={self.value}" if self._mode == "constant" and self.value else "")


class ZeroPad1d(_PadNd):
    """Pad (N, C, L) or (C, L) input with zeros."""

    _n = 1

    def __init__(self, padding):
        super().__init__(padding)


class ConstantPad1d(_PadNd):
    """Pad (N, C, L) or (C, L) input with a constant ``value``."""

    _n = 1

    def __init__(self, padding, value):
        super().__init__(padding, value)


class ReflectionPad1d(_PadNd):
    """Pad (N, C, L) or (C, L) input with its reflection (the edge itself is not repeated)."""

    _n = 1
    _mode = "reflect"

    def __init__(self, padding):
        super().__init__(padding)


class ReplicationPad1d(_PadNd):
    """Pad (N, C, L) or (C, L) input by repeating its edge values."""

    _n = 1
    _mode = "replicate"

    def __init__(self, padding):
        super().__init__(padding)


class CircularPad1d(_PadNd):
    """Pad (N, C, L) or (C, L) input by wrapping around."""

    _n = 1
    _mode = "circular"

    def __init__(self, padding):
        super().__init__(padding)


class ZeroPad2d(_PadNd):
    """Pad (N, C, H, W) or (C, H, W) input with zeros."""

    _n = 2

    def __init__(self, padding):
        super().__init__(padding)


class ConstantPad2d(_PadNd):
    """Pad (N, C, H, W) or (C, H, W) input with a constant ``value``."""

    _n = 2

    def __init__(self, padding, value):
        super().__init__(padding, value)


class ReflectionPad2d(_PadNd):
    """Pad (N, C, H, W) or (C, H, W) input with its reflection (the edge itself is not repeated)."""

    _n = 2
    _mode = "reflect"

    def __init__(self, padding):
        super().__init__(padding)


class ReplicationPad2d(_PadNd):
    """Pad (N, C, H, W) or (C, H, W) input by repeating its edge values."""

    _n = 2
    _mode = "replicate"

    def __init__(self, padding):
        super().__init__(padding)


class CircularPad2d(_PadNd):
    """Pad (N, C, H, W) or (C, H, W) input by wrapping around."""

    _n = 2
    _mode = "circular"

    def __init__(self, padding):
        super().__init__(padding)


class ZeroPad3d(_PadNd):
    """Pad (N, C, D, H, W) or (C, D, H, W) input with zeros."""

    _n = 3

    def __init__(self, padding):
        super().__init__(padding)


class ConstantPad3d(_PadNd):
    """Pad (N, C, D, H, W) or (C, D, H, W) input with a constant ``value``."""

    _n = 3

    def __init__(self, padding, value):
        super().__init__(padding, value)


class ReflectionPad3d(_PadNd):
    """Pad (N, C, D, H, W) or (C, D, H, W) input with its reflection (the edge itself is not repeated)."""

    _n = 3
    _mode = "reflect"

    def __init__(self, padding):
        super().__init__(padding)


class ReplicationPad3d(_PadNd):
    """Pad (N, C, D, H, W) or (C, D, H, W) input by repeating its edge values."""

    _n = 3
    _mode = "replicate"

    def __init__(self, padding):
        super().__init__(padding)


class CircularPad3d(_PadNd):
    """Pad (N, C, D, H, W) or (C, D, H, W) input by wrapping around."""

    _n = 3
    _mode = "circular"

    def __init__(self, padding):
        super().__init__(padding)
