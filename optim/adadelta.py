"""Adadelta (Zeiler 2012)."""

from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, _check

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    """Adadelta, with PyTorch's update rule.

    ::

        g = g + weight_decay * p
        v = rho * v + (1 - rho) * g^2
        d = sqrt(u + eps) / sqrt(v + eps) * g
        u = rho * u + (1 - rho) * d^2
        p = p - lr * d

    State: ``step``, ``square_avg`` (v), ``acc_delta`` (u).
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False):
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize))

    def _validate(self, group):
        super()._validate(group)
        _check("Adadelta", "rho", group["rho"], 0.0 <= group["rho"] <= 1.0, "a number in [0, 1]")

    def _update(self, group):
        lr, rho, eps = group["lr"], group["rho"], group["eps"]
        for p, g, s in self._params_with_grad(group):
            x = p.data
            if not s:
                s["step"] = 0
                s["square_avg"] = np.zeros_like(x)
                s["acc_delta"] = np.zeros_like(x)
            s["step"] += 1
            v, u = s["square_avg"], s["acc_delta"]
            v *= rho
            v += (1 - rho) * (g * g)
            delta = np.sqrt(u + eps)
            delta /= np.sqrt(v + eps)
            delta *= g
            u *= rho
            u += (1 - rho) * (delta * delta)
            x -= lr * delta
