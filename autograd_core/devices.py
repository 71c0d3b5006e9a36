"""Devices, honestly: this build has one, the CPU.

``device("cpu")``, ``Tensor.device``, ``device=`` on every factory and ``.to(...)`` work as in
PyTorch, so a script that moves tensors "to the device" runs unchanged. Naming another device
(``"cuda"``, ``"mps"``, ...) is allowed, as in PyTorch, but using it to place a tensor or a module
raises an error that says this build runs on the CPU only. ``autograd_core.cuda.is_available()``
is False, so the usual ``device = "cuda" if torch.cuda.is_available() else "cpu"`` picks the CPU.
"""

from __future__ import annotations

import numpy as np

__all__ = ["device"]

# device types PyTorch knows (so a typo is told apart from a device this build does not have)
_KNOWN = ("cpu", "cuda", "mps", "xpu", "meta", "hip", "xla", "mtia", "hpu", "ipu", "vulkan", "privateuseone")


class device:
    """Where a tensor lives: ``device("cpu")``, ``device("cuda", 0)``, ``device("cuda:1")``.

    Only ``"cpu"`` can hold tensors here; other types can be named (and compared) but not used.
    """

    __slots__ = ("type", "index")

    def __init__(self, type, index=None):
        if isinstance(type, device):
            if index is not None:
                raise TypeError("device(): an index cannot be given with a device object")
            self.type, self.index = type.type, type.index
            return
        if isinstance(type, (int, np.integer)) and not isinstance(type, bool):
            # PyTorch: a bare ordinal names an accelerator
            type, index = "cuda", int(type)
        if not isinstance(type, str):
            raise TypeError(f"device(): expected a string like 'cpu' or 'cuda:0', got {type!r}")
        name = type.strip()
        if ":" in name:
            if index is not None:
                raise ValueError(f"device(): the index is given twice ({type!r} and index={index})")
            name, _, idx = name.partition(":")
            if not idx.isdigit():
                raise ValueError(f"device(): invalid device string {type!r}; expected 'type' or 'type:index'")
            index = int(idx)
        if name not in _KNOWN:
            raise RuntimeError(f"device(): expected one of {', '.join(_KNOWN)} at the start of the device "
                               f"string, got {type!r}")
        if index is not None and (not isinstance(index, (int, np.integer)) or index < 0):
            raise ValueError(f"device(): the index must be a non-negative int, got {index!r}")
        self.type = name
        self.index = None if index is None else int(index)

    def __eq__(self, other):
        if isinstance(other, str):
            try:
                other = device(other)
            except (TypeError, ValueError, RuntimeError):
                return False
        if not isinstance(other, device):
            return NotImplemented
        return self.type == other.type and self.index == other.index

    def __hash__(self):
        return hash((self.type, self.index))

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        if self.index is None:
            return f"device(type={self.type!r})"
        return f"device(type={self.type!r}, index={self.index})"

    def __reduce__(self):
        return (device, (self.type, self.index))


CPU = device("cpu")


def check(dev, where):
    """``dev`` (None, a string, an int or a device) as the CPU device; any other device raises.

    ``where`` names the call in the error (``"zeros"``, ``"Tensor.to"``, ...).
    """
    if dev is None or dev is CPU:
        return CPU
    d = dev if isinstance(dev, device) else device(dev)
    if d.type == "cpu":
        return CPU
    raise RuntimeError(
        f"{where}: device {str(d)!r} is not available: this build of autograd-core runs on the CPU only. "
        f"Use device='cpu' (or leave device out); autograd_core.cuda.is_available() is False, so "
        f"`'cuda' if torch.cuda.is_available() else 'cpu'` picks the CPU.")


def _is_device_like(a):
    return isinstance(a, (str, device)) or (isinstance(a, (int, np.integer)) and not isinstance(a, bool))


def parse_to(where, args, kwargs, tensor_type):
    """The arguments of ``.to(...)`` as ``(dtype or None, copy)``, after checking the device.

    Accepts PyTorch's forms: ``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other_tensor)``,
    each optionally followed by ``non_blocking`` and ``copy``, and the keywords ``device``, ``dtype``,
    ``non_blocking``, ``copy`` and ``memory_format`` (accepted; memory stays as it is).
    """
    kwargs = dict(kwargs)
    dev = kwargs.pop("device", None)
    dtype = kwargs.pop("dtype", None)
    non_blocking = kwargs.pop("non_blocking", False)
    copy = kwargs.pop("copy", False)
    kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"{where}(): unexpected keyword arguments {sorted(kwargs)}; expected device, dtype, "
                        "non_blocking, copy, memory_format")
    args = list(args)
    if args and isinstance(args[0], tensor_type):
        other = args.pop(0)
        if dtype is not None or dev is not None:
            raise TypeError(f"{where}(): to(other) takes no device or dtype besides the other tensor")
        dtype = other.dtype
    else:
        if args and _is_device_like(args[0]):
            if dev is not None:
                raise TypeError(f"{where}(): the device is given twice")
            dev = args.pop(0)
        if args and not isinstance(args[0], bool) and args[0] is not None:
            if dtype is not None:
                raise TypeError(f"{where}(): the dtype is given twice")
            dtype = args.pop(0)
        elif args and args[0] is None:
            args.pop(0)
    if args:  # positional non_blocking, copy
        non_blocking = args.pop(0)
    if args:
        copy = args.pop(0)
    if args:
        raise TypeError(f"{where}(): too many arguments; expected to(device, dtype, non_blocking, copy)")
    del non_blocking  # one device: there is never anything to wait for
    check(dev, where)
    if dtype is not None:
        try:
            dtype = np.dtype(dtype)
        except TypeError:
            raise TypeError(f"{where}(): expected a dtype, a device or a tensor, got {dtype!r}") from None
    return dtype, bool(copy)
