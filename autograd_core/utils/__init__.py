"""Utilities with ``torch.utils``' names: ``checkpoint`` (activation checkpointing).

``autograd_core.utils.checkpoint`` is imported on first use; ``data`` will be
``autograd_core.data`` under the name ``autograd_core.utils.data``.
"""

from . import checkpoint  # noqa: F401

__all__ = ["checkpoint"]
