"""Numba kernels: pure functions on ndarrays, no autograd knowledge.

``conv``: 2-D cross-correlation forward, input gradient and weight gradient
(im2col + GEMM, channels-last and planar variants); ``conv_direct``: the same
maps as direct convolutions on register tiles (16 output channels x 6
pixels); ``depthwise``: depthwise convolutions as per-channel stencils;
``simd``: the short-vector intrinsics those two are written with; ``pool``: max and average
pooling forward and backward; ``elementwise``: ReLU and masked selects on
large arrays; ``norm``: batch normalisation's statistics, affine map and
backward sums. Importing this package is cheap: ``load(name)``
imports a kernel module, and with it Numba, on first use.
"""

import importlib

_loaded = {}


def load(name):
    """The kernel module ``name`` ('conv', 'conv_direct', 'depthwise', 'pool', 'elementwise' or 'norm'), threads
    configured first (see ``_threads``)."""
    module = _loaded.get(name)
    if module is None:
        from .. import _threads
        _threads.configure()
        module = _loaded[name] = importlib.import_module(f"{__name__}.{name}")
    return module
