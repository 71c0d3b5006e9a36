"""Forward and forward + weight gradient of a conv over few input channels (a network's first conv).

    python -m benchmarks.adhoc.first_conv MIN_K N COUT [CIN=3] [K=3] [HW=32]

``MIN_K`` overrides ``ops.conv._DIRECT_MIN_K`` for the run (the reduction length from which the
direct route was taken before spatial kernels over few channels took it always); the output
gradient is in the output's memory layout, as the layers after it would hand it over. Prints the
routes taken and the medians.
"""

import sys

import numpy as np

import autograd_core as ag
from autograd_core.ops import conv as C, log_routes

from . import timed


def main(min_k, N, Co, Cin=3, k=3, hw=32):
    C._DIRECT_MIN_K = min_k
    rng = np.random.default_rng(0)
    x = ag.tensor(rng.standard_normal((N, Cin, hw, hw)).astype(np.float32))
    w = ag.tensor((rng.standard_normal((Co, Cin, k, k)) / 5).astype(np.float32), requires_grad=True)
    y = ag.conv2d(x, w, None, padding=k // 2)
    g = np.empty_like(y.data)  # y's memory layout
    g[...] = rng.standard_normal(y.shape)
    gt = ag.from_numpy(g)

    def fwd():
        return ag.conv2d(x, w, None, padding=k // 2)

    def fwd_wgrad():
        ag.grad(ag.conv2d(x, w, None, padding=k // 2), [w], gt)

    with log_routes() as taken:
        fwd_wgrad()
    print(f"min_k {min_k} N {N} {Cin}->{Co} k{k} {hw}x{hw} {[r.route for r in taken]} "
          f"fwd {timed(fwd, 40)['median'] * 1e3:.2f} fwd+wgrad {timed(fwd_wgrad, 40)['median'] * 1e3:.2f} ms")


if __name__ == "__main__":
    a = [int(v) for v in sys.argv[1:]]
    main(*a)
