"""Multi-tensor optimizer steps: one kernel call updates every parameter of a group.

numpy spends six to ten passes per parameter on an Adam step (a temporary
each), one parameter after another on one thread, and a Python call per pass:
for a model with many small parameters the calls dominate, for a large one the
passes do. Here the parameters, gradients and state buffers of a group are
handed over as tables of addresses (``int64`` arrays, one entry per tensor; the
caller keeps the arrays alive), cut into chunks of at most ``CHUNK`` elements,
and the chunks run in parallel; each element is read and written once.

The arithmetic is the numpy implementation's, operation for operation, in the
parameters' dtype, with the hyperparameters rounded to it first and no
contraction into fused multiply-adds, so the results are the same to the last
bit (``tests/test_optim_fused.py`` compares both paths bitwise).
"""

from __future__ import annotations

import numpy as np
from numba import carray, njit, prange, types
from numba.extending import intrinsic

from ._math import twins

_opts = dict(cache=True, nogil=True, boundscheck=False, error_model="numpy")

CHUNK = 1 << 15


@intrinsic
def _ptr(typingctx, addr, like):
    """The address ``addr`` (an int64) as a pointer to ``like``'s element type."""
    sig = types.CPointer(like.dtype)(types.int64, like)

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], context.get_value_type(signature.return_type))
    return sig, codegen


@njit(inline="always")
def _view(addrs, k, like, n, lo, hi):
    """Elements ``lo:hi`` of tensor ``k`` (``n`` elements), indexed from 0.

    Loops then run ``i`` from 0, which LLVM knows is never negative: with the
    chunk's own bounds it could not drop Numba's negative-index wraparound
    select, and the loops stayed scalar.
    """
    return carray(_ptr(addrs[k], like), (n,))[lo:hi]


def _adam(like, P, G, M, V, VMAX, sizes, ctab, lr_t, c2_t, b1c, b2c, one_b1, one_b2, eps, decay, amsgrad):
    """Adam / AdamW on every tensor of the table; ``ctab[j] = (tensor, start, stop)`` of chunk j.

    Per tensor ``k`` (in its dtype): ``lr_t[k] = -lr / (1 - b1^t)``, ``c2_t[k] = sqrt(1 - b2^t)``.
    """
    for j in prange(ctab.shape[0]):
        k = ctab[j, 0]
        n = sizes[k]
        lo = ctab[j, 1]
        hi = ctab[j, 2]
        x = _view(P, k, like, n, lo, hi)
        g = _view(G, k, like, n, lo, hi)
        m = _view(M, k, like, n, lo, hi)
        v = _view(V, k, like, n, lo, hi)
        vmax = _view(VMAX, k, like, n, lo, hi) if amsgrad else v
        lr = lr_t[k]
        c2 = c2_t[k]
        for i in range(hi - lo):  # (LLVM moves the loop-invariant ``amsgrad`` test out of the loop)
            gi = g[i]
            xi = x[i] * decay
            mi = m[i] + (gi - m[i]) * one_b1
            vi = v[i] * b2c + (gi * gi) * one_b2
            m[i] = mi
            v[i] = vi
            if amsgrad:
                a = vmax[i]
                vi = a if (a > vi or a != a) else vi   # np.maximum: NaN wins
                vmax[i] = vi
            d = np.sqrt(vi) / c2 + eps
            x[i] = xi + (mi / d) * lr


def _sgd(like, P, G, B, sizes, ctab, fresh, lr, mu, damp, nesterov, momentum):
    """SGD with optional momentum; ``fresh[k]``: tensor k's buffer was just made (it already holds g)."""
    for j in prange(ctab.shape[0]):
        k = ctab[j, 0]
        n = sizes[k]
        lo = ctab[j, 1]
        hi = ctab[j, 2]
        x = _view(P, k, like, n, lo, hi)
        g = _view(G, k, like, n, lo, hi)
        b = _view(B, k, like, n, lo, hi) if momentum else g
        new = fresh[k]
        for i in range(hi - lo):
            gi = g[i]
            if momentum:
                bi = b[i]
                if not new:
                    bi = bi * mu + gi * damp
                    b[i] = bi
                d = gi + mu * bi if nesterov else bi
            else:
                d = gi
            x[i] = x[i] - lr * d


@njit(**_opts)
def address(a):
    """The address of ``a``'s first element: 0.5 us, against 3 us for ``a.ctypes.data`` in Python."""
    return a.ctypes.data


def _twins(fn):
    return twins(fn, **_opts)


adam, adam_serial = _twins(_adam)
sgd, sgd_serial = _twins(_sgd)


def chunk_table(sizes, chunk=CHUNK):
    """``(tensor, start, stop)`` rows cutting each tensor into chunks of at most ``chunk`` elements."""
    rows = []
    for k, n in enumerate(sizes):
        for s in range(0, n, chunk):
            rows.append((k, s, min(n, s + chunk)))
    return np.array(rows, dtype=np.int64).reshape(-1, 3)
