"""Adagrad (Duchi et al. 2011)."""

from __future__ import annotations

import numpy as np

from .optimizer import Optimizer

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad, with PyTorch's update rule.

    At step ``t`` (from 1)::

        g = g + weight_decay * p
        lr_t = lr / (1 + (t - 1) * lr_decay)
        sum = sum + g^2                         (sum starts at initial_accumulator_value)
        p = p - lr_t * g / (sqrt(sum) + eps)

    State: ``step``, ``sum``.
    """

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10,
                 maximize=False):
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, eps=eps,
                                      maximize=maximize))

    def _update(self, group):
        lr, decay, eps = group["lr"], group["lr_decay"], group["eps"]
        for p, g, s in self._params_with_grad(group):
            x = p.data
            if not s:
                s["step"] = 0
                s["sum"] = np.full_like(x, group["initial_accumulator_value"])
            t = s["step"] = s["step"] + 1
            acc = s["sum"]
            acc += g * g
            std = np.sqrt(acc)
            std += eps
            x -= (lr / (1 + (t - 1) * decay)) * (g / std)
