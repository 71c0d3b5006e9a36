"""Convolutions: ``conv1d``, ``conv2d``, ``conv_transpose2d``, ``correlate2d``, ``convolve2d``.

What PyTorch calls convolution is cross-correlation: output pixel ``(n, o, i, j)`` is

    y[n, o, i, j] = b[o] + sum_{c, p, q} x[n, g*Cig + c, i*sh - ph + p*dh, j*sw - pw + q*dw] * w[o, c, p, q]

with ``g = o // Cog`` the group of output channel ``o`` and zero padding outside
the input. Along one axis the output size is the lecture's rule
``(N - F + 2P) / S + 1`` (floored; ``F`` is the dilated kernel ``D*(K-1) + 1``).
The true convolution flips the kernel: ``convolve2d(x, k) == correlate2d(x, k[::-1, ::-1])``.

Three bilinear maps share one set of kernels (``autograd_core/kernels/conv.py``):

    Conv2d            y  = F(x, w)        forward
    ConvTranspose2d   dx = Fx*(gy, w)     adjoint in x (the gradient w.r.t. the input)
    Conv2dWeightGrad  dw = Fw*(x, gy)     adjoint in w (the gradient w.r.t. the weight)

and each one's backward is made of the other two, so conv is differentiable any
number of times. The kernels work on channels-last memory: an (N, C, H, W)
array here may be a transposed view of (N, H, W, C) memory, which is what these
ops return, so a chain of convs, elementwise ops and pools never copies to
change layout.
"""

from __future__ import annotations

import os as _os
from functools import partial
from typing import NamedTuple

import numpy as np

from .. import _threads
from ..function import Function, ShapeError
from ..tensor import Tensor
from ..kernels import load as _load_kernels
from . import _conv_direct as _D, _routes
from ._common import as_tensor, check_dtypes, compute_dtype, nchw_view, ntuple, shape_of, to_nhwc
from ._declare import functional

__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "correlate2d", "convolve2d"]


def _K():
    """The Numba kernels, imported (and compiled or loaded from the cache) on first use."""
    return _load_kernels("conv")


class ConvParams(NamedTuple):
    """A 2-D convolution's settings (conv1d is a conv2d of unit height)."""

    sh: int      # stride along H and W
    sw: int
    ph: int      # top / left zero padding (the output size fixes the bottom / right)
    pw: int
    dh: int      # dilation along H and W
    dw: int
    groups: int

    @property
    def stride(self):
        return self.sh, self.sw


# --------------------------------------------------------------------------- kernel routes

# Each of the three maps (forward, input gradient, weight gradient) runs one of
# these kernel routes, chosen by ``_route`` from the groups and channel counts,
# the stride, and the memory layout of the operand it reads. Set
# AUTOGRAD_CORE_LOG_ROUTES=1, or use ``autograd_core.ops.log_routes()``, to see
# which one ran (``ops/_routes.py``). AUTOGRAD_CORE_CONV_ROUTES=gemm keeps every
# map on the three GEMM routes, =direct sends every map but depthwise ones to the
# direct kernel, =winograd every map that has a Winograd form to that kernel
# (tests and comparisons; the other maps follow the table).
ROUTES = {
    "depthwise": "groups == input == output channels: a stencil per channel, vectorised over channels on "
                 "channels-last memory or over a row on NCHW memory, in the input's layout; a strided input "
                 "gradient is scattered in NCHW memory (kernels/depthwise.py, ops/_conv_direct.py: dw_*)",
    "direct": "a register tile of 16 output channels x 6 pixels (explicit 8-lane vectors), any input layout, "
              "channels-last output; taken where it measured faster than GEMM (``_direct``): a float32 map whose output "
              "channels per group fill the 16-lane tiles, with a spatial kernel or a 1x1 over at least "
              "_DIRECT_MIN_K channels (``_long_enough``), and for the weight gradient at most _DIRECT_MAX_CIG input channels per group "
              "or an input map of more than _GEMM_WGRAD_PIXELS pixels; a "
              "strided input gradient runs one pass per output phase (kernels/conv_direct.py, "
              "ops/_conv_direct.py: direct_*)",
    "winograd": "Winograd F(2x2, 3x3): 16 GEMMs between transformed 4x4 input tiles, the transformed "
                "weight and transformed output-gradient tiles, 2.25x fewer multiply-adds than the direct "
                "kernel, for all three maps of a float32 3x3 stride-1 undilated conv with one group whose "
                "channels are multiples of 8 (at least 16 in, filling the 16-lane tiles out; ``_winograd``; a "
                "weight gradient over many channels on maps of at least _GEMM_WGRAD_PIXELS pixels); any input layout, "
                "channels-last output; and F(2x2, 2x2), 9 GEMMs on 3x3 tiles per output phase (1.78x fewer), "
                "for the input gradient of a 4x4 stride-2 conv, i.e. conv_transpose2d's x2 upsampling; and "
                "F(2, 3), 4 GEMMs on 4-element tiles (1.5x fewer), for the forward and input gradient of a "
                "3-tap stride-1 conv1d (kernels/winograd.py, ops/_conv_direct.py: winograd_*)",
    "planar_s1": "NCHW memory, at most _PLANAR_MAX_C input channels, stride 1: im2row on a 'virtual width' "
                 "(whole-row slices) + GEMM; both gradients in one pass over gy when both are wanted; "
                 "the output transposed to channels-last where the direct route would have written it "
                 "(``_channels_last_output``: a first conv, 3->16) (kernels/conv.py: *_planar_s1)",
    "planar": "NCHW memory, at most _PLANAR_MAX_C input channels, stride > 1: im2row per image + GEMM, "
              "output layout as planar_s1 (kernels/conv.py: *_planar)",
    "nhwc": "every other input (channels-last views, many channels): channels-last im2col + GEMM over chunks of "
            "images sized to L2 (kernels/conv.py: conv2d_forward, conv2d_backward_input, conv2d_backward_weight)",
}


_DIRECT_MIN_K = 64    # reduction length from which 1x1 convs, and input gradients, take the direct kernel
_DIRECT_MAX_CIG = 32  # direct weight gradient for more input channels per group only on maps above ...
_GEMM_WGRAD_PIXELS = 64  # ... this many input pixels (8x8 and less: GEMM as fast or faster; RESULTS.md)


def _fills_tiles(n):
    """Whether ``n`` output channels per group use at least 75% of the direct kernel's 16-lane tiles."""
    return n >= 12 and 4 * n >= 3 * 16 * (-(-n // 16))


def _long_enough(cin, KH, KW):
    """A reduction the direct kernel beats GEMM on: any spatial kernel, or a 1x1 over ``_DIRECT_MIN_K``
    channels. Spatial kernels over few channels included: a first conv 3->16 3x3 (reduction 27) ran
    forward + weight gradient in 2.0 ms against GEMM's 3.2 (N=32, 32x32), 1->16 3x3 in 1.7 against 3.2
    (benchmarks/RESULTS.md); a 1x1 conv is a GEMM already, with no patch matrix to build."""
    return KH * KW > 1 or cin >= _DIRECT_MIN_K


def _direct(kind, w_shape, p, pixels=0):
    """Whether map ``kind`` ('forward', 'input', 'weight') of a conv with weight ``w_shape`` runs the direct
    kernel: where it measured faster than the GEMM routes (benchmarks/RESULTS.md, issue 12). ``pixels``:
    the input map's size (weight gradients over many channels take GEMM on small maps only)."""
    Co, Cig, KH, KW = w_shape
    Cog = Co // p.groups
    if kind == "forward":
        return _fills_tiles(Cog) and _long_enough(Cig, KH, KW)
    if kind == "input":  # a direct conv of gy (Cog channels in, Cig out), all phases of a stride in one call
        return _fills_tiles(Cig) and Cog * KH * KW >= _DIRECT_MIN_K  # (few output channels: not measured)
    return (_fills_tiles(Cog) and _long_enough(Cig, KH, KW)
            and (Cig <= _DIRECT_MAX_CIG or pixels > _GEMM_WGRAD_PIXELS))


def _winograd(kind, w_shape, p, pixels=0, height=0):
    """Whether map ``kind`` of a conv with weight ``w_shape`` runs Winograd F(2x2, 3x3): a 3x3 stride-1
    undilated conv with one group whose channels into the map are a multiple of 8 (the transforms'
    vectors) from 16 up (fewer: not measured) and whose channels out of it are a multiple of 8 that
    fills the 16-lane tiles; a weight gradient over more than _DIRECT_MAX_CIG input channels also
    needs a map of at least _GEMM_WGRAD_PIXELS ``pixels`` (smaller ones stay on GEMM, as for the
    direct route). Those maps ran faster than on the direct route (whole ops, N=32, 16->16 32x32 /
    32->32 16x16 / 64->64 8x8: forward 0.70 / 0.62 / 0.60 of its time, input gradient 0.68 / 0.61 /
    0.60, weight gradient 0.76 / 0.62 / 0.58; 128 to 512 channels on 8x8 and 4x4 maps 0.55-0.91;
    ``python -m benchmarks.adhoc.winograd``, benchmarks/RESULTS.md). The 64-channel 8x8 weight
    gradient, which the direct route left to GEMM (2.26 ms the day before), took 1.37 ms.

    The input gradient of a 4x4 stride-2 conv with such channels (conv_transpose2d's x2 upsampling) runs
    F(2x2, 2x2) per output phase: the preset's 64->32 16x16 upsampling forward took 10.4 ms against the
    direct route's 14.6 (``winograd_transposed``). The forward and input gradient of a conv1d with 3 taps
    (a 1x3 conv of unit height, ``height``) run F(2, 3): 64->64 L=256, N=64, 4.4 ms each against the
    direct route's 5.7."""
    Co, Cig, KH, KW = w_shape
    cin, cout = (Co, Cig) if kind == "input" else (Cig, Co)
    if kind == "weight" and Cig > _DIRECT_MAX_CIG and pixels < _GEMM_WGRAD_PIXELS:
        return False
    if not (cin >= 16 and cin % 8 == 0 and cout % 8 == 0 and _fills_tiles(cout)
            and (p.dh, p.dw) == (1, 1) and p.groups == 1):
        return False
    if kind == "input" and (KH, KW) == (4, 4) and p.stride == (2, 2):
        return True  # F(2x2, 2x2) per output phase: conv_transpose2d's x2 upsampling
    if (KH, KW) == (1, 3) and kind != "weight":  # F(2, 3): conv1d (a unit-height map)
        return p.stride == (1, 1) and p.ph == 0 and height == 1
    return (KH, KW) == (3, 3) and p.stride == (1, 1)


def _route(kind, a, w_shape, p, serial=False):
    """The ``ROUTES`` key for map ``kind`` ('forward', 'input' or 'weight') of a conv with weight shape
    ``w_shape`` (Co, Cig, KH, KW) and settings ``p``, reading ``a`` (the input for the forward, else the
    output gradient). A ``serial`` (small) map stays on GEMM: the direct route's packing in Python
    costs more than it saves there (LeNet-5 at batch 1: 1.28x the GEMM step). So does float64: the
    tile's 12 accumulators of 8 doubles need 24 AVX2 registers of the 16 there are, and the GEMM
    route measured faster (N=64 fwd+bwd: 16->16 32x32 45 ms vs 49, 32->32 16x16 38 vs 45)."""
    Co, Cig = w_shape[0], w_shape[1]
    G = p.groups
    forced = _os.environ.get("AUTOGRAD_CORE_CONV_ROUTES")  # "gemm", "direct" or "winograd": tests, comparisons
    if forced != "gemm":
        if G > 1 and Cig == 1 and Co == G:
            return "depthwise"
        pixels = a.shape[2] * a.shape[3] * (p.sh * p.sw if kind == "weight" else 1)  # (a = gy: output map)
        if forced == "winograd" and _winograd(kind, w_shape, p, pixels, a.shape[2]):
            return "winograd"
        if forced == "direct":
            return "direct"
        if not serial and a.dtype == np.float32:
            if _winograd(kind, w_shape, p, pixels, a.shape[2]):
                return "winograd"
            if _direct(kind, w_shape, p, pixels):
                return "direct"
    if _planar(a, Cig * G):
        return "planar_s1" if p.stride == (1, 1) else "planar"
    return "nhwc"


def _channels_last_output(x, cog, serial):
    """Whether a planar-route forward writes channels-last memory (its NCHW result transposed by a kernel).

    It does where the direct route would write channels-last (a float32 map large enough for the
    threads, whose ``cog`` output channels per group fill the direct tiles) but the map stays on GEMM:
    a 1x1 conv over few NCHW channels (3x3 first convs take the direct route, ``_long_enough``). Then
    its output and the direct convs' after it share one memory layout; mixed layouts made every batch
    norm, ReLU and residual add between them transpose (ResNet-8 step, batch 32: 72-74 -> 67-70 ms
    when its first conv began writing channels-last).
    """
    return (x.dtype == np.float32 and not serial and _fills_tiles(cog)
            and _os.environ.get("AUTOGRAD_CORE_CONV_ROUTES") != "gemm")


_MODULES = {"depthwise": "depthwise", "direct": "conv_direct", "winograd": "winograd"}  # the kernel module of a route; else "conv"


def _kernel(op, route, shapes, serial, name, *args):
    """Run kernel ``name`` of ``route``'s kernel module (serial or parallel), recording the route taken."""
    _routes.taken(op, route, shapes, serial)
    module = _load_kernels(_MODULES[route]) if route in _MODULES else _K()
    return _threads.call(getattr(module, name), *args, serial=serial)


# --------------------------------------------------------------------------- layout helpers

def _gemm_weight(w, G):
    """(Co, Cig, KH, KW) -> (G, KH*KW*Cig, Cog), the right operand of the forward GEMM."""
    Co, Cig, KH, KW = w.shape
    return np.ascontiguousarray(
        w.reshape(G, Co // G, Cig, KH, KW).transpose(0, 3, 4, 2, 1)).reshape(G, KH * KW * Cig, Co // G)


def _gemm_weight_t(w, G):
    """(Co, Cig, KH, KW) -> (G, Cog, KH*KW*Cig), the right operand of the input-gradient GEMM."""
    Co, Cig, KH, KW = w.shape
    return np.ascontiguousarray(
        w.reshape(G, Co // G, Cig, KH, KW).transpose(0, 1, 3, 4, 2)).reshape(G, Co // G, KH * KW * Cig)


_PLANAR_MAX_C = 16  # input channels up to which NCHW memory is convolved as is (measured: README)


def _planar(a, C):
    """Use the planar (NCHW) kernels for ``a``: few input channels ``C`` and ``a`` not channels-last."""
    channels_last = a.shape[1] > 1 and a.transpose(0, 2, 3, 1).flags.c_contiguous
    return C <= _PLANAR_MAX_C and not channels_last


_CHUNK_BYTES = 1 << 20  # im2col buffer per chunk: fits the 2 MB L2 with room for the GEMM


def _chunk(N, rows, K, itemsize, nthreads):
    """Images per chunk: a buffer of about ``_CHUNK_BYTES``, and work for every thread."""
    per_image = max(1, rows * K * itemsize)
    c = max(1, _CHUNK_BYTES // per_image)
    return int(min(c, -(-N // nthreads)))


_S1_BYTES = 192 << 10  # stride-1 planar kernels: patch matrix per GEMM (measured: 1-2 LeNet C3 images)


def _chunk_s1(N, K, OH, OW, KW, dw, itemsize, nthreads):
    """Images per GEMM of the stride-1 planar kernels: about ``_S1_BYTES`` of patch matrix, work for every thread."""
    L = (OH - 1) * (OW + (KW - 1) * dw) + OW
    c = max(1, _S1_BYTES // max(1, K * L * itemsize))
    return int(min(c, -(-N // nthreads)))


def _flops(N, Co, OH, OW, Cig, KH, KW):
    return 2 * N * Co * OH * OW * Cig * KH * KW


# --------------------------------------------------------------------------- the three maps

# A convolution's settings travel as ``p``, a ``ConvParams``.


def _forward(x, w, b, p, OH, OW):
    """y = F(x, w) + b, (N, Co, OH, OW), and x in NHWC memory for the weight gradient.

    Planar inputs (``_planar``) give no NHWC x (None), and NCHW memory unless
    ``_channels_last_output``; the others a channels-last view.
    """
    sh, sw, ph, pw, dh, dw, G = p
    Co, Cig, KH, KW = w.shape
    cdt, odt = compute_dtype("conv2d", x, w, b)
    bias = np.zeros(0, cdt) if b is None else np.ascontiguousarray(b, dtype=cdt)
    N = x.shape[0]
    nthreads, serial = _threads.plan(flops=_flops(N, Co, OH, OW, Cig, KH, KW))
    route = _route("forward", x, w.shape, p, serial)
    run = partial(_kernel, "conv2d forward", route, (x.shape, w.shape), serial)
    if route in _MODULES:
        fwd = {"depthwise": _D.dw_forward, "direct": _D.direct_forward, "winograd": _D.winograd_forward}[route]
        return fwd(run, x, w, b, p, OH, OW, cdt, nthreads).astype(odt, copy=False), None
    if route != "nhwc":
        cl_out = _channels_last_output(x, Co // G, serial)
        xc = np.ascontiguousarray(x, dtype=cdt)
        y = np.empty((N, Co, OH, OW), cdt)
        if N and y.size:
            w2 = np.ascontiguousarray(w, dtype=cdt).reshape(G, Co // G, Cig * KH * KW)
            if route == "planar_s1":
                chunk = _chunk_s1(N, Cig * KH * KW, OH, OW, KW, dw, cdt.itemsize, nthreads)
                run("conv2d_forward_planar_s1", xc, w2, bias, y, KH, KW, ph, pw, dh, dw, chunk, nthreads)
            else:
                run("conv2d_forward_planar", xc, w2, bias, y, KH, KW, sh, sw, ph, pw, dh, dw)
        elif b is not None:
            y[...] = bias[:, None, None]
        if cl_out:
            y = nchw_view(to_nhwc(y))
        return y.astype(odt, copy=False), None
    xs = to_nhwc(x.astype(cdt, copy=False))
    wm = _gemm_weight(w.astype(cdt, copy=False), G)
    y = np.empty((N, OH, OW, Co), cdt)
    if N and y.size:
        chunk = _chunk(N, OH * OW, wm.shape[1], cdt.itemsize, nthreads)
        run("conv2d_forward", xs, wm, bias, y, KH, KW, sh, sw, ph, pw, dh, dw, chunk, nthreads)
    elif b is not None:
        y[...] = bias
    return nchw_view(y).astype(odt, copy=False), xs


def _input_grad(gy, w, p, H, W, b=None):
    """dx = Fx*(gy, w), (N, C, H, W): NCHW memory if ``gy`` is planar, else a channels-last view.

    ``b`` (C,): a bias added to every position (conv_transpose2d's); the direct and Winograd
    kernels add it as they store, the other routes in place afterwards.
    """
    Co, Cig, KH, KW = w.shape
    nthreads, serial = _threads.plan(flops=_flops(gy.shape[0], Co, gy.shape[2], gy.shape[3], Cig, KH, KW))
    route = _route("input", gy, w.shape, p, serial)
    run = partial(_kernel, "conv2d input grad", route, (gy.shape, w.shape), serial)
    cdt, odt = compute_dtype("conv_transpose2d", gy, w)
    if route in ("direct", "winograd"):
        igrad = (_D.direct_input_grad if route == "direct" else
                 _D.winograd_input_grad if p.stride == (1, 1) else _D.winograd_transposed)
        return igrad(run, gy, w, p, H, W, cdt, nthreads, b).astype(odt, copy=False)
    dx = _input_grad_other(route, run, gy, w, p, H, W, cdt, odt, nthreads)
    if b is not None:
        dx += np.asarray(b, dx.dtype).reshape(1, -1, 1, 1)  # dx is a fresh array
    return dx


def _input_grad_other(route, run, gy, w, p, H, W, cdt, odt, nthreads):
    """``_input_grad`` on the routes whose kernels take no bias."""
    sh, sw, ph, pw, dh, dw, G = p
    Co, Cig, KH, KW = w.shape
    if route == "depthwise":
        return _D.dw_input_grad(run, gy, w, p, H, W, cdt, nthreads).astype(odt, copy=False)
    if route == "planar_s1":
        return _backward_s1(None, gy, w, w.shape, p, (H, W), True, False, False, cdt, odt)[0]
    if route == "planar":
        gc = np.ascontiguousarray(gy, dtype=cdt)
        dx = np.empty((gc.shape[0], Cig * G, H, W), cdt)  # the kernel zeroes each image first
        if gc.size and dx.size:
            w2t = np.ascontiguousarray(w.astype(cdt, copy=False).reshape(G, Co // G, Cig * KH * KW).transpose(0, 2, 1))
            run("conv2d_backward_input_planar", gc, w2t, dx, KH, KW, sh, sw, ph, pw, dh, dw)
        else:
            dx[...] = 0
        return dx.astype(odt, copy=False)
    gs = to_nhwc(gy.astype(cdt, copy=False))
    N, OH, OW, _ = gs.shape
    wmt = _gemm_weight_t(w.astype(cdt, copy=False), G)
    dx = np.empty((N, H, W, Cig * G), cdt)  # the kernel zeroes each chunk first
    if N and gs.size and dx.size:
        chunk = _chunk(N, OH * OW, wmt.shape[2], cdt.itemsize, nthreads)
        run("conv2d_backward_input", gs, wmt, dx, KH, KW, sh, sw, ph, pw, dh, dw, chunk, nthreads)
    else:
        dx[...] = 0
    return nchw_view(dx).astype(odt, copy=False)


def _weight_grad(x, gy, p, KH, KW, with_bias=False, xs=None):
    """dw = Fw*(x, gy), shape (Co, Cig, KH, KW); with ``with_bias`` also db = sum of gy per channel.

    ``xs``: the input already in NHWC memory (kept by the forward), if at hand.
    """
    sh, sw, ph, pw, dh, dw, G = p
    cdt, odt = compute_dtype("conv2d weight gradient", x, gy)
    N, C, Co = x.shape[0], x.shape[1], gy.shape[1]
    nthreads, serial = _threads.plan(flops=_flops(N, Co, gy.shape[2], gy.shape[3], C // G, KH, KW))
    route = _route("weight", gy, (Co, C // G, KH, KW), p, serial)
    run = partial(_kernel, "conv2d weight grad", route, (x.shape, gy.shape), serial)
    if route in _MODULES:
        wgrad = {"depthwise": _D.dw_weight_grad, "direct": _D.direct_weight_grad,
                 "winograd": _D.winograd_weight_grad}[route]
        dwt, db = wgrad(run, x, gy, p, KH, KW, with_bias, cdt, nthreads)
        dwt = dwt.astype(odt, copy=False)
        return (dwt, db.astype(odt, copy=False)) if with_bias else dwt
    if route == "planar_s1":
        _, dwt, db = _backward_s1(x, gy, None, (Co, C // G, KH, KW), p, x.shape[2:], False, True, with_bias, cdt,
                                  odt)
        return (dwt, db) if with_bias else dwt
    if route == "planar":
        xc = np.ascontiguousarray(x, dtype=cdt)
        gc = np.ascontiguousarray(gy, dtype=cdt)
        slots = max(1, min(nthreads, N))
        dwp = np.zeros((slots, G, Co // G, C // G * KH * KW), cdt)
        dbp = np.zeros((slots, Co if with_bias else 0), cdt)
        if N and gc.size:
            run("conv2d_backward_weight_planar", xc, gc, dwp, dbp, KH, KW, sh, sw, ph, pw, dh, dw)
        dwt = dwp.sum(0).reshape(Co, C // G, KH, KW).astype(odt, copy=False)
        return (dwt, dbp.sum(0).astype(odt, copy=False)) if with_bias else dwt
    if xs is None or xs.dtype != cdt:
        xs = to_nhwc(x.astype(cdt, copy=False))
    gs = to_nhwc(gy.astype(cdt, copy=False))
    N, OH, OW, Co = gs.shape
    Cig = xs.shape[3] // G
    K = KH * KW * Cig
    slots = max(1, min(nthreads, N))
    dwp = np.zeros((slots, G, K, Co // G), cdt)
    dbp = np.zeros((slots, Co if with_bias else 0), cdt)
    if N and gs.size:
        chunk = _chunk(N, OH * OW, K, cdt.itemsize, slots)
        run("conv2d_backward_weight", xs, gs, dwp, dbp, KH, KW, sh, sw, ph, pw, dh, dw, chunk)
    dwm = dwp[0] if slots == 1 else dwp.sum(0)
    dwt = dwm.reshape(G, KH, KW, Cig, Co // G).transpose(0, 4, 3, 1, 2).reshape(Co, Cig, KH, KW)
    dwt = np.ascontiguousarray(dwt).astype(odt, copy=False)
    if with_bias:
        return dwt, dbp.sum(0).astype(odt, copy=False)
    return dwt


def _backward_s1(x, gy, w, w_shape, p, in_hw, need_x, need_w, with_bias, cdt, odt):
    """(dx, dw, db) of a stride-1 planar conv in one pass over ``gy``, None where not wanted.

    ``x`` is needed for dw (else None), the weight ``w`` of shape ``w_shape``
    for dx (else None); ``in_hw`` is the input's (H, W).
    """
    _, _, ph, pw, dh, dw, G = p
    Co, Cig, KH, KW = w_shape
    N, _, OH, OW = gy.shape
    C, Kg = Cig * G, Cig * KH * KW
    gc = np.ascontiguousarray(gy, dtype=cdt)
    if need_x:
        w2t = np.ascontiguousarray(w.astype(cdt, copy=False).reshape(G, Co // G, Kg).transpose(0, 2, 1))
        dx = np.empty((N, C) + tuple(in_hw), cdt)  # the kernel overwrites every element
    else:
        w2t = np.empty((G, Kg, Co // G), cdt)  # only its shape is read
        dx = np.empty((0, C) + tuple(in_hw), cdt)
    xc = np.ascontiguousarray(x, dtype=cdt) if need_w else np.empty((0, C) + tuple(in_hw), cdt)
    nthreads, serial = _threads.plan(flops=_flops(N, Co, OH, OW, Cig, KH, KW) * (need_x + need_w))
    op = "conv2d both grads" if need_x and need_w else "conv2d input grad" if need_x else "conv2d weight grad"
    slots = max(1, min(nthreads, N))
    dwp = np.zeros((slots if need_w else 0, G, Kg, Co // G), cdt)
    dbp = np.zeros((slots, Co if with_bias else 0), cdt)
    if N and gc.size:
        chunk = _chunk_s1(N, Kg, OH, OW, KW, dw, cdt.itemsize, slots)
        _kernel(op, "planar_s1", (gy.shape, w_shape), serial,
                "conv2d_backward_planar_s1", xc, gc, w2t, dx, dwp, dbp, KH, KW, ph, pw, dh, dw, chunk, slots,
             Kg >= 96)
    elif need_x:
        dx[...] = 0
    dxo = dx.astype(odt, copy=False) if need_x else None
    dwo = dbo = None
    if need_w:  # (S, G, K, Cog) partials, transposed
        dwm = (dwp[0] if slots == 1 else dwp.sum(0)).transpose(0, 2, 1)
        dwo = np.ascontiguousarray(dwm).reshape(Co, Cig, KH, KW).astype(odt, copy=False)
    if with_bias:
        dbo = dbp.sum(0).astype(odt, copy=False)
    return dxo, dwo, dbo


class Conv2d(Function):
    """``y = F(x, w) + b`` (cross-correlation). Use ``conv2d``, which checks the arguments."""

    @staticmethod
    def forward(ctx, x, w, b, p, out_hw):
        ctx.p = p
        ctx.save_for_backward(x, w)
        y, ctx.xs = _forward(x, w, b, p, *out_hw)
        return y

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        p, xs = ctx.p, ctx.xs
        N, Co, OH, OW = g.shape
        small = _threads.small(flops=_flops(N, Co, OH, OW, *w.shape[1:]))
        if need[0] and need[1] and _route("input", g.data, w.shape, p, small) == "planar_s1":
            # both gradients in one pass over g (one kernel launch)
            if need[2]:
                return Conv2dBackward.apply(x, g, w, p, True)
            gx, gw = Conv2dBackward.apply(x, g, w, p, False)
            return gx, gw, None
        gx = ConvTranspose2d.apply(g, w, p, x.shape[2:]) if need[0] else None
        gw = gb = None
        if need[1] and need[2]:  # one pass over g gives both
            gw, gb = Conv2dWeightGrad.apply(x, g, p, w.shape[2:], True, xs)
        elif need[1]:
            gw = Conv2dWeightGrad.apply(x, g, p, w.shape[2:], False, xs)
        elif need[2]:
            gb = g.sum((0, 2, 3))
        return gx, gw, gb


class ConvTranspose2d(Function):
    """``dx = Fx*(gy, w) (+ b)``: the gradient of conv2d w.r.t. its input, of spatial size ``in_hw``
    (conv_transpose2d, with its bias ``b`` added in the same pass where the route allows)."""

    @staticmethod
    def forward(ctx, gy, w, p, in_hw, b=None):
        ctx.p = p
        ctx.save_for_backward(gy, w)
        return _input_grad(gy, w, p, *in_hw, b)

    @staticmethod
    def backward(ctx, h):
        gy, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        ggy = Conv2d.apply(h, w, None, ctx.p, gy.shape[2:]) if need[0] else None
        gw = Conv2dWeightGrad.apply(h, gy, ctx.p, w.shape[2:]) if need[1] else None
        gb = h.sum((0, 2, 3)) if len(need) > 4 and need[4] else None
        return ggy, gw, None, None, gb


class Conv2dWeightGrad(Function):
    """``dw = Fw*(x, gy)``: the gradient of conv2d w.r.t. its weight, kernel size ``k_hw``.

    With ``with_bias`` it also returns ``db = gy.sum((0, 2, 3))`` (same pass over
    ``gy``); ``xs`` is ``x`` in NHWC memory if the forward kept it.
    """

    @staticmethod
    def forward(ctx, x, gy, p, k_hw, with_bias=False, xs=None):
        ctx.p = p
        ctx.with_bias = with_bias
        ctx.save_for_backward(x, gy)
        return _weight_grad(x, gy, p, *k_hw, with_bias, xs)

    @staticmethod
    def backward(ctx, k, kb=None):
        x, gy = ctx.saved_tensors
        need = ctx.needs_input_grad
        gx = ConvTranspose2d.apply(gy, k, ctx.p, x.shape[2:]) if need[0] else None
        ggy = Conv2d.apply(x, k, kb if ctx.with_bias else None, ctx.p, gy.shape[2:]) if need[1] else None
        return gx, ggy


class Conv2dBackward(Function):
    """``(dx, dw)``, or ``(dx, dw, db)`` with ``with_bias``, of conv2d in one pass over ``gy``.

    The maps of ``ConvTranspose2d`` and ``Conv2dWeightGrad`` at once (used for
    stride-1 planar convs, whose kernel reads ``gy`` once for both); its
    backward is made of the same three ops as theirs.
    """

    @staticmethod
    def forward(ctx, x, gy, w, p, with_bias):
        ctx.p = p
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(x, gy, w)
        cdt, odt = compute_dtype("conv2d backward", x, gy, w)
        dx, dw, db = _backward_s1(x, gy, w, w.shape, p, x.shape[2:], True, True, with_bias, cdt, odt)
        return (dx, dw, db) if with_bias else (dx, dw)

    @staticmethod
    def backward(ctx, hx, hw, hb=None):
        x, gy, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        p = ctx.p
        if hw is None and hb is not None:
            hw = Tensor._wrap(np.zeros(w.shape, hb.dtype))
        gx = ConvTranspose2d.apply(gy, hw, p, x.shape[2:]) if need[0] and hw is not None else None
        ggy = None
        if need[1]:
            if hx is not None:
                ggy = Conv2d.apply(hx, w, None, p, gy.shape[2:])
            if hw is not None:
                t = Conv2d.apply(x, hw, hb, p, gy.shape[2:])
                ggy = t if ggy is None else ggy + t
        gw = Conv2dWeightGrad.apply(hx, gy, p, w.shape[2:]) if need[2] and hx is not None else None
        return gx, ggy, gw


# --------------------------------------------------------------------------- argument checks

def _out_size(n, k, s, p0, p1, d):
    """The output length along one axis: floor((N + P0 + P1 - D*(K-1) - 1) / S) + 1."""
    return (n + p0 + p1 - d * (k - 1) - 1) // s + 1


def _conv_setup(op, xs, ws, stride, padding, dilation, groups, nd=2, transposed=False):
    """Check the shapes and settings of a convolution; return (``ConvParams``, pads) where
    pads = ((top, bottom), (left, right)).

    ``xs`` is the input's shape (N, C, H, W); ``ws`` the weight's (Co, Cig, KH, KW)
    for a conv, (Ci, Cog, KH, KW) for a transposed conv.
    """
    if len(xs) != nd + 2:
        raise ShapeError(f"{op}: input must be {nd + 2}-D (N, C, {'H, W' if nd == 2 else 'L'}) or "
                         f"{nd + 1}-D without the batch, got shape {xs}")
    if len(ws) != nd + 2:
        raise ShapeError(f"{op}: weight must be {nd + 2}-D "
                         f"({'in_channels, out_channels/groups' if transposed else 'out_channels, in_channels/groups'}"
                         f", {'kH, kW' if nd == 2 else 'kL'}), got shape {ws}")
    if not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    stride = ntuple(stride, nd, op, "stride", 1)
    dilation = ntuple(dilation, nd, op, "dilation", 1)
    C = xs[1]
    k = ws[2:]
    if transposed:
        if ws[0] != C:
            raise ShapeError(f"{op}: input has {C} channels but weight expects {ws[0]} "
                             f"(weight.shape[0]); input shape {xs}, weight shape {ws}")
        if C % groups:
            raise ValueError(f"{op}: groups={groups} does not divide the input's {C} channels")
    else:
        if C != ws[1] * groups:
            raise ShapeError(f"{op}: input has {C} channels but weight expects {ws[1] * groups} "
                             f"(weight.shape[1]={ws[1]} x groups={groups}); input shape {xs}, weight shape {ws}")
        if ws[0] % groups:
            raise ValueError(f"{op}: groups={groups} does not divide out_channels={ws[0]} "
                             f"(weight.shape[0]); weight shape {ws}")
    if any(v == 0 for v in k):
        raise ShapeError(f"{op}: the kernel size must be positive, got weight shape {ws}")
    if isinstance(padding, str):
        if padding == "valid":
            pads = ((0, 0),) * nd
        elif padding == "same":
            if transposed:
                raise ValueError(f"{op}: padding='same' is not supported, give the padding as ints")
            if any(s != 1 for s in stride):
                raise ValueError(f"{op}: padding='same' needs stride 1, got stride={stride}")
            pads = []
            for kk, d in zip(k, dilation):
                total = d * (kk - 1)
                pads.append((total // 2, total - total // 2))
            pads = tuple(pads)
        else:
            raise ValueError(f"{op}: padding must be an int, a tuple of ints, 'same' or 'valid', got {padding!r}")
    else:
        pads = tuple((v, v) for v in ntuple(padding, nd, op, "padding", 0))
    if not transposed:
        for ax, (n, kk, (p0, p1), d) in enumerate(zip(xs[2:], k, pads, dilation)):
            if d * (kk - 1) + 1 > n + p0 + p1:
                dims = "HW"[ax] if nd == 2 else "L"
                raise ShapeError(
                    f"{op}: the kernel ({kk} taps along {dims}, {d * (kk - 1) + 1} with dilation {d}) is larger "
                    f"than the padded input ({n} + padding {p0 + p1} = {n + p0 + p1}); input shape {xs}, "
                    f"weight shape {ws}")
    if nd == 1:
        stride, dilation, pads = (1,) + stride, (1,) + dilation, ((0, 0),) + pads
    p = ConvParams(stride[0], stride[1], pads[0][0], pads[1][0], dilation[0], dilation[1], int(groups))
    return p, pads


def _check_bias(op, b, n):
    if b is not None and shape_of(b) != (n,):
        raise ShapeError(f"{op}: bias must have shape ({n},) (one value per output channel), got {shape_of(b)}")


def _unbatched(a, nd):
    return len(shape_of(a)) == nd + 1


# --------------------------------------------------------------------------- public API

@functional
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation (PyTorch's ``conv2d``).

    Parameters
    ----------
    input : Tensor (N, C_in, H, W) or (C_in, H, W)
    weight : Tensor (C_out, C_in / groups, kH, kW)
    bias : Tensor (C_out,), optional
    stride, dilation : int or (int, int)
    padding : int, (int, int), 'valid' or 'same'
        Zero padding on both sides; 'same' keeps H and W (stride 1 only; the extra
        pixel of an even kernel goes to the bottom/right, as in PyTorch).
    groups : int
        Split channels into ``groups`` independent convolutions (``groups=C_in``:
        depthwise).

    Returns
    -------
    Tensor (N, C_out, OH, OW) with ``OH = (H + 2P - D*(kH-1) - 1) // S + 1``.
    """
    op = "conv2d"
    if _unbatched(input, 2):
        return conv2d(as_tensor(input).unsqueeze(0), weight, bias, stride, padding, dilation, groups).squeeze(0)
    xs, ws = shape_of(input), shape_of(weight)
    p, pads = _conv_setup(op, xs, ws, stride, padding, dilation, groups)
    _check_bias(op, bias, ws[0])
    check_dtypes(op, input, weight=weight, bias=bias)
    OH = _out_size(xs[2], ws[2], p.sh, *pads[0], p.dh)
    OW = _out_size(xs[3], ws[3], p.sw, *pads[1], p.dw)
    return Conv2d.apply(input, weight, bias, p, (OH, OW))


@functional
def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D cross-correlation: ``input`` (N, C_in, L), ``weight`` (C_out, C_in / groups, k).

    It is conv2d on a unit height; arguments as in ``conv2d`` with ints.
    """
    op = "conv1d"
    if _unbatched(input, 1):
        return conv1d(as_tensor(input).unsqueeze(0), weight, bias, stride, padding, dilation, groups).squeeze(0)
    xs, ws = shape_of(input), shape_of(weight)
    p, pads = _conv_setup(op, xs, ws, stride, padding, dilation, groups, nd=1)
    _check_bias(op, bias, ws[0])
    check_dtypes(op, input, weight=weight, bias=bias)
    L = _out_size(xs[2], ws[2], p.sw, *pads[1], p.dw)
    x4 = as_tensor(input).unsqueeze(2)
    w4 = as_tensor(weight).unsqueeze(2)
    return Conv2d.apply(x4, w4, bias, p, (1, L)).squeeze(2)


@functional
def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """2-D transposed convolution (PyTorch's ``conv_transpose2d``): the gradient of conv2d w.r.t. its input.

    Parameters
    ----------
    input : Tensor (N, C_in, H, W) or (C_in, H, W)
    weight : Tensor (C_in, C_out / groups, kH, kW)
    bias : Tensor (C_out,), optional
    stride, padding, output_padding, dilation : int or (int, int)
        ``output_padding`` adds rows/columns at the bottom/right so that one of
        several input sizes of the matching conv2d can be chosen; it must be
        smaller than stride or dilation.

    Returns
    -------
    Tensor (N, C_out, OH, OW), ``OH = (H - 1)*S - 2P + D*(kH-1) + output_padding + 1``.
    """
    op = "conv_transpose2d"
    if _unbatched(input, 2):
        return conv_transpose2d(as_tensor(input).unsqueeze(0), weight, bias, stride, padding, output_padding,
                                groups, dilation).squeeze(0)
    xs, ws = shape_of(input), shape_of(weight)
    p, pads = _conv_setup(op, xs, ws, stride, padding, dilation, groups, transposed=True)
    op_h, op_w = ntuple(output_padding, 2, op, "output_padding", 0)
    sh, sw, dh, dw = p.sh, p.sw, p.dh, p.dw
    if op_h >= max(sh, dh) or op_w >= max(sw, dw):
        raise ValueError(f"{op}: output_padding={output_padding!r} must be smaller than stride "
                         f"({sh}, {sw}) or dilation ({dh}, {dw})")
    OH = (xs[2] - 1) * sh - 2 * pads[0][0] + dh * (ws[2] - 1) + op_h + 1
    OW = (xs[3] - 1) * sw - 2 * pads[1][0] + dw * (ws[3] - 1) + op_w + 1
    if OH <= 0 or OW <= 0:
        raise ShapeError(f"{op}: the output would have size ({OH}, {OW}) for input shape {xs}, weight shape {ws}, "
                         f"stride ({sh}, {sw}), padding {padding!r}: reduce the padding")
    Co = ws[1] * groups
    _check_bias(op, bias, Co)
    check_dtypes(op, input, weight=weight, bias=bias)
    # the conv whose input gradient this is: weight (C_in, C_out/groups, ...) is that conv's weight
    return ConvTranspose2d.apply(input, weight, p, (OH, OW), bias)


@functional
def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """1-D transposed convolution: conv_transpose2d on a unit height."""
    def one(v, name):
        return (0 if name in ("padding", "output_padding") else 1, ntuple(v, 1, "conv_transpose1d", name, 0)[0])
    if _unbatched(input, 1):
        return conv_transpose1d(as_tensor(input).unsqueeze(0), weight, bias, stride, padding, output_padding,
                                groups, dilation).squeeze(0)
    if len(shape_of(input)) != 3 or len(shape_of(weight)) != 3:
        raise ShapeError(f"conv_transpose1d: input must be (N, C, L) and weight (C_in, C_out/groups, k), "
                         f"got shapes {shape_of(input)} and {shape_of(weight)}")
    out = conv_transpose2d(as_tensor(input).unsqueeze(2), as_tensor(weight).unsqueeze(2), bias,
                           one(stride, "stride"), one(padding, "padding"), one(output_padding, "output_padding"),
                           groups, one(dilation, "dilation"))
    return out.squeeze(2)


def _flip_form(op, input, kernel, padding, dilation):
    """``(batched, padding)`` for correlate2d / convolve2d: a 2-D image and kernel, or conv2d's shapes.

    ``padding='full'`` becomes ``dilation * (k - 1)`` on each side (every overlap of image and kernel).
    """
    xs, ks = shape_of(input), shape_of(kernel)
    if len(xs) == 2 and len(ks) == 2:
        batched = False
    elif len(xs) in (3, 4) and len(ks) == 4:
        batched = True
    else:
        raise ShapeError(f"{op}: expected a 2-D image (H, W) with a 2-D kernel (kH, kW), or input (N, C_in, H, W) / "
                         f"(C_in, H, W) with weight (C_out, C_in / groups, kH, kW); got shapes {xs} and {ks}")
    if isinstance(padding, str) and padding == "full":
        d = ntuple(dilation, 2, op, "dilation", 1)
        padding = (d[0] * (ks[-2] - 1), d[1] * (ks[-1] - 1))
    return batched, padding


def _image_pair(input, kernel, flip=False):
    """The 2-D form's image and kernel as (1, 1, H, W) and (1, 1, kH, kW), promoted as numpy does.

    conv2d refuses mixed dtypes (as PyTorch's layers do); the lecture's 2-D functions keep numpy's promotion.
    """
    x, k = as_tensor(input), as_tensor(kernel)
    if flip:
        k = k[..., ::-1, ::-1]
    dt = np.result_type(x.dtype, k.dtype)
    return x.to(dt).reshape(1, 1, *shape_of(input)), k.to(dt).reshape(1, 1, *shape_of(kernel))


@functional
def correlate2d(input, kernel, stride=1, padding=0, dilation=1, groups=1, bias=None):
    """Cross-correlation (what CNN layers compute) of a 2-D image with a 2-D kernel, or of a batch.

    2-D: ``out[i, j] = sum_{p, q} x[i*S + p - P, j*S + q - P] * k[p, q]``.
    Batched: ``input`` (N, C_in, H, W) or (C_in, H, W), ``kernel`` (C_out,
    C_in / groups, kH, kW), with ``bias`` (C_out,): exactly ``conv2d``.
    ``padding``: int, pair, 'valid' (0), 'same' or 'full' (kernel size - 1 on each side).
    """
    batched, padding = _flip_form("correlate2d", input, kernel, padding, dilation)
    if batched:
        return conv2d(input, kernel, bias, stride, padding, dilation, groups)
    if bias is not None or groups != 1:
        raise ValueError("correlate2d: bias and groups apply to batched input (N, C, H, W) only")
    x4, k4 = _image_pair(input, kernel)
    out = conv2d(x4, k4, None, stride, padding, dilation)
    return out.reshape(out.shape[2:])


@functional
def convolve2d(input, kernel, stride=1, padding=0, dilation=1, groups=1, bias=None):
    """True 2-D convolution: the kernel is flipped in both spatial axes before sliding.

    2-D: ``out[i, j] = sum_{p, q} x[i*S - p + kH - 1 - P, j*S - q + kW - 1 - P] * k[p, q]``, i.e.
    ``convolve2d(x, k) == correlate2d(x, k[::-1, ::-1])``. With ``padding='full'``
    and stride 1 it equals ``scipy.signal.convolve2d(x, k)``.

    Batched: ``input`` (N, C_in, H, W) or (C_in, H, W), ``kernel`` (C_out,
    C_in / groups, kH, kW), ``bias`` (C_out,): ``conv2d`` with every kernel
    flipped, ``convolve2d(x, w) == conv2d(x, w[..., ::-1, ::-1])``; the gradient
    reaches ``kernel`` in its own (unflipped) orientation.
    """
    batched, padding = _flip_form("convolve2d", input, kernel, padding, dilation)
    if batched:
        return conv2d(input, as_tensor(kernel)[..., ::-1, ::-1], bias, stride, padding, dilation, groups)
    if bias is not None or groups != 1:
        raise ValueError("convolve2d: bias and groups apply to batched input (N, C, H, W) only")
    x4, k4 = _image_pair(input, kernel, flip=True)
    out = conv2d(x4, k4, None, stride, padding, dilation)
    return out.reshape(out.shape[2:])
