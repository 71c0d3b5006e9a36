"""``Parameter``: a Tensor that a ``Module`` registers as one of its learnable weights."""

from __future__ import annotations

import numpy as np

from autograd_core import Tensor

__all__ = ["Parameter"]


def cpu_only(device, where):
    """Accept ``device=None`` or the CPU (this build's one device); refuse any other, naming ``where``."""
    if device is not None and str(getattr(device, "type", device)).split(":")[0] != "cpu":
        raise RuntimeError(f"{where}: device {str(device)!r} is not available: this build runs on the CPU only; "
                           "use device='cpu' or leave device out")


class Parameter(Tensor):
    """A leaf Tensor that, assigned to a ``Module`` attribute, joins ``module.parameters()``.

    Parameters
    ----------
    data : Tensor, ndarray or array_like
        The initial values. A Tensor's or an ndarray's memory is shared, not
        copied (as in PyTorch); Python numbers become float32. A Tensor computed
        by the graph is cut from it: a parameter is always a leaf.
    requires_grad : bool
        Whether backward fills ``.grad`` (False freezes the parameter).
    """

    __slots__ = ()

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = np.empty(0, dtype=np.float32)
        super().__init__(data.data if isinstance(data, Tensor) else data)
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, proto):
        return (Parameter, (self.data, self.requires_grad))
