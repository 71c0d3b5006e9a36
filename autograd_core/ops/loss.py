"""Losses (``torch.nn.functional``'s names): mse, l1, nll, cross-entropy, binary cross-entropy.

Each takes ``reduction`` = 'mean' (default), 'sum' or 'none'. The losses a
training step runs many times are single graph nodes (``nll_loss``;
``cross_entropy`` is ``log_softmax`` plus that node, or for (N, C) float logits
one ``CrossEntropy`` node running the row kernels), and every backward is
written with Tensor operations, so second derivatives work through all of them.
"""

from __future__ import annotations

import numpy as np

from ..function import Function, ShapeError, _state
from ..tensor import Tensor
from . import fused as _fused
from ._common import array_of, shape_of
from ._declare import functional
from .elementwise import sigmoid, softplus
from .reduce import log_softmax, softmax

__all__ = ["mse_loss", "l1_loss", "nll_loss", "cross_entropy", "binary_cross_entropy",
           "binary_cross_entropy_with_logits"]


_REDUCTIONS = ("none", "mean", "sum")


def check_reduction(reduction, fn):
    """Raise ValueError unless ``reduction`` is 'none', 'mean' or 'sum' (``fn`` names the caller)."""
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{fn}: reduction must be 'none', 'mean' or 'sum', got {reduction!r}")


def _reduce(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _same_shape(input, target, fn):
    si, st = shape_of(input), shape_of(target)
    if si != st:
        raise ShapeError(
            f"{fn}: target shape {st} differs from input shape {si}; pass a target of the input's shape "
            "(e.g. reshape (N,) targets to (N, 1), or squeeze the input)")


@functional
def mse_loss(input, target, reduction="mean"):
    """Squared error ``(input - target)^2``, reduced."""
    check_reduction(reduction, "mse_loss")
    _same_shape(input, target, "mse_loss")
    d = input - target
    return _reduce(d * d, reduction)


@functional
def l1_loss(input, target, reduction="mean"):
    """Absolute error ``|input - target|``, reduced."""
    check_reduction(reduction, "l1_loss")
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


class CrossEntropy(Function):
    """Cross-entropy of (N, C) logits at class indices in one node, by the row kernels.

    Forward, one pass per row: ``lse = logsumexp(x[n])`` and ``loss[n] =
    w[n] (lse - x[n, t[n]])`` with ``w[n]`` the class weight (0 for an ignored
    target); then the reduction (``mean`` divides by the sum of the weights).
    Backward, one pass: ``dx[n] = g c[n] (softmax(x[n]) - onehot(t[n]))`` with
    ``c`` the per-row weight of the reduction and the softmax rebuilt from the
    saved ``lse``. With ``create_graph=True`` the same formula runs in Tensor
    ops from ``x`` (differentiable again). The reference is ``log_softmax``
    followed by ``NLLLoss``, which ``cross_entropy`` runs for other inputs.
    """

    @staticmethod
    def forward(ctx, x, target, weight, ignore_index, reduction):
        valid = target != ignore_index
        every = valid.all()
        t = target if every else np.where(valid, target, 0)
        lse, picked = _fused.cross_entropy(x, t)
        losses = lse - picked
        if every and weight is None and reduction == "mean":  # the common case, in few numpy calls
            n = x.shape[0]
            ctx.save_for_backward(x)
            ctx.lse, ctx.t, ctx.coef = lse, t, np.full(n, 1.0 / n, x.dtype)
            ctx.per_element = False
            return np.asarray(losses.sum() / x.dtype.type(n), dtype=x.dtype)
        w = valid.astype(x.dtype)
        if weight is not None:
            w *= weight[t]
        losses = w * losses
        if reduction == "mean":
            total = w.sum()
            with np.errstate(invalid="ignore", divide="ignore"):  # all ignored: NaN, like PyTorch
                coef = w / total
                out = np.asarray(losses.sum() / total, dtype=x.dtype)
        elif reduction == "sum":
            coef, out = w, np.asarray(losses.sum(), dtype=x.dtype)
        else:
            coef, out = w, losses
        ctx.save_for_backward(x)
        ctx.lse, ctx.t, ctx.coef = lse, t, coef.astype(x.dtype, copy=False)
        ctx.per_element = reduction == "none"
        return out

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        if not _state.enabled:  # no graph of the backward wanted: the kernel, on arrays
            c = ctx.coef * g.data
            return Tensor._wrap(_fused.cross_entropy_backward(x.data, ctx.lse, ctx.t, c))
        onehot = np.zeros(x.shape, x.dtype)
        onehot[np.arange(x.shape[0]), ctx.t] = 1
        cg = (g.unsqueeze(1) if ctx.per_element else g) * ctx.coef[:, None]
        return (softmax(x, 1) - onehot) * cg


def _class_targets(input, target, fn, ignore_index):
    """Validate integer targets against ``(N, C, *)`` input; return ``(input, target array, unbatched)``."""
    x = array_of(input)
    t = array_of(target)
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
    if t.size and 0 <= t.min() and t.max() < c:  # the common case, in two reductions
        return input, t.astype(np.int64, copy=False), unbatched
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
    w = array_of(weight)
    if w.shape != (c,):
        raise ShapeError(f"{fn}: weight has shape {w.shape}, expected ({c},): one weight per class")
    return w


@functional
def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of log-probabilities ``input`` (N, C, *) at class indices ``target`` (N, *).

    ``weight`` (C,) rescales each class; ``reduction='mean'`` divides by the
    sum of the weights of the (non-ignored) targets, as PyTorch does.
    """
    check_reduction(reduction, "nll_loss")
    input, t, unbatched = _class_targets(input, target, "nll_loss", ignore_index)
    w = _class_weight(weight, shape_of(input)[1], "nll_loss")
    if w is not None and w.dtype != array_of(input).dtype:
        w = w.astype(array_of(input).dtype)
    out = NLLLoss.apply(input, t, w, ignore_index, reduction)
    return out.reshape(()) if unbatched and reduction == "none" else out


@functional
def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """Cross-entropy between logits ``input`` (N, C, *) and class indices or class probabilities.

    ``target`` is either integer class indices of shape (N, *) or float
    probabilities of the input's shape. Computed as ``log_softmax`` (stable for
    large logits) followed by the negative log-likelihood. With
    ``label_smoothing = e``, the target is mixed with the uniform distribution:
    ``(1 - e) * target + e / C``.
    """
    check_reduction(reduction, "cross_entropy")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    x = array_of(input)
    if x.ndim == 0:
        raise ShapeError("cross_entropy: input must have a class dimension, got a scalar")
    cdim = 1 if x.ndim >= 2 else 0
    c = x.shape[cdim]
    w = _class_weight(weight, c, "cross_entropy")
    if w is not None and w.dtype != x.dtype:
        w = w.astype(x.dtype)
    t = array_of(target)
    if t.dtype.kind == "f":  # class probabilities
        if t.shape != x.shape:
            raise ShapeError(
                f"cross_entropy: probability targets must have the input's shape {x.shape}, got {t.shape} "
                "(for class indices pass an integer tensor)")
        logp = log_softmax(input, cdim)
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
    if label_smoothing == 0 and x.ndim == 2 and _fused.usable(x):
        return CrossEntropy.apply(input, t, w, ignore_index, reduction)
    logp = log_softmax(input, 1)
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


@functional
def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """Binary cross-entropy between probabilities ``input`` (in [0, 1]) and ``target`` of the same shape."""
    check_reduction(reduction, "binary_cross_entropy")
    _same_shape(input, target, "binary_cross_entropy")
    p = array_of(input)
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


@functional
def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None):
    """Sigmoid + binary cross-entropy in one stable step; ``pos_weight`` (C,) weights positive targets."""
    check_reduction(reduction, "binary_cross_entropy_with_logits")
    _same_shape(input, target, "binary_cross_entropy_with_logits")
    x = array_of(input)
    t = target if isinstance(target, Tensor) else np.asarray(target, dtype=x.dtype)
    pw = None
    if pos_weight is not None:
        pw = array_of(pos_weight).astype(x.dtype, copy=False)
        try:
            np.broadcast_shapes(pw.shape, x.shape)
        except ValueError:
            raise ShapeError(f"binary_cross_entropy_with_logits: pos_weight of shape {pw.shape} does not "
                             f"broadcast to the input's shape {x.shape}") from None
    loss = BinaryCrossEntropyWithLogits.apply(input, t, pw)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)

