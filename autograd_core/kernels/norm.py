"""Batch-normalisation kernels: per-channel statistics, the affine map, and the backward's sums.

numpy spends about fifteen full passes (each a temporary array) on a batch
norm's forward and backward, its reductions over strided axes; these kernels
need four, in float64 accumulators, on all threads.

Two memory layouts, as the convolutions produce them:

* ``_ncs``: ``x`` viewed as (N, C, S), C-contiguous (NCHW memory, S = H*W);
* ``_mc``: ``x`` viewed as (M, C), C-contiguous (channels-last memory, M = N*H*W).
  The caller may hand over k pixels per row, (M/k, k*C), with every per-channel
  vector tiled k times and ``part`` folded back afterwards (``ops/norm.py``'s
  ``_mc_rows``): the kernels see only a row length and vectors of that length.

Statistics are accumulated around a shift (the channel's first value), which
keeps ``sum(d^2) - sum(d)^2 / M`` free of cancellation when the mean is large
against the spread. The ``_mc`` kernels have each thread sum a block of rows
into its own row of ``part`` (summed afterwards by the caller).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange, uint64

_opts = dict(cache=True, nogil=True, boundscheck=False, error_model="numpy")
# The sums may be reassociated (so LLVM vectorises them into several partial
# sums; 3x faster measured); nothing else of fastmath (NaN and inf keep
# numpy's semantics).
_sums = dict(_opts, fastmath={"reassoc", "contract"})


@njit(parallel=True, **_sums)
def stats_ncs(x, shift, s1, s2):
    """``s1[c] = sum(x[:, c] - shift[c])``, ``s2[c] = sum((x[:, c] - shift[c])^2)`` (float64)."""
    N, C, S = x.shape
    for c in prange(C):
        k = np.float64(shift[c])
        a = 0.0
        b = 0.0
        for n in range(N):
            row = x[n, c]
            for i in range(uint64(S)):
                d = np.float64(row[i]) - k
                a += d
                b += d * d
        s1[c] = a
        s2[c] = b


@njit(parallel=True, **_sums)
def stats_mc(x, shift, part):
    """``part[t, 0, c]`` / ``part[t, 1, c]``: sums of ``x[m, c] - shift[c]`` and its square over block t of rows.

    Four rows per step: with one, each row's short loop over the channels (16 in
    ResNet's first stage) read and wrote the partial sums in memory once per
    row, and ran at half the NCHW kernel's speed; four rows per pass measured
    1.7-2.2x faster for 16-64 channels.
    """
    M, C = x.shape
    T = part.shape[0]
    rows = (M + T - 1) // T
    for t in prange(T):
        p1 = part[t, 0]
        p2 = part[t, 1]
        p1[:] = 0
        p2[:] = 0
        m = t * rows
        m1 = min(M, (t + 1) * rows)
        while m + 4 <= m1:
            r0, r1, r2, r3 = x[m], x[m + 1], x[m + 2], x[m + 3]
            for c in range(uint64(C)):
                k = shift[c]
                d0 = np.float64(r0[c]) - k
                d1 = np.float64(r1[c]) - k
                d2 = np.float64(r2[c]) - k
                d3 = np.float64(r3[c]) - k
                p1[c] += (d0 + d1) + (d2 + d3)
                p2[c] += (d0 * d0 + d1 * d1) + (d2 * d2 + d3 * d3)
            m += 4
        while m < m1:
            row = x[m]
            for c in range(uint64(C)):
                d = np.float64(row[c]) - shift[c]
                p1[c] += d
                p2[c] += d * d
            m += 1


@njit(parallel=True, **_opts)
def affine_ncs(x, mean, scale, bias, y):
    """``y[n, c] = (x[n, c] - mean[c]) * scale[c] + bias[c]`` (centred first: no cancellation for large means)."""
    N, C, S = x.shape
    for t in prange(N * C):
        n = t // C
        c = t - n * C
        mu = mean[c]
        a = scale[c]
        b = bias[c]
        xr = x[n, c]
        yr = y[n, c]
        for i in range(uint64(S)):
            yr[i] = (xr[i] - mu) * a + b


@njit(parallel=True, **_opts)
def affine_mc(x, mean, scale, bias, y):
    """As ``affine_ncs`` on (M, C) memory."""
    M, C = x.shape
    for m in prange(M):
        xr = x[m]
        yr = y[m]
        for c in range(uint64(C)):
            yr[c] = (xr[c] - mean[c]) * scale[c] + bias[c]


@njit(parallel=True, **_sums)
def grad_sums_ncs(g, x, mean, sg, sgx):
    """``sg[c] = sum(g[:, c])``, ``sgx[c] = sum(g[:, c] * (x[:, c] - mean[c]))`` (float64)."""
    N, C, S = x.shape
    for c in prange(C):
        mu = np.float64(mean[c])
        a = 0.0
        b = 0.0
        for n in range(N):
            gr = g[n, c]
            xr = x[n, c]
            for i in range(uint64(S)):
                gv = np.float64(gr[i])
                a += gv
                b += gv * (np.float64(xr[i]) - mu)
        sg[c] = a
        sgx[c] = b


@njit(parallel=True, **_sums)
def grad_sums_mc(g, x, mean, part):
    """As ``grad_sums_ncs`` on (M, C) memory: block t of rows into ``part[t, 0]`` (sum g) and ``part[t, 1]``.

    Four rows per step, as ``stats_mc``.
    """
    M, C = x.shape
    T = part.shape[0]
    rows = (M + T - 1) // T
    for t in prange(T):
        p1 = part[t, 0]
        p2 = part[t, 1]
        p1[:] = 0
        p2[:] = 0
        m = t * rows
        m1 = min(M, (t + 1) * rows)
        while m + 4 <= m1:
            g0, g1, g2, g3 = g[m], g[m + 1], g[m + 2], g[m + 3]
            x0, x1, x2, x3 = x[m], x[m + 1], x[m + 2], x[m + 3]
            for c in range(uint64(C)):
                mu = mean[c]
                a0 = np.float64(g0[c])
                a1 = np.float64(g1[c])
                a2 = np.float64(g2[c])
                a3 = np.float64(g3[c])
                p1[c] += (a0 + a1) + (a2 + a3)
                p2[c] += ((a0 * (np.float64(x0[c]) - mu) + a1 * (np.float64(x1[c]) - mu))
                          + (a2 * (np.float64(x2[c]) - mu) + a3 * (np.float64(x3[c]) - mu)))
            m += 4
        while m < m1:
            gr = g[m]
            xr = x[m]
            for c in range(uint64(C)):
                gv = np.float64(gr[c])
                p1[c] += gv
                p2[c] += gv * (np.float64(xr[c]) - mean[c])
            m += 1


@njit(parallel=True, **_opts)
def grad_input_ncs(g, x, mean, a, b, k, dx):
    """``dx = a[c] * g + b[c] * (x - mean[c]) + k[c]`` per channel (the batch-norm input gradient, folded)."""
    N, C, S = x.shape
    for t in prange(N * C):
        n = t // C
        c = t - n * C
        mu = mean[c]
        ac = a[c]
        bc = b[c]
        kc = k[c]
        gr = g[n, c]
        xr = x[n, c]
        dr = dx[n, c]
        for i in range(uint64(S)):
            dr[i] = ac * gr[i] + bc * (xr[i] - mu) + kc


@njit(parallel=True, **_opts)
def grad_input_mc(g, x, mean, a, b, k, dx):
    """As ``grad_input_ncs`` on (M, C) memory."""
    M, C = x.shape
    for m in prange(M):
        gr = g[m]
        xr = x[m]
        dr = dx[m]
        for c in range(uint64(C)):
            dr[c] = a[c] * gr[c] + b[c] * (xr[c] - mean[c]) + k[c]


# --------------------------------------------------------------------------- per-channel finishing (serial)
#
# Between the passes over the data, batch norm works on per-channel vectors:
# fold the partial sums, the mean and variance, the affine map's coefficients,
# tiled for the wide channels-last rows. As numpy calls that was some twenty
# small operations per call, 100-150 us on the development VM (a third of a
# 64-channel 8x8 batch norm); one compiled call does it in a few.


@njit(inline="always", **_opts)
def _fold(part, c, C):
    """Channel ``c``'s two sums from ``part`` (T, 2, k * C): every block of rows, every pixel of a row."""
    s1 = 0.0
    s2 = 0.0
    for t in range(part.shape[0]):
        for r in range(part.shape[2] // C):
            s1 += part[t, 0, r * C + c]
            s2 += part[t, 1, r * C + c]
    return s1, s2


@njit(**_opts)
def finish_stats(part, shift, M, eps, one, weight, bias, mean, var, invstd, coef):
    """Mean, biased variance and ``invstd = 1 / sqrt(var + eps)`` of each channel, and the affine map.

    ``part`` (T, 2, L): sums of ``x - shift`` and of its square over T blocks of
    rows, L = k * C columns (k pixels per row, ``shift`` (L,) the channel's shift
    tiled). ``M`` values per channel. Writes ``mean``, ``var``, ``invstd`` (C,) in
    the data's dtype (statistics in float64, rounded once; ``invstd`` in the
    data's dtype, as numpy computed it: ``eps`` and ``one`` are of that dtype),
    and ``coef`` (3, L): mean, scale = invstd * weight, and bias, tiled k times.
    """
    C = mean.shape[0]
    k = part.shape[2] // C
    for c in range(C):
        s1, s2 = _fold(part, c, C)
        mean[c] = shift[c] + s1 / M
        var[c] = max((s2 - s1 * s1 / M) / M, 0.0)
        inv = one / np.sqrt(var[c] + eps)
        invstd[c] = inv
        sc = inv * weight[c]
        for r in range(k):
            coef[0, r * C + c] = mean[c]
            coef[1, r * C + c] = sc
            coef[2, r * C + c] = bias[c]


@njit(**_opts)
def finish_grads(part, M, mean, invstd, weight, coef, dw, db):
    """The backward's per-channel coefficients from the gradient sums.

    ``part`` (T, 2, L) as ``finish_stats``'s, of ``g`` and ``g * (x - mean)``.
    With ``A = weight * invstd`` (float64), ``dx = a g + b (x - mean) + k``:
    ``a = A``, ``b = -A invstd^2 mean(g (x - mean))``, ``k = -A mean(g)``;
    ``coef`` (4, L) gets mean, a, b, k tiled; ``dw = sum(g (x - mean)) invstd``,
    ``db = sum(g)``.
    """
    C = mean.shape[0]
    k = part.shape[2] // C
    for c in range(C):
        sg, sgx = _fold(part, c, C)
        inv = np.float64(invstd[c])
        A = inv * np.float64(weight[c])
        b = -A * inv * inv * (sgx / M)
        kk = -A * (sg / M)
        for r in range(k):
            coef[0, r * C + c] = mean[c]
            coef[1, r * C + c] = A
            coef[2, r * C + c] = b
            coef[3, r * C + c] = kk
        dw[c] = sgx * inv
        db[c] = sg
