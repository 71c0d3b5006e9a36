"""Adam (Kingma & Ba 2015), with AMSGrad, and AdamW (Loshchilov & Hutter 2019)."""

from __future__ import annotations

import math

import numpy as np

import autograd_core as ag

from .optimizer import Optimizer

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Adam, with PyTorch's update rule.

    For each parameter ``p`` with gradient ``g``, at step ``t`` (from 1)::

        g = g + weight_decay * p                       (Adam: L2 penalty in the gradient)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g^2
        v_max = max(v_max, v); use v_max for v         (amsgrad only)
        p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    State: ``step``, ``exp_avg`` (m), ``exp_avg_sq`` (v), ``max_exp_avg_sq``.
    ``foreach``: update the whole group in one multi-tensor kernel (``None``:
    when Numba's kernels are loaded or the group is large; ``False``: one numpy
    loop per parameter; the results are the same to the last bit).
    """

    _decoupled = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
                 maximize=False, foreach=None):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize, foreach=foreach))

    def _update(self, group):
        items = self._params_with_grad(group, l2=not self._decoupled)
        if ag.foreach_usable([p.data for p, _, _ in items], [g for _, g, _ in items], group.get("foreach")):
            self._foreach_update(group, items)
            return
        lr, (b1, b2), eps = group["lr"], group["betas"], group["eps"]
        wd, amsgrad = group["weight_decay"], group["amsgrad"]
        for p, g, s in items:
            x = p.data
            if not s:
                s["step"] = 0
                s["exp_avg"] = np.zeros_like(x)
                s["exp_avg_sq"] = np.zeros_like(x)
            if amsgrad and "max_exp_avg_sq" not in s:
                s["max_exp_avg_sq"] = np.zeros_like(x)
            if wd and self._decoupled:
                x *= 1 - lr * wd
            t = s["step"] = s["step"] + 1
            m, v = s["exp_avg"], s["exp_avg_sq"]
            # one scratch array, reused: this runs for every parameter at every step
            tmp = np.subtract(g, m)
            tmp *= 1 - b1
            m += tmp                       # m + (1 - b1) (g - m) = b1 m + (1 - b1) g
            np.multiply(g, g, out=tmp)
            tmp *= 1 - b2
            v *= b2
            v += tmp
            if amsgrad:
                vmax = s["max_exp_avg_sq"]
                np.maximum(vmax, v, out=vmax)
                v = vmax
            np.sqrt(v, out=tmp)
            tmp /= math.sqrt(1 - b2 ** t)
            tmp += eps
            np.divide(m, tmp, out=tmp)
            tmp *= -lr / (1 - b1 ** t)
            x += tmp


    def _foreach_update(self, group, items):
        """The whole group in one multi-tensor kernel (the same results as the loop above)."""
        lr, (b1, b2), eps = group["lr"], group["betas"], group["eps"]
        wd, amsgrad = group["weight_decay"], group["amsgrad"]
        lr_t, c2_t = [], []
        for p, _, s in items:
            x = p.data
            if not s:
                s["step"] = 0
                s["exp_avg"] = np.zeros_like(x)
                s["exp_avg_sq"] = np.zeros_like(x)
            if amsgrad and "max_exp_avg_sq" not in s:
                s["max_exp_avg_sq"] = np.zeros_like(x)
            for k in ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if amsgrad else ()):
                if not s[k].flags.c_contiguous or s[k].dtype != x.dtype:
                    s[k] = np.ascontiguousarray(s[k], dtype=x.dtype)
            t = s["step"] = s["step"] + 1
            lr_t.append(-lr / (1 - b1 ** t))
            c2_t.append(math.sqrt(1 - b2 ** t))
        states = [s for _, _, s in items]
        ag.foreach_adam_([p.data for p, _, _ in items], [g for _, g, _ in items], [s["exp_avg"] for s in states],
                         [s["exp_avg_sq"] for s in states],
                         [s["max_exp_avg_sq"] for s in states] if amsgrad else [], lr_t, c2_t, b1, b2, eps,
                         1 - lr * wd if (wd and self._decoupled) else 1.0, amsgrad,
                         cache=self._foreach_cache(group))


class AdamW(Adam):
    """Adam with decoupled weight decay: ``p = p * (1 - lr * weight_decay)`` before the Adam step.

    The gradient itself is not changed by the decay (unlike ``Adam``'s L2 term).
    """

    _decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False,
                 maximize=False, foreach=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize, foreach)
