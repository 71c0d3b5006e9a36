"""``Parameter``: a Tensor that a ``Module`` registers as one of its learnable weights."""

from __future__ import annotations

import numpy as np

from autograd_core import Tensor, get_default_dtype

__all__ = ["Parameter"]


class Parameter(Tensor):
    """A leaf Tensor that, assigned to a ``Module`` attribute, joins ``module.parameters()``.

    Parameters
    ----------
    data : Tensor, ndarray or array_like
        The initial values. A Tensor's or an ndarray's memory is shared, not
        copied (as in PyTorch); Python numbers become the default dtype (float32). A Tensor computed
        by the graph is cut from it: a parameter is always a leaf.
    requires_grad : bool
        Whether backward fills ``.grad`` (False freezes the parameter).
    """

    __slots__ = ()

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = np.empty(0, dtype=get_default_dtype())
        super().__init__(data.data if isinstance(data, Tensor) else data)
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, proto):
        return (Parameter, (self.data, self.requires_grad))
