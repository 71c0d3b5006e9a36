"""Utilities with ``torch.utils``' names: ``data``.

``autograd_core.utils.data`` is ``autograd_core.data`` itself (see ``autograd_core/_aliases.py``).
"""

from . import data  # noqa: F401

__all__ = ["data"]
