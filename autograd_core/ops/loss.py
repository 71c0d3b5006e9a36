"""Losses (``torch.nn.functional``'s names): mse, l1, nll, cross-entropy, binary cross-entropy, smooth L1,
Huber, KL divergence, the margin and embedding losses, Poisson and Gaussian NLL.

Each takes ``reduction`` = 'mean' (default), 'sum' or 'none' (``kl_div`` also
'batchmean'); where PyTorch still accepts the deprecated ``size_average`` and
``reduce`` flags, so do these. The losses a training step runs many times are
single graph nodes (``nll_loss``; ``cross_entropy`` is ``log_softmax`` plus that
node, or for (N, C) float logits one ``CrossEntropy`` node running the row
kernels); the others are compositions of Tensor operations. Every backward is
made of Tensor operations, so second derivatives work through all of them.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ..function import Function, ShapeError, _state
from ..tensor import Tensor
from . import fused as _fused
from ._common import array_of, as_tensor, shape_of
from ._declare import functional
from .activation import logsigmoid
from .elementwise import exp, log, relu, sigmoid, softplus, where
from .distance import vector_norm
from .reduce import log_softmax, softmax

__all__ = ["mse_loss", "l1_loss", "nll_loss", "cross_entropy", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "smooth_l1_loss", "huber_loss", "kl_div", "soft_margin_loss",
           "multi_margin_loss", "multilabel_soft_margin_loss", "cosine_embedding_loss", "margin_ranking_loss",
           "pairwise_distance", "triplet_margin_loss", "triplet_margin_with_distance_loss", "poisson_nll_loss",
           "gaussian_nll_loss", "hinge_embedding_loss"]


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



# --------------------------------------------------------------------------- more losses

def legacy_reduction(size_average, reduce, reduction, fn):
    """``reduction`` from PyTorch's deprecated ``size_average`` / ``reduce`` flags, when either is given."""
    if size_average is None and reduce is None:
        return reduction
    warnings.warn(f"{fn}: size_average and reduce are deprecated; use reduction='mean', 'sum' or 'none'",
                  DeprecationWarning, stacklevel=3)
    if reduce is False:
        return "none"
    return "sum" if size_average is False else "mean"


def _floats(fn, *xs):
    for x in xs:
        dt = array_of(x).dtype
        if dt.kind != "f":
            raise TypeError(f"{fn}: expected floating-point inputs, got dtype {dt}; convert with .float()")


def _reduce_checked(loss, reduction, fn):
    check_reduction(reduction, fn)
    return _reduce(loss, reduction)


@functional
def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """``0.5 d^2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta`` (``d = input - target``; Girshick 2015).

    ``beta = 0`` is the L1 loss.
    """
    fn = "smooth_l1_loss"
    reduction = legacy_reduction(size_average, reduce, reduction, fn)
    check_reduction(reduction, fn)
    if beta < 0:
        raise ValueError(f"{fn}: beta must be non-negative, got {beta}")
    _same_shape(input, target, fn)
    _floats(fn, input)
    d = as_tensor(input) - target
    ad = d.abs()
    if beta == 0:
        return _reduce(ad, reduction)
    return _reduce(where(ad.data < beta, d * d * (0.5 / beta), ad - 0.5 * beta), reduction)


@functional
def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """``0.5 d^2`` where ``|d| < delta``, else ``delta (|d| - 0.5 delta)``; ``weight`` scales each element."""
    fn = "huber_loss"
    check_reduction(reduction, fn)
    if not delta > 0:
        raise ValueError(f"{fn}: delta must be positive, got {delta}")
    _same_shape(input, target, fn)
    _floats(fn, input)
    d = as_tensor(input) - target
    ad = d.abs()
    loss = where(ad.data < delta, d * d * 0.5, (ad - 0.5 * delta) * delta)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


@functional
def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """Kullback-Leibler divergence ``target * (log(target) - input)``, ``input`` being log-probabilities.

    Terms with ``target == 0`` are 0. ``log_target=True``: the target is given
    as log-probabilities too, ``exp(target) * (target - input)``.
    ``reduction='batchmean'`` (the mathematically right one) divides the sum by
    the batch size ``input.shape[0]``; 'mean' divides by the number of elements.
    """
    fn = "kl_div"
    reduction = legacy_reduction(size_average, reduce, reduction, fn)
    if reduction not in ("none", "mean", "sum", "batchmean"):
        raise ValueError(f"{fn}: reduction must be 'none', 'mean', 'sum' or 'batchmean', got {reduction!r}")
    _same_shape(input, target, fn)
    _floats(fn, input, target)
    x, t = as_tensor(input), as_tensor(target)
    if log_target:
        loss = exp(t) * (t - x)
    else:
        safe = where(t.data == 0, 1.0, t)  # 0 log 0 = 0; a negative target gives NaN, as in PyTorch
        with np.errstate(invalid="ignore"):
            loss = t * log(safe) - t * x
    if reduction == "batchmean":
        total = loss.sum()
        return total / x.shape[0] if x.ndim else total
    return _reduce(loss, reduction)


@functional
def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """Logistic loss ``log(1 + exp(-y x))`` for targets ``y`` in {1, -1}."""
    fn = "soft_margin_loss"
    reduction = legacy_reduction(size_average, reduce, reduction, fn)
    check_reduction(reduction, fn)
    _same_shape(input, target, fn)
    _floats(fn, input)
    return _reduce(softplus(-(as_tensor(input) * target)), reduction)


def _class_rows(input, target, fn):
    """(N, C) scores and (N,) int64 class targets, accepting an unbatched (C,) input with a 0-d target."""
    x, t = array_of(input), array_of(target)
    if x.ndim == 0:  # one score: one class (PyTorch accepts it)
        input, x = as_tensor(input).reshape(1), x.reshape(1)
    if x.ndim not in (1, 2):
        raise ShapeError(f"{fn}: expected input of shape (N, C) or (C,), got {x.shape}")
    if t.dtype.kind not in "iu":
        raise TypeError(f"{fn}: target must hold integer class indices, got dtype {t.dtype}")
    unbatched = x.ndim == 1
    if unbatched:
        if t.ndim != 0 and t.shape != (1,):
            raise ShapeError(f"{fn}: for an input of shape {x.shape} the target must be one class index, "
                             f"got shape {t.shape}")
        input, t = as_tensor(input).reshape(1, -1), t.reshape(1)
    elif t.shape != x.shape[:1]:
        raise ShapeError(f"{fn}: target of shape {t.shape} does not fit input of shape {x.shape}: expected ({x.shape[0]},)")
    c = array_of(input).shape[1]
    if t.size and (t.min() < 0 or t.max() >= c):
        raise IndexError(f"{fn}: target {t.min() if t.min() < 0 else t.max()} is out of bounds for {c} classes")
    return as_tensor(input), t.astype(np.int64), unbatched


@functional
def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None, reduce=None,
                      reduction="mean"):
    """Multi-class hinge loss: ``sum_{i != y} max(0, margin - x[y] + x[i])^p / C`` per sample, ``p`` 1 or 2.

    ``weight`` (C,) scales each sample's loss by the weight of its class ``y``.
    """
    fn = "multi_margin_loss"
    reduction = legacy_reduction(size_average, reduce, reduction, fn)
    check_reduction(reduction, fn)
    if p not in (1, 2):
        raise ValueError(f"{fn}: only p == 1 and p == 2 are supported, got p={p!r}")
    _floats(fn, input)
    x, t, unbatched = _class_rows(input, target, fn)
    n, c = x.shape
    rows = np.arange(n)
    z = relu(x - x[rows, t].unsqueeze(1) + margin)  # PyTorch's gradient: only where the margin is violated
    if p == 2:
        z = z * z
    others = np.ones((n, c), dtype=x.dtype)
    others[rows, t] = 0
    loss = (z * others).sum(1) / c
    if weight is not None:
        w = array_of(weight)
        if w.shape != (c,):
            raise ShapeError(f"{fn}: weight has shape {w.shape}, expected ({c},)")
        loss = loss * as_tensor(weight)[t]
    if unbatched:
        loss = loss.reshape(())
    return _reduce(loss, reduction)


@functional
def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """Per sample, the mean over classes of ``-(y log sigmoid(x) + (1 - y) log sigmoid(-x))``, ``y`` in {0, 1}."""
    fn = "multilabel_soft_margin_loss"
    reduction = legacy_reduction(size_average, reduce, reduction, fn)
    check_reduction(reduction, fn)
    _same_shape(input, target, fn)
    _floats(fn, input)
    x = as_tensor(input)
    loss = -(logsigmoid(x) * target + logsigmoid(-x) * (1.0 - as_tensor(target)))
    if weight is not None:
        loss = loss * weight
    if x.ndim:
        loss = loss.sum(x.ndim - 1) / x.shape[-1]
    return _reduce(loss, reduction)


_COS_EPS = 1e-12


@functional
def cosine_embedding_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None, reduction="mean"):
    """``1 - cos(x1, x2)`` for ``y = 1``, ``max(0, cos(x1, x2) - margin)`` for ``y = -1``, along the last dimension.

    ``cos = <x1, x2> / sqrt((|x1|^2 + 1e-12) (|x2|^2 + 1e-12))`` (PyTorch's guard against zero vectors).
    """
    fn = "cosine_embedding_loss"
    reduction = legacy_reduction(size_average, reduce, reduction, fn)
    check_reduction(reduction, fn)
    a, b = as_tensor(input1), as_tensor(input2)
    _floats(fn, a, b)
    y = array_of(target)
    if a.shape != b.shape or a.ndim not in (1, 2) or y.shape != a.shape[:-1]:
        raise ShapeError(f"{fn}: expected inputs of the same shape (N, D) or (D,) and a target of shape (N,) or (), "
                         f"got {tuple(a.shape)}, {tuple(b.shape)} and {y.shape}")
    cos = (a * b).sum(-1) / (((a * a).sum(-1) + _COS_EPS) * ((b * b).sum(-1) + _COS_EPS)) ** 0.5
    loss = where(y == 1, 1.0 - cos, 0.0) + where(y == -1, (cos - margin).clamp(min=0.0), 0.0)
    return _reduce(loss, reduction)


@functional
def margin_ranking_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None, reduction="mean"):
    """``max(0, -y (x1 - x2) + margin)``: ``y = 1`` asks for ``x1`` ranked above ``x2``, ``y = -1`` below."""
    fn = "margin_ranking_loss"
    reduction = legacy_reduction(size_average, reduce, reduction, fn)
    check_reduction(reduction, fn)
    shapes = [shape_of(input1), shape_of(input2), shape_of(target)]
    if len(set(len(s) for s in shapes)) != 1:
        raise ShapeError(f"{fn}: input1, input2 and target must have the same number of dimensions, got shapes "
                         f"{shapes[0]}, {shapes[1]} and {shapes[2]}")
    _floats(fn, input1, input2)
    loss = (-(as_tensor(input1) - input2) * target + margin).clamp(min=0.0)
    return _reduce(loss, reduction)


@functional
def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """``||x1 - x2 + eps||_p`` along the last dimension (PyTorch's ``eps`` keeps the norm off the origin)."""
    d = as_tensor(x1) - x2 + eps
    _floats("pairwise_distance", d)
    if d.ndim == 0:
        return d.abs()
    return vector_norm(d, p, -1, keepdim)


def _triplet(anchor, positive, negative, dist, margin, swap, reduction, fn):
    check_reduction(reduction, fn)
    dims = [len(shape_of(v)) for v in (anchor, positive, negative)]
    if len(set(dims)) != 1 or dims[0] not in (1, 2):
        raise ShapeError(f"{fn}: anchor, positive and negative must all be (N, D) or all (D,), got shapes "
                         f"{shape_of(anchor)}, {shape_of(positive)} and {shape_of(negative)}")
    d_pos = dist(anchor, positive)
    d_neg = dist(anchor, negative)
    if swap:
        from .elementwise import minimum
        d_neg = minimum(d_neg, dist(positive, negative))
    return _reduce((d_pos - d_neg + margin).clamp(min=0.0), reduction)


@functional
def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False, size_average=None,
                        reduce=None, reduction="mean"):
    """``max(d(a, p) - d(a, n) + margin, 0)`` with the p-norm distance ``pairwise_distance`` (Balntas et al. 2016).

    ``swap``: use ``min(d(a, n), d(p, n))`` as the negative distance.
    """
    fn = "triplet_margin_loss"
    reduction = legacy_reduction(size_average, reduce, reduction, fn)
    _floats(fn, anchor, positive, negative)
    return _triplet(anchor, positive, negative, lambda u, v: pairwise_distance(u, v, p, eps), margin, swap,
                    reduction, fn)


@functional
def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None, margin=1.0, swap=False,
                                      reduction="mean"):
    """``triplet_margin_loss`` with any ``distance_function(x1, x2)`` (default ``pairwise_distance``)."""
    fn = "triplet_margin_with_distance_loss"
    if margin <= 0:
        raise ValueError(f"{fn}: margin must be positive, got {margin}")
    return _triplet(anchor, positive, negative, distance_function or pairwise_distance, margin, swap, reduction, fn)


@functional
def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8, reduce=None,
                     reduction="mean"):
    """Poisson negative log-likelihood: ``exp(x) - t x`` (``log_input``) or ``x - t log(x + eps)``.

    ``full`` adds Stirling's approximation of ``log(t!)``,
    ``t log t - t + log(2 pi t) / 2``, where ``t > 1``.
    """
    fn = "poisson_nll_loss"
    reduction = legacy_reduction(size_average, reduce, reduction, fn)
    check_reduction(reduction, fn)
    _same_shape(input, target, fn)
    _floats(fn, input)
    x, t = as_tensor(input), as_tensor(target)
    loss = exp(x) - t * x if log_input else x - t * log(x + eps)
    if full:
        big = t.data > 1
        st = where(big, t, 2.0)  # any value above 1 where the term is not used: no log(0)
        loss = loss + where(big, st * log(st) - st + log(st * (2 * math.pi)) * 0.5, 0.0)
    return _reduce(loss, reduction)


@functional
def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """Gaussian negative log-likelihood ``(log(var) + (input - target)^2 / var) / 2`` (+ ``log(2 pi) / 2`` if ``full``).

    ``var`` has the input's shape, or one dimension fewer or a last dimension of
    1 (one variance per sample), or is a number. It is clamped at ``eps`` for
    stability, with the gradient passed on as if unclamped (as in PyTorch).
    """
    fn = "gaussian_nll_loss"
    check_reduction(reduction, fn)
    try:  # PyTorch lets this target broadcast (one dimension of 1 allows per-sample targets)
        if np.broadcast_shapes(shape_of(input), shape_of(target)) != shape_of(input):
            raise ValueError
    except ValueError:
        raise ShapeError(f"{fn}: target of shape {shape_of(target)} does not broadcast to the input's shape "
                         f"{shape_of(input)}") from None
    _floats(fn, input)
    x = as_tensor(input)
    v = as_tensor(var) if isinstance(var, (Tensor, np.ndarray)) else Tensor._wrap(np.full(x.shape, var, x.dtype))
    vs, xs = tuple(v.shape), tuple(x.shape)
    if vs != xs:
        if xs[:-1] == vs:
            v = v.unsqueeze(-1)
        elif not (len(vs) == len(xs) and vs[:-1] == xs[:-1] and vs[-1:] == (1,)):
            raise ShapeError(f"{fn}: var of shape {vs} does not fit input of shape {xs}: expected {xs}, {xs[:-1]} "
                             f"or {xs[:-1] + (1,)}")
    vd = v.data
    if (vd < 0).any():
        raise ValueError(f"{fn}: var has negative entries (min {vd.min()}); variances must be non-negative")
    v = v + (np.maximum(vd, eps) - vd)  # the clamp as a constant shift: the gradient passes unchanged
    d = x - target
    loss = (log(v) + d * d / v) * 0.5
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


@functional
def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None, reduction="mean"):
    """``x`` for ``y = 1``, ``max(0, margin - x)`` for ``y = -1`` (``x`` typically a distance)."""
    fn = "hinge_embedding_loss"
    reduction = legacy_reduction(size_average, reduce, reduction, fn)
    check_reduction(reduction, fn)
    _same_shape(input, target, fn)
    _floats(fn, input)
    x, y = as_tensor(input), array_of(target)
    loss = where(y != 1, (margin - x).clamp(min=0.0), 0.0) + where(y != -1, x, 0.0)
    return _reduce(loss, reduction)
