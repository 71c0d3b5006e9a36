"""When the generic ops run a Numba kernel, and the calls that do it (arrays in, arrays out).

The ops (``reduce.py``: softmax, log-softmax, sums and means; ``elementwise.py``:
add; ``linalg.py``: matmul; the cross-entropy loss) keep their numpy code as
the reference path and call here for float32/float64 arrays that are large
(above the serial rule of ``_threads.small``), or of any size once a kernel
module is loaded (Numba imported; a small graph that never ran a kernel does
not import it). By the same rule a kernel runs on all threads or, below it, its
serial twin on the calling thread (waking the pool costs more than the work).

Backward passes use the kernels only when no graph of the backward is wanted
(``create_graph=False``); otherwise the ops' Tensor-op backward runs, so
higher derivatives work (as batch norm does).
"""

from __future__ import annotations

import numpy as np

from .. import _threads
from .. import kernels as _kernels
from ._common import dense_order, inverse_order

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _big(n):
    """Whether ``n`` elements are worth a parallel region (``_threads.small``, the package's one rule)."""
    return not _threads.small(elements=n)


def usable(a):
    """Whether ``a`` (an ndarray) takes the kernels."""
    return a.dtype in _FLOATS and a.size > 0 and (_big(a.size) or _kernels.loaded())


def _kernel(module, name, n):
    return getattr(_kernels.load(module), name if _big(n) else name + "_serial")


def _rows(a):
    """``a`` as a C-contiguous (R, C) array over its last axis (a view when it already is)."""
    return np.ascontiguousarray(a).reshape(-1, a.shape[-1])


# --------------------------------------------------------------------------- softmax, log-softmax

def softmax_last(a, log):
    """softmax (or log-softmax when ``log``) over the last axis of ``a``."""
    x = _rows(a)
    out = np.empty(a.shape, a.dtype)
    _kernel("rows", "log_softmax" if log else "softmax", a.size)(x, out.reshape(x.shape))
    return out


def softmax_last_backward(g, out, log):
    """The input gradient of softmax (log-softmax) over the last axis, from its output ``out``."""
    gr = _rows(np.asarray(g, dtype=out.dtype))
    dx = np.empty(out.shape, out.dtype)
    name = "log_softmax_backward" if log else "softmax_backward"
    _kernel("rows", name, out.size)(gr, _rows(out), dx.reshape(gr.shape))
    return dx


# --------------------------------------------------------------------------- cross-entropy

def cross_entropy(x, target):
    """Per row of (N, C) logits: ``(logsumexp, x[n, target[n]])``; ``target`` valid class indices."""
    xr = _rows(x)
    n = xr.shape[0]
    lse = np.empty(n, x.dtype)
    picked = np.empty(n, x.dtype)
    _kernel("rows", "cross_entropy", x.size)(xr, np.ascontiguousarray(target, dtype=np.int64), lse, picked)
    return lse, picked


def cross_entropy_backward(x, lse, target, coef):
    """``coef[n] * (softmax(x[n]) - onehot(target[n]))`` for (N, C) logits."""
    xr = _rows(x)
    dx = np.empty(xr.shape, x.dtype)
    _kernel("rows", "cross_entropy_backward", x.size)(xr, lse, np.ascontiguousarray(target, dtype=np.int64),
                                                      np.ascontiguousarray(coef, dtype=x.dtype), dx)
    return dx


# --------------------------------------------------------------------------- sums and means

def sum_last(a):
    """``a.sum(-1)`` for a large array (float64 between blocks, see ``kernels/rows.py``)."""
    x = _rows(a)
    out = np.empty(x.shape[0], a.dtype)
    _kernel("rows", "row_sum", a.size)(x, out)
    return out.reshape(a.shape[:-1])


def sum_trailing(a, dims):
    """``a.sum(dims)`` when ``dims`` are the trailing axes (or H, W of channels-last NCHW), else None."""
    nd = a.ndim
    if not dims or dims != tuple(range(nd - len(dims), nd)) or len(dims) == nd:
        return None
    if a.flags.c_contiguous:
        k = int(np.prod(a.shape[nd - len(dims):]))
        return sum_last(a.reshape(-1, k)).reshape(a.shape[:nd - len(dims)])
    if nd == 4 and dims == (2, 3):
        t = a.transpose(0, 2, 3, 1)
        if t.flags.c_contiguous:  # channels-last memory: (N, H*W, C) rows of channels
            N, H, W, C = t.shape
            out = np.empty((N, C), a.dtype)
            _kernel("rows", "mid_sum", a.size)(t.reshape(N, H * W, C), out)
            return out
    return None


# --------------------------------------------------------------------------- add

def add(a, b):
    """``a + b`` on all threads for two large arrays of one shape, dtype and memory order, else None.

    The result keeps that memory order (channels-last stays channels-last).
    """
    if (type(a) is not np.ndarray or type(b) is not np.ndarray or a.shape != b.shape or a.dtype != b.dtype
            or a.dtype not in _FLOATS or not _big(a.size)):
        return None
    perm = dense_order(a)
    if perm is False or dense_order(b) != perm:
        return None
    ap = a if perm is None else a.transpose(perm)
    bp = b if perm is None else b.transpose(perm)
    out = np.empty(ap.shape, a.dtype)
    _kernels.load("elementwise").add(ap.reshape(-1), bp.reshape(-1), out.reshape(-1))
    return out if perm is None else out.transpose(inverse_order(perm))


# --------------------------------------------------------------------------- matmul

# Below this many multiply-adds one BLAS call on the calling thread is as fast.
_MATMUL_MIN = 1 << 22


def matmul(a, b):
    """``a @ b``: 2-D float products split in row blocks over the threads once BLAS has one thread.

    Until ``_threads.configure()`` runs (the first kernel call, or
    ``set_num_threads``) numpy's BLAS still has all its threads, and
    ``np.matmul`` is used as it is. Testing ``configure``'s flag rather than
    whether a kernel is loaded matters: ``set_num_threads`` configures without
    loading one, and a model of ``Linear`` layers alone then multiplied on one core.
    """
    if (a.ndim == 2 and b.ndim == 2 and a.dtype == b.dtype and a.dtype in _FLOATS and _threads.configured()
            and a.shape[0] * a.shape[1] * b.shape[1] >= _MATMUL_MIN):
        nt = _threads.num_threads()
        if nt > 1 and a.shape[0] >= 2 * nt:
            out = np.empty((a.shape[0], b.shape[1]), a.dtype)
            _kernels.load("matmul").matmul_rows(a, b, out, nt)
            return out
    return np.matmul(a, b)
