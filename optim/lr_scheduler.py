"""Learning-rate schedules with ``torch.optim.lr_scheduler``'s names and semantics.

Call ``scheduler.step()`` after the optimizer's ``step()``: once per epoch for
the epoch-based ones, once per batch for ``OneCycleLR`` and ``CyclicLR``
(``ReduceLROnPlateau.step(metric)`` takes the validation metric).

They chain as PyTorch's do. Each ``step()`` changes the rate the optimizer has
*now* (``StepLR`` multiplies ``group["lr"]`` by ``gamma`` every ``step_size``
epochs, ``LinearLR`` by the ratio of consecutive factors, ...), so two
schedulers stepping one optimizer compose: ``ConstantLR`` warm-up and
``ExponentialLR`` decay give the product of their factors. ``step(epoch)``
with an explicit epoch jumps to the scheduler's closed form instead (from the
rates the groups started with, ``base_lrs``), as in PyTorch. ``LambdaLR``,
``CosineAnnealingWarmRestarts``, ``CyclicLR`` and ``OneCycleLR`` set the rate
from their own formula and so override, rather than compose with, the others.
``SequentialLR`` hands over from one scheduler to the next at milestones;
``ChainedScheduler`` steps several at once.
"""

from __future__ import annotations

import math
from bisect import bisect_right

from .optimizer import Optimizer

__all__ = ["LRScheduler", "LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR", "LinearLR",
           "ExponentialLR", "PolynomialLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts", "CyclicLR",
           "OneCycleLR", "SequentialLR", "ChainedScheduler", "ReduceLROnPlateau"]


def _rates(optimizer):
    return [g["lr"] for g in optimizer.param_groups]


def _per_group(cls, name, optimizer, value):
    """One value per parameter group: a list of that length, or one value for all."""
    n = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"{cls}: expected {n} values of {name} (one per parameter group), got {len(value)}")
        return list(value)
    return [value] * n


def _positive_int(cls, name, v):
    if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
        raise ValueError(f"{cls}: {name} must be a positive int, got {v!r}")


def _in_range(cls, name, v, lo, hi, lo_open=False):
    ok = isinstance(v, (int, float)) and (lo < v if lo_open else lo <= v) and v <= hi
    if not ok:
        raise ValueError(f"{cls}: {name} must be in {'(' if lo_open else '['}{lo}, {hi}], got {v!r}")


class LRScheduler:
    """Base class. A subclass defines ``get_lr()``: the groups' next rates, from their current ones
    (``group["lr"]``, so schedulers compose) or from ``base_lrs``; optionally ``_closed_form()``,
    the rates at ``last_epoch`` from ``base_lrs`` alone, used by ``step(epoch)``.

    ``last_epoch`` counts the ``step()`` calls (``-1`` before the first, which the constructor
    makes); give it with a loaded optimizer state to resume a schedule. ``_initial`` is True during
    that first step.
    """

    _initial = False

    def __init__(self, optimizer, last_epoch=-1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: expected an Optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        if last_epoch == -1:
            for g in optimizer.param_groups:
                g.setdefault("initial_lr", g["lr"])
        else:
            for i, g in enumerate(optimizer.param_groups):
                if "initial_lr" not in g:
                    raise KeyError(
                        f"{type(self).__name__}: last_epoch={last_epoch} resumes a schedule, but parameter group "
                        f"{i} has no 'initial_lr'; load the optimizer's state dict first, or use last_epoch=-1")
        self.base_lrs = [g["initial_lr"] for g in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self):
        self._step_count = 0
        self._initial = True
        try:
            self.step()
        finally:
            self._initial = False

    def get_lr(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def step(self, epoch=None):
        """Advance one step, or jump to ``epoch`` (the closed form, where the scheduler has one)."""
        self._step_count += 1
        self._set(epoch)

    def _set(self, epoch=None):
        if epoch is None:
            self.last_epoch += 1
            rates = self.get_lr()
        else:
            self.last_epoch = epoch
            rates = self._closed_form() if hasattr(self, "_closed_form") else self.get_lr()
        for g, lr in zip(self.optimizer.param_groups, rates):
            g["lr"] = lr
        self._last_lr = _rates(self.optimizer)

    def get_last_lr(self):
        """The learning rates after the last ``step()``, one per group."""
        return list(self._last_lr)

    _unsaved = ("optimizer",)

    def state_dict(self):
        """Everything but the optimizer (and functions, which a checkpoint cannot hold)."""
        return {k: v for k, v in self.__dict__.items() if k not in self._unsaved}

    def load_state_dict(self, state_dict):
        self.__dict__.update(state_dict)


class LambdaLR(LRScheduler):
    """``lr = base_lr * lr_lambda(epoch)``; ``lr_lambda`` is a function or a list of them, one per group."""

    _unsaved = ("optimizer", "lr_lambdas")

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        self.lr_lambdas = _callables(type(self).__name__, "lr_lambda", optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [base * f(self.last_epoch) for f, base in zip(self.lr_lambdas, self.base_lrs)]


def _callables(cls, name, optimizer, fn):
    n = len(optimizer.param_groups)
    if isinstance(fn, (list, tuple)):
        if len(fn) != n:
            raise ValueError(f"{cls}: expected {n} {name}s (one per parameter group), got {len(fn)}")
        fns = list(fn)
    else:
        fns = [fn] * n
    for f in fns:
        if not callable(f):
            raise TypeError(f"{cls}: {name} must be callable, got {type(f).__name__}")
    return fns


class MultiplicativeLR(LRScheduler):
    """``lr = lr * lr_lambda(epoch)`` at every step after the first (chains with other schedulers)."""

    _unsaved = ("optimizer", "lr_lambdas")

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        self.lr_lambdas = _callables(type(self).__name__, "lr_lambda", optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._initial:
            return _rates(self.optimizer)
        return [g["lr"] * f(self.last_epoch) for f, g in zip(self.lr_lambdas, self.optimizer.param_groups)]


class StepLR(LRScheduler):
    """Multiply the rate by ``gamma`` every ``step_size`` epochs: ``base_lr * gamma ** (epoch // step_size)``."""

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        _positive_int("StepLR", "step_size", step_size)
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.step_size:
            return _rates(self.optimizer)
        return [g["lr"] * self.gamma for g in self.optimizer.param_groups]

    def _closed_form(self):
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Multiply the rate by ``gamma`` at each milestone: ``base_lr * gamma ** (milestones <= epoch)``.

    A milestone listed twice multiplies by ``gamma ** 2`` there.
    """

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        self.milestones = sorted(int(m) for m in milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        hits = self.milestones.count(self.last_epoch)
        if not hits:
            return _rates(self.optimizer)
        return [g["lr"] * self.gamma ** hits for g in self.optimizer.param_groups]

    def _closed_form(self):
        return [base * self.gamma ** bisect_right(self.milestones, self.last_epoch) for base in self.base_lrs]


class ConstantLR(LRScheduler):
    """``base_lr * factor`` for the first ``total_iters`` epochs, then ``base_lr`` (a constant warm-up)."""

    def __init__(self, optimizer, factor=1.0 / 3, total_iters=5, last_epoch=-1):
        _in_range("ConstantLR", "factor", factor, 0, 1)
        self.factor, self.total_iters = factor, total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0:
            return [g["lr"] * self.factor for g in self.optimizer.param_groups]
        if self.last_epoch != self.total_iters:
            return _rates(self.optimizer)
        return [g["lr"] * (1.0 / self.factor) for g in self.optimizer.param_groups]

    def _closed_form(self):
        return [base * (self.factor + (self.last_epoch >= self.total_iters) * (1 - self.factor))
                for base in self.base_lrs]


class LinearLR(LRScheduler):
    """The factor goes linearly from ``start_factor`` to ``end_factor`` over ``total_iters`` epochs (warm-up)."""

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5, last_epoch=-1):
        _in_range("LinearLR", "start_factor", start_factor, 0, 1, lo_open=True)
        _in_range("LinearLR", "end_factor", end_factor, 0, 1)
        self.start_factor, self.end_factor, self.total_iters = start_factor, end_factor, total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0:
            return [g["lr"] * self.start_factor for g in self.optimizer.param_groups]
        if self._initial or self.last_epoch > self.total_iters:
            return _rates(self.optimizer)
        span = self.end_factor - self.start_factor
        # ratio of the factor at this epoch to the factor at the previous one
        ratio = 1.0 + span / (self.total_iters * self.start_factor + (self.last_epoch - 1) * span)
        return [g["lr"] * ratio for g in self.optimizer.param_groups]

    def _closed_form(self):
        frac = min(self.total_iters, self.last_epoch) / self.total_iters
        return [base * (self.start_factor + (self.end_factor - self.start_factor) * frac) for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Multiply the rate by ``gamma`` every epoch: ``base_lr * gamma ** epoch``."""

    def __init__(self, optimizer, gamma, last_epoch=-1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._initial:
            return _rates(self.optimizer)
        return [g["lr"] * self.gamma for g in self.optimizer.param_groups]

    def _closed_form(self):
        return [base * self.gamma ** self.last_epoch for base in self.base_lrs]


class PolynomialLR(LRScheduler):
    """``base_lr * (1 - min(epoch, total_iters) / total_iters) ** power``: to zero in ``total_iters`` epochs."""

    def __init__(self, optimizer, total_iters=5, power=1.0, last_epoch=-1):
        self.total_iters, self.power = total_iters, power
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._initial or self.last_epoch > self.total_iters:
            return _rates(self.optimizer)
        t, n = self.last_epoch, self.total_iters
        factor = ((1.0 - t / n) / (1.0 - (t - 1) / n)) ** self.power
        return [g["lr"] * factor for g in self.optimizer.param_groups]

    def _closed_form(self):
        frac = min(self.total_iters, self.last_epoch) / self.total_iters
        return [base * (1.0 - frac) ** self.power for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """``eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2`` (Loshchilov & Hutter 2017, no restarts).

    Stepped one epoch at a time it applies the ratio of consecutive values to the current rate, so
    it composes with other schedulers; past ``T_max`` the cosine climbs back up.
    """

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        _positive_int("CosineAnnealingLR", "T_max", T_max)
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        t, T, lo = self.last_epoch, self.T_max, self.eta_min
        if self._initial:
            return _rates(self.optimizer)
        if self._step_count == 1 and t > 0:  # resumed: start from the closed form
            return [lo + (base - lo) * (1 + math.cos(t * math.pi / T)) / 2 for base in self.base_lrs]
        if (t - 1 - T) % (2 * T) == 0:  # leaving the minimum, where the ratio below is 0 / 0
            return [g["lr"] + (base - lo) * (1 - math.cos(math.pi / T)) / 2
                    for base, g in zip(self.base_lrs, self.optimizer.param_groups)]
        ratio = (1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
        return [ratio * (g["lr"] - lo) + lo for g in self.optimizer.param_groups]

    def _closed_form(self):
        return [self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base in self.base_lrs]


class CosineAnnealingWarmRestarts(LRScheduler):
    """SGDR (Loshchilov & Hutter 2017): cosine from ``base_lr`` down to ``eta_min`` over ``T_i`` epochs, then restart.

    The first period is ``T_0`` epochs, each next one ``T_mult`` times longer.
    ``step(epoch)`` takes fractional epochs (``epoch + i / iters_per_epoch``) for
    per-batch schedules. Sets the rate from its formula (does not compose).
    """

    def __init__(self, optimizer, T_0, T_mult=1, eta_min=0.0, last_epoch=-1):
        _positive_int("CosineAnnealingWarmRestarts", "T_0", T_0)
        if isinstance(T_mult, bool) or not isinstance(T_mult, int) or T_mult < 1:
            raise ValueError(f"CosineAnnealingWarmRestarts: T_mult must be an int >= 1, got {T_mult!r}")
        self.T_0, self.T_i, self.T_mult, self.eta_min = T_0, T_0, T_mult, eta_min
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
                for base in self.base_lrs]

    def step(self, epoch=None):
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur += 1
            if self.T_cur >= self.T_i:
                self.T_cur -= self.T_i
                self.T_i *= self.T_mult
        else:
            if epoch < 0:
                raise ValueError(f"CosineAnnealingWarmRestarts: epoch must be >= 0, got {epoch}")
            if epoch >= self.T_0:
                if self.T_mult == 1:
                    self.T_cur = epoch % self.T_0
                else:  # which period: T_0 (T_mult^n - 1) / (T_mult - 1) <= epoch
                    n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
                    self.T_cur = epoch - self.T_0 * (self.T_mult ** n - 1) / (self.T_mult - 1)
                    self.T_i = self.T_0 * self.T_mult ** n
            else:
                self.T_i, self.T_cur = self.T_0, epoch
        self._step_count += 1
        self.last_epoch = math.floor(epoch)
        for g, lr in zip(self.optimizer.param_groups, self.get_lr()):
            g["lr"] = lr
        self._last_lr = _rates(self.optimizer)


def _momentum_setup(cls, optimizer, base_momentum, max_momentum, last_epoch):
    """Cycle momentum inversely to the rate (``momentum``, or Adam's ``beta1``): check and initialise."""
    if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
        raise ValueError(f"{cls}: cycle_momentum=True needs an optimizer with momentum or betas (Adam's beta1), "
                         f"and {type(optimizer).__name__} has neither; pass cycle_momentum=False")
    use_beta1 = "betas" in optimizer.defaults
    bases = _per_group(cls, "base_momentum", optimizer, base_momentum)
    maxes = _per_group(cls, "max_momentum", optimizer, max_momentum)
    if last_epoch == -1:
        for hi, lo, g in zip(maxes, bases, optimizer.param_groups):
            _set_momentum(g, hi, use_beta1)
            g["max_momentum"], g["base_momentum"] = hi, lo
    return use_beta1, bases, maxes


def _set_momentum(group, value, use_beta1):
    if use_beta1:
        group["betas"] = (value, *group["betas"][1:])
    else:
        group["momentum"] = value


class CyclicLR(LRScheduler):
    """Cyclical learning rates (Smith 2017), stepped once per batch.

    The rate goes from ``base_lr`` up to ``max_lr`` in ``step_size_up`` steps and back
    in ``step_size_down`` (default: the same), the amplitude scaled per cycle by
    ``mode``: ``'triangular'`` (1), ``'triangular2'`` (halved each cycle),
    ``'exp_range'`` (``gamma ** step``), or your ``scale_fn`` of the cycle number
    (``scale_mode='cycle'``) or of the step (``'iterations'``). With ``cycle_momentum``
    the momentum (or Adam's ``beta1``) cycles inversely between ``max_momentum`` and
    ``base_momentum``. Sets the rate from its formula (does not compose).
    """

    _unsaved = ("optimizer", "scale_fn_custom")

    def __init__(self, optimizer, base_lr, max_lr, step_size_up=2000, step_size_down=None, mode="triangular",
                 gamma=1.0, scale_fn=None, scale_mode="cycle", cycle_momentum=True, base_momentum=0.8,
                 max_momentum=0.9, last_epoch=-1):
        cls = "CyclicLR"
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{cls}: expected an Optimizer, got {type(optimizer).__name__}")
        base_lrs = _per_group(cls, "base_lr", optimizer, base_lr)
        if last_epoch == -1:
            for lr, g in zip(base_lrs, optimizer.param_groups):
                g["lr"] = lr
        self.max_lrs = _per_group(cls, "max_lr", optimizer, max_lr)
        up = float(step_size_up)
        down = float(step_size_down) if step_size_down is not None else up
        if up <= 0 or down < 0:
            raise ValueError(f"{cls}: step_size_up must be > 0 and step_size_down >= 0, got {step_size_up}, "
                             f"{step_size_down}")
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        if scale_fn is None and mode not in ("triangular", "triangular2", "exp_range"):
            raise ValueError(f"{cls}: mode must be 'triangular', 'triangular2' or 'exp_range' (or give scale_fn), "
                             f"got {mode!r}")
        if scale_mode not in ("cycle", "iterations"):
            raise ValueError(f"{cls}: scale_mode must be 'cycle' or 'iterations', got {scale_mode!r}")
        self.mode, self.gamma, self.scale_fn_custom = mode, gamma, scale_fn
        self.scale_mode = scale_mode if scale_fn is not None else ("iterations" if mode == "exp_range" else "cycle")
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.use_beta1, self.base_momentums, self.max_momentums = _momentum_setup(
                cls, optimizer, base_momentum, max_momentum, last_epoch)
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def scale_fn(self, x):
        if self.scale_fn_custom is not None:
            return self.scale_fn_custom(x)
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        return self.gamma ** x

    def get_lr(self):
        t = self.last_epoch
        cycle = math.floor(1 + t / self.total_size)
        x = 1.0 + t / self.total_size - cycle          # position in the cycle, 0..1
        rise = x / self.step_ratio if x <= self.step_ratio else (x - 1) / (self.step_ratio - 1)
        scale = self.scale_fn(cycle if self.scale_mode == "cycle" else t)
        rates = [base + (hi - base) * rise * scale for base, hi in zip(self.base_lrs, self.max_lrs)]
        if self.cycle_momentum:
            for g, lo, hi in zip(self.optimizer.param_groups, self.base_momentums, self.max_momentums):
                _set_momentum(g, hi - (hi - lo) * rise * scale, self.use_beta1)
        return rates


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin 2019), stepped once per batch for ``total_steps`` steps.

    The rate rises from ``max_lr / div_factor`` to ``max_lr`` over the first
    ``pct_start`` of the steps, then anneals to ``initial_lr / final_div_factor``
    (``anneal_strategy`` ``'cos'`` or ``'linear'``); ``three_phase`` comes back down
    symmetrically before the final annealing. Momentum (or Adam's ``beta1``) moves
    inversely between ``max_momentum`` and ``base_momentum``. Give ``total_steps``, or
    ``epochs`` and ``steps_per_epoch``. Stepping past ``total_steps`` is an error.
    """

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None, pct_start=0.3,
                 anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85, max_momentum=0.95, div_factor=25.0,
                 final_div_factor=1e4, three_phase=False, last_epoch=-1):
        cls = "OneCycleLR"
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{cls}: expected an Optimizer, got {type(optimizer).__name__}")
        if total_steps is not None:
            _positive_int(cls, "total_steps", total_steps)
            self.total_steps = total_steps
        elif epochs is not None and steps_per_epoch is not None:
            _positive_int(cls, "epochs", epochs)
            _positive_int(cls, "steps_per_epoch", steps_per_epoch)
            self.total_steps = epochs * steps_per_epoch
        else:
            raise ValueError(f"{cls}: give total_steps, or epochs and steps_per_epoch")
        if not isinstance(pct_start, float) or not 0 <= pct_start <= 1:
            raise ValueError(f"{cls}: pct_start must be a float in [0, 1], got {pct_start!r}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"{cls}: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        self.anneal_strategy = anneal_strategy
        n = self.total_steps
        up = float(pct_start * n) - 1
        # (last step of the phase, rate from, rate to, momentum from, momentum to)
        if three_phase:
            self.phases = [(up, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                           (float(2 * pct_start * n) - 2, "max_lr", "initial_lr", "base_momentum", "max_momentum"),
                           (n - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum")]
        else:
            self.phases = [(up, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                           (n - 1, "max_lr", "min_lr", "base_momentum", "max_momentum")]
        max_lrs = _per_group(cls, "max_lr", optimizer, max_lr)
        if last_epoch == -1:
            for hi, g in zip(max_lrs, optimizer.param_groups):
                g["initial_lr"] = hi / div_factor
                g["max_lr"] = hi
                g["min_lr"] = g["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.use_beta1, _, _ = _momentum_setup(cls, optimizer, base_momentum, max_momentum, last_epoch)
        super().__init__(optimizer, last_epoch)

    def _anneal(self, start, end, pct):
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self):
        t = self.last_epoch
        if t > self.total_steps:
            raise ValueError(f"OneCycleLR: stepped {t} times, but total_steps is {self.total_steps}; the schedule "
                             "is over (give a larger total_steps, or epochs and steps_per_epoch that match the loop)")
        rates = []
        for g in self.optimizer.param_groups:
            begin = 0.0
            for i, (end, lr0, lr1, m0, m1) in enumerate(self.phases):
                if t <= end or i == len(self.phases) - 1:
                    pct = (t - begin) / (end - begin)
                    rates.append(self._anneal(g[lr0], g[lr1], pct))
                    if self.cycle_momentum:
                        _set_momentum(g, self._anneal(g[m0], g[m1], pct), self.use_beta1)
                    break
                begin = end
        return rates


class SequentialLR(LRScheduler):
    """Run ``schedulers`` one after the other, switching at the epochs in ``milestones``.

    At a milestone the next scheduler starts from its own epoch 0 (its closed form there),
    so a warm-up followed by a decay reads ``SequentialLR(opt, [LinearLR(...),
    CosineAnnealingLR(...)], milestones=[5])``.
    """

    _unsaved = ("optimizer", "_schedulers")

    def __init__(self, optimizer, schedulers, milestones, last_epoch=-1):
        cls = type(self).__name__
        _check_schedulers(cls, optimizer, schedulers)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"{cls}: expected {len(schedulers) - 1} milestones (one fewer than the schedulers), got "
                             f"{len(milestones)}")
        self._schedulers = list(schedulers)
        self._milestones = list(milestones)
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        for g in optimizer.param_groups:  # undo what constructing the schedulers did to the rates
            g["lr"] = g["initial_lr"]
        self._undo_last_step(self)
        current = self._schedulers[bisect_right(self._milestones, 0)]
        current._initial_step()
        self._last_lr = current.get_last_lr()

    def _undo_last_step(self, s):
        if hasattr(s, "_schedulers"):
            for inner in s._schedulers:
                self._undo_last_step(inner)
        elif hasattr(s, "last_epoch"):
            s.last_epoch -= 1

    def step(self):
        self.last_epoch += 1
        i = bisect_right(self._milestones, self.last_epoch)
        current = self._schedulers[i]
        if i > 0 and self._milestones[i - 1] == self.last_epoch:
            current._set(0)  # a new phase: its epoch 0
        else:
            current.step()
        self._last_lr = current.get_last_lr()

    def state_dict(self):
        return _nested_state(self)

    def load_state_dict(self, state_dict):
        _load_nested_state(self, state_dict)


def _nested_state(outer):
    state = LRScheduler.state_dict(outer)
    state["_schedulers"] = [s.state_dict() for s in outer._schedulers]
    return state


def _load_nested_state(outer, state_dict):
    state = dict(state_dict)
    inner = state.pop("_schedulers")
    outer.__dict__.update(state)
    for s, sd in zip(outer._schedulers, inner):
        s.load_state_dict(sd)


def _check_schedulers(cls, optimizer, schedulers):
    if len(schedulers) < 1:
        raise ValueError(f"{cls}: expected at least one scheduler, got none")
    for i, s in enumerate(schedulers):
        if isinstance(s, ReduceLROnPlateau):
            raise ValueError(f"{cls}: ReduceLROnPlateau (scheduler {i}) cannot be sequenced or chained: its step() "
                             "needs the metric; step it yourself")
        if not hasattr(s, "optimizer"):
            raise TypeError(f"{cls}: scheduler {i} ({type(s).__name__}) has no optimizer")
        if s.optimizer is not optimizer:
            raise ValueError(f"{cls}: every scheduler must act on the same optimizer; scheduler {i} "
                             f"({type(s).__name__}) has another one")


class ChainedScheduler(LRScheduler):
    """Step several schedulers of one optimizer together: their factors multiply (see the module docstring)."""

    _unsaved = ("optimizer", "_schedulers")

    def __init__(self, schedulers, optimizer=None):
        schedulers = list(schedulers)
        if not schedulers:
            raise ValueError("ChainedScheduler: expected at least one scheduler, got none")
        optimizer = optimizer or schedulers[0].optimizer
        _check_schedulers("ChainedScheduler", optimizer, schedulers)
        self._schedulers = schedulers
        self.optimizer = optimizer
        self._last_lr = _rates(optimizer)

    def step(self):
        for s in self._schedulers:
            s.step()
        self._last_lr = _rates(self.optimizer)

    def state_dict(self):
        return _nested_state(self)

    def load_state_dict(self, state_dict):
        _load_nested_state(self, state_dict)


class ReduceLROnPlateau(LRScheduler):
    """Multiply the learning rate by ``factor`` when a metric stops improving for ``patience`` epochs.

    ``step(metric)`` once per epoch. In ``mode='min'`` an epoch improves when
    ``metric < best * (1 - threshold)`` (``threshold_mode='rel'``) or
    ``metric < best - threshold`` ('abs'); 'max' mirrors this. After a
    reduction, ``cooldown`` epochs pass before bad epochs count again; the rate
    never goes below ``min_lr``, and changes smaller than ``eps`` are skipped.
    It multiplies the current rate, so it composes with other schedulers.
    """

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4, threshold_mode="rel",
                 cooldown=0, min_lr=0.0, eps=1e-8):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"ReduceLROnPlateau: expected an Optimizer, got {type(optimizer).__name__}")
        if not 0.0 <= factor < 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor must be in [0, 1), got {factor}")
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        self.optimizer = optimizer
        self.min_lrs = _per_group("ReduceLROnPlateau", "min_lr", optimizer, min_lr)
        self.mode, self.factor, self.patience = mode, factor, patience
        self.threshold, self.threshold_mode = threshold, threshold_mode
        self.cooldown, self.eps = cooldown, eps
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = 0
        self._last_lr = _rates(optimizer)

    @property
    def in_cooldown(self):
        return self.cooldown_counter > 0

    def _is_better(self, a, best):
        rel = self.threshold_mode == "rel"
        if self.mode == "min":
            return a < (best * (1 - self.threshold) if rel else best - self.threshold)
        return a > (best * (1 + self.threshold) if rel else best + self.threshold)

    def step(self, metrics, epoch=None):
        current = float(metrics)
        self.last_epoch = self.last_epoch + 1 if epoch is None else epoch
        if self._is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for g, lo in zip(self.optimizer.param_groups, self.min_lrs):
                new = max(g["lr"] * self.factor, lo)
                if g["lr"] - new > self.eps:
                    g["lr"] = new
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = _rates(self.optimizer)
