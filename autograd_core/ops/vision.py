"""Resampling and rearranging images: ``interpolate`` (nearest, nearest-exact, linear, bilinear, bicubic,
trilinear, area), ``upsample*``, ``pixel_shuffle`` / ``pixel_unshuffle``, ``unfold`` / ``fold`` (im2col and
col2im).

Every interpolation mode is separable: along each spatial axis the output is
a weighted sum of a few input samples (1 for nearest, 2 for linear, 4 for
cubic, a window for area) whose positions never decrease along the output.
``AxisResample`` applies one such map along one axis (gathers, then a weighted
sum); its adjoint ``AxisResampleAdjoint`` sums the gradient back into runs of
equal positions with ``np.add.reduceat``. Each is the other's backward, so
interpolation is differentiable any number of times. ``Unfold`` and ``Fold``
are likewise each other's adjoint.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..function import Function, ShapeError
from ._common import array_of, as_tensor, ntuple, shape_of
from ._declare import functional
from .elementwise import clone

__all__ = ["interpolate", "upsample", "upsample_nearest", "upsample_bilinear", "pixel_shuffle", "pixel_unshuffle",
           "unfold", "fold"]


# --------------------------------------------------------------------------- separable resampling

class AxisResample(Function):
    """``out[..., j, ...] = sum_k w_k[j] * x[..., idx_k[j], ...]`` along ``axis`` (``taps``: (idx_k, w_k) pairs,
    each ``idx_k`` non-decreasing; ``w_k`` None means 1)."""

    @staticmethod
    def forward(ctx, x, axis, taps, length):
        ctx.axis, ctx.taps, ctx.length = axis, taps, length
        out = None
        shape = [1] * x.ndim
        for idx, w in taps:
            term = np.take(x, idx, axis=axis)
            if w is not None:
                shape[axis] = len(w)
                term *= w.astype(x.dtype, copy=False).reshape(shape)
            out = term if out is None else out + term
        return out

    @staticmethod
    def backward(ctx, g):
        return AxisResampleAdjoint.apply(g, ctx.axis, ctx.taps, ctx.length), None, None, None


class AxisResampleAdjoint(Function):
    """The adjoint of ``AxisResample``: ``g`` scattered (added) back to an axis of size ``length``."""

    @staticmethod
    def forward(ctx, g, axis, taps, length):
        ctx.axis, ctx.taps, ctx.length = axis, taps, length
        gm = np.moveaxis(g, axis, -1)
        out = np.zeros(gm.shape[:-1] + (length,), dtype=g.dtype)
        for idx, w in taps:
            if len(idx) == 0:
                continue
            gw = gm if w is None else gm * w.astype(g.dtype, copy=False)
            starts = np.flatnonzero(np.r_[True, idx[1:] != idx[:-1]])
            out[..., idx[starts]] += np.add.reduceat(gw, starts, axis=-1)
        return np.moveaxis(out, -1, axis)

    @staticmethod
    def backward(ctx, gg):
        return AxisResample.apply(gg, ctx.axis, ctx.taps, ctx.length), None, None, None


def _source_linear(out_size, in_size, scale, align_corners, clamp=True):
    """Source coordinates of the output samples (PyTorch's ``area_pixel_compute_source_index``)."""
    j = np.arange(out_size, dtype=np.float64)
    if align_corners:
        return j * ((in_size - 1) / (out_size - 1)) if out_size > 1 else np.zeros(out_size)
    src = (j + 0.5) * scale - 0.5
    return np.maximum(src, 0.0) if clamp else src


def _taps(mode, in_size, out_size, scale, align_corners):
    """The (index, weight) taps of one axis for ``mode``."""
    if mode in ("nearest", "nearest-exact"):
        # computed in float32, as PyTorch does, so ties round the same way
        j = np.arange(out_size, dtype=np.float32)
        if mode == "nearest-exact":
            j = j + np.float32(0.5)
        src = np.floor(j * np.float32(scale)).astype(np.int64)
        return [(np.minimum(src, in_size - 1), None)]
    if mode in ("linear", "bilinear", "trilinear"):
        src = _source_linear(out_size, in_size, scale, align_corners)
        i0 = np.minimum(np.floor(src).astype(np.int64), in_size - 1)
        lam = src - i0
        i1 = np.minimum(i0 + 1, in_size - 1)
        return [(i0, 1.0 - lam), (i1, lam)]
    if mode == "bicubic":
        src = _source_linear(out_size, in_size, scale, align_corners, clamp=False)
        i = np.floor(src).astype(np.int64)
        t = src - i
        a = -0.75  # PyTorch's (and OpenCV's) cubic convolution constant

        def near(x):  # |x| <= 1
            return ((a + 2) * x - (a + 3)) * x * x + 1

        def far(x):  # 1 < |x| < 2
            return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

        weights = (far(t + 1), near(t), near(1 - t), far(2 - t))
        return [(np.clip(i + k - 1, 0, in_size - 1), w) for k, w in enumerate(weights)]
    if mode == "area":  # adaptive average pooling's windows
        j = np.arange(out_size)
        start = (j * in_size) // out_size
        end = -((-(j + 1) * in_size) // out_size)
        size = end - start
        return [(np.minimum(start + k, end - 1), (k < size) / size) for k in range(int(size.max(initial=1)))]
    raise AssertionError(mode)


_MODE_DIMS = {"nearest": (1, 2, 3), "nearest-exact": (1, 2, 3), "area": (1, 2, 3), "linear": (1,),
              "bilinear": (2,), "bicubic": (2,), "trilinear": (3,)}


@functional
def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize ``(N, C, L)``, ``(N, C, H, W)`` or ``(N, C, D, H, W)`` input (PyTorch's ``interpolate``).

    Parameters
    ----------
    size : int or tuple of ints
        The output's spatial size; or give ``scale_factor`` (float or tuple),
        the output size being ``floor(in * scale_factor)``.
    mode : str
        'nearest' (PyTorch's legacy rule ``floor(j * scale)``), 'nearest-exact'
        (``floor((j + 0.5) * scale)``), 'linear' (3-D), 'bilinear' / 'bicubic'
        (4-D), 'trilinear' (5-D), or 'area' (adaptive average pooling).
    align_corners : bool
        For the interpolating modes: map the corner pixels' centres onto each
        other (True) or the corners of the image (False, the default).
    recompute_scale_factor : bool
        With ``scale_factor``: compute the sampling positions from the output
        size (True) instead of from ``scale_factor`` itself.
    """
    op = "interpolate"
    if mode not in _MODE_DIMS:
        raise ValueError(f"{op}: mode must be one of {sorted(_MODE_DIMS)}, got {mode!r}")
    if antialias:
        raise NotImplementedError(f"{op}: antialias=True is not supported")
    x = array_of(input)
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating-point input, got dtype {x.dtype}; convert it with .float()")
    nsp = x.ndim - 2
    if nsp not in _MODE_DIMS[mode]:
        want = " or ".join(f"{d + 2}-D" for d in _MODE_DIMS[mode])
        raise ShapeError(f"{op}: mode {mode!r} needs {want} input (N, C, *spatial), got shape {x.shape}")
    interpolating = mode in ("linear", "bilinear", "bicubic", "trilinear")
    if align_corners is not None and not interpolating:
        raise ValueError(f"{op}: align_corners can only be set with the interpolating modes linear, bilinear, "
                         f"bicubic and trilinear, not {mode!r}")
    align_corners = bool(align_corners)
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{op}: give exactly one of size and scale_factor")
    spatial = x.shape[2:]
    if size is not None:
        out = (int(size),) * nsp if isinstance(size, numbers.Integral) else tuple(int(s) for s in size)
        if len(out) != nsp:
            raise ValueError(f"{op}: size must have {nsp} entries for input of shape {x.shape}, got {size!r}")
        scales = [n / o if o else 0.0 for n, o in zip(spatial, out)]
    else:
        sf = (float(scale_factor),) * nsp if isinstance(scale_factor, numbers.Real) else \
            tuple(float(s) for s in scale_factor)
        if len(sf) != nsp:
            raise ValueError(f"{op}: scale_factor must have {nsp} entries for input of shape {x.shape}, "
                             f"got {scale_factor!r}")
        if any(not s > 0 for s in sf):
            raise ValueError(f"{op}: scale_factor must be positive, got {scale_factor!r}")
        out = tuple(int(math.floor(n * s)) for n, s in zip(spatial, sf))
        scales = [n / o if o else 0.0 for n, o in zip(spatial, out)] if recompute_scale_factor else \
            [1.0 / s for s in sf]
    if any(o < 1 for o in out):
        raise ValueError(f"{op}: the output size {out} must be positive (input shape {x.shape})")
    if any(n == 0 for n in spatial):
        raise ShapeError(f"{op}: the input's spatial dimensions must be non-empty, got shape {x.shape}")
    y = as_tensor(input)
    for k, (n, o, s) in enumerate(zip(spatial, out, scales)):
        if n == o and (s == 1.0 or align_corners):
            continue  # every mode's map is the identity here
        y = AxisResample.apply(y, 2 + k, _taps(mode, n, o, s, align_corners), n)
    return clone(y) if y is input else y


@functional
def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """``interpolate`` under its old name."""
    return interpolate(input, size, scale_factor, mode, align_corners)


@functional
def upsample_nearest(input, size=None, scale_factor=None):
    """``interpolate(..., mode='nearest')``."""
    return interpolate(input, size, scale_factor, "nearest")


@functional
def upsample_bilinear(input, size=None, scale_factor=None):
    """``interpolate(..., mode='bilinear', align_corners=True)`` (the old function's behaviour)."""
    return interpolate(input, size, scale_factor, "bilinear", align_corners=True)


# --------------------------------------------------------------------------- pixel shuffle

def _factor(op, r, name):
    if not isinstance(r, (int, np.integer)) or r < 1:
        raise ValueError(f"{op}: {name} must be a positive int, got {r!r}")
    return int(r)


@functional
def pixel_shuffle(input, upscale_factor):
    """``(*, C r^2, H, W) -> (*, C, H r, W r)``: channels become ``r x r`` blocks of pixels (Shi et al. 2016)."""
    op = "pixel_shuffle"
    r = _factor(op, upscale_factor, "upscale_factor")
    x = as_tensor(input)
    if x.ndim < 3:
        raise ShapeError(f"{op}: expected input (*, C, H, W) with at least 3 dimensions, got shape {tuple(x.shape)}")
    *lead, c, h, w = x.shape
    if c % (r * r):
        raise ShapeError(f"{op}: the channel dimension (size {c}, input shape {tuple(x.shape)}) must be divisible "
                         f"by upscale_factor^2 = {r * r}")
    lead, n = tuple(lead), len(lead)
    y = x.reshape(lead + (c // (r * r), r, r, h, w))
    y = y.permute(*range(n), n, n + 3, n + 1, n + 4, n + 2)
    return y.reshape(lead + (c // (r * r), h * r, w * r))


@functional
def pixel_unshuffle(input, downscale_factor):
    """``(*, C, H r, W r) -> (*, C r^2, H, W)``, the inverse of ``pixel_shuffle``."""
    op = "pixel_unshuffle"
    r = _factor(op, downscale_factor, "downscale_factor")
    x = as_tensor(input)
    if x.ndim < 3:
        raise ShapeError(f"{op}: expected input (*, C, H, W) with at least 3 dimensions, got shape {tuple(x.shape)}")
    *lead, c, h, w = x.shape
    if h % r or w % r:
        raise ShapeError(f"{op}: the height and width ({h}, {w}) must be divisible by downscale_factor={r}")
    lead, n = tuple(lead), len(lead)
    y = x.reshape(lead + (c, h // r, r, w // r, r))
    y = y.permute(*range(n), n, n + 2, n + 4, n + 1, n + 3)
    return y.reshape(lead + (c * r * r, h // r, w // r))


# --------------------------------------------------------------------------- unfold / fold

def _sliding(op, kernel_size, dilation, padding, stride):
    k = ntuple(kernel_size, 2, op, "kernel_size", 1)
    d = ntuple(dilation, 2, op, "dilation", 1)
    p = ntuple(padding, 2, op, "padding", 0)
    s = ntuple(stride, 2, op, "stride", 1)
    return k, d, p, s


def _blocks(op, hw, k, d, p, s):
    out = tuple((n + 2 * pp - dd * (kk - 1) - 1) // ss + 1 for n, kk, dd, pp, ss in zip(hw, k, d, p, s))
    if any(o < 1 for o in out):
        raise ShapeError(f"{op}: the kernel ({k}, dilation {d}) does not fit the padded input of size {hw} with "
                         f"padding {p}: no sliding block")
    return out


class Unfold(Function):
    """im2col: ``(N, C, H, W) -> (N, C kh kw, L)``, column ``l`` holding the ``l``-th sliding block."""

    @staticmethod
    def forward(ctx, x, k, d, p, s, out_hw):
        ctx.args, ctx.hw = (k, d, p, s), x.shape[2:]
        n, c = x.shape[:2]
        (kh, kw), (dh, dw), (ph, pw), (sh, sw), (oh, ow) = k, d, p, s, out_hw
        xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw))) if ph or pw else x
        cols = np.empty((n, c, kh, kw, oh, ow), dtype=x.dtype)
        for i in range(kh):
            for j in range(kw):
                cols[:, :, i, j] = xp[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh, j * dw:j * dw + sw * (ow - 1) + 1:sw]
        return cols.reshape(n, c * kh * kw, oh * ow)

    @staticmethod
    def backward(ctx, g):
        return Fold.apply(g, *ctx.args, ctx.hw), None, None, None, None, None


class Fold(Function):
    """col2im: ``(N, C kh kw, L) -> (N, C, H, W)``, each column added into its block (overlaps add)."""

    @staticmethod
    def forward(ctx, cols, k, d, p, s, hw):
        (kh, kw), (dh, dw), (ph, pw), (sh, sw) = k, d, p, s
        oh, ow = _blocks("fold", hw, k, d, p, s)
        ctx.args, ctx.out_hw = (k, d, p, s), (oh, ow)
        n = cols.shape[0]
        c = cols.shape[1] // (kh * kw)
        cv = cols.reshape(n, c, kh, kw, oh, ow)
        out = np.zeros((n, c, hw[0] + 2 * ph, hw[1] + 2 * pw), dtype=cols.dtype)
        for i in range(kh):
            for j in range(kw):
                out[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh, j * dw:j * dw + sw * (ow - 1) + 1:sw] += cv[:, :, i, j]
        return out[:, :, ph:ph + hw[0], pw:pw + hw[1]]

    @staticmethod
    def backward(ctx, g):
        return Unfold.apply(g, *ctx.args, ctx.out_hw), None, None, None, None, None


@functional
def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Extract sliding blocks (im2col): ``(N, C, H, W) -> (N, C * kh * kw, L)``, ``L`` the number of blocks.

    Rows run over channels, then kernel rows, then kernel columns; columns over
    the blocks in row-major order. ``conv2d(x, w)`` equals
    ``(w.reshape(C_out, -1) @ unfold(x, k)).reshape(N, C_out, OH, OW)``.
    An unbatched ``(C, H, W)`` input gives ``(C * kh * kw, L)``.
    """
    op = "unfold"
    xs = shape_of(input)
    if len(xs) == 3:
        return unfold(as_tensor(input).unsqueeze(0), kernel_size, dilation, padding, stride).squeeze(0)
    if len(xs) != 4:
        raise ShapeError(f"{op}: expected input (N, C, H, W) or (C, H, W), got shape {xs}")
    k, d, p, s = _sliding(op, kernel_size, dilation, padding, stride)
    return Unfold.apply(input, k, d, p, s, _blocks(op, xs[2:], k, d, p, s))


@functional
def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Combine sliding blocks into an image (col2im), adding where blocks overlap: the adjoint of ``unfold``.

    ``(N, C * kh * kw, L) -> (N, C, *output_size)``; ``L`` must be the number of
    blocks ``unfold`` would extract from an image of ``output_size``.
    """
    op = "fold"
    xs = shape_of(input)
    if len(xs) == 2:
        return fold(as_tensor(input).unsqueeze(0), output_size, kernel_size, dilation, padding, stride).squeeze(0)
    if len(xs) != 3:
        raise ShapeError(f"{op}: expected input (N, C * kh * kw, L) or (C * kh * kw, L), got shape {xs}")
    k, d, p, s = _sliding(op, kernel_size, dilation, padding, stride)
    hw = ntuple(output_size, 2, op, "output_size", 1)
    if xs[1] % (k[0] * k[1]):
        raise ShapeError(f"{op}: input dimension 1 (size {xs[1]}) must be divisible by the kernel's size "
                         f"{k[0]} x {k[1]}")
    blocks = _blocks(op, hw, k, d, p, s)
    if xs[2] != blocks[0] * blocks[1]:
        raise ShapeError(f"{op}: input dimension 2 has size {xs[2]}, but output_size={hw} with kernel_size={k}, "
                         f"dilation={d}, padding={p}, stride={s} gives {blocks[0]} x {blocks[1]} = "
                         f"{blocks[0] * blocks[1]} blocks")
    return Fold.apply(input, k, d, p, s, hw)
