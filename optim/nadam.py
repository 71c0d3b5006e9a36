"""NAdam (Dozat 2016): Adam with Nesterov momentum, and its momentum-decay schedule."""

from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, _check

__all__ = ["NAdam"]


class NAdam(Optimizer):
    """NAdam, with PyTorch's update rule.

    For each parameter ``p`` with gradient ``g``, at step ``t`` (from 1), with
    ``psi = momentum_decay``::

        g = g + weight_decay * p                       (or p = p * (1 - lr * weight_decay) if decoupled)
        mu_t     = beta1 * (1 - 0.96^(t * psi) / 2)
        mu_{t+1} = beta1 * (1 - 0.96^((t + 1) * psi) / 2)
        M_t = mu_1 * ... * mu_t
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g^2
        d = sqrt(v / (1 - beta2^t)) + eps
        p = p - lr * (1 - mu_t) / (1 - M_t) * g / d - lr * mu_{t+1} / (1 - M_t * mu_{t+1}) * m / d

    State: ``step``, ``mu_product`` (M_t, a float), ``exp_avg`` (m), ``exp_avg_sq`` (v).
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, momentum_decay=4e-3,
                 decoupled_weight_decay=False, maximize=False):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      momentum_decay=momentum_decay, decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize))

    def _validate(self, group):
        super()._validate(group)
        md = group["momentum_decay"]
        _check("NAdam", "momentum_decay", md, isinstance(md, (int, float)) and md >= 0, "a number >= 0")

    def _update(self, group):
        lr, (b1, b2), eps = group["lr"], group["betas"], group["eps"]
        wd, psi, decoupled = group["weight_decay"], group["momentum_decay"], group["decoupled_weight_decay"]
        for p, g, s in self._params_with_grad(group, l2=not decoupled):
            x = p.data
            if not s:
                s["step"] = 0
                s["mu_product"] = 1.0
                s["exp_avg"] = np.zeros_like(x)
                s["exp_avg_sq"] = np.zeros_like(x)
            if wd and decoupled:
                x *= 1 - lr * wd
            t = s["step"] = s["step"] + 1
            mu = b1 * (1.0 - 0.5 * 0.96 ** (t * psi))
            mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
            prod = s["mu_product"] = s["mu_product"] * mu
            m, v = s["exp_avg"], s["exp_avg_sq"]
            m += (1 - b1) * (g - m)
            v *= b2
            v += (1 - b2) * (g * g)
            d = np.sqrt(v / (1 - b2 ** t))
            d += eps
            x -= (lr * (1.0 - mu) / (1.0 - prod)) * (g / d)
            x -= (lr * mu_next / (1.0 - prod * mu_next)) * (m / d)
