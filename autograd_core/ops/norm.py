"""Normalisation: ``batch_norm`` (one graph node in training mode), ``layer_norm``, ``group_norm``,
``instance_norm``, ``local_response_norm`` and ``normalize``.

In training mode, float inputs above the package's serial threshold
(``_threads.small``) take the Numba kernels of ``autograd_core/kernels/norm.py`` (statistics, affine map and
the backward's sums: 4 passes instead of about 15 numpy ones); smaller inputs,
and the backward under ``create_graph=True``, take the numpy / Tensor-op path,
which is also the reference the kernels are tested against.

Layer, group and instance normalisation share one node, ``Standardize``: the
input made zero-mean and unit-variance over some dimensions; the affine map
and the reshapes around it are ordinary Tensor operations.
"""

from __future__ import annotations

import numpy as np

from .. import _threads
from ..function import Function, ShapeError, is_grad_enabled
from ..tensor import Tensor
from ..utils.checkpoint import is_recomputing
from ._common import array_of, as_tensor, check_dtypes, shape_of
from ._declare import functional
from .distance import vector_norm

__all__ = ["batch_norm", "layer_norm", "group_norm", "instance_norm", "local_response_norm", "normalize"]


def _bn_axes(ndim):
    return (0,) + tuple(range(2, ndim))


def _bn_view(a, ndim):
    """A per-channel vector ``(C,)`` shaped to broadcast against ``(N, C, *)``."""
    return a.reshape((1, -1) + (1,) * (ndim - 2))


def _use_kernels(x):
    """Batch norm in training mode on ``x`` takes the kernels (a ResNet-8 step spent half its time in the
    numpy path): float32/float64 inputs with spatial dimensions, above the serial threshold."""
    return x.dtype in (np.float32, np.float64) and x.ndim >= 3 and not _threads.small(elements=x.size)


def _bn_kernels():
    from autograd_core.kernels import load
    return load("norm")


def _to_last(nd):
    """The axis order that moves the channel axis 1 of an ``nd``-dim array last (``np.moveaxis(a, 1, -1)``
    costs 5 us in Python, a ``transpose`` 0.3: batch norm asks twice per call)."""
    return (0,) + tuple(range(2, nd)) + (1,)


def _from_last(nd):
    return (0, nd - 1) + tuple(range(1, nd - 1))


def _bn_layout(a):
    """``("ncs", (N, C, S) view)`` for NCHW memory, ``("mc", (M, C) view)`` for channels-last, else None."""
    if a.flags.c_contiguous:
        return "ncs", a.reshape(a.shape[0], a.shape[1], -1)
    t = a.transpose(_to_last(a.ndim))
    if t.flags.c_contiguous:
        return "mc", t.reshape(-1, a.shape[1])
    return None


def _bn_empty(kind, x):
    """A new array of ``x``'s shape and dtype in the memory layout ``kind``, and its kernel view."""
    if kind == "ncs":
        y = np.empty(x.shape, x.dtype)
        return y, y.reshape(x.shape[0], x.shape[1], -1)
    t = np.empty(x.shape[:1] + x.shape[2:] + x.shape[1:2], x.dtype)
    return t.transpose(_from_last(x.ndim)), t.reshape(-1, x.shape[1])


_MC_ROW = 256  # elements per kernel row on channels-last memory (128-1024 measured alike; benchmarks/RESULTS.md)


def _mc_rows(v):
    """A channels-last (M, C) view as (M / k, k * C): k pixels per kernel row, and k.

    The ``_mc`` kernels loop over a row with per-channel vectors tiled k times. On rows of
    16-64 channels the loop ran 2-8 vector steps per entry, and its set-up (alias checks
    between nine arrays) cost as much as the work; 256-element rows measured 1.7-2.3x faster.
    """
    M, C = v.shape
    k = 1 << max(0, (_MC_ROW // C).bit_length() - 1)
    while M % k:
        k >>= 1
    return v.reshape(M // k, k * C), k


def _tiled(vec, k, dtype):
    """``vec`` (C,) repeated k times, (k * C,): a per-channel vector for ``_mc_rows``' wide rows."""
    out = np.empty((k, vec.shape[0]), dtype)
    out[:] = vec
    return out.reshape(-1)


def _bn_forward_kernels(x, weight, bias, eps):
    """(out, mean, var, invstd) of batch norm in training mode, by the kernels; ``x`` (N, C, *) float."""
    K = _bn_kernels()
    lay = _bn_layout(x)
    if lay is None:
        x = np.ascontiguousarray(x)
        lay = _bn_layout(x)
    kind, v = lay
    C = x.shape[1]
    M = x.size // C
    dt = x.dtype
    if kind == "ncs":
        shift = v[0, :, 0].astype(np.float64)
        part = np.empty((1, 2, C))
        _threads.run(K.stats_ncs, v, shift, part[0, 0], part[0, 1], elements=x.size)
    else:
        v, rep = _mc_rows(v)
        shift = _tiled(v[0, :C], rep, np.float64)  # the first pixel's values
        part = np.empty((max(1, min(_threads.num_threads(), v.shape[0])), 2, v.shape[1]))
        _threads.run(K.stats_mc, v, shift, part, elements=x.size)
    mean, var, invstd = np.empty(C, dt), np.empty(C, dt), np.empty(C, dt)
    coef = np.empty((3, part.shape[2]), dt)
    K.finish_stats(part, shift, float(M), dt.type(eps), dt.type(1), _bn_vector(weight, C, dt, 1),
                   _bn_vector(bias, C, dt, 0), mean, var, invstd, coef)
    out, ov = _bn_empty(kind, x)
    if kind == "ncs":
        _threads.run(K.affine_ncs, v, coef[0], coef[1], coef[2], ov, elements=x.size)
    else:
        _threads.run(K.affine_mc, v, coef[0], coef[1], coef[2], ov.reshape(v.shape), elements=x.size)
    return out, mean, var, invstd


def _bn_vector(v, C, dt, fill):
    """A per-channel parameter as a contiguous (C,) array of dtype ``dt`` (``fill`` everywhere if None)."""
    if v is None:
        return np.full(C, fill, dt)
    return np.ascontiguousarray(v, dtype=dt)


def _bn_backward_kernels(x, g, w, mean, invstd, need):
    """(dx, dw, db) of batch norm in training mode by the kernels, None where ``need`` says no."""
    K = _bn_kernels()
    kind, v = _bn_layout(x) or _bn_layout(np.ascontiguousarray(x))
    C = x.shape[1]
    M = x.size // C
    gl = _bn_layout(g)
    if gl is None or gl[0] != kind:  # g in x's memory layout
        g = np.ascontiguousarray(g) if kind == "ncs" else np.ascontiguousarray(g.transpose(_to_last(g.ndim)))
        gl = _bn_layout(g) if kind == "ncs" else ("mc", g.reshape(-1, C))
    gv = gl[1]
    dt = x.dtype
    if kind == "ncs":
        part = np.empty((1, 2, C))
        _threads.run(K.grad_sums_ncs, gv, v, mean, part[0, 0], part[0, 1], elements=x.size)
        mean_t = mean
    else:
        v, rep = _mc_rows(v)
        gv = gv.reshape(v.shape)
        mean_t = _tiled(mean, rep, dt)
        part = np.empty((max(1, min(_threads.num_threads(), v.shape[0])), 2, v.shape[1]))
        _threads.run(K.grad_sums_mc, gv, v, mean_t, part, elements=x.size)
    coef = np.empty((4, part.shape[2]), dt)
    dw, db = np.empty(C, dt), np.empty(C, dt)
    K.finish_grads(part, float(M), mean, invstd, _bn_vector(w, C, dt, 1), coef, dw, db)
    dx = None
    if need[0]:
        # dx = a g + b (x - mean) + k per channel (finish_grads): A (g - mean(g) - xh mean(g xh)), A = w invstd
        dx, dv = _bn_empty(kind, x)
        if kind == "ncs":
            _threads.run(K.grad_input_ncs, gv, v, coef[0], coef[1], coef[2], coef[3], dv, elements=x.size)
        else:
            _threads.run(K.grad_input_mc, gv, v, coef[0], coef[1], coef[2], coef[3], dv.reshape(v.shape),
                         elements=x.size)
    return dx, (dw if len(need) > 1 and need[1] else None), (db if len(need) > 2 and need[2] else None)


class BatchNormTrain(Function):
    """Batch normalisation with batch statistics (training mode), one node.

    ``y = (x - mean) / sqrt(var + eps) * w + b`` with the biased variance over
    every dimension but the channel dimension 1. Backward (``xh`` the normalised
    input, ``gh = g * w``, means over the same dimensions)::

        dx = (gh - mean(gh) - xh * mean(gh * xh)) / sqrt(var + eps)
        dw = sum(g * xh),  db = sum(g)
    """

    @staticmethod
    def forward(ctx, x, weight, bias, eps):
        ctx.eps = eps
        ctx.save_for_backward(x, weight)
        if _use_kernels(x):
            out, mean, var, invstd = _bn_forward_kernels(x, weight, bias, eps)
            ctx.kernel_stats = (mean, invstd)
            ctx.batch_mean, ctx.batch_var = mean, var
            return out
        ctx.kernel_stats = None
        axes = _bn_axes(x.ndim)
        # statistics accumulated in float64: a float32 sum over N*H*W values (not
        # pairwise along these strided axes) loses ~1e-3 relative precision
        mean = x.mean(axis=axes, keepdims=True, dtype=np.float64).astype(x.dtype)
        xc = x - mean
        var = np.mean(xc * xc, axis=axes, keepdims=True, dtype=np.float64).astype(x.dtype)
        invstd = 1.0 / np.sqrt(var + eps)
        out = xc * invstd
        if weight is not None:
            out *= _bn_view(weight, x.ndim)
        if bias is not None:
            out += _bn_view(bias, x.ndim)
        # the statistics, for the running averages (not part of the graph)
        ctx.batch_mean = mean.reshape(-1)
        ctx.batch_var = var.reshape(-1)
        return out

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        if ctx.kernel_stats is not None and not is_grad_enabled():
            # no graph of the backward wanted (create_graph=False): the kernels, on arrays
            mean, invstd = ctx.kernel_stats
            return _bn_backward_kernels(x.data, g.data, None if w is None else w.data, mean, invstd,
                                        ctx.needs_input_grad)
        nd = x.ndim
        axes = _bn_axes(nd)
        need = ctx.needs_input_grad
        # recomputed with Tensor ops from x, so a second derivative sees how they depend on x
        mean = x.mean(axes, keepdim=True)
        xc = x - mean
        invstd = ((xc * xc).mean(axes, keepdim=True) + ctx.eps) ** -0.5
        xh = xc * invstd
        gx = gw = gb = None
        if need[0]:
            gh = g * _bn_view(w, nd) if w is not None else g
            gx = (gh - gh.mean(axes, keepdim=True) - xh * (gh * xh).mean(axes, keepdim=True)) * invstd
        if len(need) > 1 and need[1]:
            gw = (g * xh).sum(axes)
        if len(need) > 2 and need[2]:
            gb = g.sum(axes)
        return gx, gw, gb


@functional
def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1,
               eps=1e-5):
    """Normalise each channel (dimension 1) of ``(N, C)``, ``(N, C, L)`` or ``(N, C, H, W)`` input.

    Training: use the batch's mean and biased variance, and update the running
    statistics in place (when given): ``running = (1 - momentum) * running +
    momentum * batch``, with the unbiased batch variance for ``running_var``.
    Eval (``training=False``): use the running statistics.
    """
    x = array_of(input)
    if x.ndim < 2:
        raise ShapeError(f"batch_norm: expected input of shape (N, C) or (N, C, *), got {x.shape}")
    c = x.shape[1]
    for name, v in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                    ("bias", bias)):
        if v is not None and shape_of(v) != (c,):
            raise ShapeError(f"batch_norm: {name} has shape {shape_of(v)}, expected ({c},) for an input with "
                             f"{c} channels (input shape {x.shape})")
    check_dtypes("batch_norm", input, weight=weight, bias=bias, running_mean=running_mean, running_var=running_var)
    if training and x.shape[0] == 0:
        # an empty batch: an empty result, running statistics unchanged, zero gradients (PyTorch)
        out = input * 1.0 if weight is None else input * _bn_view(weight, x.ndim)
        return out if bias is None else out + _bn_view(bias, x.ndim)
    if training:
        n = x.size // c
        if n <= 1:
            raise ValueError(
                f"batch_norm: expected more than 1 value per channel when training, got input of shape "
                f"{x.shape}; use a batch of at least 2, or call eval() on the model")
        out = BatchNormTrain.apply(input, weight, bias, eps)
        ctx = out.grad_fn
        # (checkpoint's recomputation of a segment must not count the batch twice)
        if (running_mean is not None or running_var is not None) and not is_recomputing():
            mean, var = (ctx.batch_mean, ctx.batch_var) if ctx is not None else _batch_stats(x)
            if running_mean is not None:
                rm = running_mean.data
                rm += momentum * (mean - rm)
                running_mean._ver[0] += 1
            if running_var is not None:
                rv = running_var.data
                rv += momentum * (var * (n / (n - 1)) - rv)
                running_var._ver[0] += 1
        return out
    if running_mean is None or running_var is None:
        raise ValueError("batch_norm: running_mean and running_var are needed when training=False")
    nd = x.ndim
    invstd = 1.0 / np.sqrt(running_var.data + eps)
    scale = invstd if weight is None else weight * invstd
    shift = -running_mean.data * scale if bias is None else bias - running_mean.data * scale
    return input * _bn_view(scale, nd) + _bn_view(shift, nd)


def _batch_stats(x):
    axes = _bn_axes(x.ndim)
    return x.mean(axis=axes), x.var(axis=axes)



# --------------------------------------------------------------------------- layer, group, instance norm

class Standardize(Function):
    """``(x - mean) / sqrt(var + eps)`` with the mean and biased variance over ``axes`` (one node).

    Backward, ``xh`` the output, means over ``axes``::

        dx = (g - mean(g) - xh * mean(g * xh)) / sqrt(var + eps)

    Plain ``backward()`` uses the output and ``1/sqrt(var + eps)`` kept from
    forward; under ``create_graph=True`` both are recomputed from ``x`` with
    Tensor operations, so that second derivatives see how they depend on ``x``.
    """

    @staticmethod
    def forward(ctx, x, axes, eps):
        ctx.axes, ctx.eps = axes, eps
        if x.size == 0:  # nothing to normalise (numpy would warn about empty means)
            keep = tuple(1 if i in axes else n for i, n in enumerate(x.shape))
            ctx.mean = ctx.var = np.zeros(keep)
            ctx.out, ctx.invstd = x.copy(), np.ones(keep, x.dtype)
            ctx.save_for_backward(x)
            return ctx.out
        # statistics accumulated in float64, as batch norm does
        mean = x.mean(axis=axes, keepdims=True, dtype=np.float64)
        xc = x - mean.astype(x.dtype)
        var = np.mean(xc * xc, axis=axes, keepdims=True, dtype=np.float64)
        invstd = (1.0 / np.sqrt(var + eps)).astype(x.dtype)
        out = xc * invstd
        ctx.out, ctx.invstd = out, invstd
        ctx.mean, ctx.var = mean, var  # for running statistics (instance norm), not part of the graph
        ctx.save_for_backward(x)
        return out

    @staticmethod
    def backward(ctx, g):
        axes = ctx.axes
        if is_grad_enabled():
            (x,) = ctx.saved_tensors
            xc = x - x.mean(axes, keepdim=True)
            invstd = ((xc * xc).mean(axes, keepdim=True) + ctx.eps) ** -0.5
            xh = xc * invstd
        else:
            xh, invstd = Tensor._wrap(ctx.out), Tensor._wrap(ctx.invstd)
        return (g - g.mean(axes, keepdim=True) - xh * (g * xh).mean(axes, keepdim=True)) * invstd


def _float_input(op, input):
    x = array_of(input)
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating-point input, got dtype {x.dtype}; convert it with .float()")
    return x


def _check_param(op, name, v, shape):
    if v is not None and shape_of(v) != tuple(shape):
        raise ShapeError(f"{op}: {name} has shape {shape_of(v)}, expected {tuple(shape)}")


def _channel_view(v, ndim):
    """A per-channel (C,) parameter shaped to broadcast against (N, C, *)."""
    return as_tensor(v).reshape((1, -1) + (1,) * (ndim - 2))


def _affine(out, weight, bias):
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


@functional
def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise over the last ``len(normalized_shape)`` dimensions (Ba et al. 2016).

    ``y = (x - mean) / sqrt(var + eps) * weight + bias``, with the mean and the
    biased variance of each sample over those dimensions; ``weight`` and
    ``bias`` have shape ``normalized_shape``.
    """
    op = "layer_norm"
    x = _float_input(op, input)
    ns = (int(normalized_shape),) if isinstance(normalized_shape, (int, np.integer)) else \
        tuple(int(n) for n in normalized_shape)
    k = len(ns)
    if k == 0 or x.ndim < k or x.shape[x.ndim - k:] != ns:
        raise ShapeError(f"{op}: normalized_shape={list(ns)} must be the last dimensions of the input, got input "
                         f"of shape {x.shape}")
    _check_param(op, "weight", weight, ns)
    _check_param(op, "bias", bias, ns)
    check_dtypes(op, input, weight, bias)
    out = Standardize.apply(input, tuple(range(x.ndim - k, x.ndim)), eps)
    return _affine(out, weight, bias)


@functional
def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalise each group of ``C / num_groups`` channels of each sample (Wu & He 2018).

    ``input`` is ``(N, C, *)``; ``weight`` and ``bias`` are per channel ``(C,)``.
    """
    op = "group_norm"
    x = _float_input(op, input)
    if x.ndim < 2:
        raise ShapeError(f"{op}: expected input of shape (N, C, *), got {x.shape}")
    n, c = x.shape[:2]
    if not isinstance(num_groups, (int, np.integer)) or num_groups < 1 or c % num_groups:
        raise ValueError(f"{op}: num_groups={num_groups!r} must be a positive int dividing the {c} channels "
                         f"(input shape {x.shape})")
    _check_param(op, "weight", weight, (c,))
    _check_param(op, "bias", bias, (c,))
    check_dtypes(op, input, weight, bias)
    grouped = as_tensor(input).reshape(n, int(num_groups), x.size // max(n * num_groups, 1))
    out = Standardize.apply(grouped, (2,), eps).reshape(x.shape)
    return _affine(out, None if weight is None else _channel_view(weight, x.ndim),
                   None if bias is None else _channel_view(bias, x.ndim))


@functional
def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats=True,
                  momentum=0.1, eps=1e-5):
    """Normalise each channel of each sample over its spatial dimensions (Ulyanov et al. 2016).

    ``input`` is ``(N, C, *)``. With ``use_input_stats`` (the default) each
    sample's own statistics are used, and the running statistics, when given,
    move towards their mean over the batch (``running_var`` with the unbiased
    variance); otherwise the running statistics normalise, as batch norm's
    eval mode does.
    """
    op = "instance_norm"
    x = _float_input(op, input)
    if x.ndim < 3:
        raise ShapeError(f"{op}: expected input of shape (N, C, *) with at least one spatial dimension, "
                         f"got {x.shape}")
    c = x.shape[1]
    for name, v in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                    ("bias", bias)):
        _check_param(op, name, v, (c,))
    check_dtypes(op, input, weight, bias, running_mean=running_mean, running_var=running_var)
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise ValueError(f"{op}: running_mean and running_var are needed when use_input_stats=False")
        scale = 1.0 / np.sqrt(array_of(running_var) + eps)
        out = (as_tensor(input) - _channel_view(array_of(running_mean), x.ndim)) * _channel_view(scale, x.ndim)
    else:
        spatial = int(np.prod(x.shape[2:]))
        if spatial <= 1:
            raise ValueError(f"{op}: expected more than 1 spatial element per channel when using the input's "
                             f"statistics, got input of shape {x.shape}")
        out = Standardize.apply(input, tuple(range(2, x.ndim)), eps)
        ctx = out.grad_fn
        # (checkpoint's recomputation of a segment must not count the batch twice)
        if (running_mean is not None or running_var is not None) and not is_recomputing():
            if ctx is not None:
                mean, var = ctx.mean, ctx.var
            else:
                axes = tuple(range(2, x.ndim))
                mean = x.mean(axis=axes, keepdims=True, dtype=np.float64)
                var = x.var(axis=axes, keepdims=True, dtype=np.float64)
            _update_running(running_mean, mean.reshape(x.shape[:2]).mean(0), momentum)
            _update_running(running_var, (var.reshape(x.shape[:2]) * (spatial / (spatial - 1))).mean(0), momentum)
    return _affine(out, None if weight is None else _channel_view(weight, x.ndim),
                   None if bias is None else _channel_view(bias, x.ndim))


def _update_running(r, value, momentum):
    if r is not None:
        d = r.data
        d += (momentum * (value - d)).astype(d.dtype)
        r._ver[0] += 1


@functional
def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """Local response normalisation across channels (Krizhevsky et al. 2012).

    ``b_c = a_c / (k + alpha / size * sum_{c'} a_{c'}^2)^beta``, the sum over the
    ``size`` channels ``c - size//2 .. c + (size-1)//2`` (zeros beyond the ends).
    ``input`` is ``(N, C, *)`` with at least one spatial dimension.
    """
    op = "local_response_norm"
    x = _float_input(op, input)
    if x.ndim < 3:
        raise ShapeError(f"{op}: expected input of 3 or more dimensions (N, C, *), got shape {x.shape}")
    if not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"{op}: size must be a positive int, got {size!r}")
    t = as_tensor(input)
    if x.size == 0:
        return t * 1.0
    c = x.shape[1]
    sq = (t * t).reshape(x.shape[0], c, -1)
    from .shape import pad
    padded = pad(sq, (0, 0, size // 2, (size - 1) // 2))
    window = padded[:, 0:c]
    for j in range(1, size):
        window = window + padded[:, j:j + c]
    div = (window.reshape(x.shape) * (alpha / size) + k) ** beta
    return t / div


@functional
def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """``x / max(||x||_p, eps)`` along ``dim``: unit vectors (zero vectors stay zero)."""
    if out is not None:
        raise TypeError("normalize: out= is not supported; assign the result instead")
    _float_input("normalize", input)
    x = as_tensor(input)
    denom = vector_norm(x, p, dim, keepdim=True).clamp(min=eps)
    return x / denom
