"""autograd-core: a reverse-mode automatic-differentiation engine on numpy and Numba.

>>> import autograd_core as ag
>>> x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> (x * x).sum().backward()
>>> x.grad
tensor([2., 4., 6.])
"""

from . import _threads  # noqa: F401  (must run before numpy spawns thread pools)
from . import _memory

_memory.tune_malloc()  # keep freed arrays' memory: no page faults on every new array (see _memory.py)

import numpy as _np

from .function import (Function, once_differentiable, no_grad, enable_grad, set_grad_enabled,
                       is_grad_enabled, detect_anomaly, set_detect_anomaly, is_anomaly_enabled,
                       ShapeError, inference_mode, is_inference_mode_enabled)
from .tensor import Tensor, increment_version
from .autograd import backward, grad
from .creation import (tensor, from_numpy, as_tensor, is_tensor, numel, zeros, ones, empty, full, eye, arange,
                       linspace, randn, rand, randint, randperm, zeros_like, ones_like, empty_like,
                       full_like, randn_like, rand_like)
from .random import manual_seed, seed, initial_seed, get_rng, get_rng_state, set_rng_state, Generator
from ._settings import get_default_dtype, set_default_dtype, get_num_threads, set_num_threads
from .devices import device
from .serialization import save, load
from . import cuda, backends  # noqa: F401  (torch.cuda's and torch.backends' questions, for a CPU-only build)
from .gradcheck import gradcheck, gradgradcheck, GradcheckError
from . import autograd  # noqa: F401
from . import ops as _ops
from . import linalg  # noqa: F401  (torch.linalg's norms; autograd_core/linalg.py, not ops/linalg.py)
from .ops.factory import (memory_format, contiguous_format, channels_last, channels_last_3d,  # noqa: F401
                          preserve_format)

# every op each ops module declares in its __all__ (see autograd_core/ops/__init__.py)
globals().update(_ops.PUBLIC)

# autograd_core.nn / .optim / .utils.data are nn, optim and autograd_core.data themselves, imported on first
# use (nn and optim import this package, so it cannot import them now): see _aliases.py
from . import _aliases  # noqa: E402

_aliases.install()
_LAZY = ("nn", "optim", "utils", "distributed")


def __getattr__(name):
    if name in _LAZY:
        import importlib
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


float16, float32, float64 = _np.float16, _np.float32, _np.float64
int8, int16, int32, int64, uint8 = _np.int8, _np.int16, _np.int32, _np.int64, _np.uint8
bool_ = _np.bool_
half, float, double, long = float16, float32, float64, int64

__version__ = "0.1.0"
