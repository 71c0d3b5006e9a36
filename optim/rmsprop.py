"""RMSprop (Hinton's lecture 6e), with momentum and the centered variant."""

from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, _check

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop, with PyTorch's update rule.

    ::

        g = g + weight_decay * p
        v = alpha * v + (1 - alpha) * g^2
        centered: a = alpha * a + (1 - alpha) * g;  d = sqrt(v - a^2) + eps
        else:     d = sqrt(v) + eps
        momentum > 0: b = momentum * b + g / d;  p = p - lr * b
        else:         p = p - lr * g / d

    State: ``step``, ``square_avg`` (v), ``grad_avg`` (a), ``momentum_buffer`` (b).
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False,
                 maximize=False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                                      centered=centered, maximize=maximize))

    def _validate(self, group):
        super()._validate(group)
        _check("RMSprop", "alpha", group["alpha"], 0.0 <= group["alpha"] <= 1.0, "a number in [0, 1]")

    def _update(self, group):
        lr, alpha, eps, mu = group["lr"], group["alpha"], group["eps"], group["momentum"]
        for p, g, s in self._params_with_grad(group):
            x = p.data
            if not s:
                s["step"] = 0
                s["square_avg"] = np.zeros_like(x)
            if mu > 0 and "momentum_buffer" not in s:
                s["momentum_buffer"] = np.zeros_like(x)
            if group["centered"] and "grad_avg" not in s:
                s["grad_avg"] = np.zeros_like(x)
            s["step"] += 1
            v = s["square_avg"]
            v *= alpha
            v += (1 - alpha) * (g * g)
            if group["centered"]:
                a = s["grad_avg"]
                a += (1 - alpha) * (g - a)
                d = np.sqrt(v - a * a)
            else:
                d = np.sqrt(v)
            d += eps
            if mu > 0:
                b = s["momentum_buffer"]
                b *= mu
                b += g / d
                x -= lr * b
            else:
                x -= lr * (g / d)
