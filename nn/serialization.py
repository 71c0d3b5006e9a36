"""``nn.save`` and ``nn.load``: ``autograd_core.save`` and ``autograd_core.load`` (see ``autograd_core/serialization.py``)."""

from autograd_core import save, load

__all__ = ["save", "load"]
