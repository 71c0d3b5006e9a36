"""2-D cross-correlation kernels: im2col + GEMM on channels-last (NHWC) arrays.

All arrays are C-contiguous and share one float dtype (float32 or float64):

``x``   (N, H, W, C)          input
``y``   (N, OH, OW, Co)       output (``gy`` its gradient)
``wm``  (G, K, Cog)           weight as GEMM operand, ``K = KH * KW * Cig`` ordered
                              (kh, kw, ci); ``wmt`` is its (G, Cog, K) transpose
``G`` groups, ``Cig = C // G`` and ``Cog = Co // G`` channels per group.

Output pixel ``(n, oh, ow)`` of group ``g`` reads input pixel
``(n, oh*sh - ph + i*dh, ow*sw - pw + j*dw)`` for tap ``(i, j)``; taps outside the
input are zero padding. Output sizes come from the arrays' shapes, so asymmetric
padding ('same' with an even kernel) and ``output_padding`` need no extra
argument.

Each parallel kernel splits the batch into chunks of ``chunk`` images (the
caller sizes a chunk's im2col buffer to stay in L2) and calls BLAS once per
chunk and group (``blas.dot_into``/``dot_acc``: numpy's OpenBLAS, no SciPy),
single-threaded inside the parallel loops (see ``_threads.py``). A group's
channels are a column block of the NHWC rows, which BLAS reads and writes in
place through its leading dimension.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange, uint64

from . import blas

_opts = dict(cache=True, nogil=True, boundscheck=False, error_model="numpy")


# GEMM. ``blas.dot_into``/``dot_acc`` accept any layout, but that generality
# costs about 7 s of compilation per array type (a cold first conv2d took 15 s
# instead of 3.5). Every operand here already has a unit stride along one
# axis, so this calls the same CBLAS entry points (numpy's OpenBLAS, registered
# by ``blas``) directly, with leading dimensions read from the strides; when
# ``blas`` found no OpenBLAS it falls back to ``blas``'s own functions.
if blas.LIBRARY is not None:
    _sgemm, _dgemm = blas._sgemm, blas._dgemm

    @njit(**_opts)
    def _gemm_raw(item, m, n, k, pa, sa0, sa1, pb, sb0, sb1, pc, sc0, beta):
        """``C = A @ B + beta * C`` for (m, k) @ (k, n) operands given by address and byte strides.

        One compiled function for every dtype and operand layout. Each operand
        has a unit stride along one axis; its CBLAS transpose flag and leading
        dimension are read from the strides. With ``k == 0`` BLAS itself sets
        ``C = beta * C`` (zeros for ``beta == 0``, as the BLAS reference defines).
        """
        if m == 0 or n == 0:
            return
        if sa1 == item or k == 1:
            ta, lda = 111, max(sa0 // item if m > 1 else k, k, 1)
        else:
            ta, lda = 112, max(sa1 // item if k > 1 else m, m, 1)
        if sb1 == item or n == 1:
            tb, ldb = 111, max(sb0 // item if k > 1 else n, n, 1)
        else:
            tb, ldb = 112, max(sb1 // item if n > 1 else k, k, 1)
        ldc = max(sc0 // item if m > 1 else n, n, 1)
        if item == 4:
            _sgemm(101, ta, tb, m, n, k, np.float32(1.0), pa, lda, pb, ldb, np.float32(beta), pc, ldc)
        else:
            _dgemm(101, ta, tb, m, n, k, 1.0, pa, lda, pb, ldb, beta, pc, ldc)

    @njit(inline="always", **_opts)
    def _gemm(a, b, out, beta):
        """``out = a @ b + beta * out``; ``out`` has a unit stride along its rows.

        Inlined, and only reads the arrays' attributes: a ``_gemm`` of the arrays
        compiled once per combination of operand layouts (14 signatures, 0.5-0.6 s
        each, in ``benchmarks.compile_time``), and inlining one that worked out the
        layouts itself made the largest kernel compile 1.4x slower.
        """
        _gemm_raw(out.itemsize, a.shape[0], b.shape[1], a.shape[1], a.ctypes.data, a.strides[0], a.strides[1],
                  b.ctypes.data, b.strides[0], b.strides[1], out.ctypes.data, out.strides[0], beta)
else:  # pragma: no cover - numpy without a bundled OpenBLAS
    @njit(**_opts)
    def _gemm(a, b, out, beta):
        if beta == 0:
            blas.dot_into(a, b, out)
        else:
            blas.dot_acc(a, b, out)


@njit(inline="always", **_opts)
def dot_into(a, b, out):
    """``out[...] = a @ b``."""
    _gemm(a, b, out, 0.0)


@njit(inline="always", **_opts)
def dot_acc(a, b, out):
    """``out += a @ b``."""
    _gemm(a, b, out, 1.0)


@njit(inline="always", **_opts)
def _valid(o0, step, n, OUT, L):
    """The range [lo, hi) of outputs o with 0 <= o0 + o*step < L (step > 0), clipped to [0, OUT)."""
    lo = 0 if o0 >= 0 else (-o0 + step - 1) // step
    hi = 0 if o0 >= L else (L - o0 + step - 1) // step
    return min(lo, OUT), max(min(hi, OUT), min(lo, OUT))


# Index arithmetic in the copy loops is unsigned (uint64): Numba checks every
# signed index for negative wrap-around, which kept these loops from
# vectorising (2-3x slower measured). Every unsigned offset below is >= 0 by
# construction (taps outside the input are skipped first).

@njit(**_opts)
def _im2col(x, col, n0, nb, c0, cg, KH, KW, OH, OW, sh, sw, ph, pw, dh, dw):
    """Fill ``col`` (nb*OH*OW, KH*KW*cg) with the patches of images n0..n0+nb, channels c0..c0+cg.

    Loops run tap by tap over a row of outputs, with the in-bounds range of
    output columns computed once per tap, so the copy loops have no branches.
    """
    N, H, W, C = x.shape
    K = col.shape[1]
    xf = x.reshape(N * H * W * C)
    cf = col.reshape(col.shape[0] * K)
    ucg = uint64(cg)
    for n in range(n0, n0 + nb):
        for oh in range(OH):
            r0 = ((n - n0) * OH + oh) * OW
            for i in range(KH):
                h = oh * sh - ph + i * dh
                for j in range(KW):
                    k = (i * KW + j) * cg
                    w0 = j * dw - pw
                    lo, hi = _valid(w0, sw, 0, OW, W)
                    if h < 0 or h >= H:
                        lo, hi = OW, OW
                    for ow in range(lo):
                        d = uint64((r0 + ow) * K + k)
                        for c in range(ucg):
                            cf[d + c] = 0
                    for ow in range(lo, hi):
                        s = uint64(((n * H + h) * W + w0 + ow * sw) * C + c0)
                        d = uint64((r0 + ow) * K + k)
                        for c in range(ucg):
                            cf[d + c] = xf[s + c]
                    for ow in range(hi, OW):
                        d = uint64((r0 + ow) * K + k)
                        for c in range(ucg):
                            cf[d + c] = 0


@njit(**_opts)
def _col2im_add(col, dx, n0, nb, c0, cg, KH, KW, OH, OW, sh, sw, ph, pw, dh, dw):
    """Add the patch gradients ``col`` back into ``dx`` (the adjoint of ``_im2col``)."""
    N, H, W, C = dx.shape
    K = col.shape[1]
    df = dx.reshape(N * H * W * C)
    cf = col.reshape(col.shape[0] * K)
    ucg = uint64(cg)
    for n in range(n0, n0 + nb):
        for oh in range(OH):
            r0 = ((n - n0) * OH + oh) * OW
            for i in range(KH):
                h = oh * sh - ph + i * dh
                if h < 0 or h >= H:
                    continue
                for j in range(KW):
                    k = (i * KW + j) * cg
                    w0 = j * dw - pw
                    lo, hi = _valid(w0, sw, 0, OW, W)
                    for o in range(lo, hi):
                        s = uint64((r0 + o) * K + k)
                        d = uint64(((n * H + h) * W + w0 + o * sw) * C + c0)
                        for c in range(ucg):
                            df[d + c] += cf[s + c]


@njit(**_opts)
def _forward_chunk(x, wm, bias, y, n0, nb, KH, KW, sh, sw, ph, pw, dh, dw, colbuf):
    G, K, Cog = wm.shape
    OH, OW, Co = y.shape[1], y.shape[2], y.shape[3]
    Cig = x.shape[3] // G
    rows = nb * OH * OW
    col = colbuf[:rows]
    yc = y[n0:n0 + nb].reshape((rows, Co))
    for g in range(G):
        _im2col(x, col, n0, nb, g * Cig, Cig, KH, KW, OH, OW, sh, sw, ph, pw, dh, dw)
        dot_into(col, wm[g], yc[:, g * Cog:(g + 1) * Cog])
    if bias.shape[0]:
        for r in range(rows):
            for c in range(Co):
                yc[r, c] += bias[c]


@njit(parallel=True, **_opts)
def conv2d_forward(x, wm, bias, y, KH, KW, sh, sw, ph, pw, dh, dw, chunk, nslots):
    """``y = x (*) w + bias`` into the preallocated ``y``; ``bias`` may have length 0.

    ``nslots`` workers (one per thread) each allocate one patch buffer and take
    chunks ``s, s + nslots, ...``: the buffer stays in cache from chunk to chunk.
    """
    N, K = x.shape[0], wm.shape[1]
    P = y.shape[1] * y.shape[2]
    nchunks = (N + chunk - 1) // chunk
    for s in prange(nslots):
        colbuf = np.empty((chunk * P, K), x.dtype)
        for ci in range(s, nchunks, nslots):
            n0 = ci * chunk
            _forward_chunk(x, wm, bias, y, n0, min(chunk, N - n0), KH, KW, sh, sw, ph, pw, dh, dw, colbuf)


@njit(**_opts)
def _input_chunk(gy, wmt, dx, n0, nb, KH, KW, sh, sw, ph, pw, dh, dw, colbuf):
    G, Cog, K = wmt.shape
    OH, OW, Co = gy.shape[1], gy.shape[2], gy.shape[3]
    Cig = dx.shape[3] // G
    rows = nb * OH * OW
    dcol = colbuf[:rows]
    gyc = gy[n0:n0 + nb].reshape((rows, Co))
    dx[n0:n0 + nb] = 0
    for g in range(G):
        dot_into(gyc[:, g * Cog:(g + 1) * Cog], wmt[g], dcol)
        _col2im_add(dcol, dx, n0, nb, g * Cig, Cig, KH, KW, OH, OW, sh, sw, ph, pw, dh, dw)


@njit(parallel=True, **_opts)
def conv2d_backward_input(gy, wmt, dx, KH, KW, sh, sw, ph, pw, dh, dw, chunk, nslots):
    """``dx`` = gradient of the input (the transposed convolution of ``gy``); overwrites ``dx``.

    Each chunk of images owns its slice of ``dx``, so overlapping windows add
    without races; workers as in ``conv2d_forward``.
    """
    N, K = gy.shape[0], wmt.shape[2]
    P = gy.shape[1] * gy.shape[2]
    nchunks = (N + chunk - 1) // chunk
    for s in prange(nslots):
        colbuf = np.empty((chunk * P, K), gy.dtype)
        for ci in range(s, nchunks, nslots):
            n0 = ci * chunk
            _input_chunk(gy, wmt, dx, n0, min(chunk, N - n0), KH, KW, sh, sw, ph, pw, dh, dw, colbuf)


@njit(**_opts)
def _weight_slot(x, gy, dwp, dbp, s, nslots, chunk, KH, KW, sh, sw, ph, pw, dh, dw):
    N = x.shape[0]
    G, K, Cog = dwp.shape[1], dwp.shape[2], dwp.shape[3]
    OH, OW, Co = gy.shape[1], gy.shape[2], gy.shape[3]
    Cig = x.shape[3] // G
    col = np.empty((chunk * OH * OW, K), x.dtype)
    nchunks = (N + chunk - 1) // chunk
    acc = dwp[s]
    for ci in range(s, nchunks, nslots):
        n0 = ci * chunk
        nb = min(chunk, N - n0)
        rows = nb * OH * OW
        gyc = gy[n0:n0 + nb].reshape((rows, Co))
        if dbp.shape[1]:
            db = dbp[s]
            for r in range(rows):
                for c in range(Co):
                    db[c] += gyc[r, c]
        for g in range(G):
            cb = col[:rows]
            _im2col(x, cb, n0, nb, g * Cig, Cig, KH, KW, OH, OW, sh, sw, ph, pw, dh, dw)
            dot_acc(cb.T, gyc[:, g * Cog:(g + 1) * Cog], acc[g])


@njit(parallel=True, **_opts)
def conv2d_backward_weight(x, gy, dwp, dbp, KH, KW, sh, sw, ph, pw, dh, dw, chunk):
    """Partial weight gradients into ``dwp`` (S, G, K, Cog) and, unless ``dbp`` is
    (S, 0), partial bias gradients (sums of ``gy``) into ``dbp`` (S, Co); both
    zeroed by the caller.

    Slot ``s`` sums chunks ``s, s + S, ...``; the caller adds the S slots. One
    slot per thread: a partial per chunk costs more memory traffic than it saves.
    """
    nslots = dwp.shape[0]
    for s in prange(nslots):
        _weight_slot(x, gy, dwp, dbp, np.int64(s), nslots, chunk, KH, KW, sh, sw, ph, pw, dh, dw)


@njit(parallel=True, **_opts)
def nchw_to_nhwc(x, out):
    """``out[n, h, w, c] = x[n, c, h, w]``: one (n, h) row of pixels per task, which stays in L1."""
    N, C, H, W = x.shape
    for t in prange(N * H):
        n = t // H
        h = t - n * H
        o = out[n, h]
        for c in range(C):
            src = x[n, c, h]
            for w in range(W):
                o[w, c] = src[w]



@njit(fastmath={"reassoc"}, **_opts)
def _add_sum(acc, a):
    """``acc + a.sum()`` for a 1-D ``a``, in ``acc``'s dtype. Reassociation lets the
    additions vectorise (a serial float32 chain of 2M adds cost about 2.5 ms,
    more than the GEMMs of a 3->32 weight gradient); NaN and inf propagate as usual."""
    for i in range(a.shape[0]):
        acc += a[i]
    return acc


# --------------------------------------------------------------------------- planar (NCHW) variant
# For inputs with few channels in ordinary (N, C, H, W) memory (a network's
# first layers) the transposed im2col works better: row k = (c, i, j) of
# ``colT`` (K, OH*OW) is the input plane c shifted by tap (i, j), so every copy
# runs along an image row, and ``W (Cog, K) @ colT`` gives the output already
# in (C, H, W) order. ``w2`` is the weight reshaped to (G, Cog, K) (no copy),
# ``w2t`` its (G, K, Cog) transpose; one image per task.

@njit(**_opts)
def _im2row(x, colT, n, c0, cg, KH, KW, OH, OW, sh, sw, ph, pw, dh, dw):
    H, W = x.shape[2], x.shape[3]
    usw = uint64(sw)
    for c in range(cg):
        for i in range(KH):
            for j in range(KW):
                k = (c * KH + i) * KW + j
                row = colT[k]
                w0 = j * dw - pw
                lo, hi = _valid(w0, sw, 0, OW, W)
                for oh in range(OH):
                    h = oh * sh - ph + i * dh
                    base = oh * OW
                    if h < 0 or h >= H:
                        for ow in range(OW):
                            row[base + ow] = 0
                        continue
                    for ow in range(lo):
                        row[base + ow] = 0
                    xr = x[n, c0 + c, h]
                    s = uint64(w0 + lo * sw)
                    d = uint64(base + lo)
                    for t in range(uint64(hi - lo)):
                        row[d + t] = xr[s + t * usw]
                    for ow in range(hi, OW):
                        row[base + ow] = 0


@njit(**_opts)
def _row2im_add(colT, dx, n, c0, cg, KH, KW, OH, OW, sh, sw, ph, pw, dh, dw):
    H, W = dx.shape[2], dx.shape[3]
    usw = uint64(sw)
    for c in range(cg):
        for i in range(KH):
            for j in range(KW):
                k = (c * KH + i) * KW + j
                row = colT[k]
                w0 = j * dw - pw
                lo, hi = _valid(w0, sw, 0, OW, W)
                for oh in range(OH):
                    h = oh * sh - ph + i * dh
                    if h < 0 or h >= H:
                        continue
                    dr = dx[n, c0 + c, h]
                    d = uint64(w0 + lo * sw)
                    s = uint64(oh * OW + lo)
                    for t in range(uint64(hi - lo)):
                        dr[d + t * usw] += row[s + t]


@njit(parallel=True, **_opts)
def conv2d_forward_planar(x, w2, bias, y, KH, KW, sh, sw, ph, pw, dh, dw):
    """As ``conv2d_forward`` with ``x`` (N, C, H, W) and ``y`` (N, Co, OH, OW)."""
    N, C = x.shape[0], x.shape[1]
    G, Cog, K = w2.shape
    Co, OH, OW = y.shape[1], y.shape[2], y.shape[3]
    Cig = C // G
    P = OH * OW
    has_bias = bias.shape[0] > 0
    for n in prange(N):
        colT = np.empty((K, P), x.dtype)
        yn = y[n].reshape((Co, P))
        for g in range(G):
            _im2row(x, colT, np.int64(n), g * Cig, Cig, KH, KW, OH, OW, sh, sw, ph, pw, dh, dw)
            dot_into(w2[g], colT, yn[g * Cog:(g + 1) * Cog])
        if has_bias:
            for co in range(Co):
                b = bias[co]
                for p in range(P):
                    yn[co, p] += b


@njit(parallel=True, **_opts)
def conv2d_backward_input_planar(gy, w2t, dx, KH, KW, sh, sw, ph, pw, dh, dw):
    """As ``conv2d_backward_input`` with ``gy`` (N, Co, OH, OW) and ``dx`` (N, C, H, W)."""
    N, C = dx.shape[0], dx.shape[1]
    G, K, Cog = w2t.shape
    Co, OH, OW = gy.shape[1], gy.shape[2], gy.shape[3]
    Cig = C // G
    P = OH * OW
    for n in prange(N):
        dcol = np.empty((K, P), gy.dtype)
        gyn = gy[n].reshape((Co, P))
        dx[n] = 0
        for g in range(G):
            dot_into(w2t[g], gyn[g * Cog:(g + 1) * Cog], dcol)
            _row2im_add(dcol, dx, np.int64(n), g * Cig, Cig, KH, KW, OH, OW, sh, sw, ph, pw, dh, dw)


@njit(parallel=True, **_opts)
def conv2d_backward_weight_planar(x, gy, dwp, dbp, KH, KW, sh, sw, ph, pw, dh, dw):
    """As ``conv2d_backward_weight`` with NCHW arrays; ``dwp`` is (S, G, Cog, K), ``dbp`` (S, Co) or (S, 0)."""
    N, C = x.shape[0], x.shape[1]
    S, G, Cog, K = dwp.shape
    Co, OH, OW = gy.shape[1], gy.shape[2], gy.shape[3]
    Cig = C // G
    P = OH * OW
    for s in prange(S):
        colT = np.empty((K, P), x.dtype)
        for n in range(s, N, S):
            gyn = gy[n].reshape((Co, P))
            if dbp.shape[1]:
                for co in range(Co):
                    dbp[s, co] = _add_sum(dbp[s, co], gyn[co])
            for g in range(G):
                _im2row(x, colT, np.int64(n), g * Cig, Cig, KH, KW, OH, OW, sh, sw, ph, pw, dh, dw)
                dot_acc(gyn[g * Cog:(g + 1) * Cog], colT.T, dwp[s, g])


# --------------------------------------------------------------------------- planar, stride 1: virtual width
# With stride 1 the planar im2row can copy whole slices instead of short rows.
# Compute the output on a "virtual width": position q = oh*Wp + ow' with ow' in
# [0, Wp), Wp the padded input width, instead of ow in [0, OW). Row (c, i, j)
# of the patch matrix is then one contiguous slice of the zero-padded plane,
# ``xp[c, i*dh*Wp + j*dw : ... + L]`` with ``L = (OH - 1)*Wp + OW`` (the last
# row's junk columns are left out, so no slice runs past the plane). The price
# is Wp/OW times more GEMM columns (1.4x for LeNet C3, 1.06x for 32x32 k3 p1);
# the junk columns (ow' >= OW) are dropped when the output is written, and are
# zero in the output gradient spread onto the virtual width, so they add
# nothing to either gradient (except 0 * inf = NaN: a non-finite input value
# can make more weight-gradient entries NaN than the exact sum would, and a
# non-finite weight more input-gradient entries).
# Only the rows [0, Hp) and columns [0, Wp) of the padded input that the
# convolution reads are kept: ``Hp = OH + (KH-1)*dh``, ``Wp = OW + (KW-1)*dw``.
# ``chunk`` images share one GEMM (their L columns side by side); ``nslots``
# workers each own their buffers and take chunks round-robin.

@njit(**_opts)
def _plane(x, n, c0, cg, ph, pw, Hp, Wp, xp):
    """``xp`` (cg*Hp*Wp,) = channels c0..c0+cg of image n, zero padded, rows [0, Hp) and columns [0, Wp)."""
    H, W = x.shape[2], x.shape[3]
    xp[:] = 0
    h1 = min(H, Hp - ph)
    w1 = min(W, Wp - pw)
    for c in range(cg):
        for h in range(h1):
            xr = x[n, c0 + c, h]
            d = uint64((c * Hp + h + ph) * Wp + pw)
            for w in range(uint64(w1)):
                xp[d + w] = xr[w]


@njit(**_opts)
def _slices(xp, colT, col0, cg, KH, KW, dh, dw, Hp, Wp, L):
    """Columns [col0, col0 + L) of ``colT`` (cg*KH*KW, *): row (c, i, j) is ``xp[c*Hp*Wp + i*dh*Wp + j*dw:][:L]``."""
    for c in range(cg):
        for i in range(KH):
            for j in range(KW):
                row = colT[(c * KH + i) * KW + j]
                s = uint64(c * Hp * Wp + i * dh * Wp + j * dw)
                d = uint64(col0)
                for t in range(uint64(L)):
                    row[d + t] = xp[s + t]


@njit(**_opts)
def _rows_add(dcol, col0, cg, KH, KW, dh, dw, Hp, Wp, L, dxp):
    """The adjoint of ``_slices``: ``dxp`` (cg*Hp*Wp,) = the sum of the rows of ``dcol`` added onto their slices."""
    dxp[:] = 0
    for c in range(cg):
        for i in range(KH):
            for j in range(KW):
                row = dcol[(c * KH + i) * KW + j]
                d = uint64(c * Hp * Wp + i * dh * Wp + j * dw)
                s = uint64(col0)
                for t in range(uint64(L)):
                    dxp[d + t] += row[s + t]


@njit(**_opts)
def _crop(dxp, dx, n, c0, cg, ph, pw, Hp, Wp):
    """``dx[n, c0:c0+cg]`` = the unpadded part of ``dxp``; input pixels the convolution does not read get 0."""
    H, W = dx.shape[2], dx.shape[3]
    h1 = min(H, Hp - ph)
    w1 = min(W, Wp - pw)
    for c in range(cg):
        for h in range(H):
            dr = dx[n, c0 + c, h]
            if h >= h1:
                dr[:] = 0
                continue
            s = uint64((c * Hp + h + ph) * Wp + pw)
            for w in range(uint64(w1)):
                dr[w] = dxp[s + w]
            for w in range(w1, W):
                dr[w] = 0


@njit(**_opts)
def _spread(gy, n, c0, cg, gv, col0, Wp):
    """Columns [col0, col0 + L) of ``gv`` (cg, *) = output channels c0.. of ``gy[n]`` on the virtual width, junk 0."""
    OH, OW = gy.shape[2], gy.shape[3]
    for c in range(cg):
        row = gv[c]
        for oh in range(OH):
            gr = gy[n, c0 + c, oh]
            d = uint64(col0 + oh * Wp)
            for t in range(uint64(OW)):
                row[d + t] = gr[t]
            if oh < OH - 1:
                for t in range(uint64(OW), uint64(Wp)):
                    row[d + t] = 0


@njit(**_opts)
def _spread_t(gy, n, c0, cg, gt, row0, Wp):
    """Rows [row0, row0 + L) of ``gt`` (*, cg) = ``_spread``'s result transposed.

    Transposed in tiles of 8 output columns: a column-by-column copy strode
    through the whole buffer once per channel (2x slower for 32 channels).
    """
    OH, OW = gy.shape[2], gy.shape[3]
    g = gy[n]
    for oh in range(OH):
        d = row0 + oh * Wp
        for o0 in range(0, OW, 8):
            o1 = min(o0 + 8, OW)
            for c in range(cg):
                gr = g[c0 + c, oh]
                for ow in range(o0, o1):
                    gt[d + ow, c] = gr[ow]
        if oh < OH - 1:
            for ow in range(OW, Wp):
                r = gt[d + ow]
                for c in range(cg):
                    r[c] = 0


@njit(parallel=True, **_opts)
def conv2d_forward_planar_s1(x, w2, bias, y, KH, KW, ph, pw, dh, dw, chunk, nslots):
    """As ``conv2d_forward_planar`` for stride 1, on the virtual width."""
    N, C = x.shape[0], x.shape[1]
    G, Cog, K = w2.shape
    Co, OH, OW = y.shape[1], y.shape[2], y.shape[3]
    Cig = C // G
    Hp, Wp = OH + (KH - 1) * dh, OW + (KW - 1) * dw
    L = (OH - 1) * Wp + OW
    has_bias = bias.shape[0] > 0
    # A scalar, not np.zeros(1): array creation in a parallel=True function is a
    # parallel region of its own, and each region costs 50-90 us here (measured).
    zero = y.dtype.type(0)
    nchunks = (N + chunk - 1) // chunk
    for s in prange(nslots):
        xp = np.empty(Cig * Hp * Wp, x.dtype)
        colT = np.empty((K, chunk * L), x.dtype)
        out = np.empty((Cog, chunk * L), x.dtype)
        for ci in range(s, nchunks, nslots):
            n0 = ci * chunk
            nb = min(chunk, N - n0)
            for g in range(G):
                for b in range(nb):
                    _plane(x, n0 + b, g * Cig, Cig, ph, pw, Hp, Wp, xp)
                    _slices(xp, colT, b * L, Cig, KH, KW, dh, dw, Hp, Wp, L)
                dot_into(w2[g], colT[:, :nb * L], out[:, :nb * L])
                for b in range(nb):
                    for co in range(Cog):
                        bv = zero
                        if has_bias:
                            bv = bias[g * Cog + co]
                        src = out[co]
                        for oh in range(OH):
                            yr = y[n0 + b, g * Cog + co, oh]
                            s0 = uint64(b * L + oh * Wp)
                            for t in range(uint64(OW)):
                                yr[t] = src[s0 + t] + bv


@njit(parallel=True, **_opts)
def conv2d_backward_planar_s1(x, gy, w2t, dx, dwp, dbp, KH, KW, ph, pw, dh, dw, chunk, nslots, gy_t):
    """Both gradients of the stride-1 planar conv in one pass over ``gy`` (N, Co, OH, OW), on the virtual width.

    ``dx`` (N, C, H, W) = the input gradient (overwritten), unless it has no
    images (N = 0: not wanted); ``dwp`` (S, G, K, Cog), zeroed, gets the
    transposed weight-gradient partials of S = ``nslots`` workers, and ``dbp``
    (S, Co) the bias-gradient partials, unless they have no rows (not wanted).
    ``x`` (N, C, H, W) is read only for the weight gradient, ``w2t`` (G, K, Cog)
    only for the input gradient.

    The weight gradient accumulates ``colT @ gy^T`` (the transposed product ran
    1.5x faster in OpenBLAS than ``gy @ colT^T`` for LeNet C3). With ``gy_t``
    its ``gy^T`` is a transposed copy, (L, Cog) rows, rather than a view: faster
    for K >= 144, up to 1.7x slower for K <= 72 (measured; the caller decides).
    The input-gradient GEMM writes into the same buffer as the patch matrix
    (one is consumed before the other is built).
    """
    N, Co, OH, OW = gy.shape
    G, K, Cog = w2t.shape
    Cig = K // (KH * KW)
    Hp, Wp = OH + (KH - 1) * dh, OW + (KW - 1) * dw
    L = (OH - 1) * Wp + OW
    need_dx = dx.shape[0] > 0
    need_dw = dwp.shape[0] > 0
    need_db = dbp.shape[0] > 0 and dbp.shape[1] > 0
    nchunks = (N + chunk - 1) // chunk
    for s in prange(nslots):
        xp = np.empty(Cig * Hp * Wp, gy.dtype)
        colT = np.empty((K, chunk * L), gy.dtype)
        use_gv = need_dx or not gy_t
        use_gt = need_dw and gy_t
        gv = np.empty((Cog, chunk * L if use_gv else 0), gy.dtype)
        gt = np.empty((chunk * L if use_gt else 0, Cog), gy.dtype)
        for ci in range(s, nchunks, nslots):
            n0 = ci * chunk
            nb = min(chunk, N - n0)
            q = nb * L
            if need_db:
                for n in range(n0, n0 + nb):
                    for co in range(Co):
                        dbp[s, co] = _add_sum(dbp[s, co], gy[n, co].reshape(OH * OW))
            for g in range(G):
                for b in range(nb):
                    if use_gv:
                        _spread(gy, n0 + b, g * Cog, Cog, gv, b * L, Wp)
                    if use_gt:
                        _spread_t(gy, n0 + b, g * Cog, Cog, gt, b * L, Wp)
                if need_dx:
                    dot_into(w2t[g], gv[:, :q], colT[:, :q])
                    for b in range(nb):
                        _rows_add(colT, b * L, Cig, KH, KW, dh, dw, Hp, Wp, L, xp)
                        _crop(xp, dx, n0 + b, g * Cig, Cig, ph, pw, Hp, Wp)
                if need_dw:
                    for b in range(nb):
                        _plane(x, n0 + b, g * Cig, Cig, ph, pw, Hp, Wp, xp)
                        _slices(xp, colT, b * L, Cig, KH, KW, dh, dw, Hp, Wp, L)
                    if use_gt:
                        dot_acc(colT[:, :q], gt[:q], dwp[s, g])
                    else:
                        dot_acc(colT[:, :q], gv[:, :q].T, dwp[s, g])
