"""Utilities with ``torch.utils``' names: ``checkpoint`` (activation checkpointing) and ``data``.

``autograd_core.utils.data`` is ``autograd_core.data`` itself (see ``autograd_core/_aliases.py``),
imported on first use: the engine imports ``utils.checkpoint`` while it initialises, before the data
modules can load.
"""

from . import checkpoint  # noqa: F401

__all__ = ["checkpoint", "data"]


def __getattr__(name):
    if name == "data":
        import importlib
        return importlib.import_module(f"{__name__}.data")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
