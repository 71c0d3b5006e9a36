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


def _make(name, n, mode, doc, constant=False):
    if constant:
        def __init__(self, padding, value):
            _PadNd.__init__(self, padding, value)
    else:
        def __init__(self, padding):
            _PadNd.__init__(self, padding)
    return type(name, (_PadNd,), {"_n": n, "_mode": mode, "__init__": __init__, "__doc__": doc,
                                  "__module__": __name__})


_WHAT = {1: "(N, C, L) or (C, L)", 2: "(N, C, H, W) or (C, H, W)", 3: "(N, C, D, H, W) or (C, D, H, W)"}
for _n in (1, 2, 3):
    globals()[f"ZeroPad{_n}d"] = _make(f"ZeroPad{_n}d", _n, "constant", f"Pad {_WHAT[_n]} input with zeros.")
    globals()[f"ConstantPad{_n}d"] = _make(f"ConstantPad{_n}d", _n, "constant",
                                           f"Pad {_WHAT[_n]} input with a constant ``value``.", constant=True)
    globals()[f"ReflectionPad{_n}d"] = _make(f"ReflectionPad{_n}d", _n, "reflect",
                                             f"Pad {_WHAT[_n]} input with its reflection (edge not repeated).")
    globals()[f"ReplicationPad{_n}d"] = _make(f"ReplicationPad{_n}d", _n, "replicate",
                                              f"Pad {_WHAT[_n]} input by repeating its edge values.")
    globals()[f"CircularPad{_n}d"] = _make(f"CircularPad{_n}d", _n, "circular",
                                           f"Pad {_WHAT[_n]} input by wrapping around.")
del _n
