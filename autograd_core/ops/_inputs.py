"""What the public ops accept as tensor arguments: Tensors and ndarrays, not Python lists.

PyTorch refuses a list where it expects a Tensor (``F.relu([1., -2.])`` raises
``TypeError: relu(): argument 'input' must be Tensor, not list``), and so do we:
a list would otherwise reach numpy code that expects an array and fail with an
``AttributeError`` deep inside the op, or silently become float64 where
``tensor()`` would give float32. Accepting lists everywhere would mean two
conversion rules (``tensor()``'s and numpy's) meeting in every op; refusing
them is one rule, the same as PyTorch's, and ``autograd_core.tensor(list)`` is
the one place lists become tensors.

A Python number as ``input`` with no array among the tensor arguments (``add(1.5,
2.5)``) becomes a tensor by ``tensor()``'s rules (a float32 result, as in
PyTorch); next to a Tensor it stays a number, so it takes the Tensor's dtype.

``checked(op)`` wraps each public op once, when ``ops/__init__.py`` builds the
package's namespace; Tensor methods (whose first argument is a Tensor) and the
ops' internal calls use the unwrapped functions.
"""

from __future__ import annotations

import functools

import numpy as np

from ..tensor import Tensor

# the names PyTorch's signatures give Tensor-typed arguments
TENSOR_ARGS = frozenset({"input", "other", "target", "weight", "bias", "running_mean", "running_var"})

_SEQUENCES = (list, tuple)
_NUMBERS = (int, float, bool)
_SPECIAL = frozenset(_SEQUENCES + _NUMBERS)  # argument types that need a closer look


def _not_a_tensor(op, arg, value):
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return TypeError(f"{op}(): argument '{arg}' must be a Tensor (or an ndarray), not {type(value).__name__}; "
                     f"convert it first: autograd_core.tensor({text})")


def checked(fn):
    """``fn`` with its tensor arguments checked: lists and tuples refused with a ``TypeError`` naming the
    argument; a lone Python number as ``input`` made a tensor by ``tensor()``'s rules."""
    code = getattr(fn, "__code__", None)
    if code is None:
        return fn
    n_pos = code.co_argcount
    names = code.co_varnames[:n_pos + code.co_kwonlyargcount]
    slots = tuple((i if i < n_pos else 1 << 30, name) for i, name in enumerate(names) if name in TENSOR_ARGS)
    if not slots:
        return fn
    number_input = n_pos > 0 and names[0] == "input"
    op_name = fn.__name__
    end = max((pos for pos, _ in slots if pos < n_pos), default=-1) + 1

    def check(args, kwargs):
        """The slow path, for calls the fast test cannot clear: returns the arguments to call ``fn`` with."""
        n = len(args)
        values = [args[pos] if pos < n else kwargs.get(name) for pos, name in slots]
        for (_, name), v in zip(slots, values):
            if type(v) in _SEQUENCES:
                raise _not_a_tensor(op_name, name, v)
        if number_input and n and type(args[0]) in _NUMBERS \
                and not any(isinstance(v, (Tensor, np.ndarray)) for v in values[1:]):
            args = (Tensor(args[0]),) + args[1:]
        return args

    by_name = frozenset(name for _, name in slots)
    special = _SPECIAL

    # The common call (tensors in the tensor slots, given positionally) costs a few type tests (about
    # 0.1-0.3 us); anything else takes ``check``. Unrolled for the usual one to three leading slots.
    if end == 1:
        def op(*args, **kwargs):
            if not args or type(args[0]) in special or (kwargs and not by_name.isdisjoint(kwargs)):
                args = check(args, kwargs)
            return fn(*args, **kwargs)
    elif end in (2, 3):
        def op(*args, **kwargs):
            n = len(args)
            if (not n or type(args[0]) in special or (n > 1 and type(args[1]) in special)
                    or (n > 2 and end == 3 and type(args[2]) in special)
                    or (kwargs and not by_name.isdisjoint(kwargs))):
                args = check(args, kwargs)
            return fn(*args, **kwargs)
    else:
        def op(*args, **kwargs):
            if not special.isdisjoint(map(type, args[:end])) or (kwargs and not by_name.isdisjoint(kwargs)):
                args = check(args, kwargs)
            return fn(*args, **kwargs)

    functools.update_wrapper(op, fn)
    return op
