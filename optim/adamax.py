"""Adamax (Kingma & Ba 2015, section 7.1): Adam with the infinity norm in place of the second moment."""

from __future__ import annotations

import numpy as np

from .optimizer import Optimizer

__all__ = ["Adamax"]


class Adamax(Optimizer):
    """Adamax, with PyTorch's update rule.

    For each parameter ``p`` with gradient ``g``, at step ``t`` (from 1)::

        g = g + weight_decay * p
        m = beta1 * m + (1 - beta1) * g
        u = max(beta2 * u, |g| + eps)
        p = p - lr / (1 - beta1^t) * m / u

    (``eps`` inside the maximum keeps ``u`` away from 0, as PyTorch does.)
    State: ``step``, ``exp_avg`` (m), ``exp_inf`` (u).
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, maximize=False):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      maximize=maximize))

    def _update(self, group):
        lr, (b1, b2), eps = group["lr"], group["betas"], group["eps"]
        for p, g, s in self._params_with_grad(group):
            x = p.data
            if not s:
                s["step"] = 0
                s["exp_avg"] = np.zeros_like(x)
                s["exp_inf"] = np.zeros_like(x)
            t = s["step"] = s["step"] + 1
            m, u = s["exp_avg"], s["exp_inf"]
            m += (1 - b1) * (g - m)
            u *= b2
            np.maximum(u, np.abs(g) + eps, out=u)
            x -= (lr / (1 - b1 ** t)) * (m / u)
