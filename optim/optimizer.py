"""The ``Optimizer`` base class: parameter groups, per-parameter state, state dicts.

An optimizer updates parameters in place from their ``.grad``. Its
``param_groups`` are dicts holding the parameters (``"params"``) and the
hyperparameters of the group (``"lr"``, ...), defaults filled in from the
constructor; its ``state`` maps each parameter to a dict made on first use
(step count, moment estimates as ndarrays of the parameter's shape and dtype).

Updates run on the parameters' ndarrays with numpy, outside the graph: a
step records nothing and costs a few vectorised passes per parameter.
Parameters whose ``.grad`` is None (frozen ones, or unused in the last
forward) are skipped: no update and no state.
"""

from __future__ import annotations

import math

import numpy as np

from autograd_core import Tensor
from autograd_core import enable_grad, increment_version

__all__ = ["Optimizer", "required"]


class _RequiredParameter:
    def __repr__(self):
        return "<a value is needed>"


required = _RequiredParameter()


def _check(cls, name, value, ok, expected):
    if not ok:
        raise ValueError(f"{cls}: invalid {name} {value!r}: expected {expected}")


class Optimizer:
    """Base class; subclasses implement ``_update(group)`` and may extend ``_validate``.

    Parameters
    ----------
    params : iterable of Tensors, or of dicts
        The parameters to optimise, or parameter groups: dicts with a
        ``"params"`` entry and any hyperparameters that differ from the defaults.
    defaults : dict
        The hyperparameters of a group that does not set them.
    """

    # state arrays have their parameter's shape (checked by load_state_dict); LBFGS keeps flat vectors instead
    _state_matches_parameters = True

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.state = {}
        self.param_groups = []
        if isinstance(params, set):
            raise TypeError(f"{type(self).__name__}: parameters must be an ordered collection, not a set (their "
                            "order names them in state_dict); pass a list")
        if isinstance(params, Tensor):
            raise TypeError(
                f"{type(self).__name__}: params must be an iterable of Tensors or dicts, got a single Tensor; "
                "pass [tensor] or model.parameters()")
        params = list(params)
        if not params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list (did the model register any "
                             "parameters? a generator like model.parameters() can only be used once)")
        if not isinstance(params[0], dict):
            params = [{"params": params}]
        for group in params:
            self.add_param_group(group)

    # ------------------------------------------------------------------ groups
    def add_param_group(self, param_group):
        """Add a dict with ``"params"`` and optional hyperparameters (e.g. a new layer to fine-tune)."""
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}: a parameter group must be a dict, got {type(param_group).__name__}")
        group = dict(param_group)
        params = group.get("params")
        if params is None:
            raise ValueError(f"{name}: a parameter group needs a 'params' entry")
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(f"{name}: parameters must be an ordered collection, not a set (their order "
                            "names them in state_dict); pass a list")
        params = list(params)
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: can only optimize Tensors, but parameter {i} is a {type(p).__name__}")
            if p.grad_fn is not None:
                raise ValueError(f"{name}: can't optimize a non-leaf Tensor (parameter {i}, shape "
                                 f"{tuple(p.shape)}); optimize the leaf it was computed from, or detach() it")
            if p.data.dtype.kind not in "fc":
                raise TypeError(f"{name}: parameter {i} has dtype {p.data.dtype}; only floating-point tensors "
                                "can be optimized")
        ids = [id(p) for p in params]
        if len(set(ids)) != len(ids):
            raise ValueError(f"{name}: a parameter appears twice in one parameter group")
        existing = {id(p) for g in self.param_groups for p in g["params"]}
        if existing.intersection(ids):
            raise ValueError(f"{name}: some parameters appear in more than one parameter group")
        group["params"] = params
        for k, v in self.defaults.items():
            if v is required and k not in group:
                raise ValueError(f"{name}: parameter group didn't specify a value of required optimization "
                                 f"parameter {k}")
            group.setdefault(k, v)
        self._validate(group)
        self.param_groups.append(group)

    def _validate(self, group):
        """Check a group's hyperparameters; raise ValueError naming the bad one."""
        cls = type(self).__name__
        lr = group.get("lr")
        if lr is not None:
            _check(cls, "learning rate lr", lr, isinstance(lr, (int, float)) and lr >= 0, "a number >= 0")
        for key in ("eps", "weight_decay", "momentum", "lr_decay", "initial_accumulator_value"):
            if key in group:
                v = group[key]
                _check(cls, key, v, isinstance(v, (int, float)) and v >= 0 and math.isfinite(v),
                       "a finite number >= 0")
        if "betas" in group:
            b = group["betas"]
            _check(cls, "betas", b, isinstance(b, (tuple, list)) and len(b) == 2, "a pair (beta1, beta2)")
            for i, v in enumerate(b):
                _check(cls, f"beta parameter at index {i}", v, 0.0 <= v < 1.0, "a number in [0, 1)")

    # ------------------------------------------------------------------ stepping
    def zero_grad(self, set_to_none=True):
        """Clear the gradients of all parameters: set them to None (default) or zero them in place."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    if set_to_none:
                        p.grad = None
                    else:
                        p.grad.data.fill(0)

    def step(self, closure=None):
        """Update every parameter that has a gradient.

        ``closure``, if given, re-evaluates the model and returns the loss
        (it is called with grad mode on); ``step`` returns that loss.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            self._update(group)
        return loss

    def _update(self, group):  # pragma: no cover - abstract
        raise NotImplementedError

    def _foreach_cache(self, group):
        """A dict kept across steps for a group's multi-tensor kernel (its address tables)."""
        caches = self.__dict__.setdefault("_foreach_caches", {})
        return caches.setdefault(id(group), {})

    def _params_with_grad(self, group, l2=True):
        """``(param, gradient array, state dict)`` for the parameters of ``group`` that have a gradient.

        The gradient is already negated when ``maximize`` is set, and has the
        L2 term ``weight_decay * p`` added when ``l2`` (every optimizer but AdamW,
        whose decay is decoupled from the gradient).
        """
        state = self.state
        maximize = group.get("maximize", False)
        wd = group.get("weight_decay", 0) if l2 else 0
        out = []
        for p in group["params"]:
            g = p.grad
            if g is None:
                continue
            g = g.data
            if maximize:
                g = -g
            if wd:
                g = g + wd * p.data
            s = state.get(p)
            if s is None:
                s = state[p] = {}
            increment_version(p)  # about to be modified in place
            out.append((p, g, s))
        return out

    # ------------------------------------------------------------------ state dict
    def state_dict(self):
        """``{"state": {index: {...}}, "param_groups": [{..., "params": [indices]}]}``.

        Parameters are named by their position across the groups. The state's
        arrays are the live ones (not copies): save them (``nn.save``) or copy
        them before training on.
        """
        index = {}
        groups = []
        for g in self.param_groups:
            ids = []
            for p in g["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            packed = {k: v for k, v in g.items() if k != "params"}
            packed["params"] = ids
            groups.append(packed)
        state = {index[id(p)]: dict(s) for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore state and hyperparameters saved by ``state_dict()`` (e.g. to resume training).

        Everything is checked first (group count and sizes, array shapes), so
        a failed load changes nothing. Arrays are copied and cast to their
        parameter's dtype.
        """
        name = type(self).__name__
        if not isinstance(state_dict, dict) or "state" not in state_dict or "param_groups" not in state_dict:
            raise ValueError(f"{name}.load_state_dict: expected a dict with 'state' and 'param_groups' (from "
                             "optimizer.state_dict())")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: the state dict has {len(saved_groups)} parameter group(s), "
                             f"this optimizer has {len(self.param_groups)}")
        by_index = {}
        for gi, (g, sg) in enumerate(zip(self.param_groups, saved_groups)):
            if len(sg["params"]) != len(g["params"]):
                raise ValueError(f"{name}.load_state_dict: parameter group {gi} has {len(sg['params'])} "
                                 f"parameters in the state dict but {len(g['params'])} in this optimizer")
            for i, p in zip(sg["params"], g["params"]):
                by_index[int(i)] = p
        new_state = {}
        for key, s in state_dict["state"].items():
            idx = int(key)
            if idx not in by_index:
                raise ValueError(f"{name}.load_state_dict: state for parameter {idx}, which no group holds")
            p = by_index[idx]
            entry = {}
            for k, v in s.items():
                if isinstance(v, (Tensor, np.ndarray)):
                    arr = v.data if isinstance(v, Tensor) else v
                    if arr.ndim and arr.shape != p.data.shape and self._state_matches_parameters:
                        raise ValueError(
                            f"{name}.load_state_dict: state {k!r} of parameter {idx} has shape {arr.shape}, but "
                            f"the parameter has shape {p.data.shape}")
                    entry[k] = np.array(arr, dtype=p.data.dtype if arr.dtype.kind == "f" else arr.dtype)
                else:
                    entry[k] = v
            new_state[p] = entry
        new_groups = []
        for g, sg in zip(self.param_groups, saved_groups):
            ng = {k: (tuple(v) if isinstance(v, list) and k == "betas" else v) for k, v in sg.items()
                  if k != "params"}
            ng["params"] = g["params"]
            self._validate(ng)
            new_groups.append(ng)
        self.state = new_state
        self.param_groups = new_groups
        self.__dict__.pop("_foreach_caches", None)

    # ------------------------------------------------------------------ repr
    def __repr__(self):
        lines = [type(self).__name__ + " ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for k in sorted(g):
                if k != "params":
                    lines.append(f"    {k}: {g[k]}")
        lines.append(")")
        return "\n".join(lines)
