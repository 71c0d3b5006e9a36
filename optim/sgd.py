"""Stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay."""

from __future__ import annotations

import numpy as np

import autograd_core as ag

from .optimizer import Optimizer

__all__ = ["SGD"]


class SGD(Optimizer):
    """SGD, with PyTorch's update rule.

    For each parameter ``p`` with gradient ``g``, at step ``t``::

        g = g + weight_decay * p
        if momentum:
            b = g                                     (t = 1)
            b = momentum * b + (1 - dampening) * g    (t > 1)
            g = g + momentum * b if nesterov else b
        p = p - lr * g

    (``maximize=True`` starts from ``-g``.) The momentum buffer is
    ``state[p]["momentum_buffer"]``. ``foreach``: update the whole group in one
    multi-tensor kernel (``None``: when Numba's kernels are loaded or the group
    is large; ``False``: one numpy loop per parameter; same results either way).
    """

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False,
                 maximize=False, foreach=None):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov, maximize=maximize, foreach=foreach))

    def _validate(self, group):
        super()._validate(group)
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(
                f"SGD: Nesterov momentum requires momentum > 0 and dampening = 0, got momentum="
                f"{group['momentum']}, dampening={group['dampening']}")

    def _update(self, group):
        items = self._params_with_grad(group)
        if ag.foreach_usable([p.data for p, _, _ in items], [g for _, g, _ in items], group.get("foreach")):
            self._foreach_update(group, items)
            return
        lr, mu, damp, nesterov = group["lr"], group["momentum"], group["dampening"], group["nesterov"]
        for p, g, s in items:
            if mu:
                buf = s.get("momentum_buffer")
                if buf is None:
                    buf = s["momentum_buffer"] = np.array(g, copy=True)
                else:
                    buf *= mu
                    buf += g if damp == 0 else (1 - damp) * g
                g = g + mu * buf if nesterov else buf
            p.data -= lr * g

    def _foreach_update(self, group, items):
        """The whole group in one multi-tensor kernel (the same results as the loop above)."""
        mu = group["momentum"]
        grads = [g for _, g, _ in items]
        fresh = [False] * len(items)
        if mu:
            for k, (_, g, s) in enumerate(items):
                buf = s.get("momentum_buffer")
                if buf is None:
                    s["momentum_buffer"] = np.array(g, copy=True, order="C")
                    fresh[k] = True
                elif not buf.flags.c_contiguous or buf.dtype != g.dtype:
                    s["momentum_buffer"] = np.ascontiguousarray(buf, dtype=g.dtype)
        buffers = [s["momentum_buffer"] for _, _, s in items] if mu else []
        ag.foreach_sgd_([p.data for p, _, _ in items], grads, buffers, fresh, group["lr"], mu,
                        group["dampening"], group["nesterov"], cache=self._foreach_cache(group))
