"""Direct 2-D convolution: a tile of 16 output channels x 6 output pixels kept in registers.

The GEMM route (``conv.py``) builds a patch matrix and hands it to OpenBLAS;
with 16 or 32 output channels the GEMM has M = 16-32 rows, which OpenBLAS runs
far below its peak, and building the patch matrix costs as much again. These
kernels skip the patch matrix: each image is copied once into a zero-padded
channels-last buffer ``xp`` (Hp, Wp, C) (transposing NCHW memory on the way),
and an output tile is summed straight from it:

    acc[r, j] = sum over taps t and input channels c of xp[base_r + off_t + c] * wp[t, c, j]

for the tile's 6 output pixels r (each with its own ``base_r``, so a tile may
span output rows: no pixel is wasted on short rows) and 16 output channels j
(two 8-lane vectors, ``simd.py``). That is 12 vector accumulators, 2 vector
weight loads and 6 scalar broadcasts per step: the inner loop is bound by the
fused multiply-adds, not by loads. The last tile of an image is shifted back
to end at the last pixel (it recomputes a few pixels with the same arithmetic,
so the values written twice are identical).

The weight gradient uses the same tile transposed: 6 entries of the
(tap, input channel) list x 16 output channels, summed over the pixels of an
image, read from ``xp`` and the output gradient in channels-last order.

The input gradient of a stride-1 convolution is itself a stride-1 convolution
of the output gradient (kernel flipped, in/out channels swapped, padding
``dilation*(k-1) - padding``), so the ops layer calls the forward kernel for it.

Arrays (C-contiguous):

``x``    (N, C, H, W) if ``x_nchw`` else (N, H, W, C)
``wp``   (G, Cob, KH*KW, Cig, 16): the weight packed by ``pack_weight``; output
         channels past Cog (the last block) are zero
``bp``   (G, Cob*16): bias padded the same way (zeros for no bias)
``y``    (N, Co, OH, OW) if ``y_nchw`` else (N, OH, OW, Co)
"""

from __future__ import annotations

import functools

import numpy as np
from numba import njit, prange

from .simd import vbcast, vfma, vload, vstore, vzero, vadd

_opts = dict(cache=True, nogil=True, boundscheck=False, error_model="numpy")

OB = 16  # output channels per tile: two 8-lane vectors
R = 6    # output pixels (forward) or (tap, channel) entries (weight gradient) per tile


def pack_weight(w, G, taps=None):
    """(Co, Cig, KH, KW) -> (G, Cob, T, Cig, 16), output channels zero-padded to blocks of 16; the T taps
    are ``taps`` [(i, j), ...] in that order (default: all, row by row).

    One compiled pass (``_pack``); ``pack_weight_numpy`` is the same in numpy, the reference the
    tests hold it to. The numpy version cost 100-150 us per conv call on the development VM (fancy
    indexing and a 5-d transposing copy), about 5% of a 32->32 16x16 forward.
    """
    Co, Cig, KH, KW = w.shape
    rows, cols = _tap_index(None if taps is None else tuple(taps), KH, KW)
    wp = np.zeros((G, -(-(Co // G) // OB), len(rows), Cig, OB), w.dtype)
    _pack(np.ascontiguousarray(w), G, rows, cols, wp, False)
    return wp


def pack_weight_transposed(w, G, taps):
    """The packed weight of (a phase of) the input gradient: (Co, Cig, KH, KW) -> as ``pack_weight`` of the
    (Cig*G, Cog, 1, len(taps)) weight ``wt[g*Cig + c, o, 0, t] = w[g*Cog + o, c, i_t, j_t]``, taps = [(i_t, j_t)]."""
    Co, Cig, KH, KW = w.shape
    rows, cols = _tap_index(tuple(taps), KH, KW)
    wp = np.zeros((G, -(-Cig // OB), len(rows), Co // G, OB), w.dtype)
    _pack(np.ascontiguousarray(w), G, rows, cols, wp, True)
    return wp


@functools.lru_cache(maxsize=256)
def _tap_index(taps, KH, KW):
    """(rows, cols) intp arrays of the taps [(i, j), ...] (all, row by row, if None); read only by the packers."""
    if taps is None:
        taps = [(i, j) for i in range(KH) for j in range(KW)]
    return np.array([t[0] for t in taps], np.intp), np.array([t[1] for t in taps], np.intp)


@njit(**_opts)
def _pack(w, G, rows, cols, wp, transposed):
    """``wp[g, a // 16, t, b, a % 16] = w[g*Cog + o, c, rows[t], cols[t]]`` with (a, b) = (o, c), or (c, o)
    when ``transposed`` (the input gradient's weight); ``wp`` is zeroed (the padding of the last block)."""
    Cog = w.shape[0] // G
    A, B = (w.shape[1], Cog) if transposed else (Cog, w.shape[1])
    for g in range(G):
        for a in range(A):
            ab = a // OB
            al = a - ab * OB
            for t in range(rows.shape[0]):
                i = rows[t]
                j = cols[t]
                for b in range(B):
                    o, c = (b, a) if transposed else (a, b)
                    wp[g, ab, t, b, al] = w[g * Cog + o, c, i, j]


def pack_weight_numpy(w, G, taps=None):
    """``pack_weight`` in numpy: the reference."""
    Co, Cig, KH, KW = w.shape
    Cog = Co // G
    Cob = -(-Cog // OB)
    if taps is None:
        wt = w.reshape(G, Cog, Cig, KH * KW)
    else:
        rows, cols = np.array([t[0] for t in taps], np.intp), np.array([t[1] for t in taps], np.intp)
        wt = w.reshape(G, Cog, Cig, KH, KW)[:, :, :, rows, cols]
    T = wt.shape[3]
    wp = np.zeros((G, Cob * OB, T, Cig), w.dtype)
    wp[:, :Cog] = wt.transpose(0, 1, 3, 2)
    return np.ascontiguousarray(wp.reshape(G, Cob, OB, T, Cig).transpose(0, 1, 3, 4, 2))


def pack_weight_transposed_numpy(w, G, taps):
    """``pack_weight_transposed`` in numpy: the reference."""
    Co, Cig, KH, KW = w.shape
    Cog = Co // G
    rows, cols = np.array([t[0] for t in taps], np.intp), np.array([t[1] for t in taps], np.intp)
    wt = w.reshape(G, Cog, Cig, KH, KW)[:, :, :, rows, cols].transpose(0, 2, 1, 3).reshape(G * Cig, Cog, 1, len(taps))
    return pack_weight_numpy(wt, G)


def pack_bias(b, Co, G, dtype):
    Cog = Co // G
    Cob = -(-Cog // OB)
    bp = np.zeros((G, Cob * OB), dtype)
    if b is not None:
        bp[:, :Cog] = np.asarray(b, dtype).reshape(G, Cog)
    return bp


# --------------------------------------------------------------------------- packing an image

@njit(**_opts)
def _pad_image(x, n, x_nchw, ph, pw, Hp, Wp, xp):
    """``xp`` (Hp*Wp*C,) = image n of ``x``, channels-last, shifted by (ph, pw), zeros elsewhere.

    ``ph``/``pw`` may be negative (rows or columns cropped); input pixels that
    fall outside [0, Hp) x [0, Wp) are left out. NCHW memory is transposed 8
    channels at a time (each buffer row stays in L1 while its 8 channels are
    written: 20-30% faster than one channel or one pixel at a time, measured).
    """
    if x_nchw:
        C, H, W = x.shape[1], x.shape[2], x.shape[3]
    else:
        H, W, C = x.shape[1], x.shape[2], x.shape[3]
    xp[:] = 0
    h0, h1 = max(0, -ph), min(H, Hp - ph)
    w0, w1 = max(0, -pw), min(W, Wp - pw)
    if w1 <= w0:
        return
    if x_nchw:
        for c0 in range(0, C, 8):
            for h in range(h0, h1):
                d0 = ((h + ph) * Wp + pw) * C
                for c in range(c0, min(C, c0 + 8)):
                    src = x[n, c, h]
                    for w in range(w0, w1):
                        xp[d0 + w * C + c] = src[w]
    else:
        for h in range(h0, h1):
            d0 = ((h + ph) * Wp + pw) * C
            src = x[n, h]
            for w in range(w0, w1):
                d = d0 + w * C
                for c in range(C):
                    xp[d + c] = src[w, c]


@njit(inline="always", **_opts)
def _pixel_base(p, OW, sh, sw, Wp, C):
    oh = p // OW
    ow = p - oh * OW
    return (oh * sh * Wp + ow * sw) * C


@njit(inline="always", **_opts)
def tile_bases(p0, P, OW, sh, sw, Wp, C, add):
    """Buffer offsets (+ ``add``) of a tile's 6 output pixels p0..p0+5 of P (past the last: the last again)."""
    return (_pixel_base(p0, OW, sh, sw, Wp, C) + add,
            _pixel_base(min(p0 + 1, P - 1), OW, sh, sw, Wp, C) + add,
            _pixel_base(min(p0 + 2, P - 1), OW, sh, sw, Wp, C) + add,
            _pixel_base(min(p0 + 3, P - 1), OW, sh, sw, Wp, C) + add,
            _pixel_base(min(p0 + 4, P - 1), OW, sh, sw, Wp, C) + add,
            _pixel_base(min(p0 + 5, P - 1), OW, sh, sw, Wp, C) + add)


@njit(inline="always", **_opts)
def tile_offsets(off, k0, add):
    """``off[k0:k0+6] + add`` as 6 values (past the end: the last entry again): a weight-gradient tile's rows."""
    last = off.shape[0] - 1
    return (off[k0] + add, off[min(k0 + 1, last)] + add, off[min(k0 + 2, last)] + add,
            off[min(k0 + 3, last)] + add, off[min(k0 + 4, last)] + add, off[min(k0 + 5, last)] + add)


# --------------------------------------------------------------------------- forward tile

@njit(inline="always", **_opts)
def _fwd_tile(xp, b0, b1, b2, b3, b4, b5, wp, wb, toff, inner, out, ob0, bp):
    """The 16 x 6 tile: pixels with bases b0..b5, for each offset ``toff[t]`` a run of ``inner``
    consecutive buffer elements against weights ``wp[wb + (t*inner + k)*16:][:16]``; results (+ bias
    ``bp[ob0:]``) into ``out`` (6, 16) rows."""
    a00 = vzero(wp)
    a01 = vzero(wp)
    a10 = vzero(wp)
    a11 = vzero(wp)
    a20 = vzero(wp)
    a21 = vzero(wp)
    a30 = vzero(wp)
    a31 = vzero(wp)
    a40 = vzero(wp)
    a41 = vzero(wp)
    a50 = vzero(wp)
    a51 = vzero(wp)
    T = toff.shape[0]
    for t in range(T):
        o = toff[t]
        wt = wb + t * inner * 16
        c0 = b0 + o
        c1 = b1 + o
        c2 = b2 + o
        c3 = b3 + o
        c4 = b4 + o
        c5 = b5 + o
        for ci in range(inner):
            w0 = vload(wp, wt + ci * 16)
            w1 = vload(wp, wt + ci * 16 + 8)
            v = vbcast(xp, c0 + ci)
            a00 = vfma(v, w0, a00)
            a01 = vfma(v, w1, a01)
            v = vbcast(xp, c1 + ci)
            a10 = vfma(v, w0, a10)
            a11 = vfma(v, w1, a11)
            v = vbcast(xp, c2 + ci)
            a20 = vfma(v, w0, a20)
            a21 = vfma(v, w1, a21)
            v = vbcast(xp, c3 + ci)
            a30 = vfma(v, w0, a30)
            a31 = vfma(v, w1, a31)
            v = vbcast(xp, c4 + ci)
            a40 = vfma(v, w0, a40)
            a41 = vfma(v, w1, a41)
            v = vbcast(xp, c5 + ci)
            a50 = vfma(v, w0, a50)
            a51 = vfma(v, w1, a51)
    bv0 = vload(bp, ob0)
    bv1 = vload(bp, ob0 + 8)
    vstore(out, 0, vadd(a00, bv0))
    vstore(out, 8, vadd(a01, bv1))
    vstore(out, 16, vadd(a10, bv0))
    vstore(out, 24, vadd(a11, bv1))
    vstore(out, 32, vadd(a20, bv0))
    vstore(out, 40, vadd(a21, bv1))
    vstore(out, 48, vadd(a30, bv0))
    vstore(out, 56, vadd(a31, bv1))
    vstore(out, 64, vadd(a40, bv0))
    vstore(out, 72, vadd(a41, bv1))
    vstore(out, 80, vadd(a50, bv0))
    vstore(out, 88, vadd(a51, bv1))


def merge_taps(taps, C, G, Wp):
    """(order, toff, inner) for ``direct_conv`` from taps [(i, j, u, v)] (``_merge_taps``, remembered: a
    conv asks the same question every call, and the answer cost 50-65 us of Python on the development VM)."""
    order, toff, inner = _merged(tuple(taps), C, G, Wp)
    return order, toff.copy(), inner


@functools.lru_cache(maxsize=512)
def _merged(taps, C, G, Wp):
    order, toff, inner = _merge_taps(taps, C, G, Wp)
    return tuple(order), toff, inner


def _merge_taps(taps, C, G, Wp):
    """(order, toff, inner) for ``direct_conv`` from taps [(i, j, u, v)]: weight tap (i, j) reads the
    buffer pixel (u, v) rows/columns from the output pixel's base.

    With one group, taps of one buffer row whose pixels are consecutive read one
    contiguous run of the buffer (the pixels' channels back to back), so each such
    row becomes one offset with ``inner`` = (taps in the row) * C: fewer, longer
    inner loops (3->32 3x3: 3 runs of 9 instead of 9 of 3). ``order`` lists the
    weight taps (i, j) in the order the weight must be packed in.
    """
    taps = sorted(taps, key=lambda t: (t[2], t[3]))
    rows = {}
    for t in taps:
        rows.setdefault(t[2], []).append(t)
    lens = {len(r) for r in rows.values()}
    runs = all(r[k + 1][3] == r[k][3] + 1 for r in rows.values() for k in range(len(r) - 1))
    order = [(t[0], t[1]) for t in taps]
    if G == 1 and len(lens) == 1 and runs:
        toff = [(r[0][2] * Wp + r[0][3]) * C for r in rows.values()]
        return order, np.array(toff, np.int64), lens.pop() * C
    return order, np.array([(t[2] * Wp + t[3]) * C for t in taps], np.int64), C // G


# A pass of ``direct_conv``: one row of ``passes`` (int64), what one output grid needs
PASS_FIELDS = ("OH", "OW", "oy0", "ox0", "toff_start", "ntoff", "inner", "wbase")


@njit(parallel=True, **_opts)
def direct_conv(x, x_nchw, Cig, wf, bp, passes, toff, y, Hp, Wp, ph, pw, sh, sw, osh, osw, nslots):
    """A direct convolution into the channels-last ``y`` (N, Hy, Wy, Co), in one or more passes.

    Image n of ``x`` is placed at (ph, pw) in a zero (Hp, Wp, C) buffer (``ph``
    and ``pw`` may be negative: cropped). Pass k (row k of ``passes``, fields
    ``PASS_FIELDS``) computes output pixels (i, j), i < OH, j < OW, into
    ``y[n, oy0 + i*osh, ox0 + j*osw]``: for each t < ntoff, the ``inner`` buffer
    elements from ``(i*sh*Wp + j*sw)*C + toff[toff_start + t]`` on, against the
    packed weight ``wf[wbase:]`` (G, Cob, ntoff, inner, 16) (``pack_weight``,
    flattened). ``inner`` is a tap's Cig channels, or with one group a row of
    taps one pixel apart (``merge_taps``); ``ntoff = 0`` writes the bias.

    A forward conv is one pass over the whole of ``y``. The input gradient of a
    strided conv is one pass per output phase (``oy0, ox0`` the phase, ``osh,
    osw`` the stride, the taps that reach that phase): all of an image's phases
    run while its buffer and output are in cache.

    ``bp`` (G, Cob*16): the bias, zero-padded per group. ``nslots`` workers each
    own an image buffer and take images s, s + nslots, ...
    """
    N = x.shape[0]
    C = x.shape[1] if x_nchw else x.shape[3]
    G, Cob = bp.shape[0], bp.shape[1] // OB
    bf = bp.reshape(bp.size)
    yf = y.reshape(y.size)
    for s in prange(nslots):
        xp = np.empty(Hp * Wp * C, x.dtype)
        out = np.empty(R * OB, x.dtype)
        for n in range(s, N, nslots):
            _pad_image(x, n, x_nchw, ph, pw, Hp, Wp, xp)
            _conv_image(xp, n, C, G, Cob, Cig, wf, bf, passes, toff, y.shape[1], y.shape[2], y.shape[3], yf,
                        Wp, sh, sw, osh, osw, out)


@njit(**_opts)
def _conv_image(xp, n, C, G, Cob, Cig, wf, bf, passes, toff, Hy, Wy, Co, yf, Wp, sh, sw, osh, osw, out):
    """``direct_conv``'s passes over image n, read from its padded buffer ``xp``.

    A function of its own, not inlined into ``direct_conv``: Numba's parallel
    passes then see only the short loop over images, which cuts the kernel's
    cold compile (``python -m benchmarks.compile_time``) at no measurable cost:
    one call per image.
    """
    Cog = Co // G
    for k in range(passes.shape[0]):
        OH, OW, oy0, ox0 = passes[k, 0], passes[k, 1], passes[k, 2], passes[k, 3]
        t0, nt, inner, wbase = passes[k, 4], passes[k, 5], passes[k, 6], passes[k, 7]
        tk = toff[t0:t0 + nt]
        P = OH * OW
        for g in range(G):
            ci0 = g * Cig
            for ob in range(Cob):
                wb = wbase + (g * Cob + ob) * nt * inner * OB
                ob0 = (g * Cob + ob) * OB
                nco = min(OB, Cog - ob * OB)
                co0 = g * Cog + ob * OB
                for pt in range(0, P, R):
                    p0 = max(0, min(pt, P - R))
                    b0, b1, b2, b3, b4, b5 = tile_bases(p0, P, OW, sh, sw, Wp, C, ci0)
                    _fwd_tile(xp, b0, b1, b2, b3, b4, b5, wf, wb, tk, inner, out, ob0, bf)
                    for r in range(min(R, P - p0)):
                        i = (p0 + r) // OW
                        j = p0 + r - i * OW
                        d = ((n * Hy + oy0 + i * osh) * Wy + ox0 + j * osw) * Co + co0
                        if nco == OB:
                            vstore(yf, d, vload(out, r * OB))
                            vstore(yf, d + 8, vload(out, r * OB + 8))
                        else:
                            for q in range(nco):
                                yf[d + q] = out[r * OB + q]


# --------------------------------------------------------------------------- weight gradient

@njit(inline="always", **_opts)
def _wgrad_tile(xp, o0, o1, o2, o3, o4, o5, gs, gbase, gstride, OH, OW, sh, sw, Wp, C, acc):
    """``acc[r, :] = sum over output pixels of xp[pixel base + o_r] * gs[gbase + pixel*gstride : +16]`` (r < 6)."""
    a00 = vzero(xp)
    a01 = vzero(xp)
    a10 = vzero(xp)
    a11 = vzero(xp)
    a20 = vzero(xp)
    a21 = vzero(xp)
    a30 = vzero(xp)
    a31 = vzero(xp)
    a40 = vzero(xp)
    a41 = vzero(xp)
    a50 = vzero(xp)
    a51 = vzero(xp)
    for oh in range(OH):
        rb = oh * sh * Wp * C
        gi = gbase + oh * OW * gstride
        for ow in range(OW):
            pb = rb + ow * sw * C
            g0 = vload(gs, gi)
            g1 = vload(gs, gi + 8)
            gi += gstride
            v = vbcast(xp, pb + o0)
            a00 = vfma(v, g0, a00)
            a01 = vfma(v, g1, a01)
            v = vbcast(xp, pb + o1)
            a10 = vfma(v, g0, a10)
            a11 = vfma(v, g1, a11)
            v = vbcast(xp, pb + o2)
            a20 = vfma(v, g0, a20)
            a21 = vfma(v, g1, a21)
            v = vbcast(xp, pb + o3)
            a30 = vfma(v, g0, a30)
            a31 = vfma(v, g1, a31)
            v = vbcast(xp, pb + o4)
            a40 = vfma(v, g0, a40)
            a41 = vfma(v, g1, a41)
            v = vbcast(xp, pb + o5)
            a50 = vfma(v, g0, a50)
            a51 = vfma(v, g1, a51)
    vstore(acc, 0, a00)
    vstore(acc, 8, a01)
    vstore(acc, 16, a10)
    vstore(acc, 24, a11)
    vstore(acc, 32, a20)
    vstore(acc, 40, a21)
    vstore(acc, 48, a30)
    vstore(acc, 56, a31)
    vstore(acc, 64, a40)
    vstore(acc, 72, a41)
    vstore(acc, 80, a50)
    vstore(acc, 88, a51)


@njit(**_opts)
def _channels_last_padded(gy, n, gy_nchw, G, Cog, Cob, gb):
    """``gb`` (P, G*Cob*16) = image n of ``gy``, channels-last, each group's channels zero-padded to Cob*16.

    NCHW memory is transposed 8 channels at a time (as in ``_pad_image``).
    """
    if gy_nchw:
        OH, OW = gy.shape[2], gy.shape[3]
    else:
        OH, OW = gy.shape[1], gy.shape[2]
    P = OH * OW
    Cs = G * Cob * OB
    if Cog % OB:
        gb[:] = 0
    for g in range(G):
        d0 = g * Cob * OB
        if gy_nchw:
            src = gy[n].reshape((G * Cog, P))
            for c0 in range(0, Cog, 8):
                c1 = min(Cog, c0 + 8)
                for p in range(P):
                    d = p * Cs + d0
                    for c in range(c0, c1):
                        gb[d + c] = src[g * Cog + c, p]
        else:
            src2 = gy[n].reshape((P, G * Cog))
            for p in range(P):
                d = p * Cs + d0
                for c in range(Cog):
                    gb[d + c] = src2[p, g * Cog + c]


@njit(parallel=True, **_opts)
def direct_weight(x, x_nchw, gy, gy_nchw, dwp, dbp, KH, KW, sh, sw, ph, pw, dh, dw, Cob):
    """Weight-gradient partials: ``dwp`` (S, G, KH*KW*Cig, Cob*16) += slot s's images' sums (zeroed by the
    caller; entry ``[s, g, t*Cig + c, o]`` is tap t, input channel g*Cig + c, output channel g*Cog + o), and
    ``dbp`` (S, Co) += the sums of ``gy`` per channel unless it has no columns.

    ``gy``: (N, Co, OH, OW) if ``gy_nchw`` else (N, OH, OW, Co). Slot s takes images s, s + S, ...
    """
    S, G, KT, Cs = dwp.shape
    N = x.shape[0]
    C = x.shape[1] if x_nchw else x.shape[3]
    if gy_nchw:
        Co, OH, OW = gy.shape[1], gy.shape[2], gy.shape[3]
    else:
        OH, OW, Co = gy.shape[1], gy.shape[2], gy.shape[3]
    Cig = C // G
    Cog = Co // G
    P = OH * OW
    Hp = (OH - 1) * sh + (KH - 1) * dh + 1
    Wp = (OW - 1) * sw + (KW - 1) * dw + 1
    koff = np.empty(KT, np.int64)
    for i in range(KH):
        for j in range(KW):
            for c in range(Cig):
                koff[(i * KW + j) * Cig + c] = (i * dh * Wp + j * dw) * C + c
    direct = not gy_nchw and Cog % OB == 0
    need_db = dbp.shape[1] > 0
    gyf = gy.reshape(gy.size)
    for s in prange(S):
        xp = np.empty(Hp * Wp * C, x.dtype)
        gb = np.empty(0 if direct else P * G * Cob * OB, x.dtype)
        acc = np.empty(R * OB, x.dtype)
        for n in range(s, N, S):
            _pad_image(x, n, x_nchw, ph, pw, Hp, Wp, xp)
            if direct:
                gs = gyf
                gbase0 = n * P * Co
                gstride = Co
            else:
                _channels_last_padded(gy, n, gy_nchw, G, Cog, Cob, gb)
                gs = gb
                gbase0 = 0
                gstride = G * Cob * OB
            _weight_image(xp, gs, gbase0, gstride, direct, dwp[s], dbp[s], need_db, koff, G, Cig, Cog, Cob,
                          OH, OW, sh, sw, Wp, C, acc)


@njit(**_opts)
def _weight_image(xp, gs, gbase0, gstride, direct, dst_s, db_s, need_db, koff, G, Cig, Cog, Cob, OH, OW, sh, sw,
                  Wp, C, acc):
    """``direct_weight``'s sums over one image (a function of its own, as ``_conv_image``)."""
    P = OH * OW
    KT = koff.shape[0]
    if need_db:
        for g in range(G):
            for co in range(Cog):
                col = gbase0 + (co + g * Cog if direct else co + g * Cob * OB)
                t = db_s[g * Cog + co]
                for p in range(P):
                    t += gs[col + p * gstride]
                db_s[g * Cog + co] = t
    for g in range(G):
        gc = g * Cig
        dst = dst_s[g]
        for ob in range(Cob):
            gbase = gbase0 + (g * Cog + ob * OB if direct else (g * Cob + ob) * OB)
            for k0 in range(0, KT, R):
                nk = min(R, KT - k0)
                o0, o1, o2, o3, o4, o5 = tile_offsets(koff, k0, gc)
                _wgrad_tile(xp, o0, o1, o2, o3, o4, o5, gs, gbase, gstride, OH, OW, sh, sw, Wp, C, acc)
                for r in range(nk):
                    row = dst[k0 + r]
                    for j in range(OB):
                        row[ob * OB + j] += acc[r * OB + j]
