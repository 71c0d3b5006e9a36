"""Dropout (Srivastava et al. 2014): zero random elements, or whole channels, in training mode; and the
self-normalising networks' alpha dropout (Klambauer et al. 2017)."""

from __future__ import annotations

import math
import warnings

import numpy as np

from ..random import get_rng
from ..tensor import Tensor
from ._declare import functional
from .elementwise import Mul

__all__ = ["dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout"]


def _check_p(p, op):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: probability p must be in [0, 1], got {p}")


def _array(input):
    return input.data if isinstance(input, Tensor) else np.asarray(input)


def _keep(shape, p):
    """A bool mask of ``shape``: True with probability ``1 - p`` (``autograd_core.random.get_rng()``)."""
    return get_rng().random(shape, dtype=np.float32) >= p


def _scaled_mask(keep, p, dtype):
    if p == 1.0:
        return np.zeros(keep.shape, dtype=dtype)
    return keep * np.asarray(1.0 / (1.0 - p), dtype=dtype)


def _apply(input, factor, inplace):
    return input.mul_(factor) if inplace else Mul.apply(input, factor)


@functional
def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)`` (training only).

    The mask comes from ``autograd_core.random.get_rng()``; in eval mode
    (``training=False``) the input passes through unchanged.
    """
    _check_p(p, "dropout")
    if not training or p == 0.0:
        return input
    x = _array(input)
    return _apply(input, _scaled_mask(_keep(x.shape, p), p, x.dtype), inplace)


def _feature_mask_shape(x, op, batched_ndim, spatial):
    """The shape of a channel mask: ``(N, C, 1, ...)``, or ``(C, 1, ...)`` for an unbatched input."""
    if x.ndim == batched_ndim - 1:  # unbatched (C, *spatial)
        return x.shape[:1] + (1,) * (x.ndim - 1)
    return x.shape[:2] + (1,) * (x.ndim - 2)


def _feature_dropout(input, p, training, inplace, op, spatial):
    _check_p(p, op)
    x = _array(input)
    nd = spatial + 2
    if op == "dropout2d":  # PyTorch's current, deprecated leniency
        if x.ndim not in (3, 4):
            warnings.warn(f"dropout2d: received a {x.ndim}-D input; dropout2d expects (N, C, H, W) or (C, H, W). "
                          "Treating dimension 1 as the channels (use dropout for element-wise dropout).",
                          UserWarning, stacklevel=3)
        elif x.ndim == 3:
            warnings.warn("dropout2d: received a 3-D input; as PyTorch does today, it is read as (N, C, L) "
                          "(use dropout1d for channel-wise 1-D dropout).", UserWarning, stacklevel=3)
            nd = 3
    elif x.ndim not in (nd - 1, nd):
        raise ValueError(f"{op}: expected a {nd - 1}-D or {nd}-D input (C, *) or (N, C, *) with {spatial} spatial "
                         f"dimension(s), got shape {x.shape}")
    if not training or p == 0.0:
        return input
    shape = _feature_mask_shape(x, op, nd, spatial) if x.ndim >= 2 else x.shape
    return _apply(input, _scaled_mask(_keep(shape, p), p, x.dtype), inplace)


@functional
def dropout1d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of ``(N, C, L)`` or ``(C, L)`` input with probability ``p`` (scale the rest)."""
    return _feature_dropout(input, p, training, inplace, "dropout1d", 1)


@functional
def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels (feature maps) of ``(N, C, H, W)`` or ``(C, H, W)`` input with probability ``p``.

    The kept channels are scaled by ``1 / (1 - p)`` (Tompson et al. 2015). A
    3-D input is read as ``(N, C, L)``, as PyTorch does today (with a warning).
    """
    return _feature_dropout(input, p, training, inplace, "dropout2d", 2)


@functional
def dropout3d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of ``(N, C, D, H, W)`` or ``(C, D, H, W)`` input with probability ``p``."""
    return _feature_dropout(input, p, training, inplace, "dropout3d", 3)


_SELU_NEG = -1.0507009873554805 * 1.6732632423543772  # SELU's negative saturation value


def _alpha(input, keep, p, inplace):
    """Dropped values set to SELU's saturation value, then an affine map restoring mean 0 and variance 1."""
    x = _array(input)
    if p == 1.0:
        return _apply(input, np.zeros((), x.dtype), inplace)
    q = 1.0 - p
    a = 1.0 / math.sqrt(q + _SELU_NEG ** 2 * q * p)
    b = -a * _SELU_NEG * p
    factor = keep * np.asarray(a, dtype=x.dtype)
    shift = ((~keep) * (a * _SELU_NEG) + b).astype(x.dtype)
    out = _apply(input, factor, inplace)
    return out.add_(shift) if inplace else out + shift


@functional
def alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Alpha dropout for SELU networks: keeps the mean and variance of its input (training only)."""
    _check_p(p, "alpha_dropout")
    if not training or p == 0.0:
        return input
    return _alpha(input, _keep(_array(input).shape, p), p, inplace)


@functional
def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Alpha dropout of whole channels (dimension 1 of ``(N, C, *)``)."""
    _check_p(p, "feature_alpha_dropout")
    if not training or p == 0.0:
        return input
    x = _array(input)
    shape = x.shape[:2] + (1,) * (x.ndim - 2) if x.ndim >= 2 else x.shape
    return _alpha(input, _keep(shape, p), p, inplace)
