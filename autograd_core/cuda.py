"""``torch.cuda``'s questions, answered for a CPU-only build.

``is_available()`` is False and ``device_count()`` 0, so scripts that check take their CPU path.
Seeding (``manual_seed``, ``manual_seed_all``) and ``empty_cache`` do nothing, as in PyTorch
without a GPU; anything that needs a GPU (``current_device``, ``set_device``, ``synchronize``,
``get_device_name``) raises an error that says this build runs on the CPU only.
"""

from __future__ import annotations

__all__ = ["is_available", "device_count", "is_initialized", "manual_seed", "manual_seed_all", "empty_cache",
           "current_device", "set_device", "synchronize", "get_device_name"]


def is_available():
    """False: this build runs on the CPU only."""
    return False


def device_count():
    return 0


def is_initialized():
    return False


def manual_seed(seed):
    """Nothing to seed (no GPU); ``autograd_core.manual_seed`` seeds everything there is."""


def manual_seed_all(seed):
    """Nothing to seed (no GPU)."""


def empty_cache():
    """Nothing to free (no GPU memory)."""


def _no_gpu(what):
    raise RuntimeError(f"autograd_core.cuda.{what}: there is no GPU: this build of autograd-core runs on the CPU "
                       "only (autograd_core.cuda.is_available() is False)")


def current_device():
    _no_gpu("current_device()")


def set_device(device):
    _no_gpu("set_device()")


def synchronize(device=None):
    _no_gpu("synchronize()")


def get_device_name(device=None):
    _no_gpu("get_device_name()")
