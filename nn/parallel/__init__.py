"""Data parallelism over the ranks of ``autograd_core.distributed`` (``torch.nn.parallel``'s names)."""

from .distributed import DistributedDataParallel

__all__ = ["DistributedDataParallel"]
