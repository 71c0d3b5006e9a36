"""Observers of every op and every backward node: the profiler, checkpointing, ``viz.record_modules``.

``Function.apply`` (function.py) and the engine's ``_run_node`` (autograd.py)
each test one module-level name, ``_apply_hook`` / ``_node_hook``. It is None
while nothing observes, so an op pays one global lookup; while an observer is
registered it points at the dispatcher below, which tells the observers that
an op starts, runs the op by calling ``apply`` again (a per-thread flag makes
that inner call skip the hook), and tells them that it ended.

An apply observer has ``op_enter(cls, args, kwargs) -> token`` and
``op_exit(token, out)`` (``out`` is None when the op raised); a node observer
``node_enter(node) -> token`` and ``node_exit(token)``. Observers see the ops
of every thread; each keeps to its own thread if it must.
"""

from __future__ import annotations

import threading

from . import autograd as _autograd
from . import function as _function

_tls = threading.local()
_lock = threading.Lock()
_apply_observers: tuple = ()
_node_observers: tuple = ()


def _apply(cls, args, kwargs):
    tls = _tls
    if getattr(tls, "skip_apply", False):  # our own call below: run the op
        tls.skip_apply = False
        return NotImplemented
    observers = _apply_observers
    tokens = [o.op_enter(cls, args, kwargs) for o in observers]
    out = None
    tls.skip_apply = True
    try:
        out = cls.apply(*args, **kwargs)
    finally:
        tls.skip_apply = False
        for o, t in zip(reversed(observers), reversed(tokens)):
            o.op_exit(t, out)
    return out


def _node(node, grads, create_graph, anomaly, buf, leaves, shared):
    tls = _tls
    if getattr(tls, "skip_node", False):
        tls.skip_node = False
        return False
    observers = _node_observers
    tokens = [o.node_enter(node) for o in observers]
    tls.skip_node = True
    try:
        _autograd._run_node(node, grads, create_graph, anomaly, buf, leaves, shared)
    finally:
        tls.skip_node = False
        for o, t in zip(reversed(observers), reversed(tokens)):
            o.node_exit(t)
    return True


def _install():
    _function._apply_hook = _apply if _apply_observers else None
    _autograd._node_hook = _node if _node_observers else None


def add_observer(obs, ops=True, nodes=False):
    """Start telling ``obs`` about every op (``ops``) and every backward node (``nodes``)."""
    global _apply_observers, _node_observers
    with _lock:
        if ops:
            _apply_observers = _apply_observers + (obs,)
        if nodes:
            _node_observers = _node_observers + (obs,)
        _install()


def remove_observer(obs):
    global _apply_observers, _node_observers
    with _lock:
        _apply_observers = tuple(o for o in _apply_observers if o is not obs)
        _node_observers = tuple(o for o in _node_observers if o is not obs)
        _install()


class OpCollector:
    """Collects, in order, the nodes that this thread's ops record while it is registered."""

    def __init__(self):
        self.tid = threading.get_ident()
        self.nodes = []

    def op_enter(self, cls, args, kwargs):
        return None

    def op_exit(self, token, out):
        if out is None or threading.get_ident() != self.tid:
            return
        for o in (out if type(out) is tuple else (out,)):
            gf = getattr(o, "grad_fn", None)
            if gf is not None:  # (every output of one op has the same node)
                self.nodes.append(gf)
                break

    def __enter__(self):
        add_observer(self)
        return self

    def __exit__(self, *exc):
        remove_observer(self)
        return False
