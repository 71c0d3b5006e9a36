"""Functional forms of the layers and losses (``torch.nn.functional``'s names).

The layers in ``nn`` call these. Ops that a training step runs many times are
single graph nodes (``linear`` is one node for ``x @ W.T + b``; ``cross_entropy``
is ``log_softmax`` plus one gather node), and every backward is written with
Tensor operations, so second derivatives work through all of them.

Convolution and pooling (``conv1d``, ``conv2d``, ``conv_transpose2d``,
``max_pool1d/2d``, ``avg_pool1d/2d``, ``adaptive_avg_pool2d``) live in
``autograd_core.ops.conv`` / ``autograd_core.ops.pool`` (Numba kernels, compiled
or loaded from the cache on first call) and are re-exported here.
"""

from __future__ import annotations

import numpy as np

from autograd_core import Tensor, _threads
from autograd_core.function import Function, ShapeError, _state
from autograd_core.ops import elementwise as _E
from autograd_core.ops.elementwise import Mul, sigmoid, tanh, softplus  # noqa: F401  (re-exported)
from autograd_core.ops.linalg import Matmul
from autograd_core.ops.conv import conv1d, conv2d, conv_transpose2d  # noqa: F401  (Numba loads on first call)
from autograd_core.ops.pool import (max_pool1d, max_pool2d, avg_pool1d, avg_pool2d,  # noqa: F401
                                    adaptive_avg_pool2d)
from autograd_core.ops.reduce import softmax as _softmax, log_softmax as _log_softmax
from autograd_core.ops.shape import pad  # noqa: F401  (PyTorch has F.pad)
from autograd_core.random import get_rng
from autograd_core.utils.checkpoint import is_recomputing

__all__ = [
    "linear", "relu", "leaky_relu", "elu", "sigmoid", "tanh", "softplus", "softmax", "log_softmax",
    "dropout", "batch_norm", "flatten", "pad", "one_hot",
    "mse_loss", "l1_loss", "nll_loss", "cross_entropy", "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "conv1d", "conv2d", "conv_transpose2d", "max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d",
    "adaptive_avg_pool2d",
]


def _arr(x):
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def _shape(x):
    return tuple(np.shape(x.data if isinstance(x, Tensor) else x))


# --------------------------------------------------------------------------- linear

class Linear(Function):
    """``y = x @ W.T + b`` in one node; ``x`` is ``(..., in)``, ``W`` is ``(out, in)``, ``b`` is ``(out,)``.

    Backward: ``dx = g @ W``, ``dW = g.T @ x`` (leading dimensions flattened),
    ``db = g`` summed by the engine down to ``(out,)``.
    """

    @staticmethod
    def forward(ctx, x, weight, bias=None):
        ctx.save_for_backward(x, weight)
        out = np.matmul(x, weight.T)
        if bias is not None:
            if bias.dtype == out.dtype:
                out += bias  # a fresh array: add in place, saving one allocation
            else:
                out = out + bias
        return out

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        gx = Matmul.apply(g, w) if need[0] else None
        gw = None
        if need[1]:
            if g.ndim == 2:
                gw = Matmul.apply(g.mT, x)
            else:  # (..., out) and (..., in): flatten the leading dimensions
                gw = Matmul.apply(g.reshape(-1, g.shape[-1]).mT, x.reshape(-1, x.shape[-1]))
        gb = g if len(need) > 2 and need[2] else None
        return gx, gw, gb


def linear(input, weight, bias=None):
    """``input @ weight.T + bias`` with ``input`` ``(..., in)``, ``weight`` ``(out, in)``, ``bias`` ``(out,)``."""
    xs, ws = _shape(input), _shape(weight)
    if len(ws) != 2 or not xs or xs[-1] != ws[1]:
        raise ShapeError(
            f"linear: input of shape {xs} does not fit weight of shape {ws}: the input's last dimension "
            f"must equal in_features = weight.shape[1] ({ws[1] if len(ws) == 2 else '?'})")
    if bias is not None and _shape(bias) != ws[:1]:
        raise ShapeError(f"linear: bias has shape {_shape(bias)}, expected ({ws[0]},) = (out_features,)")
    if len(xs) == 1:
        return Linear.apply(input.reshape(1, -1) if isinstance(input, Tensor) else np.reshape(input, (1, -1)),
                            weight, bias).reshape(ws[0])
    return Linear.apply(input, weight, bias)


# --------------------------------------------------------------------------- activations and shape

def relu(input, inplace=False):
    return input.relu_() if inplace else _E.relu(input)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    out = _E.leaky_relu(input, negative_slope)
    return input.copy_(out) if inplace else out


def elu(input, alpha=1.0, inplace=False):
    out = _E.elu(input, alpha)
    return input.copy_(out) if inplace else out


def softmax(input, dim=None):
    """Softmax along ``dim`` (required, as in PyTorch's recommended use)."""
    if dim is None:
        raise TypeError("softmax: pass dim explicitly (e.g. dim=1 for (N, C) logits)")
    return _softmax(input, dim)


def log_softmax(input, dim=None):
    if dim is None:
        raise TypeError("log_softmax: pass dim explicitly (e.g. dim=1 for (N, C) logits)")
    return _log_softmax(input, dim)


def flatten(input, start_dim=0, end_dim=-1):
    return input.flatten(start_dim, end_dim)


def one_hot(tensor, num_classes=-1):
    """Integer class indices ``(*)`` to a one-hot int64 tensor ``(*, num_classes)``."""
    idx = _arr(tensor)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expects integer class indices, got dtype {idx.dtype}")
    if num_classes < 0:
        num_classes = int(idx.max()) + 1 if idx.size else 0
    if idx.size and (idx.min() < 0 or idx.max() >= num_classes):
        raise ValueError(f"one_hot: class values must be in [0, {num_classes}), got min {idx.min()} "
                         f"and max {idx.max()}")
    return Tensor._wrap((idx[..., None] == np.arange(num_classes)).astype(np.int64))


# --------------------------------------------------------------------------- dropout

def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)`` (training only).

    The mask comes from ``autograd_core.random.get_rng()``; in eval mode
    (``training=False``) the input passes through unchanged.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability p must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return input
    x = _arr(input)
    if p == 1.0:
        mask = np.zeros(x.shape, dtype=x.dtype)
    else:
        keep = get_rng().random(x.shape, dtype=np.float32) >= p
        mask = keep * np.asarray(1.0 / (1.0 - p), dtype=x.dtype)
    if inplace:
        return input.mul_(mask)
    return Mul.apply(input, mask)


# --------------------------------------------------------------------------- batch norm

def _bn_axes(ndim):
    return (0,) + tuple(range(2, ndim))


def _bn_view(a, ndim):
    """A per-channel vector ``(C,)`` shaped to broadcast against ``(N, C, *)``."""
    return a.reshape((1, -1) + (1,) * (ndim - 2))


# Inputs of at least this many float32/float64 elements take the Numba kernels
# of ``autograd_core/kernels/norm.py`` (4 passes over the data instead of
# about 15; a ResNet-8 training step spent half its time in numpy's batch norm).
_BN_KERNEL_MIN = 1 << 15


def _bn_kernels():
    from autograd_core.kernels import load
    return load("norm")


def _bn_layout(a):
    """``("ncs", (N, C, S) view)`` for NCHW memory, ``("mc", (M, C) view)`` for channels-last, else None."""
    if a.flags.c_contiguous:
        return "ncs", a.reshape(a.shape[0], a.shape[1], -1)
    t = np.moveaxis(a, 1, -1)
    if t.flags.c_contiguous:
        return "mc", t.reshape(-1, a.shape[1])
    return None


def _bn_empty(kind, x):
    """A new array of ``x``'s shape and dtype in the memory layout ``kind``, and its kernel view."""
    if kind == "ncs":
        y = np.empty(x.shape, x.dtype)
        return y, y.reshape(x.shape[0], x.shape[1], -1)
    t = np.empty(x.shape[:1] + x.shape[2:] + x.shape[1:2], x.dtype)
    return np.moveaxis(t, -1, 1), t.reshape(-1, x.shape[1])


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
    shift = np.array(v[0, :, 0] if kind == "ncs" else v[0], dtype=np.float64)
    if kind == "ncs":
        s1, s2 = np.empty(C), np.empty(C)
        K.stats_ncs(v, shift, s1, s2)
    else:
        part = np.empty((max(1, min(_threads.num_threads(), M)), 2, C))
        K.stats_mc(v, shift, part)
        s1, s2 = part.sum(0)
    mean64 = shift + s1 / M
    var64 = np.maximum((s2 - s1 * s1 / M) / M, 0.0)
    dt = x.dtype
    mean, var = mean64.astype(dt), var64.astype(dt)
    invstd = 1.0 / np.sqrt(var + dt.type(eps))
    scale = invstd if weight is None else (invstd * weight).astype(dt, copy=False)
    b = np.zeros(C, dt) if bias is None else np.ascontiguousarray(bias, dtype=dt)
    out, ov = _bn_empty(kind, x)
    (K.affine_ncs if kind == "ncs" else K.affine_mc)(v, mean, scale, b, ov)
    return out, mean, var, invstd


def _bn_backward_kernels(x, g, w, mean, invstd, need):
    """(dx, dw, db) of batch norm in training mode by the kernels, None where ``need`` says no."""
    K = _bn_kernels()
    kind, v = _bn_layout(x) or _bn_layout(np.ascontiguousarray(x))
    C = x.shape[1]
    M = x.size // C
    gl = _bn_layout(g)
    if gl is None or gl[0] != kind:  # g in x's memory layout
        g = np.ascontiguousarray(g) if kind == "ncs" else np.ascontiguousarray(np.moveaxis(g, 1, -1))
        gl = _bn_layout(g) if kind == "ncs" else ("mc", g.reshape(-1, C))
    gv = gl[1]
    if kind == "ncs":
        sg, sgx = np.empty(C), np.empty(C)
        K.grad_sums_ncs(gv, v, mean, sg, sgx)
    else:
        part = np.empty((max(1, min(_threads.num_threads(), M)), 2, C))
        K.grad_sums_mc(gv, v, mean, part)
        sg, sgx = part.sum(0)
    dt = x.dtype
    inv64 = invstd.astype(np.float64)
    dx = None
    if need[0]:
        # dx = A (g - mean(g) - xh mean(g xh)), xh = (x - mean) invstd, A = w invstd, folded per channel
        A = inv64 if w is None else inv64 * w.astype(np.float64)
        a = A.astype(dt)
        b = (-A * inv64 * inv64 * (sgx / M)).astype(dt)
        k = (-A * (sg / M)).astype(dt)
        dx, dv = _bn_empty(kind, x)
        (K.grad_input_ncs if kind == "ncs" else K.grad_input_mc)(gv, v, mean, a, b, k, dv)
    dw = (sgx * inv64).astype(dt) if len(need) > 1 and need[1] else None
    db = sg.astype(dt) if len(need) > 2 and need[2] else None
    return dx, dw, db


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
        if x.size >= _BN_KERNEL_MIN and x.dtype in (np.float32, np.float64) and x.ndim >= 3:
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
        if ctx.kernel_stats is not None and not _state.enabled:
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


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1,
               eps=1e-5):
    """Normalise each channel (dimension 1) of ``(N, C)``, ``(N, C, L)`` or ``(N, C, H, W)`` input.

    Training: use the batch's mean and biased variance, and update the running
    statistics in place (when given): ``running = (1 - momentum) * running +
    momentum * batch``, with the unbiased batch variance for ``running_var``.
    Eval (``training=False``): use the running statistics.
    """
    x = _arr(input)
    if x.ndim < 2:
        raise ShapeError(f"batch_norm: expected input of shape (N, C) or (N, C, *), got {x.shape}")
    c = x.shape[1]
    for name, v in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                    ("bias", bias)):
        if v is not None and _shape(v) != (c,):
            raise ShapeError(f"batch_norm: {name} has shape {_shape(v)}, expected ({c},) for an input with "
                             f"{c} channels (input shape {x.shape})")
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


# --------------------------------------------------------------------------- losses

_REDUCTIONS = ("none", "mean", "sum")


def _check_reduction(reduction, fn):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{fn}: reduction must be 'none', 'mean' or 'sum', got {reduction!r}")


def _reduce(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _same_shape(input, target, fn):
    si, st = _shape(input), _shape(target)
    if si != st:
        raise ShapeError(
            f"{fn}: target shape {st} differs from input shape {si}; pass a target of the input's shape "
            "(e.g. reshape (N,) targets to (N, 1), or squeeze the input)")


def mse_loss(input, target, reduction="mean"):
    """Squared error ``(input - target)^2``, reduced."""
    _check_reduction(reduction, "mse_loss")
    _same_shape(input, target, "mse_loss")
    d = input - target
    return _reduce(d * d, reduction)


def l1_loss(input, target, reduction="mean"):
    """Absolute error ``|input - target|``, reduced."""
    _check_reduction(reduction, "l1_loss")
    _same_shape(input, target, "l1_loss")
    return _reduce((input - target).abs(), reduction)


class NLLLoss(Function):
    """Negative log-likelihood: ``-weight[t] * logp[n, t]`` for each target ``t``, one node.

    ``logp`` is ``(N, C, *)``, ``target`` ``(N, *)`` integer. Targets equal to
    ``ignore_index`` contribute 0 (and no weight to the mean). The loss is
    linear in ``logp``, so backward is ``g`` times a constant array.
    """

    @staticmethod
    def forward(ctx, logp, target, weight, ignore_index, reduction):
        valid = target != ignore_index
        t = np.where(valid, target, 0)[:, None]
        picked = np.take_along_axis(logp, t, axis=1)[:, 0]
        w = valid.astype(logp.dtype)
        if weight is not None:
            w *= weight[t[:, 0]]
        losses = -(w * picked)
        coef = np.zeros_like(logp)
        if reduction == "mean":
            total = w.sum()
            with np.errstate(invalid="ignore", divide="ignore"):  # all ignored: NaN, like PyTorch
                w = w / total
                out = np.asarray(losses.sum() / total, dtype=logp.dtype)
        elif reduction == "sum":
            out = np.asarray(losses.sum(), dtype=logp.dtype)
        else:
            out = losses
        np.put_along_axis(coef, t, -w[:, None], axis=1)
        ctx.coef = coef
        ctx.per_element = reduction == "none"
        return out

    @staticmethod
    def backward(ctx, g):
        if ctx.per_element:
            g = g.unsqueeze(1)
        return g * ctx.coef


def _class_targets(input, target, fn, ignore_index):
    """Validate integer targets against ``(N, C, *)`` input; return ``(input, target array, unbatched)``."""
    x = _arr(input)
    t = _arr(target)
    if x.ndim == 0:
        raise ShapeError(f"{fn}: input must have a class dimension, got a scalar")
    unbatched = x.ndim == 1
    if unbatched:
        if t.ndim != 0:
            raise ShapeError(f"{fn}: for unbatched input of shape {x.shape} the target must be a scalar class "
                             f"index, got shape {t.shape}")
        input = input.reshape(1, -1) if isinstance(input, Tensor) else x.reshape(1, -1)
        t = t.reshape(1)
        x = x.reshape(1, -1)
    expected = x.shape[:1] + x.shape[2:]
    if t.shape != expected:
        raise ShapeError(
            f"{fn}: target of shape {t.shape} does not fit input of shape {x.shape}: expected class indices of "
            f"shape {expected} (the input's shape without the class dimension 1)")
    c = x.shape[1]
    valid = t != ignore_index
    if valid.any():
        tv = t[valid]
        lo, hi = tv.min(), tv.max()
        if lo < 0 or hi >= c:
            bad = lo if lo < 0 else hi
            raise IndexError(f"{fn}: target {bad} is out of bounds: class indices must be in [0, {c}) "
                             f"(the input has {c} classes){'' if ignore_index < 0 else f' or {ignore_index}'}")
    return input, t.astype(np.int64, copy=False), unbatched


def _class_weight(weight, c, fn):
    if weight is None:
        return None
    w = _arr(weight)
    if w.shape != (c,):
        raise ShapeError(f"{fn}: weight has shape {w.shape}, expected ({c},): one weight per class")
    return w


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of log-probabilities ``input`` (N, C, *) at class indices ``target`` (N, *).

    ``weight`` (C,) rescales each class; ``reduction='mean'`` divides by the
    sum of the weights of the (non-ignored) targets, as PyTorch does.
    """
    _check_reduction(reduction, "nll_loss")
    input, t, unbatched = _class_targets(input, target, "nll_loss", ignore_index)
    w = _class_weight(weight, _shape(input)[1], "nll_loss")
    if w is not None and w.dtype != _arr(input).dtype:
        w = w.astype(_arr(input).dtype)
    out = NLLLoss.apply(input, t, w, ignore_index, reduction)
    return out.reshape(()) if unbatched and reduction == "none" else out


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """Cross-entropy between logits ``input`` (N, C, *) and class indices or class probabilities.

    ``target`` is either integer class indices of shape (N, *) or float
    probabilities of the input's shape. Computed as ``log_softmax`` (stable for
    large logits) followed by the negative log-likelihood. With
    ``label_smoothing = e``, the target is mixed with the uniform distribution:
    ``(1 - e) * target + e / C``.
    """
    _check_reduction(reduction, "cross_entropy")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    x = _arr(input)
    if x.ndim == 0:
        raise ShapeError("cross_entropy: input must have a class dimension, got a scalar")
    cdim = 1 if x.ndim >= 2 else 0
    c = x.shape[cdim]
    w = _class_weight(weight, c, "cross_entropy")
    if w is not None and w.dtype != x.dtype:
        w = w.astype(x.dtype)
    t = _arr(target)
    if t.dtype.kind == "f":  # class probabilities
        if t.shape != x.shape:
            raise ShapeError(
                f"cross_entropy: probability targets must have the input's shape {x.shape}, got {t.shape} "
                "(for class indices pass an integer tensor)")
        logp = _log_softmax(input, cdim)
        if label_smoothing > 0:
            target = target * (1.0 - label_smoothing) + label_smoothing / c
        prod = logp * target
        if w is not None:
            prod = prod * (w.reshape((-1,) + (1,) * (x.ndim - 2)) if x.ndim >= 2 else w)
        loss = -prod.sum(cdim)
        return _reduce(loss, reduction)
    if t.dtype.kind not in "iu":
        raise TypeError(f"cross_entropy: target must hold integer class indices or float probabilities, "
                        f"got dtype {t.dtype}")
    input, t, unbatched = _class_targets(input, t, "cross_entropy", ignore_index)
    logp = _log_softmax(input, 1)
    loss = NLLLoss.apply(logp, t, w, ignore_index, reduction)
    if label_smoothing > 0:
        valid = t != ignore_index
        wlogp = logp * w.reshape((-1,) + (1,) * (logp.ndim - 2)) if w is not None else logp
        smooth = -wlogp.sum(1) * valid.astype(x.dtype)
        if reduction == "mean":
            denom = w[t[valid]].sum() if w is not None else valid.sum()
            smooth = smooth.sum() / float(denom)
        elif reduction == "sum":
            smooth = smooth.sum()
        loss = loss * (1.0 - label_smoothing) + smooth * (label_smoothing / c)
    return loss.reshape(()) if unbatched and reduction == "none" else loss


class BinaryCrossEntropy(Function):
    """``-(t log p + (1 - t) log(1 - p))`` with the logs clamped at -100 (PyTorch's convention).

    ``dp = (p - t) / max(p (1 - p), 1e-12)``, ``dt = log(1 - p) - log(p)`` (clamped logs).
    """

    @staticmethod
    def forward(ctx, p, t):
        with np.errstate(divide="ignore"):
            logp = np.maximum(np.log(p), -100.0)
            log1mp = np.maximum(np.log1p(-p), -100.0)
        ctx.save_for_backward(p, t)
        return -(t * logp + (1.0 - t) * log1mp)

    @staticmethod
    def backward(ctx, g):
        p, t = ctx.saved_tensors
        need = ctx.needs_input_grad
        gp = g * (p - t) / (p * (1.0 - p)).clamp(min=1e-12) if need[0] else None
        gt = None
        if need[1]:
            gt = g * ((1.0 - p).log().clamp(min=-100.0) - p.log().clamp(min=-100.0))
        return gp, gt


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """Binary cross-entropy between probabilities ``input`` (in [0, 1]) and ``target`` of the same shape."""
    _check_reduction(reduction, "binary_cross_entropy")
    _same_shape(input, target, "binary_cross_entropy")
    p = _arr(input)
    if p.size and not ((p >= 0) & (p <= 1)).all():
        raise ValueError(
            f"binary_cross_entropy: all elements of input must be probabilities in [0, 1] (got min "
            f"{p.min()}, max {p.max()}); apply sigmoid first, or use binary_cross_entropy_with_logits")
    t = target if isinstance(target, Tensor) else np.asarray(target, dtype=p.dtype)
    loss = BinaryCrossEntropy.apply(input, t)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


class BinaryCrossEntropyWithLogits(Function):
    """``(1 - t) x + (1 + (pw - 1) t) softplus(-x)``, stable for any logit ``x``.

    With ``pw`` the positive-class weight (1 if not given), this is
    ``-(pw t log sigmoid(x) + (1 - t) log(1 - sigmoid(x)))``.
    ``dx = (1 - t) - (1 + (pw - 1) t) sigmoid(-x)``, ``dt = -x + (pw - 1) softplus(-x)``.
    """

    @staticmethod
    def forward(ctx, x, t, pos_weight=None):
        sp = np.logaddexp(0, -x).astype(x.dtype, copy=False)  # softplus(-x) = log(1 + e^-x), stable
        ctx.save_for_backward(x, t, pos_weight)
        if pos_weight is None:
            return (1.0 - t) * x + sp
        return (1.0 - t) * x + (1.0 + (pos_weight - 1.0) * t) * sp

    @staticmethod
    def backward(ctx, g):
        x, t, pw = ctx.saved_tensors
        need = ctx.needs_input_grad
        coef = 1.0 if pw is None else 1.0 + (pw - 1.0) * t
        gx = g * ((1.0 - t) - coef * sigmoid(-x)) if need[0] else None
        gt = None
        if need[1]:
            gt = g * (-x) if pw is None else g * (-x + (pw - 1.0) * softplus(-x))
        return gx, gt, None


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None):
    """Sigmoid + binary cross-entropy in one stable step; ``pos_weight`` (C,) weights positive targets."""
    _check_reduction(reduction, "binary_cross_entropy_with_logits")
    _same_shape(input, target, "binary_cross_entropy_with_logits")
    x = _arr(input)
    t = target if isinstance(target, Tensor) else np.asarray(target, dtype=x.dtype)
    pw = None
    if pos_weight is not None:
        pw = _arr(pos_weight).astype(x.dtype, copy=False)
        try:
            np.broadcast_shapes(pw.shape, x.shape)
        except ValueError:
            raise ShapeError(f"binary_cross_entropy_with_logits: pos_weight of shape {pw.shape} does not "
                             f"broadcast to the input's shape {x.shape}") from None
    loss = BinaryCrossEntropyWithLogits.apply(input, t, pw)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)
