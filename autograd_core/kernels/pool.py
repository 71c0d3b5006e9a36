"""Pooling kernels on channels-last (NHWC) arrays, vectorised over channels,
and max-pooling kernels on planar (NCHW) arrays, one plane per task.

All arrays are C-contiguous; for the channels-last kernels ``x``/``dx`` are
(N, H, W, C), ``y``/``gy``/``idx`` are (N, OH, OW, C); the ``_planar`` ones
take (N, C, H, W) and (N, C, OH, OW). Output sizes come from the arrays' shapes.

Max pooling stores, per output, the flat spatial index ``h * W + w`` of the
maximum (int32): the first maximum in row-major window order wins ties, and a
NaN wins over numbers (it propagates) and over earlier NaNs, so the gradient
goes to the window's last NaN, as in PyTorch (``val > max || isnan(val)``). No fastmath here: it
would assume there are no NaNs. The backward scatters through those indices,
``prange`` over images so overlapping windows add without races.

Average pooling takes its windows as per-row and per-column ranges
``[rs, re) x [cs, ce)`` (already clipped to the input) and the reciprocal
of the divisor as ``rinv[oh] * cinv[ow]`` (in the data's dtype), which covers ``count_include_pad``, ``ceil_mode``,
``divisor_override`` and adaptive pooling with one kernel.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

_opts = dict(cache=True, nogil=True, boundscheck=False, error_model="numpy")


@njit(parallel=True, **_opts)
def max_pool2d_forward(x, y, idx, KH, KW, sh, sw, ph, pw, dh, dw):
    N, H, W, C = x.shape
    OH, OW = y.shape[1], y.shape[2]
    for t in prange(N * OH):
        n = t // OH
        oh = t - n * OH
        for ow in range(OW):
            for c in range(C):
                y[n, oh, ow, c] = -np.inf
                idx[n, oh, ow, c] = -1
            for i in range(KH):
                h = oh * sh - ph + i * dh
                if h < 0 or h >= H:
                    continue
                for j in range(KW):
                    w = ow * sw - pw + j * dw
                    if w < 0 or w >= W:
                        continue
                    flat = h * W + w
                    for c in range(C):
                        v = x[n, h, w, c]
                        b = y[n, oh, ow, c]
                        if v > b or idx[n, oh, ow, c] < 0 or v != v:
                            y[n, oh, ow, c] = v
                            idx[n, oh, ow, c] = flat


@njit(parallel=True, **_opts)
def max_pool2d_backward(gy, idx, dx):
    """``dx[n, idx[n, oh, ow, c], c] += gy[n, oh, ow, c]``; overwrites ``dx``."""
    N, H, W, C = dx.shape
    OH, OW = gy.shape[1], gy.shape[2]
    for n in prange(N):
        d = dx[n].reshape((H * W, C))
        d[:] = 0
        for oh in range(OH):
            for ow in range(OW):
                for c in range(C):
                    k = idx[n, oh, ow, c]
                    if k >= 0:
                        d[k, c] += gy[n, oh, ow, c]


@njit(parallel=True, **_opts)
def max_pool2d_backward_nchw(gy, idx, dx):
    """As ``max_pool2d_backward``, but ``dx`` is (N, C, H, W) memory."""
    N, C, H, W = dx.shape
    OH, OW = gy.shape[1], gy.shape[2]
    for n in prange(N):
        d = dx[n].reshape((C, H * W))
        d[:] = 0
        for oh in range(OH):
            for ow in range(OW):
                for c in range(C):
                    k = idx[n, oh, ow, c]
                    if k >= 0:
                        d[c, k] += gy[n, oh, ow, c]


@njit(inline="always", **_opts)
def _window_max(xp, H, W, h0, w0, KH, KW, dh, dw, check):
    """(max, flat index) over the window at (h0, w0) of the plane ``xp``; ``check``: skip taps outside it.

    Branch-free updates (selects): on random data a branch per tap was
    mispredicted half the time and made the kernel 2x slower.
    """
    best = -np.inf
    k = -1
    for i in range(KH):
        h = h0 + i * dh
        if check and (h < 0 or h >= H):
            continue
        for j in range(KW):
            w = w0 + j * dw
            if check and (w < 0 or w >= W):
                continue
            v = xp[h, w]
            take = (v > best) | (k < 0) | (v != v)
            best = v if take else best
            k = (h * W + w) if take else k
    return best, k


@njit(parallel=True, **_opts)
def max_pool2d_forward_planar(x, y, idx, KH, KW, sh, sw, ph, pw, dh, dw):
    """As ``max_pool2d_forward`` on (N, C, H, W) memory: ``x`` (N, C, H, W), ``y``/``idx`` (N, C, OH, OW).

    One plane per task; windows wholly inside the input skip the bounds checks.
    For inputs in ordinary NCHW memory (a planar conv's output), where the
    channels-last kernel would need a transposing copy first.
    """
    N, C, H, W = x.shape
    OH, OW = y.shape[2], y.shape[3]
    oh_lo, ow_lo = (ph + sh - 1) // sh, (pw + sw - 1) // sw
    oh_hi = max(oh_lo, min(OH, (H - 1 - (KH - 1) * dh + ph) // sh + 1))
    ow_hi = max(ow_lo, min(OW, (W - 1 - (KW - 1) * dw + pw) // sw + 1))
    for t in prange(N * C):
        n = t // C
        c = t - n * C
        xp = x[n, c]
        yp = y[n, c]
        ip = idx[n, c]
        for oh in range(OH):
            h0 = oh * sh - ph
            inner = oh >= oh_lo and oh < oh_hi
            for ow in range(OW):
                w0 = ow * sw - pw
                if inner and ow >= ow_lo and ow < ow_hi:
                    b, k = _window_max(xp, H, W, h0, w0, KH, KW, dh, dw, False)
                else:
                    b, k = _window_max(xp, H, W, h0, w0, KH, KW, dh, dw, True)
                yp[oh, ow] = b
                ip[oh, ow] = k


@njit(inline="always", **_opts)
def _take(v, best, k, kv):
    """One branch-free step of a running max with index (a NaN wins, even over a NaN; the first maximum
    keeps ties)."""
    t = (v > best) | (v != v)
    return (v if t else best), (kv if t else k)


@njit(parallel=True, **_opts)
def max_pool2d_forward_planar_2x2(x, y, idx):
    """``max_pool2d_forward_planar`` for the common 2x2 windows, stride 2, no padding, all inside the input.

    Written out for the four taps: 2.1x faster than the general kernel on
    LeNet's 64x6x28x28 (344 vs 706 us, same run).
    """
    N, C, H, W = x.shape
    OH, OW = y.shape[2], y.shape[3]
    for t in prange(N * C):
        n = t // C
        c = t - n * C
        xp = x[n, c]
        yp = y[n, c]
        ip = idx[n, c]
        for oh in range(OH):
            r0 = xp[2 * oh]
            r1 = xp[2 * oh + 1]
            yr = yp[oh]
            ir = ip[oh]
            f0 = 2 * oh * W
            for ow in range(OW):
                w = 2 * ow
                best, k = r0[w], f0 + w
                best, k = _take(r0[w + 1], best, k, f0 + w + 1)
                best, k = _take(r1[w], best, k, f0 + W + w)
                best, k = _take(r1[w + 1], best, k, f0 + W + w + 1)
                yr[ow] = best
                ir[ow] = k


@njit(parallel=True, **_opts)
def max_pool2d_backward_planar(gy, idx, dx):
    """``dx[n, c].flat[idx[n, c, oh, ow]] += gy[n, c, oh, ow]`` on (N, C, *) memory; overwrites ``dx``."""
    N, C, H, W = dx.shape
    OH, OW = gy.shape[2], gy.shape[3]
    for t in prange(N * C):
        n = t // C
        c = t - n * C
        d = dx[n, c].reshape(H * W)
        d[:] = 0
        g = gy[n, c]
        ip = idx[n, c]
        for oh in range(OH):
            for ow in range(OW):
                k = ip[oh, ow]
                if k >= 0:
                    d[k] += g[oh, ow]


@njit(parallel=True, **_opts)
def avg_pool2d_forward(x, y, rs, re, cs, ce, rinv, cinv):
    N, H, W, C = x.shape
    OH, OW = y.shape[1], y.shape[2]
    for t in prange(N * OH):
        n = t // OH
        oh = t - n * OH
        for ow in range(OW):
            for c in range(C):
                y[n, oh, ow, c] = 0
            for h in range(rs[oh], re[oh]):
                for w in range(cs[ow], ce[ow]):
                    for c in range(C):
                        y[n, oh, ow, c] += x[n, h, w, c]
            scale = rinv[oh] * cinv[ow]
            for c in range(C):
                y[n, oh, ow, c] *= scale


@njit(parallel=True, **_opts)
def avg_pool2d_backward(gy, dx, rs, re, cs, ce, rinv, cinv):
    """The adjoint of ``avg_pool2d_forward``; overwrites ``dx``."""
    N, H, W, C = dx.shape
    OH, OW = gy.shape[1], gy.shape[2]
    for n in prange(N):
        dx[n] = 0
        for oh in range(OH):
            for ow in range(OW):
                scale = rinv[oh] * cinv[ow]
                for h in range(rs[oh], re[oh]):
                    for w in range(cs[ow], ce[ow]):
                        for c in range(C):
                            dx[n, h, w, c] += gy[n, oh, ow, c] * scale
