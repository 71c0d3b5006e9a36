"""Which kernel route an op took: a debug switch for the ops with several kernels.

Convolution and pooling choose among several kernels by memory layout,
channel count and stride (the tables ``ROUTES`` in ``ops/conv.py`` and
``ops/pool.py`` name each route and say when it is chosen). To see which ran:

- set ``AUTOGRAD_CORE_LOG_ROUTES=1`` and every choice is printed to stderr, or
- collect them in a block::

      from autograd_core.ops import log_routes
      with log_routes() as taken:
          y = F.conv2d(x, w)
      print(taken)  # [Route(op='conv2d forward', route='nhwc', shapes=((64, 16, 32, 32), ...), serial=False)]

Off, a choice costs one check of a module flag.
"""

from __future__ import annotations

import os
import sys
from typing import NamedTuple

__all__ = ["Route", "log_routes", "taken"]


class Route(NamedTuple):
    op: str          # e.g. "conv2d forward", "conv2d input grad", "max_pool2d forward"
    route: str       # a key of the op module's ROUTES table
    shapes: tuple    # the shapes of the main operands
    serial: bool     # True when the kernel ran on the calling thread alone (see _threads.small)


_PRINT = os.environ.get("AUTOGRAD_CORE_LOG_ROUTES", "") not in ("", "0")
_sinks = []       # lists collecting inside ``log_routes`` blocks
_active = _PRINT  # any consumer at all: the one flag checked on the hot path


def taken(op, route, shapes, serial=False):
    """Record that ``op`` ran ``route`` (called by the ops; cheap when nobody listens)."""
    if not _active:
        return
    rec = Route(op, route, tuple(tuple(s) for s in shapes), bool(serial))
    if _PRINT:
        print(f"autograd_core route: {rec.op}: {rec.route} {rec.shapes}{' serial' if serial else ''}",
              file=sys.stderr)
    for sink in _sinks:
        sink.append(rec)


class log_routes:
    """Context manager collecting every route taken inside it into the list it returns."""

    def __enter__(self):
        global _active
        self.records = []
        _sinks.append(self.records)
        _active = True
        return self.records

    def __exit__(self, *exc):
        global _active
        _sinks.remove(self.records)
        _active = _PRINT or bool(_sinks)
        return False
