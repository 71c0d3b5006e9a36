"""Pooling: ``max_pool1d/2d``, ``avg_pool1d/2d``, ``adaptive_avg_pool1d/2d``, ``adaptive_max_pool1d/2d``
(PyTorch's signatures).

Along one axis a window of ``k`` taps, ``d`` apart, starts every ``s`` samples
at ``-p``; the output length is ``floor((L + 2p - d*(k-1) - 1) / s) + 1``
(the lecture's ``(N - F + 2P) / S + 1``), or the ceiling with ``ceil_mode``
as long as the last window starts inside the input or its left padding.

Max pooling remembers which input won each window (the first maximum wins
ties) and sends the gradient there; average pooling spreads it evenly. Each
backward is itself an op whose backward is the forward's gather/average, so
pooling is differentiable twice (and more). Like the convolutions, the kernels
(``autograd_core/kernels/pool.py``) work on channels-last memory and the
results are (N, C, H, W) views of it; max pooling of an input in ordinary
NCHW memory runs on that memory directly (``_max_route``).
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import numpy as np

from .. import _threads
from ..function import Function, ShapeError
from ..kernels import load as _load_kernels
from . import _routes
from ._common import as_tensor, compute_dtype, nchw_view, ntuple, shape_of, to_nhwc
from ._declare import functional

__all__ = ["max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d",
           "adaptive_avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d"]


def _K():
    """The Numba kernels, imported (and compiled or loaded from the cache) on first use."""
    return _load_kernels("pool")


class PoolWindow(NamedTuple):
    """A 2-D max pooling window (max_pool1d: unit height); the kernels take it unpacked, in this order."""

    KH: int      # taps along H and W
    KW: int
    sh: int      # stride
    sw: int
    ph: int      # padding (implicit -inf)
    pw: int
    dh: int      # dilation
    dw: int


class AvgWindows(NamedTuple):
    """Average pooling's windows: rows ``[rs, re)`` x columns ``[cs, ce)`` per output row / column,
    divided by ``rdiv[oh] * cdiv[ow]`` (int64 and float64 arrays, one entry per output row or column)."""

    rs: np.ndarray
    re: np.ndarray
    cs: np.ndarray
    ce: np.ndarray
    rdiv: np.ndarray
    cdiv: np.ndarray


# --------------------------------------------------------------------------- kernel routes

# Max pooling runs one of these routes, chosen by ``_max_route`` from the input's
# memory layout, channel count and window (its backward follows the forward's
# route; "nhwc" writes the gradient straight into NCHW memory when the input was
# NCHW). Average pooling always runs "nhwc". AUTOGRAD_CORE_LOG_ROUTES=1 or
# ``autograd_core.ops.log_routes()`` shows which ran (``ops/_routes.py``).
ROUTES = {
    "planar_2x2": "NCHW memory, 2x2 windows at stride 2 inside the input: written-out branch-free kernel "
                  "(kernels/pool.py: max_pool2d_forward_planar_2x2)",
    "planar": "NCHW memory with fewer than 16 channels, any window: one plane at a time "
              "(kernels/pool.py: *_planar)",
    "nhwc": "everything else (channels-last views, 16+ channels with other windows): vectorised over channels "
            "(kernels/pool.py: max_pool2d_*, avg_pool2d_*)",
}


def _kernel(op, route, shapes, name, *args):
    """Kernel ``name`` of ``kernels/pool.py``, serial when its largest array is small; records the route."""
    big = max(a.size for a in args if isinstance(a, np.ndarray))
    serial = _threads.small(elements=big)
    _routes.taken(op, route, shapes, serial)
    return _threads.call(getattr(_K(), name), *args, serial=serial)


def _float_nhwc(op, a):
    cdt, odt = compute_dtype(op, a)
    return to_nhwc(a.astype(cdt, copy=False)), odt


# --------------------------------------------------------------------------- max pooling

def _is_2x2(win, out_hw, H, W):
    """k2 s2, no padding or dilation, every window inside the input: the planar kernel written out for it."""
    return tuple(win) == (2, 2, 2, 2, 0, 0, 1, 1) and 2 * out_hw[0] <= H and 2 * out_hw[1] <= W


def _max_route(x, win, out_hw):
    """The ``ROUTES`` key for max pooling ``x``: a planar route on ``x``'s own (N, C, H, W) memory, or "nhwc".

    Inputs in ordinary C-contiguous memory (what the planar convs return) take
    the planar kernels when the windows are 2x2 stride 2 or there are fewer
    than 16 channels: no transposing copy in, and the result stays NCHW for the
    next planar conv. Measured (fwd+bwd, N=64, same run): 2x2 on 6x28x28
    0.43 ms planar vs 1.19 ms channels-last, on 64x32x32 3.4 vs 13 ms; but 3x3
    stride 2 on 64x32x32 20 ms planar vs 18 ms channels-last, whose inner loop
    runs over the channels. Channels-last inputs (the GEMM convs' results) keep
    the channels-last kernels.
    """
    if x.ndim != 4 or not x.flags.c_contiguous:
        return "nhwc"
    if _is_2x2(win, out_hw, *x.shape[2:]):
        return "planar_2x2"
    return "planar" if x.shape[1] < 16 else "nhwc"


class MaxPool2d(Function):
    """Max over windows ``win`` (a ``PoolWindow``).

    ``ctx.idx`` holds, per output, the flat index ``h * W + w`` of its maximum
    (int32), in (N, C, OH, OW) memory if ``ctx.planar`` else (N, OH, OW, C).
    """

    @staticmethod
    def forward(ctx, x, win, out_hw, return_indices=False):
        cdt, odt = compute_dtype("max_pool2d", x)
        route = _max_route(x, win, out_hw)
        run = partial(_kernel, "max_pool2d forward", route, (x.shape,))
        planar = route != "nhwc"
        if planar:
            xs = x.astype(cdt, copy=False)
            N, C, H, W = xs.shape
            y = np.empty((N, C, *out_hw), cdt)
            idx = np.empty(y.shape, np.int32)
            if y.size and route == "planar_2x2":
                run("max_pool2d_forward_planar_2x2", xs, y, idx)
            elif y.size:
                run("max_pool2d_forward_planar", xs, y, idx, *win)
        else:
            xs = to_nhwc(x.astype(cdt, copy=False))
            N, H, W, C = xs.shape
            y = np.empty((N, *out_hw, C), cdt)
            idx = np.empty(y.shape, np.int32)
            if y.size:
                run("max_pool2d_forward", xs, y, idx, *win)
            y, idx_nchw = nchw_view(y), nchw_view(idx)
        ctx.idx, ctx.planar, ctx.in_hw = idx, planar, (H, W)
        # channels-last kernels: give the gradient back in the input's layout
        ctx.nchw = not planar and x.flags.c_contiguous and C > 1
        y = y.astype(odt, copy=False)
        if return_indices:
            ind = (idx if planar else idx_nchw).astype(np.int64)
            ctx.mark_non_differentiable(ind)
            return y, ind
        return y

    @staticmethod
    def backward(ctx, g, *unused):
        return MaxPool2dGrad.apply(g, ctx.idx, ctx.in_hw, ctx.nchw, ctx.planar)


class MaxPool2dGrad(Function):
    """Scatter-add ``g`` to the positions ``idx`` (int32) in an input of size ``in_hw``.

    With ``planar``, ``idx`` is (N, C, OH, OW) memory and so is the result.
    Otherwise ``idx`` is channels-last (N, OH, OW, C) and the result is
    channels-last memory, or ordinary (N, C, H, W) memory with ``nchw``:
    written there directly, so a leaf input's ``.grad`` in its own layout needs
    no transposing copy.
    """

    @staticmethod
    def forward(ctx, g, idx, in_hw, nchw=False, planar=False):
        cdt, odt = compute_dtype("max_pool2d backward", g)
        ctx.idx, ctx.planar = idx, planar
        run = partial(_kernel, "max_pool2d backward", "planar" if planar else "nhwc", (g.shape,))
        if planar:
            gc = np.ascontiguousarray(g, dtype=cdt)
            dx = np.empty((*gc.shape[:2], *in_hw), cdt)
            if dx.size:
                run("max_pool2d_backward_planar", gc, idx, dx)
            return dx.astype(odt, copy=False)
        gs = to_nhwc(g.astype(cdt, copy=False))
        N, OH, OW, C = gs.shape
        if nchw:
            dx = np.empty((N, C, *in_hw), gs.dtype)
            if dx.size:
                run("max_pool2d_backward_nchw", gs, idx, dx)
            return dx.astype(odt, copy=False)
        dx = np.empty((N, *in_hw, C), gs.dtype)
        if dx.size:
            run("max_pool2d_backward", gs, idx, dx)
        return nchw_view(dx).astype(odt, copy=False)

    @staticmethod
    def backward(ctx, gg):
        return MaxPoolGather.apply(gg, ctx.idx, ctx.planar)


class MaxPoolGather(Function):
    """``out[n, c, oh, ow] = a[n, c].flat[idx]``: the adjoint of ``MaxPool2dGrad`` (``idx`` laid out as there)."""

    @staticmethod
    def forward(ctx, a, idx, planar=False):
        N, C, H, W = a.shape
        ctx.in_hw, ctx.idx, ctx.planar = (H, W), idx, planar
        if planar:
            flat = a.reshape(N, C, H * W)
            out = np.take_along_axis(flat, np.maximum(idx, 0).reshape(N, C, -1), axis=2)
            return np.where(idx.reshape(out.shape) >= 0, out, 0).reshape(idx.shape)
        flat = to_nhwc(a).reshape(N, H * W, C)
        out = np.take_along_axis(flat, np.maximum(idx, 0).reshape(N, -1, C), axis=1)
        out = np.where(idx.reshape(out.shape) >= 0, out, 0)
        return nchw_view(out.reshape(idx.shape))

    @staticmethod
    def backward(ctx, g):
        return MaxPool2dGrad.apply(g, ctx.idx, ctx.in_hw, False, ctx.planar)


# --------------------------------------------------------------------------- average pooling

class AvgPool2d(Function):
    """The average over each window of ``win`` (an ``AvgWindows``)."""

    @staticmethod
    def forward(ctx, x, win):
        xs, odt = _float_nhwc("avg_pool2d", x)
        rs, re, cs, ce, rdiv, cdiv = win
        N, H, W, C = xs.shape
        ctx.win, ctx.in_hw = win, (H, W)
        y = np.empty((N, len(rs), len(cs), C), xs.dtype)
        if y.size:
            _kernel("avg_pool2d forward", "nhwc", (x.shape,), "avg_pool2d_forward", xs, y, rs, re, cs, ce,
                    (1 / rdiv).astype(xs.dtype), (1 / cdiv).astype(xs.dtype))
        return nchw_view(y).astype(odt, copy=False)

    @staticmethod
    def backward(ctx, g):
        return AvgPool2dGrad.apply(g, ctx.win, ctx.in_hw)


class AvgPool2dGrad(Function):
    """The adjoint of ``AvgPool2d``: spread each output's gradient over its window."""

    @staticmethod
    def forward(ctx, g, win, in_hw):
        gs, odt = _float_nhwc("avg_pool2d backward", g)
        rs, re, cs, ce, rdiv, cdiv = win
        ctx.win = win
        dx = np.empty((gs.shape[0], *in_hw, gs.shape[3]), gs.dtype)
        if dx.size:
            _kernel("avg_pool2d backward", "nhwc", (g.shape,), "avg_pool2d_backward", gs, dx, rs, re, cs, ce,
                    (1 / rdiv).astype(gs.dtype), (1 / cdiv).astype(gs.dtype))
        return nchw_view(dx).astype(odt, copy=False)

    @staticmethod
    def backward(ctx, gg):
        return AvgPool2d.apply(gg, ctx.win)


# --------------------------------------------------------------------------- arguments

def _pool_out_size(L, k, s, p, d, ceil_mode):
    """PyTorch's rule: floor (or ceil) of (L + 2p - d*(k-1) - 1) / s, plus one; with ceil_mode
    the last window must start inside the input or its left padding."""
    span = L + 2 * p - d * (k - 1) - 1
    out = (span + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= L + p:
        out -= 1
    return out


def _pool_setup(op, xs, kernel_size, stride, padding, dilation, ceil_mode, nd):
    """Check a pooling call; return (kernel, stride, padding, dilation, out_size) per axis."""
    if len(xs) != nd + 2:
        raise ShapeError(f"{op}: input must be {nd + 2}-D (N, C, {'H, W' if nd == 2 else 'L'}) or {nd + 1}-D "
                         f"without the batch, got shape {xs}")
    k = ntuple(kernel_size, nd, op, "kernel_size", 1)
    s = k if stride is None or (not isinstance(stride, int) and len(stride) == 0) else \
        ntuple(stride, nd, op, "stride", 1)
    p = ntuple(padding, nd, op, "padding", 0)
    d = ntuple(dilation, nd, op, "dilation", 1)
    for kk, pp in zip(k, p):
        if 2 * pp > kk:
            raise ValueError(f"{op}: padding should be at most half of kernel_size, got padding={padding!r} "
                             f"and kernel_size={kernel_size!r}")
    out = tuple(_pool_out_size(L, kk, ss, pp, dd, ceil_mode) for L, kk, ss, pp, dd in zip(xs[2:], k, s, p, d))
    if any(o < 1 for o in out):
        raise ShapeError(
            f"{op}: the window (kernel_size={kernel_size!r}, dilation={dilation!r}) is larger than the padded "
            f"input (spatial size {xs[2:]}, padding={padding!r}): the output would have size {out}")
    return k, s, p, d, out


def _batched(op, input, nd, fn):
    """Run ``fn`` on a batched tensor; an unbatched (C, *spatial) input gets a batch of 1."""
    if len(shape_of(input)) == nd + 1:
        out = fn(as_tensor(input).unsqueeze(0))
        return tuple(o.squeeze(0) for o in out) if isinstance(out, tuple) else out.squeeze(0)
    return fn(input)


@functional
def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """2-D max pooling.

    Parameters
    ----------
    input : Tensor (N, C, H, W) or (C, H, W)
    kernel_size, stride, padding, dilation : int or (int, int)
        ``stride`` defaults to ``kernel_size``; padding (implicit -inf) at most
        half the kernel.
    ceil_mode : bool
        Round the output size up instead of down.
    return_indices : bool
        Also return the flat index ``h * W + w`` of each maximum (int64), as PyTorch does.

    Ties: the first maximum in the window (row-major) wins, and gets the gradient; a window holding
    NaNs gives NaN and sends the gradient to its last NaN, as PyTorch does.
    """
    op = "max_pool2d"

    def run(x):
        k, s, p, d, out = _pool_setup(op, shape_of(x), kernel_size, stride, padding, dilation, ceil_mode, 2)
        return MaxPool2d.apply(x, PoolWindow(k[0], k[1], s[0], s[1], p[0], p[1], d[0], d[1]), out, return_indices)

    return _batched(op, input, 2, run)


@functional
def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """1-D max pooling of (N, C, L) or (C, L): ``max_pool2d`` on a unit height."""
    op = "max_pool1d"

    def run(x):
        k, s, p, d, out = _pool_setup(op, shape_of(x), kernel_size, stride, padding, dilation, ceil_mode, 1)
        res = MaxPool2d.apply(as_tensor(x).unsqueeze(2), PoolWindow(1, k[0], 1, s[0], 0, p[0], 1, d[0]), (1, out[0]),
                              return_indices)
        return tuple(r.squeeze(2) for r in res) if return_indices else res.squeeze(2)

    return _batched(op, input, 1, run)


def _avg_windows(L, k, s, p, out, count_include_pad):
    """Clipped window ranges and divisors along one axis (PyTorch's avg_pool rules)."""
    start = np.arange(out) * s - p
    end = np.minimum(start + k, L + p)
    size = end - start
    start, end = np.maximum(start, 0), np.minimum(end, L)
    div = size if count_include_pad else end - start
    return start.astype(np.int64), end.astype(np.int64), div.astype(np.float64)


def _avg(x, rows, cols, divisor_override=None):
    (rs, re, rdiv), (cs, ce, cdiv) = rows, cols
    if divisor_override is not None:
        rdiv, cdiv = np.full(len(rs), float(divisor_override)), np.ones(len(cs))
    return AvgPool2d.apply(x, AvgWindows(rs, re, cs, ce, rdiv, cdiv))


@functional
def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """2-D average pooling.

    Parameters
    ----------
    input : Tensor (N, C, H, W) or (C, H, W)
    kernel_size, stride, padding : int or (int, int)
        ``stride`` defaults to ``kernel_size``; zero padding at most half the kernel.
    ceil_mode : bool
        Round the output size up instead of down.
    count_include_pad : bool
        Divide by the window size including padded zeros (default, as PyTorch)
        or by the number of input pixels in the window.
    divisor_override : int, optional
        Divide by this instead.
    """
    op = "avg_pool2d"
    if divisor_override is not None and (not isinstance(divisor_override, (int, np.integer)) or divisor_override == 0):
        raise ValueError(f"{op}: divisor_override must be a non-zero int, got {divisor_override!r}")

    def run(x):
        k, s, p, _, out = _pool_setup(op, shape_of(x), kernel_size, stride, padding, 1, ceil_mode, 2)
        rows = _avg_windows(shape_of(x)[2], k[0], s[0], p[0], out[0], count_include_pad)
        cols = _avg_windows(shape_of(x)[3], k[1], s[1], p[1], out[1], count_include_pad)
        return _avg(x, rows, cols, divisor_override)

    return _batched(op, input, 2, run)


@functional
def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """1-D average pooling of (N, C, L) or (C, L)."""
    op = "avg_pool1d"

    def run(x):
        k, s, p, _, out = _pool_setup(op, shape_of(x), kernel_size, stride, padding, 1, ceil_mode, 1)
        cols = _avg_windows(shape_of(x)[2], k[0], s[0], p[0], out[0], count_include_pad)
        rows = (np.zeros(1, np.int64), np.ones(1, np.int64), np.ones(1))
        return _avg(as_tensor(x).unsqueeze(2), rows, cols).squeeze(2)

    return _batched(op, input, 1, run)


def _adaptive_windows(L, out):
    """Window i covers [floor(i*L/out), ceil((i+1)*L/out)), as in PyTorch."""
    i = np.arange(out)
    start = (i * L) // out
    end = -((-(i + 1) * L) // out)
    return start.astype(np.int64), end.astype(np.int64), (end - start).astype(np.float64)


def _adaptive_size(op, output_size, spatial):
    nd = len(spatial)
    if isinstance(output_size, (int, np.integer)):
        output_size = (output_size,) * nd
    try:
        sizes = tuple(output_size)
    except TypeError:
        raise TypeError(f"{op}: output_size must be an int or a tuple of {nd} ints (or None), "
                        f"got {output_size!r}") from None
    if len(sizes) != nd:
        raise ValueError(f"{op}: output_size must have {nd} entries, got {output_size!r}")
    sizes = tuple(L if o is None else int(o) for o, L in zip(sizes, spatial))
    if any(o < 1 for o in sizes):
        raise ValueError(f"{op}: output_size must be positive, got {output_size!r}")
    return sizes


@functional
def adaptive_avg_pool2d(input, output_size):
    """Average pooling to a fixed output size (windows may overlap by one pixel).

    ``output_size``: int or (int, int); None keeps that input size.
    ``adaptive_avg_pool2d(x, 1)`` is global average pooling.
    """
    op = "adaptive_avg_pool2d"

    def run(x):
        xs = shape_of(x)
        if len(xs) != 4:
            raise ShapeError(f"{op}: input must be 4-D (N, C, H, W) or 3-D (C, H, W), got shape {xs}")
        oh, ow = _adaptive_size(op, output_size, xs[2:])
        if (oh, ow) == (1, 1):  # global average pooling: a mean over H and W (a row kernel when large)
            return as_tensor(x).mean((2, 3), keepdim=True)
        return _avg(x, _adaptive_windows(xs[2], oh), _adaptive_windows(xs[3], ow))

    return _batched(op, input, 2, run)


@functional
def adaptive_avg_pool1d(input, output_size):
    """Average pooling of (N, C, L) or (C, L) to ``output_size`` samples."""
    op = "adaptive_avg_pool1d"

    def run(x):
        xs = shape_of(x)
        if len(xs) != 3:
            raise ShapeError(f"{op}: input must be 3-D (N, C, L) or 2-D (C, L), got shape {xs}")
        (o,) = _adaptive_size(op, output_size, xs[2:])
        rows = (np.zeros(1, np.int64), np.ones(1, np.int64), np.ones(1))
        return _avg(as_tensor(x).unsqueeze(2), rows, _adaptive_windows(xs[2], o)).squeeze(2)

    return _batched(op, input, 1, run)


class AdaptiveMaxPool2d(Function):
    """Max over PyTorch's adaptive windows (``_adaptive_windows``), the first maximum in row-major order
    winning (a NaN wins, as in PyTorch). Forward gathers every window, padded to the largest one by
    repeating its last row/column (which never changes the first maximum); backward is max pooling's
    scatter-add kernel (``MaxPool2dGrad``, planar layout), so it is differentiable twice like max pooling.
    """

    @staticmethod
    def forward(ctx, x, out_hw, return_indices=False):
        _, odt = compute_dtype("adaptive_max_pool2d", x)
        H, W = x.shape[2:]
        idx = []
        for L, o in zip((H, W), out_hw):
            start, end, _ = _adaptive_windows(L, o)
            k = int((end - start).max())
            idx.append(np.minimum(start[:, None] + np.arange(k), end[:, None] - 1))
        rows, cols = idx
        KW = cols.shape[1]
        win = x[:, :, rows[:, None, :, None], cols[None, :, None, :]]  # (N, C, OH, OW, KH, KW)
        win = win.reshape(win.shape[:4] + (rows.shape[1] * KW,))
        arg = np.argmax(win, axis=-1) if win.size else np.zeros(win.shape[:4], np.int64)
        values = np.take_along_axis(win, arg[..., None], axis=-1)[..., 0]
        oh, ow = np.arange(out_hw[0])[:, None], np.arange(out_hw[1])[None, :]
        flat = rows[oh, arg // KW] * W + cols[ow, arg % KW]
        ctx.idx, ctx.in_hw = np.ascontiguousarray(flat, dtype=np.int32), (H, W)
        values = values.astype(odt, copy=False)
        if return_indices:
            ind = flat.astype(np.int64)
            ctx.mark_non_differentiable(ind)
            return values, ind
        return values

    @staticmethod
    def backward(ctx, g, *unused):
        return MaxPool2dGrad.apply(g, ctx.idx, ctx.in_hw, False, True)


@functional
def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max pooling to a fixed output size: window ``i`` covers ``[floor(i L / out), ceil((i + 1) L / out))``.

    ``output_size``: int or (int, int), None keeping that input size. With
    ``return_indices``, also the flat index ``h * W + w`` of each maximum (int64).
    """
    op = "adaptive_max_pool2d"

    def run(x):
        xs = shape_of(x)
        if len(xs) != 4:
            raise ShapeError(f"{op}: input must be 4-D (N, C, H, W) or 3-D (C, H, W), got shape {xs}")
        if 0 in xs[1:]:
            raise ShapeError(f"{op}: the input's non-batch dimensions must be non-empty, got shape {xs}")
        oh, ow = _adaptive_size(op, output_size, xs[2:])
        if xs[2] % oh == 0 and xs[3] % ow == 0:
            # equal windows that tile the input: max pooling's kernels, same windows, same ties, same indices
            return max_pool2d(x, (xs[2] // oh, xs[3] // ow), return_indices=return_indices)
        return AdaptiveMaxPool2d.apply(x, (oh, ow), return_indices)

    return _batched(op, input, 2, run)


@functional
def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Max pooling of (N, C, L) or (C, L) to ``output_size`` samples (``adaptive_max_pool2d`` on a unit height)."""
    op = "adaptive_max_pool1d"

    def run(x):
        xs = shape_of(x)
        if len(xs) != 3:
            raise ShapeError(f"{op}: input must be 3-D (N, C, L) or 2-D (C, L), got shape {xs}")
        if 0 in xs[1:]:
            raise ShapeError(f"{op}: the input's non-batch dimensions must be non-empty, got shape {xs}")
        (o,) = _adaptive_size(op, output_size, xs[2:])
        res = AdaptiveMaxPool2d.apply(as_tensor(x).unsqueeze(2), (1, o), return_indices)
        return tuple(r.squeeze(2) for r in res) if return_indices else res.squeeze(2)

    return _batched(op, input, 1, run)
