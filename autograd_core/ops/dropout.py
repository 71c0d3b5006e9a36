"""Dropout (Srivastava et al. 2014): zero random elements in training mode."""

from __future__ import annotations

import numpy as np

from ..random import get_rng
from ..tensor import Tensor
from ._declare import functional
from .elementwise import Mul

__all__ = ["dropout"]


@functional
def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)`` (training only).

    The mask comes from ``autograd_core.random.get_rng()``; in eval mode
    (``training=False``) the input passes through unchanged.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability p must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return input
    x = input.data if isinstance(input, Tensor) else np.asarray(input)
    if p == 1.0:
        mask = np.zeros(x.shape, dtype=x.dtype)
    else:
        keep = get_rng().random(x.shape, dtype=np.float32) >= p
        mask = keep * np.asarray(1.0 / (1.0 - p), dtype=x.dtype)
    if inplace:
        return input.mul_(mask)
    return Mul.apply(input, mask)
