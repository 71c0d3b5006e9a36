"""Winograd F(2x2, 3x3): a stride-1 3x3 convolution in 16 small GEMMs instead of 9 (Lavin & Gray, 2016);
F(2x2, 2x2) for the four output phases of a stride-2 4x4 transposed convolution, and F(2, 3) for
conv1d's 3-tap kernels (end of the file).

A 2x2 block of outputs of a 3x3 correlation needs a 4x4 patch ``d`` of the
input. With the fixed matrices ``B``, ``G`` and ``A`` below,

    Y = A^T [ (G g G^T) * (B^T d B) ] A            (* elementwise, 4x4)

gives that block from 16 products per (input, output) channel pair instead of
36. Summed over input channels, each of the 16 positions ``e`` of the 4x4 is a
GEMM: ``M[e] (tiles, Co) = V[e] (tiles, C) @ U[e] (C, Co)``, with
``V = B^T d B`` the transformed input tiles and ``U = G g G^T`` the
transformed weight (``transform_weight``, once per call). That is 2.25x
fewer multiply-adds than the direct kernel; the transforms are additions
only (and halves in ``G``), linear in the map's size.

Per image (workers own images, as in ``conv_direct``): the image is copied
into a zero-padded channels-last buffer (``conv_direct._pad_image``); then,
for a band of about ``_BAND_TILES`` tiles at a time (so that ``V`` and ``M``
stay in L2), every 4x4 tile (stride 2) is transformed into ``V`` (16, T, C),
the 16 GEMMs run on a 6 x 16 register tile like ``conv_direct``'s into ``M``
(16, T, Cop), and each tile's 2x2 outputs (+ bias) are written to the
channels-last ``y``. Outputs of a tile past an odd output edge are not written
(and get no gradient).

An infinite input gives NaN where the direct kernel may give an infinity: the
input transform subtracts neighbouring values (inf - inf).

Rounding: the transforms add at most 4 terms before and after the products;
against float64, float32 results were as close as the direct kernel's or
closer (max error 1.2e-5 / 2.1e-5 / 3.8e-5 against 3.1e-5 / 5.5e-5 / 9.9e-5
for 16, 32, 64 channels of unit-variance data).

Arrays (C-contiguous): ``x`` (N, C, H, W) if ``x_nchw`` else (N, H, W, C);
``U`` (16, Cob*C*16 + PAD) from ``transform_weight``; ``bp`` (Cob*16,) bias,
zero-padded; ``y`` (N, OH, OW, Co). C and Co are multiples of 8 (the
transforms' vectors).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .conv_direct import OB, R, _pad_image
from .simd import vadd, vbcast, vfma, vload, vstore, vsub, vzero

_opts = dict(cache=True, nogil=True, boundscheck=False, error_model="numpy")

_BAND_TILES = 96  # tiles transformed and multiplied at a time: V and M stay in L2
# Each of the 16 positions' blocks (of U, V and M) starts PAD elements after the previous one ends. With
# blocks a multiple of 4 KiB long, the 16 streams a transform reads or writes fell into one L1 set:
# the weight transform of 64x64 channels took 246 us instead of 60, and the whole kernel (N=32,
# forward) 0.78 / 0.76 / 0.61 of the direct kernel's time instead of 0.67 / 0.59 / 0.56 (16, 32, 64
# channels on 32x32, 16x16, 8x8 maps).
PAD = 16

# G of F(2x2, 3x3): U = G g G^T (4x4 from 3x3)
G_MATRIX = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])


def transform_weight(w, dtype):
    """(Co, C, 3, 3) -> U (16, Cob*C*16 + PAD): ``G w G^T`` per channel pair, position e = 4*i + j first,
    then per e the (Cob, C, 16) block the register tile reads (output channels in blocks of 16, the last
    zero-padded). One compiled pass (``_transform``); ``transform_weight_numpy`` is the reference.
    """
    Co, C = w.shape[0], w.shape[1]
    Cob = -(-Co // OB)
    U = np.zeros((16, Cob * C * OB + PAD), dtype)
    _transform(w, U, Cob)
    return U


@njit(inline="always", **_opts)
def _row(U, e, i, r0, r1, r2):
    """Positions e..e+3 of the transformed weight: the row (r0, r1, r2) of ``G w`` times ``G^T``."""
    U[e, i] = r0
    U[e + 1, i] = (r0 + r1 + r2) * 0.5
    U[e + 2, i] = (r0 - r1 + r2) * 0.5
    U[e + 3, i] = r2


@njit(**_opts)
def _transform(w, U, Cob):
    """``U[4a + b, (o // 16 * C + c) * 16 + o % 16] = (G w[o, c] G^T)[a, b]``; G's rows are g0,
    (g0 + g1 + g2)/2, (g0 - g1 + g2)/2, g2. (Computed in float64, any strides of ``w``.)"""
    Co, C = w.shape[0], w.shape[1]
    for ob in range(Cob):
        for c in range(C):
            for o in range(ob * OB, min(Co, ob * OB + OB)):
                i = (ob * C + c) * OB + o - ob * OB
                a00, a01, a02 = float(w[o, c, 0, 0]), float(w[o, c, 0, 1]), float(w[o, c, 0, 2])
                a10, a11, a12 = float(w[o, c, 1, 0]), float(w[o, c, 1, 1]), float(w[o, c, 1, 2])
                a20, a21, a22 = float(w[o, c, 2, 0]), float(w[o, c, 2, 1]), float(w[o, c, 2, 2])
                _row(U, 0, i, a00, a01, a02)
                _row(U, 4, i, (a00 + a10 + a20) * 0.5, (a01 + a11 + a21) * 0.5, (a02 + a12 + a22) * 0.5)
                _row(U, 8, i, (a00 - a10 + a20) * 0.5, (a01 - a11 + a21) * 0.5, (a02 - a12 + a22) * 0.5)
                _row(U, 12, i, a20, a21, a22)


def _pack_numpy(u, dtype):
    """(E, Co, C) transformed weights -> (E, Cob*C*16 + PAD), the register tile's layout, by numpy: the
    references' packing (output channels in zero-padded blocks of 16, then the input channels)."""
    E, Co, C = u.shape
    Cob = -(-Co // OB)
    up = np.zeros((E, Cob * OB, C), dtype)
    up[:, :Co] = u
    U = np.zeros((E, Cob * C * OB + PAD), dtype)
    U[:, :Cob * C * OB] = up.reshape(E, Cob, OB, C).transpose(0, 1, 3, 2).reshape(E, -1)
    return U


def transform_weight_numpy(w, dtype):
    """``transform_weight`` by ``np.einsum``: the reference."""
    Co, C = w.shape[0], w.shape[1]
    return _pack_numpy(np.einsum("ik,ockl,jl->ijoc", G_MATRIX, w.astype(np.float64), G_MATRIX).reshape(16, Co, C),
                       dtype)


@njit(**_opts)
def _input_tiles(xp, V, ty0, TH, TW, Wp, C):
    """``V[e, t, :] = (B^T d B)[e]`` for each 4x4 tile d of the buffer (tile t = (ty, tx) at (2ty, 2tx)),
    8 channels at a time (C is a multiple of 8)."""
    T = TH * TW
    es = T * C + PAD
    rs = Wp * C
    for ty in range(TH):
        for tx in range(TW):
            r0 = (2 * (ty0 + ty) * Wp + 2 * tx) * C
            q0 = (ty * TW + tx) * C
            for c in range(0, C, 8):
                p0 = r0 + c
                p1 = p0 + rs
                p2 = p1 + rs
                p3 = p2 + rs
                # rows of B^T d: d0 - d2, d1 + d2, d2 - d1, d1 - d3 (each a row of 4 columns)
                x0, x1, x2, x3 = vload(xp, p0), vload(xp, p0 + C), vload(xp, p0 + 2 * C), vload(xp, p0 + 3 * C)
                z0, z1, z2, z3 = vload(xp, p2), vload(xp, p2 + C), vload(xp, p2 + 2 * C), vload(xp, p2 + 3 * C)
                a0, a1, a2, a3 = vsub(x0, z0), vsub(x1, z1), vsub(x2, z2), vsub(x3, z3)
                x0, x1, x2, x3 = vload(xp, p1), vload(xp, p1 + C), vload(xp, p1 + 2 * C), vload(xp, p1 + 3 * C)
                b0, b1, b2, b3 = vadd(x0, z0), vadd(x1, z1), vadd(x2, z2), vadd(x3, z3)
                c0, c1, c2, c3 = vsub(z0, x0), vsub(z1, x1), vsub(z2, x2), vsub(z3, x3)
                z0, z1, z2, z3 = vload(xp, p3), vload(xp, p3 + C), vload(xp, p3 + 2 * C), vload(xp, p3 + 3 * C)
                d0, d1, d2, d3 = vsub(x0, z0), vsub(x1, z1), vsub(x2, z2), vsub(x3, z3)
                # then each row times B: v0 = r0 - r2, v1 = r1 + r2, v2 = r2 - r1, v3 = r1 - r3
                q = q0 + c
                _row_b(V, q, es, a0, a1, a2, a3)
                _row_b(V, q + 4 * es, es, b0, b1, b2, b3)
                _row_b(V, q + 8 * es, es, c0, c1, c2, c3)
                _row_b(V, q + 12 * es, es, d0, d1, d2, d3)


@njit(inline="always", **_opts)
def _row_b(V, q, es, r0, r1, r2, r3):
    vstore(V, q, vsub(r0, r2))
    vstore(V, q + es, vadd(r1, r2))
    vstore(V, q + 2 * es, vsub(r2, r1))
    vstore(V, q + 3 * es, vsub(r1, r3))


@njit(inline="always", **_opts)
def _tile(A, a0, ars, aks, rows, K, B, b0, bks, D, d0, drs):
    """The 6 x 16 register tile both GEMM stages use: for r < 6,
    ``D[d0 + r*drs:][:16] = sum over k < K of A[a0 + r*ars + k*aks] * B[b0 + k*bks:][:16]``
    (rows past ``rows`` repeat the last one). The forward's products walk A's rows (a tile's
    channels, ``aks`` = 1); the weight gradient's walk its columns (the tiles, ``ars`` = 1)."""
    r1 = a0 + min(1, rows - 1) * ars
    r2 = a0 + min(2, rows - 1) * ars
    r3 = a0 + min(3, rows - 1) * ars
    r4 = a0 + min(4, rows - 1) * ars
    r5 = a0 + min(5, rows - 1) * ars
    a00 = vzero(A)
    a01 = vzero(A)
    a10 = vzero(A)
    a11 = vzero(A)
    a20 = vzero(A)
    a21 = vzero(A)
    a30 = vzero(A)
    a31 = vzero(A)
    a40 = vzero(A)
    a41 = vzero(A)
    a50 = vzero(A)
    a51 = vzero(A)
    for k in range(K):
        w0 = vload(B, b0 + k * bks)
        w1 = vload(B, b0 + k * bks + 8)
        o = k * aks
        v = vbcast(A, a0 + o)
        a00 = vfma(v, w0, a00)
        a01 = vfma(v, w1, a01)
        v = vbcast(A, r1 + o)
        a10 = vfma(v, w0, a10)
        a11 = vfma(v, w1, a11)
        v = vbcast(A, r2 + o)
        a20 = vfma(v, w0, a20)
        a21 = vfma(v, w1, a21)
        v = vbcast(A, r3 + o)
        a30 = vfma(v, w0, a30)
        a31 = vfma(v, w1, a31)
        v = vbcast(A, r4 + o)
        a40 = vfma(v, w0, a40)
        a41 = vfma(v, w1, a41)
        v = vbcast(A, r5 + o)
        a50 = vfma(v, w0, a50)
        a51 = vfma(v, w1, a51)
    vstore(D, d0, a00)
    vstore(D, d0 + 8, a01)
    d = d0 + min(1, rows - 1) * drs
    vstore(D, d, a10)
    vstore(D, d + 8, a11)
    d = d0 + min(2, rows - 1) * drs
    vstore(D, d, a20)
    vstore(D, d + 8, a21)
    d = d0 + min(3, rows - 1) * drs
    vstore(D, d, a30)
    vstore(D, d + 8, a31)
    d = d0 + min(4, rows - 1) * drs
    vstore(D, d, a40)
    vstore(D, d + 8, a41)
    d = d0 + min(5, rows - 1) * drs
    vstore(D, d, a50)
    vstore(D, d + 8, a51)


@njit(**_opts)
def _products(V, U, ub, E, M, T, C, Cob):
    """``M[e] (T, Cob*16) = V[e] (T, C) @ U[e]`` for the E positions (16 for F(2x2, 3x3), 9 for F(2x2, 2x2)),
    6 tiles x 16 channels at a time; the transformed weight starts at ``U[ub]``."""
    Cop = Cob * OB
    for e in range(E):
        for ob in range(Cob):
            wb = ub + e * (Cob * C * OB + PAD) + ob * C * OB
            for pt in range(0, T, R):
                p0 = max(0, min(pt, T - R))  # the last group ends at the last tile (rows recomputed are equal)
                _tile(V, e * (T * C + PAD) + p0 * C, C, 1, min(R, T - p0), C, U, wb, OB, M,
                      e * (T * Cop + PAD) + p0 * Cop + ob * OB, Cop)


@njit(**_opts)
def _output_tiles(M, bp, yf, n, ty0, TH, TW, Cop, OH, OW, Co):
    """``y[n, 2ty + a, 2tx + b, :] = (A^T m A)[a, b] + bias`` for each tile's 2x2 block inside y, 8 channels
    at a time (Co is a multiple of 8)."""
    T = TH * TW
    es = T * Cop + PAD
    dr = OW * Co
    for ty in range(TH):
        for tx in range(TW):
            q0 = (ty * TW + tx) * Cop
            oh, ow = 2 * (ty0 + ty), 2 * tx
            full_h, full_w = oh + 1 < OH, ow + 1 < OW
            d0 = ((n * OH + oh) * OW + ow) * Co
            for c in range(0, Co, 8):
                q = q0 + c
                # rows of A^T m: m0 + m1 + m2 and m1 - m2 - m3 (4 columns each)
                m4, m5, m6, m7 = vload(M, q + 4 * es), vload(M, q + 5 * es), vload(M, q + 6 * es), vload(M, q + 7 * es)
                m8, m9, m10, m11 = vload(M, q + 8 * es), vload(M, q + 9 * es), vload(M, q + 10 * es), vload(M, q + 11 * es)
                s0 = vadd(vadd(vload(M, q), m4), m8)
                s1 = vadd(vadd(vload(M, q + es), m5), m9)
                s2 = vadd(vadd(vload(M, q + 2 * es), m6), m10)
                s3 = vadd(vadd(vload(M, q + 3 * es), m7), m11)
                t0 = vsub(vsub(m4, m8), vload(M, q + 12 * es))
                t1 = vsub(vsub(m5, m9), vload(M, q + 13 * es))
                t2 = vsub(vsub(m6, m10), vload(M, q + 14 * es))
                t3 = vsub(vsub(m7, m11), vload(M, q + 15 * es))
                bv = vload(bp, c)
                d = d0 + c
                vstore(yf, d, vadd(vadd(vadd(s0, s1), s2), bv))
                if full_w:
                    vstore(yf, d + Co, vadd(vsub(vsub(s1, s2), s3), bv))
                if full_h:
                    vstore(yf, d + dr, vadd(vadd(vadd(t0, t1), t2), bv))
                    if full_w:
                        vstore(yf, d + dr + Co, vadd(vsub(vsub(t1, t2), t3), bv))


@njit(parallel=True, **_opts)
def winograd_conv(x, x_nchw, U, bp, y, ph, pw, nslots):
    """``y`` (N, OH, OW, Co) = the stride-1 3x3 correlation of ``x`` with the weight behind ``U`` (+ bias
    ``bp``); image n is placed at (ph, pw) in a zero buffer (negative: cropped)."""
    N = x.shape[0]
    C = x.shape[1] if x_nchw else x.shape[3]
    OH, OW = y.shape[1], y.shape[2]
    Cob = (U.shape[1] - PAD) // (C * OB)
    TH, TW = (OH + 1) // 2, (OW + 1) // 2
    Hp, Wp = 2 * TH + 2, 2 * TW + 2
    Uf = U.reshape(U.size)
    yf = y.reshape(y.size)
    band = min(TH, max(1, -(-_BAND_TILES // TW)))
    for s in prange(nslots):
        xp = np.empty(Hp * Wp * C, x.dtype)
        V = np.empty(16 * (band * TW * C + PAD), x.dtype)
        M = np.empty(16 * (band * TW * Cob * OB + PAD), x.dtype)
        for n in range(s, N, nslots):
            _pad_image(x, n, x_nchw, ph, pw, Hp, Wp, xp)
            for ty0 in range(0, TH, band):
                th = min(band, TH - ty0)
                _input_tiles(xp, V, ty0, th, TW, Wp, C)
                _products(V, Uf, 0, 16, M, th * TW, C, Cob)
                _output_tiles(M, bp, yf, n, ty0, th, TW, Cob * OB, OH, OW, y.shape[3])


# --------------------------------------------------------------------------- weight gradient
#
# With M = U * V (per position, summed over input channels) and Y = A^T M A, the gradient of M is
# dM = A dY A^T (a 4x4 per tile from the output gradient's 2x2 block), that of U is
# dU[e] (C, Co) = sum over tiles of V[e, t, :]^T dM[e, t, :], and the weight's is G^T dU G
# (``weight_from_transformed``): 16 GEMMs of (C, tiles) @ (tiles, Co), 2.25x fewer multiply-adds
# than the direct weight gradient.

@njit(**_opts)
def _grad_tiles(gf, n, ty0, TH, TW, OH, OW, Co, dM, Cop, db):
    """``dM[e, t, :Co] = (A dY A^T)[e]`` for the 2x2 block dY of each tile in the channels-last output
    gradient ``gf`` (flat (N, OH, OW, Co); zeros past the map's edge), 8 channels at a time; columns
    Co..Cop are zero. A's rows: (1, 0), (1, 1), (1, -1), (0, -1). Unless ``db`` is empty, each block's
    sum is added to ``db`` (Cop,): the bias gradient (the blocks cover the map once)."""
    want_db = db.shape[0] > 0
    T = TH * TW
    es = T * Cop + PAD
    zero = vzero(gf)
    for ty in range(TH):
        oh = 2 * (ty0 + ty)
        full_h = oh + 1 < OH
        for tx in range(TW):
            ow = 2 * tx
            full_w = ow + 1 < OW
            q0 = (ty * TW + tx) * Cop
            d0 = ((n * OH + oh) * OW + ow) * Co
            for c in range(0, Cop, 8):
                if c < Co:
                    d = d0 + c
                    g00 = vload(gf, d)
                    g01 = vload(gf, d + Co) if full_w else zero
                    g10 = vload(gf, d + OW * Co) if full_h else zero
                    g11 = vload(gf, d + OW * Co + Co) if full_h and full_w else zero
                else:
                    g00 = g01 = g10 = g11 = zero
                if want_db:
                    vstore(db, c, vadd(vload(db, c), vadd(vadd(g00, g01), vadd(g10, g11))))
                q = q0 + c
                # rows of A dY: (g00, g01), (g00 + g10, g01 + g11), (g00 - g10, g01 - g11), (-g10, -g11);
                # each row (a, b) times A^T: (a, a + b, a - b, -b)
                _row_at(dM, q, es, g00, g01)
                _row_at(dM, q + 4 * es, es, vadd(g00, g10), vadd(g01, g11))
                _row_at(dM, q + 8 * es, es, vsub(g00, g10), vsub(g01, g11))
                _row_at(dM, q + 12 * es, es, vsub(zero, g10), vsub(zero, g11))


@njit(inline="always", **_opts)
def _row_at(dM, q, es, a, b):
    vstore(dM, q, a)
    vstore(dM, q + es, vadd(a, b))
    vstore(dM, q + 2 * es, vsub(a, b))
    vstore(dM, q + 3 * es, vsub(vzero(dM), b))


@njit(**_opts)
def _weight_products(V, dM, dU, T, C, Cop, out):
    """``dU[e] (C, Cop) += V[e]^T (C, T) @ dM[e] (T, Cop)``: 6 input channels x 16 output channels in
    registers, summed over the band's T tiles."""
    esv = T * C + PAD
    esm = T * Cop + PAD
    for e in range(16):
        for pc in range(0, C, R):
            c0 = max(0, min(pc, C - R))  # the last group ends at the last channel ...
            for ob in range(Cop // OB):
                _tile(V, e * esv + c0, 1, C, min(R, C - c0), T, dM, e * esm + ob * OB, Cop, out, 0, OB)
                for r in range(max(0, pc - c0), min(R, C - c0)):  # ... and adds only the rows not added yet
                    d = (e * C + c0 + r) * Cop + ob * OB
                    vstore(dU, d, vadd(vload(dU, d), vload(out, r * OB)))
                    vstore(dU, d + 8, vadd(vload(dU, d + 8), vload(out, r * OB + 8)))


@njit(parallel=True, **_opts)
def winograd_weight(x, x_nchw, g, dU, dbp, ph, pw):
    """``dU[s]`` (S, 16, C, Cop), zeroed: worker s's share (images s, s + S, ...) of the gradient of the
    transformed weight of the stride-1 3x3 conv whose input ``x`` sat at (ph, pw) in its zero buffer
    and whose output gradient is ``g`` (N, OH, OW, Co), channels-last; ``dbp[s]`` (S, Cop), zeroed, its
    share of the bias gradient, unless ``dbp`` has no columns."""
    N = x.shape[0]
    C = x.shape[1] if x_nchw else x.shape[3]
    OH, OW, Co = g.shape[1], g.shape[2], g.shape[3]
    gf = g.reshape(g.size)
    S, Cop = dU.shape[0], dU.shape[3]
    TH, TW = (OH + 1) // 2, (OW + 1) // 2
    Hp, Wp = 2 * TH + 2, 2 * TW + 2
    band = min(TH, max(1, -(-_BAND_TILES // TW)))
    for s in prange(S):
        xp = np.empty(Hp * Wp * C, x.dtype)
        V = np.empty(16 * (band * TW * C + PAD), x.dtype)
        dM = np.empty(16 * (band * TW * Cop + PAD), x.dtype)
        out = np.empty(R * OB, x.dtype)
        dUs = dU[s].reshape(16 * C * Cop)
        dbs = dbp[s]
        for n in range(s, N, S):
            _pad_image(x, n, x_nchw, ph, pw, Hp, Wp, xp)
            for ty0 in range(0, TH, band):
                th = min(band, TH - ty0)
                _input_tiles(xp, V, ty0, th, TW, Wp, C)
                _grad_tiles(gf, n, ty0, th, TW, OH, OW, Co, dM, Cop, dbs)
                _weight_products(V, dM, dUs, th * TW, C, Cop, out)


def weight_from_transformed(dU, Co):
    """(16, C, Cop) gradient of the transformed weight -> (Co, C, 3, 3) weight gradient, ``G^T dU G``
    (``_back``, compiled; ``weight_from_transformed_numpy`` is the reference)."""
    dw = np.empty((Co, dU.shape[1], 3, 3), dU.dtype)
    _back(dU, dw)
    return dw


def weight_from_transformed_numpy(dU, Co):
    """``weight_from_transformed`` by ``np.einsum``: the reference."""
    C = dU.shape[1]
    d = dU[:, :, :Co].reshape(4, 4, C, Co).astype(np.float64)
    return np.einsum("ik,ijco,jl->ockl", G_MATRIX, d, G_MATRIX).astype(dU.dtype)


@njit(inline="always", **_opts)
def _gt(a0, a1, a2, a3):
    """G^T applied to (a0, a1, a2, a3): G^T's rows are (1, 1/2, 1/2, 0), (0, 1/2, -1/2, 0), (0, 1/2, 1/2, 1)."""
    return a0 + (a1 + a2) * 0.5, (a1 - a2) * 0.5, (a1 + a2) * 0.5 + a3


@njit(**_opts)
def _back(dU, dw):
    """``dw[o, c] = G^T d G`` with d[i, j] = dU[4i + j, c, o] (in float64)."""
    Co, C = dw.shape[0], dw.shape[1]
    for o in range(Co):
        for c in range(C):
            # G^T d: three rows of 4, column by column
            r00, r10, r20 = _gt(float(dU[0, c, o]), float(dU[4, c, o]), float(dU[8, c, o]), float(dU[12, c, o]))
            r01, r11, r21 = _gt(float(dU[1, c, o]), float(dU[5, c, o]), float(dU[9, c, o]), float(dU[13, c, o]))
            r02, r12, r22 = _gt(float(dU[2, c, o]), float(dU[6, c, o]), float(dU[10, c, o]), float(dU[14, c, o]))
            r03, r13, r23 = _gt(float(dU[3, c, o]), float(dU[7, c, o]), float(dU[11, c, o]), float(dU[15, c, o]))
            # then each row times G
            dw[o, c, 0, 0], dw[o, c, 0, 1], dw[o, c, 0, 2] = _gt(r00, r01, r02, r03)
            dw[o, c, 1, 0], dw[o, c, 1, 1], dw[o, c, 1, 2] = _gt(r10, r11, r12, r13)
            dw[o, c, 2, 0], dw[o, c, 2, 1], dw[o, c, 2, 2] = _gt(r20, r21, r22, r23)


# --------------------------------------------------------------------------- F(2x2, 2x2): transposed convs
#
# A stride-2 transposed conv with a 4x4 kernel (the common x2 upsampling) is four stride-1 correlations
# with 2x2 kernels, one per output phase (the input gradient of a stride-2 4x4 conv, the same map).
# F(2x2, 2x2) gives a 2x2 output block of each from a 3x3 input tile in 9 products per channel pair
# instead of 16, with B^T = [[1, -1, 0], [0, 1, 0], [0, -1, 1]], G = [[1, 0], [1, 1], [0, 1]] and
# A^T = [[1, 1, 0], [0, 1, 1]]: additions only, exact in the weight. The GEMMs, the register tile and the
# band structure are the F(2x2, 3x3) kernel's.

G2_MATRIX = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])


def transform_weight2(k, dtype):
    """(P, Co, C, 2, 2) kernels of P phases -> U (P, 9, Cob*C*16 + PAD): ``G k G^T`` per channel pair,
    laid out as ``transform_weight``'s. One compiled pass (``_transform2``); ``transform_weight2_numpy``
    is the reference."""
    P, Co, C = k.shape[0], k.shape[1], k.shape[2]
    Cob = -(-Co // OB)
    U = np.zeros((P, 9, Cob * C * OB + PAD), dtype)
    _transform2(k, U, Cob)
    return U


@njit(**_opts)
def _transform2(k, U, Cob):
    """``U[ph, 3a + b, (o // 16 * C + c) * 16 + o % 16] = (G k[ph, o, c] G^T)[a, b]``; G's rows are g0,
    g0 + g1, g1."""
    P, Co, C = k.shape[0], k.shape[1], k.shape[2]
    for ph in range(P):
        for ob in range(Cob):
            for c in range(C):
                for o in range(ob * OB, min(Co, ob * OB + OB)):
                    i = (ob * C + c) * OB + o - ob * OB
                    a00, a01 = float(k[ph, o, c, 0, 0]), float(k[ph, o, c, 0, 1])
                    a10, a11 = float(k[ph, o, c, 1, 0]), float(k[ph, o, c, 1, 1])
                    s0, s1 = a00 + a10, a01 + a11
                    U[ph, 0, i], U[ph, 1, i], U[ph, 2, i] = a00, a00 + a01, a01
                    U[ph, 3, i], U[ph, 4, i], U[ph, 5, i] = s0, s0 + s1, s1
                    U[ph, 6, i], U[ph, 7, i], U[ph, 8, i] = a10, a10 + a11, a11


def transform_weight2_numpy(k, dtype):
    """``transform_weight2`` by ``np.einsum``: the reference."""
    P, Co, C = k.shape[0], k.shape[1], k.shape[2]
    u = np.einsum("ik,pockl,jl->pijoc", G2_MATRIX, k.astype(np.float64), G2_MATRIX).reshape(P * 9, Co, C)
    return np.stack([_pack_numpy(u[f * 9:(f + 1) * 9], dtype) for f in range(P)])


@njit(inline="always", **_opts)
def _row_b2(V, q, es, r0, r1, r2):
    vstore(V, q, vsub(r0, r1))
    vstore(V, q + es, r1)
    vstore(V, q + 2 * es, vsub(r2, r1))


@njit(**_opts)
def _input_tiles2(xp, V, ty0, TH, TW, Wp, C, oy, ox):
    """``V[e, t, :] = (B^T d B)[e]`` for each 3x3 tile d of the buffer (tile t = (ty, tx) at
    (oy + 2ty, ox + 2tx)), 8 channels at a time."""
    T = TH * TW
    es = T * C + PAD
    rs = Wp * C
    for ty in range(TH):
        for tx in range(TW):
            r0 = ((oy + 2 * (ty0 + ty)) * Wp + ox + 2 * tx) * C
            q0 = (ty * TW + tx) * C
            for c in range(0, C, 8):
                p0 = r0 + c
                p1 = p0 + rs
                p2 = p1 + rs
                # rows of B^T d: d0 - d1, d1, d2 - d1 (3 columns each), then each row times B
                y0, y1, y2 = vload(xp, p1), vload(xp, p1 + C), vload(xp, p1 + 2 * C)
                q = q0 + c
                _row_b2(V, q, es, vsub(vload(xp, p0), y0), vsub(vload(xp, p0 + C), y1),
                        vsub(vload(xp, p0 + 2 * C), y2))
                _row_b2(V, q + 3 * es, es, y0, y1, y2)
                _row_b2(V, q + 6 * es, es, vsub(vload(xp, p2), y0), vsub(vload(xp, p2 + C), y1),
                        vsub(vload(xp, p2 + 2 * C), y2))


@njit(**_opts)
def _output_tiles2(M, bp, yf, n, ty0, TH, TW, Cop, na, nb, a, b, OH, OW, Co):
    """Phase (a, b)'s outputs: ``y[n, a + 2i, b + 2j, :] = (A^T m A)[u, v] + bias`` for i = 2ty + u < na,
    j = 2tx + v < nb, 8 channels at a time."""
    T = TH * TW
    es = T * Cop + PAD
    dr = 2 * OW * Co
    for ty in range(TH):
        for tx in range(TW):
            q0 = (ty * TW + tx) * Cop
            i, j = 2 * (ty0 + ty), 2 * tx
            full_h, full_w = i + 1 < na, j + 1 < nb
            d0 = ((n * OH + a + 2 * i) * OW + b + 2 * j) * Co
            for c in range(0, Co, 8):
                q = q0 + c
                # rows of A^T m: m0 + m1 and m1 + m2 (3 columns each)
                m3, m4, m5 = vload(M, q + 3 * es), vload(M, q + 4 * es), vload(M, q + 5 * es)
                s0 = vadd(vload(M, q), m3)
                s1 = vadd(vload(M, q + es), m4)
                s2 = vadd(vload(M, q + 2 * es), m5)
                bv = vload(bp, c)
                d = d0 + c
                vstore(yf, d, vadd(vadd(s0, s1), bv))
                if full_w:
                    vstore(yf, d + 2 * Co, vadd(vadd(s1, s2), bv))
                if full_h:
                    t0 = vadd(m3, vload(M, q + 6 * es))
                    t1 = vadd(m4, vload(M, q + 7 * es))
                    vstore(yf, d + dr, vadd(vadd(t0, t1), bv))
                    if full_w:
                        t2 = vadd(m5, vload(M, q + 8 * es))
                        vstore(yf, d + dr + 2 * Co, vadd(vadd(t1, t2), bv))


@njit(parallel=True, **_opts)
def winograd_phases(x, x_nchw, U, bp, y, phases, ph, pw, Hp, Wp, tiles, nslots):
    """``y`` (N, OH, OW, Co), channels-last: for each row (a, b, na, nb, oy, ox) of ``phases``, the outputs
    ``y[n, a + 2i, b + 2j]`` (i < na, j < nb) = the stride-1 2x2 correlation, at (oy + i, ox + j) of the
    zero buffer holding image n at (ph, pw), with the kernel behind ``U[phase]`` (+ bias ``bp``).
    ``tiles``: the most tiles a band holds (the buffers' size)."""
    N = x.shape[0]
    C = x.shape[1] if x_nchw else x.shape[3]
    OH, OW, Co = y.shape[1], y.shape[2], y.shape[3]
    P = phases.shape[0]
    ustride = U.shape[1] * U.shape[2]
    Cob = (U.shape[2] - PAD) // (C * OB)
    Uf = U.reshape(U.size)
    yf = y.reshape(y.size)
    for s in prange(nslots):
        xp = np.empty(Hp * Wp * C, x.dtype)
        V = np.empty(9 * (tiles * C + PAD), x.dtype)
        M = np.empty(9 * (tiles * Cob * OB + PAD), x.dtype)
        for n in range(s, N, nslots):
            _pad_image(x, n, x_nchw, ph, pw, Hp, Wp, xp)
            for f in range(P):
                a, b, na, nb, oy, ox = phases[f, 0], phases[f, 1], phases[f, 2], phases[f, 3], phases[f, 4], phases[f, 5]
                TH, TW = (na + 1) // 2, (nb + 1) // 2
                band = min(TH, max(1, tiles // TW))
                for ty0 in range(0, TH, band):
                    th = min(band, TH - ty0)
                    _input_tiles2(xp, V, ty0, th, TW, Wp, C, oy, ox)
                    _products(V, Uf, f * ustride, 9, M, th * TW, C, Cob)
                    _output_tiles2(M, bp, yf, n, ty0, th, TW, Cob * OB, na, nb, a, b, OH, OW, Co)


# --------------------------------------------------------------------------- F(2, 3): conv1d
#
# A conv1d with a 3-tap kernel (a conv2d of unit height): each pair of outputs from a transformed
# 4-element input tile, 4 products per channel pair instead of 6, with the 1-D forms of the matrices
# above (B^T d = (d0 - d2, d1 + d2, d2 - d1, d1 - d3), U = G g, y = (m0 + m1 + m2, m1 - m2 - m3)).


def transform_weight1(w, dtype):
    """(Co, C, 3) -> U (4, Cob*C*16 + PAD): ``G g`` per channel pair, laid out as ``transform_weight``'s."""
    Co, C = w.shape[0], w.shape[1]
    Cob = -(-Co // OB)
    U = np.zeros((4, Cob * C * OB + PAD), dtype)
    _transform1(w, U, Cob)
    return U


@njit(**_opts)
def _transform1(w, U, Cob):
    """``U[e, (o // 16 * C + c) * 16 + o % 16] = (G w[o, c])[e]`` (``_row``: G's rows)."""
    Co, C = w.shape[0], w.shape[1]
    for ob in range(Cob):
        for c in range(C):
            for o in range(ob * OB, min(Co, ob * OB + OB)):
                _row(U, 0, (ob * C + c) * OB + o - ob * OB, float(w[o, c, 0]), float(w[o, c, 1]), float(w[o, c, 2]))


def transform_weight1_numpy(w, dtype):
    """``transform_weight1`` by ``np.einsum``: the reference."""
    return _pack_numpy(np.einsum("ik,ock->ioc", G_MATRIX, w.astype(np.float64)), dtype)


@njit(**_opts)
def _input_tiles1(xp, V, t0, T, C):
    """``V[e, t, :] = (B^T d)[e]`` for the 4-element tiles d of the buffer at 2 (t0 + t), 8 channels at a time."""
    es = T * C + PAD
    for t in range(T):
        r0 = 2 * (t0 + t) * C
        for c in range(0, C, 8):
            p = r0 + c
            d0, d1, d2, d3 = vload(xp, p), vload(xp, p + C), vload(xp, p + 2 * C), vload(xp, p + 3 * C)
            _row_b(V, t * C + c, es, d0, d1, d2, d3)


@njit(**_opts)
def _output_tiles1(M, bp, yf, n, t0, T, Cop, OW, Co):
    """``y[n, 0, 2t + u, :] = (A^T m)[u] + bias`` for the outputs inside y, 8 channels at a time."""
    es = T * Cop + PAD
    for t in range(T):
        ow = 2 * (t0 + t)
        d0 = (n * OW + ow) * Co
        q0 = t * Cop
        for c in range(0, Co, 8):
            q = q0 + c
            m1, m2 = vload(M, q + es), vload(M, q + 2 * es)
            bv = vload(bp, c)
            vstore(yf, d0 + c, vadd(vadd(vadd(vload(M, q), m1), m2), bv))
            if ow + 1 < OW:
                vstore(yf, d0 + Co + c, vadd(vsub(vsub(m1, m2), vload(M, q + 3 * es)), bv))


@njit(parallel=True, **_opts)
def winograd_conv1(x, x_nchw, U, bp, y, pw, nslots):
    """``y`` (N, 1, OW, Co) = the stride-1 3-tap correlation along the width of ``x`` (unit height), with
    the weight behind ``U`` (+ bias ``bp``); image n placed at column ``pw`` of a zero buffer."""
    N = x.shape[0]
    C = x.shape[1] if x_nchw else x.shape[3]
    OW, Co = y.shape[2], y.shape[3]
    Cob = (U.shape[1] - PAD) // (C * OB)
    TW = (OW + 1) // 2
    Wp = 2 * TW + 2
    Uf = U.reshape(U.size)
    yf = y.reshape(y.size)
    band = min(TW, _BAND_TILES)
    for s in prange(nslots):
        xp = np.empty(Wp * C, x.dtype)
        V = np.empty(4 * (band * C + PAD), x.dtype)
        M = np.empty(4 * (band * Cob * OB + PAD), x.dtype)
        for n in range(s, N, nslots):
            _pad_image(x, n, x_nchw, 0, pw, 1, Wp, xp)
            for t0 in range(0, TW, band):
                T = min(band, TW - t0)
                _input_tiles1(xp, V, t0, T, C)
                _products(V, Uf, 0, 4, M, T, C, Cob)
                _output_tiles1(M, bp, yf, n, t0, T, Cob * OB, OW, Co)
