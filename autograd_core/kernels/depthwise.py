"""Depthwise 2-D convolution (groups == channels, one filter per channel).

A depthwise conv has KH*KW multiply-adds per output value and nothing to share
between channels, so a GEMM per channel (what the grouped GEMM route does) is
the wrong algorithm: it is a stencil, bound by memory traffic. Two layouts:

* planar (NCHW memory): one (image, channel) plane per task. The plane is
  copied into a zero-padded buffer ``xp`` (Hp, Wp); with stride 1 the output
  is computed on the padded ("virtual") width, where tap (i, j) of output
  position ``q = oh*Wp + ow`` reads ``xp[q + i*dh*Wp + j*dw]``: one long
  vectorised stencil along q, 32 positions per step. The junk columns
  (ow >= OW) are dropped when the row is written out.
* channels-last (NHWC memory): XNNPACK's arrangement: vectorised over
  channels, 8 channels x 6 output pixels per tile, the weights ``wt`` packed
  once as (taps, channels) so each tap is one vector load.

The input gradient of a stride-1 depthwise conv is a depthwise conv of the
output gradient with the kernel flipped and padding ``d*(k-1) - p`` (the ops
layer calls the forward kernels for it); for larger strides the planar kernels
scatter. Weight gradients: per-thread partial sums ``dwp`` (S, ...) that the
caller adds.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .conv_direct import tile_bases, tile_offsets
from .simd import vadd, vfma, vload, vsplat, vstore, vsum, vzero

_opts = dict(cache=True, nogil=True, boundscheck=False, error_model="numpy")

_Q = 32   # virtual-width positions per step of the planar stencil (four vectors)
_SLACK = 64  # zeros after a padded plane: the last step's vectors may read past it


@njit(**_opts)
def _pad_plane(src, H, W, ph, pw, Hp, Wp, xp):
    """``xp[(h+ph)*Wp + w+pw] = src[h, w]`` where that lands inside (Hp, Wp), zeros elsewhere (and in the slack)."""
    xp[:] = 0
    h0, h1 = max(0, -ph), min(H, Hp - ph)
    w0, w1 = max(0, -pw), min(W, Wp - pw)
    for h in range(h0, h1):
        d = (h + ph) * Wp + pw
        row = src[h]
        for w in range(w0, w1):
            xp[d + w] = row[w]


@njit(inline="always", **_opts)
def _stencil(xp, toff, wc, ov, L):
    """``ov[q] = sum_t wc[t] * xp[q + toff[t]]`` for q in [0, L rounded up to _Q)."""
    T = toff.shape[0]
    for q in range(0, L, _Q):
        a0 = vzero(xp)
        a1 = vzero(xp)
        a2 = vzero(xp)
        a3 = vzero(xp)
        for t in range(T):
            v = vsplat(xp, wc[t])
            b = q + toff[t]
            a0 = vfma(v, vload(xp, b), a0)
            a1 = vfma(v, vload(xp, b + 8), a1)
            a2 = vfma(v, vload(xp, b + 16), a2)
            a3 = vfma(v, vload(xp, b + 24), a3)
        vstore(ov, q, a0)
        vstore(ov, q + 8, a1)
        vstore(ov, q + 16, a2)
        vstore(ov, q + 24, a3)


@njit(parallel=True, **_opts)
def dw_forward_planar(x, w, bias, y, KH, KW, sh, sw, ph, pw, dh, dw, nslots):
    """``y[n, c] = x[n, c] (*) w[c] + bias[c]``: x (N, C, H, W), w (C, KH*KW), bias (C,) (zeros for none),
    y (N, C, OH, OW) preallocated. ``ph``/``pw`` may be negative (cropping: the input-gradient use).
    ``nslots`` workers each own the buffers and take planes s, s + nslots, ..."""
    N, C, H, W = x.shape
    OH, OW = y.shape[2], y.shape[3]
    T = KH * KW
    Hp = (OH - 1) * sh + (KH - 1) * dh + 1
    Wp = (OW - 1) * sw + (KW - 1) * dw + 1
    L = (OH - 1) * Wp + OW
    Lr = (L + _Q - 1) // _Q * _Q
    toff = np.empty(T, np.int64)
    for i in range(KH):
        for j in range(KW):
            toff[i * KW + j] = i * dh * Wp + j * dw
    for s in prange(nslots):
        xp = np.empty(Hp * Wp + Lr + _SLACK, x.dtype)
        ov = np.empty(Lr, x.dtype)
        for item in range(s, N * C, nslots):
            n = item // C
            c = item - n * C
            _pad_plane(x[n, c], H, W, ph, pw, Hp, Wp, xp)
            _plane_out(xp, toff, w[c], bias[c], ov, L, y[n, c], sh, sw, Wp)


@njit(**_opts)
def _plane_out(xp, toff, wc, bv, ov, L, yo, sh, sw, Wp):
    """One output plane ``yo`` (OH, OW) from its padded input plane ``xp``.

    This and the other per-plane / per-image functions below are not inlined
    into the parallel kernels: Numba's parallel passes then see only the short
    loop over planes or images, which cuts the cold compile
    (``python -m benchmarks.compile_time``) at the cost of one call per plane.
    """
    OH, OW = yo.shape
    T = toff.shape[0]
    if sh == 1 and sw == 1:
        _stencil(xp, toff, wc, ov, L)
        for oh in range(OH):
            r = yo[oh]
            b = oh * Wp
            for ow in range(OW):
                r[ow] = ov[b + ow] + bv
    else:
        for oh in range(OH):
            r = yo[oh]
            for ow in range(OW):
                acc = xp.dtype.type(0)
                b = oh * sh * Wp + ow * sw
                for t in range(T):
                    acc += wc[t] * xp[b + toff[t]]
                r[ow] = acc + bv


@njit(parallel=True, **_opts)
def dw_backward_input_planar(gy, w, dx, KH, KW, sh, sw, ph, pw, dh, dw, nslots):
    """``dx`` (N, C, H, W) = the input gradient of ``dw_forward_planar`` for any stride (overwritten):
    each output gradient scattered through the taps into a padded plane, which is then cropped."""
    N, C, H, W = dx.shape
    OH, OW = gy.shape[2], gy.shape[3]
    Hp = max((OH - 1) * sh + (KH - 1) * dh + 1, H + ph)
    Wp = max((OW - 1) * sw + (KW - 1) * dw + 1, W + pw)
    for s in prange(nslots):
        dxp = np.empty(Hp * Wp, dx.dtype)
        for item in range(s, N * C, nslots):
            n = item // C
            c = item - n * C
            _scatter_plane(gy[n, c], w[c], dx[n, c], dxp, KH, KW, sh, sw, ph, pw, dh, dw, Wp)


@njit(**_opts)
def _scatter_plane(g, wc, o, dxp, KH, KW, sh, sw, ph, pw, dh, dw, Wp):
    """``o`` (H, W) = the output gradient plane ``g`` scattered through the taps ``wc``, cropped."""
    OH, OW = g.shape
    H, W = o.shape
    dxp[:] = 0
    for oh in range(OH):
        for i in range(KH):
            rb = (oh * sh + i * dh) * Wp
            for j in range(KW):
                wv = wc[i * KW + j]
                b = rb + j * dw
                for ow in range(OW):
                    dxp[b + ow * sw] += wv * g[oh, ow]
    for h in range(H):
        for v in range(W):
            o[h, v] = dxp[(h + ph) * Wp + v + pw]


@njit(parallel=True, **_opts)
def dw_weight_planar(x, gy, dwp, dbp, KH, KW, sh, sw, ph, pw, dh, dw):
    """Weight-gradient partials ``dwp`` (S, C, KH*KW) and bias-gradient partials ``dbp`` (S, C) or (S, 0),
    zeroed by the caller: slot s sums the planes s, s + S, ... of the (N*C) planes."""
    N, C, H, W = x.shape
    OH, OW = gy.shape[2], gy.shape[3]
    S = dwp.shape[0]
    T = KH * KW
    Hp = (OH - 1) * sh + (KH - 1) * dh + 1
    Wp = (OW - 1) * sw + (KW - 1) * dw + 1
    L = (OH - 1) * Wp + OW
    Lr = (L + _Q - 1) // _Q * _Q
    need_db = dbp.shape[1] > 0
    toff = np.empty(T, np.int64)
    for i in range(KH):
        for j in range(KW):
            toff[i * KW + j] = i * dh * Wp + j * dw
    for s in prange(S):
        xp = np.empty(Hp * Wp + Lr + _SLACK, x.dtype)
        gv = np.zeros(Lr, x.dtype)
        for item in range(s, N * C, S):
            n = item // C
            c = item - n * C
            _pad_plane(x[n, c], H, W, ph, pw, Hp, Wp, xp)
            _weight_plane(xp, gy[n, c], gv, dwp[s, c], dbp[s], c, need_db, toff, sh, sw, Wp, L)


@njit(**_opts)
def _weight_plane(xp, g, gv, dw_c, db_s, c, need_db, toff, sh, sw, Wp, L):
    """Adds one plane's sums to ``dw_c`` (T,) (and ``db_s[c]``): ``xp`` the padded input plane, ``g`` (OH, OW)
    its output gradient, ``gv`` a scratch row whose junk columns stay 0."""
    OH, OW = g.shape
    T = toff.shape[0]
    if need_db:
        tot = db_s[c]
        for oh in range(OH):
            for ow in range(OW):
                tot += g[oh, ow]
        db_s[c] = tot
    if sh == 1 and sw == 1:
        for oh in range(OH):  # gy on the virtual width; junk columns and the tail stay 0
            b = oh * Wp
            for ow in range(OW):
                gv[b + ow] = g[oh, ow]
        for t in range(T):
            o = toff[t]
            a0 = vzero(xp)
            a1 = vzero(xp)
            a2 = vzero(xp)
            a3 = vzero(xp)
            for q in range(0, L, _Q):
                a0 = vfma(vload(gv, q), vload(xp, q + o), a0)
                a1 = vfma(vload(gv, q + 8), vload(xp, q + o + 8), a1)
                a2 = vfma(vload(gv, q + 16), vload(xp, q + o + 16), a2)
                a3 = vfma(vload(gv, q + 24), vload(xp, q + o + 24), a3)
            dw_c[t] += vsum(a0) + vsum(a1) + vsum(a2) + vsum(a3)
    else:
        for t in range(T):
            acc = xp.dtype.type(0)
            for oh in range(OH):
                for ow in range(OW):
                    acc += g[oh, ow] * xp[oh * sh * Wp + ow * sw + toff[t]]
            dw_c[t] += acc


# --------------------------------------------------------------------------- channels-last

@njit(**_opts)
def _pad_image_cl(x, n, ph, pw, Hp, Wp, Cp, xp):
    """``xp`` (Hp*Wp*Cp,) = image n of the NHWC ``x``, shifted by (ph, pw), channels padded to Cp, zeros elsewhere."""
    H, W, C = x.shape[1], x.shape[2], x.shape[3]
    xp[:] = 0
    h0, h1 = max(0, -ph), min(H, Hp - ph)
    w0, w1 = max(0, -pw), min(W, Wp - pw)
    for h in range(h0, h1):
        src = x[n, h]
        for v in range(w0, w1):
            d = ((h + ph) * Wp + v + pw) * Cp
            for c in range(C):
                xp[d + c] = src[v, c]


@njit(parallel=True, **_opts)
def dw_forward_cl(x, wt, bias, y, KH, KW, sh, sw, ph, pw, dh, dw, nslots):
    """As ``dw_forward_planar`` on channels-last arrays: x (N, H, W, C), wt (KH*KW, Cp) the weight transposed
    and zero-padded to Cp = C rounded up to 8, bias (Cp,) (zeros for none), y (N, OH, OW, C)."""
    N, H, W, C = x.shape
    OH, OW = y.shape[1], y.shape[2]
    T, Cp = wt.shape
    P = OH * OW
    Hp = (OH - 1) * sh + (KH - 1) * dh + 1
    Wp = (OW - 1) * sw + (KW - 1) * dw + 1
    toff = np.empty(T, np.int64)
    for i in range(KH):
        for j in range(KW):
            toff[i * KW + j] = (i * dh * Wp + j * dw) * Cp
    wf = wt.reshape(wt.size)
    yf = y.reshape(y.size)
    full = C % 8 == 0
    for s in prange(nslots):
        xp = np.empty(Hp * Wp * Cp, x.dtype)
        out = np.empty(6 * 8, x.dtype)
        for n in range(s, N, nslots):
            _pad_image_cl(x, np.int64(n), ph, pw, Hp, Wp, Cp, xp)
            _forward_image_cl(xp, n, wf, bias, yf, toff, C, Cp, P, OW, sh, sw, Wp, full, out)


@njit(**_opts)
def _forward_image_cl(xp, n, wf, bias, yf, toff, C, Cp, P, OW, sh, sw, Wp, full, out):
    """``dw_forward_cl``'s output pixels of image n, from its padded buffer ``xp``."""
    T = toff.shape[0]
    for pt in range(0, P, 6):
        p0 = max(0, min(pt, P - 6))
        b0, b1, b2, b3, b4, b5 = tile_bases(p0, P, OW, sh, sw, Wp, Cp, 0)
        npx = min(6, P - p0)
        for c0 in range(0, Cp, 8):
            a0 = vload(bias, c0)
            a1 = a0
            a2 = a0
            a3 = a0
            a4 = a0
            a5 = a0
            for t in range(T):
                wv = vload(wf, t * Cp + c0)
                o = toff[t] + c0
                a0 = vfma(wv, vload(xp, b0 + o), a0)
                a1 = vfma(wv, vload(xp, b1 + o), a1)
                a2 = vfma(wv, vload(xp, b2 + o), a2)
                a3 = vfma(wv, vload(xp, b3 + o), a3)
                a4 = vfma(wv, vload(xp, b4 + o), a4)
                a5 = vfma(wv, vload(xp, b5 + o), a5)
            if full:
                d = (n * P + p0) * C + c0
                vstore(yf, d, a0)
                if npx > 1:
                    vstore(yf, d + C, a1)
                if npx > 2:
                    vstore(yf, d + 2 * C, a2)
                if npx > 3:
                    vstore(yf, d + 3 * C, a3)
                if npx > 4:
                    vstore(yf, d + 4 * C, a4)
                if npx > 5:
                    vstore(yf, d + 5 * C, a5)
            else:
                vstore(out, 0, a0)
                vstore(out, 8, a1)
                vstore(out, 16, a2)
                vstore(out, 24, a3)
                vstore(out, 32, a4)
                vstore(out, 40, a5)
                nc = min(8, C - c0)
                for r in range(npx):
                    d = (n * P + p0 + r) * C + c0
                    for j in range(nc):
                        yf[d + j] = out[r * 8 + j]


@njit(parallel=True, **_opts)
def dw_weight_cl(x, gy, dwp, dbp, KH, KW, sh, sw, ph, pw, dh, dw):
    """Weight-gradient partials ``dwp`` (S, KH*KW, Cp) and bias-gradient partials ``dbp`` (S, Cp) or (S, 0),
    zeroed by the caller, of the channels-last depthwise conv: x (N, H, W, C), gy (N, OH, OW, C).
    Slot s sums images s, s + S, ..."""
    N, H, W, C = x.shape
    OH, OW = gy.shape[1], gy.shape[2]
    S, T, Cp = dwp.shape
    P = OH * OW
    Hp = (OH - 1) * sh + (KH - 1) * dh + 1
    Wp = (OW - 1) * sw + (KW - 1) * dw + 1
    need_db = dbp.shape[1] > 0
    toff = np.empty(T, np.int64)
    for i in range(KH):
        for j in range(KW):
            toff[i * KW + j] = (i * dh * Wp + j * dw) * Cp
    for s in prange(S):
        xp = np.empty(Hp * Wp * Cp, x.dtype)
        gb = np.zeros(P * Cp, x.dtype)  # the image's gy with channels padded to Cp (padding stays 0)
        for n in range(s, N, S):
            _pad_image_cl(x, np.int64(n), ph, pw, Hp, Wp, Cp, xp)
            _weight_image_cl(xp, gy[n].reshape((P, C)), gb, dwp[s], dbp[s], need_db, toff, OH, OW, sh, sw, Wp)


@njit(**_opts)
def _weight_image_cl(xp, gsrc, gb, acc, db_s, need_db, toff, OH, OW, sh, sw, Wp):
    """Adds one image's sums to ``acc`` (T, Cp) (and ``db_s``): ``xp`` its padded buffer, ``gsrc`` (P, C) its
    output gradient, ``gb`` a (P*Cp,) scratch whose channel padding stays 0."""
    P, C = gsrc.shape
    T, Cp = acc.shape
    for p in range(P):
        for c in range(C):
            gb[p * Cp + c] = gsrc[p, c]
    if need_db:
        for p in range(P):
            for c in range(C):
                db_s[c] += gsrc[p, c]
    for c0 in range(0, Cp, 8):
        for t0 in range(0, T, 6):
            o0, o1, o2, o3, o4, o5 = tile_offsets(toff, t0, c0)
            a0 = vzero(xp)
            a1 = vzero(xp)
            a2 = vzero(xp)
            a3 = vzero(xp)
            a4 = vzero(xp)
            a5 = vzero(xp)
            for oh in range(OH):
                rb = oh * sh * Wp * Cp
                gi = oh * OW * Cp + c0
                for ow in range(OW):
                    pb = rb + ow * sw * Cp
                    g = vload(gb, gi)
                    gi += Cp
                    a0 = vfma(g, vload(xp, pb + o0), a0)
                    a1 = vfma(g, vload(xp, pb + o1), a1)
                    a2 = vfma(g, vload(xp, pb + o2), a2)
                    a3 = vfma(g, vload(xp, pb + o3), a3)
                    a4 = vfma(g, vload(xp, pb + o4), a4)
                    a5 = vfma(g, vload(xp, pb + o5), a5)
            nt = min(6, T - t0)
            vstore(acc[t0], c0, vadd(vload(acc[t0], c0), a0))
            if nt > 1:
                vstore(acc[t0 + 1], c0, vadd(vload(acc[t0 + 1], c0), a1))
            if nt > 2:
                vstore(acc[t0 + 2], c0, vadd(vload(acc[t0 + 2], c0), a2))
            if nt > 3:
                vstore(acc[t0 + 3], c0, vadd(vload(acc[t0 + 3], c0), a3))
            if nt > 4:
                vstore(acc[t0 + 4], c0, vadd(vload(acc[t0 + 4], c0), a4))
            if nt > 5:
                vstore(acc[t0 + 5], c0, vadd(vload(acc[t0 + 5], c0), a5))
