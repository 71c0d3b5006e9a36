"""Batch norm's forward and backward (the kernel path, as a training step calls them) at ResNet-CIFAR sizes.

    python -m benchmarks.adhoc.batch_norm_ops [nchw]

Channels-last memory unless ``nchw`` is given; median of 100 calls each, warm caches.
"""

import sys

import numpy as np

import autograd_core.ops.norm as N

from . import timed


def main(nchw=False):
    rng = np.random.default_rng(0)

    def layout(a):
        return np.ascontiguousarray(a) if nchw else np.ascontiguousarray(np.moveaxis(a, 1, -1)).transpose(0, 3, 1, 2)

    for shape in [(32, 16, 32, 32), (32, 32, 16, 16), (32, 64, 8, 8)]:
        C = shape[1]
        x = layout(rng.standard_normal(shape).astype(np.float32))
        g = layout(rng.standard_normal(shape).astype(np.float32))
        w, b = np.ones(C, np.float32), np.zeros(C, np.float32)
        _, mean, _, invstd = N._bn_forward_kernels(x, w, b, 1e-5)
        fwd = timed(lambda: N._bn_forward_kernels(x, w, b, 1e-5), 100)["median"] * 1e6
        bwd = timed(lambda: N._bn_backward_kernels(x, g, w, mean, invstd, (True, True, True)), 100)["median"] * 1e6
        print(f"{shape} fwd {fwd:.0f} us, bwd {bwd:.0f} us")


if __name__ == "__main__":
    main(nchw="nchw" in sys.argv[1:])
