"""``Module``: the base class of layers and models.

A module owns parameters (``Parameter``), buffers (Tensors that are state but
not learned, e.g. batch norm's running mean) and submodules. Assigning one of
these to an attribute registers it, as in PyTorch::

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 2)           # a submodule
            self.scale = nn.Parameter(ag.ones(2))

        def forward(self, x):
            return self.fc(x) * self.scale

Names are dotted paths (``"fc.weight"``), used by ``named_parameters()``,
``state_dict()`` and ``load_state_dict()``.
"""

from __future__ import annotations

from collections import OrderedDict, namedtuple

import numpy as np

from autograd_core import Tensor, from_numpy, increment_version
from autograd_core.devices import check as check_device, parse_to

from .parameter import Parameter

__all__ = ["Module"]


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()


def _addindent(s, n):
    lines = s.split("\n")
    return lines[0] + "".join("\n" + " " * n + line for line in lines[1:])


def _as_array(value):
    """A state-dict value (Tensor, ndarray, number or nested list) as an ndarray."""
    return value.data if isinstance(value, Tensor) else np.asarray(value)


class Module:
    """Base class for all layers and models; subclasses define ``forward``.

    Attributes
    ----------
    training : bool
        True in training mode (dropout drops, batch norm uses batch statistics),
        False after ``eval()``.
    """

    training: bool

    def __init__(self):
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())

    # ------------------------------------------------------------------ forward
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward(...)")

    def __call__(self, *args, **kwargs):
        if self._forward_pre_hooks or self._forward_hooks:
            return self._call_with_hooks(args, kwargs)
        return self.forward(*args, **kwargs)

    def _call_with_hooks(self, args, kwargs):
        for hook in list(self._forward_pre_hooks.values()):
            r = hook(self, args)
            if r is not None:
                args = r if isinstance(r, tuple) else (r,)
        out = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            r = hook(self, args, out)
            if r is not None:
                out = r
        return out

    def register_forward_pre_hook(self, hook):
        """Call ``hook(module, args)`` before ``forward``; it may return replacement args."""
        return _HookHandle(self._forward_pre_hooks, hook)

    def register_forward_hook(self, hook):
        """Call ``hook(module, args, output)`` after ``forward``; it may return a new output."""
        return _HookHandle(self._forward_hooks, hook)

    # ------------------------------------------------------------------ registration
    def __setattr__(self, name, value):
        params = self.__dict__.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError(
                    f"cannot assign parameter {name!r} before Module.__init__() call: call "
                    "super().__init__() first in your module's __init__")
            self._forget(name)
            params[name] = value
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign a {type(value).__name__} as parameter {name!r} of "
                    f"{type(self).__name__} (a Parameter or None is expected); to change its values "
                    f"in place use `with no_grad(): module.{name}.copy_(value)`")
            params[name] = None
        elif isinstance(value, Module):
            mods = self.__dict__.get("_modules")
            if mods is None:
                raise AttributeError(
                    f"cannot assign module {name!r} before Module.__init__() call: call "
                    "super().__init__() first in your module's __init__")
            self._forget(name)
            mods[name] = value
        elif name in self.__dict__.get("_modules", ()):
            if value is not None:
                raise TypeError(
                    f"cannot assign a {type(value).__name__} as child module {name!r} of "
                    f"{type(self).__name__} (a Module or None is expected)")
            self._modules[name] = None
        elif name in self.__dict__.get("_buffers", ()):
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"cannot assign a {type(value).__name__} as buffer {name!r} of "
                    f"{type(self).__name__} (a Tensor or None is expected)")
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name):
        """Remove ``name`` from every registry and the instance dict (before re-registering it)."""
        d = self.__dict__
        d.pop(name, None)
        for reg in ("_parameters", "_buffers", "_modules"):
            d[reg].pop(name, None)
        d["_non_persistent"].discard(name)

    def __getattr__(self, name):
        # only called when normal lookup fails: look in the registries
        d = self.__dict__
        for reg in ("_parameters", "_buffers", "_modules"):
            r = d.get(reg)
            if r is not None and name in r:
                return r[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute {name!r}")

    def __delattr__(self, name):
        for reg in ("_parameters", "_buffers", "_modules"):
            r = self.__dict__.get(reg)
            if r is not None and name in r:
                del r[name]
                self._non_persistent.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers) | set(self._modules))

    def _check_name(self, name, what):
        if not isinstance(name, str):
            raise TypeError(f"{what} name must be a string, got {type(name).__name__}")
        if not name or "." in name:
            raise KeyError(f"{what} name must be non-empty and contain no '.', got {name!r}")
        if hasattr(type(self), name) or (name in self.__dict__ and name not in ("training",)):
            raise KeyError(f"attribute {name!r} already exists on {type(self).__name__}")

    def register_parameter(self, name, param):
        """Register ``param`` (a Parameter or None) under ``name``."""
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot register a parameter before Module.__init__() call")
        if name not in self._parameters:
            self._check_name(name, "parameter")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"register_parameter: {name!r} must be a Parameter or None, got {type(param).__name__} "
                "(wrap it: nn.Parameter(tensor))")
        self._forget(name)
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        """Register a Tensor that is state but not a parameter (saved in ``state_dict`` if persistent)."""
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot register a buffer before Module.__init__() call")
        if name not in self._buffers:
            self._check_name(name, "buffer")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer: {name!r} must be a Tensor or None, got {type(tensor).__name__}")
        self._forget(name)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent.add(name)

    def add_module(self, name, module):
        """Register ``module`` (a Module or None) as a child called ``name``."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be a Module or None, got {type(module).__name__}")
        if name not in self._modules:
            self._check_name(name, "module")
        self._forget(name)
        self._modules[name] = module

    register_module = add_module

    # ------------------------------------------------------------------ traversal
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """Yield ``(dotted name, module)`` for this module and every descendant (each once)."""
        if memo is None:
            memo = set()
        stack = [(prefix, self)]
        while stack:  # iterative pre-order, children in registration order
            name, m = stack.pop()
            if remove_duplicate:
                if id(m) in memo:
                    continue
                memo.add(id(m))
            yield name, m
            kids = [(f"{name}.{k}" if name else k, c) for k, c in m._modules.items() if c is not None]
            stack.extend(reversed(kids))

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self):
        for _, m in self.named_children():
            yield m

    def _named_members(self, registry, prefix, recurse, remove_duplicate=True):
        seen = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse \
            else [(prefix, self)]
        for mname, m in mods:
            for k, v in getattr(m, registry).items():
                if v is None or (remove_duplicate and id(v) in seen):
                    continue
                seen.add(id(v))
                yield (f"{mname}.{k}" if mname else k), v

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """Yield ``(dotted name, Parameter)``; a shared parameter appears once."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def get_submodule(self, target):
        """The submodule at dotted path ``target`` (``""`` is this module)."""
        m = self
        for part in target.split(".") if target else ():
            if part not in m._modules or m._modules[part] is None:
                raise AttributeError(f"{type(m).__name__} has no submodule {part!r} (looking up {target!r})")
            m = m._modules[part]
        return m

    def get_parameter(self, target):
        mod, _, name = target.rpartition(".")
        m = self.get_submodule(mod)
        if name not in m._parameters:
            raise AttributeError(f"{type(m).__name__} has no parameter {name!r} (looking up {target!r})")
        return m._parameters[name]

    def apply(self, fn):
        """Call ``fn(m)`` on every submodule (children first) and on this module; returns self."""
        for m in list(self.modules())[::-1]:
            fn(m)
        return self

    # ------------------------------------------------------------------ modes and grads
    def train(self, mode=True):
        """Set training mode (``mode=False`` is ``eval()``) on this module and all descendants."""
        if not isinstance(mode, bool):
            raise ValueError(f"train(mode): mode must be a bool, got {mode!r}")
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self):
        """Evaluation mode: dropout passes inputs through, batch norm uses its running statistics."""
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        """Freeze (False) or unfreeze every parameter; frozen ones get no gradient and no update."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Clear the gradients of all parameters (to None, or to zeros in place)."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad.data.fill(0)

    # ------------------------------------------------------------------ dtype
    def _apply_dtype(self, dtype):
        dtype = np.dtype(dtype)
        for m in self.modules():
            for reg in (m._parameters, m._buffers):
                for t in reg.values():
                    if t is None or t.data.dtype.kind != "f" or t.data.dtype == dtype:
                        continue
                    # keep the same Tensor objects, so optimizers holding them stay valid
                    t.data = t.data.astype(dtype)
                    increment_version(t)
                    if t.grad is not None:
                        t.grad = from_numpy(t.grad.data.astype(dtype))
        return self

    def float(self):
        """Cast floating-point parameters and buffers to float32."""
        return self._apply_dtype(np.float32)

    def double(self):
        """Cast floating-point parameters and buffers to float64 (e.g. for gradcheck)."""
        return self._apply_dtype(np.float64)

    def half(self):
        return self._apply_dtype(np.float16)

    def to(self, *args, **kwargs):
        """Cast floating-point parameters and buffers, in place: PyTorch's forms ``to(dtype)``,
        ``to(device)``, ``to(device, dtype)``, ``to(tensor)`` and the keywords ``device``, ``dtype``,
        ``non_blocking``, ``memory_format``.

        The device must be the CPU (the only one in this build; any other raises). Returns ``self``.
        """
        dtype, _ = parse_to("Module.to", args, kwargs, Tensor)
        if dtype is None:
            return self
        if dtype.kind != "f":
            raise TypeError(f"Module.to: only floating-point dtypes can be given to a module's parameters, got "
                            f"{dtype}")
        return self._apply_dtype(dtype)

    def cpu(self):
        return self

    def cuda(self, device=None):
        """Raises: this build runs on the CPU only."""
        check_device("cuda" if device is None else device, "Module.cuda")
        return self

    # ------------------------------------------------------------------ state dict
    def state_dict(self, destination=None, prefix="", keep_vars=False):
        """An ordered mapping from dotted names to parameters and persistent buffers.

        Values are detached Tensors sharing memory with the module (the
        Parameters themselves if ``keep_vars``); copy them if you need a
        snapshot that later training will not change.
        """
        out = OrderedDict() if destination is None else destination
        # every path is named, even to a shared module (as PyTorch does)
        for mname, m in self.named_modules(prefix=prefix.rstrip("."), remove_duplicate=False):
            pre = f"{mname}." if mname else ""
            for k, p in m._parameters.items():
                if p is not None:
                    out[pre + k] = p if keep_vars else p.detach()
            for k, b in m._buffers.items():
                if b is not None and k not in m._non_persistent:
                    out[pre + k] = b if keep_vars else b.detach()
        return out

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Copy values from ``state_dict`` into this module's parameters and buffers.

        Every check runs before anything is written, so a failed load changes
        nothing. Always an error: a value whose shape differs from the
        parameter's, or whose dtype cannot be cast to it (e.g. floats into an
        integer buffer). With ``strict=True`` (the default), missing and
        unexpected keys are errors too; with ``strict=False`` they are returned.

        Parameters
        ----------
        state_dict : mapping of str to Tensor or ndarray
        strict : bool
        assign : bool
            Replace each parameter's array by (a copy of) the loaded one, taking
            its dtype, instead of copying values into the existing array.

        Returns
        -------
        namedtuple ``(missing_keys, unexpected_keys)``
        """
        if not hasattr(state_dict, "items"):
            raise TypeError(f"load_state_dict: expected a mapping of names to tensors, got {type(state_dict).__name__}")
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        problems = []
        plan = []
        for k, target in own.items():
            if k not in state_dict:
                continue
            try:
                arr = _as_array(state_dict[k])
            except Exception as e:  # noqa: BLE001 - report any unconvertible value by name
                problems.append(f"{k}: cannot convert the value ({type(state_dict[k]).__name__}) to an array: {e}")
                continue
            dst = target.data
            if arr.shape != dst.shape:
                problems.append(f"{k}: shape {arr.shape} in the state dict, but the module's has shape {dst.shape}")
            elif arr.dtype.kind not in "biuf":
                problems.append(f"{k}: dtype {arr.dtype} is not numeric")
            elif not assign and not np.can_cast(arr.dtype, dst.dtype, casting="same_kind"):
                problems.append(f"{k}: dtype {arr.dtype} in the state dict cannot be stored in the module's "
                                f"{dst.dtype}")
            else:
                plan.append((target, arr))
        if strict and (missing or unexpected):
            if missing:
                problems.append("missing keys (in the module, not in the state dict): "
                                + ", ".join(repr(k) for k in missing))
            if unexpected:
                problems.append("unexpected keys (in the state dict, not in the module): "
                                + ", ".join(repr(k) for k in unexpected))
        if problems:
            raise RuntimeError(
                f"Error(s) in loading state_dict for {type(self).__name__} (nothing was changed):\n    "
                + "\n    ".join(problems)
                + ("\n(pass strict=False to load the matching keys only)" if missing or unexpected else ""))
        for target, arr in plan:
            if assign:
                target.data = np.array(arr, copy=True)
            else:
                np.copyto(target.data, arr, casting="same_kind")
            increment_version(target)
        return _IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------------ repr
    def extra_repr(self):
        """The text inside this module's parentheses in ``repr`` (override in layers)."""
        return ""

    def __repr__(self):
        lines = []
        extra = self.extra_repr()
        if extra:
            lines.extend(extra.split("\n"))
        for name, m in self._modules.items():
            lines.append(f"({name}): " + _addindent(repr(m), 2))
        main = type(self).__name__ + "("
        if lines:
            if len(lines) == 1 and not self._modules:
                return main + lines[0] + ")"
            main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"


class _HookHandle:
    _next_id = 0

    def __init__(self, registry, hook):
        self.registry = registry
        self.id = _HookHandle._next_id
        _HookHandle._next_id += 1
        registry[self.id] = hook

    def remove(self):
        self.registry.pop(self.id, None)
