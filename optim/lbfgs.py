"""L-BFGS (Nocedal 1980; Liu & Nocedal 1989) with an optional strong-Wolfe line search.

A quasi-Newton method for full-batch problems: each ``step(closure)`` runs up
to ``max_iter`` iterations, each evaluating the loss and gradient through the
closure (more of them with the line search). PyTorch's algorithm, from minFunc:
the two-loop recursion over the last ``history_size`` pairs, the first step
scaled by ``min(1, 1/|g|_1)``, and the same stopping tests, so trajectories
agree with PyTorch's to rounding.
"""

from __future__ import annotations

import math

import numpy as np

from autograd_core import enable_grad, increment_version

from .optimizer import Optimizer, _check

__all__ = ["LBFGS"]


def _cubic_min(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimiser of the cubic through (x1, f1) and (x2, f2) with slopes g1, g2, clipped to ``bounds``.

    Nocedal & Wright (3.59). Without a real minimiser (the cubic has no turning point), the middle
    of the bounds.
    """
    lo, hi = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    disc = d1 * d1 - g1 * g2
    if disc < 0:
        return (lo + hi) / 2.0
    d2 = math.sqrt(disc)
    if x1 <= x2:
        x = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        x = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(x, lo), hi)


class _Point:
    """A trial step ``t`` along the direction, with the loss, gradient and slope ``g . d`` there."""

    __slots__ = ("t", "f", "g", "gtd")

    def __init__(self, t, f, g, gtd):
        self.t, self.f, self.g, self.gtd = t, f, g, gtd


def _strong_wolfe(phi, d, start, t, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """A step ``t`` along ``d`` meeting the strong Wolfe conditions (Nocedal & Wright, algorithms 3.5 and 3.6).

    ``phi(t)`` evaluates the loss and flat gradient at ``x + t d``; ``start`` is the point at t = 0.
    Sufficient decrease: ``f(t) <= f(0) + c1 t f'(0)``; curvature: ``|f'(t)| <= c2 |f'(0)|``.
    Returns ``(point, evaluations)``.
    """
    d_norm = float(np.abs(d).max())

    def trial(t):
        f, g = phi(t)
        return _Point(t, f, g, float(np.dot(g, d)))

    prev, new = _Point(0.0, start.f, start.g, start.gtd), trial(t)
    evals, n = 1, 0
    bracket = None
    # bracketing phase: grow the step until a bracket around an acceptable step is found
    while n < max_ls:
        if new.f > start.f + c1 * new.t * start.gtd or (n > 1 and new.f >= prev.f):
            bracket = [prev, new]
            break
        if abs(new.gtd) <= -c2 * start.gtd:
            return new, evals
        if new.gtd >= 0:
            bracket = [prev, new]
            break
        lo, hi = new.t + 0.01 * (new.t - prev.t), new.t * 10
        t = _cubic_min(prev.t, prev.f, prev.gtd, new.t, new.f, new.gtd, bounds=(lo, hi))
        prev, new = new, trial(t)
        evals += 1
        n += 1
    if bracket is None:  # out of evaluations while still growing
        bracket = [start, new]

    # zoom phase: shrink the bracket by cubic interpolation, kept away from its ends
    low, high = (0, 1) if bracket[0].f <= bracket[-1].f else (1, 0)
    stalled = False
    while n < max_ls:
        a, b = bracket[0].t, bracket[1].t
        if abs(b - a) * d_norm < tolerance_change:
            break
        t = _cubic_min(a, bracket[0].f, bracket[0].gtd, b, bracket[1].f, bracket[1].gtd)
        left, right = min(a, b), max(a, b)
        margin = 0.1 * (right - left)
        if min(right - t, t - left) < margin:
            # too close to an end: accept once, then force the step a margin inside
            if stalled or t >= right or t <= left:
                t = right - margin if abs(t - right) < abs(t - left) else left + margin
                stalled = False
            else:
                stalled = True
        else:
            stalled = False
        new = trial(t)
        evals += 1
        n += 1
        if new.f > start.f + c1 * new.t * start.gtd or new.f >= bracket[low].f:
            bracket[high] = new
            low, high = (0, 1) if bracket[0].f <= bracket[1].f else (1, 0)
        else:
            if abs(new.gtd) <= -c2 * start.gtd:
                bracket[low] = new
                break
            if new.gtd * (bracket[high].t - bracket[low].t) >= 0:
                bracket[high] = bracket[low]
            bracket[low] = new
    return bracket[low], evals


class LBFGS(Optimizer):
    """L-BFGS, with PyTorch's algorithm and arguments.

    ``step(closure)`` needs a closure that clears the gradients, computes the
    loss, calls ``backward()`` and returns the loss; it is called several times
    per step. Each iteration ``k``:

    1. direction ``d = -H g`` by the two-loop recursion over the stored pairs
       ``s_i = x_{i+1} - x_i``, ``y_i = g_{i+1} - g_i`` (a pair is kept only when
       ``y . s > 1e-10``), with ``H_0 = (y . s) / (y . y)`` of the newest pair;
       ``d = -g`` at the very first iteration;
    2. step ``t``: ``lr`` (``min(1, 1/|g|_1) * lr`` at the first iteration), or
       the strong-Wolfe line search started there (``line_search_fn="strong_wolfe"``);
    3. ``x = x + t d``.

    It stops after ``max_iter`` iterations or ``max_eval`` evaluations, when
    ``max |g| <= tolerance_grad``, or when the step or the loss changes by less
    than ``tolerance_change``. One parameter group only (as in PyTorch); its
    state (the history) lives in ``state[first parameter]``.
    """

    _state_matches_parameters = False  # the history holds flat vectors of all parameters

    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7, tolerance_change=1e-9,
                 history_size=100, line_search_fn=None):
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        super().__init__(params, dict(lr=lr, max_iter=max_iter, max_eval=max_eval, tolerance_grad=tolerance_grad,
                                      tolerance_change=tolerance_change, history_size=history_size,
                                      line_search_fn=line_search_fn))
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS: parameter groups are not supported (one set of options for all parameters); "
                             "pass a list of tensors")
        self._params = self.param_groups[0]["params"]

    def _validate(self, group):
        super()._validate(group)
        for key in ("max_iter", "max_eval", "history_size"):
            v = group[key]
            _check("LBFGS", key, v, isinstance(v, (int, np.integer)) and v >= 1, "a positive int")
        for key in ("tolerance_grad", "tolerance_change"):
            v = group[key]
            _check("LBFGS", key, v, isinstance(v, (int, float)) and v >= 0, "a number >= 0")
        ls = group["line_search_fn"]
        _check("LBFGS", "line_search_fn", ls, ls in (None, "strong_wolfe"), "None or 'strong_wolfe'")

    def add_param_group(self, param_group):
        if self.param_groups:
            raise ValueError("LBFGS: parameter groups are not supported (one set of options for all parameters)")
        super().add_param_group(param_group)

    # ------------------------------------------------------------------ flat views of the parameters
    def _dtype(self):
        return np.result_type(*[p.data.dtype for p in self._params])

    def _flat_grad(self):
        dt = self._dtype()
        return np.concatenate([np.zeros(p.data.size, dt) if p.grad is None else p.grad.data.reshape(-1).astype(dt)
                               for p in self._params])

    def _move(self, t, d):
        """``x = x + t d`` on every parameter, in place."""
        offset = 0
        for p in self._params:
            n = p.data.size
            p.data += (t * d[offset:offset + n]).reshape(p.data.shape).astype(p.data.dtype, copy=False)
            offset += n
        increment_version(*self._params)

    def _evaluate(self, closure):
        with enable_grad():
            loss = closure()
        return float(loss), self._flat_grad()

    # ------------------------------------------------------------------ the step
    def step(self, closure=None):
        """Run up to ``max_iter`` iterations; returns the loss the closure gave at the start."""
        if closure is None:
            raise TypeError("LBFGS.step needs a closure: a function that zeroes the gradients, computes the loss, "
                            "calls loss.backward() and returns the loss (it is called several times per step)")
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        history = group["history_size"]
        state = self.state.setdefault(self._params[0], {})
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        with enable_grad():
            first_loss = closure()
        loss = float(first_loss)
        flat_grad = self._flat_grad()
        evals = 1
        state["func_evals"] += 1
        if np.abs(flat_grad).max() <= tol_grad:  # already optimal
            return first_loss

        d, t = state.get("d"), state.get("t")
        old_dirs, old_stps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
        H_diag, prev_flat_grad = state.get("H_diag"), state.get("prev_flat_grad")
        prev_loss = state.get("prev_loss")

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro = [], [], []
                H_diag = 1.0
            else:
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = np.dot(y, s)
                if ys > 1e-10:  # keep the pair only if the curvature condition holds
                    if len(old_dirs) == history:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    H_diag = ys / np.dot(y, y)
                d = self._two_loop(flat_grad, old_dirs, old_stps, ro, H_diag)
            prev_flat_grad = flat_grad.copy()
            prev_loss = loss
            t = min(1.0, 1.0 / float(np.abs(flat_grad).sum())) * lr if state["n_iter"] == 1 else lr
            gtd = float(np.dot(flat_grad, d))
            if gtd > -tol_change:  # not a descent direction (any more)
                break

            used = 0
            if group["line_search_fn"] == "strong_wolfe":
                x0 = [p.data.copy() for p in self._params]

                def phi(step):
                    self._move(step, d)
                    f, g = self._evaluate(closure)
                    for p, a in zip(self._params, x0):
                        p.data[...] = a
                    increment_version(*self._params)
                    return f, g

                found, used = _strong_wolfe(phi, d, _Point(0.0, loss, flat_grad, gtd), t, tolerance_change=tol_change,
                                            max_ls=max_eval - evals)
                loss, flat_grad, t = found.f, found.g, found.t
                self._move(t, d)
                optimal = np.abs(flat_grad).max() <= tol_grad
            else:
                self._move(t, d)
                optimal = False
                if n_iter != max_iter:  # the last iteration's loss is the next step's first evaluation
                    loss, flat_grad = self._evaluate(closure)
                    optimal = np.abs(flat_grad).max() <= tol_grad
                    used = 1
            evals += used
            state["func_evals"] += used

            if n_iter == max_iter or evals >= max_eval or optimal:
                break
            if np.abs(d * t).max() <= tol_change or abs(loss - prev_loss) < tol_change:
                break

        state.update(d=d, t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro, H_diag=H_diag,
                     prev_flat_grad=prev_flat_grad, prev_loss=prev_loss)
        return first_loss

    @staticmethod
    def _two_loop(g, dirs, stps, ro, H_diag):
        """``-H g`` for the L-BFGS inverse-Hessian approximation (Nocedal & Wright, algorithm 7.4)."""
        q = -g
        alphas = [None] * len(dirs)
        for i in range(len(dirs) - 1, -1, -1):
            alphas[i] = np.dot(stps[i], q) * ro[i]
            q -= alphas[i] * dirs[i]
        r = q * H_diag
        for i in range(len(dirs)):
            beta = np.dot(dirs[i], r) * ro[i]
            r += (alphas[i] - beta) * stps[i]
        return r

    def _update(self, group):  # pragma: no cover - step() is overridden
        raise NotImplementedError
