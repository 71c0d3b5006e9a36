"""How an ops module declares its public ops: its ``__all__`` plus two marks.

Every name in an ops module's ``__all__`` becomes ``autograd_core.<name>``. Two
decorators on the lowercase function add the other places PyTorch users look:

``@method``
    also a Tensor method, with the tensor as the first argument
    (``x.relu()`` is ``relu(x)``); ``@method(impl)`` installs ``impl`` as the
    method instead, for ops whose method form takes its arguments in another
    order (``x.where(cond, y)`` is ``where(cond, x, y)``).
``@functional``
    also ``nn.functional.<name>`` (activations, losses, convolutions, pooling...).

``autograd_core/ops/__init__.py`` reads these declarations and does the
registering; nothing else lists ops by hand. A new op is therefore one
``Function`` (forward beside backward), its lowercase wrapper with the marks it
needs, its name in ``__all__``, and a test (CONTRIBUTING.md).
"""

from __future__ import annotations

__all__ = ["method", "functional"]


def method(fn=None, *, impl=None):
    """Mark ``fn`` as a Tensor method too (``@method`` or ``@method(impl=...)``)."""
    def mark(f):
        f.__tensor_method__ = impl if impl is not None else f
        return f

    return mark if fn is None else mark(fn)


def functional(fn):
    """Mark ``fn`` as part of ``nn.functional`` too."""
    fn.__nn_functional__ = True
    return fn
