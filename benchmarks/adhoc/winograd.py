"""The three maps of ResNet's 3x3 stride-1 convs through the Winograd and the direct route, op level.

    python -m benchmarks.adhoc.winograd [N=32] [C:H ...]

For 16->16 32x32, 32->32 16x16 and 64->64 8x8, or the C->C HxH convs given (channels-last input and
output gradient, as in a ResNet step): the median time of the forward, the input gradient and the weight gradient with
``AUTOGRAD_CORE_CONV_ROUTES`` set to ``winograd`` and to ``direct`` (each route's whole op: weight
transforms and packing included), the ratio, and the largest difference of the two routes' results.
"""

import os
import sys

import numpy as np

from autograd_core.ops import conv as C, log_routes

from . import timed

CASES = [(16, 32), (32, 16), (64, 8)]  # (channels, H = W)


def _cl(a):
    return np.ascontiguousarray(np.moveaxis(a, 1, -1)).transpose(0, 3, 1, 2)


def main(N=32, cases=CASES):
    rng = np.random.default_rng(0)
    p = C.ConvParams(1, 1, 1, 1, 1, 1, 1)
    print(f"N={N}, ms (median of 20): winograd / direct = ratio, max |difference|")
    for ch, H in cases:
        x = _cl(rng.standard_normal((N, ch, H, H)).astype(np.float32))
        w = (rng.standard_normal((ch, ch, 3, 3)) / np.sqrt(9 * ch)).astype(np.float32)
        gy = _cl(rng.standard_normal((N, ch, H, H)).astype(np.float32))
        maps = {"forward": lambda: C._forward(x, w, None, p, H, H)[0],
                "input grad": lambda: C._input_grad(gy, w, p, H, H),
                "weight grad": lambda: C._weight_grad(x, gy, p, 3, 3)}
        for name, fn in maps.items():
            t, out, ran = {}, {}, set()
            for route in ("winograd", "direct"):
                os.environ["AUTOGRAD_CORE_CONV_ROUTES"] = route
                with log_routes() as taken:
                    out[route] = np.asarray(fn())
                ran |= {r.route for r in taken}
                t[route] = timed(fn, 20, warmup=2)["median"]
            del os.environ["AUTOGRAD_CORE_CONV_ROUTES"]
            if ran != {"winograd", "direct"}:  # no Winograd form for this map (the route table's rule)
                print(f"{ch}->{ch} {H}x{H} {name:11s}: routes {sorted(ran)}, skipped")
                continue
            diff = np.abs(out["winograd"] - out["direct"]).max()
            print(f"{ch}->{ch} {H}x{H} {name:11s}: {t['winograd'] * 1e3:6.3f} / {t['direct'] * 1e3:6.3f} ms"
                  f" = {t['winograd'] / t['direct']:.2f}, max diff {diff:.1e}", flush=True)


if __name__ == "__main__":
    a = sys.argv[1:]
    main(int(a[0]) if a else 32, [tuple(int(v) for v in c.split(":")) for c in a[1:]] or CASES)
