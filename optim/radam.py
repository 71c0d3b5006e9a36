"""RAdam (Liu et al. 2020): Adam whose adaptive step is switched on as the variance estimate becomes reliable."""

from __future__ import annotations

import math

import numpy as np

from .optimizer import Optimizer

__all__ = ["RAdam"]


class RAdam(Optimizer):
    """RAdam, with PyTorch's update rule.

    For each parameter ``p`` with gradient ``g``, at step ``t`` (from 1)::

        g = g + weight_decay * p                       (or p = p * (1 - lr * weight_decay) if decoupled)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g^2
        m_hat = m / (1 - beta1^t)
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t)
        if rho_t > 5:
            r = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
            p = p - lr * m_hat * r * sqrt(1 - beta2^t) / (sqrt(v) + eps)
        else:
            p = p - lr * m_hat                          (plain momentum SGD while rho_t is small)

    State: ``step``, ``exp_avg`` (m), ``exp_avg_sq`` (v).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 decoupled_weight_decay=False, maximize=False):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      decoupled_weight_decay=decoupled_weight_decay, maximize=maximize))

    def _update(self, group):
        lr, (b1, b2), eps = group["lr"], group["betas"], group["eps"]
        wd, decoupled = group["weight_decay"], group["decoupled_weight_decay"]
        rho_inf = 2 / (1 - b2) - 1
        for p, g, s in self._params_with_grad(group, l2=not decoupled):
            x = p.data
            if not s:
                s["step"] = 0
                s["exp_avg"] = np.zeros_like(x)
                s["exp_avg_sq"] = np.zeros_like(x)
            if wd and decoupled:
                x *= 1 - lr * wd
            t = s["step"] = s["step"] + 1
            m, v = s["exp_avg"], s["exp_avg_sq"]
            m += (1 - b1) * (g - m)
            v *= b2
            v += (1 - b2) * (g * g)
            bc1, bc2 = 1 - b1 ** t, 1 - b2 ** t
            rho_t = rho_inf - 2 * t * b2 ** t / bc2
            if rho_t > 5.0:
                rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
                x -= (lr * rect * math.sqrt(bc2) / bc1) * (m / (np.sqrt(v) + eps))
            else:
                x -= (lr / bc1) * m
