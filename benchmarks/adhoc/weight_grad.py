"""The conv weight gradient alone at ResNet sizes, with the direct route's channel limit set for the run.

    python -m benchmarks.adhoc.weight_grad MAX_CIG

``MAX_CIG`` overrides ``ops.conv._DIRECT_MAX_CIG`` and ``_GEMM_WGRAD_PIXELS`` is set out of reach, so maps
with more input channels per group than ``MAX_CIG`` take the GEMM (nhwc) route at every size and
the others the direct kernel. Channels-last input and output gradient (as in a ResNet step); median
of 10 calls; prints the route taken.
"""

import sys

import numpy as np

from autograd_core.ops import conv as C, log_routes

from . import timed

CASES = [(64, 64, 64, 32, 1), (32, 128, 128, 16, 1), (32, 128, 256, 16, 2), (64, 48, 48, 32, 1),
         (32, 64, 64, 8, 1), (32, 256, 256, 8, 1)]  # (N, Cin, Cout, H = W, stride)


def _cl(a):
    return np.ascontiguousarray(np.moveaxis(a, 1, -1)).transpose(0, 3, 1, 2)


def main(max_cig):
    C._DIRECT_MAX_CIG = max_cig
    C._GEMM_WGRAD_PIXELS = 1 << 30
    rng = np.random.default_rng(0)
    for N, Ci, Co, H, s in CASES:
        x = _cl(rng.standard_normal((N, Ci, H, H)).astype(np.float32))
        OH = (H + 2 - 3) // s + 1
        gy = _cl(rng.standard_normal((N, Co, OH, OH)).astype(np.float32))
        p = C.ConvParams(s, s, 1, 1, 1, 1, 1)

        def wgrad():
            return C._weight_grad(x, gy, p, 3, 3)

        with log_routes() as taken:
            wgrad()
        print(f"max_cig {max_cig} N={N} {Ci}->{Co} {H}x{H} s{s} {[r.route for r in taken]} "
              f"{timed(wgrad, 10, warmup=0)['median'] * 1e3:.2f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]))
