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
                       ShapeError)
from .tensor import Tensor
from .autograd import backward, grad
from .creation import (tensor, from_numpy, as_tensor, is_tensor, zeros, ones, empty, full, eye, arange,
                       linspace, randn, rand, randint, randperm, zeros_like, ones_like, empty_like,
                       full_like, randn_like, rand_like)
from .random import manual_seed, get_rng, get_rng_state, set_rng_state
from .ops.elementwise import (add, sub, mul, div, pow, neg, abs, exp, log, sqrt, sin, cos, tanh, sigmoid,
                              relu, leaky_relu, elu, softplus, square, reciprocal, clamp, clip, maximum,
                              minimum, where, clone, sign, eq, ne, lt, le, gt, ge, logical_not,
                              logical_and, logical_or, isnan, isfinite, allclose, equal)
from .ops.reduce import (sum, mean, var, std, amax, amin, max, min, logsumexp, softmax, log_softmax,
                         argmax, argmin, all, any)
from .ops.shape import (reshape, view, view_as, flatten, permute, transpose, t, squeeze, unsqueeze,
                        broadcast_to, expand, expand_as, cat, concatenate, stack, pad, sum_to)
from .ops.linalg import matmul, mm, dot
from .ops.conv import conv1d, conv2d, conv_transpose1d, conv_transpose2d, convolve2d, correlate2d
from .ops.pool import (max_pool1d, max_pool2d, avg_pool1d, avg_pool2d, adaptive_avg_pool1d,
                       adaptive_avg_pool2d)
from .gradcheck import gradcheck, gradgradcheck, GradcheckError
from . import autograd  # noqa: F401

negative, divide, multiply, subtract, absolute = neg, div, mul, sub, abs

float16, float32, float64 = _np.float16, _np.float32, _np.float64
int8, int16, int32, int64, uint8 = _np.int8, _np.int16, _np.int32, _np.int64, _np.uint8
bool_ = _np.bool_
half, float, double, long = float16, float32, float64, int64

__version__ = "0.1.0"
