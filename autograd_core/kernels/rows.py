"""Row kernels: softmax, log-softmax and cross-entropy forward and backward, row sums.

Every kernel works on C-contiguous 2-D arrays ``(R, C)`` (the op reduces over
the last axis; callers reshape ``(..., C)`` to it) and handles one row per
iteration, so a row is read from memory once and stays in cache while its
passes run (max, exp and sum, scale). numpy needs five to seven full passes
with a temporary each for the same softmax, on one thread.

Each kernel exists twice: ``NAME`` runs its rows over all threads (``prange``),
``NAME_serial`` on the calling thread, for arrays so small that waking the
other threads costs more than the work (the caller picks, see
``autograd_core/ops/reduce.py``).

Semantics follow the numpy reference paths: a row holding NaN gives NaN; in
softmax a row holding +inf gives NaN (``inf - inf``), as does a row that is all
-inf; log-softmax shifts by the row's maximum only when it is finite.

Sums run in the array's dtype with reassociation allowed (several partial sums
in vector lanes, as numpy's pairwise sum does); exponentials use
``_math.fexp`` (a vectorisable float32 exp, the C library's for float64).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange, uint64

from ._math import fexp, fexp_bounded, twins

_opts = dict(cache=True, nogil=True, boundscheck=False, error_model="numpy")
# reassociation only (vectorised sums); no nnan/ninf: NaN and inf keep numpy's meaning
_fm = dict(_opts, fastmath={"reassoc", "contract"})


def _twins(fn):
    return twins(fn, **_fm)


def _row_max(xr):
    """The row's maximum, ignoring NaN after the first element (a NaN anywhere still makes the
    row's exp-sum NaN, so every result of the row is NaN, as in numpy's reference)."""
    m = xr[0]
    for i in range(uint64(1), uint64(xr.shape[0])):
        v = xr[i]
        m = v if v > m else m
    return m


_row_max = njit(inline="always", **_opts)(_row_max)


def _shifted_exp_sum(xr):
    """``(m, sum(exp(xr - m)))`` with ``m`` the row's maximum if finite, else 0 (NaN stays NaN)."""
    m = _row_max(xr)
    s = xr.dtype.type(0)
    if m == np.inf:  # exp(x) may overflow: the full exp, as the reference computes it
        m = xr.dtype.type(0)
        for i in range(uint64(xr.shape[0])):
            s += fexp(xr[i])
        return m, s
    if m == -np.inf:
        m = xr.dtype.type(0)
    for i in range(uint64(xr.shape[0])):
        s += fexp_bounded(xr[i] - m)   # <= 0, -inf or NaN
    return m, s


_shifted_exp_sum = njit(inline="always", **_fm)(_shifted_exp_sum)


def _scale(row, c):
    """``row *= c``. Compiled without ``reassoc``: with it, LLVM folds ``x * (1 / s)`` back into
    ``x / s`` and the loop runs vector divisions (several times slower than multiplications)."""
    for i in range(uint64(row.shape[0])):
        row[i] *= c


_scale = njit(**_opts)(_scale)


def _softmax(x, out):
    """``out[r] = exp(x[r] - max x[r]) / sum(...)``."""
    R, C = x.shape
    for r in prange(R):
        xr = x[r]
        orow = out[r]
        m = _row_max(xr)
        s = x.dtype.type(0)
        for i in range(uint64(C)):
            e = fexp_bounded(xr[i] - m)   # <= 0, -inf or NaN
            orow[i] = e
            s += e
        _scale(orow, x.dtype.type(1) / s)


def _log_softmax(x, out):
    """``out[r] = x[r] - m - log(sum(exp(x[r] - m)))``, ``m`` the row's maximum if finite, else 0."""
    R, C = x.shape
    for r in prange(R):
        xr = x[r]
        orow = out[r]
        m, s = _shifted_exp_sum(xr)
        c = m + np.log(s)
        for i in range(uint64(C)):
            orow[i] = xr[i] - c


def _softmax_backward(g, s, dx):
    """``dx[r] = s[r] * (g[r] - sum(g[r] * s[r]))``."""
    R, C = g.shape
    for r in prange(R):
        gr = g[r]
        sr = s[r]
        dr = dx[r]
        d = g.dtype.type(0)
        for i in range(uint64(C)):
            d += gr[i] * sr[i]
        for i in range(uint64(C)):
            dr[i] = sr[i] * (gr[i] - d)


def _log_softmax_backward(g, out, dx):
    """``dx[r] = g[r] - exp(out[r]) * sum(g[r])``."""
    R, C = g.shape
    for r in prange(R):
        gr = g[r]
        orow = out[r]
        dr = dx[r]
        t = g.dtype.type(0)
        for i in range(uint64(C)):
            t += gr[i]
        for i in range(uint64(C)):
            dr[i] = gr[i] - fexp_bounded(orow[i]) * t   # log-probabilities: <= 0, -inf or NaN


def _cross_entropy(x, target, lse, picked):
    """Per row: ``lse[r] = log(sum(exp(x[r])))`` (stably) and ``picked[r] = x[r, target[r]]``.

    ``target`` holds valid class indices (the caller maps ignored rows to 0).
    """
    R, C = x.shape
    for r in prange(R):
        xr = x[r]
        m, s = _shifted_exp_sum(xr)
        lse[r] = m + np.log(s)
        picked[r] = xr[target[r]]


def _cross_entropy_backward(x, lse, target, coef, dx):
    """``dx[r] = coef[r] * (softmax(x[r]) - onehot(target[r]))`` (softmax from the saved ``lse``)."""
    R, C = x.shape
    for r in prange(R):
        xr = x[r]
        dr = dx[r]
        c = coef[r]
        lr = lse[r]
        for i in range(uint64(C)):
            dr[i] = c * fexp_bounded(xr[i] - lr)   # lse >= max: <= 0, -inf or NaN
        dr[target[r]] -= c


_SUM_BLOCK = 2048


def _row_sum(x, out):
    """``out[r] = sum(x[r])``: blocks of ``_SUM_BLOCK`` summed in the dtype, the blocks in float64.

    (A long row summed in float32 lane by lane would lose precision as it
    grows; numpy's pairwise sum does not, and neither do these blocks.)
    """
    R, C = x.shape
    for r in prange(R):
        xr = x[r]
        s = 0.0
        for b0 in range(0, C, _SUM_BLOCK):
            p = x.dtype.type(0)
            for i in range(uint64(b0), uint64(min(C, b0 + _SUM_BLOCK))):
                p += xr[i]
            s += p
        out[r] = s


softmax, softmax_serial = _twins(_softmax)
log_softmax, log_softmax_serial = _twins(_log_softmax)
softmax_backward, softmax_backward_serial = _twins(_softmax_backward)
log_softmax_backward, log_softmax_backward_serial = _twins(_log_softmax_backward)
cross_entropy, cross_entropy_serial = _twins(_cross_entropy)
cross_entropy_backward, cross_entropy_backward_serial = _twins(_cross_entropy_backward)
row_sum, row_sum_serial = _twins(_row_sum)


def _mid_sum(x, out):
    """``out[n] = sum(x[n], axis=0)`` for ``x`` (N, S, C): the spatial sum of channels-last memory."""
    N, S, C = x.shape
    for n in prange(N):
        o = out[n]
        for c in range(uint64(C)):
            o[c] = 0
        xn = x[n]
        for s in range(S):
            row = xn[s]
            for c in range(uint64(C)):
                o[c] += row[c]


mid_sum, mid_sum_serial = _twins(_mid_sum)
