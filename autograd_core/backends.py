"""``torch.backends``' switches, for scripts that set them: there is no cuDNN or MPS here.

``backends.cudnn.benchmark = True`` and ``backends.cudnn.deterministic = True`` are accepted and
change nothing (the CPU kernels are deterministic); ``is_available()`` is False for both.
"""

from __future__ import annotations

__all__ = ["cudnn", "mps"]


class _Backend:
    def __init__(self, name, **flags):
        self._name = name
        self.__dict__.update(flags)

    def is_available(self):
        return False

    def __repr__(self):
        return f"<autograd_core.backends.{self._name}: not available (CPU-only build)>"


cudnn = _Backend("cudnn", enabled=True, benchmark=False, deterministic=False, allow_tf32=True)
mps = _Backend("mps")
mps.is_built = lambda: False
