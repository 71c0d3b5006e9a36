"""Pooling kernels on channels-last (NHWC) arrays, vectorised over channels.

All arrays are C-contiguous; ``x``/``dx`` are (N, H, W, C), ``y``/``gy``/``idx``
are (N, OH, OW, C). Output sizes come from the arrays' shapes.

Max pooling stores, per output, the flat spatial index ``h * W + w`` of the
maximum (int32): the first maximum in row-major window order wins ties, and a
NaN wins over numbers (it propagates, as in PyTorch). No fastmath here: it
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
                        if v > b or idx[n, oh, ow, c] < 0 or (v != v and b == b):
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
