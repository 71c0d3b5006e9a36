"""The direct, Winograd and depthwise convolution routes (kernels in ``kernels/conv_direct.py``,
``kernels/winograd.py`` and ``kernels/depthwise.py``): argument packing, layouts and output allocation.

``ops/conv.py`` decides which route runs (``conv._route``, the ``ROUTES`` table); the functions here
run one and return arrays in the layout the route produces:

* direct and winograd: any input layout in, channels-last (N, H, W, C) memory out,
  returned as its (N, C, H, W) view, like the GEMM route's;
* depthwise: the input's layout (NCHW memory in, NCHW out; channels-last in,
  channels-last out).

Each function takes ``call(name, *args)``, which runs kernel ``name`` of the
right module serially or in parallel and records the route (``conv._kernel``), and the compute dtype.
"""

from __future__ import annotations

import numpy as np

from ..kernels import load as _load
from ._common import to_nhwc

OB = 16  # output channels per tile of the direct kernels (kernels.conv_direct.OB)


def channels_last(a):
    """Whether the (N, C, H, W) array ``a`` is a view of C-contiguous (N, H, W, C) memory (C > 1)."""
    return a.shape[1] > 1 and a.transpose(0, 2, 3, 1).flags.c_contiguous


def as_kernel_input(a, dt):
    """(array, nchw flag): ``a`` in dtype ``dt`` as a C-contiguous NCHW array, or as its NHWC memory
    when ``a`` is channels-last; other strides are copied to NCHW."""
    a = a.astype(dt, copy=False)
    if channels_last(a):
        return a.transpose(0, 2, 3, 1), False
    return np.ascontiguousarray(a), True


def _nchw_view(a):
    return a.transpose(0, 3, 1, 2)


# --------------------------------------------------------------------------- direct

def direct_forward(call, x, w, b, p, OH, OW, cdt, nthreads):
    """y = F(x, w) + b by the direct kernel: (N, Co, OH, OW) view of channels-last memory."""
    K = _load("conv_direct")
    sh, sw, ph, pw, dh, dw, G = p
    Co, Cig, KH, KW = w.shape
    xk, x_nchw = as_kernel_input(x, cdt)
    N, C = xk.shape[0], (xk.shape[1] if x_nchw else xk.shape[3])
    y = np.empty((N, OH, OW, Co), cdt)
    if N and y.size:
        Hp, Wp = (OH - 1) * sh + (KH - 1) * dh + 1, (OW - 1) * sw + (KW - 1) * dw + 1
        order, toff, inner = K.merge_taps([(i, j, i * dh, j * dw) for i in range(KH) for j in range(KW)], C, G, Wp)
        wf = K.pack_weight(w.astype(cdt, copy=False), G, order).reshape(-1)
        passes = np.array([[OH, OW, 0, 0, 0, len(toff), inner, 0]], np.int64)
        call("direct_conv", xk, x_nchw, Cig, wf, K.pack_bias(b, Co, G, cdt), passes, toff, y, Hp, Wp, ph, pw, sh, sw,
             1, 1, max(1, min(nthreads, N)))
    elif b is not None:
        y[...] = np.asarray(b, cdt)
    return _nchw_view(y)


def _phases(n_in, n_out, k, s, pad, d):
    """The output phases of a strided conv's input gradient along one axis.

    Input position ``a + s*i`` (phase a) receives ``gy[i + c]`` through tap k
    whenever ``a + pad - k*d = s*c``. Returns (shift, extent, [(a, count, [(k, c), ...]), ...]):
    ``gy`` goes at ``shift`` in a zero buffer of ``extent`` rows, so every read
    ``i + c + shift`` is inside it.
    """
    phases = []
    for a in range(min(s, n_in)):
        taps = [(t, (a + pad - t * d) // s) for t in range(k) if (a + pad - t * d) % s == 0]
        phases.append((a, (n_in - a + s - 1) // s, taps))
    cs = [c for _, _, taps in phases for _, c in taps]
    shift = max([0] + [-c for c in cs])
    extent = max([n_out + shift] + [cnt - 1 + c + shift + 1 for _, cnt, taps in phases for _, c in taps])
    return shift, extent, phases


def direct_input_grad(call, gy, w, p, H, W, cdt, nthreads, bias=None):
    """dx = Fx*(gy, w) (+ bias, conv_transpose2d's) by the direct kernel, one pass per output phase of the
    stride (one for stride 1): (N, C, H, W) view of channels-last memory."""
    K = _load("conv_direct")
    sh, sw, ph, pw, dh, dw, G = p
    Co, Cig, KH, KW = w.shape
    gk, g_nchw = as_kernel_input(gy, cdt)
    N = gk.shape[0]
    OH, OW = gy.shape[2], gy.shape[3]
    dx = np.empty((N, H, W, Cig * G), cdt)
    if not (N and dx.size and gy.size):
        dx[...] = 0 if bias is None else np.asarray(bias, cdt)
        return _nchw_view(dx)
    wc = w.astype(cdt, copy=False)
    sy, Hp, rows = _phases(H, OH, KH, sh, ph, dh)
    sx, Wp, cols = _phases(W, OW, KW, sw, pw, dw)
    passes, toffs, wfs = [], [], []
    t0 = wbase = 0
    for a, na, ta in rows:
        for b, nb, tb in cols:
            if na and nb:  # a phase no tap reaches (ntoff = 0) gets zeros
                order, toff, inner = K.merge_taps([(i, j, ci + sy, cj + sx) for i, ci in ta for j, cj in tb], Co, G, Wp)
                wf = K.pack_weight_transposed(wc, G, order).reshape(-1)
                passes.append([na, nb, a, b, t0, len(toff), inner, wbase])
                toffs.append(toff)
                wfs.append(wf)
                t0, wbase = t0 + len(toff), wbase + wf.size
    call("direct_conv", gk, g_nchw, Co // G, np.concatenate(wfs), K.pack_bias(bias, Cig * G, G, cdt),
         np.array(passes, np.int64), np.concatenate(toffs).astype(np.int64), dx, Hp, Wp, sy, sx, 1, 1, sh, sw,
         max(1, min(nthreads, N)))
    return _nchw_view(dx)


def direct_weight_grad(call, x, gy, p, KH, KW, with_bias, cdt, nthreads):
    """(dw (Co, Cig, KH, KW), db (Co,) or None) by the direct weight-gradient kernel."""
    sh, sw, ph, pw, dh, dw, G = p
    N, C = x.shape[0], x.shape[1]
    Co = gy.shape[1]
    Cig, Cog = C // G, Co // G
    Cob = -(-Cog // OB)
    slots = max(1, min(nthreads, N))
    dwp = np.zeros((slots, G, KH * KW * Cig, Cob * OB), cdt)
    dbp = np.zeros((slots, Co if with_bias else 0), cdt)
    if N and gy.size:
        xk, x_nchw = as_kernel_input(x, cdt)
        gk, g_nchw = as_kernel_input(gy, cdt)
        call("direct_weight", xk, x_nchw, gk, g_nchw, dwp, dbp, KH, KW, sh, sw, ph, pw, dh, dw, Cob)
    dws = dwp[0] if slots == 1 else dwp.sum(0)
    dwt = dws[:, :, :Cog].reshape(G, KH, KW, Cig, Cog).transpose(0, 4, 3, 1, 2).reshape(Co, Cig, KH, KW)
    dwt = np.ascontiguousarray(dwt)
    return dwt, (dbp.sum(0) if with_bias else None)


# --------------------------------------------------------------------------- winograd

def _winograd_conv(call, a, w, b, ph, pw, OH, OW, cdt, nthreads):
    """The stride-1 3x3 correlation of ``a`` with ``w`` (+ ``b``) placed at (ph, pw), by Winograd F(2x2, 3x3)
    (``kernels/winograd.py``), or for a 1x3 ``w`` on unit-height maps (conv1d) F(2, 3): (N, Co, OH, OW) view
    of channels-last memory."""
    K = _load("winograd")
    Co = w.shape[0]
    ak, a_nchw = as_kernel_input(a, cdt)
    y = np.empty((ak.shape[0], OH, OW, Co), cdt)
    if y.size:
        bp = _load("conv_direct").pack_bias(b, Co, 1, cdt).reshape(-1)
        slots = max(1, min(nthreads, y.shape[0]))
        if w.shape[2] == 1:
            call("winograd_conv1", ak, a_nchw, K.transform_weight1(w[:, :, 0, :], cdt), bp, y, pw, slots)
        else:
            call("winograd_conv", ak, a_nchw, K.transform_weight(w, cdt), bp, y, ph, pw, slots)
    return _nchw_view(y)


def winograd_forward(call, x, w, b, p, OH, OW, cdt, nthreads):
    """y = F(x, w) + b for a stride-1 3x3 (or unit-height 1x3) conv by Winograd."""
    return _winograd_conv(call, x, w, b, p[2], p[3], OH, OW, cdt, nthreads)


def winograd_input_grad(call, gy, w, p, H, W, cdt, nthreads, bias=None):
    """dx (+ bias, conv_transpose2d's) of a stride-1 3x3 (or unit-height 1x3) conv by Winograd: the forward
    conv of ``gy`` with the weight flipped and its channels swapped, placed at padding k - 1 - p (negative:
    cropped)."""
    KH, KW = w.shape[2], w.shape[3]
    return _winograd_conv(call, gy, w.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1], bias, KH - 1 - p[2], KW - 1 - p[3],
                          H, W, cdt, nthreads)


def winograd_transposed(call, gy, w, p, H, W, cdt, nthreads, bias=None):
    """dx (+ bias) of a stride-2 4x4 conv, i.e. conv_transpose2d's x2 upsampling, by Winograd F(2x2, 2x2):
    per output phase (a, b), ``dx[a + 2i, b + 2j]`` is a stride-1 2x2 correlation of ``gy`` (its two taps
    per axis from ``_phases``). (N, C, H, W) view of channels-last memory."""
    K = _load("winograd")
    sh, sw, ph, pw, dh, dw, G = p
    Co, Cig, KH, KW = w.shape
    gk, g_nchw = as_kernel_input(gy, cdt)
    N = gk.shape[0]
    dx = np.empty((N, H, W, Cig), cdt)
    rows = [(a, na, sorted(ta, key=lambda t: t[1])) for a, na, ta in _phases(H, gy.shape[2], KH, sh, ph, dh)[2]]
    cols = [(b, nb, sorted(tb, key=lambda t: t[1])) for b, nb, tb in _phases(W, gy.shape[3], KW, sw, pw, dw)[2]]
    used = [(r, c) for r in rows for c in cols if r[1] and c[1]]
    if not (N and used and gy.size):
        dx[...] = 0 if bias is None else np.asarray(bias, cdt)
        return _nchw_view(dx)
    # every phase has two taps per axis, at gy offsets c and c + 1: place gy so that all tiles start inside
    PH, PW = max(0, -min(r[2][0][1] for r in rows)), max(0, -min(c[2][0][1] for c in cols))
    wt = w.astype(cdt, copy=False).transpose(1, 0, 2, 3)  # (Cig, Co, KH, KW): dx's channels first
    kern, phases, tiles, Hp, Wp = [], [], 1, 1, 1
    for (a, na, ta), (b, nb, tb) in used:
        kern.append(wt[:, :, [ta[0][0], ta[1][0]]][:, :, :, [tb[0][0], tb[1][0]]])
        oy, ox = PH + ta[0][1], PW + tb[0][1]
        TH, TW = (na + 1) // 2, (nb + 1) // 2
        phases.append((a, b, na, nb, oy, ox))
        tiles = max(tiles, min(TH, max(1, -(-K._BAND_TILES // TW))) * TW)
        Hp, Wp = max(Hp, oy + 2 * TH + 1), max(Wp, ox + 2 * TW + 1)
    U = K.transform_weight2(np.stack(kern), cdt)
    bp = _load("conv_direct").pack_bias(bias, Cig, 1, cdt).reshape(-1)
    call("winograd_phases", gk, g_nchw, U, bp, dx, np.array(phases, np.int64), PH, PW, Hp, Wp, tiles,
         max(1, min(nthreads, N)))
    return _nchw_view(dx)


def winograd_weight_grad(call, x, gy, p, KH, KW, with_bias, cdt, nthreads):
    """(dw (Co, C, 3, 3), db (Co,) or None) of a stride-1 3x3 conv by Winograd: per worker, the gradient of
    the transformed weight summed over its images, then ``G^T dU G``."""
    K = _load("winograd")
    N, C, Co = x.shape[0], x.shape[1], gy.shape[1]
    slots = max(1, min(nthreads, N))
    Cop = -(-Co // OB) * OB
    dU = np.zeros((slots, 16, C, Cop), cdt)
    dbp = np.zeros((slots, Cop if with_bias else 0), cdt)
    if N and gy.size:
        xk, x_nchw = as_kernel_input(x, cdt)
        gk = to_nhwc(gy.astype(cdt, copy=False))  # the tile transform reads 8 channels at a time
        call("winograd_weight", xk, x_nchw, gk, dU, dbp, p[2], p[3])
    dw = K.weight_from_transformed(dU[0] if slots == 1 else dU.sum(0), Co)
    return dw, (dbp.sum(0)[:Co] if with_bias else None)


# --------------------------------------------------------------------------- depthwise

def _dw_weight_tc(w, cdt, Cp, flip=False):
    """(C, 1, KH, KW) -> (KH*KW, Cp) taps x channels, zero-padded (channels-last kernels)."""
    C, _, KH, KW = w.shape
    w = w.astype(cdt, copy=False)[:, 0]
    if flip:
        w = w[:, ::-1, ::-1]
    wt = np.zeros((KH * KW, Cp), cdt)
    wt[:, :C] = w.reshape(C, KH * KW).T
    return wt


def _dw_weight_ct(w, cdt, flip=False):
    """(C, 1, KH, KW) -> C-contiguous (C, KH*KW) (planar kernels)."""
    C, _, KH, KW = w.shape
    w = w.astype(cdt, copy=False)[:, 0]
    if flip:
        w = w[:, ::-1, ::-1]
    return np.ascontiguousarray(w).reshape(C, KH * KW)


def _dw_forward(call, xk, x_nchw, w, bias, OH, OW, KH, KW, sh, sw, ph, pw, dh, dw, cdt, nthreads, flip=False):
    N = xk.shape[0]
    C = w.shape[0]
    if x_nchw:
        y = np.empty((N, C, OH, OW), cdt)
        if y.size:
            b = np.zeros(C, cdt) if bias is None else np.ascontiguousarray(bias, dtype=cdt)
            call("dw_forward_planar", xk, _dw_weight_ct(w, cdt, flip), b, y, KH, KW, sh, sw, ph, pw, dh, dw,
                 max(1, min(nthreads, N * C)))
        return y
    Cp = -(-C // 8) * 8
    y = np.empty((N, OH, OW, C), cdt)
    if y.size:
        b = np.zeros(Cp, cdt)
        if bias is not None:
            b[:C] = bias
        call("dw_forward_cl", xk, _dw_weight_tc(w, cdt, Cp, flip), b, y, KH, KW, sh, sw, ph, pw, dh, dw,
             max(1, min(nthreads, N)))
    return _nchw_view(y)


def dw_forward(call, x, w, b, p, OH, OW, cdt, nthreads):
    """Depthwise y = F(x, w) + b in the input's layout."""
    sh, sw, ph, pw, dh, dw, _ = p
    xk, x_nchw = as_kernel_input(x, cdt)
    return _dw_forward(call, xk, x_nchw, w, b, OH, OW, w.shape[2], w.shape[3], sh, sw, ph, pw, dh, dw, cdt, nthreads)


def dw_input_grad(call, gy, w, p, H, W, cdt, nthreads):
    """Depthwise dx = Fx*(gy, w): for stride 1 the depthwise conv of ``gy`` with the flipped kernel, in
    ``gy``'s layout; else scattered by the planar kernel (NCHW memory)."""
    sh, sw, ph, pw, dh, dw, _ = p
    KH, KW = w.shape[2], w.shape[3]
    gk, g_nchw = as_kernel_input(gy, cdt)
    if sh == sw == 1:
        return _dw_forward(call, gk, g_nchw, w, None, H, W, KH, KW, 1, 1, dh * (KH - 1) - ph, dw * (KW - 1) - pw,
                           dh, dw, cdt, nthreads, flip=True)
    if not g_nchw:  # the scatter kernel is planar: strided depthwise convs are rare on channels-last memory
        gk = np.ascontiguousarray(gy, dtype=cdt)
    dx = np.empty((gk.shape[0], w.shape[0], H, W), cdt)
    if dx.size:
        call("dw_backward_input_planar", gk, _dw_weight_ct(w, cdt), dx, KH, KW, sh, sw, ph, pw, dh, dw,
             max(1, min(nthreads, dx.shape[0] * dx.shape[1])))
    return dx


def dw_weight_grad(call, x, gy, p, KH, KW, with_bias, cdt, nthreads):
    """Depthwise (dw (C, 1, KH, KW), db (C,) or None); ``gy``'s layout picks the kernel."""
    sh, sw, ph, pw, dh, dw, _ = p
    N, C = x.shape[0], x.shape[1]
    slots = max(1, min(nthreads, N * C))
    if channels_last(gy):
        gk = gy.astype(cdt, copy=False).transpose(0, 2, 3, 1)
        xk = np.ascontiguousarray(x.astype(cdt, copy=False).transpose(0, 2, 3, 1))
        Cp = -(-C // 8) * 8
        slots = max(1, min(nthreads, N))
        dwp = np.zeros((slots, KH * KW, Cp), cdt)
        dbp = np.zeros((slots, Cp if with_bias else 0), cdt)
        if gy.size:
            call("dw_weight_cl", xk, gk, dwp, dbp, KH, KW, sh, sw, ph, pw, dh, dw)
        dwt = np.ascontiguousarray(dwp.sum(0)[:, :C].T).reshape(C, 1, KH, KW)
        return dwt, (dbp.sum(0)[:C].copy() if with_bias else None)
    gk = np.ascontiguousarray(gy, dtype=cdt)
    xk = np.ascontiguousarray(x, dtype=cdt)
    dwp = np.zeros((slots, C, KH * KW), cdt)
    dbp = np.zeros((slots, C if with_bias else 0), cdt)
    if gy.size:
        call("dw_weight_planar", xk, gk, dwp, dbp, KH, KW, sh, sw, ph, pw, dh, dw)
    return dwp.sum(0).reshape(C, 1, KH, KW), (dbp.sum(0) if with_bias else None)
