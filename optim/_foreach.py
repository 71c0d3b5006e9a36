"""Multi-tensor ("foreach") steps: every parameter of a group updated by one kernel call.

``autograd_core/kernels/optim.py`` holds the kernels; this module checks that
a group can take them (one floating dtype, C-contiguous parameters and state),
builds the address tables and the per-tensor constants, and returns False when
it cannot, so the caller runs its numpy loop (the reference path, bit for bit
the same results). A group's ``foreach`` option chooses: ``None`` (default)
uses the kernels when Numba's kernels are already loaded or the group holds at
least ``_threads.SERIAL_ELEMENTS`` elements (below that, a model that never
ran a kernel does not import Numba for its optimizer), ``True`` whenever the
dtypes allow, ``False`` never.
"""

from __future__ import annotations

import math

import numpy as np

from autograd_core import _threads
from autograd_core import kernels as _kernels

_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _usable(group, items):
    mode = group.get("foreach")
    if mode is False or not items:
        return False
    dt = items[0][0].data.dtype
    if dt not in _DTYPES:
        return False
    for p, g, _ in items:
        x = p.data
        if x.dtype != dt or g.dtype != dt or not x.flags.c_contiguous or not x.flags.writeable:
            return False
    if mode:
        return True
    return _kernels.loaded() or sum(p.data.size for p, _, _ in items) >= _threads.SERIAL_ELEMENTS


def _addresses(arrays):
    return np.fromiter((a.ctypes.data for a in arrays), dtype=np.int64, count=len(arrays))


def _grads(items):
    return [g if g.flags.c_contiguous else np.ascontiguousarray(g) for _, g, _ in items]


class _Tables:
    """Address tables of the arrays that live across steps (parameters, state), rebuilt when any changes."""

    def __init__(self):
        self.key = None

    def get(self, arrays):
        key = self.key
        if key is None or len(key) != len(arrays) or any(a is not b for a, b in zip(key, arrays)):
            self.key = list(arrays)
            n = len(arrays)
            self.sizes = np.array([a.size for a in arrays], dtype=np.int64)
            self.table = _addresses(arrays)
            self.n = n
        return self.table


def _run(name, total, *args):
    K = _kernels.load("optim")
    kernel = getattr(K, name if total >= _threads.SERIAL_ELEMENTS else name + "_serial")
    kernel(*args)


def _cache(opt, group, what):
    caches = opt.__dict__.setdefault("_foreach_tables", {})
    key = (id(group), what)
    t = caches.get(key)
    if t is None:
        t = caches[key] = _Tables()
    return t


def adam(opt, group, items, decoupled):
    """Adam/AdamW for a group's ``items`` (param, gradient, state); False if the group cannot use the kernel."""
    if not _usable(group, items):
        return False
    from autograd_core.kernels.optim import chunk_table
    lr, (b1, b2), eps = group["lr"], group["betas"], group["eps"]
    wd, amsgrad = group["weight_decay"], group["amsgrad"]
    dt = items[0][0].data.dtype.type
    lr_t, c2_t = [], []
    for p, g, s in items:
        x = p.data
        if not s:
            s["step"] = 0
            s["exp_avg"] = np.zeros_like(x)
            s["exp_avg_sq"] = np.zeros_like(x)
        if amsgrad and "max_exp_avg_sq" not in s:
            s["max_exp_avg_sq"] = np.zeros_like(x)
        t = s["step"] = s["step"] + 1
        lr_t.append(-lr / (1 - b1 ** t))
        c2_t.append(math.sqrt(1 - b2 ** t))
    for _, _, s in items:
        for k in ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if amsgrad else ()):
            if not s[k].flags.c_contiguous or s[k].dtype != dt:
                s[k] = np.ascontiguousarray(s[k], dtype=dt)
    P = _cache(opt, group, "p").get([p.data for p, _, _ in items])
    tabs = _cache(opt, group, "p")
    M = _cache(opt, group, "m").get([s["exp_avg"] for _, _, s in items])
    V = _cache(opt, group, "v").get([s["exp_avg_sq"] for _, _, s in items])
    VM = _cache(opt, group, "vmax").get([s["max_exp_avg_sq"] for _, _, s in items]) if amsgrad else V
    grads = _grads(items)
    G = _addresses(grads)
    sizes = tabs.sizes
    ctab = getattr(tabs, "chunks", None)
    if ctab is None or tabs.chunks_for is not tabs.table:
        ctab = tabs.chunks = chunk_table(sizes)
        tabs.chunks_for = tabs.table
    decay = 1 - lr * wd if (wd and decoupled) else 1.0
    like = items[0][0].data.reshape(-1)[:1]
    _run("adam", int(sizes.sum()), like, P, G, M, V, VM, sizes, ctab, np.array(lr_t, dt), np.array(c2_t, dt),
         dt(b1), dt(b2), dt(1 - b1), dt(1 - b2), dt(eps), dt(decay), bool(amsgrad))
    del grads  # the kernel has run: the contiguous copies may go
    return True


def sgd(opt, group, items):
    """SGD (momentum, dampening, Nesterov) for a group's ``items``; False if the group cannot use the kernel."""
    if not _usable(group, items):
        return False
    from autograd_core.kernels.optim import chunk_table
    lr, mu, damp, nesterov = group["lr"], group["momentum"], group["dampening"], group["nesterov"]
    dt = items[0][0].data.dtype.type
    grads = _grads(items)
    fresh = np.zeros(len(items), dtype=np.bool_)
    if mu:
        for k, ((_, _, s), g) in enumerate(zip(items, grads)):
            buf = s.get("momentum_buffer")
            if buf is None:
                s["momentum_buffer"] = np.array(g, copy=True)
                fresh[k] = True
            elif not buf.flags.c_contiguous or buf.dtype != g.dtype:
                s["momentum_buffer"] = np.ascontiguousarray(buf, dtype=g.dtype)
    tabs = _cache(opt, group, "p")
    P = tabs.get([p.data for p, _, _ in items])
    B = _cache(opt, group, "b").get([s["momentum_buffer"] for _, _, s in items]) if mu else P
    G = _addresses(grads)
    sizes = tabs.sizes
    ctab = getattr(tabs, "chunks", None)
    if ctab is None or tabs.chunks_for is not tabs.table:
        ctab = tabs.chunks = chunk_table(sizes)
        tabs.chunks_for = tabs.table
    like = items[0][0].data.reshape(-1)[:1]
    _run("sgd", int(sizes.sum()), like, P, G, B, sizes, ctab, fresh, dt(lr), dt(mu),
         dt(1 - damp if damp else 1.0), bool(nesterov), bool(mu))
    del grads
    return True
